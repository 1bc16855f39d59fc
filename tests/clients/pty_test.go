package clients

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/husk-runtime/husk/tests/clientkit"
	"golang.org/x/sys/unix"
)

// A client on a terminal (`podman run -it`, `ctr run -t`): the command gets
// a new session whose controlling terminal is the slave side of a pty made
// here; the test types into the master and reads the screen from it.

func openPty() (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("ptsname: %w", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80}); err != nil {
		m.Close()
		s.Close()
		return nil, nil, fmt.Errorf("set window size: %w", err)
	}
	return m, s, nil
}

// ptyCmd is a client running on a terminal.
type ptyCmd struct {
	t      *testing.T
	cmd    *exec.Cmd
	master *os.File
	screen safeBuffer
	done   chan struct{} // closed when the command has exited
	code   int
	readDn chan struct{}
}

func startOnPty(ctx context.Context, t *testing.T, c cmdSpec) *ptyCmd {
	t.Helper()
	m, s, err := openPty()
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	cmd := exec.Command(c.bin, c.args...)
	cmd.Env, cmd.Dir = c.env, c.dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		m.Close()
		s.Close()
		t.Fatalf("start %s: %v", c.bin, err)
	}
	s.Close()
	p := &ptyCmd{t: t, cmd: cmd, master: m, done: make(chan struct{}), readDn: make(chan struct{}), code: -1}
	t.Logf("%s (on a pty, pid %d)", c, cmd.Process.Pid)
	go func() {
		defer close(p.readDn)
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			p.screen.Write(buf[:n])
			if err != nil { // EIO once every slave fd is closed
				return
			}
		}
	}()
	go func() {
		cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		close(p.done)
	}()
	go func() {
		select {
		case <-p.done:
		case <-ctx.Done():
			// The session leader's pid is its session and group id.
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		m.Close()
	})
	return p
}

func (p *ptyCmd) Type(s string) {
	p.t.Helper()
	if _, err := p.master.Write([]byte(s)); err != nil {
		p.t.Fatalf("typing %q: %v", s, err)
	}
}

// WaitFor waits until the screen shows want.
func (p *ptyCmd) WaitFor(ctx context.Context, want string) {
	p.t.Helper()
	err := clientkit.Eventually(ctx, 20*time.Second, func() error {
		if strings.Contains(p.screen.String(), want) {
			return nil
		}
		return errors.New("not yet")
	})
	if err != nil {
		p.t.Fatalf("terminal never showed %q; screen:\n%q", want, p.screen.String())
	}
}

// Wait waits for the client to exit and returns its exit code and the
// screen.
func (p *ptyCmd) Wait(ctx context.Context) (int, string) {
	p.t.Helper()
	select {
	case <-p.done:
	case <-ctx.Done():
		<-p.done
		p.t.Fatalf("client on the pty did not exit in time; screen:\n%q", p.screen.String())
	}
	// Drain what is left (the slave is closed once every holder exits).
	select {
	case <-p.readDn:
	case <-time.After(2 * time.Second):
	}
	return p.code, p.screen.String()
}
