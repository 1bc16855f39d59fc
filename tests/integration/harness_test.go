// Package integration runs the runtime binary (husk, or any runc-compatible
// runtime named by RUNTIME) against synthetic bundles and asserts on what
// the container saw. It must run as root:
//
//	go test ./tests/integration/ -v
//	RUNTIME=/usr/sbin/runc go test ./tests/integration/ -v
package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/internal/testutil"
)

const (
	// cmdTimeout bounds every runtime invocation.
	cmdTimeout = 20 * time.Second
	// outputTimeout bounds the wait for a container's output: generous,
	// for the v2 guest under software emulation; fast runs don't wait.
	outputTimeout = 30 * time.Second
	// cgroupParent is the parent of every test container's cgroupsPath.
	cgroupParent = "/husk-it"
	busyboxPath  = testutil.BusyboxPath
)

var (
	runtimeBin  string // the runtime under test
	runtimeVer  string // its --version output
	helperBin   string // the static helper, installed as /helper
	skipReason  string // set when the suite cannot run at all
	repoRoot    string
	specOnce    sync.Once
	specJSON    []byte
	specErr     error
	busyboxApps = []string{
		"sh", "cat", "ls", "echo", "sleep", "true", "false", "id", "hostname",
		"grep", "sed", "mkdir", "touch", "rm", "ps", "kill", "mount", "stat",
		"readlink", "test", "env", "pwd", "head", "tail", "wc", "tr",
	}
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		skipReason = "integration tests need root: run `sudo go test ./tests/integration/ -v`"
		fmt.Fprintln(os.Stderr, "SKIP:", skipReason)
		return m.Run()
	}
	if _, err := os.Stat(busyboxPath); err != nil {
		skipReason = "integration tests need a static busybox at " + busyboxPath + " (apt-get install busybox-static)"
		fmt.Fprintln(os.Stderr, "SKIP:", skipReason)
		return m.Run()
	}
	var err error
	repoRoot = testutil.RepoRoot()
	tmp, err := os.MkdirTemp("", "husk-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)

	// HUSK_HELPER names a prebuilt helper (the v2 guest has no Go cache).
	helperBin = os.Getenv("HUSK_HELPER")
	if helperBin == "" {
		helperBin = filepath.Join(tmp, "helper")
		if out, err := goBuild(helperBin, "./tests/helper", "CGO_ENABLED=0"); err != nil {
			fmt.Fprintf(os.Stderr, "building tests/helper: %v\n%s", err, out)
			return 1
		}
	}
	if b := os.Getenv("RUNTIME"); b != "" {
		runtimeBin, err = filepath.Abs(b)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	} else {
		// The Makefile's static build, as installed: a dynamically linked
		// husk maps the host's libc and libseccomp into its stages, which
		// the stage's read-only binary view doesn't cover.
		runtimeBin = filepath.Join(tmp, "husk")
		cmd := exec.Command("make", "--no-print-directory", "-s", "husk", "OUT="+runtimeBin)
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building husk from %s: %v\n%s", repoRoot, err, out)
			return 1
		}
	}
	out, err := exec.Command(runtimeBin, "--version").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s --version: %v\n%s", runtimeBin, err, out)
		return 1
	}
	runtimeVer = strings.TrimSpace(string(out))
	fmt.Fprintf(os.Stderr, "runtime under test: %s\n%s\n", runtimeBin, runtimeVer)

	code := m.Run()
	// The per-container cgroups are checked by each test; drop the parent.
	for _, ss := range cgroupSubsystems {
		os.Remove(filepath.Join("/sys/fs/cgroup", ss, cgroupParent))
	}
	return code
}

func goBuild(out, pkg string, env ...string) ([]byte, error) {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), env...)
	return cmd.CombinedOutput()
}

// isRunc tells whether the runtime under test is runc (the reference), for
// the few tests that must know which documented runc 1.1 limits apply.
func isRunc() bool { return strings.HasPrefix(runtimeVer, "runc") }

// randHex returns n random bytes as hex.
func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

var nonIDChars = regexp.MustCompile(`[^a-z0-9]+`)

// uniqueID derives a valid, unique container id from the test name.
func uniqueID(t *testing.T) string {
	n := strings.Trim(nonIDChars.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	n = strings.TrimPrefix(n, "test")
	n = strings.Trim(n, "-")
	if len(n) > 40 {
		n = n[:40]
	}
	return n + "-" + randHex(4)
}

// result is the outcome of one runtime invocation.
type result struct {
	args   []string
	Stdout string
	Stderr string
	Code   int // exit code; -1 when killed by a signal or not started
	Err    error
}

func (r *result) String() string {
	return fmt.Sprintf("`%s` exit=%d err=%v\n--- stdout:\n%s\n--- stderr:\n%s",
		strings.Join(r.args, " "), r.Code, r.Err, r.Stdout, r.Stderr)
}

// Out is stdout and stderr together, for error-message assertions.
func (r *result) Out() string { return r.Stdout + r.Stderr }

// opts tunes one runtime invocation.
type opts struct {
	global     []string   // global flags after --root
	extraFiles []*os.File // become fds 3, 4, ... of the runtime
	env        []string   // added to the environment
	stdin      io.Reader  // default: /dev/null
	timeout    time.Duration
	binary     string // another runtime binary (a copy, for example)
	noRoot     bool   // do not pass --root
	outFile    string // stdout goes to this file (kept for later reads)
	// listenPid sets LISTEN_PID to the runtime's own pid, as systemd socket
	// activation does (through a shell that execs the runtime).
	listenPid bool
	// wrap is a command that execs the runtime (its path and arguments
	// appended), such as the helper's enosys.
	wrap []string
	// asUser runs the runtime as that (unprivileged) user, with its own
	// copy of the binary and its XDG_RUNTIME_DIR (rootless_test.go).
	asUser *testUser
}

// runtimeCmd runs the runtime with --root root. stdout and stderr go to
// files (not pipes), so that a detached container holding them open does not
// keep the call from returning.
func runtimeCmd(t *testing.T, root string, o opts, args ...string) *result {
	t.Helper()
	if o.timeout == 0 {
		o.timeout = cmdTimeout
	}
	bin := runtimeBin
	if o.asUser != nil {
		bin = o.asUser.bin
	}
	if o.binary != "" {
		bin = o.binary
	}
	var full []string
	if !o.noRoot {
		full = append(full, "--root", root)
	}
	full = append(full, o.global...)
	full = append(full, args...)
	r := &result{args: append([]string{filepath.Base(bin)}, full...)}

	dir := t.TempDir()
	outPath := o.outFile
	if outPath == "" {
		outPath = filepath.Join(dir, "stdout")
	}
	stdout, err := os.OpenFile(outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	start, _ := stdout.Seek(0, io.SeekEnd)

	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, full...)
	if o.listenPid {
		cmd = exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", `LISTEN_PID=$$ exec "$0" "$@"`, bin}, full...)...)
	}
	if len(o.wrap) > 0 {
		cmd = exec.CommandContext(ctx, o.wrap[0], append(append(o.wrap[1:len(o.wrap):len(o.wrap)], bin), full...)...)
	}
	cmd.Stdin = o.stdin
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.ExtraFiles = o.extraFiles
	cmd.Env = append(os.Environ(), o.env...)
	if o.asUser != nil {
		o.asUser.apply(cmd)
		if o.asUser.cgroup != "" {
			// Born there (clone3 CLONE_INTO_CGROUP, done as root): a
			// user may move processes only within its own subtree.
			dir, err := os.Open(o.asUser.cgroup)
			if err != nil {
				t.Fatal(err)
			}
			defer dir.Close()
			cmd.SysProcAttr.UseCgroupFD, cmd.SysProcAttr.CgroupFD = true, int(dir.Fd())
		}
	}
	cmd.WaitDelay = 2 * time.Second
	r.Err = cmd.Run()
	r.Code = -1
	if cmd.ProcessState != nil {
		r.Code = cmd.ProcessState.ExitCode()
	}
	if ctx.Err() != nil {
		r.Err = fmt.Errorf("timed out after %v: %w", o.timeout, r.Err)
	}
	outb, _ := os.ReadFile(outPath)
	if int(start) <= len(outb) {
		outb = outb[start:]
	}
	r.Stdout = string(outb)
	errb, _ := os.ReadFile(stderr.Name())
	r.Stderr = string(errb)
	return r
}

// bundle is one synthetic OCI bundle plus the state root of its container.
type bundle struct {
	t       *testing.T
	dir     string // the bundle directory
	rootfs  string
	root    string // --root of the runtime
	id      string // container id
	cgroup  string // linux.cgroupsPath
	spec    *specs.Spec
	outPath string    // stdout of create/run: also the container's stdout
	noSave  bool      // config.json was written by the test: do not overwrite
	asUser  *testUser // the runtime runs as this user (rootless_test.go)
}

// cgroupSubsystems are the hierarchies where a container's cgroup appears:
// the v1 controllers and the hybrid v2 dir, or only "" on a v2 host.
var cgroupSubsystems = func() []string {
	var st syscall.Statfs_t
	if err := syscall.Statfs("/sys/fs/cgroup", &st); err == nil && st.Type == 0x63677270 { // CGROUP2_SUPER_MAGIC
		return []string{""}
	}
	return []string{"pids", "memory", "cpu", "cpuacct", "cpuset", "devices", "freezer", "blkio", "unified"}
}()

// newBundle makes a bundle in t.TempDir() with a busybox+helper rootfs and a
// config.json from `<runtime> spec`, adjusted for tests: no terminal, rootfs
// writable, a unique hostname and cgroupsPath, process args as given
// (default: /helper sleep 600). It registers a cleanup that force-deletes
// the container and checks that nothing is left behind.
func newBundle(t *testing.T, args ...string) *bundle {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	id := uniqueID(t)
	dir := t.TempDir()
	// Make the bundle reachable by ids mapped into a user namespace.
	for d := dir; d != os.TempDir() && d != "/" && strings.HasPrefix(d, os.TempDir()); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b := &bundle{
		t:       t,
		dir:     dir,
		rootfs:  filepath.Join(dir, "rootfs"),
		root:    filepath.Join(t.TempDir(), "state"),
		id:      id,
		cgroup:  cgroupParent + "/" + id,
		outPath: filepath.Join(dir, "container.out"),
	}
	makeRootfs(t, b.rootfs)
	b.spec = generatedSpec(t)
	if len(args) == 0 {
		args = []string{"/helper", "sleep", "600"}
	}
	b.spec.Process.Terminal = false
	b.spec.Process.Args = args
	b.spec.Root = &specs.Root{Path: "rootfs", Readonly: false}
	b.spec.Hostname = "hit-" + randHex(3)
	if b.spec.Linux == nil {
		b.spec.Linux = &specs.Linux{}
	}
	b.spec.Linux.CgroupsPath = b.cgroup
	t.Cleanup(b.cleanup)
	return b
}

func generatedSpec(t *testing.T) *specs.Spec {
	t.Helper()
	specOnce.Do(func() {
		dir, err := os.MkdirTemp("", "husk-it-spec-")
		if err != nil {
			specErr = err
			return
		}
		defer os.RemoveAll(dir)
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, runtimeBin, "spec")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			specErr = fmt.Errorf("`%s spec` in %s: %v\n%s", runtimeBin, dir, err, out)
			return
		}
		specJSON, specErr = os.ReadFile(filepath.Join(dir, "config.json"))
	})
	if specErr != nil {
		t.Fatal(specErr)
	}
	var s specs.Spec
	if err := json.Unmarshal(specJSON, &s); err != nil {
		t.Fatalf("config.json from `spec` does not decode: %v\n%s", err, specJSON)
	}
	if s.Process == nil {
		t.Fatalf("config.json from `spec` has no process:\n%s", specJSON)
	}
	return &s
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// makeRootfs lays out a minimal rootfs: busybox (copied, never linked: the
// container may write to it) and its applets, /helper, users and groups.
func makeRootfs(t *testing.T, rootfs string) {
	t.Helper()
	for _, d := range []string{"bin", "etc", "tmp", "proc", "sys", "dev", "root", "home/test", "mnt", "run"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(rootfs, "tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(rootfs, "home/test"), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	copyFile(t, busyboxPath, filepath.Join(rootfs, "bin/busybox"), 0o755)
	for _, a := range busyboxApps {
		if err := os.Symlink("busybox", filepath.Join(rootfs, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, helperBin, filepath.Join(rootfs, "helper"), 0o755)
	writeFile(t, filepath.Join(rootfs, "etc/passwd"),
		"root:x:0:0:root:/root:/bin/sh\ntest:x:1000:1000:test:/home/test:/bin/sh\n", 0o644)
	writeFile(t, filepath.Join(rootfs, "etc/group"),
		"root:x:0:\ntest:x:1000:\nextra:x:2000:test\n", 0o644)
}

// save writes b.spec as config.json.
func (b *bundle) save() {
	b.t.Helper()
	if b.noSave {
		return
	}
	data, err := json.MarshalIndent(b.spec, "", "\t")
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.dir, "config.json"), data, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// rt runs the runtime with this bundle's --root, as its user if it has
// one (a rootless container is the user's to start, exec into and kill).
func (b *bundle) rt(args ...string) *result {
	b.t.Helper()
	return b.rtOpts(opts{}, args...)
}

// rtOpts runs the runtime with this bundle's --root and options.
func (b *bundle) rtOpts(o opts, args ...string) *result {
	b.t.Helper()
	if o.asUser == nil {
		o.asUser = b.asUser
	}
	return runtimeCmd(b.t, b.root, o, args...)
}

// mustRT runs the runtime and fails the test unless it exits 0.
func (b *bundle) mustRT(args ...string) *result {
	b.t.Helper()
	r := b.rt(args...)
	if r.Code != 0 || r.Err != nil {
		b.t.Fatalf("runtime failed: %s", r)
	}
	return r
}

// run saves the spec and runs the container in the foreground.
func (b *bundle) run(extra ...string) *result {
	b.t.Helper()
	return b.runOpts(opts{}, extra...)
}

func (b *bundle) runOpts(o opts, extra ...string) *result {
	b.t.Helper()
	b.save()
	args := append([]string{"run", "--bundle", b.dir}, extra...)
	return b.rtOpts(o, append(args, b.id)...)
}

// mustRun runs the container and fails unless it exits 0; it returns the
// container's output.
func (b *bundle) mustRun(extra ...string) string {
	b.t.Helper()
	r := b.run(extra...)
	if r.Code != 0 || r.Err != nil {
		b.t.Fatalf("run failed: %s", r)
	}
	return r.Stdout
}

// create saves the spec and creates the container; the container's stdout
// goes to b.outPath (read it with b.output()).
func (b *bundle) create(extra ...string) *result {
	b.t.Helper()
	return b.createOpts(opts{}, extra...)
}

func (b *bundle) createOpts(o opts, extra ...string) *result {
	b.t.Helper()
	b.save()
	o.outFile = b.outPath
	args := append([]string{"create", "--bundle", b.dir}, extra...)
	return b.rtOpts(o, append(args, b.id)...)
}

func (b *bundle) mustCreate(extra ...string) *result {
	b.t.Helper()
	r := b.create(extra...)
	if r.Code != 0 || r.Err != nil {
		b.t.Fatalf("create failed: %s", r)
	}
	return r
}

// startContainer creates and starts the container and waits until it runs.
func (b *bundle) startContainer(extra ...string) *specs.State {
	b.t.Helper()
	b.mustCreate(extra...)
	b.mustRT("start", b.id)
	return b.state()
}

// output is what the container wrote to stdout so far (after create).
func (b *bundle) output() string {
	data, _ := os.ReadFile(b.outPath)
	return string(data)
}

// waitOutput waits until the container's stdout contains s.
func (b *bundle) waitOutput(s string) string {
	b.t.Helper()
	var out string
	ok := waitFor(outputTimeout, func() bool {
		out = b.output()
		return strings.Contains(out, s)
	})
	if !ok {
		b.t.Fatalf("container output never contained %q; output:\n%s", s, out)
	}
	return out
}

// state runs `state` and decodes it; the test fails if it cannot.
func (b *bundle) state() *specs.State {
	b.t.Helper()
	st, _ := b.stateRaw()
	return st
}

func (b *bundle) stateRaw() (*specs.State, map[string]any) {
	b.t.Helper()
	r := b.mustRT("state", b.id)
	var st specs.State
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		b.t.Fatalf("state output does not decode: %v\n%s", err, r)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &raw); err != nil {
		b.t.Fatalf("state output does not decode: %v\n%s", err, r)
	}
	return &st, raw
}

// waitStatus polls `state` until the status is want.
func (b *bundle) waitStatus(want specs.ContainerState) *specs.State {
	b.t.Helper()
	var st *specs.State
	var last *result
	ok := waitFor(10*time.Second, func() bool {
		last = b.rt("state", b.id)
		if last.Code != 0 {
			return false
		}
		st = &specs.State{}
		if json.Unmarshal([]byte(last.Stdout), st) != nil {
			return false
		}
		return st.Status == want
	})
	if !ok {
		b.t.Fatalf("container never reached status %q; last state: %s", want, last)
	}
	return st
}

// waitFor polls cond every 20ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cgroupDir is the container's cgroup directory in subsystem ss.
func (b *bundle) cgroupDir(ss string) string {
	return filepath.Join("/sys/fs/cgroup", ss, b.cgroup)
}

// cleanup force-deletes the container and checks that the runtime left
// nothing behind: state directory, cgroups, mounts under the bundle.
func (b *bundle) cleanup() {
	t := b.t
	r := runtimeCmd(t, b.root, opts{asUser: b.asUser}, "delete", "--force", b.id)
	if r.Err != nil && r.Code != 0 && r.Code != 1 {
		t.Errorf("cleanup: %s", r)
	}
	checkNothingLeft(t, b)
}

// checkNothingLeft reports (and then removes) whatever the runtime left
// behind for b's container.
func checkNothingLeft(t *testing.T, b *bundle) {
	t.Helper()
	stateDir := filepath.Join(b.root, b.id)
	if b.id != "" && !strings.Contains(b.id, "/") {
		if _, err := os.Lstat(stateDir); err == nil {
			t.Errorf("state directory %s remains after delete --force", stateDir)
		}
	}
	for _, ss := range cgroupSubsystems {
		if b.cgroup == "" {
			break // a rootless container: rootless_test.go checks
		}
		dir := b.cgroupDir(ss)
		if !waitFor(2*time.Second, func() bool { _, err := os.Stat(dir); return err != nil }) {
			procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
			t.Errorf("cgroup %s remains after delete --force (procs: %q)", dir, strings.TrimSpace(string(procs)))
			removeCgroup(dir)
		}
	}
	for _, l := range mountsUnder(b.dir) {
		t.Errorf("mount under the bundle remains: %s", l)
		syscall.Unmount(strings.Fields(l)[4], syscall.MNT_DETACH)
	}
}

// removeCgroup kills what is left in a cgroup directory and removes it, so
// that one failing test does not leak into others.
func removeCgroup(dir string) {
	procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	for _, f := range strings.Fields(string(procs)) {
		if pid, err := strconv.Atoi(f); err == nil {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	waitFor(2*time.Second, func() bool { return os.Remove(dir) == nil || errors.Is(os.Remove(dir), os.ErrNotExist) })
}

// mountsUnder lists the host mountinfo lines whose mount point is under dir.
func mountsUnder(dir string) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/") || strings.Contains(f[3], dir)) {
			out = append(out, l)
		}
	}
	return out
}

// hostNS reads the host's /proc/self/ns links.
func hostNS(t *testing.T) map[string]string {
	t.Helper()
	return nsOf(t, "self")
}

// nsOf reads /proc/PID/ns links of a host process.
func nsOf(t *testing.T, pid string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir("/proc/" + pid + "/ns")
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range ents {
		l, err := os.Readlink("/proc/" + pid + "/ns/" + e.Name())
		if err == nil {
			m[e.Name()] = l
		}
	}
	return m
}

// parseNS parses `helper ns` output.
func parseNS(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, v, ok := strings.Cut(l, " "); ok {
			m[k] = v
		}
	}
	return m
}

// lines splits output into trimmed non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// pidAlive tells whether a host pid exists and is not a zombie.
func pidAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) S ...: the state follows the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return false
	}
	return data[i+2] != 'Z' && data[i+2] != 'X'
}

// waitCatches waits until pid has a handler for sig. A signal sent to the
// init of a PID namespace is dropped unless the init catches it, so a test
// that stops its container with TERM must wait for the handler first: the
// shell that execs the helper, or the helper before its runtime starts,
// would silently drop it.
func waitCatches(t *testing.T, pid int, sig syscall.Signal) {
	t.Helper()
	var caught string
	if !waitFor(10*time.Second, func() bool {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return false
		}
		for _, l := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(l, "SigCgt:"); ok {
				caught = strings.TrimSpace(v)
				mask, err := strconv.ParseUint(caught, 16, 64)
				return err == nil && mask&(1<<(uint(sig)-1)) != 0
			}
		}
		return false
	}) {
		t.Fatalf("pid %d never caught signal %d (SigCgt %s)", pid, sig, caught)
	}
}

// childScript starts a child beside the container's init that writes its
// pid to /tmp/child, for childPid: in a container without its own PID
// namespace it outlives the init unless the whole cgroup is killed.
const childScript = "/helper sleep 600 & echo $! >/tmp/child; exec /helper sleep 600"

// childPid waits for the host pid childScript's child wrote.
func (b *bundle) childPid() int {
	b.t.Helper()
	var child int
	if !waitFor(outputTimeout, func() bool {
		data, _ := os.ReadFile(filepath.Join(b.rootfs, "tmp", "child"))
		child, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		return child > 0
	}) {
		b.t.Fatal("the container's child never wrote its pid")
	}
	return child
}

// shell sets the process to run a /bin/sh script.
func (b *bundle) shell(script string) {
	b.spec.Process.Args = []string{"/bin/sh", "-c", script}
}

// mustContain fails unless s contains sub.
func mustContain(t *testing.T, s, sub, what string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("%s: want it to contain %q, got:\n%s", what, sub, s)
	}
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// atoi parses an int or fails the test.
func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// removeNamespace drops a namespace type from the spec (the container then
// shares the runtime's).
func removeNamespace(b *bundle, typ specs.LinuxNamespaceType) {
	var ns []specs.LinuxNamespace
	for _, n := range b.spec.Linux.Namespaces {
		if n.Type != typ {
			ns = append(ns, n)
		}
	}
	b.spec.Linux.Namespaces = ns
}

// setNamespace adds (or replaces) a namespace in the spec.
func setNamespace(b *bundle, typ specs.LinuxNamespaceType, path string) {
	removeNamespace(b, typ)
	b.spec.Linux.Namespaces = append(b.spec.Linux.Namespaces, specs.LinuxNamespace{Type: typ, Path: path})
}

// startPiped starts cmd with its stdout piped to the test, which reads it as
// it goes, and its stderr kept for messages.
func startPiped(t *testing.T, cmd *exec.Cmd) (io.ReadCloser, *strings.Builder) {
	t.Helper()
	stderr := new(strings.Builder)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return out, stderr
}
