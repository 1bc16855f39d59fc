package cgroups

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestNeedsCgroup(t *testing.T) {
	limit := int64(1 << 20)
	classID := uint32(7)
	v1 := map[string]string{"cpu": "/c", "cpuset": "/s", "": "/u"}
	for _, tc := range []struct {
		name       string
		r          *specs.LinuxResources
		paths      map[string]string
		v2         bool
		field, key string
	}{
		{"nothing asked", nil, nil, false, "", ""},
		{"empty resources", &specs.LinuxResources{Memory: &specs.LinuxMemory{}}, nil, false, "", ""},
		{"device rules never", &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}}, nil, false, "", ""},
		{"memory limit without memory", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}, v1, false, "linux.resources.memory.limit", "memory"},
		{"swap named", &specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: &limit}}, v1, false, "linux.resources.memory.swap", "memory"},
		{"cpus with cpuset", &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}}, v1, false, "", ""},
		{"cpus without cpuset", &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}}, map[string]string{"cpu": "/c"}, false, "linux.resources.cpu.cpus", "cpuset"},
		{"pids", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}}, v1, false, "linux.resources.pids.limit", "pids"},
		{"classID", &specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: &classID}}, v1, false, "linux.resources.network.classID", "net_cls"},
		{"v2 has all in one", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}}, map[string]string{"": "/u"}, true, "", ""},
		{"v2 without its dir", &specs.LinuxResources{Unified: map[string]string{"memory.high": "1"}}, nil, true, "linux.resources.unified", ""},
	} {
		field, key := NeedsCgroup(tc.r, tc.paths, tc.v2)
		if field != tc.field || key != tc.key {
			t.Errorf("%s: NeedsCgroup = %q, %q; want %q, %q", tc.name, field, key, tc.field, tc.key)
		}
	}
}

// A rootless container's cgroup goes beside the caller's own on v2, as
// runc places it; elsewhere, and for an absolute path, nothing changes.
func TestRootlessPath(t *testing.T) {
	v2 := testLayout(t, "0::/user.slice/user-1000.slice/user@1000.service/app.slice/run-x.scope\n",
		"30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n")
	for _, c := range []struct{ path, want string }{
		{"", "/user.slice/user-1000.slice/user@1000.service/app.slice/c1"},
		{"pod/c2", "/user.slice/user-1000.slice/user@1000.service/app.slice/pod/c2"},
		{"../../x", "/user.slice/user-1000.slice/user@1000.service/app.slice/x"},
	} {
		if got, ok := rootlessPath(v2, c.path, "c1"); !ok || got != c.want {
			t.Errorf("rootlessPath(%q) = %q, %v; want %q", c.path, got, ok, c.want)
		}
	}
	if got, ok := rootlessPath(v2, "/abs/c1", "c1"); ok {
		t.Errorf("an absolute path is moved: %q", got)
	}
	if got, ok := rootlessPath(testLayout(t, hybridProcCgroup, hybridMountinfo), "", "c1"); ok {
		t.Errorf("a hybrid host: %q", got)
	}
}
