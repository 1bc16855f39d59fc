package integration

// Process set-up where today's runc (1.5) is the reference: the process
// environment, pids limits of 0, device rules, CPU affinity under a
// restricted husk, memory policy and scheduler errors, fds the init keeps
// and debug logging.

import (
	"strings"
	"testing"
)

// envLines returns the lines of `env` output that start with name=.
func envLines(out, name string) []string {
	var got []string
	for _, l := range lines(out) {
		if strings.HasPrefix(l, name+"=") {
			got = append(got, l)
		}
	}
	return got
}

// wantEnv fails unless name is set exactly once in out, to val.
func wantEnv(t *testing.T, out, name, val, what string) {
	t.Helper()
	got := envLines(out, name)
	if len(got) != 1 || got[0] != name+"="+val {
		t.Errorf("%s: %s entries %q, want exactly [%s=%s]\n%s", what, name, got, name, val, out)
	}
}

// An empty HOME in process.env is replaced by the user's home directory
// (also when an earlier entry set it), and a variable listed several times
// reaches the process once, with its last value: for the init and for exec.
func TestRunc15EnvHomeAndDuplicates(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/env")
	b.spec.Process.Env = append(b.spec.Process.Env, "HOME=", "ONE=one", "TWO=2", "ONE=two", "ONE=three")
	out := b.mustRun()
	wantEnv(t, out, "HOME", "/root", "run, empty HOME")
	wantEnv(t, out, "ONE", "three", "run, ONE set three times")
	wantEnv(t, out, "TWO", "2", "run")

	b2 := newBundle(t, "/bin/env")
	b2.spec.Process.Env = append(b2.spec.Process.Env, "HOME=/override", "HOME=")
	wantEnv(t, b2.mustRun(), "HOME", "/root", "run, HOME=/override then HOME=")

	b3 := newBundle(t)
	b3.spec.Process.Env = append(b3.spec.Process.Env, "HOME=")
	b3.startContainer()
	out = b3.mustRT("exec", "-e", "ONE=a", "-e", "ONE=b", "-e", "HOME=/x", "-e", "HOME=", b3.id, "/bin/env").Stdout
	wantEnv(t, out, "HOME", "/root", "exec, empty HOME")
	wantEnv(t, out, "ONE", "b", "exec, ONE set twice")
	b3.mustRT("kill", b3.id, "KILL")
}
