package cgroups

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSetCPUV1BurstRealtimeIdle(t *testing.T) {
	dir := fakeDir(t, map[string]string{
		"cpu.shares": "", "cpu.cfs_quota_us": "", "cpu.cfs_period_us": "", "cpu.cfs_burst_us": "",
		"cpu.rt_period_us": "", "cpu.rt_runtime_us": "", "cpu.idle": "",
	})
	m := Load(map[string]string{"cpu": dir})
	err := m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{
		Quota: new(int64(50000)), Period: new(uint64(100000)), Burst: new(uint64(20000)),
		RealtimePeriod: new(uint64(1000000)), RealtimeRuntime: new(int64(10000)), Idle: new(int64(1)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{
		"cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000", "cpu.cfs_burst_us": "20000",
		"cpu.rt_period_us": "1000000", "cpu.rt_runtime_us": "10000", "cpu.idle": "1", "cpu.shares": "",
	})
	// A burst of 0 is written: it turns bursting off.
	if err := m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{Burst: new(uint64(0)), Idle: new(int64(0))}}); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{"cpu.cfs_burst_us": "0", "cpu.idle": "0"})
}

func TestSetCPUV1MissingFilesNamed(t *testing.T) {
	for file, cpu := range map[string]*specs.LinuxCPU{
		"cpu.cfs_burst_us":  {Burst: new(uint64(1000))},
		"cpu.rt_runtime_us": {RealtimeRuntime: new(int64(1000))},
		"cpu.idle":          {Idle: new(int64(1))},
	} {
		dir := fakeDir(t, nil)
		err := Load(map[string]string{"cpu": dir}).Set(&specs.LinuxResources{CPU: cpu})
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, file)) {
			t.Errorf("%+v without %s: err = %v", cpu, file, err)
		}
	}
}

func TestSetCPUV2BurstIdle(t *testing.T) {
	dir := fakeDir(t, map[string]string{"cpu.weight": "100", "cpu.max": "max 100000", "cpu.max.burst": "0", "cpu.idle": "0"})
	m := Load(map[string]string{"": dir})
	err := m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{
		Shares: new(uint64(2048)), Quota: new(int64(20000)), Burst: new(uint64(5000)), Idle: new(int64(0)),
	}})
	if err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{"cpu.weight": "79", "cpu.max": "20000", "cpu.max.burst": "5000", "cpu.idle": "0"})
}

// Realtime limits have no v2 counterpart: Set fails before writing
// anything.
func TestSetCPUV2RealtimeRefused(t *testing.T) {
	dir := fakeDir(t, nil)
	err := Load(map[string]string{"": dir}).Set(&specs.LinuxResources{
		Pids: &specs.LinuxPids{Limit: new(int64(5))},
		CPU:  &specs.LinuxCPU{Shares: new(uint64(512)), RealtimeRuntime: new(int64(1000))},
	})
	if err == nil || !strings.Contains(err.Error(), "realtime") {
		t.Errorf("err = %v, want a realtime error", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files written: %v", entries)
	}
}
