package cgroups

import (
	"context"
	"errors"
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

// Set writes r to the v2 controllers, converting v1-style fields as crun
// and runc do, then writes linux.resources.unified, which has the last
// word.
func (m *v2Manager) Set(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	if err := checkV2(r); err != nil {
		return err
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
	if r.BlockIO != nil {
		if err := setIOV2(d, r.BlockIO); err != nil {
			return err
		}
	}
	if len(r.HugepageLimits) > 0 {
		if err := setHugetlb(d, r.HugepageLimits, true); err != nil {
			return err
		}
	}
	if len(r.Rdma) > 0 {
		if err := setRdma(d, r.Rdma); err != nil {
			return err
		}
	}
	if r.Devices != nil {
		if m.dir == "" {
			return errors.New("cgroups: no cgroup v2 directory for device rules")
		}
		if err := setDevicesV2(m.dir, append(slices.Clip(r.Devices), DefaultAllowedDevices()...)); err != nil {
			return err
		}
	}
	return setUnified(d, r.Unified)
}

// checkV2 refuses, before anything is written, the fields that have no v2
// counterpart (the spec requires an error when a conversion is not
// possible) and unified keys that are not file names.
func checkV2(r *specs.LinuxResources) error {
	if r.CPU != nil && (isSet(r.CPU.RealtimeRuntime) || isSet(r.CPU.RealtimePeriod)) {
		return errors.New("cgroups: cpu.realtimeRuntime and cpu.realtimePeriod have no cgroup v2 equivalent")
	}
	if r.BlockIO != nil {
		if err := checkIOV2(r.BlockIO); err != nil {
			return err
		}
	}
	if networkSet(r.Network) {
		return errors.New("cgroups: network.classID and network.priorities need the v1 net_cls and net_prio controllers, which cgroup v2 does not have")
	}
	for key := range r.Unified {
		if err := checkUnifiedKey(key); err != nil {
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
	return pausedV2(m.cg())
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

func (m *v2Manager) OOMEvents(ctx context.Context) (<-chan struct{}, error) {
	return oomEventsV2(ctx, m.dir)
}
