package stage

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// SourceFunc makes the source of the spec's mounts[i] for the init to
// attach: an O_PATH handle for a bind mount, a detached mount for an
// idmapped one. It runs as husk, on a thread in the container's mount
// namespace, when the init reaches that mount: the mounts made before it
// are in place, so a source inside one of them is found (runc's "mount
// order"), and husk's credentials reach host directories that the
// container's user namespace can't.
type SourceFunc func(i int) (*os.File, error)

// A request is the mount's index as text; a reply is either "ok" with the
// handle attached, or an error's text.
const sourceOK = "ok"

// newSeqpacket makes a socket pair between husk and the init for what:
// the init asks for mount sources on one, a C init hands its procfs and
// takes the rootfs on another (cinit.go). Seqpacket, so each request and
// each reply is one message, and a reply's handles arrive with it.
func newSeqpacket(what string) (husk, init *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair for %s: %w", what, err)
	}
	return os.NewFile(uintptr(fds[0]), what), os.NewFile(uintptr(fds[1]), what+" (init)"), nil
}

// serveSources answers the init's requests until it closes its end (its
// mounts are done, or it died) or stop is called. The thread it runs on
// joins the init's mount namespace and is never given back to the Go
// runtime: it ends with the goroutine.
func serveSources(sock *os.File, pid int, source SourceFunc) (stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		joinErr := joinMountNS(pid)
		buf := make([]byte, 32)
		for {
			n, _, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, nil, 0)
			if err == unix.EINTR {
				continue
			}
			if err != nil || n == 0 {
				return
			}
			reply, f := []byte(sourceOK), (*os.File)(nil)
			if i, perr := strconv.Atoi(string(buf[:n])); perr != nil {
				reply = []byte("bad mount source request " + strconv.Quote(string(buf[:n])))
			} else if joinErr != nil {
				reply = []byte(joinErr.Error())
			} else if f, err = source(i); err != nil {
				reply = []byte(err.Error())
			}
			var rights []byte
			if f != nil {
				rights = unix.UnixRights(int(f.Fd()))
			}
			err = unix.Sendmsg(int(sock.Fd()), reply, rights, nil, 0)
			if f != nil {
				f.Close()
			}
			if err != nil {
				return
			}
		}
	}()
	return func() {
		// shutdown wakes the Recvmsg, which close would not.
		_ = unix.Shutdown(int(sock.Fd()), unix.SHUT_RDWR)
		<-done
		sock.Close()
	}
}

// joinMountNS moves the calling thread, alone, into pid's mount namespace.
func joinMountNS(pid int) error {
	ns, err := os.Open("/proc/" + strconv.Itoa(pid) + "/ns/mnt")
	if err != nil {
		return fmt.Errorf("open the container's mount namespace: %w", err)
	}
	defer ns.Close()
	// setns refuses a mount namespace to a thread that shares its root
	// and working directory with others.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare the filesystem attributes of husk's thread: %w", err)
	}
	if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("join the container's mount namespace: %w", err)
	}
	return nil
}

// askSource is the init's side: it asks husk for the source of mounts[i].
func askSource(sock *os.File, i int) (*os.File, error) {
	if err := unix.Sendmsg(int(sock.Fd()), []byte(strconv.Itoa(i)), nil, nil, 0); err != nil {
		return nil, fmt.Errorf("ask husk for the mount source: %w", err)
	}
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("read the mount source from husk: %w", err)
	}
	var fd = -1
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil && len(msgs) == 1 {
		if fds, err := unix.ParseUnixRights(&msgs[0]); err == nil && len(fds) == 1 {
			fd = fds[0]
		}
	}
	reply := string(buf[:n])
	switch {
	case n == 0:
		return nil, errors.New("husk closed the mount source socket")
	case reply != sourceOK:
		if fd >= 0 {
			unix.Close(fd)
		}
		return nil, errors.New(reply)
	case fd < 0:
		return nil, errors.New("husk sent no handle for the mount source")
	}
	return os.NewFile(uintptr(fd), "mount-source-"+strconv.Itoa(i)), nil
}
