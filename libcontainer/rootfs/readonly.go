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

// remountRootReadonly implements root.readonly: root is the rootfs bind
// mount ("/" after pivot_root, the rootfs's real path before), a path of
// husk's that the image does not resolve.
func remountRootReadonly(root string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(root, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", root, err)
	}
	if err := unix.Mount("", root, "", remountFlags(st.Flags, unix.MS_RDONLY, 0), ""); err != nil {
		return fmt.Errorf("remount %s read-only: %w", root, err)
	}
	return nil
}

// remountDevReadonly makes the container's /dev mount read-only; /dev is
// the tmpfs husk mounted there (nothing of the container's has run yet),
// opened from root without following a symlink.
func remountDevReadonly(root string) error {
	rootDir, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", root, err)
	}
	fd, err := unix.Openat(rootDir, "dev", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	unix.Close(rootDir)
	if err != nil {
		return fmt.Errorf("open /dev: %w", err)
	}
	dev := os.NewFile(uintptr(fd), "/dev")
	defer dev.Close()
	if err := remountBind(dev, unix.MS_RDONLY, 0); err != nil {
		return fmt.Errorf("make /dev read-only: %w", err)
	}
	return nil
}
