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

// stateBoth runs `state` as a client does, which the preamble may do in C
// (querycmd.c), and again with --debug, which leaves it to Go: their
// outputs must be the same bytes.
func stateBoth(t *testing.T, b *bundle) (r *result, goOut string) {
	t.Helper()
	r = b.rtOpts(opts{env: inittrace}, "state", b.id)
	viaGo := b.rtOpts(opts{global: []string{"--debug"}}, "state", b.id)
	if r.Code != 0 || viaGo.Code != 0 {
		t.Fatalf("state: %s\nwith --debug: %s", r, viaGo)
	}
	if r.Stdout != viaGo.Stdout {
		t.Errorf("state printed:\n%s\nGo's state printed:\n%s", r.Stdout, viaGo.Stdout)
	}
	return r, viaGo.Stdout
}

// `husk state` of a created, running, paused or stopped container is
// printed without a Go runtime, byte for byte as Go's state prints it,
// annotations sorted.
func TestStateWithoutGoRuntime(t *testing.T) {
	t.Parallel()
	for _, annotated := range []bool{false, true} {
		name := "no annotations"
		if annotated {
			name = "annotations"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/helper", "sleep", "600")
			if annotated {
				b.spec.Annotations = map[string]string{"zeta": "1", "alpha": "two words", "io.example/x": "a=b;c", "": "empty key"}
			}
			b.mustCreate()
			for _, step := range []struct {
				cmd    []string
				status specs.ContainerState
				inC    bool
			}{
				{nil, specs.StateCreated, true},
				{[]string{"start", b.id}, specs.StateRunning, true},
				{[]string{"pause", b.id}, "paused", true},
				{[]string{"resume", b.id}, specs.StateRunning, true},
				{[]string{"kill", b.id, "KILL"}, specs.StateStopped, true},
			} {
				if step.cmd != nil {
					b.mustRT(step.cmd...)
				}
				if step.status == specs.StateStopped {
					b.waitStatus(specs.StateStopped)
				}
				r, out := stateBoth(t, b)
				if goRuntimeStarted(r) == step.inC {
					t.Errorf("state of a %s container: want it done in C %v: %s", step.status, step.inC, r.Stderr)
				}
				var st specs.State
				if err := json.Unmarshal([]byte(out), &st); err != nil || st.Status != step.status || st.ID != b.id {
					t.Fatalf("state after %v: %v, %s", step.cmd, err, out)
				}
				if (st.Pid == 0) != (step.status == specs.StateStopped) {
					t.Errorf("pid %d of a %s container", st.Pid, st.Status)
				}
				if annotated && (st.Annotations["alpha"] != "two words" || st.Annotations[""] != "empty key") {
					t.Errorf("annotations: %v", st.Annotations)
				}
				if !annotated && strings.Contains(out, `"annotations"`) {
					t.Errorf("state of a container without annotations shows them: %s", out)
				}
			}
		})
	}
}

// Strings that Go's encoder escapes (HTML, non-ASCII, quotes), a state
// file with a string written with an escape that Go's encoder does not
// write, and a container that does not exist go to Go's state.
func TestStateInGo(t *testing.T) {
	t.Parallel()
	for _, tc := range []string{"html", "utf-8", "quote", "escaped slash", "no container"} {
		t.Run(tc, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/helper", "sleep", "600")
			switch tc {
			case "html":
				b.spec.Annotations = map[string]string{"a": "<b>&</b>"}
			case "utf-8":
				b.spec.Annotations = map[string]string{"a": "café"}
			case "quote":
				b.spec.Annotations = map[string]string{"a": `say "hi"\`}
			}
			if tc != "no container" {
				b.mustCreate()
			}
			if tc == "escaped slash" {
				// "\/" is "/" to JSON: Go prints it as "/", the C
				// state would copy it as written.
				path := filepath.Join(b.root, b.id, "state.json")
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				data = []byte(strings.Replace(string(data), `"bundle":"/`, `"bundle":"\/`, 1))
				if err := os.WriteFile(path, data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			r := b.rtOpts(opts{env: inittrace}, "state", b.id)
			if !goRuntimeStarted(r) {
				t.Errorf("state went to C: %s", r)
			}
			if tc == "no container" {
				if r.Code == 0 || !strings.Contains(r.Stderr, "does not exist") {
					t.Errorf("state of no container: %s", r)
				}
				return
			}
			var st specs.State
			if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil || st.Status != specs.StateCreated {
				t.Fatalf("state: %v: %s", err, r)
			}
			if want := b.spec.Annotations["a"]; st.Annotations["a"] != want {
				t.Errorf("annotation a = %q, want %q", st.Annotations["a"], want)
			}
			if st.Bundle != b.dir {
				t.Errorf("bundle %q, want %q", st.Bundle, b.dir)
			}
		})
	}
}

// `husk kill ID [SIGNAL]` of a running or created container sends the
// signal without a Go runtime, in each form of the signal Go's kill takes.
func TestKillWithoutGoRuntime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, sig, got string }{
		{"default", "", "SIGTERM 15"}, {"TERM", "TERM", "SIGTERM 15"}, {"sigusr1", "sigusr1", "SIGUSR1 10"},
		{"Hup", "Hup", "SIGHUP 1"}, {"12", "12", "SIGUSR2 12"}, {"SIGPWR", "SIGPWR", "SIGPWR 30"},
		{"KILL", "KILL", ""}, {"created", "KILL", ""},
		// Only a SIGKILL of a container without a PID namespace of its
		// own is Go's (it goes to all of its cgroup).
		{"host pidns", "", "SIGTERM 15"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/helper", "sigwait")
			if tc.name == "host pidns" {
				removeNamespace(b, specs.PIDNamespace)
			}
			if tc.name == "created" {
				b.mustCreate()
			} else {
				b.startContainer()
				b.waitOutput("ready")
			}
			args := []string{"kill", b.id}
			if tc.sig != "" {
				args = append(args, tc.sig)
			}
			r := b.rtOpts(opts{env: inittrace}, args...)
			if r.Code != 0 || goRuntimeStarted(r) {
				t.Fatalf("%v: want it done without Go: %s", args, r)
			}
			b.waitStatus(specs.StateStopped)
			if tc.got != "" {
				mustContain(t, b.output(), tc.got, "the signal the container got")
			}
		})
	}
}

// What the C kill leaves to Go: --all, a SIGKILL to a container without a
// PID namespace of its own (which kills its whole cgroup) or to a paused
// container (which Go thaws), a stopped container and a signal Go refuses
// (Go's errors).
func TestKillInGo(t *testing.T) {
	t.Parallel()
	for _, tc := range []string{"all", "host pidns", "paused", "stopped", "unknown signal", "long number"} {
		t.Run(tc, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/helper", "sigwait")
			args := []string{"kill", b.id, "KILL"}
			switch tc {
			case "all":
				args = []string{"kill", "--all", b.id, "KILL"}
			case "host pidns":
				b.shell(childScript)
				removeNamespace(b, specs.PIDNamespace)
			case "stopped":
				b.spec.Process.Args = []string{"/bin/true"}
			case "unknown signal":
				args = []string{"kill", b.id, "SIGNOPE"}
			case "long number":
				args = []string{"kill", b.id, "010"}
			}
			b.startContainer()
			child := 0
			switch tc {
			case "host pidns":
				child = b.childPid()
			case "paused":
				b.waitOutput("ready")
				b.mustRT("pause", b.id)
			case "stopped":
				b.waitStatus(specs.StateStopped)
			default:
				b.waitOutput("ready")
			}
			r := b.rtOpts(opts{env: inittrace}, args...)
			if !goRuntimeStarted(r) {
				t.Errorf("%v went to C: %s", args, r)
			}
			switch tc {
			case "stopped":
				if r.Code == 0 || !strings.Contains(r.Stderr, "container not running") {
					t.Errorf("kill of a stopped container: %s", r)
				}
			case "unknown signal":
				if r.Code == 0 || !strings.Contains(r.Stderr, `unknown signal "SIGNOPE"`) {
					t.Errorf("kill with an unknown signal: %s", r)
				}
			case "long number":
				if r.Code != 0 {
					t.Fatalf("kill 010: %s", r)
				}
				b.waitStatus(specs.StateStopped)
				mustContain(t, b.output(), "SIGUSR1 10", "the signal the container got")
			default:
				if r.Code != 0 {
					t.Fatalf("%v: %s", args, r)
				}
				b.waitStatus(specs.StateStopped)
			}
			if child != 0 && !waitFor(5*time.Second, func() bool { return !pidAlive(child) }) {
				t.Errorf("the container's child %d outlived kill KILL", child)
			}
		})
	}
}
