package cgroups

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// v2Manager drives a unified cgroup v2 host: one directory holds every
// controller.
type v2Manager struct {
	dir string
}

func (m *v2Manager) cg() cgroupDir {
	return cgroupDir{path: m.dir}
}

func (m *v2Manager) Apply(pid int) error {
	if err := createDir(m.dir); err != nil {
		return err
	}
	if err := enableControllers(m.dir); err != nil {
		return err
	}
	return joinCgroup(m.dir, pid)
}

// enableControllers makes the controllers of the hierarchy root usable in
// dir by enabling them in every ancestor's cgroup.subtree_control, from the
// top down, since a cgroup can only pass on what its parent gave it.
//
// Each controller is enabled on its own and refusals are ignored: the
// kernel refuses for reasons that need not stop the container (EBUSY in an
// ancestor that still holds processes, realtime tasks blocking "cpu"), and
// a limit that depends on a missing controller fails later in Set, naming
// the interface file it could not write.
func enableControllers(dir string) error {
	var ancestors []string
	for p := filepath.Dir(dir); isCgroup2Dir(p); p = filepath.Dir(p) {
		ancestors = append(ancestors, p)
		if p == "/" {
			break
		}
	}
	slices.Reverse(ancestors)
	for _, a := range ancestors {
		available, err := readFile(filepath.Join(a, "cgroup.controllers"))
		if err != nil {
			return err
		}
		enabled, err := readFile(filepath.Join(a, "cgroup.subtree_control"))
		if err != nil {
			return err
		}
		on := strings.Fields(enabled)
		for c := range strings.FieldsSeq(available) {
			if !slices.Contains(on, c) {
				_ = writeFile(filepath.Join(a, "cgroup.subtree_control"), "+"+c)
			}
		}
	}
	return nil
}

// isCgroup2Dir tells cgroup directories from whatever the cgroup2 mount
// sits on, which ends the climb to the hierarchy root.
func isCgroup2Dir(p string) bool {
	_, err := os.Stat(filepath.Join(p, "cgroup.controllers"))
	return err == nil
}

// Set writes r to the v2 controllers. Device rules are not applied: v2
// enforces them through an eBPF program rather than interface files, and
// this manager does not install one.
func (m *v2Manager) Set(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	d := m.cg()
	if r.Memory != nil {
		if err := setMemoryV2(d, r.Memory); err != nil {
			return err
		}
	}
	if r.CPU != nil {
		if err := setCPUV2(d, r.CPU); err != nil {
			return err
		}
		if err := setCpuset(d, r.CPU); err != nil {
			return err
		}
	}
	if r.Pids != nil {
		if err := setPids(d, r.Pids); err != nil {
			return err
		}
	}
	return nil
}

func (m *v2Manager) Pids() ([]int, error) {
	return readPids(m.dir)
}

func (m *v2Manager) Freeze() error {
	return freezeV2(m.cg())
}

func (m *v2Manager) Thaw() error {
	return thawV2(m.cg())
}

func (m *v2Manager) Paused() (bool, error) {
	return frozenV2(m.cg())
}

func (m *v2Manager) Destroy() error {
	return removeCgroup(m.dir, time.Now().Add(removeTimeout))
}

func (m *v2Manager) Path(subsystem string) string {
	if subsystem == "" {
		return m.dir
	}
	return ""
}

func (m *v2Manager) Paths() map[string]string {
	return map[string]string{"": m.dir}
}
