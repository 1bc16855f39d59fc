package cgroups

import (
	"maps"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"

	"github.com/husk-runtime/husk/internal/testutil"
)

func testLayout(t *testing.T, procCgroup, mounts string) *layout {
	t.Helper()
	infos, err := mountinfo.GetMountsFromReader(strings.NewReader(mounts), nil)
	if err != nil {
		t.Fatalf("parse mountinfo: %v", err)
	}
	l, err := parseLayout(strings.NewReader(procCgroup), infos)
	if err != nil {
		t.Fatalf("parseLayout: %v", err)
	}
	return l
}

func testPaths(t *testing.T, l *layout, cgroupsPath string) map[string]string {
	t.Helper()
	m, err := newManager(l, cgroupsPath)
	if err != nil {
		t.Fatalf("newManager(%q): %v", cgroupsPath, err)
	}
	return m.Paths()
}

func checkPaths(t *testing.T, got, want map[string]string) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Errorf("paths:\n got  %v\n want %v", got, want)
	}
}

// The layout of the machine this package was written on: v1 controllers in
// separate hierarchies, the runtime's memory cgroup nested, and an empty
// cgroup2 tree at /sys/fs/cgroup/unified.
const (
	hybridProcCgroup = `9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/abc
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`
	hybridMountinfo = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
)

func TestLayoutHybrid(t *testing.T) {
	l := testLayout(t, hybridProcCgroup, hybridMountinfo)
	if l.isV2() {
		t.Error("hybrid layout reported as v2")
	}
	if len(l.v1) != 9 || l.unified == nil {
		t.Fatalf("got %d v1 hierarchies, unified %v; want 9 and a unified mount", len(l.v1), l.unified)
	}

	checkPaths(t, testPaths(t, l, "/husk/ctr"), map[string]string{
		"name=systemd": "/sys/fs/cgroup/systemd/husk/ctr",
		"pids":         "/sys/fs/cgroup/pids/husk/ctr",
		"blkio":        "/sys/fs/cgroup/blkio/husk/ctr",
		"freezer":      "/sys/fs/cgroup/freezer/husk/ctr",
		"devices":      "/sys/fs/cgroup/devices/husk/ctr",
		"memory":       "/sys/fs/cgroup/memory/husk/ctr",
		"cpuset":       "/sys/fs/cgroup/cpuset/husk/ctr",
		"cpuacct":      "/sys/fs/cgroup/cpuacct/husk/ctr",
		"cpu":          "/sys/fs/cgroup/cpu/husk/ctr",
		"":             "/sys/fs/cgroup/unified/husk/ctr",
	})

	rel := testPaths(t, l, "husk/ctr")
	if got, want := rel["memory"], "/sys/fs/cgroup/memory/process_api/abc/husk/ctr"; got != want {
		t.Errorf("relative memory path = %q, want %q", got, want)
	}
	if got, want := rel["pids"], "/sys/fs/cgroup/pids/husk/ctr"; got != want {
		t.Errorf("relative pids path = %q, want %q", got, want)
	}
}

// Mountpoints names, for each key of Paths, the mount its directory is in,
// and nothing for a manager rebuilt from saved paths.
func TestMountpoints(t *testing.T) {
	l := testLayout(t, hybridProcCgroup, hybridMountinfo)
	m, err := newManager(l, "ctr")
	if err != nil {
		t.Fatal(err)
	}
	mps := Mountpoints(m)
	if len(mps) != len(m.Paths()) {
		t.Errorf("%d mountpoints for %d paths", len(mps), len(m.Paths()))
	}
	for key, dir := range m.Paths() {
		if mp := mps[key]; mp == "" || !strings.HasPrefix(dir, mp+"/") {
			t.Errorf("%q: mountpoint %q for %q", key, mp, dir)
		}
	}
	if mps["memory"] != "/sys/fs/cgroup/memory" || mps["name=systemd"] != "/sys/fs/cgroup/systemd" || mps[""] != "/sys/fs/cgroup/unified" {
		t.Errorf("mountpoints %v", mps)
	}
	if got := Mountpoints(Load(m.Paths())); len(got) != 0 {
		t.Errorf("a loaded manager's mountpoints: %v", got)
	}
}

func TestLayoutV2(t *testing.T) {
	l := testLayout(t,
		"0::/user.slice/user-1000.slice/session-3.scope\n",
		"30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n")
	if !l.isV2() {
		t.Fatal("unified layout not reported as v2")
	}
	checkPaths(t, testPaths(t, l, "/machine/ctr"), map[string]string{"": "/sys/fs/cgroup/machine/ctr"})
	checkPaths(t, testPaths(t, l, "ctr"), map[string]string{
		"": "/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope/ctr",
	})
}

// A controller-less name=systemd hierarchy, kept on some v2 hosts for old
// containers, must not turn the host into a hybrid one.
func TestLayoutV2WithNamedV1(t *testing.T) {
	l := testLayout(t,
		"1:name=systemd:/\n0::/\n",
		`30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
31 30 0:27 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,name=systemd
`)
	if !l.isV2() {
		t.Fatal("v2 host with name=systemd reported as hybrid")
	}
	checkPaths(t, testPaths(t, l, "/ctr"), map[string]string{"": "/sys/fs/cgroup/ctr"})
}

// Inside a container without a cgroup namespace: co-mounted controllers,
// subtrees bind-mounted at the hierarchy mountpoints, and hierarchies the
// kernel lists but this namespace has not mounted.
func TestLayoutV1BindMountedSubtree(t *testing.T) {
	l := testLayout(t, `12:net_cls,net_prio:/docker/abc
11:cpu,cpuacct:/docker/abc
10:memory:/docker/abc
9:rdma:/
1:name=systemd:/docker/abc
0::/
`, `700 690 0:40 /docker/abc /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup rw,cpu,cpuacct
701 690 0:41 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
702 690 0:42 /docker/abc /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
`)
	if l.isV2() || l.unified != nil {
		t.Fatalf("v1-only layout: isV2=%v unified=%v", l.isV2(), l.unified)
	}
	checkPaths(t, testPaths(t, l, "ctr"), map[string]string{
		"cpu":          "/sys/fs/cgroup/cpu,cpuacct/ctr",
		"cpuacct":      "/sys/fs/cgroup/cpu,cpuacct/ctr",
		"memory":       "/sys/fs/cgroup/memory/ctr",
		"name=systemd": "/sys/fs/cgroup/systemd/ctr",
	})
	checkPaths(t, testPaths(t, l, "/a/b"), map[string]string{
		"cpu":          "/sys/fs/cgroup/cpu,cpuacct/a/b",
		"cpuacct":      "/sys/fs/cgroup/cpu,cpuacct/a/b",
		"memory":       "/sys/fs/cgroup/memory/a/b",
		"name=systemd": "/sys/fs/cgroup/systemd/a/b",
	})
}

func TestPickMountPrefersWidestContainingRoot(t *testing.T) {
	l := testLayout(t, "4:memory:/docker/abc\n", `1 0 0:41 /other /mnt/other rw - cgroup cgroup rw,memory
2 0 0:41 /docker/abc /mnt/ctr rw - cgroup cgroup rw,memory
3 0 0:41 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
4 0 0:41 /docker /mnt/docker rw - cgroup cgroup rw,memory
`)
	if len(l.v1) != 1 {
		t.Fatalf("got %d hierarchies, want 1", len(l.v1))
	}
	if got := l.v1[0].mountpoint; got != "/sys/fs/cgroup/memory" {
		t.Errorf("picked %q, want /sys/fs/cgroup/memory", got)
	}
}

func TestResolveStaysInsideMount(t *testing.T) {
	h := hierarchy{mountpoint: "/sys/fs/cgroup/pids", root: "/", current: "/user"}
	for path, want := range map[string]string{
		"/../../etc":  "/sys/fs/cgroup/pids/etc",
		"../../../x":  "/sys/fs/cgroup/pids/x",
		"a/./b/../c":  "/sys/fs/cgroup/pids/user/a/c",
		"/a//b/":      "/sys/fs/cgroup/pids/a/b",
		"name:with:x": "/sys/fs/cgroup/pids/user/name:with:x",
	} {
		if got := h.resolve(path); got != want {
			t.Errorf("resolve(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestParseProcCgroup(t *testing.T) {
	entries, err := parseProcCgroup(strings.NewReader("2:cpu,cpuacct:/a:b\n0::/\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("got %d entries, want 2", len(entries))
	}
	if e := entries[0]; e.id != "2" || strings.Join(e.controllers, ",") != "cpu,cpuacct" || e.path != "/a:b" {
		t.Errorf("entry 0 = %+v", e)
	}
	if e := entries[1]; e.id != "0" || e.controllers != nil || e.path != "/" {
		t.Errorf("entry 1 = %+v", e)
	}
	if _, err := parseProcCgroup(strings.NewReader("garbage\n")); err == nil {
		t.Error("malformed line accepted")
	}
}

func TestNewRejectsEmptyPath(t *testing.T) {
	if _, err := New(""); err == nil {
		t.Error("New(\"\") succeeded")
	}
}

func TestNoHierarchies(t *testing.T) {
	l := testLayout(t, "4:memory:/\n", "")
	if _, err := newManager(l, "/x"); err == nil {
		t.Error("newManager succeeded without any mounted hierarchy")
	}
}

func TestLoad(t *testing.T) {
	v1 := map[string]string{"memory": "/sys/fs/cgroup/memory/x", "": "/sys/fs/cgroup/unified/x"}
	m := Load(v1)
	if _, ok := m.(*v1Manager); !ok {
		t.Fatalf("Load(%v) = %T, want v1 manager", v1, m)
	}
	checkPaths(t, m.Paths(), v1)
	if m.Path("memory") != v1["memory"] || m.Path("") != v1[""] || m.Path("pids") != "" {
		t.Errorf("Path lookups wrong for %v", v1)
	}

	v2 := map[string]string{"": "/sys/fs/cgroup/x"}
	m = Load(v2)
	if _, ok := m.(*v2Manager); !ok {
		t.Fatalf("Load(%v) = %T, want v2 manager", v2, m)
	}
	checkPaths(t, m.Paths(), v2)
	if m.Path("") != v2[""] || m.Path("memory") != "" {
		t.Errorf("Path lookups wrong for %v", v2)
	}

	// Neither the loaded map nor the returned one may alias the manager's.
	saved := map[string]string{"memory": "/a"}
	m = Load(saved)
	saved["memory"] = "/changed"
	m.Paths()["memory"] = "/changed"
	if got := m.Path("memory"); got != "/a" {
		t.Errorf("Path(memory) = %q after editing the maps, want /a", got)
	}
}

func TestIsV2MatchesHost(t *testing.T) {
	l := hostLayout(t)
	if IsV2() != l.isV2() {
		t.Errorf("IsV2() = %v, layout says %v", IsV2(), l.isV2())
	}
	if IsV2() && !testutil.FileExists("/sys/fs/cgroup/cgroup.controllers") {
		t.Error("IsV2() but /sys/fs/cgroup is not a cgroup2 mount")
	}
}
