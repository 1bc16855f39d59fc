package nsenter

import (
	"os"
	"os/signal"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func signalPipe(t *testing.T) (r, w int) {
	t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Close(p[0])
		unix.Close(p[1])
	})
	return p[0], p[1]
}

// A forwarded signal arrives in the pipe as its number, and no longer
// through os/signal.
func TestForwardSignals(t *testing.T) {
	r, w := signalPipe(t)
	c := make(chan os.Signal, 1)
	signal.Notify(c, unix.SIGUSR1)
	defer signal.Stop(c)
	if err := ForwardSignals(w, []unix.Signal{unix.SIGUSR1}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Kill(os.Getpid(), unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 8)
	var n int
	for deadline := time.Now().Add(5 * time.Second); n <= 0 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		n, _ = unix.Read(r, buf)
	}
	if n != 1 || buf[0] != byte(unix.SIGUSR1) {
		t.Fatalf("the pipe holds %v, want [%d]", buf[:max(n, 0)], unix.SIGUSR1)
	}
	select {
	case s := <-c:
		t.Errorf("os/signal still got %v", s)
	case <-time.After(100 * time.Millisecond):
	}
}

// When a signal can't be caught, the handlers installed before it are taken
// back: the runtime's, on which os/signal relies, are in place again.
func TestForwardSignalsUndone(t *testing.T) {
	r, w := signalPipe(t)
	c := make(chan os.Signal, 1)
	signal.Notify(c, unix.SIGUSR2)
	defer signal.Stop(c)
	if err := ForwardSignals(w, []unix.Signal{unix.SIGUSR2, unix.SIGKILL}); err == nil {
		t.Fatal("SIGKILL caught")
	}
	if err := unix.Kill(os.Getpid(), unix.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c:
	case <-time.After(5 * time.Second):
		t.Fatal("SIGUSR2 no longer reaches os/signal")
	}
	if n, _ := unix.Read(r, make([]byte, 8)); n > 0 {
		t.Errorf("the pipe got %d bytes", n)
	}
}
