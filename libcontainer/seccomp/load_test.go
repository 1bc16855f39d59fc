package seccomp

// Kernel tests, which need no root: each loads a real filter in a child (this test binary run
// again, see TestMain), since a filter can never be removed from a process.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

const (
	probeEnv   = "HUSK_SECCOMP_TEST_PROBE"   // the child's probe, see probes
	profileEnv = "HUSK_SECCOMP_TEST_PROFILE" // the profile, as JSON
	argEnv     = "HUSK_SECCOMP_TEST_ARG"     // the probe's argument
)

func TestMain(m *testing.M) {
	if probe := os.Getenv(probeEnv); probe != "" {
		os.Exit(childMain(probe))
	}
	os.Exit(m.Run())
}

// childMain loads the profile the way the init stage does (locked thread,
// no_new_privs) and runs a probe. Exit 0: the probe passed; 1: it failed;
// 3: Load failed. Each prints why.
func childMain(probe string) int {
	runtime.LockOSThread()
	var s specs.LinuxSeccomp
	if err := json.Unmarshal([]byte(os.Getenv(profileEnv)), &s); err != nil {
		fmt.Println("bad profile:", err)
		return 1
	}
	// KILL and TRAP would dump core.
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		fmt.Println("rlimit:", err)
		return 1
	}
	if probe == "no-nnp" {
		// Without no_new_privs, loading takes CAP_SYS_ADMIN: lose it.
		if err := syscall.Setresuid(65534, 65534, 65534); err != nil {
			fmt.Println("setresuid:", err)
			return 1
		}
	} else if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Println("no_new_privs:", err)
		return 1
	}
	debugf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, "debug: "+format+"\n", args...) }
	if err := Validate(&s); err != nil {
		fmt.Println("compile:", err)
		return 3
	}
	f, err := Compile(&s, debugf)
	if err != nil {
		fmt.Println("compile:", err)
		return 3
	}
	fd, err := f.Load()
	if err != nil {
		fmt.Println("load:", err)
		return 3
	}
	if err := probes[probe](fd, &s, os.Getenv(argEnv)); err != nil {
		fmt.Println("FAIL:", err)
		return 1
	}
	fmt.Println("ok")
	return 0
}

// probes run in the child, on the locked thread, after the filter is loaded.
var probes = map[string]func(fd *os.File, s *specs.LinuxSeccomp, arg string) error{
	"no-nnp": func(*os.File, *specs.LinuxSeccomp, string) error { return errors.New("Load succeeded") },
	"mkdir": func(_ *os.File, _ *specs.LinuxSeccomp, dir string) error {
		if err := unix.Mkdir(filepath.Join(dir, "denied"), 0o755); !errors.Is(err, syscall.Errno(1234)) {
			return fmt.Errorf("mkdir: got %v, want errno 1234", err)
		}
		if err := unix.Rmdir(dir); !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("rmdir (errnoRet unset): got %v, want EPERM", err)
		}
		return nil
	},
	// getpriority is harmless, and its two int arguments suit comparisons.
	// arg is "which:who,...": print the errno of each call (0 for success).
	"getpriority": func(_ *os.File, _ *specs.LinuxSeccomp, arg string) error {
		for _, pair := range strings.Split(arg, ",") {
			w, h, _ := strings.Cut(pair, ":")
			which, _ := strconv.Atoi(w)
			who, _ := strconv.Atoi(h)
			_, err := unix.Getpriority(which, who)
			var errno syscall.Errno
			errors.As(err, &errno)
			fmt.Printf("%s=%d\n", pair, errno)
		}
		return nil
	},
	// The same call from a goroutine, which never runs on the locked
	// thread: only TSYNC puts the filter on it.
	"other-thread": func(*os.File, *specs.LinuxSeccomp, string) error {
		ch := make(chan error)
		go func() {
			_, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
			ch <- err
		}()
		var errno syscall.Errno
		errors.As(<-ch, &errno)
		fmt.Printf("other=%d\n", errno)
		return nil
	},
	"killed": func(*os.File, *specs.LinuxSeccomp, string) error {
		_, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
		return fmt.Errorf("getpriority returned (%v): not killed", err)
	},
	"notify": notifyProbe,
}

// notifyProbe hands the listener fd to the test's agent from another
// goroutine, as the init stage should, then makes two notified mkdirs: the
// agent fakes success for the first and fails the second with EROFS.
func notifyProbe(fd *os.File, s *specs.LinuxSeccomp, dir string) error {
	if fd == nil {
		return errors.New("Load returned no listener fd")
	}
	sent := make(chan error)
	go func() {
		sent <- sendListener(s, fd, &specs.ContainerProcessState{
			Pid:   os.Getpid(),
			State: specs.State{Version: specs.Version, ID: "kernel-test", Status: specs.StateCreating, Pid: os.Getpid()},
		})
	}()
	if err := <-sent; err != nil {
		return err
	}
	faked := filepath.Join(dir, "faked")
	if err := unix.Mkdir(faked, 0o755); err != nil {
		return fmt.Errorf("first mkdir: got %v, want the agent's fake success", err)
	}
	if _, err := os.Stat(faked); !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("the agent faked success, yet %s: %v", faked, err)
	}
	if err := unix.Mkdir(filepath.Join(dir, "refused"), 0o755); !errors.Is(err, unix.EROFS) {
		return fmt.Errorf("second mkdir: got %v, want the agent's EROFS", err)
	}
	return nil
}

// child is one run of a probe.
type child struct {
	pid            int
	stdout, stderr string
	state          *os.ProcessState
}

func (c *child) String() string {
	return fmt.Sprintf("%v\n--- stdout:\n%s--- stderr:\n%s", c.state, c.stdout, c.stderr)
}

func requireSeccomp(t *testing.T) {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil || !bytes.Contains(status, []byte("\nSeccomp_filters:")) {
		t.Skip("the kernel has no seccomp filters")
	}
}

// startChild starts the probe in a child with profile s; wait collects it.
func startChild(t *testing.T, probe string, s *specs.LinuxSeccomp, arg string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	requireSeccomp(t)
	profile, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), probeEnv+"="+probe, profileEnv+"="+string(profile), argEnv+"="+arg)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stdout, &stderr
}

func wait(cmd *exec.Cmd, stdout, stderr *bytes.Buffer) *child {
	_ = cmd.Wait()
	return &child{pid: cmd.Process.Pid, stdout: stdout.String(), stderr: stderr.String(), state: cmd.ProcessState}
}

func runChild(t *testing.T, probe string, s *specs.LinuxSeccomp, arg string) *child {
	t.Helper()
	return wait(startChild(t, probe, s, arg))
}

func mustPass(t *testing.T, c *child) {
	t.Helper()
	if c.state.ExitCode() != 0 {
		t.Fatalf("child failed: %s", c)
	}
}

func TestKernelErrno(t *testing.T) {
	dir := t.TempDir()
	c := runChild(t, "mkdir", &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "mkdirat", "no_such_syscall"}, Action: specs.ActErrno, ErrnoRet: new(uint(1234))},
			{Names: []string{"rmdir", "unlinkat"}, Action: specs.ActErrno},
		},
	}, dir)
	mustPass(t, c)
	if !strings.Contains(c.stderr, "debug: seccomp: linux.seccomp.syscalls: unknown to libseccomp") || !strings.Contains(c.stderr, "no_such_syscall") {
		t.Errorf("Load did not report the unknown syscall through Debugf:\n%s", c.stderr)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the denied rmdir removed %s", dir)
	}
}

func TestKernelKillProcess(t *testing.T) {
	c := runChild(t, "killed", &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"getpriority"}, Action: specs.ActKillProcess}},
	}, "")
	ws, _ := c.state.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != unix.SIGSYS {
		t.Fatalf("want the child killed by SIGSYS: %s", c)
	}
}

// The Go runtime turns a SIGSYS from seccomp into a crash report naming it.
func TestKernelTrap(t *testing.T) {
	c := runChild(t, "killed", &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"getpriority"}, Action: specs.ActTrap}},
	}, "")
	if c.state.ExitCode() != 2 || !strings.Contains(c.stderr, "SIGSYS: bad system call") {
		t.Fatalf("want a Go crash on SIGSYS: %s", c)
	}
	// si_code 1 is SYS_SECCOMP: the signal came from the filter.
	if !strings.Contains(c.stderr, "sigcode=1") {
		t.Errorf("SIGSYS not from seccomp: %s", c)
	}
}

// Each operator on argument 1 (who), and two arguments together (AND).
func TestKernelArgumentConditions(t *testing.T) {
	const denied = 1001
	calls := "0:0,0:1,0:2,0:3,0:4,1:2"
	for _, tc := range []struct {
		name string
		args []specs.LinuxSeccompArg
		deny []string // calls that must get the rule's errno
	}{
		{"NE", []specs.LinuxSeccompArg{{Index: 1, Value: 2, Op: specs.OpNotEqual}}, []string{"0:0", "0:1", "0:3", "0:4"}},
		{"LT", []specs.LinuxSeccompArg{{Index: 1, Value: 2, Op: specs.OpLessThan}}, []string{"0:0", "0:1"}},
		{"LE", []specs.LinuxSeccompArg{{Index: 1, Value: 2, Op: specs.OpLessEqual}}, []string{"0:0", "0:1", "0:2", "1:2"}},
		{"EQ", []specs.LinuxSeccompArg{{Index: 1, Value: 2, Op: specs.OpEqualTo}}, []string{"0:2", "1:2"}},
		{"GE", []specs.LinuxSeccompArg{{Index: 1, Value: 3, Op: specs.OpGreaterEqual}}, []string{"0:3", "0:4"}},
		{"GT", []specs.LinuxSeccompArg{{Index: 1, Value: 3, Op: specs.OpGreaterThan}}, []string{"0:4"}},
		{"MASKED_EQ", []specs.LinuxSeccompArg{{Index: 1, Value: 0b110, ValueTwo: 0b010, Op: specs.OpMaskedEqual}}, []string{"0:2", "0:3", "1:2"}},
		{"AND", []specs.LinuxSeccompArg{
			{Index: 0, Value: 0, Op: specs.OpEqualTo},
			{Index: 1, Value: 2, Op: specs.OpEqualTo},
		}, []string{"0:2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := runChild(t, "getpriority", &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow,
				Syscalls: []specs.LinuxSyscall{{
					Names: []string{"getpriority"}, Action: specs.ActErrno, ErrnoRet: new(uint(denied)), Args: tc.args,
				}},
			}, calls)
			mustPass(t, c)
			for _, call := range strings.Split(calls, ",") {
				got := strings.Contains(c.stdout, call+"="+strconv.Itoa(denied)+"\n")
				if want := slices.Contains(tc.deny, call); got != want {
					t.Errorf("getpriority(%s): denied %v, want %v\n%s", call, got, want, c)
				}
			}
		})
	}
}

func TestKernelTsync(t *testing.T) {
	profile := func(flags ...specs.LinuxSeccompFlag) *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Flags:         flags,
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"getpriority"}, Action: specs.ActErrno, ErrnoRet: new(uint(1002))}},
		}
	}
	c := runChild(t, "other-thread", profile(), "")
	mustPass(t, c)
	if !strings.Contains(c.stdout, "other=0\n") {
		t.Errorf("without TSYNC another thread must stay unfiltered: %s", c)
	}
	c = runChild(t, "other-thread", profile("SECCOMP_FILTER_FLAG_TSYNC"), "")
	mustPass(t, c)
	if !strings.Contains(c.stdout, "other=1002\n") {
		t.Errorf("with TSYNC every thread must be filtered: %s", c)
	}
}

// LOG allows the call; the kernel logs it through audit, which reaches the
// kernel log when no audit daemon takes the records.
func TestKernelLog(t *testing.T) {
	// Raw fd: the poller would turn EAGAIN into an endless wait.
	kmsg := -1
	if os.Geteuid() == 0 {
		if fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0); err == nil {
			defer unix.Close(fd)
			if _, err := unix.Seek(fd, 0, io.SeekEnd); err == nil {
				kmsg = fd
			}
		}
	}
	c := runChild(t, "getpriority", &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"getpriority"}, Action: specs.ActLog}},
	}, "0:0")
	mustPass(t, c)
	if !strings.Contains(c.stdout, "0:0=0\n") {
		t.Fatalf("a logged syscall must succeed: %s", c)
	}
	logged, _ := os.ReadFile("/proc/sys/kernel/seccomp/actions_logged")
	if kmsg < 0 || !strings.Contains(string(logged), "log") || auditdRunning() {
		t.Skip("cannot see the kernel's audit records here")
	}
	nr, err := libseccomp.GetSyscallFromName("getpriority")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"type=1326", fmt.Sprintf(" pid=%d ", c.pid), fmt.Sprintf(" syscall=%d ", nr), "code=0x7ffc0000"}
	// kauditd prints the record asynchronously.
	buf := make([]byte, 8192)
	var seen []string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		n, err := unix.Read(kmsg, buf)
		if errors.Is(err, unix.EAGAIN) {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if errors.Is(err, unix.EPIPE) { // records overwritten meanwhile
			continue
		}
		if err != nil {
			t.Fatalf("read /dev/kmsg: %v", err)
		}
		rec := string(buf[:n])
		seen = append(seen, rec)
		if containsAll(rec, want) {
			return
		}
	}
	if all := strings.Join(seen, ""); strings.Contains(all, "suppressed") || strings.Contains(all, "limit exceeded") {
		t.Skipf("the kernel rate-limited its audit records:\n%s", all)
	}
	t.Errorf("no audit record %q in the kernel log; new records:\n%s", want, strings.Join(seen, ""))
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func auditdRunning() bool {
	comms, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, p := range comms {
		if comm, _ := os.ReadFile(p); string(comm) == "auditd\n" {
			return true
		}
	}
	return false
}

func TestKernelNotify(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []specs.LinuxSeccompFlag
	}{
		{"plain", nil},
		{"tsync-killable", []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC", specs.LinuxSeccompFlagWaitKillableRecv}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range tc.flags {
				if !slices.Contains(Flags(), string(f)) {
					t.Skipf("the kernel has no %s", f)
				}
			}
			testNotify(t, tc.flags)
		})
	}
}

func testNotify(t *testing.T, flags []specs.LinuxSeccompFlag) {
	path, got := agent(t)
	dir := t.TempDir()
	s := &specs.LinuxSeccomp{
		DefaultAction:    specs.ActAllow,
		Flags:            flags,
		ListenerPath:     path,
		ListenerMetadata: "kernel-test-metadata",
		Syscalls:         []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActNotify}},
	}
	cmd, stdout, stderr := startChild(t, "notify", s, dir)
	r := <-got
	if r.err != nil {
		cmd.Process.Kill()
		t.Fatalf("agent: %v\n%s", r.err, wait(cmd, stdout, stderr))
	}
	st := r.state
	if st.Pid != cmd.Process.Pid || st.Metadata != "kernel-test-metadata" || st.State.ID != "kernel-test" ||
		!slices.Equal(st.Fds, []string{"seccompFd"}) || len(r.files) != 1 {
		t.Errorf("agent received %s with %d fds", r.raw, len(r.files))
	}
	if len(r.files) == 0 {
		cmd.Process.Kill()
		t.Fatal(wait(cmd, stdout, stderr))
	}
	notifFd := libseccomp.ScmpFd(r.files[0].Fd())
	for i, answer := range []libseccomp.ScmpNotifResp{{Val: 0}, {Error: int32(unix.EROFS)}} {
		req, err := libseccomp.NotifReceive(notifFd)
		if err != nil {
			cmd.Process.Kill()
			t.Fatalf("notification %d: %v\n%s", i, err, wait(cmd, stdout, stderr))
		}
		name, _ := req.Data.Syscall.GetNameByArch(req.Data.Arch)
		if !strings.HasPrefix(name, "mkdir") || int(req.Pid) != cmd.Process.Pid {
			t.Errorf("notification %d: %s from pid %d, want mkdir from %d", i, name, req.Pid, cmd.Process.Pid)
		}
		answer.ID = req.ID
		if err := libseccomp.NotifRespond(notifFd, &answer); err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
	}
	mustPass(t, wait(cmd, stdout, stderr))
	r.files[0].Close()
}
