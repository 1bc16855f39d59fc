// Package cgroups places a container's processes in control groups and
// applies its linux.resources through cgroupfs. It handles the three host
// layouts in use: cgroup v1 only, hybrid (v1 controllers plus a v2 tree
// without controllers, usually at /sys/fs/cgroup/unified) and unified
// cgroup v2.
package cgroups

import (
	"context"
	"errors"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Manager controls one container's cgroup.
//
// Implementations hold nothing but directory paths, so a Manager rebuilt
// with Load from Paths behaves like the one that created the cgroup.
type Manager interface {
	// Apply creates the container's cgroup directories and, when pid > 0,
	// moves pid into each of them.
	Apply(pid int) error
	// Set writes the given resource limits. Nil pointers and nil slices are
	// left untouched, so Set also serves partial updates.
	Set(r *specs.LinuxResources) error
	// Pids lists the processes in the cgroup and all of its descendants.
	Pids() ([]int, error)
	// Freeze stops every process in the cgroup and returns once the kernel
	// reports them frozen.
	Freeze() error
	// Thaw resumes processes stopped by Freeze.
	Thaw() error
	// Paused reports whether the cgroup's processes are frozen.
	Paused() (bool, error)
	// Destroy removes the container's cgroup directories (and any cgroups
	// the container created below them). Missing directories are not an
	// error.
	Destroy() error
	// Path returns the directory for a v1 subsystem ("memory", "cpu",
	// "name=systemd", ...) or, for "", the cgroup v2 directory. It returns
	// "" when the manager has no such directory.
	Path(subsystem string) string
	// Paths returns every directory keyed like Path, for saving in the
	// container state and passing to Load later.
	Paths() map[string]string
	// Stats reads the cgroup's resource usage.
	Stats() (*Stats, error)
	// OOMEvents returns a channel that receives a value each time the
	// cgroup runs out of memory and the OOM killer acts. The channel is
	// closed when ctx ends or the cgroup goes away (on v2, also once it
	// has no process left).
	OOMEvents(ctx context.Context) (<-chan struct{}, error)
}

// New returns a cgroupfs manager for cgroupsPath, the OCI
// linux.cgroupsPath. An absolute path is taken from the root of each
// mounted hierarchy; a relative one is placed under the calling process's
// own cgroup in each hierarchy. No directory is created until Apply.
func New(cgroupsPath string) (Manager, error) {
	if cgroupsPath == "" {
		return nil, errors.New("cgroups: empty cgroups path")
	}
	l, err := readLayout()
	if err != nil {
		return nil, err
	}
	return newManager(l, cgroupsPath)
}

func newManager(l *layout, cgroupsPath string) (Manager, error) {
	if l.isV2() {
		return &v2Manager{dir: l.unified.resolve(cgroupsPath)}, nil
	}
	if len(l.v1) == 0 {
		return nil, errors.New("cgroups: no cgroup hierarchy is mounted")
	}
	m := &v1Manager{paths: map[string]string{}, mountpoints: map[string]string{}}
	for _, h := range l.v1 {
		dir := h.resolve(cgroupsPath)
		for _, c := range h.controllers {
			m.paths[c] = dir
			m.mountpoints[c] = h.mountpoint
		}
	}
	if l.unified != nil {
		m.paths[""] = l.unified.resolve(cgroupsPath)
		m.mountpoints[""] = l.unified.mountpoint
	}
	return m, nil
}

// Mountpoints returns where each hierarchy of a v1 host's manager made by
// New is mounted, keyed like Paths, so the container's rootfs need not read
// the layout again; nil for any other manager.
func Mountpoints(m Manager) map[string]string {
	if v1, ok := m.(*v1Manager); ok {
		return copyPaths(v1.mountpoints)
	}
	return nil
}

// Load rebuilds a manager from the map returned by Paths. It does not touch
// the filesystem. A map whose only key is "" describes a cgroup v2 host.
func Load(paths map[string]string) Manager {
	for k := range paths {
		if k != "" {
			return &v1Manager{paths: copyPaths(paths)}
		}
	}
	return &v2Manager{dir: paths[""]}
}

// IsV2 reports whether the host runs cgroup v2 in unified mode, that is,
// no v1 controller hierarchy is mounted next to the cgroup2 one. Only the
// systemd driver asks, once per command.
func IsV2() bool {
	l, err := readLayout()
	return err == nil && l.isV2()
}

func copyPaths(paths map[string]string) map[string]string {
	out := make(map[string]string, len(paths))
	for k, v := range paths {
		out[k] = v
	}
	return out
}
