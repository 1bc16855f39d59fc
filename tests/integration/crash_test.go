package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// killAt runs the runtime under strace, which SIGKILLs it on its n-th call
// of syscall sc: deterministic kill points, at each step where the runtime
// makes or changes something. -b execve lets go of the container's stage
// once the runtime exec's it, so only the runtime command itself is killed.
// It returns the runtime's exit code: 137 when the kill happened, 0 once n
// is past the command's last such call.
func killAt(t *testing.T, b *bundle, sc string, n int, args ...string) int {
	t.Helper()
	code, _ := killAtTraced(t, b, sc, n, args...)
	return code
}

// cloned matches strace's record of a new process or thread, finished or
// resumed: "clone3(...) = 123", "<... clone resumed>...) = 123".
var cloned = regexp.MustCompile(`(?:\b(?:clone3?|fork|vfork)\(|<\.\.\. (?:clone3?|fork|vfork) resumed>).*\) = (\d+)`)

// killAtTraced is killAt that also returns every pid the runtime started
// (its stages, and its own threads), from strace's log of its clones, so
// a test can check that none outlives the kill.
func killAtTraced(t *testing.T, b *bundle, sc string, n int, args ...string) (int, []int) {
	t.Helper()
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Fatal("the kill-at-every-step tests need strace (apt-get install strace)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	log := filepath.Join(t.TempDir(), "strace")
	full := append([]string{"-f", "-b", "execve", "-o", log, "-e", "trace=clone,clone3,fork,vfork," + sc,
		"-e", fmt.Sprintf("inject=%s:signal=KILL:when=%d", sc, n), runtimeBin, "--root", b.root}, args...)
	cmd := exec.CommandContext(ctx, strace, full...)
	cmd.WaitDelay = 2 * time.Second
	_ = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s killed at %s #%d: timed out", args[0], sc, n)
	}
	data, _ := os.ReadFile(log)
	var pids []int
	for _, m := range cloned.FindAllStringSubmatch(string(data), -1) {
		if pid, err := strconv.Atoi(m[1]); err == nil && pid > 0 {
			pids = append(pids, pid)
		}
	}
	// strace ends as its tracee did: killed by the same signal.
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		return 137, pids
	}
	return cmd.ProcessState.ExitCode(), pids
}

// checkGone fails for each of pids still alive (and not a zombie) a moment
// after the command that started them was killed: a stage must end when
// the husk that drives it does.
func checkGone(t *testing.T, what string, pids []int) {
	t.Helper()
	for _, pid := range pids {
		if !waitFor(5*time.Second, func() bool { return !pidAlive(pid) }) {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
			t.Errorf("%s: process %d (%q), started by the killed command, is still alive", what, pid, cmdline)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
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
	// State records (renameat for a new file, renameat2 exchanging one),
	// the state dir and cgroups (mkdirat), the stage (clone3: its
	// preamble's fork), cgroup files and the sync socket (write).
	for _, sc := range []string{"mkdirat", "renameat", "renameat2", "clone3", "write"} {
		t.Run(sc, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t)
			b.save()
			kills := 0
			for n := 1; n <= 60; n++ {
				code, pids := killAtTraced(t, b, sc, n, "create", "--bundle", b.dir, b.id)
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
				checkGone(t, fmt.Sprintf("create killed at %s #%d", sc, n), pids)
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
					// Killed after the init read start's go-ahead, start
					// leaves an init on its way to execve: created until
					// it gets there, then running, and a second start
					// finds it so.
					if r := b.rt("start", b.id); r.Code != 0 && !strings.Contains(r.Stderr, "already running") {
						t.Fatalf("killed at %s #%d: start again: %s", sc, n, r)
					}
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

// A delete killed at any step leaves what a later delete --force removes:
// the delete --force of a running container (in Go: signals with
// pidfd_send_signal, cgroup and state removal with unlinkat), and the
// delete of a stopped one (in C, lifecycle.c: cgroups with rmdir, the
// state dir renamed away, then emptied).
func TestCrashDeleteEveryStep(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sc      string
		stopped bool
	}{{"pidfd_send_signal", false}, {"unlinkat", false}, {"rmdir", true}, {"rename", true}, {"unlinkat", true}} {
		name, args, cmd := tc.sc, []string{"delete", "--force"}, []string(nil)
		if tc.stopped {
			name, args, cmd = "stopped-"+tc.sc, []string{"delete"}, []string{"/bin/true"}
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, cmd...)
			kills := 0
			for n := 1; n <= 40; n++ {
				b.startContainer()
				if tc.stopped {
					b.waitStatus(specs.StateStopped)
				}
				code := killAt(t, b, tc.sc, n, append(args, b.id)...)
				if code != 137 && code != 0 {
					t.Fatalf("delete killed at %s #%d exited %d", tc.sc, n, code)
				}
				if r := b.rt("delete", "--force", b.id); r.Code != 0 {
					t.Fatalf("killed at %s #%d: delete --force again: %s", tc.sc, n, r)
				}
				checkNothingLeft(t, b)
				checkNoTempDirs(t, b)
				if t.Failed() || code == 0 {
					break
				}
				kills++
			}
			if kills == 0 {
				t.Fatalf("delete was never killed at a %s: the test proved nothing", tc.sc)
			}
			t.Logf("delete killed at %d points (each thread's n-th %s)", kills, tc.sc)
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

// An exec killed at any step leaves the container running as it was: no
// stage of the exec lives on, inside the container or out, and the next
// exec works. Both Go's exec and the C exec (which every exec after the
// first is, with exec.env saved) are killed.
func TestCrashExecEveryStep(t *testing.T) {
	t.Parallel()
	// The stage (clone3; the C exec's is a vfork), the settings and
	// messages it is sent (write; sendto from the C exec), the init's
	// pidfd (pidfd_open), the stage's preamble reaped (wait4).
	for _, c := range []struct {
		sc  string
		inC bool
	}{{"clone3", false}, {"write", false}, {"pidfd_open", false}, {"vfork", true}, {"sendto", true}, {"pidfd_open", true}, {"wait4", true}} {
		name := c.sc + map[bool]string{false: "-go", true: "-c"}[c.inC]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t)
			init := b.startContainer().Pid
			saved := filepath.Join(b.root, b.id, "exec.env")
			b.mustRT("exec", b.id, "true")
			kills := 0
			for n := 1; n <= 40; n++ {
				if !c.inC {
					os.Remove(saved)
				}
				code, pids := killAtTraced(t, b, c.sc, n, "exec", b.id, "/bin/sh", "-c", "echo ran >>/tmp/execs")
				if code != 137 && code != 0 {
					t.Fatalf("exec killed at %s #%d exited %d", name, n, code)
				}
				what := fmt.Sprintf("exec killed at %s #%d", name, n)
				checkGone(t, what, pids)
				if !waitFor(5*time.Second, func() bool { return onlyPid(b, init) }) {
					t.Errorf("%s: the container holds more than its init: %s", what, b.mustRT("ps", "--format", "json", b.id).Stdout)
				}
				if st := statusOf(b); st != "running" {
					t.Fatalf("%s: status %q, want running", what, st)
				}
				if out := b.mustRT("exec", b.id, "echo", "again").Stdout; out != "again\n" {
					t.Fatalf("%s: the next exec printed %q", what, out)
				}
				if t.Failed() || code == 0 {
					break
				}
				kills++
			}
			if kills == 0 {
				t.Fatalf("exec was never killed at a %s: the test proved nothing", c.sc)
			}
			t.Logf("exec killed at %d points (each thread's n-th %s)", kills, c.sc)
		})
	}
}

// onlyPid tells whether `ps` lists pid alone.
func onlyPid(b *bundle, pid int) bool {
	var pids []int
	r := b.rt("ps", "--format", "json", b.id)
	return r.Code == 0 && json.Unmarshal([]byte(r.Stdout), &pids) == nil && len(pids) == 1 && pids[0] == pid
}

// kill, update, pause and resume killed at any step leave a container that
// state reads, that resume (after a pause) thaws, and that delete --force
// removes.
func TestCrashKillUpdatePauseEveryStep(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		sc   string
		args []string
	}{
		{"kill", "pidfd_send_signal", []string{"kill", "TERM"}},
		// Without a PID namespace, KILL goes to each process of the
		// cgroup, as does --all.
		{"kill", "kill", []string{"kill", "KILL"}},
		{"kill-all", "kill", []string{"kill", "--all", "KILL"}},
		// cgroup files, then the state with the new resources, exchanged
		// with the old one (renameat2).
		{"update", "write", []string{"update", "--pids-limit", "77", "--memory", "100M"}},
		{"update", "renameat2", []string{"update", "--pids-limit", "77"}},
		// freezer.state (v1) or cgroup.freeze (v2) written and read back.
		{"pause", "write", []string{"pause"}},
		{"pause", "read", []string{"pause"}},
	} {
		t.Run(c.name+"-"+c.sc, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t)
			removeNamespace(b, specs.PIDNamespace) // kill --all signals each process
			kills := 0
			for n := 1; n <= 30; n++ {
				b.startContainer()
				// The id goes before the signal; any other flags don't mind.
				args := append(append([]string{c.args[0]}, b.id), c.args[1:]...)
				code := killAt(t, b, c.sc, n, args...)
				what := fmt.Sprintf("%s killed at %s #%d", c.name, c.sc, n)
				if code != 137 && code != 0 {
					t.Fatalf("%s: exited %d", what, code)
				}
				st := statusOf(b)
				switch {
				case st == "paused":
					// A pause killed half-way may leave the cgroup
					// freezing: resume must still thaw it.
					b.mustRT("resume", b.id)
					if st := statusOf(b); st != "running" {
						t.Errorf("%s: resume left it %q", what, st)
					}
					b.mustRT("exec", b.id, "true")
				case st == "running":
					r := b.rt("exec", b.id, "echo", "ok")
					// A signal sent just before husk was killed may
					// still be ending the container.
					if r.Code != 0 && strings.HasPrefix(c.name, "kill") && waitFor(2*time.Second, func() bool { return statusOf(b) == "stopped" }) {
						break
					}
					if r.Code != 0 || r.Stdout != "ok\n" {
						t.Errorf("%s: exec: %s", what, r)
					}
				case st != "stopped" || !strings.HasPrefix(c.name, "kill"):
					t.Errorf("%s: status %q", what, st)
				}
				if r := b.rt("delete", "--force", b.id); r.Code != 0 {
					t.Fatalf("%s: delete --force: %s", what, r)
				}
				checkNothingLeft(t, b)
				checkNoTempDirs(t, b)
				if t.Failed() || code == 0 {
					break
				}
				kills++
			}
			if kills == 0 {
				t.Fatalf("%s was never killed at a %s: the test proved nothing", c.name, c.sc)
			}
			t.Logf("%s killed at %d points (each thread's n-th %s)", c.name, kills, c.sc)
		})
	}
}

// An exec whose container stops while its stage starts says that this is
// why it failed, not only what the stage tripped on.
func TestExecWhileContainerStops(t *testing.T) {
	t.Parallel()
	if isRunc() {
		t.Skip("runc reports what its stage tripped on")
	}
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Fatal("this test needs strace (apt-get install strace)")
	}
	b := newBundle(t)
	init := b.startContainer().Pid
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	// The exec's socketpair, made as it starts its stage once it has
	// the init's pidfd, returns a second late; the init is killed
	// meanwhile.
	cmd := exec.CommandContext(ctx, strace, "-f", "-b", "execve", "-o", "/dev/null", "-e", "trace=socketpair",
		"-e", "inject=socketpair:delay_exit=1000000", runtimeBin, "--root", b.root, "exec", b.id, "true")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := syscall.Kill(init, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if err == nil {
		t.Fatalf("exec into a container killed under it succeeded: %s", out.String())
	}
	mustContain(t, out.String(), "the container stopped while the process was starting", "exec's error")
}

// An exec into a container whose init has begun to exit says that the
// container stopped. Such an init has dropped its namespaces (a setns
// through its pidfd fails with ESRCH) and waits in its exit for the PID
// namespace's last process, while /proc shows it sleeping, not a zombie.
// A child frozen in a v1 freezer cgroup holds it there: the kernel's
// SIGKILL does not end a frozen task until it is thawed. The init is
// busybox's single-threaded sleep: a threaded init's leader would show as
// a zombie while another of its threads waits.
func TestExecWhileInitExits(t *testing.T) {
	t.Parallel()
	if isRunc() {
		t.Skip("runc reports what its stage tripped on")
	}
	requireCgroupV1(t, "freezer")
	b := newBundle(t, "/bin/sh", "-c", "sleep 600 & exec sleep 600")
	init := b.startContainer().Pid
	dir := b.cgroupDir("freezer")
	var child string
	if !waitFor(outputTimeout, func() bool {
		for _, pid := range lines(readTrim(t, filepath.Join(dir, "cgroup.procs"))) {
			if pid != strconv.Itoa(init) {
				child = pid
			}
		}
		return child != ""
	}) {
		t.Fatalf("no child of init %d in %s", init, dir)
	}
	stuck := filepath.Join(dir, "stuck")
	if err := os.Mkdir(stuck, 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(stuck, "freezer.state")
	t.Cleanup(func() {
		_ = os.WriteFile(state, []byte("THAWED"), 0o644)
		waitFor(outputTimeout, func() bool { return !pidAlive(init) })
		_ = os.Remove(stuck)
	})
	writeFile(t, filepath.Join(stuck, "cgroup.procs"), child, 0o644)
	writeFile(t, state, "FROZEN", 0o644)
	if !waitFor(outputTimeout, func() bool { return readTrim(t, state) == "FROZEN" }) {
		t.Fatalf("%s: %s", state, readTrim(t, state))
	}
	if err := syscall.Kill(init, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Sleeping (not a zombie) with PF_EXITING, the ninth field's 0x4.
	stat := func() string {
		data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", init))
		return string(data)
	}
	if !waitFor(outputTimeout, func() bool {
		s := stat()
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 7 {
			return false
		}
		flags, _ := strconv.ParseUint(f[6], 10, 64)
		return f[0] == "S" && flags&0x4 != 0
	}) {
		t.Fatalf("init %d is not held in its exit by its frozen child: %s", init, stat())
	}
	r := b.rt("exec", b.id, "true")
	if r.Code == 0 {
		t.Fatalf("exec into a container whose init exits succeeded: %s", r)
	}
	mustContain(t, r.Stderr, "the container stopped while the process was starting", "exec's error")
}
