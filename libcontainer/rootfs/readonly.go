package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// readonlyPaths makes each existing path read-only: a bind mount of the
// path onto itself, remounted read-only. The bind is recursive because a
// plain one would hide whatever is mounted below the path (and a user
// namespace refuses it when those mounts are locked).
func (r *rootDir) readonlyPaths(paths []string) error {
	for _, p := range paths {
		if err := r.readonlyPath(p); err != nil {
			return fmt.Errorf("make %s read-only: %w", p, err)
		}
	}
	return nil
}

func (r *rootDir) readonlyPath(p string) error {
	f, err := r.open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Mount(fdPath(f), fdPath(f), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	top, err := r.mounted(p, f)
	if err != nil {
		return err
	}
	defer top.Close()
	return remountBind(top, unix.MS_RDONLY, 0)
}

// remountRootReadonly implements root.readonly, after pivot_root: "/" is
// the rootfs bind mount then, and cannot be a symlink.
func remountRootReadonly() error {
	var st unix.Statfs_t
	if err := unix.Statfs("/", &st); err != nil {
		return fmt.Errorf("statfs /: %w", err)
	}
	if err := unix.Mount("", "/", "", remountFlags(st.Flags, unix.MS_RDONLY, 0), ""); err != nil {
		return fmt.Errorf("remount / read-only: %w", err)
	}
	return nil
}

// remountDevReadonly makes the container's /dev mount read-only, after
// pivot_root; /dev is the tmpfs husk mounted there (nothing of the
// container's has run yet), opened without following a symlink.
func remountDevReadonly() error {
	dev, err := os.OpenFile("/dev", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /dev: %w", err)
	}
	defer dev.Close()
	if err := remountBind(dev, unix.MS_RDONLY, 0); err != nil {
		return fmt.Errorf("make /dev read-only: %w", err)
	}
	return nil
}
