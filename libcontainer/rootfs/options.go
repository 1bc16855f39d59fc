package rootfs

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/spec/vocab"
)

// creationOnly are the option flags that say how to make a mount, not what
// it should look like afterwards.
const creationOnly = unix.MS_BIND | unix.MS_REC | unix.MS_REMOUNT

const (
	atimeModes = unix.MS_NOATIME | unix.MS_RELATIME | unix.MS_STRICTATIME
	atimeFlags = atimeModes | unix.MS_NODIRATIME
)

// statfsToMount maps the per-mount statfs f_flags that a user namespace
// locks on the mounts it inherits (the kernel's MNT_LOCK_*: dropping one,
// or changing the atime mode, fails with EPERM there) to their mount(2)
// spelling and option name. strictatime has no f_flag (st 0 never
// matches): it is the atime mode without the others.
var statfsToMount = []struct {
	st, ms uintptr
	name   string
}{
	{unix.ST_RDONLY, unix.MS_RDONLY, "ro"},
	{unix.ST_NOSUID, unix.MS_NOSUID, "nosuid"},
	{unix.ST_NODEV, unix.MS_NODEV, "nodev"},
	{unix.ST_NOEXEC, unix.MS_NOEXEC, "noexec"},
	{unix.ST_NOATIME, unix.MS_NOATIME, "noatime"},
	{unix.ST_RELATIME, unix.MS_RELATIME, "relatime"},
	{0, unix.MS_STRICTATIME, "strictatime"},
	{unix.ST_NODIRATIME, unix.MS_NODIRATIME, "nodiratime"},
}

// lockableFlags returns the lockable flags of a mount whose statfs
// f_flags are stFlags, as MS_* flags.
func lockableFlags(stFlags int64) uintptr {
	var ms uintptr
	for _, f := range statfsToMount {
		if uintptr(stFlags)&f.st != 0 {
			ms |= f.ms
		}
	}
	if ms&atimeModes == 0 {
		ms |= unix.MS_STRICTATIME
	}
	return ms
}

// flagNames spells the lockable flags in ms as mount options.
func flagNames(ms uintptr) string {
	var names []string
	for _, f := range statfsToMount {
		if ms&f.ms != 0 {
			names = append(names, f.name)
		}
	}
	return strings.Join(names, ",")
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
	kept := lockableFlags(stFlags) &^ atimeFlags
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

// remountAsAsked gives the mount whose root f is the per-mount flags the
// options set and no others, as runc 1.5 does: a bind mount asked
// "dev,suid" over a nodev,nosuid source gets neither. Only when the kernel
// refuses because flags are locked (a user namespace's inherited mount)
// is the remount retried keeping the locked flags, unless the options
// asked one of them off or named another atime mode: then the container
// would not get what its config says, and create fails. An atime mode the
// options don't name is kept, as a remount that names none does.
func remountAsAsked(f *os.File, set, clear uintptr) error {
	flags := unix.MS_REMOUNT | unix.MS_BIND | set&^creationOnly
	err := unix.Mount("", fdPath(f), "", flags, "")
	if err == nil {
		return nil
	}
	if !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("remount: %w", err)
	}
	var st unix.Statfs_t
	if serr := unix.Fstatfs(int(f.Fd()), &st); serr != nil {
		return fmt.Errorf("remount: %w (statfs for the locked flags: %w)", err, serr)
	}
	locked := lockableFlags(st.Flags)
	if c := locked & clear; c != 0 {
		return fmt.Errorf("remount: cannot clear locked flags %s: %w", flagNames(c), err)
	}
	if a := set & atimeFlags; a != 0 && a != locked&atimeFlags {
		return fmt.Errorf("remount: cannot change locked atime flags %s to %s: %w", flagNames(locked&atimeFlags), flagNames(a), err)
	}
	if err := unix.Mount("", fdPath(f), "", flags|locked, ""); err != nil {
		return fmt.Errorf("remount keeping locked flags %s: %w", flagNames(locked), err)
	}
	return nil
}

// applyOptions does what the options ask of a mount after it exists: the
// per-mount flags a bind mount ignores on creation (when remount is set),
// the recursive mount_setattr attributes, then propagation.
func applyOptions(top *os.File, o vocab.MountOptions, remount bool) error {
	if remount {
		if err := remountAsAsked(top, o.Flags, o.ClearFlags); err != nil {
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
// MS_REMOUNT pass: the kernel ignores everything but MS_REC when it binds,
// and the new mount has its source's flags, which an option may ask off
// ("bind,dev"). Without any flag option the source's flags stay, as with
// mount(8)'s --bind.
func needsRemount(o vocab.MountOptions) bool {
	return o.Flags&^creationOnly != 0 || o.ClearFlags != 0
}

// hasAfterSteps reports whether applyOptions has anything to do.
func hasAfterSteps(o vocab.MountOptions, remount bool) bool {
	return remount || o.RecAttrSet|o.RecAttrClr != 0 || len(o.PropagationFlags) > 0
}
