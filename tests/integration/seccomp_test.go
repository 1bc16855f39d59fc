package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	libseccomp "github.com/seccomp/libseccomp-golang"

	"github.com/husk-runtime/husk/internal/testutil"
)

var (
	seccompOnce     sync.Once
	seccompFeatures *features.Seccomp
	seccompSkip     string
)

// needSeccomp skips the test unless `<runtime> features` reports
// linux.seccomp.enabled, and each action given among its actions. husk
// reports it once the init and exec stages load libcontainer/seccomp's
// filter; until then these tests state what is expected of them.
func needSeccomp(t *testing.T, actions ...specs.LinuxSeccompAction) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	seccompOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, runtimeBin, "features").Output()
		if err != nil {
			seccompSkip = fmt.Sprintf("`%s features`: %v", runtimeBin, err)
			return
		}
		var f features.Features
		if err := json.Unmarshal(out, &f); err != nil {
			seccompSkip = fmt.Sprintf("`%s features` output does not decode: %v", runtimeBin, err)
			return
		}
		if f.Linux == nil || f.Linux.Seccomp == nil || f.Linux.Seccomp.Enabled == nil || !*f.Linux.Seccomp.Enabled {
			seccompSkip = "the runtime does not apply linux.seccomp yet (`features`: linux.seccomp.enabled is not true)"
			return
		}
		seccompFeatures = f.Linux.Seccomp
	})
	if seccompSkip != "" {
		t.Skip(seccompSkip)
	}
	for _, a := range actions {
		if !slices.Contains(seccompFeatures.Actions, string(a)) {
			t.Skipf("the runtime does not list %s in `features`", a)
		}
	}
}

// denyMkdir is a profile that allows everything but mkdir.
func denyMkdir(action specs.LinuxSeccompAction, errnoRet *uint) *specs.LinuxSeccomp {
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "mkdirat"}, Action: action, ErrnoRet: errnoRet},
		},
	}
}

// busybox mkdir reports the rule's errno; ENOSYS reads "Function not
// implemented".
func TestSeccompErrnoRet(t *testing.T) {
	needSeccomp(t)
	t.Parallel()
	b := newBundle(t)
	b.spec.Linux.Seccomp = denyMkdir(specs.ActErrno, ptr(uint(38)))
	b.shell("mkdir /tmp/denied 2>&1; echo rc=$?; test -d /tmp/denied && echo exists || echo absent")
	out := b.mustRun()
	mustContain(t, out, "Function not implemented", "mkdir under a rule with errnoRet 38")
	mustContain(t, out, "rc=1\nabsent\n", "mkdir under a rule with errnoRet 38")
}

// A kill action ends the container's process with SIGSYS: 128+31.
func TestSeccompKill(t *testing.T) {
	needSeccomp(t)
	t.Parallel()
	for _, action := range []specs.LinuxSeccompAction{specs.ActKill, specs.ActKillThread, specs.ActKillProcess} {
		t.Run(string(action), func(t *testing.T) {
			needSeccomp(t, action)
			t.Parallel()
			b := newBundle(t, "/bin/mkdir", "/tmp/killed")
			b.spec.Linux.Seccomp = denyMkdir(action, nil)
			if r := b.run(); r.Code != 128+int(syscall.SIGSYS) {
				t.Fatalf("want exit %d (SIGSYS), got: %s", 128+int(syscall.SIGSYS), r)
			}
			if _, err := os.Stat(filepath.Join(b.rootfs, "tmp/killed")); err == nil {
				t.Error("the killed mkdir created its directory")
			}
		})
	}
}

// A podman-shaped profile (default ENOSYS, a long allow list) runs a shell,
// ls and id; a syscall it does not list fails with its default errno.
func TestSeccompPodmanProfile(t *testing.T) {
	needSeccomp(t)
	t.Parallel()
	b := newBundle(t)
	b.spec.Linux.Seccomp = testutil.LoadSeccompProfile(t, testutil.PodmanProfile())
	b.shell("ls / && id")
	out := b.mustRun()
	mustContain(t, out, "helper\n", "ls / under the podman-style profile")
	mustContain(t, out, "uid=0(root) gid=0(root)", "id under the podman-style profile")

	// syslog(2) is not in the allow list: ENOSYS, not the EPERM a missing
	// CAP_SYSLOG would give.
	b2 := newBundle(t)
	b2.spec.Linux.Seccomp = testutil.LoadSeccompProfile(t, testutil.PodmanProfile())
	b2.shell("/bin/busybox dmesg 2>&1; echo rc=$?")
	out = b2.mustRun()
	mustContain(t, out, "Function not implemented", "dmesg under the podman-style profile")
}

// Without no_new_privs, loading a filter takes CAP_SYS_ADMIN, so the runtime
// must load it before it drops capabilities and switches user: the filter
// then also covers those last steps, which a podman-style profile allows.
func TestSeccompWithoutNoNewPrivileges(t *testing.T) {
	needSeccomp(t)
	t.Parallel()
	b := newBundle(t)
	b.spec.Process.NoNewPrivileges = false
	b.spec.Process.User = specs.User{UID: 1000, GID: 1000}
	// The profile without mkdir: the default action (ENOSYS) applies.
	profile := testutil.LoadSeccompProfile(t, testutil.PodmanProfile())
	for i, sc := range profile.Syscalls {
		profile.Syscalls[i].Names = slices.DeleteFunc(slices.Clone(sc.Names), func(n string) bool { return n == "mkdir" || n == "mkdirat" })
	}
	b.spec.Linux.Seccomp = profile
	b.shell("id; grep NoNewPrivs /proc/self/status; mkdir /tmp/denied 2>&1; echo rc=$?")
	out := b.mustRun()
	mustContain(t, out, "uid=1000(test) gid=1000(test)", "id")
	mustContain(t, out, "NoNewPrivs:\t0", "the process's no_new_privs")
	mustContain(t, out, "Function not implemented", "mkdir under the filter")
}

// A process started by exec gets the container's filter too.
func TestSeccompExec(t *testing.T) {
	needSeccomp(t)
	t.Parallel()
	b := newBundle(t)
	b.spec.Linux.Seccomp = denyMkdir(specs.ActErrno, ptr(uint(38)))
	b.startContainer()
	// The first exec takes Go's stage and saves its settings; the next is
	// the C command's, which sends the saved program.
	for i, inGo := range []bool{true, false} {
		r := b.rtOpts(opts{env: inittrace}, "exec", b.id, "/bin/sh", "-c", "mkdir /tmp/from-exec 2>&1; echo rc=$?")
		if r.Code != 0 || goRuntimeStarted(r) != inGo {
			t.Fatalf("exec %d: want exit 0, in Go %v: %s", i+1, inGo, r)
		}
		mustContain(t, r.Stdout, "Function not implemented", "mkdir in an exec'd process")
		mustContain(t, r.Stdout, "rc=1", "mkdir in an exec'd process")
	}
}

// A profile the runtime cannot apply fails the run, naming the bad value,
// and leaves nothing behind (the cleanup checks).
func TestSeccompInvalidProfile(t *testing.T) {
	needSeccomp(t)
	t.Parallel()
	b := newBundle(t, "/bin/true")
	b.spec.Linux.Seccomp = denyMkdir("SCMP_ACT_BOGUS", nil)
	r := b.run()
	if r.Code == 0 {
		t.Fatalf("run with an unknown seccomp action succeeded: %s", r)
	}
	mustContain(t, r.Out(), "SCMP_ACT_BOGUS", "the error for an unknown action")
}

// seccompAgent is the test's side of linux.seccomp.listenerPath. For each
// connection it takes one container process state with its fd, then answers
// the notifications on that fd: the first with a fake success, the others
// with EROFS.
type seccompAgent struct {
	path  string
	conns chan *agentConn
}

// agentConn is what one connection brought.
type agentConn struct {
	state specs.ContainerProcessState
	err   error      // receiving the state failed
	done  chan error // the answering ended: nil once the filter has no process left
}

func startSeccompAgent(t *testing.T) *seccompAgent {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	a := &seccompAgent{path: path, conns: make(chan *agentConn, 4)}
	go a.serve(l)
	return a
}

// serve accepts connections until the test closes the listener.
func (a *seccompAgent) serve(l *net.UnixListener) {
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			return
		}
		ac := &agentConn{done: make(chan error, 1)}
		fd, err := ac.receive(c)
		c.Close()
		if err != nil {
			ac.err = err
			a.conns <- ac
			continue
		}
		a.conns <- ac
		go func() { ac.done <- answer(fd) }()
	}
}

// next waits for the next connection's state.
func (a *seccompAgent) next(t *testing.T) *agentConn {
	t.Helper()
	select {
	case ac := <-a.conns:
		if ac.err != nil {
			t.Fatalf("agent: %v", ac.err)
		}
		return ac
	case <-time.After(cmdTimeout):
		t.Fatal("the runtime never connected to listenerPath")
		return nil
	}
}

// wait waits until the filter of this connection has no process left.
func (ac *agentConn) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-ac.done:
		if err != nil {
			t.Errorf("agent: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("the agent still waits for notifications after the process exited")
	}
}

func (ac *agentConn) receive(c *net.UnixConn) (int, error) {
	if err := c.SetDeadline(time.Now().Add(cmdTimeout)); err != nil {
		return -1, err
	}
	buf := make([]byte, 64<<10)
	oob := make([]byte, syscall.CmsgSpace(4*4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		return -1, fmt.Errorf("receive the state: %w", err)
	}
	fd, err := receivedFd(oob[:oobn])
	if err != nil {
		return -1, err
	}
	// Decode one value rather than read to EOF: runc 1.1 keeps the
	// connection open as long as `runc run` lives.
	if err := json.NewDecoder(io.MultiReader(bytes.NewReader(buf[:n]), c)).Decode(&ac.state); err != nil {
		syscall.Close(fd)
		return -1, fmt.Errorf("state does not decode: %w", err)
	}
	return fd, nil
}

// answer serves the notifications of one filter until it has no process.
func answer(fd int) error {
	defer syscall.Close(fd)
	for i := 0; ; i++ {
		req, err := libseccomp.NotifReceive(libseccomp.ScmpFd(fd))
		if errors.Is(err, syscall.ENOENT) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("receive notification %d: %w", i, err)
		}
		resp := libseccomp.ScmpNotifResp{ID: req.ID}
		if i > 0 {
			resp.Error = int32(syscall.EROFS)
		}
		// ENOENT: the process died meanwhile.
		if err := libseccomp.NotifRespond(libseccomp.ScmpFd(fd), &resp); err != nil && !errors.Is(err, syscall.ENOENT) {
			return fmt.Errorf("answer notification %d: %w", i, err)
		}
	}
}

func receivedFd(oob []byte) (int, error) {
	msgs, err := syscall.ParseSocketControlMessage(oob)
	if err != nil {
		return -1, fmt.Errorf("control message: %w", err)
	}
	var fds []int
	for _, m := range msgs {
		got, err := syscall.ParseUnixRights(&m)
		if err != nil {
			return -1, fmt.Errorf("control message: %w", err)
		}
		fds = append(fds, got...)
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			syscall.Close(fd)
		}
		return -1, fmt.Errorf("%d fds received with the state, want 1", len(fds))
	}
	return fds[0], nil
}

// notifiedMkdirs makes two mkdirs the agent answers: a fake success, then
// EROFS.
const notifiedMkdirs = "mkdir /tmp/faked 2>&1; echo first=$?; test -d /tmp/faked && echo faked-exists || echo faked-absent; " +
	"mkdir /tmp/refused 2>&1; echo second=$?"

func checkNotifiedMkdirs(t *testing.T, out string) {
	t.Helper()
	mustContain(t, out, "first=0\nfaked-absent\n", "mkdir answered with a fake success")
	mustContain(t, out, "Read-only file system", "mkdir answered with EROFS")
	mustContain(t, out, "second=1\n", "mkdir answered with EROFS")
}

func notifyProfile(agent *seccompAgent) *specs.LinuxSeccomp {
	s := denyMkdir(specs.ActNotify, nil)
	s.ListenerPath = agent.path
	s.ListenerMetadata = "husk-it-metadata"
	return s
}

func checkProcessState(t *testing.T, b *bundle, st specs.ContainerProcessState) {
	t.Helper()
	if st.State.ID != b.id || st.Metadata != "husk-it-metadata" || !slices.Equal(st.Fds, []string{"seccompFd"}) ||
		st.Pid <= 0 || st.State.Pid <= 0 || st.Version == "" {
		t.Errorf("container process state: %+v", st)
	}
}

// SCMP_ACT_NOTIFY: the runtime sends the state and the notification fd to
// listenerPath, and the agent's answers become the results of the
// container's syscalls.
func TestSeccompNotify(t *testing.T) {
	needSeccomp(t, specs.ActNotify)
	t.Parallel()
	agent := startSeccompAgent(t)
	b := newBundle(t)
	b.spec.Linux.Seccomp = notifyProfile(agent)
	b.shell(notifiedMkdirs)
	r := b.run()
	ac := agent.next(t)
	checkProcessState(t, b, ac.state)
	if st := ac.state; st.Pid != st.State.Pid {
		t.Errorf("the init's pid %d differs from the container's %d", st.Pid, st.State.Pid)
	}
	t.Logf("state sent for the init: status %q", ac.state.State.Status)
	ac.wait(t)
	if r.Code != 0 {
		t.Fatalf("run: %s", r)
	}
	checkNotifiedMkdirs(t, r.Stdout)
}

// exec loads a filter of its own: the runtime sends its fd too, with the
// exec'd process's pid.
func TestSeccompNotifyExec(t *testing.T) {
	needSeccomp(t, specs.ActNotify)
	t.Parallel()
	agent := startSeccompAgent(t)
	b := newBundle(t)
	b.spec.Linux.Seccomp = notifyProfile(agent)
	b.startContainer()
	agent.next(t) // the init's
	r := b.execIn(nil, "/bin/sh", "-c", notifiedMkdirs)
	ac := agent.next(t)
	checkProcessState(t, b, ac.state)
	if st := ac.state; st.Pid == st.State.Pid || st.State.Status != specs.StateRunning {
		t.Errorf("state for exec: pid %d, want the exec'd process, not the init (%d); status %q, want running",
			st.Pid, st.State.Pid, st.State.Status)
	}
	ac.wait(t)
	if r.Code != 0 {
		t.Fatalf("exec: %s", r)
	}
	checkNotifiedMkdirs(t, r.Stdout)
}
