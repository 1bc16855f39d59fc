package libcontainer

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// sealedSelf returns an O_PATH handle to husk's own binary that the init and
// exec stages are started from, so that their /proc/PID/exe can't be used to
// overwrite the binary on the host (CVE-2019-5736).
//
// The handle is the root of a private, detached, read-only bind mount of the
// binary (open_tree(OPEN_TREE_CLONE) + mount_setattr(MOUNT_ATTR_RDONLY)). A
// process in the container that reopens /proc/PID/exe for writing resolves to
// that mount and gets EROFS; the mount belongs to no mount namespace, so
// nothing in the container can remount it read-write, and it vanishes with
// the last process that uses it. Unlike a memfd copy it costs two syscalls
// and no memory. Where the kernel or our privileges don't allow it (rootless,
// kernels before 5.12) we fall back to a sealed memfd copy.
func sealedSelf() (*os.File, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/proc/self/exe", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err == nil {
		attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV}
		if err = unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err == nil {
			return os.NewFile(uintptr(fd), "husk-ro-exe"), nil
		}
		unix.Close(fd)
	}
	return memfdSelf()
}

func memfdSelf() (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("open own binary: %w", err)
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("husk", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	dst := os.NewFile(uintptr(fd), "husk-memfd-exe")
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return nil, fmt.Errorf("copy own binary: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		dst.Close()
		return nil, fmt.Errorf("seal own binary copy: %w", err)
	}
	return dst, nil
}
