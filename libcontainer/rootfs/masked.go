package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// maskPaths hides each existing path: a directory under an empty
// read-only tmpfs, anything else under the container's /dev/null. As in
// runc 1.5 the directories share one tmpfs, mounted on the first and bound
// on the others (a bind keeps its source's read-only, nosuid, nodev and
// noexec), and a path listed more than once, in whatever spelling or
// through whatever symlink, is masked once rather than stacked.
func (r *rootDir) maskPaths(paths []string) error {
	var null, shared *os.File
	defer func() {
		if null != nil {
			null.Close()
		}
		if shared != nil {
			shared.Close()
		}
	}()
	devNull := func() (*os.File, error) {
		var err error
		if null == nil {
			null, err = r.openDevNull()
		}
		return null, err
	}
	masked := map[string]bool{}
	for _, p := range paths {
		f, err := r.open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
		err = r.maskOnce(p, f, masked, &shared, devNull)
		f.Close()
		if err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
	}
	return nil
}

// maskOnce masks f, the handle p resolved to, unless where it is was
// masked already (masked holds those places). *shared is the tmpfs masking
// directories, set by the first one.
func (r *rootDir) maskOnce(p string, f *os.File, masked map[string]bool, shared **os.File, devNull func() (*os.File, error)) error {
	rel, err := r.locate(f)
	if err != nil {
		return err
	}
	if masked[rel] {
		return nil
	}
	masked[rel] = true
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		null, err := devNull()
		if err != nil {
			return err
		}
		return unix.Mount(fdPath(null), fdPath(f), "", unix.MS_BIND, "")
	}
	if *shared != nil && unix.Mount(fdPath(*shared), fdPath(f), "", unix.MS_BIND, "") == nil {
		return nil
	}
	// The first directory, or a bind the kernel refused: a tmpfs of its
	// own.
	if err := unix.Mount("tmpfs", fdPath(f), "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return err
	}
	if *shared == nil {
		top, err := r.mounted(p, f)
		if err != nil {
			return err
		}
		*shared = top
	}
	return nil
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
