// Package clients runs end-to-end tests of husk (or $RUNTIME) driven by
// podman/conmon and containerd/ctr. It must run as root; see README.md:
//
//	cd tests/clients && sudo go test -count=1 -v ./...
//	cd tests/clients && sudo RUNTIME=/usr/sbin/runc go test -count=1 -v ./...
package clients

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/husk-runtime/husk/tests/clientkit"
)

const (
	// scenarioTimeout bounds every scenario (a subtest), all its client
	// calls together.
	scenarioTimeout = 60 * time.Second
	// cleanupTimeout bounds the clean-up of one scenario or group.
	cleanupTimeout = 30 * time.Second
	busyboxPath    = "/bin/busybox"
	imageName      = "localhost/busybox"
)

var (
	// suiteSkip, when set, skips every test (not root, ...).
	suiteSkip string
	// podmanSkip / containerdSkip skip one client's group.
	podmanSkip, containerdSkip string

	repoRoot   string // the husk repository (../..)
	moduleDir  string // this test module (tests/clients)
	workDir    string // everything the run makes lives under here
	runtimeBin string // the runtime under test: husk, or $RUNTIME
	runtimeVer string // its --version, first line
	rootfsTar  string // busybox rootfs as a tar (also the OCI layer)

	// varLibContainersExisted: podman writes a blob-info cache to
	// /var/lib/containers/cache whatever --root says; drop it at the end if
	// the run created it.
	varLibContainersExisted bool
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		suiteSkip = "client tests need root: run `sudo go test ./... -v` in tests/clients"
		fmt.Fprintln(os.Stderr, "SKIP:", suiteSkip)
		return m.Run()
	}
	var err error
	if moduleDir, err = os.Getwd(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = filepath.Clean(filepath.Join(moduleDir, "..", ".."))

	ensurePackages()
	if podmanSkip != "" {
		fmt.Fprintln(os.Stderr, "SKIP podman tests:", podmanSkip)
	}
	if containerdSkip != "" {
		fmt.Fprintln(os.Stderr, "SKIP containerd tests:", containerdSkip)
	}
	if podmanSkip != "" && containerdSkip != "" {
		return m.Run()
	}
	if err := clientkit.CheckStaticBusybox(busyboxPath); err != nil {
		suiteSkip = err.Error()
		fmt.Fprintln(os.Stderr, "SKIP:", suiteSkip)
		return m.Run()
	}
	_, err = os.Stat("/var/lib/containers")
	varLibContainersExisted = err == nil

	// Short: unix socket paths (containerd's) must stay under 108 bytes.
	if workDir, err = os.MkdirTemp("", "husk-cl-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		// The groups clean up after themselves and report leaks; this
		// is the last resort, so that a crashed run leaves nothing.
		for _, mp := range mountsUnder(workDir) {
			syscall.Unmount(mp, syscall.MNT_DETACH)
		}
		os.RemoveAll(workDir)
		if !varLibContainersExisted {
			os.RemoveAll("/var/lib/containers")
		}
	}()

	if err := setupRuntime(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "runtime under test: %s (%s)\n", runtimeBin, runtimeVer)

	rootfsTar = filepath.Join(workDir, "rootfs.tar")
	if err := writeRootfsTar(rootfsTar); err != nil {
		fmt.Fprintln(os.Stderr, "building the busybox rootfs:", err)
		return 1
	}
	return m.Run()
}

// setupRuntime picks the runtime: $RUNTIME (husk, runc, ...) or a husk
// built from this repository with the Makefile's flags.
func setupRuntime() error {
	if rt := os.Getenv("RUNTIME"); rt != "" {
		p, err := exec.LookPath(rt)
		if err != nil {
			return fmt.Errorf("RUNTIME=%s: %w", rt, err)
		}
		if runtimeBin, err = filepath.Abs(p); err != nil {
			return err
		}
	} else {
		runtimeBin = filepath.Join(workDir, "bin", "husk")
		if err := clientkit.BuildHusk(repoRoot, runtimeBin, "0.0.0-clients"); err != nil {
			return err
		}
	}
	out, err := exec.Command(runtimeBin, "--version").CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s --version: %v\n%s", runtimeBin, err, out)
	}
	runtimeVer, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	return nil
}

// Client packages. Without them the groups skip, unless HUSK_CLIENT_TESTS=1
// (CI), which installs them from Debian.
var (
	podmanBins     = []string{"podman", "conmon"}
	containerdBins = []string{"containerd", "ctr", "containerd-shim-runc-v2"}
	aptPackages    = []string{"podman", "conmon", "containerd", "runc", "busybox-static"}
)

func missing(bins []string) []string {
	var m []string
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			if b == "conmon" && clientkit.Exists("/usr/libexec/podman/conmon") {
				continue
			}
			m = append(m, b)
		}
	}
	return m
}

func ensurePackages() {
	all := append(append(missing(podmanBins), missing(containerdBins)...), missing([]string{"runc"})...)
	if !clientkit.Exists(busyboxPath) {
		all = append(all, busyboxPath)
	}
	if len(all) > 0 && os.Getenv("HUSK_CLIENT_TESTS") == "1" {
		fmt.Fprintf(os.Stderr, "HUSK_CLIENT_TESTS=1: installing %s (missing: %s)\n",
			strings.Join(aptPackages, " "), strings.Join(all, " "))
		if err := aptInstall(aptPackages); err != nil {
			fmt.Fprintln(os.Stderr, "apt-get install failed:", err)
		}
	}
	hint := "; install them (apt-get install " + strings.Join(aptPackages, " ") +
		") or set HUSK_CLIENT_TESTS=1 to have the tests install them"
	if m := missing(podmanBins); len(m) > 0 {
		podmanSkip = "podman tests need " + strings.Join(m, ", ") + hint
	}
	if m := missing(containerdBins); len(m) > 0 {
		containerdSkip = "containerd tests need " + strings.Join(m, ", ") + hint
	}
}

func aptInstall(pkgs []string) error {
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	for try := 1; try <= 3; try++ {
		up := exec.Command("apt-get", "update", "-q")
		up.Env, up.Stdout, up.Stderr = env, os.Stderr, os.Stderr
		in := exec.Command("apt-get", append([]string{"install", "-y", "-q",
			"-o", "Dpkg::Use-Pty=0", "--no-install-recommends"}, pkgs...)...)
		in.Env, in.Stdout, in.Stderr = env, os.Stderr, os.Stderr
		err := up.Run()
		if err == nil {
			err = in.Run()
		}
		if err == nil {
			return nil
		}
		fmt.Fprintf(os.Stderr, "apt attempt %d: %v\n", try, err)
		time.Sleep(5 * time.Second)
	}
	return errors.New("giving up after 3 attempts")
}

// skipGroup skips a client's group for reason, except in CI
// (HUSK_CLIENT_TESTS=1), where the clients were to be installed and their
// absence is a failure.
func skipGroup(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("HUSK_CLIENT_TESTS") == "1" {
		t.Fatalf("HUSK_CLIENT_TESTS=1 but %s", reason)
	}
	t.Skip(reason)
}

func requireSuite(t *testing.T) {
	t.Helper()
	if suiteSkip != "" {
		t.Skip(suiteSkip)
	}
}

// runtimeHas tells whether the runtime under test has a command:
// `<runtime> <cmd> --help` exits 0.
func runtimeHas(cmd string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, runtimeBin, cmd, "--help")
	return c.Run() == nil
}

func skipWithout(t *testing.T, cmd string) {
	t.Helper()
	if !runtimeHas(cmd) {
		t.Skipf("%s has no %q command yet (`%s %s --help` fails)", filepath.Base(runtimeBin), cmd, runtimeBin, cmd)
	}
}

// scenario returns the deadline context of one scenario.
func scenario(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	t.Cleanup(cancel)
	return ctx
}

// result is one finished client command.
type result = clientkit.Result

// cmdSpec is one client command to run.
type cmdSpec struct {
	bin   string
	args  []string
	env   []string // full environment (nil: ours)
	stdin io.Reader
	dir   string
	label string // how to show the command (default: bin and args)
}

func (c cmdSpec) String() string {
	if c.label != "" {
		return c.label
	}
	return filepath.Base(c.bin) + " " + strings.Join(c.args, " ")
}

var outSeq atomic.Int64

// run runs a client command to completion under ctx. stdout and stderr go
// to files, not pipes, so that a daemon the client leaves behind (conmon, a
// shim) holding them cannot stall us. The command gets its own process
// group, killed whole when ctx expires.
func run(ctx context.Context, t *testing.T, c cmdSpec) *result {
	t.Helper()
	r := &result{Cmd: c.String()}
	n := outSeq.Add(1)
	outDir := filepath.Join(workDir, "out")
	os.MkdirAll(outDir, 0o700)
	stdout, err1 := os.Create(filepath.Join(outDir, fmt.Sprintf("%d.out", n)))
	stderr, err2 := os.Create(filepath.Join(outDir, fmt.Sprintf("%d.err", n)))
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("output files: %v", err)
	}
	defer func() {
		stdout.Close()
		stderr.Close()
		os.Remove(stdout.Name())
		os.Remove(stderr.Name())
	}()
	cmd := exec.CommandContext(ctx, c.bin, c.args...)
	cmd.Env = c.env
	cmd.Dir = c.dir
	cmd.Stdin = c.stdin
	cmd.Stdout, cmd.Stderr = stdout, stderr
	clientkit.KillGroupOnCancel(cmd)
	start := time.Now()
	r.Err = cmd.Run()
	r.Took = time.Since(start)
	r.Code = -1
	if cmd.ProcessState != nil {
		r.Code = cmd.ProcessState.ExitCode()
	}
	if ctx.Err() != nil {
		r.Err = fmt.Errorf("%v (scenario deadline: %w)", r.Err, ctx.Err())
	}
	o, _ := os.ReadFile(stdout.Name())
	e, _ := os.ReadFile(stderr.Name())
	r.Stdout, r.Stderr = string(o), string(e)
	t.Logf("%s -> %d (%s)", r.Cmd, r.Code, r.Took.Round(time.Millisecond))
	return r
}

// expectCode fails the test unless r exited with code.
func expectCode(t *testing.T, r *result, code int) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("want exit %d, got:\n%s", code, r)
	}
}

func expectOK(t *testing.T, r *result) { t.Helper(); expectCode(t, r, 0) }

func expectContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s: want %q in:\n%s", what, sub, s)
		}
	}
}

// safeBuffer collects output from a goroutine.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// longRunning is the command of the detached test containers: it reports
// USR1 and TERM on stdout and exits 0 on TERM, so a stop is quick and
// observable.
var longRunning = []string{"sh", "-c",
	`trap 'echo got-usr1' USR1; trap 'echo got-term; exit 0' TERM; echo ready; while :; do sleep 1 & wait $!; done`}
