package integration

// runc 1.5 behaviour for seccomp and namespaces (issue 11, RESULTS.md
// "Seccomp" and "Namespaces").

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"

	"github.com/husk-runtime/husk/internal/testutil"
)

// continueAgent is a listenerPath agent that lets every notified syscall
// go on (SECCOMP_USER_NOTIF_FLAG_CONTINUE), as runc's test agent does for
// anything but mkdir, and counts what it saw by name.
type continueAgent struct {
	path  string
	conns chan *agentConn
	mu    sync.Mutex
	seen  map[string]int
}

func startContinueAgent(t *testing.T) *continueAgent {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	a := &continueAgent{path: path, conns: make(chan *agentConn, 4), seen: map[string]int{}}
	go func() {
		for {
			c, err := l.AcceptUnix()
			if err != nil {
				return
			}
			ac := &agentConn{done: make(chan error, 1)}
			fd, err := ac.receive(c)
			c.Close()
			ac.err = err
			a.conns <- ac
			if err == nil {
				go func() { ac.done <- a.answer(fd) }()
			}
		}
	}()
	return a
}

func (a *continueAgent) answer(fd int) error {
	defer syscall.Close(fd)
	for {
		req, err := libseccomp.NotifReceive(libseccomp.ScmpFd(fd))
		if errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("receive notification: %w", err)
		}
		name, _ := req.Data.Syscall.GetName()
		a.mu.Lock()
		a.seen[name]++
		a.mu.Unlock()
		resp := libseccomp.ScmpNotifResp{ID: req.ID, Flags: libseccomp.NotifRespFlagContinue}
		if err := libseccomp.NotifRespond(libseccomp.ScmpFd(fd), &resp); err != nil && !errors.Is(err, syscall.ENOENT) {
			return fmt.Errorf("answer notification: %w", err)
		}
	}
}

func (a *continueAgent) count(name string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seen[name]
}

// The syscalls of runc's seccomp-notify.bats "SCMP_ACT_NOTIFY important
// syscalls": ones the runtime's stage itself makes after loading the
// filter. The stage must hand the listener fd to the agent before it makes
// any of them, or it waits forever for an answer (husk hung here). The
// container's output shows it ran; the agent's counts that the process's
// own execve, openat and reads went through it.
func TestRunc15SeccompNotifyImportantSyscalls(t *testing.T) {
	needSeccomp(t, specs.ActNotify)
	for _, nnp := range []bool{false, true} {
		t.Run(fmt.Sprintf("noNewPrivileges=%v", nnp), func(t *testing.T) {
			t.Parallel()
			agent := startContinueAgent(t)
			b := newBundle(t)
			b.spec.Process.NoNewPrivileges = nnp
			b.spec.Linux.Seccomp = &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow,
				ListenerPath:  agent.path,
				Architectures: []specs.Arch{specs.ArchX86, specs.ArchX32, specs.ArchX86_64},
				Syscalls: []specs.LinuxSyscall{{
					Names:  []string{"execve", "openat", "open", "read", "close", "fcntl"},
					Action: specs.ActNotify,
				}},
			}
			b.shell("read line < /etc/passwd; echo seen=$line; /helper cat /etc/group")
			done := make(chan *result, 1)
			go func() { done <- b.run() }()
			var r *result
			select {
			case r = <-done:
			case <-time.After(cmdTimeout + 5*time.Second):
				t.Fatal("run did not return")
			}
			if r.Code != 0 {
				t.Fatalf("run: %s", r)
			}
			mustContain(t, r.Stdout, "seen=root:x:0:0:root:/root:/bin/sh\n", "the shell read /etc/passwd")
			mustContain(t, r.Stdout, "extra:x:2000:test", "the helper, exec'd by the shell, read /etc/group")
			ac := <-agent.conns
			if ac.err != nil {
				t.Fatalf("agent: %v", ac.err)
			}
			ac.wait(t)
			if agent.count("execve") < 2 || agent.count("openat") == 0 || agent.count("read") == 0 {
				t.Errorf("the agent saw %v; want the process's execve (2), openat and read", agent.seen)
			}
		})
	}
}

// runc's seccomp.bats "seccomp -ENOSYS handling": a syscall newer than the
// highest the profile names gets ENOSYS (which C libraries take as "fall
// back to the old syscall"), not the profile's default errno; an older
// syscall the profile leaves out still gets the default.
func TestRunc15SeccompENOSYSStub(t *testing.T) {
	needSeccomp(t)
	if runtime.GOARCH != "amd64" {
		t.Skip("syscall numbers of x86_64")
	}
	t.Parallel()
	b := newBundle(t)
	profile := testutil.LoadSeccompProfile(t, testutil.PodmanProfile()) // allows what a shell and the helper need
	profile.DefaultErrnoRet = ptr(uint(syscall.EPERM))
	b.spec.Linux.Seccomp = profile
	// 1000: no syscall yet, above all the profile names; 103: syslog,
	// which the profile leaves to the default action.
	b.shell("/helper syscall 1000; /helper syscall 103")
	out := b.mustRun()
	mustContain(t, out, "errno=ENOSYS\n", "syscall 1000 under the profile")
	mustContain(t, out, "errno=EPERM\n", "syslog (not in the profile) under the default action")
}

// usernsTarget starts a container with a user namespace of its own (uids
// and gids 0-65535 mapped to 100000-165535), for others to join.
func usernsTarget(t *testing.T) (*bundle, int) {
	t.Helper()
	a := newBundle(t)
	setNamespace(a, "user", "")
	a.spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	a.spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	if err := chownTree(a.rootfs, 100000); err != nil {
		t.Fatal(err)
	}
	return a, a.startContainer().Pid
}

// bindNsfd bind-mounts a namespace file to a new file, unmounted at the
// test's end.
func bindNsfd(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "nsfd")
	if err := os.WriteFile(dst, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount(src, dst, "", syscall.MS_BIND, ""); err != nil {
		t.Fatalf("bind %s: %v", src, err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dst, syscall.MNT_DETACH) })
	return dst
}

// nsLink is what readlink of a namespace file shows: TYPE:[INODE].
func nsLink(t *testing.T, typ, path string) string {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%s:[%d]", typ, st.Ino)
}

// runc's run.bats "joining existing container namespaces" and userns.bats
// "userns join other container userns" (and its [bind-mounted nsfd]
// variant): a container joining another's user namespace by path, without
// mappings of its own, runs in it with its mappings, and its init is in its
// own cgroup (husk failed with "clone3 into cgroup ...: Permission denied").
func TestRunc15JoinOtherContainerUserns(t *testing.T) {
	for _, bound := range []bool{false, true} {
		t.Run(fmt.Sprintf("bind-mounted=%v", bound), func(t *testing.T) {
			t.Parallel()
			_, apid := usernsTarget(t)
			path := fmt.Sprintf("/proc/%d/ns/user", apid)
			if bound {
				path = bindNsfd(t, path)
			}
			b := newBundle(t)
			setNamespace(b, "user", path)
			if err := chownTree(b.rootfs, 100000); err != nil {
				t.Fatal(err)
			}
			st := b.startContainer()
			out := b.mustExec(nil, "/bin/sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; readlink /proc/self/ns/user; /helper id")
			got := strings.Fields(out)
			want := []string{"0", "100000", "65536", "0", "100000", "65536", nsLink(t, "user", path), "uid=0", "gid=0"}
			if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
				t.Errorf("in the container: %q, want %q", out, want)
			}
			cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", st.Pid))
			if err != nil {
				t.Fatal(err)
			}
			mustContain(t, string(cg), "0::"+b.cgroup+"\n", "the init's cgroup v2 (from the host)")
		})
	}
}

// runc's userns.bats "userns join external namespaces [wrong userns
// owner]": a user namespace joined by path (a bind mount; its container is
// gone) together with a network namespace another user namespace owns (the
// host's). runc 1.5 joins the network namespace before the user namespace,
// while it still may; husk failed with "setns ...: Operation not
// permitted".
func TestRunc15JoinExternalNamespacesWrongOwner(t *testing.T) {
	t.Parallel()
	a, apid := usernsTarget(t)
	userns := bindNsfd(t, fmt.Sprintf("/proc/%d/ns/user", apid))
	a.mustRT("delete", "-f", a.id)
	netns := fmt.Sprintf("/proc/%d/ns/net", os.Getpid())

	b := newBundle(t)
	setNamespace(b, "user", userns)
	setNamespace(b, "network", netns)
	// No sysfs of a network namespace the container has no rights in.
	for i, m := range b.spec.Mounts {
		if m.Type == "sysfs" {
			b.spec.Mounts[i] = specs.Mount{Destination: m.Destination, Type: "bind", Source: "/sys", Options: []string{"rbind"}}
		}
	}
	if err := chownTree(b.rootfs, 100000); err != nil {
		t.Fatal(err)
	}
	b.startContainer()
	out := b.mustExec(nil, "/bin/sh", "-c", "readlink /proc/self/ns/user; readlink /proc/self/ns/net")
	want := nsLink(t, "user", userns) + "\n" + nsLink(t, "net", netns) + "\n"
	if out != want {
		t.Errorf("the container's namespaces: %q, want %q", out, want)
	}
}
