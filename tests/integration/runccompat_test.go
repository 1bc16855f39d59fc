package integration

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Behaviour scripts written for runc rely on, as runc's own integration
// suite exercises it.

// A second container in a cgroup already in use is refused, as by runc
// 1.5 (runc 1.1 warned and shared it), with create and with run; the
// first container and its cgroup are left alone.
func TestCompatCgroupInUseRefused(t *testing.T) {
	t.Parallel()
	requireCgroupV1(t, "pids")
	first := newBundle(t)
	first.startContainer()
	for _, cmd := range []string{"create", "run"} {
		second := newBundle(t)
		second.spec.Linux.CgroupsPath = first.cgroup
		second.save()
		r := second.rtOpts(opts{outFile: second.outPath}, cmd, "--detach", "--bundle", second.dir, second.id)
		if cmd == "create" {
			r = second.create()
		}
		if r.Code == 0 {
			t.Fatalf("%s in a cgroup in use succeeded: %s", cmd, r)
		}
		mustContain(t, r.Stderr, "container's cgroup is not empty", cmd+"'s error")
		if _, err := os.Stat(filepath.Join(second.root, second.id)); err == nil {
			t.Errorf("%s left a state dir", cmd)
		}
		if st := first.state(); st.Status != "running" {
			t.Fatalf("the refused %s left the first container %s", cmd, st.Status)
		}
		if _, err := os.Stat(first.cgroupDir("pids")); err != nil {
			t.Fatalf("the refused %s removed the first container's cgroup: %v", cmd, err)
		}
	}
}

// kill KILL of a container without a PID namespace of its own kills every
// process in its cgroup, not only its init (runc 1.5).
func TestCompatKillWithoutPIDNamespace(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/sh", "-c", childScript)
	removeNamespace(b, specs.PIDNamespace)
	init := b.startContainer().Pid
	child := b.childPid()
	b.mustRT("kill", b.id, "KILL")
	if !waitFor(outputTimeout, func() bool { return !pidAlive(init) && !pidAlive(child) }) {
		t.Fatalf("after kill KILL: init %d alive %v, its child %d alive %v", init, pidAlive(init), child, pidAlive(child))
	}
	b.waitStatus("stopped")
}

// Once the init of a container without a PID namespace has died, the
// container reads stopped while its other processes live on: kill KILL
// still kills them all, other signals find it not running (runc 1.5,
// kill.bats "kill KILL [host pidns + init gone]").
func TestCompatKillInitGoneWithoutPIDNamespace(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/sh", "-c", childScript)
	removeNamespace(b, specs.PIDNamespace)
	init := b.startContainer().Pid
	child := b.childPid()
	if err := syscall.Kill(init, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the init %d: %v", init, err)
	}
	if !waitFor(outputTimeout, func() bool { return !pidAlive(init) }) {
		t.Fatalf("the init %d outlived SIGKILL", init)
	}
	b.waitStatus("stopped")
	if !pidAlive(child) {
		t.Fatalf("the init's child %d died with it: nothing left for kill to find", child)
	}

	r := b.rt("kill", b.id, "TERM")
	if r.Code == 0 {
		t.Fatalf("kill TERM with the init gone succeeded: %s", r)
	}
	mustContain(t, r.Stderr, "container not running", "kill TERM with the init gone")
	if !pidAlive(child) {
		t.Fatalf("kill TERM with the init gone reached the child %d", child)
	}

	b.mustRT("kill", b.id, "KILL")
	if !waitFor(outputTimeout, func() bool { return !pidAlive(child) }) {
		t.Fatalf("after kill KILL the child %d still runs", child)
	}
	dir := b.cgroupDir(cgroupSubsystems[0])
	if !waitFor(outputTimeout, func() bool { return readTrim(t, filepath.Join(dir, "cgroup.procs")) == "" }) {
		t.Fatalf("after kill KILL %s still holds %q", dir, readTrim(t, filepath.Join(dir, "cgroup.procs")))
	}
	// As runc: with the cgroup still there, KILL has something to act on
	// and succeeds even with nothing left in it.
	b.mustRT("kill", b.id, "KILL")
	b.mustRT("delete", b.id)
}

// A frozen cgroup is refused: the init would freeze joining it.
func TestCompatFrozenCgroupRefused(t *testing.T) {
	t.Parallel()
	requireCgroupV1(t, "freezer")
	b := newBundle(t)
	dir := b.cgroupDir("freezer")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "freezer.state")
	if err := os.WriteFile(state, []byte("FROZEN"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.WriteFile(state, []byte("THAWED"), 0o644) })
	r := b.createOpts(opts{timeout: 20 * time.Second})
	if r.Code == 0 || r.Code == -1 {
		t.Fatalf("create in a frozen cgroup should fail at once: %s", r)
	}
	mustContain(t, r.Stderr, "unexpectedly frozen", "create's error")
	if _, err := os.Stat(filepath.Join(b.root, b.id)); err == nil {
		t.Error("state dir left behind")
	}
	_ = os.WriteFile(state, []byte("THAWED"), 0o644)
	_ = os.Remove(dir)
}

// exec --ignore-paused waits in the frozen cgroup and runs on resume.
func TestCompatExecIgnorePaused(t *testing.T) {
	t.Parallel()
	requireControllers(t, "freezer")
	b := newBundle(t)
	b.startContainer()
	b.mustRT("pause", b.id)
	if r := b.execIn(nil, "/helper", "pid"); r.Code == 0 {
		t.Fatalf("exec in a paused container without --ignore-paused: %s", r)
	}
	go func() {
		time.Sleep(time.Second)
		runtimeCmd(t, b.root, opts{}, "resume", b.id)
	}()
	start := time.Now()
	out := b.mustExec([]string{"--ignore-paused"}, "/helper", "pid")
	if time.Since(start) < 500*time.Millisecond {
		t.Errorf("exec --ignore-paused ran before the resume")
	}
	if strings.TrimSpace(out) == "" {
		t.Errorf("exec --ignore-paused printed nothing")
	}
}

// kill --all of a stopped container succeeds; signal 0 is accepted.
func TestCompatKillAllStopped(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.startContainer()
	b.mustRT("kill", b.id, "0")
	b.mustRT("kill", b.id, "KILL")
	b.waitStatus("stopped")
	if r := b.rt("kill", b.id, "0"); r.Code == 0 {
		t.Errorf("kill without --all of a stopped container succeeded: %s", r)
	}
	b.mustRT("kill", "--all", b.id, "0")
}

// Flags after the id are parsed as runc's command line parses them.
func TestCompatFlagsAfterID(t *testing.T) {
	t.Parallel()
	requireCgroupV1(t, "pids")
	b := newBundle(t)
	b.startContainer()
	b.mustRT("update", b.id, "--pids-limit", "42")
	if got := readTrim(t, filepath.Join(b.cgroupDir("pids"), "pids.max")); got != "42" {
		t.Fatalf("update ID --pids-limit 42: pids.max = %s", got)
	}
	b.mustRT("delete", b.id, "--force")
}

// A cwd only root may enter is entered before the switch to process.user.
func TestCompatCwdOfAnotherUser(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "cwd")
	dir := filepath.Join(b.rootfs, "private")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	b.spec.Process.Cwd = "/private"
	b.spec.Process.User = specs.User{UID: 1000, GID: 1000}
	if out := strings.TrimSpace(b.mustRun()); out != "/private" {
		t.Fatalf("cwd = %q, want /private", out)
	}
}

// A read-only /dev still gets its nodes and mounts, and is read-only.
func TestCompatReadonlyDev(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.shell("/helper stat /dev/null; /helper write /dev/x y || echo refused")
	for i, m := range b.spec.Mounts {
		if m.Destination == "/dev" {
			b.spec.Mounts[i].Options = append(m.Options, "ro")
		}
	}
	out := b.mustRun()
	mustContain(t, out, "dev=1:3", "/dev/null in a read-only /dev")
	mustContain(t, out, "refused", "a write to a read-only /dev")
}

// createContainer hooks run from the rootfs.
func TestCompatCreateContainerHookCwd(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "cat", "/hook-cwd")
	b.spec.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{
		Path: "/bin/sh", Args: []string{"sh", "-c", "pwd > ./hook-cwd"},
	}}}
	want, err := filepath.EvalSymlinks(b.rootfs)
	if err != nil {
		t.Fatal(err)
	}
	if out := strings.TrimSpace(b.mustRun()); out != want {
		t.Fatalf("createContainer hook ran in %q, want the rootfs %q", out, want)
	}
}

// delete kills only the init of a container with its own PID namespace;
// a process put in the container's cgroup from outside would keep the
// cgroup from going, so it is killed too.
func TestCompatDeleteKillsProcessJoinedFromOutside(t *testing.T) {
	t.Parallel()
	requireCgroupV1(t, "pids")
	b := newBundle(t)
	b.startContainer()
	outsider := exec.Command("/bin/sleep", "600")
	if err := outsider.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- outsider.Wait() }()
	t.Cleanup(func() { _ = outsider.Process.Kill() })
	procs := filepath.Join(b.cgroupDir("pids"), "cgroup.procs")
	if err := os.WriteFile(procs, []byte(strconv.Itoa(outsider.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	b.mustRT("delete", "--force", b.id)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the process moved into the container's cgroup survived delete --force")
	}
	if _, err := os.Stat(b.cgroupDir("pids")); err == nil {
		t.Error("the cgroup remains after delete --force")
	}
}

// exec --cgroup joins a cgroup below the container's, and nothing above it.
func TestCompatExecSubCgroup(t *testing.T) {
	t.Parallel()
	requireCgroupV1(t, "memory")
	b := newBundle(t)
	b.startContainer()
	if err := os.Mkdir(filepath.Join(b.cgroupDir("memory"), "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := b.mustExec([]string{"--cgroup", "memory:sub"}, "/helper", "cgroup")
	mustContain(t, out, ":memory:"+b.cgroup+"/sub", "the exec'd process's cgroups")
	mustContain(t, out, ":pids:"+b.cgroup+"\n", "the exec'd process's cgroups")
	if r := b.execIn([]string{"--cgroup", ".."}, "/helper", "cgroup"); r.Code == 0 {
		t.Fatalf("exec --cgroup .. succeeded: %s", r)
	}
}

// --pidfd-socket (runc 1.5, used by containerd 2): create and exec send a
// pidfd of the init ("standard") and of the exec'd process ("setns"), one
// that signals that process.
func TestCompatPidfdSocket(t *testing.T) {
	t.Parallel()
	if isRunc() {
		t.Skip("runc 1.1 has no --pidfd-socket")
	}
	b := newBundle(t)
	path := filepath.Join(t.TempDir(), "pidfd.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	recv := func(what string, run func()) (string, int) {
		t.Helper()
		type got struct {
			msg string
			fd  int
			err error
		}
		ch := make(chan got, 1)
		go func() {
			conn, err := l.Accept()
			if err != nil {
				ch <- got{err: err}
				return
			}
			defer conn.Close()
			buf, oob := make([]byte, 64), make([]byte, syscall.CmsgSpace(4))
			n, oobn, _, _, err := conn.(*net.UnixConn).ReadMsgUnix(buf, oob)
			if err != nil {
				ch <- got{err: err}
				return
			}
			msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
			if err != nil || len(msgs) != 1 {
				ch <- got{err: fmt.Errorf("control messages %v: %v", msgs, err)}
				return
			}
			fds, err := syscall.ParseUnixRights(&msgs[0])
			if err != nil || len(fds) != 1 {
				ch <- got{err: fmt.Errorf("rights %v: %v", fds, err)}
				return
			}
			ch <- got{msg: string(buf[:n]), fd: fds[0]}
		}()
		run()
		g := <-ch
		if g.err != nil {
			t.Fatalf("%s: receiving the pidfd: %v", what, g.err)
		}
		t.Cleanup(func() { syscall.Close(g.fd) })
		return g.msg, g.fd
	}
	// The pid a pidfd stands for, from its fdinfo.
	pidOf := func(fd int) int {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", fd))
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "Pid:"); ok {
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				return n
			}
		}
		return -1
	}

	msg, fd := recv("create", func() { b.mustCreate("--pidfd-socket", path) })
	init := b.state().Pid
	if msg != "standard" || pidOf(fd) != init {
		t.Fatalf("create sent %q with a pidfd of %d, want \"standard\" and the init %d", msg, pidOf(fd), init)
	}
	b.mustRT("start", b.id)
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	msg, efd := recv("exec", func() {
		b.mustRT("exec", "--detach", "--pid-file", pidFile, "--pidfd-socket", path, b.id, "/helper", "sleep", "600")
	})
	data, _ := os.ReadFile(pidFile)
	if want, _ := strconv.Atoi(string(data)); msg != "setns" || pidOf(efd) != want {
		t.Fatalf("exec sent %q with a pidfd of %d, want \"setns\" and the exec'd %d", msg, pidOf(efd), want)
	}
	// The init's pidfd signals the init.
	if _, _, errno := syscall.Syscall6(unix.SYS_PIDFD_SEND_SIGNAL, uintptr(fd), uintptr(syscall.SIGKILL), 0, 0, 0, 0); errno != 0 {
		t.Fatalf("pidfd_send_signal: %v", errno)
	}
	b.waitStatus("stopped")
	// A socket that isn't there fails create before anything is made.
	other := newBundle(t)
	r := other.create("--pidfd-socket", filepath.Join(t.TempDir(), "none.sock"))
	checkCreateFailedClean(t, other, r)
	mustContain(t, r.Stderr, "pidfd socket", "the error")
}
