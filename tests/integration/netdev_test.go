package integration

import (
	"os/exec"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A host interface listed in linux.netDevices is moved into the
// container's network namespace, renamed, with its permanent address, and
// up. (This kernel has no dummy driver: a veth end serves.)
func TestNetDevicesMoved(t *testing.T) {
	t.Parallel()
	host, peer := "hskv"+randHex(4), "hskp"+randHex(4)
	if out, err := exec.Command("ip", "link", "add", host, "type", "veth", "peer", "name", peer).CombinedOutput(); err != nil {
		t.Skipf("cannot make a veth pair: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", peer).Run() })
	if out, err := exec.Command("ip", "addr", "add", "10.199.7.1/24", "dev", host).CombinedOutput(); err != nil {
		t.Fatalf("ip addr add: %v: %s", err, out)
	}
	b := newBundle(t, "sh", "-c", "cat /sys/class/net/ctr0/flags; grep -c 10.199.7.1 /proc/net/fib_trie; ls /sys/class/net")
	b.spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{host: {Name: "ctr0"}}
	out := lines(b.mustRun())
	if len(out) < 3 {
		t.Fatalf("container output %q", out)
	}
	if flags := out[0]; !strings.HasSuffix(flags, "1") && !strings.HasSuffix(flags, "3") {
		t.Errorf("ctr0 flags %s: IFF_UP not set", flags)
	}
	if out[1] == "0" {
		t.Errorf("the permanent address 10.199.7.1 did not follow the interface")
	}
	if strings.Contains(strings.Join(out[2:], " "), host) {
		t.Errorf("the interface kept its host name inside: %q", out[2:])
	}
	if err := exec.Command("ip", "link", "show", host).Run(); err == nil {
		t.Errorf("%s is still on the host", host)
	}
}

func TestNetDevicesNameTaken(t *testing.T) {
	t.Parallel()
	host, peer := "hskv"+randHex(4), "hskp"+randHex(4)
	if out, err := exec.Command("ip", "link", "add", host, "type", "veth", "peer", "name", peer).CombinedOutput(); err != nil {
		t.Skipf("cannot make a veth pair: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", peer).Run() })
	b := newBundle(t, "/bin/true")
	b.spec.Linux.NetDevices = map[string]specs.LinuxNetDevice{host: {Name: "lo"}}
	r := b.create()
	if r.Code == 0 || !strings.Contains(r.Stderr, "already exists") {
		t.Fatalf("moving onto a taken name should fail: %s", r)
	}
}
