// Package rootfs builds the container's filesystem view from inside its
// init process, which is already in its own mount namespace (and maybe
// user, pid, ... namespaces), root there, on one locked OS thread.
//
// Everything under the rootfs belongs to the image and is treated as
// hostile: paths from the spec are looked up inside the rootfs by the
// kernel (openat2 with RESOLVE_IN_ROOT; pathrs-lite's resolver where the
// kernel lacks it), what is missing is planned with filepath-securejoin and
// created one handle at a time (inroot.go), and mounts, device nodes and
// remounts go through file descriptors (mount(2) on /proc/self/fd/N), never
// through a path string joined onto the rootfs.
package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Config is what the init stage knows about the container's filesystem.
type Config struct {
	Spec        *specs.Spec       // Root.Path is absolute
	NoPivot     bool              // --no-pivot: MS_MOVE + chroot instead of pivot_root
	CgroupPaths map[string]string // host cgroup dirs of this container: v1 subsystem -> dir, "" = v2 dir
	// CgroupMountpoints, keyed as CgroupPaths, is where the host mounts
	// each hierarchy, when the cgroup manager knows (cgroups.Mountpoints);
	// without it a v1 host's layout is read from mountinfo.
	CgroupMountpoints map[string]string
	CgroupNS          bool // the container has a new cgroup namespace
	// HostSource, if set, gives the source of Spec.Mounts[i] when it is a
	// bind or an idmapped mount (see vocab.IDMapOf), made by husk on the
	// host side when the init reaches it: an O_PATH handle for a bind, a
	// detached mount for an idmapped one. Without it the init opens bind
	// sources itself and has no idmapped mounts.
	HostSource func(i int) (*os.File, error)
	// SharedMountNS: the container has no mount namespace of its own
	// (runc allows it). husk has bound the rootfs onto itself, privately,
	// and removes that mount on delete; the init mounts inside it, leaves
	// the host's propagation alone and uses chroot instead of pivot_root.
	SharedMountNS bool
	// NewProcfs, if set, gives a procfs (a filesystem context, for
	// fsmount) for each proc mount, in the order of the spec's mounts,
	// made by the container's init: a procfs shows the PID namespace of
	// the process that makes it, and Prepare may run on a thread of
	// husk's (libcontainer/stage, cinit.go). Without it Prepare mounts
	// procfs itself.
	NewProcfs func() (*os.File, error)
	// Procfs, when set, names handles for Prepare and Finalize,
	// opened once for all of them; the caller closes it. Without one each
	// call opens and closes its own.
	Procfs *Procfs

	devReadonly bool // the spec mounts /dev read-only; Finalize does it
}

// Prepare builds the rootfs before pivot_root: the propagation of "/"
// (rslave unless linux.rootfsPropagation says otherwise), the rootfs bound
// onto itself so it is a mount point, every spec mount in order, then
// /dev's default nodes and links unless /dev is the host's, and
// linux.devices.
func Prepare(c *Config) error {
	s := c.Spec
	if s == nil || s.Root == nil || !filepath.IsAbs(s.Root.Path) {
		return errors.New("rootfs: the spec needs an absolute root.path")
	}
	if err := requireProcfs(); err != nil {
		return err
	}
	rootPath, err := filepath.EvalSymlinks(s.Root.Path)
	if err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	if rootPath == "/" {
		return errors.New("rootfs: root.path cannot be the host's /")
	}
	if !c.SharedMountNS {
		// The new namespace starts as a copy of the host's, in the host's
		// peer groups: unless rslave, every mount below would appear on
		// the host.
		flag, err := setRootPropagation(s, unix.MS_SLAVE|unix.MS_REC)
		if err != nil {
			return err
		}
		// After rslave or rprivate (the default, and what engines ask
		// for) no mount is shared: the mount table needn't be read.
		if leavesShared(flag) {
			if err := privatizeParent(rootPath); err != nil {
				return err
			}
		}
		if err := unix.Mount(rootPath, rootPath, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("mount %s on %s: %w", rootPath, rootPath, err)
		}
	}
	proc, done := c.procfs()
	defer done()
	r, err := openRoot(proc, rootPath)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := r.refuseSymlinkedProcSys(); err != nil {
		return err
	}
	for i, m := range s.Mounts {
		if err := r.mountEntry(c, i, m); err != nil {
			return err
		}
	}
	if err := r.setupDev(s); err != nil {
		return err
	}
	if err := r.createCwd(s.Process); err != nil {
		return err
	}
	// createContainer hooks run next, from the rootfs as runc runs them:
	// hooks written for runc use paths relative to it.
	if err := unix.Fchdir(int(r.f.Fd())); err != nil {
		return fmt.Errorf("chdir to the rootfs: %w", err)
	}
	return nil
}

// createCwd makes a missing process.cwd, as runc does, so images whose
// working directory exists only in their config still start.
func (r *rootDir) createCwd(p *specs.Process) error {
	if p == nil || p.Cwd == "" {
		return nil
	}
	d, err := r.mkdirAll(p.Cwd)
	if err != nil {
		// Only the errno: the path where the lookup failed may be the text
		// of a magic link, naming a host directory (CVE-2024-21626).
		var errno unix.Errno
		if errors.As(err, &errno) {
			err = errno
		} else {
			err = errors.New("cannot be made inside the container's root")
		}
		return fmt.Errorf("create cwd (%q) set in config.json: %w", p.Cwd, err)
	}
	return d.Close()
}

// procfs returns c.Procfs, or a Procfs for one call that done closes.
func (c *Config) procfs() (p *Procfs, done func()) {
	if c.Procfs != nil {
		return c.Procfs, func() {}
	}
	p = new(Procfs)
	return p, p.Close
}

// Finalize runs after Pivot: linux.sysctl, readonlyPaths, maskedPaths,
// root.readonly, then linux.rootfsPropagation on the new "/".
func Finalize(c *Config) error {
	if err := finalize(c, "/"); err != nil {
		return err
	}
	if c.SharedMountNS {
		return nil // "/" is the host's; rootfsPropagation is for a namespace of the container's
	}
	_, err := setRootPropagation(c.Spec, 0)
	return err
}

// FinalizeBeforePivot does Finalize's steps on the prepared rootfs in
// place, for a caller that does not pivot into it itself (a thread of
// husk's, whose /proc/self would not resolve in the container's procfs):
// all but linux.rootfsPropagation, which RootPropagation returns for the
// process that pivots.
func FinalizeBeforePivot(c *Config) error {
	root, err := filepath.EvalSymlinks(c.Spec.Root.Path)
	if err != nil {
		return fmt.Errorf("rootfs: %w", err)
	}
	return finalize(c, root)
}

// RootPropagation is the propagation flag for the new "/" once pivoted
// into (linux.rootfsPropagation), 0 to leave it as it is.
func RootPropagation(s *specs.Spec) (uintptr, error) {
	flag, _, err := rootPropagation(s)
	return flag, err
}

// finalize applies linux.sysctl, readonlyPaths, maskedPaths, a read-only
// /dev and root.readonly to the container's filesystem whose root is at
// root.
func finalize(c *Config, root string) error {
	s := c.Spec
	if s.Linux != nil {
		if err := writeSysctls(s.Linux.Sysctl); err != nil {
			return err
		}
		proc, done := c.procfs()
		defer done()
		if err := protectPaths(proc, s.Linux, root); err != nil {
			return err
		}
	}
	if c.devReadonly {
		if err := remountDevReadonly(root); err != nil {
			return err
		}
	}
	if s.Root != nil && s.Root.Readonly {
		if err := remountRootReadonly(root); err != nil {
			return err
		}
	}
	return nil
}

// BindShared binds root onto itself, privately, for a container without a
// mount namespace: its mounts then stay inside that one mount, which
// UnbindShared removes with all of them.
func BindShared(root string) error {
	if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("mount %s on %s: %w", root, root, err)
	}
	if err := unix.Mount("", root, "", unix.MS_PRIVATE|unix.MS_REC, ""); err != nil {
		_ = unix.Unmount(root, unix.MNT_DETACH)
		return fmt.Errorf("make %s private: %w", root, err)
	}
	return nil
}

// UnbindShared removes the mount BindShared made, and everything mounted in it.
func UnbindShared(root string) error {
	if err := unix.Unmount(root, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("unmount %s: %w", root, err)
	}
	return nil
}

// protectPaths applies readonlyPaths, then maskedPaths, inside root, so a
// path in both ends up masked.
func protectPaths(proc *Procfs, l *specs.Linux, root string) error {
	if len(l.ReadonlyPaths) == 0 && len(l.MaskedPaths) == 0 {
		return nil
	}
	if err := requireProcfs(); err != nil {
		return err
	}
	r, err := openRoot(proc, root)
	if err != nil {
		return err
	}
	defer r.Close()
	if err := r.readonlyPaths(l.ReadonlyPaths); err != nil {
		return err
	}
	return r.maskPaths(l.MaskedPaths)
}
