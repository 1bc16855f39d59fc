package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// logHook is a /bin/sh hook that appends "NAME STATUS ID" (from the state
// JSON on its stdin) to logPath.
func logHook(name, logPath string) specs.Hook {
	script := `s=$(cat); st=$(echo "$s" | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p'); ` +
		`id=$(echo "$s" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p'); ` +
		`echo "` + name + ` $st $id" >> ` + logPath
	return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", script}, Timeout: ptr(10)}
}

func TestHooksOrderAndState(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.shell("echo user-program >> /hooks.log; exec /helper sleep 600")
	// One log, written by host-side hooks through the host path and by
	// startContainer (which runs in the container, after pivot_root)
	// through the container path.
	hostLog := filepath.Join(b.rootfs, "hooks.log")
	b.spec.Hooks = &specs.Hooks{
		Prestart:        []specs.Hook{logHook("prestart", hostLog)},
		CreateRuntime:   []specs.Hook{logHook("createRuntime", hostLog)},
		CreateContainer: []specs.Hook{logHook("createContainer", hostLog)},
		StartContainer:  []specs.Hook{logHook("startContainer", "/hooks.log")},
		Poststart:       []specs.Hook{logHook("poststart", hostLog)},
		Poststop:        []specs.Hook{logHook("poststop", hostLog)},
	}
	read := func() []string {
		data, _ := os.ReadFile(hostLog)
		return lines(string(data))
	}
	b.mustCreate()
	created := read()
	b.mustRT("start", b.id)
	waitFor(5*time.Second, func() bool { return len(read()) >= len(created)+3 })
	b.mustRT("kill", b.id, "KILL")
	b.waitStatus("stopped")
	b.mustRT("delete", b.id)
	got := read()

	for i, l := range got {
		got[i] = strings.TrimSuffix(l, " "+b.id)
	}
	for i, l := range created {
		created[i] = strings.TrimSuffix(l, " "+b.id)
	}
	wantCreate := []string{"prestart creating", "createRuntime creating", "createContainer creating"}
	if strings.Join(created, "|") != strings.Join(wantCreate, "|") {
		t.Errorf("hooks run by create: want %q, got %q", wantCreate, created)
	}
	// startContainer runs before the user program; poststart may race with
	// it (the program runs on its own), so only its place after
	// startContainer is fixed.
	if len(got) != 7 {
		t.Fatalf("want 7 lines (6 hooks + the program), got %q", got)
	}
	rest := got[3:]
	idx := func(s string) int {
		for i, l := range rest {
			if l == s {
				return i
			}
		}
		return -1
	}
	sc, us, ps, po := idx("startContainer created"), idx("user-program"), idx("poststart running"), idx("poststop stopped")
	if sc < 0 || us < 0 || ps < 0 || po < 0 {
		t.Fatalf("after create, want startContainer created, user-program, poststart running, poststop stopped; got %q", rest)
	}
	if !(sc < us && sc < ps && po == 3) {
		t.Fatalf("hook order after create: got %q", rest)
	}
	// Each hook saw the container's id on stdin.
	data, _ := os.ReadFile(hostLog)
	if n := strings.Count(string(data), " "+b.id+"\n"); n != 6 {
		t.Errorf("want the container id in the state of all 6 hooks, got %d:\n%s", n, data)
	}
}

func TestHooksPoststopOnDeleteForce(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	log := filepath.Join(t.TempDir(), "poststop.log")
	b.spec.Hooks = &specs.Hooks{Poststop: []specs.Hook{logHook("poststop", log)}}
	b.startContainer()
	b.mustRT("delete", "--force", b.id)
	data, _ := os.ReadFile(log)
	if !strings.HasPrefix(string(data), "poststop ") {
		t.Fatalf("poststop hook should run on delete --force: log %q", data)
	}
}

func TestHooksFailingPrestart(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	marker := filepath.Join(b.rootfs, "started")
	b.shell("/helper write /started yes")
	b.spec.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo hook-failed-on-purpose >&2; exit 3"}}}}
	r := b.create()
	if r.Code == 0 {
		t.Fatalf("create with a failing prestart hook should fail: %s", r)
	}
	if strings.TrimSpace(r.Stderr) == "" {
		t.Errorf("create with a failing prestart hook should say why: %s", r)
	}
	if _, err := os.Stat(filepath.Join(b.root, b.id)); err == nil {
		t.Errorf("state dir left behind by a failed create")
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the user program ran though a prestart hook failed")
	}
	for _, ss := range []string{"pids", "memory"} {
		if _, err := os.Stat(b.cgroupDir(ss)); err == nil {
			t.Errorf("cgroup %s left behind by a failed create", b.cgroupDir(ss))
		}
	}
	if r := b.rt("state", b.id); r.Code == 0 {
		t.Errorf("the container exists after a failed create: %s", r)
	}
}

func TestHooksTimeout(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.spec.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/sleep", Args: []string{"sleep", "30"}, Timeout: ptr(1)}}}
	start := time.Now()
	r := b.create()
	if r.Code == 0 {
		t.Fatalf("create with a prestart hook that times out should fail: %s", r)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("a hook with timeout 1s held create for %v", d)
	}
}

func TestHooksEnvAndArgs(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/true")
	log := filepath.Join(t.TempDir(), "hook.log")
	b.spec.Hooks = &specs.Hooks{Prestart: []specs.Hook{{
		Path: "/bin/sh",
		Args: []string{"sh", "-c", `echo "$0 $1 $HOOK_VAR" > ` + log, "arg0", "arg1"},
		Env:  []string{"HOOK_VAR=from-spec", "PATH=/usr/bin:/bin"},
	}}}
	b.mustRun()
	data, _ := os.ReadFile(log)
	if strings.TrimSpace(string(data)) != "arg0 arg1 from-spec" {
		t.Fatalf("hook args/env: got %q", data)
	}
}

// A failed create hook ends the lifecycle as delete would (runtime-spec
// lifecycle steps 12 and 13): nothing is left and poststop hooks run.
func TestHooksFailingCreateContainerRunsPoststop(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/true")
	log := filepath.Join(t.TempDir(), "poststop.log")
	b.spec.Hooks = &specs.Hooks{
		CreateContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo no-thanks >&2; exit 4"}}},
		Poststop:        []specs.Hook{logHook("poststop", log)},
	}
	r := b.create()
	if r.Code == 0 {
		t.Fatalf("create with a failing createContainer hook should fail: %s", r)
	}
	mustContain(t, r.Stderr, "no-thanks", "create's error")
	if _, err := os.Stat(filepath.Join(b.root, b.id)); err == nil {
		t.Errorf("state dir left behind by a failed create")
	}
	data, _ := os.ReadFile(log)
	if !strings.HasPrefix(string(data), "poststop stopped") {
		t.Fatalf("poststop should run after a failed create hook: log %q", data)
	}
}
