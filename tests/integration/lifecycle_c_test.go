package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// A plain `husk start` or `husk delete` is done by the preamble in C
// (libcontainer/nsenter/lifecycle.c), without a Go runtime; anything else
// goes to Go's command. GODEBUG=inittrace=1 tells them apart: a Go runtime
// prints its package initialisers.
func goRuntimeStarted(r *result) bool {
	return strings.Contains(r.Stderr, "init runtime @")
}

var inittrace = []string{"GODEBUG=inittrace=1"}

// The fast start releases the container, writes nothing, takes the
// global flags clients pass, and is not fooled by state that looks like
// the fields it reads: annotations are strings of the spec, and only a
// poststart hook sends start to Go.
func TestStartWithoutGoRuntime(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/sh", "-c", "echo started; exec /helper sleep 600")
	b.spec.Annotations = map[string]string{
		"pid":       "1",
		"poststart": `[{"path":"/bin/false"}]`,
		"decoy":     `"creating":true,"pid":1,"spec":{"hooks":{"poststart":[{"path":"/bin/false"}]}}\"}`,
	}
	b.spec.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true"}}}
	b.mustCreate()
	logPath := filepath.Join(t.TempDir(), "log.json")
	r := b.rtOpts(opts{env: inittrace, global: []string{"--log", logPath, "--log-format=json", "--systemd-cgroup"}}, "start", b.id)
	if r.Code != 0 {
		t.Fatalf("start: %s", r)
	}
	if goRuntimeStarted(r) {
		t.Errorf("start of a plain created container started a Go runtime: %s", r.Stderr)
	}
	if data, err := os.ReadFile(logPath); err != nil || len(data) != 0 {
		t.Errorf("--log after a start that worked: %q, %v; want an empty file", data, err)
	}
	b.waitOutput("started")
	if st := b.state(); st.Status != specs.StateRunning {
		t.Fatalf("status after start: %s", st.Status)
	}
	if _, err := os.Lstat(filepath.Join(b.root, b.id, "exec.fifo")); !os.IsNotExist(err) {
		t.Errorf("the exec fifo is still there after start: %v", err)
	}

	// A running container is Go's to refuse.
	r = b.rtOpts(opts{env: inittrace}, "start", b.id)
	if r.Code == 0 || !goRuntimeStarted(r) {
		t.Fatalf("second start: want Go's start and a failure: %s", r)
	}
	mustContain(t, r.Stderr, "cannot start an already running container", "the second start's error")
}

// Poststart hooks, --debug and an unknown flag go to Go's start, which
// runs the hooks.
func TestStartInGo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		hook   bool
		global []string
	}{{"poststart", true, nil}, {"debug", false, []string{"--debug"}}, {"rootless flag", false, []string{"--rootless", "false"}}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/bin/sh", "-c", "echo started; exec /helper sleep 600")
			ran := filepath.Join(t.TempDir(), "poststart")
			if tc.hook {
				b.spec.Hooks = &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo ran > " + ran}}}}
			}
			b.mustCreate()
			r := b.rtOpts(opts{env: inittrace, global: tc.global}, "start", b.id)
			if r.Code != 0 {
				t.Fatalf("start: %s", r)
			}
			if !goRuntimeStarted(r) {
				t.Errorf("start did not go to Go: %s", r.Stderr)
			}
			b.waitOutput("started")
			if _, err := os.Stat(ran); tc.hook && err != nil {
				t.Errorf("the poststart hook did not run: %v", err)
			}
		})
	}
}

// An init that fails after the fast start released it (a startContainer
// hook fails) gets start's error, reported by Go as its own would be.
func TestStartErrorAfterRelease(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/true")
	b.spec.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/false"}}}
	b.mustCreate()
	logPath := filepath.Join(t.TempDir(), "log.json")
	r := b.rtOpts(opts{global: []string{"--log", logPath, "--log-format", "json"}}, "start", b.id)
	if r.Code != 1 {
		t.Fatalf("start with a failing startContainer hook: want exit 1: %s", r)
	}
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	var line struct{ Level, Msg string }
	if err := json.Unmarshal(data, &line); err != nil {
		t.Fatalf("log %q: %v", data, err)
	}
	if line.Level != "error" || !strings.HasPrefix(line.Msg, "start container: ") || !strings.Contains(line.Msg, "startContainer hook #0") {
		t.Errorf("log line %q: want start container's error naming the hook", data)
	}
	b.waitStatus(specs.StateStopped)
}

// A stopped container's delete, forced or not, in either order of flag
// and id, is done without Go and removes the cgroups and the state dir,
// with any file a killed write left in it.
func TestDeleteWithoutGoRuntime(t *testing.T) {
	t.Parallel()
	for _, line := range []string{"delete ID", "delete --force ID", "delete -f ID", "delete ID --force", "delete ID, a stray file"} {
		t.Run(line, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/bin/true")
			b.startContainer()
			b.waitStatus(specs.StateStopped)
			line, stray := strings.CutSuffix(line, ", a stray file")
			if stray {
				// A state write killed before its rename leaves its
				// temporary file, which the C delete removes too.
				if err := os.WriteFile(filepath.Join(b.root, b.id, ".state-killed"), []byte("{"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			args := strings.Fields(strings.Replace(line, "ID", b.id, 1))
			r := b.rtOpts(opts{env: inittrace}, args...)
			if r.Code != 0 {
				t.Fatalf("%v: %s", args, r)
			}
			if goRuntimeStarted(r) {
				t.Errorf("%v of a stopped container started a Go runtime: %s", args, r.Stderr)
			}
			checkNothingLeft(t, b)
			checkNoTempDirs(t, b)
		})
	}
}

// What the C delete leaves to Go: poststop hooks, a live init, temporary
// dirs to sweep, a cgroup with a child (which it may have begun to
// remove), a state dir holding a directory. Go's delete does all of it.
func TestDeleteInGo(t *testing.T) {
	t.Parallel()
	for _, tc := range []string{"poststop", "created", "running", "temp dir", "child cgroup", "subdirectory"} {
		t.Run(tc, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/bin/sh", "-c", "exec /helper sleep 600")
			ran := filepath.Join(t.TempDir(), "poststop")
			args := []string{"delete", b.id}
			switch tc {
			case "poststop":
				b.spec.Process.Args = []string{"/bin/true"}
				b.spec.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo ran > " + ran}}}}
				b.startContainer()
				b.waitStatus(specs.StateStopped)
			case "created":
				b.mustCreate()
			case "running":
				b.startContainer()
				args = []string{"delete", "--force", b.id}
			case "temp dir":
				b.spec.Process.Args = []string{"/bin/true"}
				b.startContainer()
				b.waitStatus(specs.StateStopped)
				// A killed create's, old enough for delete --force to sweep.
				tmp := filepath.Join(b.root, "~new-killed")
				if err := os.Mkdir(tmp, 0o700); err != nil {
					t.Fatal(err)
				}
				old := time.Now().Add(-time.Minute)
				if err := os.Chtimes(tmp, old, old); err != nil {
					t.Fatal(err)
				}
				args = []string{"delete", "--force", b.id}
			case "child cgroup":
				b.spec.Process.Args = []string{"/bin/true"}
				b.startContainer()
				b.waitStatus(specs.StateStopped)
				if err := os.Mkdir(filepath.Join(b.cgroupDir(cgroupSubsystems[0]), "child"), 0o755); err != nil {
					t.Fatal(err)
				}
			case "subdirectory":
				// What a restore killed while CRIU ran leaves (criu-root):
				// only Go's delete removes a tree.
				b.spec.Process.Args = []string{"/bin/true"}
				b.startContainer()
				b.waitStatus(specs.StateStopped)
				sub := filepath.Join(b.root, b.id, "criu-root", "dev")
				if err := os.MkdirAll(sub, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(sub, "null"), nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			r := b.rtOpts(opts{env: inittrace}, args...)
			if r.Code != 0 {
				t.Fatalf("%v: %s", args, r)
			}
			if !goRuntimeStarted(r) {
				t.Errorf("%v did not go to Go: %s", args, r.Stderr)
			}
			if _, err := os.Stat(ran); tc == "poststop" && err != nil {
				t.Errorf("the poststop hook did not run: %v", err)
			}
			checkNothingLeft(t, b)
			checkNoTempDirs(t, b)
		})
	}
}

// A foreground run deletes its container once the process has exited, as
// delete --force would: in C where that delete is (nsenter.DeleteStopped),
// else in Go, which runs the poststop hooks and sweeps a killed create's
// temporary dir. Nothing of the container is left either way.
func TestRunDeletesStopped(t *testing.T) {
	t.Parallel()
	for _, tc := range []string{"plain", "poststop", "temp dir"} {
		t.Run(tc, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/bin/sh", "-c", "echo ran; exit 3")
			ran := filepath.Join(t.TempDir(), "poststop")
			tmp := filepath.Join(b.root, "~new-killed")
			switch tc {
			case "poststop":
				b.spec.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo ran > " + ran}}}}
			case "temp dir":
				if err := os.MkdirAll(tmp, 0o700); err != nil {
					t.Fatal(err)
				}
				old := time.Now().Add(-time.Minute)
				if err := os.Chtimes(tmp, old, old); err != nil {
					t.Fatal(err)
				}
			}
			r := b.run()
			if r.Code != 3 || !strings.Contains(r.Stdout, "ran") {
				t.Fatalf("run: want the process's output and exit code 3: %s", r)
			}
			checkNothingLeft(t, b)
			if _, err := os.Stat(ran); (tc == "poststop") != (err == nil) {
				t.Errorf("poststop hook ran: %v, want %v", err == nil, tc == "poststop")
			}
			if _, err := os.Lstat(tmp); tc == "temp dir" && err == nil {
				t.Errorf("run's delete left a killed create's temporary dir %s", tmp)
			}
		})
	}
}
