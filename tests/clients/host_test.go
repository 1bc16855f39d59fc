package clients

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/husk-runtime/husk/tests/clientkit"
)

// Host inspection and clean-up: cgroups, mounts, processes. The tests read
// the container's cgroup files (what `update` must have written) the way the
// clients do, from /proc/<pid>/cgroup.

// cgroupMount is one mounted cgroup hierarchy.
type cgroupMount struct {
	dir         string   // mount point
	controllers []string // v1 controllers (and name=...), empty for cgroup2
	v2          bool
}

func cgroupMounts() []cgroupMount {
	var ms []cgroupMount
	for _, m := range clientkit.MountInfo() {
		switch m.FSType {
		case "cgroup2":
			ms = append(ms, cgroupMount{dir: m.Point, v2: true})
		case "cgroup":
			var ctrls []string
			for _, o := range strings.Split(m.Super, ",") {
				switch o {
				case "rw", "ro", "nosuid", "nodev", "noexec", "relatime", "clone_children", "xattr":
				default:
					ctrls = append(ctrls, o)
				}
			}
			ms = append(ms, cgroupMount{dir: m.Point, controllers: ctrls})
		}
	}
	return ms
}

// cgroupFile returns the path of file (e.g. memory.limit_in_bytes) in the
// cgroup of pid for controller (e.g. memory), as the clients find it: the
// process's own line in /proc/<pid>/cgroup under that hierarchy's mount.
func cgroupFile(pid int, controller, file string) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", err
	}
	mounts := cgroupMounts()
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		ctrls := strings.Split(parts[1], ",")
		if parts[0] == "0" && parts[1] == "" {
			continue // the v2 line; handled below if nothing v1 matches
		}
		if !contains(ctrls, controller) {
			continue
		}
		for _, m := range mounts {
			if !m.v2 && contains(m.controllers, controller) {
				return filepath.Join(m.dir, parts[2], file), nil
			}
		}
	}
	// cgroup v2: one hierarchy.
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.HasPrefix(line, "0::") {
			for _, m := range mounts {
				if m.v2 && clientkit.Exists(filepath.Join(m.dir, "cgroup.controllers")) &&
					strings.Contains(readTrim(filepath.Join(m.dir, "cgroup.controllers")), controller) {
					return filepath.Join(m.dir, strings.TrimPrefix(line, "0::"), file), nil
				}
			}
		}
	}
	return "", fmt.Errorf("no %s hierarchy for pid %d in:\n%s", controller, pid, b)
}

// cgroupV2Only tells whether the memory controller lives on cgroup2.
func cgroupV2Only() bool {
	for _, m := range cgroupMounts() {
		if !m.v2 && contains(m.controllers, "memory") {
			return false
		}
	}
	return true
}

func readTrim(p string) string {
	b, _ := os.ReadFile(p)
	return strings.TrimSpace(string(b))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// removeCgroupTree removes the cgroup rel (e.g. /husk-cl-1234) with all its
// children from every mounted hierarchy. Processes still in it are ours (the
// path is this run's): they are killed and returned as leaks.
func removeCgroupTree(rel string) (leaked []string) {
	removeBesideCgroups(rel)
	for _, m := range cgroupMounts() {
		root := filepath.Join(m.dir, rel)
		if !clientkit.Exists(root) {
			continue
		}
		var dirs []string
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		// Deepest first.
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			for _, p := range clientkit.RemoveCgroup(d) {
				leaked = append(leaked, p+" in "+d)
			}
		}
	}
	return leaked
}

// removeBesideCgroups removes rel from the directories of /sys/fs/cgroup
// that are no hierarchy's mount point: on a hybrid host whose kernel has
// controllers no hierarchy binds (hugetlb, net_cls here), podman's cgroupfs
// manager still makes its conmon cgroup in /sys/fs/cgroup/<controller>,
// plain directories and a tasks file on the tmpfs, which would pile up run
// after run.
func removeBesideCgroups(rel string) {
	mounted := map[string]bool{}
	for _, m := range clientkit.MountInfo() {
		mounted[m.Point] = true
	}
	entries, _ := os.ReadDir("/sys/fs/cgroup")
	for _, e := range entries {
		dir := filepath.Join("/sys/fs/cgroup", e.Name())
		if e.IsDir() && !mounted[dir] {
			os.RemoveAll(filepath.Join(dir, rel))
		}
	}
}

func comm(pid int) string { return readTrim(fmt.Sprintf("/proc/%d/comm", pid)) }

// mountsUnder lists mount points below dir, deepest first.
func mountsUnder(dir string) []string {
	var mps []string
	for _, m := range clientkit.MountInfo() {
		if m.Point == dir || strings.HasPrefix(m.Point, dir+"/") {
			mps = append(mps, m.Point)
		}
	}
	sort.Slice(mps, func(i, j int) bool { return len(mps[i]) > len(mps[j]) })
	return mps
}

// unmountUnder unmounts everything below dir and returns what it found.
func unmountUnder(dir string) []string {
	mps := mountsUnder(dir)
	for _, mp := range mps {
		if err := syscall.Unmount(mp, 0); err != nil {
			syscall.Unmount(mp, syscall.MNT_DETACH)
		}
	}
	return mps
}

// alive tells whether pid runs (and is not a zombie).
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil && !clientkit.IsZombie(pid)
}
