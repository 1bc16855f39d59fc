package libcontainer

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Kinds of process a --pidfd-socket receives a pidfd of, as runc 1.5 names
// them in the message that carries it.
const (
	PidfdInit = "standard" // a container's init (create, run)
	PidfdExec = "setns"    // a process exec'd into a container
)

// ConnectPidfdSocket connects to --pidfd-socket before anything is made,
// so a wrong path fails the command at once.
func ConnectPidfdSocket(path string) (*os.File, error) {
	return connectUnix(path, "pidfd socket")
}

// SendPidfd sends a pidfd of pid over sock with kind as the message (the
// engine, containerd 2, then signals and waits on the process through it).
// pid must be husk's child, as a created init and an exec'd process are
// until husk exits, so that it can't be another process by now.
func SendPidfd(sock *os.File, pid int, kind string) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return fmt.Errorf("pidfd socket: pidfd_open %d: %w", pid, err)
	}
	defer unix.Close(fd)
	if err := unix.Sendmsg(int(sock.Fd()), []byte(kind), unix.UnixRights(fd), nil, 0); err != nil {
		return fmt.Errorf("send pidfd on %s: %w", sock.Name(), err)
	}
	return nil
}
