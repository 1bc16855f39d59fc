package integration

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// requireCgroupV1 skips unless the machine has the cgroup v1 hierarchies the
// tests read (this suite's machines do).
func requireCgroupV1(t *testing.T, ss ...string) {
	t.Helper()
	for _, s := range ss {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", s, "cgroup.procs")); err != nil {
			t.Skipf("no cgroup v1 %s hierarchy: %v", s, err)
		}
	}
}

// procCgroups parses /proc/PID/cgroup into controller -> path.
func procCgroups(t *testing.T, pid int) map[string]string {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range lines(string(data)) {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 {
			continue
		}
		for _, c := range strings.Split(f[1], ",") {
			m[c] = f[2]
		}
	}
	return m
}

func readTrim(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

func TestCgroupsPath(t *testing.T) {
	t.Parallel()
	requireCgroupV1(t, "pids", "memory", "cpu")
	b := newBundle(t)
	st := b.startContainer()
	cg := procCgroups(t, st.Pid)
	for _, c := range []string{"memory", "pids", "cpu", "devices", "freezer"} {
		if cg[c] != b.cgroup {
			t.Errorf("init's %s cgroup on the host: want %s, got %q", c, b.cgroup, cg[c])
		}
	}
	procs := readTrim(t, filepath.Join(b.cgroupDir("pids"), "cgroup.procs"))
	if !strings.Contains("\n"+procs+"\n", "\n"+strconv.Itoa(st.Pid)+"\n") {
		t.Errorf("init %d not in %s/cgroup.procs: %q", st.Pid, b.cgroupDir("pids"), procs)
	}
	// The exec'd process joins the same cgroup.
	out := b.mustExec(nil, "/helper", "cgroup")
	mustContain(t, out, ":memory:", "exec'd process cgroups")
}

func TestCgroupsMemoryLimit(t *testing.T) {
	t.Parallel()
	requireCgroupV1(t, "memory")
	b := newBundle(t)
	b.spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(64 << 20))}}
	b.startContainer()
	if got := readTrim(t, filepath.Join(b.cgroupDir("memory"), "memory.limit_in_bytes")); got != "67108864" {
		t.Fatalf("memory.limit_in_bytes: want 67108864, got %s", got)
	}
}

func TestCgroupsPidsLimit(t *testing.T) {
	t.Parallel()
	requireCgroupV1(t, "pids")
	b := newBundle(t)
	b.spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(8))}}
	// The shell and its sleeps: the 9th process cannot be forked.
	b.shell("for i in 1 2 3 4 5 6 7 8 9 10; do sleep 30 & done; wait")
	b.startContainer()
	if got := readTrim(t, filepath.Join(b.cgroupDir("pids"), "pids.max")); got != "8" {
		t.Fatalf("pids.max: want 8, got %s", got)
	}
	waitFor(3*time.Second, func() bool {
		return readTrim(t, filepath.Join(b.cgroupDir("pids"), "pids.current")) == "8"
	})
	if cur := atoi(t, readTrim(t, filepath.Join(b.cgroupDir("pids"), "pids.current"))); cur > 8 {
		t.Fatalf("pids.current %d exceeds the limit 8", cur)
	}
	time.Sleep(200 * time.Millisecond)
	if r := b.execIn(nil, "/bin/true"); r.Code == 0 {
		t.Fatalf("exec in a container at its pids limit should fail: %s", r)
	}
}

func TestCgroupsKillAll(t *testing.T) {
	t.Parallel()
	requireCgroupV1(t, "pids")
	b := newBundle(t)
	// Without a pid namespace, killing the init does not take its children
	// down: only kill --all reaches them.
	removeNamespace(b, "pid")
	b.shell("sleep 600 & echo $! > /child; wait")
	b.startContainer()
	childFile := filepath.Join(b.rootfs, "child")
	if !waitFor(5*time.Second, func() bool { d, _ := os.ReadFile(childFile); return len(d) > 0 }) {
		t.Fatal("the container never forked its child")
	}
	child := atoi(t, readTrim(t, childFile))
	if !pidAlive(child) {
		t.Fatalf("child %d is not running", child)
	}
	b.mustRT("kill", "--all", b.id, "KILL")
	if !waitFor(5*time.Second, func() bool { return !pidAlive(child) }) {
		t.Fatalf("kill --all did not reach the forked child %d", child)
	}
	b.waitStatus("stopped")
}

func TestCgroupsDeleteForceRemoves(t *testing.T) {
	t.Parallel()
	requireCgroupV1(t, "pids", "memory")
	b := newBundle(t)
	b.shell("sleep 600 & sleep 600 & wait")
	st := b.startContainer()
	for _, ss := range []string{"pids", "memory"} {
		if _, err := os.Stat(b.cgroupDir(ss)); err != nil {
			t.Fatalf("cgroup %s missing while running: %v", b.cgroupDir(ss), err)
		}
	}
	b.mustRT("delete", "--force", b.id)
	for _, ss := range []string{"pids", "memory"} {
		if _, err := os.Stat(b.cgroupDir(ss)); err == nil {
			t.Errorf("cgroup %s remains after delete --force", b.cgroupDir(ss))
		}
	}
	if pidAlive(st.Pid) {
		t.Errorf("init %d alive after delete --force", st.Pid)
	}
}

func TestCgroupsNamespaceView(t *testing.T) {
	t.Parallel()
	requireCgroupV1(t, "memory")
	b := newBundle(t, "/helper", "cgroup")
	setNamespace(b, "cgroup", "")
	out := b.mustRun()
	for _, l := range lines(out) {
		f := strings.SplitN(l, ":", 3)
		if len(f) == 3 && strings.Contains(f[1], "memory") && f[2] != "/" {
			t.Fatalf("in a cgroup namespace, the memory cgroup should read /: %q", l)
		}
	}
}

// Without a cgroup namespace, a v1 host's /sys/fs/cgroup in the container
// is a tmpfs of binds, one per hierarchy, of the container's own directory,
// read-only as the spec's mount asks: the memory one shows the container's
// limit, a write to it fails, and the tmpfs holds nothing else.
func TestCgroupsV1MountBinds(t *testing.T) {
	t.Parallel()
	requireCgroupV1(t, "memory", "pids")
	b := newBundle(t)
	removeNamespace(b, "cgroup")
	b.spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(48 << 20))}}
	b.shell("cat /sys/fs/cgroup/memory/memory.limit_in_bytes; echo ---; " +
		"echo 1 > /sys/fs/cgroup/pids/cgroup.procs && echo written; echo ---; " +
		"grep ' /sys/fs/cgroup/memory ' /proc/self/mountinfo")
	parts := strings.Split(b.mustRun(), "---\n")
	if len(parts) != 3 {
		t.Fatalf("the container's output is not three parts: %q", parts)
	}
	if got := strings.TrimSpace(parts[0]); got != "50331648" {
		t.Errorf("memory.limit_in_bytes in the container: %q, want the container's 50331648", got)
	}
	if strings.Contains(parts[1], "written") {
		t.Error("the container wrote to its pids cgroup through /sys/fs/cgroup")
	}
	f := strings.Fields(parts[2])
	if len(f) < 6 || !strings.HasPrefix(f[5], "ro") {
		t.Errorf("/sys/fs/cgroup/memory in the container: %q, want a read-only mount", parts[2])
	}
}
