package integration

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
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

// TestRunForwardsSignals: a foreground run passes the signals husk gets on
// to the container's process (nsenter.ForwardSignals, os/signal's SIGPIPE),
// stops on none of them, and exits with the process's code.
func TestRunForwardsSignals(t *testing.T) {
	t.Parallel()
	sigs := []struct {
		sig  syscall.Signal
		name string // as the shell's trap takes it
	}{
		{syscall.SIGUSR1, "USR1"}, {syscall.SIGHUP, "HUP"}, {syscall.SIGINT, "INT"}, {syscall.SIGTSTP, "TSTP"},
		{syscall.SIGPIPE, "PIPE"}, {syscall.Signal(37), "37"}, {syscall.Signal(64), "64"},
	}
	script := ""
	for _, s := range sigs {
		script += fmt.Sprintf(`trap "echo got-%s" %s; `, s.name, s.name)
	}
	script += `trap "echo got-TERM; exit 7" TERM; echo ready; while :; do sleep 0.1; done`
	b := newBundle(t, "/bin/sh", "-c", script)
	b.save()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, runtimeBin, "--root", b.root, "run", "--bundle", b.dir, b.id)
	out, stderr := startPiped(t, cmd)
	lines := make(chan string)
	go func() {
		defer close(lines)
		for sc := bufio.NewScanner(out); sc.Scan(); {
			lines <- sc.Text()
		}
	}()
	next := func() string {
		select {
		case l := <-lines:
			return l
		case <-time.After(10 * time.Second):
			return "(nothing in 10s)"
		}
	}
	if l := next(); l != "ready" {
		t.Fatalf("the process never got ready: %q; stderr: %s", l, stderr.String())
	}
	for _, s := range append(sigs, struct {
		sig  syscall.Signal
		name string
	}{syscall.SIGTERM, "TERM"}) {
		if err := cmd.Process.Signal(s.sig); err != nil {
			t.Fatal(err)
		}
		if l, want := next(), "got-"+s.name; l != want {
			cmd.Process.Kill()
			t.Fatalf("after %s to husk the process said %q, want %q; stderr: %s", s.name, l, want, stderr.String())
		}
	}
	err := cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 7 {
		t.Errorf("husk exited with %d (%v), want the process's code 7; stderr: %s", code, err, stderr.String())
	}
}
