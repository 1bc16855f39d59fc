package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
)

// cgroupFiles are the interface files update may write or read, with the
// values a fresh cgroup holds.
var cgroupFiles = map[string]string{
	"cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc",
	"cgroup.procs":       "",
	"cpu.max":            "max 100000", "cpu.max.burst": "0", "cpu.weight": "100", "cpu.idle": "0",
	"cpu.shares": "1024", "cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "-1", "cpu.cfs_burst_us": "0",
	"cpu.rt_period_us": "1000000", "cpu.rt_runtime_us": "0",
	"cpuset.cpus": "", "cpuset.mems": "",
	"memory.max": "max", "memory.low": "0", "memory.high": "max", "memory.swap.max": "max",
	"memory.current": "4096", "memory.swap.current": "0",
	"memory.limit_in_bytes": "9223372036854771712", "memory.soft_limit_in_bytes": "9223372036854771712",
	"memory.memsw.limit_in_bytes": "9223372036854771712", "memory.usage_in_bytes": "4096",
	"memory.memsw.usage_in_bytes": "4096", "memory.swappiness": "60", "memory.oom_control": "oom_kill_disable 0",
	"memory.use_hierarchy": "1", "memory.kmem.limit_in_bytes": "9223372036854771712",
	"memory.kmem.tcp.limit_in_bytes": "9223372036854771712",
	"pids.max":                       "max",
	"io.max":                         "", "io.weight": "default 100", "io.bfq.weight": "default 100",
	"blkio.weight": "500", "blkio.weight_device": "", "blkio.leaf_weight": "500", "blkio.leaf_weight_device": "",
	"blkio.bfq.weight": "100", "blkio.bfq.weight_device": "",
	"blkio.throttle.read_bps_device": "", "blkio.throttle.write_bps_device": "",
	"blkio.throttle.read_iops_device": "", "blkio.throttle.write_iops_device": "",
	"hugetlb.2MB.max": "max", "hugetlb.2MB.rsvd.max": "max", "hugetlb.1GB.max": "max",
	"hugetlb.2MB.limit_in_bytes": "0", "hugetlb.1GB.limit_in_bytes": "0",
	"net_cls.classid": "0", "net_prio.ifpriomap": "lo 0",
	"rdma.max": "", "misc.max": "",
}

// fakeCgroup makes dir/cg for the interface files, and in dir itself a
// directory named like each of them, standing for the parent cgroup: a
// write that leaves the container's cgroup fails there with EISDIR.
func fakeCgroup(f *testing.F, dir string) string {
	cg := filepath.Join(dir, "cg")
	if err := os.Mkdir(cg, 0o755); err != nil {
		f.Fatal(err)
	}
	for name := range cgroupFiles {
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			f.Fatal(err)
		}
	}
	return cg
}

// resetCgroup gives the interface files in cg their fresh values.
func resetCgroup(t *testing.T, cg string) {
	for name, value := range cgroupFiles {
		if err := os.WriteFile(filepath.Join(cg, name), []byte(value), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzUpdateResources reads `update --resources` JSON as update does and
// writes what it accepts to a fake v1 and a fake v2 cgroup, the way
// Container.Update does. Nothing may be written outside the container's
// cgroup, a limit that is written must be the one asked for, and the
// resources must survive the JSON trip into the saved spec.
func FuzzUpdateResources(f *testing.F) {
	for _, seed := range []string{
		`{"memory": {"limit": 67108864, "swap": 134217728, "checkBeforeUpdate": true}, "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1"}, "pids": {"limit": 100}}`,
		`{"memory": {"limit": -1}}`,
		`{"memory": {"limit": 4096, "reservation": 1024, "swappiness": 10, "disableOOMKiller": true}}`,
		`{"pids": {"limit": 0}}`, `{"pids": {"limit": -1}}`,
		`{"cpu": {"quota": -1, "burst": 1000, "idle": 1, "realtimePeriod": 1000000, "realtimeRuntime": 950000, "mems": "0"}}`,
		`{"blockIO": {"weight": 500, "leafWeight": 300, "weightDevice": [{"major": 8, "minor": 0, "weight": 200}], "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]}}`,
		`{"hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}]}`,
		`{"network": {"classID": 1048577, "priorities": [{"name": "eth0", "priority": 5}]}}`,
		`{"rdma": {"mlx4_0": {"hcaHandles": 2, "hcaObjects": 2000}}}`,
		`{"unified": {"memory.high": "524288", "io.max": "8:0 rbps=1\n8:16 wbps=2\n"}}`,
		`{"unified": {"../memory.max": "1"}}`,
		`{"devices": [{"allow": false, "access": "rwm"}]}`,
		`{}`, `null`, `[]`, `{"memory": {"limit": "64m"}}`, `{"memory": `, "",
	} {
		f.Add([]byte(seed))
	}
	path := filepath.Join(f.TempDir(), "resources.json")
	v1, v2 := fakeCgroup(f, f.TempDir()), fakeCgroup(f, f.TempDir())
	v1Paths := make(map[string]string)
	for _, s := range []string{"blkio", "cpu", "cpuacct", "cpuset", "devices", "freezer", "hugetlb", "memory", "net_cls", "net_prio", "pids", "rdma"} {
		v1Paths[s] = v1
	}
	managers := []struct {
		cg    string
		paths map[string]string
	}{{v1, v1Paths}, {v2, map[string]string{"": v2}}}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := readResources(path)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "update: ") {
				t.Fatalf("error %q does not say it is update's", err)
			}
			return
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("accepted resources do not marshal: %v", err)
		}
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		back, err := readResources(path)
		if err != nil {
			t.Fatalf("accepted resources, written back, are refused: %v", err)
		}
		if again, _ := json.Marshal(back); !bytes.Equal(out, again) {
			t.Fatalf("resources changed through the saved spec:\n%s\n%s", out, again)
		}

		// Update leaves the devices of a live container alone.
		delta := *r
		delta.Devices = nil
		for _, m := range managers {
			resetCgroup(t, m.cg)
			err := cgroups.Load(maps.Clone(m.paths)).Set(&delta)
			if errors.Is(err, syscall.EISDIR) {
				t.Fatalf("update wrote outside the container's cgroup: %v", err)
			}
			if entries, _ := os.ReadDir(filepath.Dir(m.cg)); len(entries) != len(cgroupFiles)+1 {
				t.Fatalf("update made %d entries beside the cgroup", len(entries)-len(cgroupFiles)-1)
			}
			if err != nil || r.Pids == nil || r.Pids.Limit == nil {
				continue
			}
			// runtime-spec 1.3: negative is unlimited; 0 is applied as 1,
			// as runc 1.5 does.
			want := "max"
			switch l := *r.Pids.Limit; {
			case l > 0:
				want = strconv.FormatInt(l, 10)
			case l == 0:
				want = "1"
			}
			if got, _ := os.ReadFile(filepath.Join(m.cg, "pids.max")); string(got) != want {
				t.Fatalf("pids.limit %d wrote pids.max %q, want %q", *r.Pids.Limit, got, want)
			}
		}
	})
}
