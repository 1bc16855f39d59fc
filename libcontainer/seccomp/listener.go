package seccomp

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// listenerTimeout bounds the connect and the send, so that an agent that
// stopped accepting cannot hang the runtime.
const listenerTimeout = 10 // seconds

// Connect opens the connection to the agent listening on s.ListenerPath.
// husk connects before the container's process starts, from the host's
// mount namespace, and hands the connection to the process, which sends
// its notification fd with SendState once the filter is loaded.
func Connect(s *specs.LinuxSeccomp) (*os.File, error) {
	sock, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp.listenerPath: socket: %w", err)
	}
	// On a unix socket the send timeout also bounds connect.
	if err := unix.SetsockoptTimeval(sock, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &unix.Timeval{Sec: listenerTimeout}); err != nil {
		unix.Close(sock)
		return nil, fmt.Errorf("linux.seccomp.listenerPath: set send timeout: %w", err)
	}
	if err := retryEINTR(func() error { return unix.Connect(sock, &unix.SockaddrUnix{Name: s.ListenerPath}) }); err != nil {
		unix.Close(sock)
		return nil, fmt.Errorf("linux.seccomp.listenerPath: failed to connect with seccomp agent at %s: %w", s.ListenerPath, err)
	}
	return os.NewFile(uintptr(sock), s.ListenerPath), nil
}

// SendState sends the container process state to the agent on conn (from
// Connect), with fd (from Load) attached by SCM_RIGHTS, and closes conn,
// as the runtime-spec requires. state gives pid (the process that loaded
// the filter, as the runtime sees it) and the container's state;
// SendState fills in ociVersion if empty, fds and metadata
// (s.ListenerMetadata).
func SendState(conn *os.File, s *specs.LinuxSeccomp, fd *os.File, state *specs.ContainerProcessState) error {
	defer conn.Close()
	if fd == nil {
		return errors.New("send seccomp fd: no notification fd")
	}
	msg := *state
	if msg.Version == "" {
		msg.Version = specs.Version
	}
	msg.Fds = []string{specs.SeccompFdName}
	msg.Metadata = s.ListenerMetadata
	data, err := json.Marshal(&msg)
	if err != nil {
		return fmt.Errorf("send seccomp fd: encode the container process state: %w", err)
	}
	if err := sendWithFd(int(conn.Fd()), data, fd); err != nil {
		return fmt.Errorf("send seccomp fd to linux.seccomp.listenerPath %s: %w", s.ListenerPath, err)
	}
	return nil
}

// sendWithFd sends data on the connected socket sock, with fd attached to
// its first byte.
func sendWithFd(sock int, data []byte, fd *os.File) error {
	raw, err := fd.SyscallConn()
	if err != nil {
		return err
	}
	var n int
	var sendErr error
	err = raw.Control(func(nfd uintptr) {
		sendErr = retryEINTR(func() error {
			var err error
			n, err = unix.SendmsgN(sock, data, unix.UnixRights(int(nfd)), nil, 0)
			return err
		})
	})
	if err == nil {
		err = sendErr
	}
	if err != nil {
		return fmt.Errorf("sendmsg: %w", err)
	}
	// A stream socket may take part of the data; the fd went with it.
	for n < len(data) {
		var m int
		if err := retryEINTR(func() error {
			var err error
			m, err = unix.Write(sock, data[n:])
			return err
		}); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		n += m
	}
	return nil
}

// retryEINTR repeats op while a signal interrupts it: a socket with a
// timeout is not restarted automatically.
func retryEINTR(op func() error) error {
	for {
		if err := op(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
