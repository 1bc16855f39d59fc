package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// specNS maps runtime-spec namespace types to /proc/PID/ns entry names.
var specNS = map[specs.LinuxNamespaceType]string{
	"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt", "cgroup": "cgroup",
}

func TestNamespacesAllNew(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "ns")
	b.spec.Linux.Namespaces = nil
	for typ := range specNS {
		setNamespace(b, typ, "")
	}
	got := parseNS(b.mustRun())
	host := hostNS(t)
	for typ, name := range specNS {
		if got[name] == "" {
			t.Errorf("%s namespace: not visible in the container: %v", typ, got)
		} else if got[name] == host[name] {
			t.Errorf("%s namespace: the container shares the host's %s", typ, host[name])
		}
	}
	if got["user"] != host["user"] {
		t.Errorf("no user namespace was asked for, but the container has %s (host %s)", got["user"], host["user"])
	}
}

func TestNamespacesShared(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "ns")
	removeNamespace(b, "network")
	removeNamespace(b, "ipc")
	got := parseNS(b.mustRun())
	host := hostNS(t)
	for _, name := range []string{"net", "ipc"} {
		if got[name] != host[name] {
			t.Errorf("%s namespace not in the spec: want the host's %s, got %s", name, host[name], got[name])
		}
	}
}

// netnsHolder makes a network namespace held by a bind mount under /run, and
// removes it at the end of the test.
func netnsHolder(t *testing.T) (path string, link string) {
	t.Helper()
	name := "husk-it-" + randHex(4)
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v\n%s", err, out)
	}
	path = "/run/netns/" + name
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete %s: %v\n%s", name, err, out)
		}
	})
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return path, fmt.Sprintf("net:[%d]", st.Ino)
}

func TestNamespacesJoinNetByPath(t *testing.T) {
	t.Parallel()
	path, link := netnsHolder(t)
	b := newBundle(t, "/helper", "ns")
	setNamespace(b, "network", path)
	got := parseNS(b.mustRun())
	if got["net"] != link {
		t.Fatalf("network namespace joined by path %s: want %s, got %s", path, link, got["net"])
	}
}

func TestNamespacesJoinBadPath(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "ns")
	setNamespace(b, "network", "/proc/self/ns/no-such-ns-"+randHex(3))
	if r := b.create(); r.Code == 0 {
		t.Fatalf("create joining a missing namespace path should fail: %s", r)
	}
}

func TestNamespacesUser(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.shell("/helper id; /helper sleep 600")
	setNamespace(b, "user", "")
	b.spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	b.spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	// The rootfs must be usable by the mapped root.
	if err := chownTree(b.rootfs, 100000); err != nil {
		t.Fatal(err)
	}
	st := b.startContainer()
	out := b.waitOutput("uid=")
	if !strings.HasPrefix(strings.TrimSpace(out), "uid=0 gid=0") {
		t.Fatalf("in the user namespace: want uid=0 gid=0, got %q", out)
	}
	var stat syscall.Stat_t
	if err := syscall.Stat("/proc/"+strconv.Itoa(st.Pid), &stat); err != nil {
		t.Fatal(err)
	}
	if stat.Uid != 100000 || stat.Gid != 100000 {
		t.Fatalf("on the host, the init %d should be owned by 100000:100000, got %d:%d", st.Pid, stat.Uid, stat.Gid)
	}
	m, _ := os.ReadFile("/proc/" + strconv.Itoa(st.Pid) + "/uid_map")
	if f := strings.Fields(string(m)); len(f) != 3 || f[0] != "0" || f[1] != "100000" || f[2] != "65536" {
		t.Fatalf("uid_map of the init: %q", m)
	}
	host := hostNS(t)
	if ns := nsOf(t, strconv.Itoa(st.Pid)); ns["user"] == host["user"] {
		t.Fatalf("the init shares the host's user namespace")
	}
}

// chownTree shifts the ownership of a tree by base (files owned by uid N
// become base+N), without following symlinks.
func chownTree(root string, base int) error {
	return walkLchown(root, base)
}

func walkLchown(path string, base int) error {
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return err
	}
	if err := os.Lchown(path, base+int(st.Uid), base+int(st.Gid)); err != nil {
		return err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
		return nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := walkLchown(path+"/"+e.Name(), base); err != nil {
			return err
		}
	}
	return nil
}

// Without a mount namespace the container shares husk's (runc allows it):
// its mounts live in one private bind of the rootfs that delete removes.
func TestNamespacesNoMountNamespace(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "sh", "-c", "readlink /proc/self/ns/mnt; cat /proc/self/mountinfo | wc -l")
	removeNamespace(b, specs.MountNamespace)
	out := lines(b.mustRun())
	host, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 1 || out[0] != host {
		t.Fatalf("container mount namespace %q, want the host's %s", out, host)
	}
	if left := mountsUnder(b.dir); len(left) > 0 {
		t.Fatalf("mounts left on the host after the container: %q", left)
	}
	b.spec.Process.Args = []string{"/no/such/binary"}
	if r := b.run(); r.Code == 0 {
		t.Fatalf("run of a missing binary succeeded: %s", r)
	}
	if left := mountsUnder(b.dir); len(left) > 0 {
		t.Fatalf("mounts left on the host after a failed create: %q", left)
	}
}
