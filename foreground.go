package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer"
	"github.com/husk-runtime/husk/libcontainer/nsenter"
)

// foreground serves a container process that husk waits for (run and exec
// without --detach): it forwards signals, serves the terminal and reaps.
type foreground struct {
	// sigFd is the read end of the pipe the caught signals are written
	// to, one byte each, for wait to poll beside the process's pidfd.
	sigFd  int
	master *os.File
	copied chan struct{}
}

// caught are the signals a foreground husk catches: every one that
// signal.Notify(c) would relay but SIGURG, the runtime's own. They reach
// f.sigFd through a pipe (nsenter.ForwardSignals): os/signal enables each
// with two thread switches, a millisecond or two of a `run`
// (docs/design.md).
func caught() []unix.Signal {
	sigs := []unix.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGABRT, unix.SIGUSR1, unix.SIGUSR2,
		unix.SIGPIPE, unix.SIGALRM, unix.SIGTERM, unix.SIGCHLD, unix.SIGCONT, unix.SIGTSTP, unix.SIGTTIN,
		unix.SIGTTOU, unix.SIGXCPU, unix.SIGXFSZ, unix.SIGVTALRM, unix.SIGWINCH, unix.SIGIO, unix.SIGPWR}
	// The real-time signals glibc leaves to programs (it keeps 32 and 33).
	for s := unix.Signal(34); s <= 64; s++ {
		sigs = append(sigs, s)
	}
	return sigs
}

// newForeground starts catching signals; call it before the process starts
// so its exit can't slip by. Should a handler fail, os/signal catches them
// instead, and a goroutine writes them to the pipe.
func newForeground() (*foreground, error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return nil, fmt.Errorf("pipe for the forwarded signals: %w", err)
	}
	// A write to a closed stdout or stderr raises SIGPIPE, and Go's os
	// kills the program with it unless os/signal relays or ignores it:
	// ignored (with no round trip) for os, caught by the handler for the
	// kernel, as Notify would have it relayed. The handler, unlike an
	// ignored disposition, is not inherited through an execve.
	signal.Ignore(unix.SIGPIPE)
	if err := nsenter.ForwardSignals(p[1], caught()); err != nil {
		relay(p[1])
	}
	// The pipe stays open: a handler may write to it until husk exits.
	return &foreground{sigFd: p[0]}, nil
}

// relay has os/signal catch every signal and writes each to fd.
func relay(fd int) {
	sigs := make(chan os.Signal, 128)
	signal.Notify(sigs)
	go func() {
		for s := range sigs {
			if s, ok := s.(unix.Signal); ok && s > 0 && s < 256 {
				_, _ = unix.Write(fd, []byte{byte(s)})
			}
		}
	}()
}

// wait forwards signals to pid until it exits and returns its exit code.
// It polls the signals' pipe and pid's pidfd itself: a goroutine each,
// waking this one through channels, cost a hand-off at the container's
// exit, as long as a woken thread waits for a CPU on a busy machine
// (docs/design.md). The signals stay caught afterwards, unread: husk only
// cleans up and exits then, and undoing the handlers would cost more than
// the rest of that.
func (f *foreground) wait(pid int) int {
	if f.master != nil {
		restore := f.serveTerminal()
		defer restore()
	}
	if code, done := reap(pid, unix.WNOHANG); done {
		return f.finish(code)
	}
	fds := []unix.PollFd{{Fd: int32(f.sigFd), Events: unix.POLLIN}}
	// Without pidfds SIGCHLD does the work.
	if pidfd, err := unix.PidfdOpen(pid, 0); err == nil {
		defer unix.Close(pidfd)
		fds = append(fds, unix.PollFd{Fd: int32(pidfd), Events: unix.POLLIN})
	}
	buf := make([]byte, 64)
	for {
		if _, err := unix.Poll(fds, -1); err == unix.EINTR {
			continue
		} else if err != nil {
			// Not seen: poll fails so for lack of memory. Waiting for
			// the process goes on without forwarding signals.
			code, _ := reap(pid, 0)
			return f.finish(code)
		}
		if len(fds) > 1 && fds[1].Revents != 0 {
			fds = fds[:1] // once is enough; SIGCHLD covers the rest
			if code, done := reap(pid, unix.WNOHANG); done {
				return f.finish(code)
			}
		}
		if fds[0].Revents == 0 {
			continue
		}
		n, _ := unix.Read(f.sigFd, buf)
		for _, b := range buf[:max(n, 0)] {
			switch sig := unix.Signal(b); sig {
			case unix.SIGCHLD:
				if code, done := reap(pid, unix.WNOHANG); done {
					return f.finish(code)
				}
			case unix.SIGWINCH:
				f.resize()
			case unix.SIGURG:
				// The Go runtime's preemption signal, not the user's.
			default:
				_ = unix.Kill(pid, sig)
			}
		}
	}
}

// releaseAndWait ends run and restore once the container runs. Other
// commands (kill, delete) must not wait for husk while it runs, so c's lock
// goes first. Detached (fg nil) that is all; in the foreground husk waits
// for the init, deletes the container unless keep, and exits with the
// init's code.
func releaseAndWait(ctx *cli.Context, c *libcontainer.Container, fg *foreground, keep bool) error {
	c.Release()
	if fg == nil {
		return nil
	}
	code := fg.wait(c.State.Pid)
	if !keep {
		// What is left of a container that stopped is mostly a few
		// rmdirs, which the C delete does without decoding the state.
		rt := runtimeOf(ctx)
		done, err := nsenter.DeleteStopped(rt.Root, c.State.ID)
		if !done {
			err = rt.Delete(c.State.ID, true)
		}
		if err != nil {
			return err
		}
	}
	return &exitError{code: code}
}

// reap collects exited children (husk may be a subreaper) and reports
// whether pid was among them: those that have exited with unix.WNOHANG in
// flags, else all until pid has.
func reap(pid, flags int) (int, bool) {
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(-1, &ws, flags, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || wpid <= 0 {
			return 0, false
		}
		if wpid != pid {
			continue
		}
		if ws.Signaled() {
			return 128 + int(ws.Signal()), true
		}
		return ws.ExitStatus(), true
	}
}

// finish lets the terminal output drain before husk exits.
func (f *foreground) finish(code int) int {
	if f.copied != nil {
		select {
		case <-f.copied:
		case <-time.After(time.Second):
		}
	}
	return code
}

// serveTerminal copies between husk's stdio and the pty master, with husk's
// own terminal (if any) in raw mode so keys reach the container unchanged.
func (f *foreground) serveTerminal() (restore func()) {
	restore = func() {}
	if old, err := unix.IoctlGetTermios(0, unix.TCGETS); err == nil {
		raw := *old
		raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		raw.Oflag &^= unix.OPOST
		raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Cflag &^= unix.CSIZE | unix.PARENB
		raw.Cflag |= unix.CS8
		raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
		if unix.IoctlSetTermios(0, unix.TCSETS, &raw) == nil {
			restore = func() { _ = unix.IoctlSetTermios(0, unix.TCSETS, old) }
		}
	}
	f.resize()
	f.copied = make(chan struct{})
	go func() { _, _ = io.Copy(f.master, os.Stdin) }()
	go func() {
		_, _ = io.Copy(os.Stdout, f.master)
		close(f.copied)
	}()
	return restore
}

func (f *foreground) resize() {
	if f.master == nil {
		return
	}
	if ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ); err == nil {
		_ = unix.IoctlSetWinsize(int(f.master.Fd()), unix.TIOCSWINSZ, ws)
	}
}
