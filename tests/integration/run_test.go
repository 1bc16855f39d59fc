package integration

import (
	"strings"
	"testing"
)

func TestRunPidOne(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "pid")
	if out := strings.TrimSpace(b.mustRun()); out != "1" {
		t.Fatalf("helper pid in a new pid namespace: want 1, got %q", out)
	}
}

func TestRunHostname(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "hostname")
	b.spec.Hostname = "husk-it-host"
	if out := strings.TrimSpace(b.mustRun()); out != "husk-it-host" {
		t.Fatalf("hostname: want %q, got %q", "husk-it-host", out)
	}
}

func TestRunExitCode(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"0", "7", "255"} {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/helper", "exit", code)
			r := b.run()
			if want := atoi(t, code); r.Code != want {
				t.Fatalf("want exit %d, got: %s", want, r)
			}
		})
	}
}

func TestRunKilledBySignal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sig  string
		want int
	}{{"KILL", 137}, {"TERM", 143}} {
		t.Run(tc.sig, func(t *testing.T) {
			t.Parallel()
			// pid 1 of a pid namespace cannot die of a signal other than
			// KILL (the helper's Go runtime re-raises TERM and then exits
			// 2), so TERM is tested in the runtime's pid namespace.
			b := newBundle(t, "/helper", "sleep", "600")
			if tc.sig == "TERM" {
				removeNamespace(b, "pid")
			}
			done := make(chan *result, 1)
			go func() { done <- b.run() }()
			b.waitStatus("running")
			if r := b.rt("kill", b.id, tc.sig); r.Code != 0 {
				t.Errorf("kill: %s", r)
			}
			r := <-done
			if r.Code != tc.want {
				t.Fatalf("run of a container killed by %s: want exit %d, got: %s", tc.sig, tc.want, r)
			}
		})
	}
}

func TestRunOutputPassthrough(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.shell("echo to-stdout; echo to-stderr >&2; /helper cat /etc/group")
	r := b.run()
	if r.Code != 0 {
		t.Fatalf("run: %s", r)
	}
	mustContain(t, r.Stdout, "to-stdout", "stdout")
	mustContain(t, r.Stdout, "extra:x:2000:test", "stdout")
	mustContain(t, r.Stderr, "to-stderr", "stderr")
	if strings.Contains(r.Stdout, "to-stderr") {
		t.Fatalf("stderr leaked into stdout: %s", r)
	}
}

func TestRunStdin(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/cat")
	r := b.runOpts(opts{stdin: strings.NewReader("line from stdin\n")})
	if r.Code != 0 || r.Stdout != "line from stdin\n" {
		t.Fatalf("cat in the container should echo stdin: %s", r)
	}
}

func TestRunDetached(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.save()
	r := b.rtOpts(opts{outFile: b.outPath}, "run", "-d", "--bundle", b.dir, b.id)
	if r.Code != 0 {
		t.Fatalf("run -d: %s", r)
	}
	st := b.state()
	if st.Status != "running" || st.Pid <= 0 {
		t.Fatalf("after run -d: want running with a pid, got %+v", st)
	}
}
