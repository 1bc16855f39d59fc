package seccomp

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// received is what a listener got on one connection.
type received struct {
	state specs.ContainerProcessState
	raw   []byte
	files []*os.File
	err   error
}

// agent listens on a unix socket in a temporary directory and reports the
// first connection's state and fds.
func agent(t *testing.T) (string, <-chan received) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ch := make(chan received, 1)
	go func() { ch <- acceptOne(l) }()
	return path, ch
}

func acceptOne(l *net.UnixListener) (r received) {
	if err := l.SetDeadline(time.Now().Add(20 * time.Second)); err != nil {
		r.err = err
		return r
	}
	c, err := l.AcceptUnix()
	if err != nil {
		r.err = err
		return r
	}
	defer c.Close()
	buf := make([]byte, 64<<10)
	oob := make([]byte, syscall.CmsgSpace(4*4))
	n, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
	if err != nil {
		r.err = err
		return r
	}
	msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		r.err = err
		return r
	}
	for _, m := range msgs {
		fds, err := syscall.ParseUnixRights(&m)
		if err != nil {
			r.err = err
			return r
		}
		for _, fd := range fds {
			r.files = append(r.files, os.NewFile(uintptr(fd), "received"))
		}
	}
	// The runtime closes the connection after one state.
	rest, err := io.ReadAll(c)
	if err != nil {
		r.err = err
		return r
	}
	r.raw = append(buf[:n:n], rest...)
	r.err = json.Unmarshal(r.raw, &r.state)
	return r
}

func TestSendState(t *testing.T) {
	path, got := agent(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	s := &specs.LinuxSeccomp{ListenerPath: path, ListenerMetadata: "MKNOD=/dev/null"}
	state := &specs.ContainerProcessState{
		Pid: 4242,
		State: specs.State{
			Version: specs.Version, ID: "ctr-1", Status: specs.StateCreating, Pid: 4242,
			Bundle: "/b", Annotations: map[string]string{"k": "v"},
		},
	}
	if err := sendListener(s, pw, state); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	st := r.state
	if st.Version != specs.Version || st.Pid != 4242 || st.Metadata != "MKNOD=/dev/null" ||
		len(st.Fds) != 1 || st.Fds[0] != "seccompFd" || st.State.ID != "ctr-1" ||
		st.State.Status != specs.StateCreating || st.State.Bundle != "/b" || st.State.Annotations["k"] != "v" {
		t.Errorf("state received: %s", r.raw)
	}
	if len(r.files) != 1 {
		t.Fatalf("%d fds received, want 1", len(r.files))
	}
	// The fd received is the one sent: write through it, read the pipe.
	if _, err := r.files[0].WriteString("through"); err != nil {
		t.Fatal(err)
	}
	r.files[0].Close()
	buf := make([]byte, 7)
	if _, err := io.ReadFull(pr, buf); err != nil || string(buf) != "through" {
		t.Errorf("read %q, %v", buf, err)
	}
	if state.Fds != nil || state.Metadata != "" || state.Version != "" {
		t.Errorf("SendListener changed the caller's state: %+v", state)
	}
}

func TestSendListenerErrors(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	state := &specs.ContainerProcessState{}
	if err := sendListener(&specs.LinuxSeccomp{}, pw, state); err == nil || !strings.Contains(err.Error(), "listenerPath is not set") {
		t.Errorf("no listenerPath: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "none.sock")
	err = sendListener(&specs.LinuxSeccomp{ListenerPath: missing}, pw, state)
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing socket: %v", err)
	}
}

// sendListener is what husk does in two steps: Connect before the
// container's process starts, SendState once its filter is loaded.
func sendListener(s *specs.LinuxSeccomp, fd *os.File, state *specs.ContainerProcessState) error {
	if s == nil || s.ListenerPath == "" {
		return errors.New("send seccomp fd: linux.seccomp.listenerPath is not set")
	}
	conn, err := Connect(s)
	if err != nil {
		return err
	}
	return SendState(conn, s, fd, state)
}
