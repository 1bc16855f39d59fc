package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// MountConsole binds the pty slave onto /dev/console, after Pivot. The
// source is the open slave itself, never a /dev/pts/N path that could be
// swapped for a symlink to anything (CVE-2025-52565). It opens, and
// closes, a Procfs of its own.
func MountConsole(slave *os.File) error {
	if err := checkPty(slave); err != nil {
		return err
	}
	if err := requireProcfs(); err != nil {
		return err
	}
	var proc Procfs
	defer proc.Close()
	r, err := openRoot(&proc, "/")
	if err != nil {
		return err
	}
	defer r.Close()
	dev, err := r.mkdirAll("/dev")
	if err != nil {
		return fmt.Errorf("open /dev: %w", err)
	}
	defer dev.Close()
	target, err := consoleTarget(dev)
	if err != nil {
		return err
	}
	defer target.Close()
	if err := unix.Mount(fdPath(slave), fdPath(target), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("mount %s on /dev/console: %w", slave.Name(), err)
	}
	return nil
}

// checkPty makes sure the fd really is a pty slave: a character device on
// a devpts filesystem.
func checkPty(f *os.File) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("stat console: %w", err)
	}
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &sfs); err != nil {
		return fmt.Errorf("statfs console: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || sfs.Type != unix.DEVPTS_SUPER_MAGIC {
		return errors.New("console is not a pty")
	}
	return nil
}

// consoleTarget returns a handle on /dev/console to mount onto, creating
// an empty file when it is missing. A symlink there is replaced, never
// followed.
func consoleTarget(dev *os.File) (*os.File, error) {
	dfd := int(dev.Fd())
	var st unix.Stat_t
	if unix.Fstatat(dfd, "console", &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
		if err := unix.Unlinkat(dfd, "console", 0); err != nil {
			return nil, fmt.Errorf("remove /dev/console symlink: %w", err)
		}
	}
	fd, err := unix.Openat(dfd, "console", unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o600)
	if err == nil {
		unix.Close(fd)
	} else if !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("create /dev/console: %w", err)
	}
	fd, err = unix.Openat(dfd, "console", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/console: %w", err)
	}
	f := os.NewFile(uintptr(fd), "/dev/console")
	if err := unix.Fstat(fd, &st); err != nil {
		f.Close()
		return nil, fmt.Errorf("stat /dev/console: %w", err)
	}
	if t := st.Mode & unix.S_IFMT; t == unix.S_IFLNK || t == unix.S_IFDIR {
		f.Close()
		return nil, errors.New("/dev/console is not a file to mount on")
	}
	return f, nil
}
