package cgroups

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/moby/sys/mountinfo"
)

// hierarchy is one mounted cgroup hierarchy that the calling process is a
// member of.
type hierarchy struct {
	// controllers names the v1 controllers bound to the hierarchy as
	// /proc/self/cgroup lists them ("cpu", "name=systemd"); nil for v2.
	controllers []string
	mountpoint  string
	// root is the cgroup shown at mountpoint; it differs from "/" when
	// only a subtree was bind-mounted, as in some containers.
	root string
	// current is the calling process's cgroup in this hierarchy.
	current string
}

// layout is what this host has mounted.
type layout struct {
	v1      []hierarchy
	unified *hierarchy
}

// isV2 tells a unified host from a hybrid one. Named v1 hierarchies
// without controllers (name=systemd kept for old containers) do not make
// a host hybrid.
func (l *layout) isV2() bool {
	if l.unified == nil {
		return false
	}
	for _, h := range l.v1 {
		for _, c := range h.controllers {
			if !strings.HasPrefix(c, "name=") {
				return false
			}
		}
	}
	return true
}

// resolve maps an OCI cgroupsPath to a directory in this hierarchy.
// Cleaning the path as if rooted keeps ".." from leaving the mount.
func (h *hierarchy) resolve(cgroupsPath string) string {
	if filepath.IsAbs(cgroupsPath) {
		return filepath.Join(h.mountpoint, filepath.Clean(cgroupsPath))
	}
	base, ok := trimPathPrefix(h.current, h.root)
	if !ok {
		base = h.current
	}
	return filepath.Join(h.mountpoint, filepath.Clean("/"+base+"/"+cgroupsPath))
}

// trimPathPrefix returns p relative to root (still starting with "/") when
// root is p or one of its ancestors.
func trimPathPrefix(p, root string) (string, bool) {
	switch {
	case root == "/":
		return p, true
	case p == root:
		return "/", true
	case strings.HasPrefix(p, root+"/"):
		return p[len(root):], true
	}
	return "", false
}

func readLayout() (*layout, error) {
	procCgroup, err := readBytes("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	mounts, err := cgroupMounts()
	if err != nil {
		return nil, fmt.Errorf("cgroups: read mountinfo: %w", err)
	}
	return parseLayout(bytes.NewReader(procCgroup), mounts)
}

// cgroupMounts is the calling thread's cgroup mounts. The table is read
// through its fd and parsed by mountinfo: mountinfo.GetMounts opens it as
// an *os.File, and first stats it, which cost a create about a tenth of a
// millisecond more.
func cgroupMounts() ([]*mountinfo.Info, error) {
	filter := mountinfo.FSTypeFilter("cgroup", "cgroup2")
	// /proc/thread-self is the thread that opens it: it stays this one.
	runtime.LockOSThread()
	table, err := readBytes("/proc/thread-self/mountinfo")
	runtime.UnlockOSThread()
	if err != nil {
		return mountinfo.GetMounts(filter)
	}
	return mountinfo.GetMountsFromReader(bytes.NewReader(table), filter)
}

// parseLayout pairs each /proc/self/cgroup entry with a mount of that
// hierarchy. The kernel lists every v1 hierarchy that exists, mounted in
// this namespace or not, so entries without a mount are left out.
func parseLayout(procCgroup io.Reader, mounts []*mountinfo.Info) (*layout, error) {
	entries, err := parseProcCgroup(procCgroup)
	if err != nil {
		return nil, err
	}
	l := &layout{}
	for _, e := range entries {
		if e.id == "0" && len(e.controllers) == 0 {
			m := pickMount(mounts, e.path, func(mi *mountinfo.Info) bool {
				return mi.FSType == "cgroup2"
			})
			if m != nil {
				l.unified = &hierarchy{mountpoint: m.Mountpoint, root: m.Root, current: e.path}
			}
			continue
		}
		if len(e.controllers) == 0 {
			continue
		}
		m := pickMount(mounts, e.path, func(mi *mountinfo.Info) bool {
			if mi.FSType != "cgroup" {
				return false
			}
			opts := strings.Split(mi.VFSOptions, ",")
			for _, c := range e.controllers {
				if !slices.Contains(opts, c) {
					return false
				}
			}
			return true
		})
		if m != nil {
			l.v1 = append(l.v1, hierarchy{
				controllers: e.controllers,
				mountpoint:  m.Mountpoint,
				root:        m.Root,
				current:     e.path,
			})
		}
	}
	return l, nil
}

// pickMount chooses among the mounts of one hierarchy. A mount whose root
// contains the process's cgroup is needed to resolve relative paths; of
// those the widest subtree wins, and among equals the later mount, since
// it hides earlier ones on the same mountpoint.
func pickMount(mounts []*mountinfo.Info, current string, match func(*mountinfo.Info) bool) *mountinfo.Info {
	var best *mountinfo.Info
	bestContains := false
	for _, m := range mounts {
		if !match(m) {
			continue
		}
		_, contains := trimPathPrefix(current, m.Root)
		switch {
		case best == nil,
			contains && !bestContains,
			contains == bestContains && len(m.Root) <= len(best.Root):
			best, bestContains = m, contains
		}
	}
	return best
}

type procCgroupEntry struct {
	id          string
	controllers []string
	path        string
}

// parseProcCgroup reads the "id:controllers:path" lines of
// /proc/<pid>/cgroup. The path is taken whole since it may contain ':'.
func parseProcCgroup(r io.Reader) ([]procCgroupEntry, error) {
	var entries []procCgroupEntry
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		id, rest, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("cgroups: malformed /proc/self/cgroup line %q", line)
		}
		list, path, ok := strings.Cut(rest, ":")
		if !ok {
			return nil, fmt.Errorf("cgroups: malformed /proc/self/cgroup line %q", line)
		}
		var controllers []string
		if list != "" {
			controllers = strings.Split(list, ",")
		}
		entries = append(entries, procCgroupEntry{id: id, controllers: controllers, path: path})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cgroups: read /proc/self/cgroup: %w", err)
	}
	return entries, nil
}
