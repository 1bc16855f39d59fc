package integration

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// consoleSocket listens on a unix socket (in a short path: sun_path is 108
// bytes) and hands over the first pty master received through SCM_RIGHTS.
type consoleSocket struct {
	path   string
	ln     *net.UnixListener
	master chan *os.File
	errc   chan error
}

func newConsoleSocket(t *testing.T) *consoleSocket {
	t.Helper()
	dir, err := os.MkdirTemp("", "hc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	cs := &consoleSocket{
		path:   filepath.Join(dir, "c.sock"),
		master: make(chan *os.File, 1),
		errc:   make(chan error, 1),
	}
	cs.ln, err = net.ListenUnix("unix", &net.UnixAddr{Name: cs.path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.ln.Close() })
	go cs.accept()
	return cs
}

func (cs *consoleSocket) accept() {
	conn, err := cs.ln.AcceptUnix()
	if err != nil {
		cs.errc <- err
		return
	}
	defer conn.Close()
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil {
		cs.errc <- err
		return
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) == 0 {
		cs.errc <- err
		return
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) == 0 {
		cs.errc <- err
		return
	}
	for _, fd := range fds[1:] {
		unix.Close(fd)
	}
	// Non-blocking, so that os.NewFile makes it pollable and read
	// deadlines work.
	if err := unix.SetNonblock(fds[0], true); err != nil {
		cs.errc <- err
		return
	}
	cs.master <- os.NewFile(uintptr(fds[0]), "pty-master")
}

// wait returns the received pty master.
func (cs *consoleSocket) wait(t *testing.T) *os.File {
	t.Helper()
	select {
	case f := <-cs.master:
		t.Cleanup(func() { f.Close() })
		return f
	case err := <-cs.errc:
		t.Fatalf("console socket: %v", err)
	case <-time.After(cmdTimeout):
		t.Fatalf("no pty master received on the console socket")
	}
	return nil
}

// readUntil reads from the pty master until want appears, EOF/EIO, or the
// timeout passes.
func readUntil(f *os.File, want string, d time.Duration) string {
	var buf bytes.Buffer
	f.SetReadDeadline(time.Now().Add(d))
	p := make([]byte, 4096)
	for !strings.Contains(buf.String(), want) {
		n, err := f.Read(p)
		buf.Write(p[:n])
		if err != nil {
			break
		}
	}
	return buf.String()
}

func TestTerminalConsoleSocket(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.spec.Process.Terminal = true
	b.shell("/helper isatty 0; /helper isatty 1; /helper stat /dev/console; echo tty-done; /helper sleep 600")
	cs := newConsoleSocket(t)
	b.mustCreate("--console-socket", cs.path)
	master := cs.wait(t)
	b.mustRT("start", b.id)
	out := readUntil(master, "tty-done", 10*time.Second)
	out = strings.ReplaceAll(out, "\r", "")
	mustContain(t, out, "tty-done", "output read from the pty master")
	ls := lines(out)
	if len(ls) < 3 || ls[0] != "yes" || ls[1] != "yes" {
		t.Fatalf("isatty 0 and 1 in a terminal container: want yes yes, got:\n%s", out)
	}
	if !strings.HasPrefix(ls[2], "type=char") {
		t.Fatalf("/dev/console should be a character device in the container: %q", ls[2])
	}
}

func TestTerminalInput(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.spec.Process.Terminal = true
	b.shell("read line; echo got:$line")
	cs := newConsoleSocket(t)
	b.mustCreate("--console-socket", cs.path)
	master := cs.wait(t)
	b.mustRT("start", b.id)
	if _, err := master.Write([]byte("typed-in\n")); err != nil {
		t.Fatal(err)
	}
	out := readUntil(master, "got:typed-in", 10*time.Second)
	mustContain(t, out, "got:typed-in", "terminal round trip")
}

func TestTerminalWithoutSocketFails(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/true")
	b.spec.Process.Terminal = true
	if r := b.create(); r.Code == 0 {
		t.Fatalf("create with terminal: true and no --console-socket should fail: %s", r)
	}
}

func TestNoTerminalNotATty(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.shell("/helper isatty 0; /helper isatty 1")
	if out := lines(b.mustRun()); len(out) != 2 || out[0] != "no" || out[1] != "no" {
		t.Fatalf("terminal: false: want no tty on 0 and 1, got %q", out)
	}
}

func TestTerminalConsoleSize(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.spec.Process.Terminal = true
	b.spec.Process.ConsoleSize = &specs.Box{Height: 33, Width: 101}
	b.shell("stty size; echo size-done; /helper sleep 600")
	cs := newConsoleSocket(t)
	b.mustCreate("--console-socket", cs.path)
	master := cs.wait(t)
	b.mustRT("start", b.id)
	out := readUntil(master, "size-done", 10*time.Second)
	mustContain(t, strings.ReplaceAll(out, "\r", ""), "33 101\n", "stty size in a container with process.consoleSize")
}
