package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/spec/vocab"
)

// defaultDevices are the nodes every container gets unless it shares the
// host's /dev.
var defaultDevices = []specs.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0},
}

// devLinks are the symlinks every such /dev gets, name -> target.
var devLinks = [][2]string{
	{"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"},
}

// hostDev reports whether the spec binds the host's /dev: then nothing may
// be created in it, every node would land on the host.
func hostDev(mounts []specs.Mount) bool {
	for _, m := range mounts {
		if cleanPath(m.Destination) == "/dev" && (m.Type == "bind" || vocab.ParseMountOptions(m.Options).Bind) {
			return true
		}
	}
	return false
}

// setupDev fills /dev: the default nodes (unless linux.devices redefines
// one), the standard symlinks, then linux.devices.
func (r *rootDir) setupDev(s *specs.Spec) error {
	if hostDev(s.Mounts) {
		return nil
	}
	var devs []specs.LinuxDevice
	if s.Linux != nil {
		devs = s.Linux.Devices
	}
	// Device permissions are exactly what the spec says, not masked.
	defer unix.Umask(unix.Umask(0))
	for _, d := range defaultDevices {
		redefined := slices.ContainsFunc(devs, func(x specs.LinuxDevice) bool { return cleanPath(x.Path) == d.Path })
		if redefined {
			continue
		}
		if err := r.createDevice(d, "device "+d.Path); err != nil {
			return err
		}
	}
	if err := r.createDevLinks(); err != nil {
		return err
	}
	for i, d := range devs {
		if err := r.createDevice(d, fmt.Sprintf("linux.devices[%d] %s", i, cleanPath(d.Path))); err != nil {
			return err
		}
	}
	return nil
}

// deviceMode returns the mknod(2) mode and device number for d.
func deviceMode(d specs.LinuxDevice) (mode uint32, dev int, err error) {
	switch d.Type {
	case "c", "u":
		mode = unix.S_IFCHR
	case "b":
		mode = unix.S_IFBLK
	case "p":
		mode = unix.S_IFIFO
	default:
		return 0, 0, fmt.Errorf("device %s: unknown type %q", d.Path, d.Type)
	}
	mode |= 0o666
	if d.FileMode != nil {
		mode = mode&unix.S_IFMT | uint32(*d.FileMode)&0o777
	}
	if mode&unix.S_IFMT != unix.S_IFIFO {
		dev = int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))
	}
	return mode, dev, nil
}

// createDevice makes the node d describes, relative to its parent
// directory's handle. In a user namespace mknod is refused; the host's
// node is bound onto an empty file instead.
func (r *rootDir) createDevice(d specs.LinuxDevice, what string) error {
	mode, dev, err := deviceMode(d)
	if err != nil {
		return err
	}
	p := cleanPath(d.Path)
	dir, err := r.mkdirAll(filepath.Dir(p))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer dir.Close()
	name := filepath.Base(p)
	created, err := mknodReplacing(dir, name, mode, dev)
	switch {
	case errors.Is(err, unix.EPERM):
		err = bindHostDevice(dir, name, p, mode, dev)
	case err == nil && created:
		uid, gid := 0, 0
		if d.UID != nil {
			uid = int(*d.UID)
		}
		if d.GID != nil {
			gid = int(*d.GID)
		}
		err = unix.Fchownat(int(dir.Fd()), name, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// mknodReplacing creates the node; created is false when a node of that
// kind and number was already there. Anything else under the name is
// removed first: an image can ship a symlink or a file as /dev/null.
func mknodReplacing(dir *os.File, name string, mode uint32, dev int) (created bool, err error) {
	err = unix.Mknodat(int(dir.Fd()), name, mode, dev)
	if !errors.Is(err, unix.EEXIST) {
		return err == nil, err
	}
	if isNode(dir, name, mode, dev) {
		return false, nil
	}
	if err := unix.Unlinkat(int(dir.Fd()), name, 0); err != nil {
		return false, fmt.Errorf("remove what was there: %w", err)
	}
	err = unix.Mknodat(int(dir.Fd()), name, mode, dev)
	return err == nil, err
}

// isNode reports whether name in dir, not followed, is a node of that kind
// and number.
func isNode(dir *os.File, name string, mode uint32, dev int) bool {
	var st unix.Stat_t
	if unix.Fstatat(int(dir.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
		return false
	}
	return st.Mode&unix.S_IFMT == mode&unix.S_IFMT && (mode&unix.S_IFMT == unix.S_IFIFO || st.Rdev == uint64(dev))
}

// bindHostDevice binds the host's node at hostPath (this runs before
// pivot_root) onto a new empty file name in dir, after checking the host
// node is the device asked for.
func bindHostDevice(dir *os.File, name, hostPath string, mode uint32, dev int) error {
	src, err := os.OpenFile(hostPath, unix.O_PATH|unix.O_CLOEXEC, 0)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("a user namespace may not mknod, and the host has no such node to bind: %w", err)
	}
	if err != nil {
		return fmt.Errorf("open host node: %w", err)
	}
	defer src.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(src.Fd()), &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != mode&unix.S_IFMT || st.Rdev != uint64(dev) {
		return fmt.Errorf("host %s is not the device asked for", hostPath)
	}
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create mount point: %w", err)
	}
	target := os.NewFile(uintptr(fd), name)
	defer target.Close()
	if err := unix.Mount(fdPath(src), fdPath(target), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("bind host node: %w", err)
	}
	return nil
}

// createDevLinks makes the standard /dev symlinks. An image's own fd or
// stdin entry is left alone; /dev/ptmx is always replaced, it has to be
// the one of the container's devpts instance.
func (r *rootDir) createDevLinks() error {
	dir, err := r.mkdirAll("/dev")
	if err != nil {
		return err
	}
	defer dir.Close()
	for _, l := range devLinks {
		err := unix.Symlinkat(l[1], int(dir.Fd()), l[0])
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("symlink /dev/%s: %w", l[0], err)
		}
	}
	err = unix.Unlinkat(int(dir.Fd()), "ptmx", 0)
	if err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove /dev/ptmx: %w", err)
	}
	if err := unix.Symlinkat("pts/ptmx", int(dir.Fd()), "ptmx"); err != nil {
		return fmt.Errorf("symlink /dev/ptmx: %w", err)
	}
	return nil
}
