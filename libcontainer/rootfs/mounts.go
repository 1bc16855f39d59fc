package rootfs

import (
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/spec/vocab"
)

// mountEntry performs entry i of the spec's mounts list.
func (r *rootDir) mountEntry(c *Config, i int, m specs.Mount) error {
	dest := r.destination(c, m.Destination)
	o := vocab.ParseMountOptions(m.Options)
	// A read-only /dev is made read-only last (Finalize), as runc does:
	// the default nodes, /dev/pts and /dev/shm go in it first.
	if dest == "/dev" && o.Flags&unix.MS_RDONLY != 0 {
		o.Flags &^= unix.MS_RDONLY
		c.devReadonly = true
	}
	idmapped, _ := vocab.IDMapOf(m)
	var err error
	switch {
	case idmapped:
		err = r.attachIDMapped(c, i, dest, o)
	case o.Bind || m.Type == "bind":
		err = r.bindEntry(c, i, m.Source, dest, o)
	case m.Type == "sysfs":
		err = r.mountSysfs(m, dest, o)
	case m.Type == "cgroup":
		err = r.mountCgroup(c, m, dest, o)
	case m.Type == "tmpfs":
		err = r.mountTmpfs(m.Source, dest, o)
	case m.Type == "proc" && c.NewProcfs != nil:
		err = r.attachProcfs(c, dest, o)
	default:
		err = r.mountFS(m.Source, m.Type, dest, o)
	}
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.Source, dest, err)
	}
	return nil
}

// destination makes a spec mount's destination a path inside the root:
// lexically clean, and without the rootfs's own host path in front when it
// has it, as runc takes it (configs that name a destination by its path on
// the host, "<rootfs>/mnt", mean the container's "/mnt"). Only the text
// changes: the result is resolved inside the root as any other.
func (r *rootDir) destination(c *Config, d string) string {
	p := cleanPath(d)
	for _, root := range []string{r.real, filepath.Clean(c.Spec.Root.Path)} {
		if root == "/" {
			continue
		}
		if rel, ok := within(root, p); ok {
			return rel
		}
	}
	return p
}

// openSource opens the source of a bind mount. It is a host path chosen by
// whoever wrote the config, so symlinks in it are followed; a relative one
// is relative to the working directory, the bundle.
func openSource(source string) (*os.File, error) {
	return os.OpenFile(source, unix.O_PATH|unix.O_CLOEXEC, 0)
}

// bindEntry binds mounts[i]'s source onto dest: husk gives the source
// when c.HostSource is set, else the init opens it.
func (r *rootDir) bindEntry(c *Config, i int, source, dest string, o vocab.MountOptions) error {
	open := openSource
	if c.HostSource != nil {
		open = func(string) (*os.File, error) { return c.HostSource(i) }
	}
	return r.bind(open, source, dest, o)
}

// bindMount binds source onto dest, recursively for rbind.
func (r *rootDir) bindMount(source, dest string, o vocab.MountOptions) error {
	return r.bind(openSource, source, dest, o)
}

func (r *rootDir) bind(open func(string) (*os.File, error), source, dest string, o vocab.MountOptions) error {
	src, err := open(source)
	if err != nil {
		return err
	}
	defer src.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(src.Fd()), &st); err != nil {
		return fmt.Errorf("stat %s: %w", source, err)
	}
	// The source's filesystem is read from the open handle, the very file
	// that gets bound: a path could be swapped in between.
	target, _, err := r.openTarget(dest, st.Mode&unix.S_IFMT != unix.S_IFDIR, procRule(isProcfs(src)))
	if err != nil {
		return err
	}
	defer target.Close()
	flags := uintptr(unix.MS_BIND)
	if o.Recursive {
		flags |= unix.MS_REC
	}
	if err := unix.Mount(fdPath(src), fdPath(target), "", flags, ""); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	return r.settle(dest, target, o, needsRemount(o))
}

// fsRule is where a new instance of filesystem fstype meant for dest may
// land: exactly there for those husk relies on, and under /proc's rules.
func fsRule(fstype, dest string) mountRule {
	return func(rel string) error {
		if landsExactly(fstype) && rel != dest {
			return fmt.Errorf("%s resolves to %s through a symlink", dest, rel)
		}
		return checkProcDest(rel, fstype == "proc")
	}
}

// mountFS mounts a new instance of filesystem fstype on dest.
func (r *rootDir) mountFS(source, fstype, dest string, o vocab.MountOptions) error {
	target, _, err := r.openTarget(dest, false, fsRule(fstype, dest))
	if err != nil {
		return err
	}
	defer target.Close()
	if err := unix.Mount(source, fdPath(target), fstype, o.Flags&^creationOnly, o.Data); err != nil {
		return err
	}
	return r.settle(dest, target, o, false)
}

// attachProcfs mounts on dest a procfs that the container's init made
// (NewProcfs), under mountFS's rules for where a procfs may land; the
// flags are set by remounting it.
func (r *rootDir) attachProcfs(c *Config, dest string, o vocab.MountOptions) error {
	fs, err := c.NewProcfs()
	if err != nil {
		return err
	}
	defer fs.Close()
	target, _, err := r.openTarget(dest, false, fsRule("proc", dest))
	if err != nil {
		return err
	}
	defer target.Close()
	mnt, err := unix.Fsmount(int(fs.Fd()), unix.FSMOUNT_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("fsmount: %w", err)
	}
	defer unix.Close(mnt)
	err = unix.MoveMount(mnt, "", int(target.Fd()), "",
		unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return r.settle(dest, target, o, needsRemount(o))
}

// settle applies the options that only work on an existing mount, on the
// mount just made on target.
func (r *rootDir) settle(dest string, target *os.File, o vocab.MountOptions, remount bool) error {
	if !hasAfterSteps(o, remount) {
		return nil
	}
	top, err := r.mounted(dest, target)
	if err != nil {
		return err
	}
	defer top.Close()
	return applyOptions(top, o, remount)
}
