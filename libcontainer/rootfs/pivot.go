package rootfs

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Pivot makes the prepared rootfs the root of the mount namespace and
// changes to its "/". With NoPivot the rootfs is moved over "/" and
// chrooted into instead, for filesystems pivot_root refuses (initramfs).
func Pivot(c *Config) error {
	root := c.Spec.Root.Path
	var err error
	switch {
	case c.SharedMountNS:
		err = unix.Chroot(root)
		if err != nil {
			err = fmt.Errorf("chroot %s: %w", root, err)
		}
	case c.NoPivot:
		err = moveRoot(root)
	default:
		err = pivotRoot(root)
	}
	if err != nil {
		return err
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("chdir /: %w", err)
	}
	return nil
}

// pivotRoot uses pivot_root(".", "."): the old root ends up stacked on the
// new one, where it is detached without needing a directory to park it
// in, which the rootfs may not have or may be read-only.
func pivotRoot(root string) error {
	oldRoot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /: %w", err)
	}
	defer unix.Close(oldRoot)
	newRoot, err := unix.Open(root, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open rootfs: %w", err)
	}
	defer unix.Close(newRoot)
	if err := unix.Fchdir(newRoot); err != nil {
		return fmt.Errorf("chdir rootfs: %w", err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", root, err)
	}
	if err := unix.Fchdir(oldRoot); err != nil {
		return fmt.Errorf("chdir old root: %w", err)
	}
	// With "/" shared the unmount would propagate to the host's peers.
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make old root rslave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach old root: %w", err)
	}
	return nil
}

// moveRoot moves the rootfs mount over "/" and chroots into it. Unlike
// pivot_root this leaves the host's mounts in the namespace beneath the
// new root, so the ones not on the way to the rootfs are detached first
// rather than kept busy for the container's lifetime.
func moveRoot(root string) error {
	if err := detachOutside(root); err != nil {
		return err
	}
	if err := unix.Chdir(root); err != nil {
		return fmt.Errorf("chdir rootfs: %w", err)
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move rootfs to /: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	return nil
}

// detachOutside lazily unmounts every mount that neither contains the
// rootfs nor is inside it, outermost first (detaching a mount takes its
// submounts with it). Each is made rslave first so the unmount stays in
// this namespace. Mounts a user namespace locked cannot be detached alone;
// they stay, hidden under the new root.
func detachOutside(root string) error {
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err
	}
	mounts, err := mountinfo.GetMounts(nil)
	if err != nil {
		return err
	}
	points := make([]string, 0, len(mounts))
	for _, m := range mounts {
		points = append(points, m.Mountpoint)
	}
	for _, mp := range outsideMounts(points, real) {
		err := unix.Mount("", mp, "", unix.MS_SLAVE|unix.MS_REC, "")
		if err == nil {
			err = unix.Unmount(mp, unix.MNT_DETACH)
		}
		if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EPERM) {
			return fmt.Errorf("detach %s: %w", mp, err)
		}
	}
	return nil
}

// outsideMounts returns the outermost mount points that are neither an
// ancestor of root nor under it, sorted.
func outsideMounts(points []string, root string) []string {
	points = slices.Clone(points)
	slices.Sort(points)
	points = slices.Compact(points)
	under := func(p, dir string) bool { return dir == "/" || p == dir || strings.HasPrefix(p, dir+"/") }
	var out []string
	for _, p := range points {
		if under(root, p) || under(p, root) {
			continue
		}
		if slices.ContainsFunc(out, func(done string) bool { return under(p, done) }) {
			continue
		}
		out = append(out, p)
	}
	return out
}
