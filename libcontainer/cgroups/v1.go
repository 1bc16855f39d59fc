package cgroups

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// v1Manager drives a cgroup v1 or hybrid host: one directory per mounted
// v1 hierarchy and, on hybrid hosts, one in the controller-less v2 tree
// (key "") so that tools reading the v2 membership see the container.
type v1Manager struct {
	paths map[string]string
	// mountpoints, keyed as paths, is where each hierarchy is mounted; a
	// manager rebuilt by Load has none.
	mountpoints map[string]string
}

func (m *v1Manager) dir(subsystem string) cgroupDir {
	return cgroupDir{subsystem: subsystem, path: m.paths[subsystem]}
}

// dirs lists each directory once; co-mounted controllers such as
// "cpu,cpuacct" share one.
func (m *v1Manager) dirs() []string { return Dirs(m.paths) }

// Dirs are the distinct directories of a container's cgroup paths,
// sorted: those Apply joins.
func Dirs(paths map[string]string) []string {
	var out []string
	for _, d := range paths {
		if d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

func (m *v1Manager) Apply(pid int) error {
	cpuset := m.paths["cpuset"]
	for _, dir := range m.dirs() {
		if err := createDir(dir); err != nil {
			return err
		}
		if dir == cpuset {
			if err := fillCpuset(dir); err != nil {
				return err
			}
		}
		if err := joinCgroup(dir, pid); err != nil {
			return err
		}
	}
	return nil
}

// fillCpuset copies cpuset.cpus and cpuset.mems from the parent into dir
// and into any ancestor that needs it, top-down: a new v1 cpuset starts
// with both empty, and the kernel refuses to attach a task to it (ENOSPC)
// until they are set. The hierarchy root always has both, which ends the
// climb.
func fillCpuset(dir string) error {
	for _, file := range []string{"cpuset.cpus", "cpuset.mems"} {
		if err := fillCpusetFile(dir, file); err != nil {
			return err
		}
	}
	return nil
}

func fillCpusetFile(dir, file string) error {
	cur, err := readFile(filepath.Join(dir, file))
	if err != nil || cur != "" {
		return err
	}
	v, err := parentCpuset(filepath.Dir(dir), file)
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, file), v)
}

// parentCpuset returns dir's value of file, filling it from above first
// when it is empty.
func parentCpuset(dir, file string) (string, error) {
	v, err := readFile(filepath.Join(dir, file))
	if err != nil || v != "" {
		return v, err
	}
	if v, err = parentCpuset(filepath.Dir(dir), file); err != nil {
		return "", err
	}
	return v, writeFile(filepath.Join(dir, file), v)
}

// Set writes r to the v1 controllers. A limit aimed at a hierarchy that is
// not mounted is an error, except device rules, which are skipped without
// a devices hierarchy (as in some nested or rootless setups) because there
// is then nothing to restrict.
func (m *v1Manager) Set(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	// Refused before anything is written, so a failed Set changes nothing.
	if len(r.Unified) > 0 {
		return errors.New("invalid configuration: linux.resources.unified needs cgroup v2, but this host runs cgroup v1 controllers")
	}
	if r.Memory != nil {
		if err := setMemoryV1(m.dir("memory"), r.Memory); err != nil {
			return err
		}
	}
	if r.CPU != nil {
		if err := setCPUV1(m.dir("cpu"), r.CPU); err != nil {
			return err
		}
		if err := setCpuset(m.dir("cpuset"), r.CPU); err != nil {
			return err
		}
	}
	if r.Pids != nil {
		if err := setPids(m.dir("pids"), r.Pids); err != nil {
			return err
		}
	}
	if r.BlockIO != nil {
		if err := setBlkioV1(m.dir("blkio"), r.BlockIO); err != nil {
			return err
		}
	}
	if len(r.HugepageLimits) > 0 {
		if err := setHugetlb(m.dir("hugetlb"), r.HugepageLimits, false); err != nil {
			return err
		}
	}
	if networkSet(r.Network) {
		if err := setNetworkV1(m.dir("net_cls"), m.dir("net_prio"), r.Network); err != nil {
			return err
		}
	}
	if len(r.Rdma) > 0 {
		if err := setRdma(m.dir("rdma"), r.Rdma); err != nil {
			return err
		}
	}
	if r.Devices != nil && m.paths["devices"] != "" {
		rules := append(slices.Clip(r.Devices), DefaultAllowedDevices()...)
		if err := setDevicesV1(m.dir("devices"), rules); err != nil {
			return err
		}
	}
	return nil
}

// pidsOrder lists the hierarchies most likely to hold every container
// process, as each process joins all of them.
func pidsOrder() []string { return []string{"pids", "freezer", "memory", "devices"} }

func (m *v1Manager) Pids() ([]int, error) {
	for _, s := range pidsOrder() {
		if d := m.paths[s]; d != "" {
			return readPids(d)
		}
	}
	if dirs := m.dirs(); len(dirs) > 0 {
		return readPids(dirs[0])
	}
	return nil, errors.New("cgroups: no cgroup directory to list pids from")
}

// freezer picks the v1 freezer and falls back to the v2 freezer of a
// hybrid host, which works without any v2 controller.
func (m *v1Manager) freezer() (d cgroupDir, v1 bool) {
	if m.paths["freezer"] != "" {
		return m.dir("freezer"), true
	}
	return m.dir(""), false
}

func (m *v1Manager) Freeze() error {
	d, v1 := m.freezer()
	if v1 {
		return freezeV1(d)
	}
	return freezeV2(d)
}

func (m *v1Manager) Thaw() error {
	d, v1 := m.freezer()
	if v1 {
		return thawV1(d)
	}
	return thawV2(d)
}

// Paused reports false on a host with no freezer at all, where nothing can
// have been frozen.
func (m *v1Manager) Paused() (bool, error) {
	d, v1 := m.freezer()
	switch {
	case v1:
		return pausedV1(d)
	case d.path == "":
		return false, nil
	}
	return pausedV2(d)
}

func (m *v1Manager) Destroy() error {
	deadline := time.Now().Add(removeTimeout)
	var errs []error
	for _, dir := range m.dirs() {
		errs = append(errs, removeCgroup(dir, deadline))
	}
	return errors.Join(errs...)
}

func (m *v1Manager) Path(subsystem string) string {
	return m.paths[subsystem]
}

func (m *v1Manager) Paths() map[string]string {
	return copyPaths(m.paths)
}

func (m *v1Manager) OOMEvents(ctx context.Context) (<-chan struct{}, error) {
	return oomEventsV1(ctx, m.dir("memory"))
}
