package libcontainer

import (
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

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
