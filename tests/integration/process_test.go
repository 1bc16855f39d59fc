package integration

import (
	"io"
	"os"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestProcessEnv(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "env")
	b.spec.Process.Env = []string{"PATH=/bin", "HUSK_X=x value", "HUSK_EMPTY="}
	out := b.mustRun()
	for _, want := range []string{"PATH=/bin\n", "HUSK_X=x value\n", "HUSK_EMPTY=\n"} {
		mustContain(t, out, want, "container env")
	}
}

func TestProcessCwd(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "cwd")
	b.spec.Process.Cwd = "/home/test"
	if out := strings.TrimSpace(b.mustRun()); out != "/home/test" {
		t.Fatalf("cwd: want /home/test, got %q", out)
	}
}

func TestProcessCwdCreated(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "cwd")
	b.spec.Process.Cwd = "/does/not/exist/yet"
	if out := strings.TrimSpace(b.mustRun()); out != "/does/not/exist/yet" {
		t.Fatalf("a missing cwd should be created: got %q", out)
	}
}

func TestProcessUser(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "id")
	b.spec.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{2000, 3000}}
	out := strings.TrimSpace(b.mustRun())
	if out != "uid=1000 gid=1000 euid=1000 egid=1000 groups=2000,3000" {
		t.Fatalf("user 1000:1000 + [2000 3000]: got %q", out)
	}
}

func TestProcessUmask(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "umask")
	b.spec.Process.User.Umask = ptr(uint32(0o027))
	if out := strings.TrimSpace(b.mustRun()); out != "0027" {
		t.Fatalf("umask: want 0027, got %q", out)
	}
}

func TestProcessCapabilities(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "caps")
	caps := []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"}
	b.spec.Process.Capabilities = &specs.LinuxCapabilities{
		Bounding: caps, Effective: caps, Permitted: caps,
	}
	out := b.mustRun()
	// CAP_KILL is bit 5, CAP_NET_BIND_SERVICE bit 10.
	for _, want := range []string{
		"CapEff: 0000000000000420", "CapPrm: 0000000000000420",
		"CapBnd: 0000000000000420", "CapInh: 0000000000000000", "CapAmb: 0000000000000000",
	} {
		mustContain(t, out, want, "capabilities")
	}
}

func TestProcessCapabilitiesNonRoot(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "caps")
	caps := []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"}
	b.spec.Process.User = specs.User{UID: 1000, GID: 1000}
	b.spec.Process.Capabilities = &specs.LinuxCapabilities{
		Bounding: caps, Effective: caps, Permitted: caps, Inheritable: caps, Ambient: []string{"CAP_NET_BIND_SERVICE"},
	}
	out := b.mustRun()
	for _, want := range []string{"CapEff: 0000000000000400", "CapAmb: 0000000000000400", "CapBnd: 0000000000000420"} {
		mustContain(t, out, want, "capabilities of uid 1000 with an ambient cap")
	}
}

func TestProcessNoNewPrivileges(t *testing.T) {
	t.Parallel()
	for _, nnp := range []bool{true, false} {
		want := "0"
		if nnp {
			want = "1"
		}
		t.Run(want, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/helper", "nnp")
			b.spec.Process.NoNewPrivileges = nnp
			if out := strings.TrimSpace(b.mustRun()); out != want {
				t.Fatalf("noNewPrivileges=%v: NoNewPrivs want %s, got %q", nnp, want, out)
			}
		})
	}
}

func TestProcessRlimits(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	// The Go runtime raises its own soft NOFILE limit to the hard one at
	// startup, so the shell (busybox) reports NOFILE, the helper CORE.
	b.shell("echo $(ulimit -Sn) $(ulimit -Hn); /helper rlimit CORE")
	b.spec.Process.Rlimits = []specs.POSIXRlimit{
		{Type: "RLIMIT_NOFILE", Soft: 512, Hard: 1024},
		{Type: "RLIMIT_CORE", Soft: 0, Hard: 0},
	}
	out := lines(b.mustRun())
	if len(out) != 2 || out[0] != "512 1024" || out[1] != "0 0" {
		t.Fatalf("rlimits: want [512 1024, 0 0], got %q", out)
	}
}

func TestProcessOOMScoreAdj(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "oomscoreadj")
	b.spec.Process.OOMScoreAdj = ptr(500)
	if out := strings.TrimSpace(b.mustRun()); out != "500" {
		t.Fatalf("oomScoreAdj: want 500, got %q", out)
	}
}

// hostSessionKeyring is the session keyring the runtime inherits from the
// test process.
func hostSessionKeyring(t *testing.T) string {
	t.Helper()
	id, err := unix.KeyctlInt(unix.KEYCTL_GET_KEYRING_ID, unix.KEY_SPEC_SESSION_KEYRING, 0, 0, 0)
	if err != nil {
		t.Skipf("no session keyring support: %v", err)
	}
	return itoa(id)
}

func TestProcessNewSessionKeyring(t *testing.T) {
	t.Parallel()
	host := hostSessionKeyring(t)
	b := newBundle(t, "/helper", "keyring")
	out := strings.TrimSpace(b.mustRun())
	f := strings.Fields(out)
	if len(f) < 2 {
		t.Fatalf("helper keyring: %q", out)
	}
	if f[0] == host {
		t.Fatalf("the container shares the host's session keyring %s: want a new one", host)
	}
	if !strings.Contains(f[1], b.id) {
		t.Errorf("the new session keyring should be named after the container: %q", out)
	}
}

func TestProcessNoNewKeyring(t *testing.T) {
	t.Parallel()
	host := hostSessionKeyring(t)
	b := newBundle(t, "/helper", "keyring")
	out := strings.TrimSpace(b.mustRun("--no-new-keyring"))
	if f := strings.Fields(out); len(f) == 0 || f[0] != host {
		t.Fatalf("--no-new-keyring: want the host's session keyring %s, got %q", host, out)
	}
}

// fdLines parses `helper fds` output into fd -> "target inside|outside".
func fdLines(out string) map[string]string {
	m := map[string]string{}
	for _, l := range lines(out) {
		if k, v, ok := strings.Cut(l, " "); ok {
			m[k] = v
		}
	}
	return m
}

func TestProcessNoLeakedFds(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "fds")
	out := b.mustRun()
	fds := fdLines(out)
	// 0-2 are the caller's stdio, passed on as they are (host files here).
	for fd, v := range fds {
		if fd != "0" && fd != "1" && fd != "2" {
			t.Errorf("fd %s (%s) leaked into the container; all fds:\n%s", fd, v, out)
		}
	}
}

// pipeOut runs fn with the write end of a pipe as extra fd 3 of the runtime
// and returns what was written to it.
func pipeOut(t *testing.T, fn func(w *os.File)) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	done := make(chan string, 1)
	go func() {
		data, _ := io.ReadAll(r)
		done <- string(data)
	}()
	fn(w)
	w.Close()
	return <-done
}

func TestProcessPreserveFds(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.shell("/helper fds; echo via-fd3 >&3")
	var r *result
	got := pipeOut(t, func(w *os.File) {
		r = b.runOpts(opts{extraFiles: []*os.File{w}}, "--preserve-fds", "1")
	})
	if r.Code != 0 {
		t.Fatalf("run --preserve-fds 1: %s", r)
	}
	if got != "via-fd3\n" {
		t.Fatalf("the container's fd 3 should be the preserved pipe: read %q\n%s", got, r)
	}
	checkFds(t, r.Stdout, "0", "1", "2", "3")
}

func TestProcessListenFds(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.shell("/helper env; /helper fds; echo via-listen-fd >&3")
	var r *result
	got := pipeOut(t, func(w *os.File) {
		r = b.runOpts(opts{extraFiles: []*os.File{w}, env: []string{"LISTEN_FDS=1"}, listenPid: true})
	})
	if r.Code != 0 {
		t.Fatalf("run with LISTEN_FDS=1: %s", r)
	}
	if got != "via-listen-fd\n" {
		t.Fatalf("LISTEN_FDS=1: the container's fd 3 should be the passed pipe: read %q\n%s", got, r)
	}
	mustContain(t, r.Stdout, "LISTEN_FDS=1\n", "LISTEN_FDS in the container's env")
	checkFds(t, r.Stdout, "0", "1", "2", "3")
}

// checkFds asserts that `helper fds` output (among other lines) lists exactly
// the given fds.
func checkFds(t *testing.T, out string, want ...string) {
	t.Helper()
	got := map[string]bool{}
	for _, l := range lines(out) {
		f := strings.Fields(l)
		if len(f) == 3 && (f[2] == "inside" || f[2] == "outside") {
			got[f[0]] = true
			if f[2] == "outside" && !isStdioLine(l) {
				t.Errorf("fd points outside the container: %s", l)
			}
		}
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("fd %s missing in the container:\n%s", w, out)
		}
		delete(got, w)
	}
	for fd := range got {
		t.Errorf("fd %s reached the container but was not passed:\n%s", fd, out)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
