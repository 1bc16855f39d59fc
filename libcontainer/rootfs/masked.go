package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// maskPaths hides each existing path: a directory under an empty
// read-only tmpfs, anything else under the container's /dev/null.
func (r *rootDir) maskPaths(paths []string) error {
	var null *os.File
	defer func() {
		if null != nil {
			null.Close()
		}
	}()
	devNull := func() (*os.File, error) {
		var err error
		if null == nil {
			null, err = r.openDevNull()
		}
		return null, err
	}
	for _, p := range paths {
		f, err := r.open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
		err = maskOne(f, devNull)
		f.Close()
		if err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
	}
	return nil
}

// maskOne covers f; devNull is only asked for when f is not a directory.
func maskOne(f *os.File, devNull func() (*os.File, error)) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.Mount("tmpfs", fdPath(f), "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	}
	null, err := devNull()
	if err != nil {
		return err
	}
	return unix.Mount(fdPath(null), fdPath(f), "", unix.MS_BIND, "")
}

// openDevNull returns a handle on the container's /dev/null after checking
// it is the character device 1:3 and not, say, a symlink swapped in to get
// a writable procfs file bound over the masked path (CVE-2025-31133). The
// bind then goes through this very handle.
func (r *rootDir) openDevNull() (*os.File, error) {
	dev, err := r.open("/dev")
	if err != nil {
		return nil, fmt.Errorf("open /dev: %w", err)
	}
	defer dev.Close()
	fd, err := unix.Openat(int(dev.Fd()), "null", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/null: %w", err)
	}
	null := os.NewFile(uintptr(fd), "/dev/null")
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		null.Close()
		return nil, fmt.Errorf("stat /dev/null: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		null.Close()
		return nil, errors.New("/dev/null is not the null device")
	}
	return null, nil
}
