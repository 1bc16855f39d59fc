package libcontainer

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// ConnectConsole connects to a --console-socket. It only connects: the
// listener may accept after husk has sent the master and exited (the
// containerd shim does).
func ConnectConsole(path string) (*os.File, error) {
	return connectUnix(path, "console socket")
}

// connectUnix connects to the unix stream socket at path; what names it
// in errors.
func connectUnix(path, what string) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("connect to %s %s: %w", what, path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// ConsolePair is a socketpair standing in for a console socket when husk
// itself serves the terminal (run and exec in the foreground).
func ConsolePair() (local, remote *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "console"), os.NewFile(uintptr(fds[1]), "console-remote"), nil
}

// RecvMaster receives the pty master the container's process sent.
func RecvMaster(sock *os.File) (*os.File, error) {
	buf := make([]byte, 256)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("receive pty master: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return nil, fmt.Errorf("receive pty master: no fd received")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return nil, fmt.Errorf("receive pty master: bad fd message")
	}
	return os.NewFile(uintptr(fds[0]), string(buf[:n])), nil
}
