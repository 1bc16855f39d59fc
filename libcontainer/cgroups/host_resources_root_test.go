package cgroups

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/internal/testutil"
)

// These tests write the resources added for the cgroups milestone to real
// cgroups of the host, where the kernel checks values and write order.

func v1TestManager(t *testing.T) Manager {
	t.Helper()
	testutil.RequireRoot(t)
	if hostLayout(t).isV2() {
		t.Skip("needs cgroup v1 hierarchies")
	}
	m := newTestManager(t, "/"+uniqueName(t))
	if err := m.Apply(0); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSetV1CPUHost(t *testing.T) {
	m := v1TestManager(t)
	cpu := m.Path("cpu")
	if cpu == "" {
		t.Skip("no v1 cpu hierarchy")
	}
	if testutil.FileExists(filepath.Join(cpu, "cpu.cfs_burst_us")) {
		// Raising quota and burst past the old quota, then lowering both
		// below it, each need a different order.
		for _, v := range [][2]int64{{200000, 150000}, {20000, 10000}} {
			err := m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: new(v[0]), Burst: new(uint64(v[1]))}})
			if err != nil {
				t.Fatal(err)
			}
			expectValue(t, cpu, "cpu.cfs_quota_us", itoa(v[0]))
			expectValue(t, cpu, "cpu.cfs_burst_us", itoa(v[1]))
		}
	}
	if testutil.FileExists(filepath.Join(cpu, "cpu.idle")) {
		// The kernel refuses shares on an idle cgroup: the order of the
		// two writes depends on the direction.
		for _, v := range []struct {
			shares uint64
			idle   int64
		}{{512, 1}, {2048, 0}} {
			err := m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: new(v.shares), Idle: new(v.idle)}})
			if err != nil {
				t.Fatal(err)
			}
			expectValue(t, cpu, "cpu.idle", itoa(v.idle))
		}
		expectValue(t, cpu, "cpu.shares", "2048")
	}
	if testutil.FileExists(filepath.Join(cpu, "cpu.rt_runtime_us")) {
		err := m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimePeriod: new(uint64(500000)), RealtimeRuntime: new(int64(10000))}})
		if err != nil {
			t.Fatal(err)
		}
		expectValue(t, cpu, "cpu.rt_period_us", "500000")
		expectValue(t, cpu, "cpu.rt_runtime_us", "10000")
	}
}

func TestSetV1MemoryHost(t *testing.T) {
	m := v1TestManager(t)
	mem := m.Path("memory")
	if mem == "" {
		t.Skip("no v1 memory hierarchy")
	}
	r := &specs.LinuxMemory{UseHierarchy: new(true), CheckBeforeUpdate: new(true), Limit: new(int64(64 << 20))}
	if testutil.FileExists(filepath.Join(mem, "memory.kmem.tcp.limit_in_bytes")) {
		r.KernelTCP = new(int64(16 << 20))
	}
	if err := m.Set(&specs.LinuxResources{Memory: r}); err != nil {
		t.Fatal(err)
	}
	expectValue(t, mem, "memory.use_hierarchy", "1")
	expectValue(t, mem, "memory.limit_in_bytes", itoa(64<<20))
	if r.KernelTCP != nil {
		expectValue(t, mem, "memory.kmem.tcp.limit_in_bytes", itoa(16<<20))
	}
}

func TestSetV1BlkioHost(t *testing.T) {
	m := v1TestManager(t)
	blkio := m.Path("blkio")
	if blkio == "" {
		t.Skip("no v1 blkio hierarchy")
	}
	// Throttles need a device that exists; loop0 is harmless to limit.
	dev, err := os.Readlink("/sys/dev/block/7:0")
	if err != nil || !strings.HasSuffix(dev, "/loop0") {
		t.Skip("no /dev/loop0 to throttle")
	}
	loop := specs.LinuxBlockIODevice{Major: 7, Minor: 0}
	r := &specs.LinuxBlockIO{
		ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: loop, Rate: 1 << 20}},
		ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: loop, Rate: 100}},
	}
	if err := m.Set(&specs.LinuxResources{BlockIO: r}); err != nil {
		t.Fatal(err)
	}
	expectValue(t, blkio, "blkio.throttle.read_bps_device", "7:0 1048576")
	expectValue(t, blkio, "blkio.throttle.write_iops_device", "7:0 100")
	// A rate of 0 removes the rule.
	r.ThrottleReadBpsDevice[0].Rate = 0
	if err := m.Set(&specs.LinuxResources{BlockIO: r}); err != nil {
		t.Fatal(err)
	}
	expectValue(t, blkio, "blkio.throttle.read_bps_device", "")

	if !testutil.FileExists(filepath.Join(blkio, "blkio.weight")) && !testutil.FileExists(filepath.Join(blkio, "blkio.bfq.weight")) {
		err := m.Set(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: new(uint16(500))}})
		if err == nil || !strings.Contains(err.Error(), "blkio.weight") {
			t.Errorf("weight without a weight-based scheduler: err = %v", err)
		}
	}
}

// Hierarchies this host has not mounted make the fields that need them
// fail with the hierarchy's name.
func TestSetV1UnmountedHost(t *testing.T) {
	m := v1TestManager(t)
	for subsystem, r := range map[string]*specs.LinuxResources{
		"net_cls":  {Network: &specs.LinuxNetwork{ClassID: new(uint32(0x100001))}},
		"net_prio": {Network: &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: "lo", Priority: 1}}}},
		"hugetlb":  {HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 2 << 20}}},
		"rdma":     {Rdma: map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: new(uint32(1))}}},
	} {
		if m.Path(subsystem) != "" {
			continue
		}
		err := m.Set(r)
		if err == nil || !strings.Contains(err.Error(), "no "+subsystem+" cgroup hierarchy is mounted") {
			t.Errorf("%s not mounted: err = %v", subsystem, err)
		}
	}
}

func TestStatsV1Host(t *testing.T) {
	m := v1TestManager(t)
	for _, s := range []string{"memory", "pids", "cpuacct"} {
		if m.Path(s) == "" {
			t.Skipf("no v1 %s hierarchy", s)
		}
	}
	// The process joins before it execs, so that what it maps afterwards
	// is charged to the cgroup.
	var join strings.Builder
	for _, dir := range m.Paths() {
		join.WriteString("echo $$ > " + filepath.Join(dir, "cgroup.procs") + " && ")
	}
	child := exec.Command("/bin/sh", "-c", join.String()+"exec sleep 1000")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	// Asleep in sleep: the comm changes early in execve, but the CPU time
	// is charged to cpuacct when the task is switched out.
	if ok, _ := poll(freezeTimeout, func() (bool, error) {
		b, err := os.ReadFile("/proc/" + itoa(int64(child.Process.Pid)) + "/stat")
		return strings.Contains(string(b), "(sleep) S "), err
	}); !ok {
		t.Fatal("the child never slept in sleep")
	}
	if err := m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: new(int64(10))}}); err != nil {
		t.Fatal(err)
	}
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.Pids.Current != 1 || s.Pids.Limit != 10 {
		t.Errorf("pids = %+v, want current 1, limit 10", s.Pids)
	}
	if s.Memory.Usage.Usage == 0 || s.Memory.Usage.Limit == 0 || len(s.Memory.Raw) == 0 {
		t.Errorf("memory = %+v, want usage, limit and raw stats", s.Memory)
	}
	if s.CPU.Usage.Total == 0 || len(s.CPU.Usage.PerCPU) == 0 {
		t.Errorf("cpu = %+v, want usage", s.CPU.Usage)
	}
}

// TestV2ResourcesOnHybrid uses the controllers that a hybrid host binds to
// its cgroup2 tree (hugetlb on some hosts) through the v2 manager.
func TestV2ResourcesOnHybrid(t *testing.T) {
	m, dir := unifiedTestCgroup(t, true)
	if !testutil.FileExists(filepath.Join(dir, "hugetlb.2MB.max")) {
		t.Skip("no hugetlb controller in the cgroup2 tree")
	}
	err := m.Set(&specs.LinuxResources{
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}},
		Unified:        map[string]string{"hugetlb.2MB.rsvd.max": "2097152"},
	})
	if err != nil {
		t.Fatal(err)
	}
	expectValue(t, dir, "hugetlb.2MB.max", itoa(4<<20))
	expectValue(t, dir, "hugetlb.2MB.rsvd.max", itoa(2<<20))
	err = m.Set(&specs.LinuxResources{Unified: map[string]string{"memory.max": "1"}})
	if err == nil || !strings.Contains(err.Error(), "memory controller is not available") {
		t.Errorf("unified key of a v1 controller: err = %v", err)
	}
	s, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Hugetlb["2MB"]; !ok {
		t.Errorf("Stats().Hugetlb = %v, want a 2MB entry", s.Hugetlb)
	}
	// No memory controller here: no memory.events to watch.
	if _, err := m.OOMEvents(context.Background()); err == nil {
		t.Error("OOMEvents without memory.events succeeded")
	}
}
