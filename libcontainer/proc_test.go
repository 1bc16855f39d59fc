package libcontainer

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// envLeaderless makes the test binary a process whose leader thread ends
// at once while its other threads live on: what a killed multi-threaded
// init is for a moment (TestWaitGoneWaitsForThreads).
const envLeaderless = "HUSK_TEST_LEADERLESS"

func init() {
	if os.Getenv(envLeaderless) == "" {
		return
	}
	// During package init the main goroutine is locked to the leader
	// thread; exit(2), not exit_group(2), ends that thread alone, and the
	// runtime's others (sysmon among them) keep the process.
	_, _, _ = unix.Syscall(unix.SYS_EXIT, 0, 0, 0)
}

func TestProcStatSelf(t *testing.T) {
	p, err := procStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if p.state != 'R' && p.state != 'S' {
		t.Errorf("own state %q, want R or S", p.state)
	}
	if p.flags&pfExiting != 0 || exiting(os.Getpid(), p.start) {
		t.Errorf("flags %#x: a running process is not exiting", p.flags)
	}
	start := p.start
	if start == 0 || !alive(os.Getpid(), start) {
		t.Errorf("start time %d does not identify this process", start)
	}
	if alive(os.Getpid(), start+1) {
		t.Error("a different start time must not match (pid reuse)")
	}
}

func TestAliveSeesExitAndZombie(t *testing.T) {
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	p, err := procStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	start := p.start
	if !alive(pid, start) {
		t.Fatal("running child not alive")
	}
	if err := signalProcess(pid, start, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Until reaped the child is a zombie, which counts as gone.
	for i := 0; i < 100 && alive(pid, start); i++ {
		unix.Nanosleep(&unix.Timespec{Nsec: 10e6}, nil)
	}
	if alive(pid, start) {
		t.Fatal("killed child still alive")
	}
	_ = cmd.Wait()
	if err := signalProcess(pid, start, unix.SIGTERM); err != errGone {
		t.Fatalf("signal to a reaped process: %v, want errGone", err)
	}
}

// waitGone waits for every thread of a process, not only its leader: the
// tgid of a killed multi-threaded init stays in cgroup.procs until its
// last thread has exited, and delete would otherwise find it there.
func TestWaitGoneWaitsForThreads(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envLeaderless+"=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	defer func() {
		_ = unix.Kill(pid, unix.SIGKILL)
		_ = cmd.Wait()
	}()
	var p procInfo
	for i := 0; i < 500 && p.state != 'Z'; i++ {
		time.Sleep(10 * time.Millisecond)
		if p, err = procStat(pid); err != nil {
			t.Fatal(err)
		}
	}
	if p.state != 'Z' {
		t.Fatalf("the helper's leader thread did not end: state %q", p.state)
	}
	if alive(pid, p.start) || !exiting(pid, p.start) {
		t.Error("a process whose leader is a zombie must read as gone")
	}
	done := make(chan struct{})
	go func() {
		waitGone(pid, p.start, 20*time.Second)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("waitGone returned while the process's other threads still run")
	case <-time.After(300 * time.Millisecond):
	}
	if err := unix.Kill(pid, unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("waitGone did not return once the process had gone")
	}
}
