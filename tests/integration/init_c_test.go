package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// A container whose init needs nothing of Go's gets the C init
// (libcontainer/stage/cinit.go, libcontainer/nsenter/initproc.c): husk's
// own thread builds the rootfs in the init's namespaces, and the init,
// which never starts a Go runtime, pivots, sets its process up and waits
// for start. The container must see what the Go init (taken here with
// --debug) makes, and the host nothing of it.
func TestInitWithoutGoRuntime(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	setNamespace(b, specs.NetworkNamespace, "")
	b.spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.msgmax": "12345"}
	b.spec.Root.Readonly = true
	b.spec.Process.Cwd = "/made/by/husk"
	b.spec.Process.User = specs.User{UID: 1000, GID: 1001, AdditionalGids: []uint32{2000}}
	b.spec.Process.Env = append(b.spec.Process.Env, "A=1")
	b.shell(`echo host=$(hostname) pid=$$ cwd=$(pwd) home=$HOME a=$A; id; umask
cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax
cat /proc/1/comm
touch /x 2>/dev/null && echo root-writable || echo root-read-only
cat /proc/kcore 2>&1 | head -c 0; test -s /proc/kcore && echo kcore-readable || echo kcore-masked
grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status
awk '{print $5, $6, $9, $10, $11}' /proc/self/mountinfo
ls -ln /dev | awk '{print $1, $3, $4, $5, $6, $NF}'`)
	hostBefore := hostView(t)

	inC := b.mustRun()
	viaGo := b.rt("--debug", "--log", filepath.Join(t.TempDir(), "log"), "run", "--bundle", b.dir, b.id)
	if viaGo.Code != 0 {
		t.Fatalf("run with the Go init: %s", viaGo)
	}
	if inC != viaGo.Stdout {
		t.Errorf("the container saw, with the C init:\n%s\nand with the Go init:\n%s", inC, viaGo.Stdout)
	}
	mustContain(t, inC, "host="+b.spec.Hostname+" pid=1 cwd=/made/by/husk home=/home/test a=1\nuid=1000(test) gid=1001 groups=2000(extra)", "the process")
	mustContain(t, inC, "1\n12345\nsh\n", "the sysctls, and the container's PID namespace in its procfs")
	mustContain(t, inC, "root-read-only\nkcore-masked\n", "root.readonly and maskedPaths")
	if after := hostView(t); after != hostBefore {
		t.Errorf("the host's hostname and sysctls changed: before %q, after %q", hostBefore, after)
	}

	// Created, the init is one small thread, where a Go init holds its
	// runtime's threads and more than a megabyte.
	b.spec.Process.Args = []string{"/helper", "sleep", "600"}
	b.mustCreate()
	pid := b.state().Pid
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	threads, anon := statusField(t, status, "Threads"), statusField(t, status, "RssAnon")
	if threads != "1" || kib(t, anon) > 512 {
		t.Errorf("created container's init: %s threads, %s anonymous; want 1 thread and under 512 kB", threads, anon)
	}
	// It catches what Go's runtime catches: USR1 is ignored, TERM ends
	// it (a PID namespace's init drops a signal it doesn't catch).
	b.mustRT("kill", b.id, "USR1")
	time.Sleep(200 * time.Millisecond)
	if st := b.state(); st.Status != specs.StateCreated {
		t.Fatalf("after USR1 the created container is %s, want created", st.Status)
	}
	b.mustRT("kill", b.id, "TERM")
	b.waitStatus(specs.StateStopped)
	b.mustRT("delete", b.id)

	// Its errors are the Go init's.
	b.spec.Process.Args = []string{"nosuch"}
	r := b.create()
	if r.Code == 0 {
		t.Fatalf("create of a missing executable succeeded: %s", r)
	}
	mustContain(t, r.Stderr, `exec: "nosuch": executable file not found in $PATH`, "the error")
}

// hostView is what a container's init must not change on the host.
func hostView(t *testing.T) string {
	t.Helper()
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(host)
	for _, f := range []string{"/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/msgmax"} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(" " + strings.TrimSpace(string(data)))
	}
	return b.String()
}

func statusField(t *testing.T, status []byte, name string) string {
	t.Helper()
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in /proc/PID/status:\n%s", name, status)
	return ""
}

// kib parses "140 kB".
func kib(t *testing.T, v string) int {
	t.Helper()
	return atoi(t, strings.TrimSuffix(v, " kB"))
}
