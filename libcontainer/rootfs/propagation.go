package rootfs

import (
	"fmt"
	"strings"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/spec/vocab"
)

// setRootPropagation sets the propagation of "/" to what
// linux.rootfsPropagation says, or to fallback when that is unset (0: leave
// it), and returns the flag it applied.
func setRootPropagation(s *specs.Spec, fallback uintptr) (uintptr, error) {
	flag, ok, err := rootPropagation(s)
	if err != nil {
		return 0, err
	}
	// An unbindable "/" would refuse the binds the rootfs is built from:
	// it is applied only at the end (fallback 0, from Finalize).
	if !ok || (fallback != 0 && flag&unix.MS_UNBINDABLE != 0) {
		flag = fallback
	}
	if flag == 0 {
		return 0, nil
	}
	if err := unix.Mount("", "/", "", flag, ""); err != nil {
		return 0, fmt.Errorf("set propagation of /: %w", err)
	}
	return flag, nil
}

// leavesShared tells whether a mount may still be shared once flag was
// applied to "/" recursively or not: only rslave and rprivate leave none.
func leavesShared(flag uintptr) bool {
	return flag&unix.MS_REC == 0 || flag&(unix.MS_SLAVE|unix.MS_PRIVATE) == 0
}

// rootPropagation returns the propagation flag linux.rootfsPropagation asks
// for; ok is false when it is unset.
func rootPropagation(s *specs.Spec) (flag uintptr, ok bool, err error) {
	if s.Linux == nil || s.Linux.RootfsPropagation == "" {
		return 0, false, nil
	}
	o := vocab.ParseMountOptions([]string{s.Linux.RootfsPropagation})
	if len(o.PropagationFlags) != 1 {
		return 0, false, fmt.Errorf("invalid rootfsPropagation %q", s.Linux.RootfsPropagation)
	}
	return o.PropagationFlags[0], true, nil
}

// privatizeParent makes the mount holding the rootfs private if it is
// shared (a shared rootfsPropagation): pivot_root and MS_MOVE refuse a
// shared parent, and the rootfs bind would join its peer group. Only this
// namespace's copy changes.
func privatizeParent(root string) error {
	mounts, err := mountinfo.GetMounts(mountinfo.ParentsFilter(root))
	if err != nil {
		return err
	}
	var parent *mountinfo.Info
	for _, m := range mounts {
		if parent == nil || len(m.Mountpoint) > len(parent.Mountpoint) {
			parent = m
		}
	}
	if parent == nil || !strings.Contains(parent.Optional, "shared:") {
		return nil
	}
	if err := unix.Mount("", parent.Mountpoint, "", unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make %s private: %w", parent.Mountpoint, err)
	}
	return nil
}
