package integration

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The systemd cgroup driver (--systemd-cgroup) needs systemd as PID 1 and
// the D-Bus system bus; these tests skip elsewhere. To run them from a
// host without systemd: make v2vm-test V2VM_FLAGS=--systemd V2VM_RUN=Systemd

var systemdFlag = opts{global: []string{"--systemd-cgroup"}}

// requireSystemd skips unless systemd runs the machine (sd_booted(3)).
func requireSystemd(t *testing.T) {
	t.Helper()
	if fi, err := os.Stat("/run/systemd/system"); err != nil || !fi.IsDir() {
		t.Skip("systemd is not the init system here (no /run/systemd/system)")
	}
	if _, err := os.Stat("/run/dbus/system_bus_socket"); err != nil {
		t.Skip("no D-Bus system bus (/run/dbus/system_bus_socket)")
	}
	if _, err := exec.LookPath("systemctl"); err != nil {
		t.Skip("no systemctl")
	}
}

// systemdBundle is a bundle for the systemd driver: cgroupsPath
// "system.slice:husk-it:<id>", so its unit is husk-it-<id>.scope. It
// returns the unit name and its cgroup v2 directory.
func systemdBundle(t *testing.T, args ...string) (b *bundle, unit, dir string) {
	t.Helper()
	requireSystemd(t)
	b = newBundle(t, args...)
	b.spec.Linux.CgroupsPath = "system.slice:husk-it:" + b.id
	unit = "husk-it-" + b.id + ".scope"
	// The scope's cgroup, which the harness checks is gone after delete.
	b.cgroup = "/system.slice/" + unit
	// Runs before newBundle's own cleanup: the unit must be gone once
	// the container is deleted, failed or not.
	t.Cleanup(func() {
		runtimeCmd(t, b.root, opts{}, "delete", "--force", b.id)
		checkUnitGone(t, unit)
	})
	return b, unit, "/sys/fs/cgroup/system.slice/" + unit
}

func systemctl(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	out, _ := exec.CommandContext(ctx, "systemctl", args...).CombinedOutput()
	return strings.TrimSpace(string(out))
}

// unitProps reads unit properties with `systemctl show`.
func unitProps(t *testing.T, unit string, props ...string) map[string]string {
	t.Helper()
	args := []string{"show", unit}
	for _, p := range props {
		args = append(args, "-p", p)
	}
	m := map[string]string{}
	for _, l := range lines(systemctl(t, args...)) {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

// checkUnitGone fails (and cleans up) when the unit is still loaded or
// listed as failed.
func checkUnitGone(t *testing.T, unit string) {
	t.Helper()
	var p map[string]string
	gone := waitFor(5*time.Second, func() bool {
		p = unitProps(t, unit, "LoadState", "ActiveState")
		return p["LoadState"] == "not-found" && p["ActiveState"] == "inactive"
	})
	if !gone {
		t.Errorf("unit %s remains: %v", unit, p)
		systemctl(t, "stop", unit)
		systemctl(t, "reset-failed", unit)
	}
	if failed := systemctl(t, "list-units", "--failed", "--all", "--plain", "--no-legend"); strings.Contains(failed, unit) {
		t.Errorf("unit %s is left as failed:\n%s", unit, failed)
		systemctl(t, "reset-failed", unit)
	}
	dir := "/sys/fs/cgroup/system.slice/" + unit
	if !waitFor(2*time.Second, func() bool { _, err := os.Stat(dir); return err != nil }) {
		t.Errorf("cgroup %s remains", dir)
		removeCgroup(dir)
	}
}

func TestSystemdCgroupScope(t *testing.T) {
	t.Parallel()
	b, unit, dir := systemdBundle(t)
	b.spec.Linux.Resources = &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptr(int64(64 << 20))},
		Pids:   &specs.LinuxPids{Limit: ptr(int64(50))},
	}
	b.spec.Annotations = map[string]string{
		"org.systemd.property.CPUWeight":      "123",
		"org.systemd.property.TimeoutStopSec": "7s",
		"org.systemd.property.CollectMode":    "'inactive-or-failed'",
	}
	t0 := time.Now()
	b.createOpts(systemdFlag).mustOK(t, "create --systemd-cgroup")
	t.Logf("create --systemd-cgroup took %v", time.Since(t0))
	b.mustRT("start", b.id)
	st := b.state()

	if got := procCgroups(t, st.Pid)[""]; got != "/system.slice/"+unit {
		t.Errorf("init's cgroup: want /system.slice/%s, got %q", unit, got)
	}
	if got := readTrim(t, filepath.Join(dir, "memory.max")); got != "67108864" {
		t.Errorf("memory.max: want 67108864, got %s", got)
	}
	if got := readTrim(t, filepath.Join(dir, "pids.max")); got != "50" {
		t.Errorf("pids.max: want 50, got %s", got)
	}
	if got := readTrim(t, filepath.Join(dir, "cpu.weight")); got != "123" {
		t.Errorf("cpu.weight (annotation CPUWeight=123): got %s", got)
	}
	p := unitProps(t, unit, "ActiveState", "Delegate", "Slice", "ControlGroup", "MemoryMax", "TasksMax",
		"CPUWeight", "TimeoutStopUSec", "CollectMode", "Description", "DefaultDependencies")
	for k, want := range map[string]string{
		"ActiveState": "active", "Delegate": "yes", "Slice": "system.slice",
		"ControlGroup": "/system.slice/" + unit, "MemoryMax": "67108864", "TasksMax": "50",
		"CPUWeight": "123", "TimeoutStopUSec": "7s", "CollectMode": "inactive-or-failed",
		"Description": "husk container " + b.id,
	} {
		if p[k] != want {
			t.Errorf("systemctl show %s: %s=%q, want %q", unit, k, p[k], want)
		}
	}

	// The state names the unit, so that later commands find it.
	data, err := os.ReadFile(filepath.Join(b.root, b.id, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var state struct {
		CgroupPaths map[string]string `json:"cgroup_paths"`
		SystemdUnit string            `json:"systemd_unit"`
	}
	if err := json.Unmarshal(data, &state); err != nil {
		t.Fatal(err)
	}
	if state.SystemdUnit != unit || state.CgroupPaths[""] != dir {
		t.Errorf("state.json systemd_unit %q, cgroup_paths %v", state.SystemdUnit, state.CgroupPaths)
	}

	// exec joins the scope.
	b.mustRT("exec", "--detach", b.id, "/helper", "sleep", "600")
	if !waitFor(5*time.Second, func() bool { return len(lines(readTrim(t, filepath.Join(dir, "cgroup.procs")))) == 2 }) {
		t.Errorf("the exec'd process is not in %s: cgroup.procs %q", dir, readTrim(t, filepath.Join(dir, "cgroup.procs")))
	}
	if ps := b.mustRT("ps", "--format", "json", b.id); strings.Count(ps.Stdout, ",")+1 != 2 {
		t.Errorf("ps: want 2 processes, got %s", ps.Stdout)
	}

	// pause and resume go through the scope's freezer.
	b.mustRT("pause", b.id)
	if got := readTrim(t, filepath.Join(dir, "cgroup.freeze")); got != "1" {
		t.Errorf("cgroup.freeze after pause: %s", got)
	}
	b.waitStatus("paused")
	b.mustRT("resume", b.id)
	b.waitStatus("running")

	// update changes the limit in systemd and in the cgroup.
	b.mustRT("update", "--memory", "128m", "--pids-limit", "60", b.id)
	if got := readTrim(t, filepath.Join(dir, "memory.max")); got != "134217728" {
		t.Errorf("memory.max after update: %s", got)
	}
	p = unitProps(t, unit, "MemoryMax", "TasksMax", "CPUWeight")
	if p["MemoryMax"] != "134217728" || p["TasksMax"] != "60" || p["CPUWeight"] != "123" {
		t.Errorf("unit after update: %v", p)
	}
	// systemd re-applying the unit keeps the limits.
	systemctl(t, "daemon-reload")
	if got := readTrim(t, filepath.Join(dir, "memory.max")); got != "134217728" {
		t.Errorf("memory.max after daemon-reload: %s", got)
	}

	t0 = time.Now()
	b.mustRT("delete", "--force", b.id)
	t.Logf("delete --force took %v", time.Since(t0))
	if pidAlive(st.Pid) {
		t.Errorf("init %d alive after delete --force", st.Pid)
	}
	checkUnitGone(t, unit)
}

// mustOK fails the test unless the runtime exited 0.
func (r *result) mustOK(t *testing.T, what string) {
	t.Helper()
	if r.Code != 0 || r.Err != nil {
		t.Fatalf("%s failed: %s", what, r)
	}
}

func TestSystemdCgroupDefaultPath(t *testing.T) {
	t.Parallel()
	requireSystemd(t)
	b := newBundle(t)
	b.spec.Linux.CgroupsPath = ""
	unit := "husk-" + b.id + ".scope"
	t.Cleanup(func() {
		runtimeCmd(t, b.root, opts{}, "delete", "--force", b.id)
		checkUnitGone(t, unit)
	})
	b.createOpts(systemdFlag).mustOK(t, "create --systemd-cgroup")
	st := b.state()
	if got := procCgroups(t, st.Pid)[""]; got != "/system.slice/"+unit {
		t.Errorf("init's cgroup with an empty cgroupsPath: want /system.slice/%s, got %q", unit, got)
	}
	// delete needs no --systemd-cgroup: the state tells.
	b.mustRT("delete", b.id)
	checkUnitGone(t, unit)
}

func TestSystemdCgroupRun(t *testing.T) {
	t.Parallel()
	b, unit, _ := systemdBundle(t, "/bin/sh", "-c", "cat /proc/self/cgroup; exit 3")
	// Without a cgroup namespace the process sees its host cgroup.
	removeNamespace(b, "cgroup")
	r := b.runOpts(systemdFlag)
	if r.Code != 3 {
		t.Fatalf("run: want exit 3, got %s", r)
	}
	mustContain(t, r.Stdout, "0::/system.slice/"+unit, "the container's /proc/self/cgroup")
	checkUnitGone(t, unit)
}

func TestSystemdCgroupUserns(t *testing.T) {
	t.Parallel()
	b, unit, dir := systemdBundle(t)
	setNamespace(b, "user", "")
	b.spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	b.spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	if err := chownTree(b.rootfs, 100000); err != nil {
		t.Fatal(err)
	}
	b.spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(20))}}
	b.createOpts(systemdFlag).mustOK(t, "create --systemd-cgroup")
	b.mustRT("start", b.id)
	st := b.state()
	if got := procCgroups(t, st.Pid)[""]; got != "/system.slice/"+unit {
		t.Errorf("init's cgroup: want /system.slice/%s, got %q", unit, got)
	}
	if got := readTrim(t, filepath.Join(dir, "pids.max")); got != "20" {
		t.Errorf("pids.max: %s", got)
	}
	b.mustRT("exec", "--detach", b.id, "/helper", "sleep", "600")
	if !waitFor(5*time.Second, func() bool { return len(lines(readTrim(t, filepath.Join(dir, "cgroup.procs")))) == 2 }) {
		t.Errorf("the exec'd process is not in %s", dir)
	}
}

func TestSystemdCgroupUnitExists(t *testing.T) {
	t.Parallel()
	b, unit, _ := systemdBundle(t)
	// Someone else's scope with the container's unit name.
	other := exec.Command("systemd-run", "--quiet", "--scope", "--unit="+unit, "/bin/sleep", "600")
	if err := other.Start(); err != nil {
		t.Skipf("systemd-run: %v", err)
	}
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()
	if !waitFor(10*time.Second, func() bool { return unitProps(t, unit, "ActiveState")["ActiveState"] == "active" }) {
		t.Fatalf("systemd-run --scope --unit=%s did not start", unit)
	}
	r := b.createOpts(systemdFlag)
	if r.Code == 0 {
		t.Fatalf("create over an existing unit succeeded: %s", r)
	}
	mustContain(t, r.Out(), "already exists", "create over an existing unit")
	if _, err := os.Stat(filepath.Join(b.root, b.id)); err == nil {
		t.Errorf("a failed create left its state directory")
	}
	if p := unitProps(t, unit, "ActiveState"); p["ActiveState"] != "active" {
		t.Errorf("the failed create touched the other unit: %v", p)
	}
	_ = other.Process.Kill()
	_ = other.Wait()
}

func TestSystemdCgroupBadProperty(t *testing.T) {
	t.Parallel()
	b, unit, _ := systemdBundle(t)
	b.spec.Annotations = map[string]string{"org.systemd.property.NoSuchHuskProperty": "uint64 1"}
	r := b.createOpts(systemdFlag)
	if r.Code == 0 {
		t.Fatalf("create with an unknown unit property succeeded: %s", r)
	}
	mustContain(t, r.Out(), "NoSuchHuskProperty", "create with an unknown unit property")
	if _, err := os.Stat(filepath.Join(b.root, b.id)); err == nil {
		t.Errorf("a failed create left its state directory")
	}
	checkUnitGone(t, unit)

	b.spec.Annotations = map[string]string{"org.systemd.property.CPUWeight": "'heavy'"}
	r = b.createOpts(systemdFlag)
	if r.Code == 0 {
		t.Fatalf("create with a bad CPUWeight succeeded: %s", r)
	}
	mustContain(t, r.Out(), "org.systemd.property.CPUWeight", "create with a bad annotation")
	checkUnitGone(t, unit)
}

func TestSystemdCgroupBadPath(t *testing.T) {
	t.Parallel()
	requireSystemd(t)
	b := newBundle(t)
	r := b.createOpts(systemdFlag)
	if r.Code == 0 {
		t.Fatalf("create with cgroupsPath %q and --systemd-cgroup succeeded: %s", b.cgroup, r)
	}
	mustContain(t, r.Out(), "slice:prefix:name", "create with a cgroupfs cgroupsPath")
	if _, err := os.Stat(filepath.Join(b.root, b.id)); err == nil {
		t.Errorf("a failed create left its state directory")
	}
}

func TestSystemdCgroupFeatures(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	r := b.mustRT("features")
	var f struct {
		Linux struct {
			Cgroup map[string]bool `json:"cgroup"`
		} `json:"linux"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &f); err != nil {
		t.Fatal(err)
	}
	if !f.Linux.Cgroup["systemd"] || f.Linux.Cgroup["systemdUser"] {
		t.Errorf("features linux.cgroup: %v (want systemd true, systemdUser false)", f.Linux.Cgroup)
	}
}
