package main

import (
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
	sigs   chan os.Signal
	master *os.File
	copied chan struct{}
}

// caught are the signals a foreground husk catches: every one that
// signal.Notify(c) would relay but SIGURG, the runtime's own. They reach
// f.sigs through a pipe (nsenter.ForwardSignals): os/signal enables each
// with two thread switches, a millisecond or two of a `run`, and held up
// create's cgroup goroutine meanwhile (docs/design.md).
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
// so its exit can't slip by. Should the pipe or a handler fail, os/signal
// catches them instead.
func newForeground() *foreground {
	f := &foreground{sigs: make(chan os.Signal, 128)}
	// A write to a closed stdout or stderr raises SIGPIPE, and Go's os
	// kills the program with it unless os/signal relays or ignores it:
	// ignored (with no round trip) for os, caught by the handler for the
	// kernel, as Notify would have it relayed. The handler, unlike an
	// ignored disposition, is not inherited through an execve.
	signal.Ignore(unix.SIGPIPE)
	if err := f.catch(); err != nil {
		signal.Notify(f.sigs)
	}
	return f
}

// catch has the forwarded signals written to a pipe and relays them from
// there to f.sigs. The pipe stays open: a handler may write to it until
// husk exits.
func (f *foreground) catch() error {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		return err
	}
	if err := nsenter.ForwardSignals(p[1], caught()); err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return err
	}
	r := os.NewFile(uintptr(p[0]), "forwarded signals")
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := r.Read(buf)
			if err != nil {
				return
			}
			for _, b := range buf[:n] {
				f.sigs <- unix.Signal(b)
			}
		}
	}()
	return nil
}

// wait forwards signals to pid until it exits and returns its exit code.
// The signals stay caught afterwards, unread: husk only cleans up and exits
// then, and signal.Stop would cost more than the rest of that (it undoes
// every handler and waits for the runtime's signal goroutine to settle).
func (f *foreground) wait(pid int) int {
	if f.master != nil {
		restore := f.serveTerminal()
		defer restore()
	}
	if code, done := reap(pid); done {
		return f.finish(code)
	}
	exited := watchExit(pid)
	for {
		var sig os.Signal
		select {
		case <-exited:
			exited = nil // once is enough; SIGCHLD covers the rest
			sig = unix.SIGCHLD
		case sig = <-f.sigs:
		}
		switch sig {
		case unix.SIGCHLD:
			if code, done := reap(pid); done {
				return f.finish(code)
			}
		case unix.SIGWINCH:
			f.resize()
		case unix.SIGURG:
			// The Go runtime's preemption signal, not the user's.
		default:
			_ = unix.Kill(pid, sig.(unix.Signal))
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

// watchExit returns a channel closed when pid, a child of husk's, exits.
// A pidfd wakes one goroutine straight from poll, sooner than SIGCHLD
// travels through the runtime's signal handling (docs/design.md has the
// figure); without pidfds the channel stays open and SIGCHLD does the
// work.
func watchExit(pid int) <-chan struct{} {
	exited := make(chan struct{})
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return exited
	}
	go func() {
		defer unix.Close(fd)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, -1); err != unix.EINTR {
				break
			}
		}
		close(exited)
	}()
	return exited
}

// reap collects exited children (husk may be a subreaper) and reports
// whether pid was among them.
func reap(pid int) (int, bool) {
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
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
