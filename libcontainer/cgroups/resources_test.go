package cgroups

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fakeDir makes a directory of regular files standing in for cgroup
// interface files, so value formatting can be checked without a kernel
// (and, on a v1 host, for v2).
func fakeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func expectFiles(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	for name, w := range want {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if got := string(b); got != w {
			t.Errorf("%s = %q, want %q", name, got, w)
		}
	}
}

func TestSharesToWeight(t *testing.T) {
	for shares, want := range map[uint64]uint64{
		0:       1,
		2:       1,
		1024:    39,
		262144:  10000,
		1 << 40: 10000,
	} {
		if got := sharesToWeight(shares); got != want {
			t.Errorf("sharesToWeight(%d) = %d, want %d", shares, got, want)
		}
	}
}

func TestSwapMaxV2(t *testing.T) {
	for _, tc := range []struct {
		swap, limit int64
		want        string
	}{
		{-1, -1, "max"},
		{-1, 100, "max"},
		{300, 100, "200"},
		{100, 100, "0"},
	} {
		got, err := swapMaxV2(tc.swap, tc.limit)
		if err != nil || got != tc.want {
			t.Errorf("swapMaxV2(%d, %d) = %q, %v; want %q", tc.swap, tc.limit, got, err, tc.want)
		}
	}
	for _, tc := range [][2]int64{{100, -1}, {50, 100}} {
		if got, err := swapMaxV2(tc[0], tc[1]); err == nil {
			t.Errorf("swapMaxV2(%d, %d) = %q, want an error", tc[0], tc[1], got)
		}
	}
}

func TestSetV1Values(t *testing.T) {
	memory := fakeDir(t, map[string]string{
		"memory.limit_in_bytes": "", "memory.memsw.limit_in_bytes": "",
		"memory.soft_limit_in_bytes": "", "memory.swappiness": "", "memory.oom_control": "",
	})
	cpu := fakeDir(t, map[string]string{"cpu.shares": "", "cpu.cfs_quota_us": "", "cpu.cfs_period_us": ""})
	cpuset := fakeDir(t, map[string]string{"cpuset.cpus": "", "cpuset.mems": ""})
	pids := fakeDir(t, map[string]string{"pids.max": ""})
	m := Load(map[string]string{"memory": memory, "cpu": cpu, "cpuset": cpuset, "pids": pids})

	err := m.Set(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{
			Limit: new(int64(1 << 26)), Swap: new(int64(-1)), Reservation: new(int64(1 << 25)),
			Swappiness: new(uint64(0)), DisableOOMKiller: new(true),
		},
		CPU:  &specs.LinuxCPU{Shares: new(uint64(512)), Quota: new(int64(-1)), Period: new(uint64(100000)), Cpus: "0-1", Mems: "0"},
		Pids: &specs.LinuxPids{Limit: new(int64(-1))},
	})
	if err != nil {
		t.Fatal(err)
	}
	expectFiles(t, memory, map[string]string{
		"memory.limit_in_bytes": "67108864", "memory.memsw.limit_in_bytes": "-1",
		"memory.soft_limit_in_bytes": "33554432", "memory.swappiness": "0", "memory.oom_control": "1",
	})
	expectFiles(t, cpu, map[string]string{"cpu.shares": "512", "cpu.cfs_quota_us": "-1", "cpu.cfs_period_us": "100000"})
	expectFiles(t, cpuset, map[string]string{"cpuset.cpus": "0-1", "cpuset.mems": "0"})
	expectFiles(t, pids, map[string]string{"pids.max": "max"})

	// runtime-spec 1.3: a pids limit of 0 is a real limit, applied as 1
	// (runc 1.5, and what systemd can express).
	if err := m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: new(int64(0))}}); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, pids, map[string]string{"pids.max": "1"})
}

// Swap accounting can be off; the memory limit must still be written.
func TestSetV1WithoutMemsw(t *testing.T) {
	memory := fakeDir(t, map[string]string{"memory.limit_in_bytes": ""})
	m := Load(map[string]string{"memory": memory})
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: new(int64(4096)), Swap: new(int64(8192))}}); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, memory, map[string]string{"memory.limit_in_bytes": "4096"})
	if _, err := os.Stat(filepath.Join(memory, "memory.memsw.limit_in_bytes")); err == nil {
		t.Error("memsw file was created")
	}
}

func TestSetV2Values(t *testing.T) {
	dir := fakeDir(t, map[string]string{
		"memory.max": "max", "memory.swap.max": "max", "memory.low": "0",
		"cpu.weight": "100", "cpu.max": "max 100000", "cpuset.cpus": "", "cpuset.mems": "", "pids.max": "max",
	})
	m := Load(map[string]string{"": dir})

	err := m.Set(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: new(int64(1 << 26)), Swap: new(int64(3 << 25)), Reservation: new(int64(1 << 25))},
		CPU:    &specs.LinuxCPU{Shares: new(uint64(1024)), Quota: new(int64(50000)), Cpus: "1", Mems: "0"},
		Pids:   &specs.LinuxPids{Limit: new(int64(42))},
	})
	if err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{
		"memory.max": "67108864", "memory.swap.max": "33554432", "memory.low": "33554432",
		"cpu.weight": "39", "cpu.max": "50000", "cpuset.cpus": "1", "cpuset.mems": "0", "pids.max": "42",
	})

	// A period alone keeps the quota in force; a swap total alone is
	// measured against the memory limit in force.
	err = m.Set(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Swap: new(int64(1 << 27))},
		CPU:    &specs.LinuxCPU{Period: new(uint64(200000))},
	})
	if err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{"cpu.max": "50000 200000", "memory.swap.max": "67108864"})

	err = m.Set(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: new(int64(-1)), Swap: new(int64(-1))},
		CPU:    &specs.LinuxCPU{Quota: new(int64(-1)), Period: new(uint64(100000))},
	})
	if err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{"memory.max": "max", "memory.swap.max": "max", "cpu.max": "max 100000"})
}

func TestSetNothing(t *testing.T) {
	files := map[string]string{
		"memory.limit_in_bytes": "orig", "memory.max": "orig", "cpu.shares": "orig", "cpu.weight": "orig",
		"cpu.max": "orig", "cpuset.cpus": "orig", "pids.max": "orig", "devices.allow": "orig",
	}
	dir := fakeDir(t, files)
	empty := &specs.LinuxResources{Memory: &specs.LinuxMemory{}, CPU: &specs.LinuxCPU{}, Pids: &specs.LinuxPids{}}
	for _, m := range []Manager{
		Load(map[string]string{"memory": dir, "cpu": dir, "cpuset": dir, "pids": dir, "devices": dir}),
		Load(map[string]string{"": dir}),
	} {
		for _, r := range []*specs.LinuxResources{nil, {}, empty} {
			if err := m.Set(r); err != nil {
				t.Errorf("%T.Set(%+v): %v", m, r, err)
			}
		}
	}
	expectFiles(t, dir, files)
}

func TestSetV1MissingHierarchy(t *testing.T) {
	m := Load(map[string]string{"memory": fakeDir(t, nil)})
	err := m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: new(int64(10))}})
	if err == nil || !strings.Contains(err.Error(), "pids.max") || !strings.Contains(err.Error(), "pids cgroup") {
		t.Errorf("Set pids without a pids hierarchy: %v", err)
	}
	// Device rules are skipped, not refused, without a devices hierarchy.
	if err := m.Set(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}); err != nil {
		t.Errorf("Set devices without a devices hierarchy: %v", err)
	}
}

func TestSetErrorNamesFile(t *testing.T) {
	dir := fakeDir(t, nil)
	m := Load(map[string]string{"": dir})
	err := m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: new(int64(1))}})
	want := "write " + filepath.Join(dir, "pids.max") + ": "
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %v, want prefix %q", err, want)
	}
}

func TestEmptyV2ManagerTouchesNothing(t *testing.T) {
	t.Chdir(t.TempDir())
	m := Load(nil)
	_, statsErr := m.Stats()
	_, oomErr := m.OOMEvents(t.Context())
	for name, err := range map[string]error{
		"Apply":     m.Apply(0),
		"Freeze":    m.Freeze(),
		"Thaw":      m.Thaw(),
		"Set":       m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: new(int64(1))}}),
		"Set(dev)":  m.Set(&specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Access: "rwm"}}}),
		"Stats":     statsErr,
		"OOMEvents": oomErr,
	} {
		if err == nil {
			t.Errorf("%s succeeded without a directory", name)
		}
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Errorf("files written to the working directory: %v", entries)
	}
}
