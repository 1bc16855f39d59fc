package integration

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A husk command runs its Go start-up on one CPU (one_cpu in
// libcontainer/nsenter) and gives the CPUs back before main. What it starts
// (a createRuntime hook here) and each of its own threads (those of a
// running `events`) must have every CPU husk was given.
func TestStartupGivesCPUsBack(t *testing.T) {
	t.Parallel()
	if runtime.NumCPU() < 2 {
		t.Skip("needs two CPUs")
	}
	want := cpusAllowed(t, "/proc/self/status")
	b := newBundle(t)
	b.shell("sleep 60")
	hookOut := catHook(b, "/proc/self/status")
	b.startContainer()
	if got := cpusAllowed(t, hookOut); got != want {
		t.Errorf("a hook husk started may run on CPUs %s, want %s (the test's)", got, want)
	}

	ev := startEvents(t, b, "--interval", "200ms")
	ev.next(t, "stats", 30*time.Second)
	tasks, err := filepath.Glob(filepath.Join("/proc", itoa(ev.pid), "task", "*", "status"))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("events' threads: %v %v", tasks, err)
	}
	for _, task := range tasks {
		if got := cpusAllowed(t, task); got != want {
			t.Errorf("husk thread %s may run on CPUs %s, want %s", filepath.Dir(task), got, want)
		}
	}
}

// cpusAllowed is the Cpus_allowed_list of a /proc status file.
func cpusAllowed(t *testing.T, status string) string {
	t.Helper()
	data, err := os.ReadFile(status)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("%s has no Cpus_allowed_list", status)
	return ""
}

// A husk command runs with a coarser timer slack than its caller gave it
// (raise_slack in libcontainer/nsenter); nothing it starts may keep that:
// not the container's process, under the C init and the Go one, not an
// exec'd process, not a hook.
func TestStartedProcessesGetTheCallersTimerSlack(t *testing.T) {
	t.Parallel()
	want := readTrim(t, "/proc/self/timerslack_ns")
	b := newBundle(t)
	b.shell("cat /proc/self/timerslack_ns; sleep 60")
	hookOut := catHook(b, "/proc/self/timerslack_ns")
	b.startContainer()
	if got := strings.TrimSpace(b.waitOutput("\n")); got != want {
		t.Errorf("the container's process has a timer slack of %s ns, want %s (the test's)", got, want)
	}
	if got := readTrim(t, hookOut); got != want {
		t.Errorf("a hook has a timer slack of %s ns, want %s", got, want)
	}
	for i := range 2 { // the first exec takes Go's stage, the next the C command
		if got := strings.TrimSpace(b.mustExec(nil, "cat", "/proc/self/timerslack_ns")); got != want {
			t.Errorf("exec %d: the process has a timer slack of %s ns, want %s", i+1, got, want)
		}
	}

	goInit := newBundle(t)
	goInit.shell("cat /proc/self/timerslack_ns")
	goInit.save()
	r := goInit.rt("--debug", "--log", filepath.Join(t.TempDir(), "log"), "run", "--bundle", goInit.dir, goInit.id)
	if r.Code != 0 {
		t.Fatalf("run with the Go init: %s", r)
	}
	if got := strings.TrimSpace(r.Stdout); got != want {
		t.Errorf("under the Go init, the container's process has a timer slack of %s ns, want %s", got, want)
	}
}

// catHook has a createRuntime hook, which husk starts, copy file (a /proc
// file of its own) to the path it returns.
func catHook(b *bundle, file string) string {
	out := filepath.Join(b.dir, "hook-"+filepath.Base(file))
	b.spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{
		Path: busyboxPath, Args: []string{"sh", "-c", "cat " + file + " > " + out}, Timeout: ptr(10),
	}}}
	return out
}
