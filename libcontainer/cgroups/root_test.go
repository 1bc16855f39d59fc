package cgroups

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/internal/testutil"
)

// These tests work on the real cgroup hierarchies of the host, in cgroups
// of their own, with processes they start themselves.

func uniqueName(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "husk-test-" + hex.EncodeToString(b)
}

// startSleep starts a child the test may move between cgroups, and makes
// sure it is gone when the test ends.
func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// newTestManager returns a manager whose cgroup is removed at the end of
// the test. Cleanups run last-in first-out, so children started after this
// call are killed before the removal.
func newTestManager(t *testing.T, cgroupsPath string) Manager {
	t.Helper()
	m, err := New(cgroupsPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = m.Thaw()
		if err := m.Destroy(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return m
}

func readTrimmed(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func expectValue(t *testing.T, dir, file, want string) {
	t.Helper()
	if got := readTrimmed(t, filepath.Join(dir, file)); got != want {
		t.Errorf("%s = %q, want %q", file, got, want)
	}
}

func procsOf(t *testing.T, dir string) []int {
	t.Helper()
	var pids []int
	for f := range strings.FieldsSeq(readTrimmed(t, filepath.Join(dir, "cgroup.procs"))) {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	return pids
}

func hostLayout(t *testing.T) *layout {
	t.Helper()
	l, err := readLayout()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// unifiedTestCgroup creates a cgroup of the test's own in the host's
// cgroup2 tree (which a hybrid host has too, without controllers) and
// returns a v2 manager for it and its directory; the cgroup is thawed and
// removed at cleanup. It skips where there is no cgroup2 tree, and with
// hybridOnly where the host is not hybrid.
func unifiedTestCgroup(t *testing.T, hybridOnly bool) (Manager, string) {
	t.Helper()
	testutil.RequireRoot(t)
	l := hostLayout(t)
	if l.unified == nil {
		t.Skip("no cgroup2 hierarchy")
	}
	if hybridOnly && l.isV2() {
		t.Skip("needs a hybrid host")
	}
	dir := filepath.Join(l.unified.mountpoint, uniqueName(t))
	m := Load(map[string]string{"": dir})
	t.Cleanup(func() {
		_ = m.Thaw()
		if err := m.Destroy(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	if err := createDir(dir); err != nil {
		t.Fatal(err)
	}
	return m, dir
}

func TestLifecycle(t *testing.T) {
	testutil.RequireRoot(t)
	t.Run("absolute", func(t *testing.T) { testLifecycle(t, "/"+uniqueName(t)) })
	t.Run("relative", func(t *testing.T) {
		// cgroup v2 keeps processes out of a cgroup with children that use
		// controllers: below a cgroup that holds the test itself (under
		// systemd, its service's), no process can join.
		if IsV2() {
			if own, err := os.ReadFile("/proc/self/cgroup"); err == nil && strings.TrimSpace(string(own)) != "0::/" {
				t.Skipf("cgroup v2 and the test runs in %s, not the root", strings.TrimSpace(string(own)))
			}
		}
		testLifecycle(t, uniqueName(t))
	})
	t.Run("nested", func(t *testing.T) {
		// Destroy removes only the container's own level, so the test
		// removes the parent it caused Apply to create.
		parent := "/" + uniqueName(t)
		newTestManager(t, parent)
		testLifecycle(t, parent+"/ctr")
	})
}

func testLifecycle(t *testing.T, cgroupsPath string) {
	l := hostLayout(t)
	m := newTestManager(t, cgroupsPath)
	checkResolvedPaths(t, l, m, cgroupsPath)

	child := startSleep(t)
	pid := child.Process.Pid
	if err := m.Apply(pid); err != nil {
		t.Fatal(err)
	}
	paths := m.Paths()
	for key, dir := range paths {
		if !slices.Contains(procsOf(t, dir), pid) {
			t.Errorf("pid %d not in %q cgroup %s", pid, key, dir)
		}
	}

	if l.isV2() {
		checkSetV2(t, m)
	} else {
		checkSetV1(t, m)
	}

	// A process in a cgroup the container made below its own must be
	// listed, and the cgroup removed by Destroy.
	listDir := m.Path("")
	for _, s := range pidsOrder() {
		if d := m.Path(s); d != "" {
			listDir = d
			break
		}
	}
	sub := filepath.Join(listDir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	grandchild := startSleep(t)
	if err := joinCgroup(sub, grandchild.Process.Pid); err != nil {
		t.Fatal(err)
	}
	pids, err := m.Pids()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []int{pid, grandchild.Process.Pid} {
		if !slices.Contains(pids, p) {
			t.Errorf("Pids() = %v, missing %d", pids, p)
		}
	}

	checkFreeze(t, m)

	// A manager rebuilt from saved paths must see the same cgroup.
	loaded := Load(paths)
	if !maps.Equal(loaded.Paths(), paths) {
		t.Errorf("Load(Paths()).Paths() = %v, want %v", loaded.Paths(), paths)
	}
	if got, err := loaded.Pids(); err != nil || len(got) != len(pids) {
		t.Errorf("loaded Pids() = %v, %v; want %v", got, err, pids)
	}

	// Destroy right after the kill, without reaping first: the exiting
	// processes may still hold the cgroups for a moment.
	for _, c := range []*exec.Cmd{child, grandchild} {
		if err := c.Process.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	if err := loaded.Destroy(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*exec.Cmd{child, grandchild} {
		_ = c.Wait()
	}
	for key, dir := range paths {
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%q cgroup %s still exists after Destroy (%v)", key, dir, err)
		}
	}
	if err := m.Destroy(); err != nil {
		t.Errorf("second Destroy: %v", err)
	}
}

// checkResolvedPaths compares the manager's directories with the host's
// mounts and the test process's own cgroups, and checks that Apply has not
// been needed to compute them.
func checkResolvedPaths(t *testing.T, l *layout, m Manager, cgroupsPath string) {
	t.Helper()
	expect := func(h *hierarchy, key string) {
		base := "/"
		if !filepath.IsAbs(cgroupsPath) {
			base, _ = trimPathPrefix(h.current, h.root)
		}
		want := filepath.Join(h.mountpoint, base, cgroupsPath)
		if got := m.Path(key); got != want {
			t.Errorf("Path(%q) = %q, want %q", key, got, want)
		}
		if _, err := os.Stat(want); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s exists before Apply (%v)", want, err)
		}
	}
	if l.unified != nil {
		expect(l.unified, "")
	}
	if l.isV2() {
		if len(m.Paths()) != 1 {
			t.Errorf("v2 manager has paths %v, want only the v2 one", m.Paths())
		}
		return
	}
	for i := range l.v1 {
		for _, c := range l.v1[i].controllers {
			expect(&l.v1[i], c)
		}
	}
}

func checkSetV1(t *testing.T, m Manager) {
	t.Helper()
	mem, cpu, cpuset, pids, devices := m.Path("memory"), m.Path("cpu"), m.Path("cpuset"), m.Path("pids"), m.Path("devices")
	if mem == "" || cpu == "" || cpuset == "" || pids == "" || devices == "" {
		t.Fatalf("host lacks a v1 hierarchy this test needs: %v", m.Paths())
	}
	hasMemsw := testutil.FileExists(filepath.Join(mem, "memory.memsw.limit_in_bytes"))
	cpus := readTrimmed(t, filepath.Join(filepath.Dir(cpuset), "cpuset.cpus"))
	mems := readTrimmed(t, filepath.Join(filepath.Dir(cpuset), "cpuset.mems"))

	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{
			Limit: new(int64(64 << 20)), Reservation: new(int64(32 << 20)), Swap: new(int64(128 << 20)),
			Swappiness: new(uint64(10)), DisableOOMKiller: new(true),
		},
		CPU: &specs.LinuxCPU{
			Shares: new(uint64(512)), Quota: new(int64(50000)), Period: new(uint64(100000)),
			Cpus: cpus, Mems: mems,
		},
		Pids: &specs.LinuxPids{Limit: new(int64(100))},
		Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "b", Major: new(int64(7)), Minor: new(int64(0)), Access: "rw"},
		},
	}
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	expectValue(t, mem, "memory.limit_in_bytes", strconv.Itoa(64<<20))
	expectValue(t, mem, "memory.soft_limit_in_bytes", strconv.Itoa(32<<20))
	expectValue(t, mem, "memory.swappiness", "10")
	if s := readTrimmed(t, filepath.Join(mem, "memory.oom_control")); !strings.Contains(s, "oom_kill_disable 1") {
		t.Errorf("memory.oom_control = %q, want oom_kill_disable 1", s)
	}
	if hasMemsw {
		expectValue(t, mem, "memory.memsw.limit_in_bytes", strconv.Itoa(128<<20))
	}
	expectValue(t, cpu, "cpu.shares", "512")
	expectValue(t, cpu, "cpu.cfs_quota_us", "50000")
	expectValue(t, cpu, "cpu.cfs_period_us", "100000")
	expectValue(t, cpuset, "cpuset.cpus", cpus)
	expectValue(t, cpuset, "cpuset.mems", mems)
	expectValue(t, pids, "pids.max", "100")

	list := strings.Split(readTrimmed(t, filepath.Join(devices, "devices.list")), "\n")
	want := []string{"b 7:0 rw"}
	for _, d := range DefaultAllowedDevices() {
		s, _ := deviceRule(d)
		want = append(want, s)
	}
	slices.Sort(list)
	slices.Sort(want)
	if !slices.Equal(list, want) {
		t.Errorf("devices.list = %q, want %q", list, want)
	}

	// Raising both limits past the current memsw value and lowering both
	// below the current limit each need a different write order.
	for _, v := range [][2]int64{{256 << 20, 512 << 20}, {32 << 20, 48 << 20}} {
		err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: new(v[0]), Swap: new(v[1])}})
		if err != nil {
			t.Fatal(err)
		}
		expectValue(t, mem, "memory.limit_in_bytes", strconv.FormatInt(v[0], 10))
		if hasMemsw {
			expectValue(t, mem, "memory.memsw.limit_in_bytes", strconv.FormatInt(v[1], 10))
		}
	}
	// The same for the CFS pair, whose ratio the kernel checks.
	err := m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: new(int64(-1)), Period: new(uint64(200000))}})
	if err != nil {
		t.Fatal(err)
	}
	expectValue(t, cpu, "cpu.cfs_quota_us", "-1")
	expectValue(t, cpu, "cpu.cfs_period_us", "200000")

	// Unlimited values round-trip.
	err = m.Set(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: new(int64(-1)), Swap: new(int64(-1))},
		Pids:   &specs.LinuxPids{Limit: new(int64(-1))},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := readTrimmed(t, filepath.Join(mem, "memory.limit_in_bytes")); got == strconv.Itoa(32<<20) {
		t.Errorf("memory.limit_in_bytes still %s after setting -1", got)
	}
	expectValue(t, pids, "pids.max", "max")

	// A refused value reports the file.
	err = m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "100000"}})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(cpuset, "cpuset.cpus")) {
		t.Errorf("invalid cpuset.cpus: err = %v, want it to name the file", err)
	}
}

func checkSetV2(t *testing.T, m Manager) {
	t.Helper()
	dir := m.Path("")
	controllers := strings.Fields(readTrimmed(t, filepath.Join(dir, "cgroup.controllers")))
	r := &specs.LinuxResources{}
	if slices.Contains(controllers, "memory") {
		r.Memory = &specs.LinuxMemory{Limit: new(int64(64 << 20)), Reservation: new(int64(32 << 20))}
		if testutil.FileExists(filepath.Join(dir, "memory.swap.max")) {
			r.Memory.Swap = new(int64(96 << 20))
		}
	}
	if slices.Contains(controllers, "cpu") {
		r.CPU = &specs.LinuxCPU{Shares: new(uint64(1024)), Quota: new(int64(50000)), Period: new(uint64(100000))}
	}
	if slices.Contains(controllers, "pids") {
		r.Pids = &specs.LinuxPids{Limit: new(int64(100))}
	}
	if err := m.Set(r); err != nil {
		t.Fatal(err)
	}
	if r.Memory != nil {
		expectValue(t, dir, "memory.max", strconv.Itoa(64<<20))
		expectValue(t, dir, "memory.low", strconv.Itoa(32<<20))
		if r.Memory.Swap != nil {
			expectValue(t, dir, "memory.swap.max", strconv.Itoa(32<<20))
		}
	}
	if r.CPU != nil {
		expectValue(t, dir, "cpu.weight", "39")
		expectValue(t, dir, "cpu.max", "50000 100000")
	}
	if r.Pids != nil {
		expectValue(t, dir, "pids.max", "100")
	}
}

func checkFreeze(t *testing.T, m Manager) {
	t.Helper()
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if paused, err := m.Paused(); err != nil || !paused {
		t.Errorf("Paused() after Freeze = %v, %v; want true", paused, err)
	}
	if d := m.Path("freezer"); d != "" {
		expectValue(t, d, "freezer.state", "FROZEN")
	}
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if paused, err := m.Paused(); err != nil || paused {
		t.Errorf("Paused() after Thaw = %v, %v; want false", paused, err)
	}
}

func TestApplyCreateOnly(t *testing.T) {
	testutil.RequireRoot(t)
	m := newTestManager(t, "/"+uniqueName(t))
	if err := m.Apply(0); err != nil {
		t.Fatal(err)
	}
	for key, dir := range m.Paths() {
		if procs := procsOf(t, dir); len(procs) != 0 {
			t.Errorf("%q cgroup %s has processes %v after Apply(0)", key, dir, procs)
		}
	}
	if d := m.Path("cpuset"); d != "" {
		// Attaching later needs cpus and mems filled in at creation.
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if readTrimmed(t, filepath.Join(d, f)) == "" {
				t.Errorf("%s is empty after Apply", f)
			}
		}
	}
	// Joining a cgroup that already exists, as exec does.
	child := startSleep(t)
	if err := Load(m.Paths()).Apply(child.Process.Pid); err != nil {
		t.Fatal(err)
	}
	pids, err := m.Pids()
	if err != nil || !slices.Equal(pids, []int{child.Process.Pid}) {
		t.Errorf("Pids() = %v, %v; want [%d]", pids, err, child.Process.Pid)
	}
}

// TestV2ManagerOnHybrid runs the v2 manager in the controller-less v2 tree
// of a hybrid host, which still has cgroup.procs and the v2 freezer.
func TestV2ManagerOnHybrid(t *testing.T) {
	m, dir := unifiedTestCgroup(t, true)
	child := startSleep(t)
	if err := m.Apply(child.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if !testutil.FileExists(filepath.Join(dir, "cgroup.freeze")) {
		t.Skip("kernel has no cgroup v2 freezer")
	}
	if pids, err := m.Pids(); err != nil || !slices.Equal(pids, []int{child.Process.Pid}) {
		t.Errorf("Pids() = %v, %v; want [%d]", pids, err, child.Process.Pid)
	}
	checkFreeze(t, m)
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
	if testutil.FileExists(dir) {
		t.Errorf("%s still exists after Destroy", dir)
	}
}
