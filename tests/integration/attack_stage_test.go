package integration

// Attacks on the runtime's own stages (`husk init` and `husk exec`: the
// runtime's binary, started on the host, that enters the container's
// namespaces, drops to the container's capabilities and then execs the
// user's program), run from real processes inside real containers by
// `helper stagerace` (tests/helper/attack_stage.go). Each test asserts on
// the host side that nothing of the host was reached, and that the attack
// really ran (the attacker caught a stage before its final execve), so
// that an attacker that silently did nothing fails the test.
//
// Every attack on the runtime's binary targets a copy of it (opts.binary),
// the attacker only ever writes back the bytes it read, and the copy's
// sha256, mtime and ctime are compared: a successful write shows as a
// changed mtime even though the content stays the same.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/sys/capability"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// binCopy is a private copy of the runtime under test for one attack.
type binCopy struct {
	path         string
	sum          string
	mtime, ctime syscall.Timespec
	runtimeSum   string
	// victim is "-victim DEV:INO" for helper stagerace: the only file it
	// may write to.
	victim []string
}

func newBinCopy(t *testing.T) *binCopy {
	t.Helper()
	c := &binCopy{path: filepath.Join(t.TempDir(), filepath.Base(runtimeBin))}
	copyFile(t, runtimeBin, c.path, 0o755)
	c.sum = sha256File(t, c.path)
	c.runtimeSum = sha256File(t, runtimeBin)
	var st syscall.Stat_t
	if err := syscall.Stat(c.path, &st); err != nil {
		t.Fatal(err)
	}
	c.mtime, c.ctime = st.Mtim, st.Ctim
	c.victim = []string{"-victim", fmt.Sprintf("%d:%d", st.Dev, st.Ino)}
	return c
}

// check fails the test if the copy was written to (its content, or only
// its times: the attacker writes back what it read), and stops the suite's
// trust in the runtime binary itself if that changed.
func (c *binCopy) check(t *testing.T) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(c.path, &st); err != nil {
		t.Fatal(err)
	}
	if sum := sha256File(t, c.path); sum != c.sum {
		t.Errorf("the runtime binary was modified from inside the container (sha256 %s -> %s)", c.sum, sum)
	}
	if st.Mtim != c.mtime || st.Ctim != c.ctime {
		t.Errorf("the runtime binary was written to from inside the container (mtime %v -> %v, ctime %v -> %v)",
			time.Unix(c.mtime.Unix()), time.Unix(st.Mtim.Unix()), time.Unix(c.ctime.Unix()), time.Unix(st.Ctim.Unix()))
	}
	if sum := sha256File(t, runtimeBin); sum != c.runtimeSum {
		t.Fatalf("the runtime under test %s changed during the test: the suite can't be trusted", runtimeBin)
	}
}

// allCaps is every capability the runtime can grant: those in the test's
// own bounding set (a CI sandbox may hold fewer than the kernel knows).
func allCaps() []string {
	status, _ := os.ReadFile("/proc/self/status")
	var bnd uint64
	for _, l := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
			bnd, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	var out []string
	for _, c := range capability.ListKnown() {
		if bnd&(1<<uint(c)) != 0 {
			out = append(out, "CAP_"+strings.ToUpper(c.String()))
		}
	}
	return out
}

// setCaps replaces the process's capability sets (nil keeps the default).
func setCaps(b *bundle, caps []string) {
	if caps == nil {
		return
	}
	b.spec.Process.Capabilities = &specs.LinuxCapabilities{
		Bounding: caps, Effective: caps, Permitted: caps,
	}
}

var (
	capsSysAdmin       = []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN"}
	capsSysAdminPtrace = []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_ADMIN", "CAP_SYS_PTRACE"}
)

// attackCase is one container configuration an attack runs in.
type attackCase struct {
	name   string
	caps   []string // nil: the default of `spec`
	userns bool
}

func (c attackCase) apply(t *testing.T, b *bundle) {
	t.Helper()
	setCaps(b, c.caps)
	if c.userns {
		userns(t, b)
	}
}

// raceDone parses the attacker's last line, "done k=v ...".
func raceDone(t *testing.T, out string) map[string]int {
	t.Helper()
	for _, l := range lines(out) {
		rest, ok := strings.CutPrefix(l, "done ")
		if !ok {
			continue
		}
		m := map[string]int{}
		for _, f := range strings.Fields(rest) {
			if k, v, ok := strings.Cut(f, "="); ok {
				n, _ := strconv.Atoi(v)
				m[k] = n
			}
		}
		return m
	}
	t.Fatalf("the attacker did not finish (no done line); its output:\n%s", head(out, 40))
	return nil
}

// waitFile waits until the file at path contains s (or d passes) and
// returns its content.
func waitFile(path, s string, d time.Duration) (string, bool) {
	var out string
	ok := waitFor(d, func() bool {
		data, _ := os.ReadFile(path)
		out = string(data)
		return strings.Contains(out, s)
	})
	return out, ok
}

// heldWritable: the attacker has a handle of the runtime's binary on a
// mount it made writable; the runtime must stop running from the copy so
// the write can land (a busy binary refuses writers).
var heldWritable = regexp.MustCompile(`(?m)^SETATTR \d+ ok`)

// checkExeAttack asserts on the outcome of an attack on the binary.
func checkExeAttack(t *testing.T, bin *binCopy, out string) {
	t.Helper()
	bin.check(t)
	var wrote, writable []string
	for _, l := range lines(out) {
		switch {
		case strings.HasPrefix(l, "WROTE "):
			wrote = append(wrote, l)
		case strings.HasPrefix(l, "WRITABLE "):
			writable = append(writable, l)
		}
	}
	if len(wrote) > 0 {
		t.Errorf("the container wrote to the runtime's binary through %d handles, first: %s", len(wrote), wrote[0])
	}
	if len(writable) > 0 {
		t.Errorf("the container opened %d host files mapped into a runtime stage for writing (nothing written), first: %s", len(writable), writable[0])
	}
	d := raceDone(t, out)
	t.Logf("attacker: %v; its output:\n%s", d, head(out, 20))
	if d["stages"] == 0 {
		t.Errorf("the attacker never caught a runtime stage before its execve: the attack proved nothing")
	}
}

// execLoop runs `exec ID args` (from the copy bin) until stop holds or d
// passes; it returns how many execs ran and how many succeeded.
func execLoop(b *bundle, o opts, d time.Duration, stop func() bool, args ...string) (execs, ok int) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && !stop() {
		r := b.rtOpts(o, append([]string{"exec", b.id}, args...)...)
		execs++
		if r.Code == 0 {
			ok++
		}
	}
	return execs, ok
}

var exeCases = []attackCase{
	{"default-caps", nil, false},
	{"cap-sys-admin", capsSysAdmin, false},
	{"cap-sys-admin-ptrace", capsSysAdminPtrace, false},
	{"all-caps", allCaps(), false},
	{"userns-cap-sys-admin", capsSysAdmin, true},
	{"userns-all-caps", allCaps(), true},
}

// CVE-2019-5736 through `exec`: the container's init watches for the exec
// stage, opens its /proc/PID/exe with O_PATH once the stage has dropped to
// the container's capabilities (or at once with CAP_SYS_PTRACE), clears
// MOUNT_ATTR_RDONLY on the mount behind it (a detached read-only bind
// mount of the runtime's binary belongs to no namespace's owner but an
// anonymous one, so CAP_SYS_ADMIN in the container's own mount namespace
// is enough) and writes through the handle once the binary isn't busy.
// Without CAP_SYS_ADMIN the remount fails, so default-caps can't escape
// even when unprotected; with a user namespace the stage turns
// non-dumpable when it switches to the namespace's root, which keeps the
// attacker out of its /proc entries.
func TestStageExecExeOverwrite(t *testing.T) {
	t.Parallel()
	for _, c := range exeCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			bin := newBinCopy(t)
			b := newBundle(t, append([]string{"/helper", "stagerace", "-exe", "-secs", "2", "-grace", "1"}, bin.victim...)...)
			c.apply(t, b)
			b.save()
			o := opts{binary: bin.path}
			if r := b.rtOpts(opts{binary: bin.path, outFile: b.outPath}, "create", "--bundle", b.dir, b.id); r.Code != 0 {
				t.Fatalf("create: %s", r)
			}
			if r := b.rtOpts(o, "start", b.id); r.Code != 0 {
				t.Fatalf("start: %s", r)
			}
			b.waitOutput("ready")
			// Stop exec'ing once the attacker holds a writable handle:
			// the exec'ing runtime keeps the binary busy.
			execs, ok := execLoop(b, o, 1800*time.Millisecond, func() bool {
				return heldWritable.MatchString(b.output())
			}, "/helper", "pid")
			b.waitStatus("stopped")
			t.Logf("%d execs, %d succeeded", execs, ok)
			if ok == 0 {
				t.Errorf("no exec succeeded during the attack: it proved nothing")
			}
			checkExeAttack(t, bin, b.output())
		})
	}
}

// CVE-2019-5736 against the init stage. Nothing of a container can see
// its own init stage through a new PID namespace before the init execs,
// except a process exec'd into the container while it is created and not
// started: the init stage is then pid 1 of that namespace, in the
// container's mount namespace, with the container's capabilities, waiting
// for `start`. (A second container joining the first one's PID namespace
// is the other way in, see the run case.) The attacker is exec'd (-d, so
// no runtime process keeps the binary busy) before `start`.
func TestStageInitExeOverwrite(t *testing.T) {
	t.Parallel()
	for _, c := range []attackCase{
		{"cap-sys-admin", capsSysAdmin, false},
		{"all-caps", allCaps(), false},
		{"userns-all-caps", allCaps(), true},
	} {
		t.Run("create-start-"+c.name, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/helper", "sleep", "600")
			c.apply(t, b)
			bin := newBinCopy(t)
			b.save()
			o := opts{binary: bin.path}
			if r := b.rtOpts(opts{binary: bin.path, outFile: b.outPath}, "create", "--bundle", b.dir, b.id); r.Code != 0 {
				t.Fatalf("create: %s", r)
			}
			attackOut := filepath.Join(t.TempDir(), "attack.out")
			if r := b.rtOpts(opts{binary: bin.path, outFile: attackOut}, append([]string{"exec", "-d", b.id,
				"/helper", "stagerace", "-exe", "-secs", "0.5", "-grace", "1.5"}, bin.victim...)...); r.Code != 0 {
				t.Fatalf("exec the attacker into the created container: %s", r)
			}
			// Give it the init stage for a while (it is there from the
			// start: it needs no race), then start.
			waitFile(attackOut, "SETATTR", 500*time.Millisecond)
			if r := b.rtOpts(o, "start", b.id); r.Code != 0 {
				t.Fatalf("start: %s", r)
			}
			out, _ := waitFile(attackOut, "\ndone ", 10*time.Second)
			checkExeAttack(t, bin, out)
		})
	}
	// run: the new container joins the PID namespace of one whose init is
	// the attacker, so its init stage appears there while `run` carries it
	// through create and start.
	t.Run("run-shared-pidns", func(t *testing.T) {
		t.Parallel()
		bin := newBinCopy(t)
		a := newBundle(t, append([]string{"/helper", "stagerace", "-exe", "-secs", "2", "-grace", "1"}, bin.victim...)...)
		setCaps(a, capsSysAdmin)
		a.save()
		o := opts{binary: bin.path}
		if r := a.rtOpts(opts{binary: bin.path, outFile: a.outPath}, "create", "--bundle", a.dir, a.id); r.Code != 0 {
			t.Fatalf("create: %s", r)
		}
		if r := a.rtOpts(o, "start", a.id); r.Code != 0 {
			t.Fatalf("start: %s", r)
		}
		a.waitOutput("ready")
		b := newBundle(t, "/helper", "pid")
		setCaps(b, capsSysAdmin)
		setNamespace(b, specs.PIDNamespace, fmt.Sprintf("/proc/%d/ns/pid", a.state().Pid))
		// The same rootfs: the attacker leaves alone what it can reach by
		// path, so the second container's /helper is no target, only the
		// runtime's binary is.
		b.spec.Root.Path = a.rootfs
		runs, ok := 0, 0
		deadline := time.Now().Add(1800 * time.Millisecond)
		for time.Now().Before(deadline) && !heldWritable.MatchString(a.output()) {
			r := b.runOpts(o)
			runs++
			if r.Code == 0 {
				ok++
			} else if runs == 1 {
				t.Logf("run in the attacker's PID namespace: %s", r)
			}
		}
		a.waitStatus("stopped")
		t.Logf("%d runs, %d succeeded", runs, ok)
		if ok == 0 {
			t.Errorf("no run succeeded during the attack: it proved nothing")
		}
		checkExeAttack(t, bin, a.output())
	})
}

// leakedFiles opens host files the way a careless engine leaks them into
// the runtime (not close-on-exec): a secret directory, as a directory fd
// and an O_PATH one, and a secret file in it, at scattered fd numbers
// (opts.extraFiles: entry i is fd 3+i, nil entries are closed). It returns
// them, the directory, and the strings that must never reach the
// container: the file's name and content are random and appear nowhere
// else.
func leakedFiles(t *testing.T) (files []*os.File, dir string, secrets []string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "host-secret-dir")
	name := "secret-name-" + randHex(6)
	content := "secret-content-" + randHex(6)
	writeFile(t, filepath.Join(dir, name), content+"\n", 0o600)
	open := func(p string, flags int) *os.File {
		fd, err := unix.Open(p, flags|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		f := os.NewFile(uintptr(fd), p)
		t.Cleanup(func() { f.Close() })
		return f
	}
	d := open(dir, unix.O_RDONLY|unix.O_DIRECTORY)
	dp := open(dir, unix.O_PATH|unix.O_DIRECTORY)
	f := open(filepath.Join(dir, name), unix.O_RDONLY)
	// fds 3, 6, 7, 9, 10, 14, 20.
	files = make([]*os.File, 18)
	files[0], files[3], files[4], files[6], files[7], files[11], files[17] = d, dp, f, d, f, dp, d
	return files, dir, []string{name, content}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// checkNoLeak asserts that the container's output shows nothing of the
// leaked host directory.
func checkNoLeak(t *testing.T, out, dir string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the container read %q from the host (through a leaked fd, or a stage's root or cwd)", s)
		}
	}
	for _, l := range lines(out) {
		if strings.HasPrefix(l, "LEAK ") && strings.Contains(l, dir) {
			t.Errorf("the container opened a leaked host fd: %s", l)
		}
		// Whatever the file: a stage's fd must not give the container
		// a writable handle of a file outside it.
		if strings.HasPrefix(l, "LEAK-WRITABLE ") {
			t.Errorf("the container opened a host file for writing through a stage's fd: %s", l)
		}
		if f := strings.Fields(l); len(f) > 2 && f[0] == "LEAK" && (f[2] == "root" || f[2] == "cwd") {
			if len(l) > 400 {
				l = l[:400] + "..."
			}
			t.Errorf("the container reached a host directory through a stage's %s: %s", f[2], l)
		}
	}
}

// checkFdAttack asserts on the outcome of an attack on a stage's fds.
func checkFdAttack(t *testing.T, out, dir string, secrets []string) {
	t.Helper()
	checkNoLeak(t, out, dir, secrets)
	d := raceDone(t, out)
	t.Logf("attacker: %v; its output:\n%s", d, head(out, 20))
	if d["stages"] == 0 {
		t.Errorf("the attacker never caught a runtime stage before its execve: the attack proved nothing")
	}
}

// CVE-2016-9962: an engine runs the runtime with fds that are not
// close-on-exec (`husk exec ID cmd 7</host/dir`). The runtime marks them
// close-on-exec, but its stage still holds them until its final execve,
// and a process in the container that opens /proc/STAGE/fd/N gets the
// host directory. The attacker reads through every fd of every stage it
// sees; the secret's name and content must never show up.
func TestStageLeakedFds(t *testing.T) {
	t.Parallel()
	for _, c := range []attackCase{
		{"exec", nil, false},
		{"exec-cap-sys-ptrace", []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_PTRACE"}, false},
		{"exec-userns", nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			leaked, dir, secrets := leakedFiles(t)
			b := newBundle(t, "/helper", "stagerace", "-fds", "-secs", "1.5", "-grace", "0", "-hostpath", dir)
			c.apply(t, b)
			b.startContainer()
			b.waitOutput("ready")
			execs, ok := execLoop(b, opts{extraFiles: leaked}, 1300*time.Millisecond, func() bool {
				return containsAny(b.output(), secrets)
			}, "/helper", "pid")
			b.waitStatus("stopped")
			t.Logf("%d execs, %d succeeded", execs, ok)
			if ok == 0 {
				t.Errorf("no exec succeeded during the attack: it proved nothing")
			}
			checkFdAttack(t, b.output(), dir, secrets)
		})
	}
	// create: the init stage holds what `create` leaked until `start`;
	// an attacker exec'd into the created container sees it as pid 1.
	for _, c := range []attackCase{
		{"create", nil, false},
		{"create-cap-sys-ptrace", []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_PTRACE"}, false},
		{"create-userns", nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			leaked, dir, secrets := leakedFiles(t)
			b := newBundle(t, "/helper", "sleep", "600")
			c.apply(t, b)
			if r := b.createOpts(opts{extraFiles: leaked}); r.Code != 0 {
				t.Fatalf("create: %s", r)
			}
			attackOut := filepath.Join(t.TempDir(), "attack.out")
			if r := b.rtOpts(opts{outFile: attackOut}, "exec", "-d", b.id,
				"/helper", "stagerace", "-fds", "-secs", "0.5", "-grace", "0", "-hostpath", dir); r.Code != 0 {
				t.Fatalf("exec the attacker into the created container: %s", r)
			}
			out, _ := waitFile(attackOut, "\ndone ", 10*time.Second)
			b.mustRT("start", b.id)
			checkFdAttack(t, out, dir, secrets)
		})
	}
	// run: the new container's init stage appears in the PID namespace
	// of an attacker's container that it joins (as in a pod that shares
	// its PID namespace). Both use the same rootfs, so that only what
	// leads out of it counts. Not with CAP_SYS_PTRACE over the host's user
	// namespace: that attacker may ptrace the stage, which is the host's
	// root until it confines itself (docs/security.md, out of scope).
	for _, c := range []attackCase{
		{"run-shared-pidns", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			leaked, dir, secrets := leakedFiles(t)
			a := newBundle(t, "/helper", "stagerace", "-fds", "-secs", "1.5", "-grace", "0", "-hostpath", dir)
			c.apply(t, a)
			a.startContainer()
			a.waitOutput("ready")
			b := newBundle(t, "/helper", "pid")
			c.apply(t, b)
			b.spec.Root.Path = a.rootfs
			setNamespace(b, specs.PIDNamespace, fmt.Sprintf("/proc/%d/ns/pid", a.state().Pid))
			runs, ok := 0, 0
			deadline := time.Now().Add(1300 * time.Millisecond)
			for time.Now().Before(deadline) && !containsAny(a.output(), secrets) {
				r := b.runOpts(opts{extraFiles: leaked})
				runs++
				if r.Code == 0 {
					ok++
				} else if runs == 1 {
					t.Logf("run in the attacker's PID namespace: %s", r)
				}
			}
			a.waitStatus("stopped")
			t.Logf("%d runs, %d succeeded", runs, ok)
			if ok == 0 {
				t.Errorf("no run succeeded during the attack: it proved nothing")
			}
			checkFdAttack(t, a.output(), dir, secrets)
		})
	}
}

// cwdFdMax is the highest fd number tried as /proc/self/fd/N: the stage
// holds stdio, the sync socket, one to four internal fds and its binary
// (stage.Spawn), and whatever its Go runtime and the rootfs code open (the
// netpoller, procfs handles, cgroup files), up to fd 13 or so: 18 leaves
// a margin. Leaked fds go up to 20 (leakedFiles) and push the stage's own
// above them: 28 then.
func cwdFdMax(leak bool) int {
	if leak {
		return 28
	}
	return 18
}

// cwdScript shows where the process is: its cwd (an error if that is
// outside its root) and what is eight levels up (the container's own root
// if the cwd is inside it).
const cwdScript = "/helper cwd; /helper ls ../../../../../../../.."

// checkCwdResult asserts that a process given cwd /proc/self/fd/N either
// was refused without the error naming a host path, or ran inside the
// container.
func checkCwdResult(t *testing.T, n int, r *result, hostPaths []string) {
	t.Helper()
	var named []string
	for _, p := range hostPaths {
		if strings.Contains(r.Out(), p) {
			named = append(named, p)
		}
	}
	if len(named) > 0 {
		t.Errorf("fd %d: the runtime's output names host paths %q: %s", n, named, strings.TrimSpace(r.Out()))
	}
	if strings.TrimSpace(r.Stdout) == "" {
		return // refused: nothing ran
	}
	ls := lines(r.Stdout)
	if !strings.HasPrefix(ls[0], "/") {
		t.Errorf("fd %d: the process's working directory is outside its root:\n%s", n, r.Stdout)
	}
	if !strings.Contains(r.Stdout, "\nhelper\n") {
		t.Errorf("fd %d: walking up from the working directory does not reach the container's root:\n%s", n, r.Stdout)
	}
}

// CVE-2024-21626: process.cwd (run) or exec --cwd set to /proc/self/fd/N
// for every fd number a stage may hold, with and without fds leaked by the
// caller. The process must never start in a directory outside the
// container, and a refusal must not tell the container's owner where
// things are on the host.
func TestStageCwdFd(t *testing.T) {
	t.Parallel()
	for _, leak := range []bool{false, true} {
		suffix := ""
		if leak {
			suffix = "-leaked-fds"
		}
		t.Run("run"+suffix, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t)
			b.shell(cwdScript)
			o := opts{}
			hostPaths := []string{filepath.Dir(b.dir), filepath.Dir(b.root), "/sys/fs/cgroup", "/run/husk", "(unreachable)", filepath.Dir(runtimeBin)}
			if leak {
				var dir string
				o.extraFiles, dir, _ = leakedFiles(t)
				hostPaths = append(hostPaths, dir)
			}
			refused := 0
			for n := 3; n <= cwdFdMax(leak); n++ {
				b.spec.Process.Cwd = fmt.Sprintf("/proc/self/fd/%d", n)
				r := b.runOpts(o)
				if r.Code != 0 {
					refused++
				}
				checkCwdResult(t, n, r, hostPaths)
				// A failed run may leave the container; the next one
				// reuses the id.
				b.rt("delete", "--force", b.id)
			}
			t.Logf("%d of %d refused", refused, cwdFdMax(leak)-2)
		})
		t.Run("exec"+suffix, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/bin/sleep", "600")
			b.startContainer()
			o := opts{}
			hostPaths := []string{filepath.Dir(b.dir), filepath.Dir(b.root), "/sys/fs/cgroup", "/run/husk", "(unreachable)", filepath.Dir(runtimeBin)}
			if leak {
				var dir string
				o.extraFiles, dir, _ = leakedFiles(t)
				hostPaths = append(hostPaths, dir)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			refused := 0
			for n := 3; n <= cwdFdMax(leak); n++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := b.rtOpts(o, "exec", "--cwd", fmt.Sprintf("/proc/self/fd/%d", n), b.id, "/bin/sh", "-c", cwdScript)
					mu.Lock()
					defer mu.Unlock()
					if r.Code != 0 {
						refused++
					}
					checkCwdResult(t, n, r, hostPaths)
				}()
				if n%4 == 0 {
					wg.Wait()
				}
			}
			wg.Wait()
			t.Logf("%d of %d refused", refused, cwdFdMax(leak)-2)
		})
	}
}
