package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runc 1.5 words a failed hook "error running <kind> hook #<n>: ...", n
// counting from 0 in that kind's list (runc's tests/integration/hooks.bats
// looks for exactly that); so must husk, for every kind of hook.
func TestHooksRunc15ErrorNamesKindAndIndex(t *testing.T) {
	t.Parallel()
	// The second hook of each list fails. Host-side hooks use the host's
	// /bin/true and /bin/false, startContainer the rootfs' busybox ones.
	pair := []specs.Hook{{Path: "/bin/true"}, {Path: "/bin/false"}}
	set := func(kind string) *specs.Hooks {
		h := &specs.Hooks{}
		switch kind {
		case "prestart":
			h.Prestart = pair //nolint:staticcheck // deprecated, still run
		case "createRuntime":
			h.CreateRuntime = pair
		case "createContainer":
			h.CreateContainer = pair
		case "startContainer":
			h.StartContainer = pair
		case "poststart":
			h.Poststart = pair
		}
		return h
	}
	for _, kind := range []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/bin/true")
			b.spec.Hooks = set(kind)
			r := b.run()
			if r.Code == 0 {
				t.Fatalf("run with a failing %s hook succeeded: %s", kind, r)
			}
			mustContain(t, r.Out(), "error running "+kind+" hook #1:", "run's error")
			// The hook's kind comes once, before "hook", not repeated after.
			if strings.Contains(r.Out(), "error running hook #") {
				t.Errorf("error in husk's old wording: %s", r)
			}
		})
	}
	// create runs the first three kinds itself (hooks.bats' "runc create
	// [hook fails]").
	for _, kind := range []string{"prestart", "createRuntime", "createContainer"} {
		t.Run("create-"+kind, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/bin/true")
			b.spec.Hooks = set(kind)
			r := b.create()
			if r.Code == 0 {
				t.Fatalf("create with a failing %s hook succeeded: %s", kind, r)
			}
			mustContain(t, r.Out(), "error running "+kind+" hook #1:", "create's error")
		})
	}
}

// Poststop hooks are run one by one (a failure is a warning and the rest
// still run); each warning must still number its hook by its place in the
// list, not as the first of a list of one.
func TestHooksRunc15PoststopWarningIndex(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	ran := filepath.Join(t.TempDir(), "third-ran")
	b.spec.Hooks = &specs.Hooks{Poststop: []specs.Hook{
		{Path: "/bin/true"},
		{Path: "/bin/false"},
		{Path: "/bin/sh", Args: []string{"sh", "-c", "echo yes > " + ran}},
	}}
	b.startContainer()
	b.mustRT("kill", b.id, "KILL")
	b.waitStatus("stopped")
	r := b.rt("delete", b.id)
	if r.Err != nil && r.Code < 0 {
		t.Fatalf("delete: %s", r)
	}
	mustContain(t, r.Out(), "error running poststop hook #1:", "delete's warning")
	if strings.Contains(r.Out(), "poststop hook #0") {
		t.Errorf("the failing poststop hook is numbered #0: %s", r)
	}
	// runtime-spec: a failed poststop hook is a warning and the rest still
	// run. runc 1.5 stops at the failing one; husk follows the spec.
	if isRunc() {
		return
	}
	if data, err := os.ReadFile(ran); err != nil || strings.TrimSpace(string(data)) != "yes" {
		t.Errorf("the poststop hook after the failing one did not run (%v)", err)
	}
}

// A startContainer hook with no env of its own runs with the container
// process's environment, as in runc (hooks.bats: "startContainer hook
// should inherit process environment"): process.env, plus the HOME the
// process gets from /etc/passwd. A hook that sets env keeps only its own.
func TestHooksRunc15StartContainerInheritsProcessEnv(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/true")
	writeFile(t, filepath.Join(b.rootfs, "dump-env.sh"), "#!/bin/sh\nenv > \"$1\"\n", 0o755)
	b.spec.Process.Env = []string{"PATH=/bin", "ONE=two", "FOO=bar"}
	b.spec.Hooks = &specs.Hooks{StartContainer: []specs.Hook{
		{Path: "/dump-env.sh", Args: []string{"dump-env.sh", "/tmp/inherited.env"}},
		{Path: "/dump-env.sh", Args: []string{"dump-env.sh", "/tmp/own.env"}, Env: []string{"OWN=1"}},
	}}
	r := b.run()
	if r.Code != 0 {
		t.Fatalf("run: %s", r)
	}
	read := func(name string) map[string]string {
		data, err := os.ReadFile(filepath.Join(b.rootfs, "tmp", name))
		if err != nil {
			t.Fatalf("the startContainer hook left no %s: %v", name, err)
		}
		env := map[string]string{}
		for _, l := range lines(string(data)) {
			if k, v, ok := strings.Cut(l, "="); ok {
				env[k] = v
			}
		}
		return env
	}
	inherited := read("inherited.env")
	for k, want := range map[string]string{"ONE": "two", "FOO": "bar", "PATH": "/bin", "HOME": "/root"} {
		if got, ok := inherited[k]; !ok || got != want {
			t.Errorf("hook without env: %s=%q (set: %v), want %q; env %v", k, got, ok, want, inherited)
		}
	}
	own := read("own.env")
	if own["OWN"] != "1" {
		t.Errorf("hook with its own env lost it: %v", own)
	}
	if _, ok := own["ONE"]; ok {
		t.Errorf("hook with its own env also got the process's: %v", own)
	}
}
