package cgroups

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestStatsV1(t *testing.T) {
	cpuacct := fakeDir(t, map[string]string{
		"cpuacct.usage": "3000\n", "cpuacct.usage_percpu": "1000 2000 \n",
		"cpuacct.usage_percpu_sys": "100 200\n", "cpuacct.usage_percpu_user": "900 1800\n",
		"cpuacct.usage_sys": "300\n", "cpuacct.usage_user": "2700\n",
	})
	cpu := fakeDir(t, map[string]string{"cpu.stat": "nr_periods 10\nnr_throttled 3\nthrottled_time 4500\n"})
	memory := fakeDir(t, map[string]string{
		"memory.usage_in_bytes": "4096", "memory.max_usage_in_bytes": "8192", "memory.failcnt": "2", "memory.limit_in_bytes": "67108864",
		"memory.memsw.usage_in_bytes": "5000", "memory.memsw.max_usage_in_bytes": "9000", "memory.memsw.failcnt": "0", "memory.memsw.limit_in_bytes": "9223372036854771712",
		"memory.stat": "cache 100\nrss 200\ntotal_cache 150\ntotal_rss 250\n",
	})
	pids := fakeDir(t, map[string]string{"pids.current": "3", "pids.max": "max"})
	blkio := fakeDir(t, map[string]string{
		// No CFQ or BFQ counters: the throttle ones are used.
		"blkio.io_service_bytes_recursive":          "Total 0\n",
		"blkio.throttle.io_service_bytes_recursive": "8:0 Read 4096\n8:0 Write 8192\n8:0 Total 12288\nTotal 12288\n",
		"blkio.throttle.io_serviced_recursive":      "8:0 Read 1\n8:0 Write 2\n8:0 Total 3\nTotal 3\n",
	})
	hugetlb := fakeDir(t, map[string]string{
		"hugetlb.2MB.limit_in_bytes": "max", "hugetlb.2MB.usage_in_bytes": "2097152",
		"hugetlb.2MB.max_usage_in_bytes": "4194304", "hugetlb.2MB.failcnt": "1",
		"hugetlb.2MB.rsvd.limit_in_bytes": "max", "hugetlb.2MB.rsvd.usage_in_bytes": "0",
	})
	m := Load(map[string]string{
		"cpuacct": cpuacct, "cpu": cpu, "memory": memory, "pids": pids, "blkio": blkio, "hugetlb": hugetlb,
		"freezer": fakeDir(t, nil), "net_cls": "",
	})
	got, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := &Stats{
		CPU: CPUStats{
			Usage: CPUUsage{
				Total: 3000, PerCPU: []uint64{1000, 2000}, PerCPUKernel: []uint64{100, 200}, PerCPUUser: []uint64{900, 1800},
				Kernel: 300, User: 2700,
			},
			Throttling: CPUThrottling{Periods: 10, ThrottledPeriods: 3, ThrottledTime: 4500},
		},
		Memory: MemoryStats{
			Cache: 150,
			Usage: MemoryEntry{Limit: 67108864, Usage: 4096, Max: 8192, Failcnt: 2},
			Swap:  MemoryEntry{Limit: 9223372036854771712, Usage: 5000, Max: 9000},
			Raw:   map[string]uint64{"cache": 100, "rss": 200, "total_cache": 150, "total_rss": 250},
		},
		Pids: PidsStats{Current: 3, Limit: math.MaxUint64},
		Blkio: BlkioStats{
			IoServiceBytesRecursive: []BlkioEntry{{8, 0, "Read", 4096}, {8, 0, "Write", 8192}, {8, 0, "Total", 12288}},
			IoServicedRecursive:     []BlkioEntry{{8, 0, "Read", 1}, {8, 0, "Write", 2}, {8, 0, "Total", 3}},
		},
		Hugetlb: map[string]HugetlbStats{"2MB": {Usage: 2097152, Max: 4194304, Failcnt: 1}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Stats():\n got  %+v\n want %+v", got, want)
	}
}

// Kernels before 4.7 split user and system time only in cpuacct.stat, in
// USER_HZ ticks.
func TestStatsV1CPUTicks(t *testing.T) {
	d := fakeDir(t, map[string]string{"cpuacct.usage": "5", "cpuacct.stat": "user 3\nsystem 2\n"})
	got, err := Load(map[string]string{"cpuacct": d}).Stats()
	if err != nil {
		t.Fatal(err)
	}
	if got.CPU.Usage.User != 30_000_000 || got.CPU.Usage.Kernel != 20_000_000 {
		t.Errorf("user, kernel = %d, %d; want 30ms and 20ms in ns", got.CPU.Usage.User, got.CPU.Usage.Kernel)
	}
}

func TestStatsV2(t *testing.T) {
	dir := fakeDir(t, map[string]string{
		"cpu.stat":            "usage_usec 30\nuser_usec 20\nsystem_usec 10\nnr_periods 5\nnr_throttled 1\nthrottled_usec 7\nnr_bursts 0\nburst_usec 0\n",
		"memory.current":      "1000",
		"memory.max":          "4000",
		"memory.peak":         "3000",
		"memory.events":       "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n",
		"memory.swap.current": "500",
		"memory.swap.max":     "max",
		"memory.swap.events":  "high 0\nmax 2\nfail 0\n",
		"memory.stat":         "anon 600\nfile 400\n",
		"pids.current":        "2",
		"pids.max":            "10",
		"io.stat":             "8:16 rbytes=1459200 wbytes=314773504 rios=192 wios=353 dbytes=0 dios=0\n",
		"hugetlb.2MB.current": "2097152", "hugetlb.2MB.events": "max 3\n", "hugetlb.2MB.max": "max",
		"hugetlb.2MB.rsvd.current": "0", "hugetlb.2MB.rsvd.max": "max",
	})
	got, err := Load(map[string]string{"": dir}).Stats()
	if err != nil {
		t.Fatal(err)
	}
	dev := func(op string, v uint64) BlkioEntry { return BlkioEntry{8, 16, op, v} }
	want := &Stats{
		CPU: CPUStats{
			Usage:      CPUUsage{Total: 30000, Kernel: 10000, User: 20000},
			Throttling: CPUThrottling{Periods: 5, ThrottledPeriods: 1, ThrottledTime: 7000},
		},
		Memory: MemoryStats{
			Cache: 400,
			Usage: MemoryEntry{Limit: 4000, Usage: 1000, Max: 3000, Failcnt: 4},
			Swap:  MemoryEntry{Limit: math.MaxUint64, Usage: 1500, Failcnt: 2},
			Raw:   map[string]uint64{"anon": 600, "file": 400},
		},
		Pids: PidsStats{Current: 2, Limit: 10},
		Blkio: BlkioStats{
			IoServiceBytesRecursive: []BlkioEntry{dev("Read", 1459200), dev("Write", 314773504), dev("Discard", 0)},
			IoServicedRecursive:     []BlkioEntry{dev("Read", 192), dev("Write", 353), dev("Discard", 0)},
		},
		Hugetlb: map[string]HugetlbStats{"2MB": {Usage: 2097152, Failcnt: 3}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Stats():\n got  %+v\n want %+v", got, want)
	}
}

// Controllers that are not enabled leave their part empty; a file that
// holds garbage is an error naming it.
func TestStatsV2Partial(t *testing.T) {
	dir := fakeDir(t, map[string]string{"cpu.stat": "usage_usec 30\nuser_usec 20\nsystem_usec 10\n"})
	got, err := Load(map[string]string{"": dir}).Stats()
	if err != nil {
		t.Fatal(err)
	}
	if got.CPU.Usage.Total != 30000 || got.Memory.Usage != (MemoryEntry{}) || got.Pids != (PidsStats{}) {
		t.Errorf("Stats() = %+v", got)
	}
	bad := fakeDir(t, map[string]string{"pids.current": "lots"})
	if _, err := Load(map[string]string{"": bad}).Stats(); err == nil || !strings.Contains(err.Error(), "pids.current") {
		t.Errorf("garbage in pids.current: err = %v", err)
	}
}

// The JSON keys are runc's, which clients of `events --stats` parse.
func TestStatsJSONShape(t *testing.T) {
	s := Stats{
		CPU:     CPUStats{Usage: CPUUsage{Total: 1, PerCPU: []uint64{1}}, Throttling: CPUThrottling{Periods: 1, ThrottledPeriods: 1, ThrottledTime: 1}},
		Memory:  MemoryStats{Cache: 1, Usage: MemoryEntry{Usage: 1, Max: 1}, Raw: map[string]uint64{"rss": 1}},
		Pids:    PidsStats{Current: 1, Limit: 1},
		Blkio:   BlkioStats{IoServiceBytesRecursive: []BlkioEntry{{1, 1, "Read", 1}}, IoServicedRecursive: []BlkioEntry{{1, 1, "Read", 1}}},
		Hugetlb: map[string]HugetlbStats{"2MB": {Usage: 1}},
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{
		`"cpu":{"usage":{"total":1,"percpu":[1],"kernel":0,"user":0},"throttling":{"periods":1,"throttledPeriods":1,"throttledTime":1}}`,
		`"memory":{"cache":1,"usage":{"limit":0,"usage":1,"max":1,"failcnt":0},"swap":{"limit":0,"failcnt":0}`,
		`"kernelTCP":{`, `"raw":{"rss":1}`,
		`"pids":{"current":1,"limit":1}`,
		`"blkio":{"ioServiceBytesRecursive":[{"major":1,"minor":1,"op":"Read","value":1}],"ioServicedRecursive":[`,
		`"hugetlb":{"2MB":{"usage":1,"failcnt":0}}`,
	} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s:\n%s", key, b)
		}
	}
}
