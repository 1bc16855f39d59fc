package rootfs

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/spec/vocab"
)

// creationOnly are the option flags that say how to make a mount, not what
// it should look like afterwards.
const creationOnly = unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT

// statfsToMount maps the per-mount statfs f_flags that a user namespace
// locks to their mount(2) spelling.
var statfsToMount = []struct{ st, ms uintptr }{
	{unix.ST_RDONLY, unix.MS_RDONLY},
	{unix.ST_NOSUID, unix.MS_NOSUID},
	{unix.ST_NODEV, unix.MS_NODEV},
	{unix.ST_NOEXEC, unix.MS_NOEXEC},
}

// mountAttrs returns the mount_setattr(2) spelling of the restricting
// per-mount flags in flags.
func mountAttrs(flags uintptr) uint64 {
	var attrs uint64
	for _, f := range []struct {
		ms   uintptr
		attr uint64
	}{
		{unix.MS_RDONLY, unix.MOUNT_ATTR_RDONLY},
		{unix.MS_NOSUID, unix.MOUNT_ATTR_NOSUID},
		{unix.MS_NODEV, unix.MOUNT_ATTR_NODEV},
		{unix.MS_NOEXEC, unix.MOUNT_ATTR_NOEXEC},
	} {
		if flags&f.ms != 0 {
			attrs |= f.attr
		}
	}
	return attrs
}

// remountFlags returns the MS_* flags for a MS_REMOUNT|MS_BIND of a mount
// whose statfs f_flags are stFlags: what was asked for plus what the mount
// already has, minus what was explicitly asked off. A remount replaces all
// per-mount flags, and dropping one the mount inherited locked from a more
// privileged namespace fails with EPERM. Atime flags need no such care:
// the kernel keeps them on a remount that names none.
func remountFlags(stFlags int64, set, clear uintptr) uintptr {
	var kept uintptr
	for _, f := range statfsToMount {
		if uintptr(stFlags)&f.st != 0 {
			kept |= f.ms
		}
	}
	return unix.MS_REMOUNT | unix.MS_BIND | set&^creationOnly | kept&^clear
}

// remountBind changes the per-mount flags of the mount whose root f is.
func remountBind(f *os.File, set, clear uintptr) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("statfs: %w", err)
	}
	if err := unix.Mount("", fdPath(f), "", remountFlags(st.Flags, set, clear), ""); err != nil {
		return fmt.Errorf("remount: %w", err)
	}
	return nil
}

// applyOptions does what the options ask of a mount after it exists: the
// per-mount flags a bind mount ignores on creation (when remount is set),
// the recursive mount_setattr attributes, then propagation.
func applyOptions(top *os.File, o vocab.MountOptions, remount bool) error {
	if remount {
		if err := remountBind(top, o.Flags, o.ClearFlags); err != nil {
			return err
		}
	}
	if o.RecAttrSet|o.RecAttrClr != 0 {
		attr := unix.MountAttr{Attr_set: o.RecAttrSet, Attr_clr: o.RecAttrClr}
		if err := unix.MountSetattr(int(top.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &attr); err != nil {
			return fmt.Errorf("mount_setattr: %w", err)
		}
	}
	for _, p := range o.PropagationFlags {
		if err := unix.Mount("", fdPath(top), "", p, ""); err != nil {
			return fmt.Errorf("set propagation %#x: %w", p, err)
		}
	}
	return nil
}

// needsRemount reports whether a bind mount made with o needs the
// MS_REMOUNT pass: the kernel ignores everything but MS_REC when it binds.
func needsRemount(o vocab.MountOptions) bool { return o.Flags&^creationOnly != 0 }

// hasAfterSteps reports whether applyOptions has anything to do.
func hasAfterSteps(o vocab.MountOptions, remount bool) bool {
	return remount || o.RecAttrSet|o.RecAttrClr != 0 || len(o.PropagationFlags) > 0
}
