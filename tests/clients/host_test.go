package clients

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
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
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var ms []cgroupMount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent maj:min root mountpoint opts [optional...] - fstype source superopts
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || len(fields) < sep+2 {
			continue
		}
		fstype, super := fields[sep+1], ""
		if sep+3 < len(fields) {
			super = fields[sep+3]
		}
		switch fstype {
		case "cgroup2":
			ms = append(ms, cgroupMount{dir: unescapeMount(fields[4]), v2: true})
		case "cgroup":
			var ctrls []string
			for _, o := range strings.Split(super, ",") {
				switch o {
				case "rw", "ro", "nosuid", "nodev", "noexec", "relatime", "clone_children", "xattr":
				default:
					ctrls = append(ctrls, o)
				}
			}
			ms = append(ms, cgroupMount{dir: unescapeMount(fields[4]), controllers: ctrls})
		}
	}
	return ms
}

func unescapeMount(s string) string {
	r := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	return r.Replace(s)
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
				if m.v2 && fileExists(filepath.Join(m.dir, "cgroup.controllers")) &&
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
	for _, m := range cgroupMounts() {
		root := filepath.Join(m.dir, rel)
		if !fileExists(root) {
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
			for _, pid := range pidsIn(d) {
				leaked = append(leaked, fmt.Sprintf("pid %d (%s) in %s", pid, comm(pid), d))
				syscall.Kill(pid, syscall.SIGKILL)
			}
			for i := 0; i < 50; i++ {
				if err := syscall.Rmdir(d); err == nil || errors.Is(err, syscall.ENOENT) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	return leaked
}

func pidsIn(cg string) []int {
	b, err := os.ReadFile(filepath.Join(cg, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids
}

func comm(pid int) string { return readTrim(fmt.Sprintf("/proc/%d/comm", pid)) }

// mountsUnder lists mount points below dir, deepest first.
func mountsUnder(dir string) []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var mps []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := unescapeMount(f[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			mps = append(mps, mp)
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

// procsMentioning returns the pids of processes whose command line contains
// s (a path unique to this run, so they were started by it).
func procsMentioning(s string) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		if strings.Contains(string(b), s) && !isZombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z'
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// killLeftovers kills (SIGKILL, by pid) the processes whose command line
// mentions marker and reports them.
func killLeftovers(marker string) []string {
	var out []string
	for _, pid := range procsMentioning(marker) {
		out = append(out, fmt.Sprintf("pid %d: %s", pid, cmdline(pid)))
		syscall.Kill(pid, syscall.SIGKILL)
	}
	return out
}

// alive tells whether pid runs (and is not a zombie).
func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil && !isZombie(pid)
}
