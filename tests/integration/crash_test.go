package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// killAt runs the runtime under strace, which SIGKILLs it on its n-th call
// of syscall sc: deterministic kill points, at each step where the runtime
// makes or changes something. -b execve lets go of the container's stage
// once the runtime exec's it, so only the runtime command itself is killed.
// It returns the runtime's exit code: 137 when the kill happened, 0 once n
// is past the command's last such call.
func killAt(t *testing.T, b *bundle, sc string, n int, args ...string) int {
	t.Helper()
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Fatal("the kill-at-every-step tests need strace (apt-get install strace)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	full := append([]string{"-f", "-b", "execve", "-o", "/dev/null", "-e", "trace=" + sc,
		"-e", fmt.Sprintf("inject=%s:signal=KILL:when=%d", sc, n), runtimeBin, "--root", b.root}, args...)
	cmd := exec.CommandContext(ctx, strace, full...)
	cmd.WaitDelay = 2 * time.Second
	_ = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s killed at %s #%d: timed out", args[0], sc, n)
	}
	// strace ends as its tracee did: killed by the same signal.
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		return 137
	}
	return cmd.ProcessState.ExitCode()
}

// statusOf is the status `state` reports, "" when the id is unknown.
func statusOf(b *bundle) string {
	r := b.rt("state", b.id)
	var st struct{ Status string }
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &st) != nil {
		return ""
	}
	return st.Status
}

// A create killed at any step leaves a container that list shows and
// delete --force removes entirely (its state dir, cgroups, processes,
// mounts), and its id can be used again at once.
func TestCrashCreateEveryStep(t *testing.T) {
	t.Parallel()
	// State records (renameat), the state dir and cgroups (mkdirat), the
	// stage (clone3: its preamble's fork), cgroup files and the sync socket
	// (write).
	for _, sc := range []string{"mkdirat", "renameat", "clone3", "write"} {
		t.Run(sc, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t)
			b.save()
			kills := 0
			for n := 1; n <= 60; n++ {
				code := killAt(t, b, sc, n, "create", "--bundle", b.dir, b.id)
				if code != 137 && code != 0 {
					t.Fatalf("create killed at %s #%d exited %d", sc, n, code)
				}
				if st := statusOf(b); code == 137 && st != "" && st != "stopped" && st != "created" {
					t.Errorf("killed at %s #%d: status %q, want stopped (or created)", sc, n, st)
				}
				if st := statusOf(b); st != "" && !strings.Contains(b.rt("list", "-q").Stdout, b.id+"\n") {
					t.Errorf("killed at %s #%d: the container (%s) is not listed", sc, n, st)
				}
				if r := b.rt("delete", "--force", b.id); r.Code != 0 {
					t.Fatalf("killed at %s #%d: delete --force: %s", sc, n, r)
				}
				checkNothingLeft(t, b)
				checkNoTempDirs(t, b)
				b.mustCreate()
				b.mustRT("delete", "--force", b.id)
				if t.Failed() || code == 0 {
					break
				}
				kills++
			}
			if kills == 0 {
				t.Fatalf("create was never killed at a %s: the test proved nothing", sc)
			}
			t.Logf("create killed at %d points (each thread's n-th %s)", kills, sc)
		})
	}
}

// A start killed at any step leaves the container created, for start to
// be tried again, or running.
func TestCrashStartEveryStep(t *testing.T) {
	t.Parallel()
	for _, sc := range []string{"openat", "read", "close", "unlinkat"} {
		t.Run(sc, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/bin/sh", "-c", "echo started; exec /helper sleep 600")
			kills := 0
			for n := 1; n <= 40; n++ {
				// The user's program ran once for each start that got it going.
				ran := strings.Count(b.output(), "started") + 1
				b.mustCreate()
				code := killAt(t, b, sc, n, "start", b.id)
				st := statusOf(b)
				switch {
				case code != 137 && code != 0:
					t.Fatalf("start killed at %s #%d exited %d", sc, n, code)
				case st == "created":
					b.mustRT("start", b.id)
					if st := statusOf(b); st != "running" {
						t.Fatalf("killed at %s #%d: start again: status %q", sc, n, st)
					}
				case st != "running":
					t.Fatalf("killed at %s #%d: status %q, want created or running", sc, n, st)
				}
				if !waitFor(outputTimeout, func() bool { return strings.Count(b.output(), "started") == ran }) {
					t.Fatalf("killed at %s #%d: the container's program did not run once: %q", sc, n, b.output())
				}
				b.mustRT("delete", "--force", b.id)
				checkNothingLeft(t, b)
				if code == 0 {
					break
				}
				kills++
			}
			if kills == 0 {
				t.Fatalf("start was never killed at a %s: the test proved nothing", sc)
			}
			t.Logf("start killed at %d points (each thread's n-th %s)", kills, sc)
		})
	}
}

// A delete killed at any step leaves what a later delete --force removes.
func TestCrashDeleteEveryStep(t *testing.T) {
	t.Parallel()
	// Signals (pidfd_send_signal), cgroup and state removal (unlinkat).
	for _, sc := range []string{"pidfd_send_signal", "unlinkat"} {
		t.Run(sc, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t)
			kills := 0
			for n := 1; n <= 40; n++ {
				b.startContainer()
				code := killAt(t, b, sc, n, "delete", "--force", b.id)
				if code != 137 && code != 0 {
					t.Fatalf("delete killed at %s #%d exited %d", sc, n, code)
				}
				if r := b.rt("delete", "--force", b.id); r.Code != 0 {
					t.Fatalf("killed at %s #%d: delete --force again: %s", sc, n, r)
				}
				checkNothingLeft(t, b)
				checkNoTempDirs(t, b)
				if t.Failed() || code == 0 {
					break
				}
				kills++
			}
			if kills == 0 {
				t.Fatalf("delete was never killed at a %s: the test proved nothing", sc)
			}
			t.Logf("delete killed at %d points (each thread's n-th %s)", kills, sc)
		})
	}
}

// checkNoTempDirs fails if the state root holds a directory that is not a
// container's: a state dir being made or removed that delete --force did
// not sweep.
func checkNoTempDirs(t *testing.T, b *bundle) {
	t.Helper()
	entries, _ := os.ReadDir(b.root)
	for _, e := range entries {
		if e.Name() != b.id {
			t.Errorf("the state root holds %s after delete --force", e.Name())
		}
	}
}
