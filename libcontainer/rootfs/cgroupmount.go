package rootfs

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/spec/vocab"
)

// hostCgroupRoot is where the host's cgroup hierarchies are mounted.
const hostCgroupRoot = "/sys/fs/cgroup"

// cgroupHier is one host cgroup hierarchy as the container gets it.
type cgroupHier struct {
	name   string // directory in the container's cgroup tmpfs: the host mount point's basename
	fstype string // "cgroup", or "cgroup2" for the unified hierarchy of a hybrid host
	data   string // mount options selecting the hierarchy ("cpu,cpuacct", "name=systemd")
	dir    string // the container's cgroup directory in it, on the host
}

// mountCgroup gives the container its cgroups at dest, in the shape the
// host has them: one cgroup2 mount, or a tmpfs holding one mount per v1
// hierarchy (plus the unified one on a hybrid host).
func (r *rootDir) mountCgroup(c *Config, m specs.Mount, dest string, o vocab.MountOptions) error {
	var st unix.Statfs_t
	if err := unix.Statfs(hostCgroupRoot, &st); err != nil {
		return fmt.Errorf("statfs %s: %w", hostCgroupRoot, err)
	}
	if st.Type == unix.CGROUP2_SUPER_MAGIC {
		return r.mountCgroup2(c, m, dest, o)
	}
	return r.mountCgroup1(c, dest, o)
}

// mountCgroup2 mounts cgroup2 when the container has its own cgroup
// namespace, whose root is the container's cgroup. Without one a cgroup2
// mount would show the host's whole tree, so only the container's own
// directory is bound instead.
//
// In a user namespace the kernel may refuse the cgroup2 mount (EPERM, or
// EBUSY for the host's cgroup2 superblock): then, as runc does, the
// container's directory is bound, which is what its namespace's root
// shows; a rootless container without a cgroup gets an empty read-only
// tmpfs instead, so that the host's tree that a bound /sys brings along
// stays hidden.
func (r *rootDir) mountCgroup2(c *Config, m specs.Mount, dest string, o vocab.MountOptions) error {
	dir := c.CgroupPaths[""]
	if c.CgroupNS {
		err := r.mountFS(m.Source, "cgroup2", dest, o)
		if err == nil || !(errors.Is(err, unix.EPERM) || errors.Is(err, unix.EBUSY)) || os.Geteuid() == 0 && !inUserNS() {
			return err
		}
		if dir == "" {
			t := o
			t.Flags |= unix.MS_RDONLY
			t.Data = ""
			return r.mountFS("tmpfs", "tmpfs", dest, t)
		}
	}
	if dir == "" {
		return errors.New("no cgroup2 directory known for the container")
	}
	return r.bindMount(dir, dest, asBind(o))
}

// inUserNS tells a process in a user namespace other than the host's.
func inUserNS() bool {
	data, err := os.ReadFile("/proc/self/uid_map")
	return err == nil && strings.Join(strings.Fields(string(data)), " ") != "0 0 4294967295"
}

// mountCgroup1 builds the v1 layout: a tmpfs at dest with the per-mount
// flags of the spec but writable until it is filled, one directory per
// hierarchy, symlinks for co-mounted controllers ("cpu" -> "cpu,cpuacct"),
// then the spec's options (ro above all) on the tmpfs.
func (r *rootDir) mountCgroup1(c *Config, dest string, o vocab.MountOptions) error {
	hiers, ok := knownCgroupLayout(c.CgroupPaths, c.CgroupMountpoints)
	if !ok {
		var err error
		if hiers, err = hostCgroupLayout(c.CgroupPaths); err != nil {
			return err
		}
	}
	target, _, err := r.openTarget(dest, false, procRule(false))
	if err != nil {
		return err
	}
	defer target.Close()
	flags := o.Flags &^ (creationOnly | unix.MS_RDONLY)
	if err := unix.Mount("tmpfs", fdPath(target), "tmpfs", flags, "mode=755"); err != nil {
		return fmt.Errorf("tmpfs: %w", err)
	}
	top, err := r.mounted(dest, target)
	if err != nil {
		return err
	}
	defer top.Close()
	// The hierarchies are placed relative to the new tmpfs itself, so no
	// change to the path leading to it can send them elsewhere.
	sub := vocab.MountOptions{Flags: o.Flags &^ creationOnly, ClearFlags: o.ClearFlags}
	for _, h := range hiers {
		if err := mountHierarchy(c, top, h, sub); err != nil {
			return fmt.Errorf("%s: %w", h.name, err)
		}
		if err := comountLinks(top, h.name); err != nil {
			return err
		}
	}
	return applyOptions(top, o, needsRemount(o))
}

// mountHierarchy mounts one hierarchy: in a cgroup namespace a real cgroup
// mount (rooted at the namespace's root, the container's cgroup), else a
// bind of the container's directory, which is all it should see.
//
// top is the tmpfs husk just mounted, which nothing else can have written
// to yet: its directories are made and opened with plain *at calls on it
// (the cgroup mounts are the bulk of a container's mounts, on the start
// path, and a v1 host has a dozen), with O_NOFOLLOW all the same.
func mountHierarchy(c *Config, top *os.File, h cgroupHier, o vocab.MountOptions) error {
	if err := unix.Mkdirat(int(top.Fd()), h.name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("mkdir: %w", err)
	}
	target, err := openDirAt(top, h.name)
	if err != nil {
		return err
	}
	defer target.Close()
	remount := false
	if c.CgroupNS {
		if err := unix.Mount("cgroup", fdPath(target), h.fstype, o.Flags&^creationOnly, h.data); err != nil {
			return err
		}
	} else {
		// The container's directory of the host's hierarchy, which husk
		// made: a path of the host's, outside the container's reach.
		src, err := openSource(h.dir)
		if err != nil {
			return err
		}
		defer src.Close()
		o = asBind(o)
		remount = needsRemount(o)
		if err := unix.Mount(fdPath(src), fdPath(target), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind: %w", err)
		}
	}
	if !hasAfterSteps(o, remount) {
		return nil
	}
	mounted, err := openDirAt(top, h.name) // now the mount's root
	if err != nil {
		return err
	}
	defer mounted.Close()
	return applyOptions(mounted, o, remount)
}

func openDirAt(dir *os.File, name string) (*os.File, error) {
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// comountLinks makes "cpu" and "cpuacct" symlinks to a "cpu,cpuacct"
// hierarchy directory, as hosts have them, for tools that look a
// controller up by its own name.
func comountLinks(dir *os.File, name string) error {
	if !strings.Contains(name, ",") {
		return nil
	}
	for _, part := range strings.Split(name, ",") {
		err := unix.Symlinkat(name, int(dir.Fd()), part)
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("symlink %s -> %s: %w", part, name, err)
		}
	}
	return nil
}

// asBind turns options into those of a recursive bind mount.
func asBind(o vocab.MountOptions) vocab.MountOptions {
	o.Bind, o.Recursive = true, true
	o.Flags |= unix.MS_BIND | unix.MS_REC
	return o
}

// knownCgroupLayout makes the container's hierarchies from the mountpoints
// the cgroup manager found for paths moments before, which spares a second
// read of mountinfo and /proc/cgroups on the start path (perf put it at
// about a fortieth of a `run`'s CLI on the 2-core AMD EPYC VM). ok is
// false when it can't: no mountpoints (the systemd driver, a rootless
// cgroup), or one not directly under the host's cgroup root, which
// hostCgroupLayout looks past.
func knownCgroupLayout(paths, mountpoints map[string]string) (hiers []cgroupHier, ok bool) {
	if len(mountpoints) == 0 {
		return nil, false
	}
	keys := make([]string, 0, len(paths))
	for key := range paths {
		keys = append(keys, key)
	}
	slices.Sort(keys) // co-mounted controllers in a stable order
	at := map[string]int{}
	for _, key := range keys {
		mp, known := mountpoints[key]
		if !known || filepath.Dir(mp) != hostCgroupRoot {
			return nil, false
		}
		i, seen := at[mp]
		if !seen {
			i = len(hiers)
			at[mp] = i
			h := cgroupHier{name: filepath.Base(mp), fstype: "cgroup", dir: paths[key]}
			if key == "" {
				h.fstype = "cgroup2"
			}
			hiers = append(hiers, h)
		}
		if key != "" {
			hiers[i].data = strings.TrimPrefix(hiers[i].data+","+key, ",")
		}
	}
	slices.SortFunc(hiers, func(a, b cgroupHier) int { return strings.Compare(a.name, b.name) })
	return hiers, true
}

// hostCgroupLayout reads the host's cgroup mounts (this runs before
// pivot_root, so /proc is still the host's) and keeps the hierarchies the
// container has a directory in.
func hostCgroupLayout(paths map[string]string) ([]cgroupHier, error) {
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	if err != nil {
		return nil, err
	}
	controllers, err := readControllers()
	if err != nil {
		return nil, err
	}
	return cgroupLayout(mounts, controllers, paths), nil
}

// readControllers returns the v1 controller names the kernel knows, so
// they can be told apart from other options of a cgroup mount.
func readControllers() (map[string]bool, error) {
	f, err := os.Open("/proc/cgroups")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 && !strings.HasPrefix(fields[0], "#") {
			names[fields[0]] = true
		}
	}
	return names, sc.Err()
}

// cgroupLayout pairs the hierarchies mounted directly under the host's
// cgroup root with the container's directory in each: paths is keyed by
// controller ("cpu", "name=systemd" or "systemd") and "" for the unified
// hierarchy.
func cgroupLayout(mounts []*mountinfo.Info, controllers map[string]bool, paths map[string]string) []cgroupHier {
	var out []cgroupHier
	seen := map[string]bool{}
	for _, m := range mounts {
		name := filepath.Base(m.Mountpoint)
		if filepath.Dir(m.Mountpoint) != hostCgroupRoot || seen[name] {
			continue
		}
		h := cgroupHier{name: name, fstype: m.FSType}
		switch m.FSType {
		case "cgroup2":
			h.dir = paths[""]
		case "cgroup":
			var opts []string
			for _, opt := range strings.Split(m.VFSOptions, ",") {
				named := strings.HasPrefix(opt, "name=")
				if !named && !controllers[opt] {
					continue
				}
				opts = append(opts, opt)
				if h.dir == "" {
					h.dir = paths[opt]
				}
				if h.dir == "" && named {
					h.dir = paths[strings.TrimPrefix(opt, "name=")]
				}
			}
			h.data = strings.Join(opts, ",")
		}
		if h.dir != "" {
			seen[name] = true
			out = append(out, h)
		}
	}
	return out
}
