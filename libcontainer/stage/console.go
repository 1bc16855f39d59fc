package stage

import (
	"fmt"
	"os"
	"strconv"
	"unsafe"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/rootfs"
)

// setupConsole makes a pty in the container's devpts, sends its master over
// the console socket and makes the peer the process's controlling terminal
// and stdio. The peer comes from TIOCGPTPEER on the master, never from a
// /dev/pts path, which the container could swap (CVE-2025-52565).
func (c *conn) setupConsole(sockFD int, mountConsole bool, size *specs.Box) error {
	sock := os.NewFile(uintptr(sockFD), "console-socket")
	defer sock.Close()
	master, err := os.OpenFile("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /dev/ptmx: %w", err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		return fmt.Errorf("get pty number: %w", err)
	}
	peer, _, errno := unix.Syscall(unix.SYS_IOCTL, master.Fd(), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		return fmt.Errorf("open pty peer: %w", errno)
	}
	slave := os.NewFile(peer, "/dev/pts/"+strconv.Itoa(n))
	defer slave.Close()
	if size != nil {
		ws := &unix.Winsize{Row: uint16(size.Height), Col: uint16(size.Width)}
		if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws); err != nil {
			return fmt.Errorf("process.consoleSize: %w", err)
		}
	}
	if ownTerminal(sockFD) {
		if err := clearONLCR(int(master.Fd())); err != nil {
			return err
		}
	}
	if mountConsole {
		if err := rootfs.MountConsole(slave); err != nil {
			return err
		}
	}
	rights := unix.UnixRights(int(master.Fd()))
	if err := unix.Sendmsg(int(sock.Fd()), []byte(slave.Name()), rights, nil, 0); err != nil {
		return fmt.Errorf("send pty master over the console socket: %w", err)
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(int(slave.Fd()), fd, 0); err != nil {
			return fmt.Errorf("dup pty onto fd %d: %w", fd, err)
		}
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("set controlling terminal: %w", err)
	}
	return nil
}

// ownTerminal tells whether the console socket is husk's own pair (run or
// exec in the foreground: ConsolePair), whose peer is unnamed (its address
// is the family alone), rather than a connection to a --console-socket
// listener, whose peer has the listener's path (or abstract name).
func ownTerminal(sockFD int) bool {
	var sa unix.RawSockaddrUnix
	n := uint32(unsafe.Sizeof(sa))
	_, _, errno := unix.Syscall(unix.SYS_GETPEERNAME, uintptr(sockFD), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&n)))
	return errno == 0 && sa.Family == unix.AF_UNIX && n == uint32(unsafe.Sizeof(sa.Family))
}

// clearONLCR stops the pty from turning the process's "\n" into "\r\n".
// runc does so on the terminal it serves itself in the foreground, so what
// its caller reads is the program's own bytes. It is done here, before the
// process runs, so not even its first line is translated. A pty sent to a
// --console-socket keeps the kernel's defaults, as with runc: its receiver
// (conmon, containerd's shim) sets the modes it wants, and an interactive
// terminal in raw mode relies on ONLCR for its carriage returns. Setting
// the modes through the master sets the terminal's, which both ends share.
func clearONLCR(master int) error {
	t, err := unix.IoctlGetTermios(master, unix.TCGETS)
	if err != nil {
		return fmt.Errorf("get pty modes: %w", err)
	}
	t.Oflag &^= unix.ONLCR
	if err := unix.IoctlSetTermios(master, unix.TCSETS, t); err != nil {
		return fmt.Errorf("clear ONLCR on the pty: %w", err)
	}
	return nil
}
