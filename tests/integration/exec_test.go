package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// execIn runs `exec ID args...` and returns the result.
func (b *bundle) execIn(flags []string, args ...string) *result {
	b.t.Helper()
	full := append([]string{"exec"}, flags...)
	full = append(full, b.id)
	return b.rt(append(full, args...)...)
}

func (b *bundle) mustExec(flags []string, args ...string) string {
	b.t.Helper()
	r := b.execIn(flags, args...)
	if r.Code != 0 {
		b.t.Fatalf("exec failed: %s", r)
	}
	return r.Stdout
}

func TestExecPidNamespace(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	st := b.startContainer()
	out := strings.TrimSpace(b.mustExec(nil, "/helper", "pid"))
	if pid := atoi(t, out); pid == 1 {
		t.Fatalf("exec'd process has pid 1: it must not replace the init")
	}
	execNS := parseNS(b.mustExec(nil, "/helper", "ns"))
	initNS := nsOf(t, strconv.Itoa(st.Pid))
	for _, typ := range []string{"pid", "mnt", "net", "ipc", "uts"} {
		if execNS[typ] == "" || execNS[typ] != initNS[typ] {
			t.Errorf("exec'd process %s namespace %q differs from the init's %q", typ, execNS[typ], initNS[typ])
		}
	}
	if h := strings.TrimSpace(b.mustExec(nil, "/helper", "hostname")); h != b.spec.Hostname {
		t.Errorf("exec'd hostname: want %q, got %q", b.spec.Hostname, h)
	}
}

func TestExecExitCode(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.startContainer()
	if r := b.execIn(nil, "/helper", "exit", "42"); r.Code != 42 {
		t.Fatalf("exec exit code: want 42, got %s", r)
	}
	if r := b.execIn(nil, "/bin/sh", "-c", "kill -KILL $$"); r.Code != 137 {
		t.Fatalf("exec killed by KILL: want 137, got %s", r)
	}
}

func TestExecEnvCwd(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.startContainer()
	out := b.mustExec([]string{"--env", "HUSK_A=one", "--env", "HUSK_B=two words"}, "/helper", "env")
	mustContain(t, out, "HUSK_A=one\n", "exec --env")
	mustContain(t, out, "HUSK_B=two words\n", "exec --env")
	mustContain(t, out, "PATH=", "exec inherits the spec's env")
	if out := strings.TrimSpace(b.mustExec([]string{"--cwd", "/etc"}, "/helper", "cwd")); out != "/etc" {
		t.Fatalf("exec --cwd /etc: got %q", out)
	}
}

func TestExecUser(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.startContainer()
	out := strings.TrimSpace(b.mustExec([]string{"--user", "1000:1000", "--additional-gids", "2000"}, "/helper", "id"))
	if out != "uid=1000 gid=1000 euid=1000 egid=1000 groups=2000" {
		t.Fatalf("exec --user 1000:1000 --additional-gids 2000: got %q", out)
	}
	// A uid alone keeps the container process's gid (0 here), as runc.
	out = strings.TrimSpace(b.mustExec([]string{"--user", "1000"}, "/helper", "id"))
	if !strings.HasPrefix(out, "uid=1000 gid=0 ") {
		t.Fatalf("exec --user 1000: got %q", out)
	}
	// A name is looked up in the container's /etc/passwd and /etc/group.
	out = strings.TrimSpace(b.mustExec([]string{"--user", "test"}, "/helper", "id"))
	if !strings.HasPrefix(out, "uid=1000 gid=1000 ") || !strings.Contains(out, "2000") {
		t.Fatalf("exec --user test: got %q, want uid 1000, gid 1000 and the group 2000 test is in", out)
	}
	if r := b.rt("exec", "--user", "nosuchuser", b.id, "/helper", "id"); r.Code == 0 || !strings.Contains(r.Stderr, "nosuchuser") {
		t.Fatalf("exec --user nosuchuser should fail naming the user: %s", r)
	}
}

func TestExecProcessJSON(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.startContainer()
	p := specs.Process{
		Args: []string{"/helper", "env"},
		Env:  []string{"PATH=/bin", "FROM_JSON=yes"},
		Cwd:  "/tmp",
		User: specs.User{UID: 1000, GID: 1000},
	}
	data, _ := json.Marshal(p)
	path := filepath.Join(t.TempDir(), "process.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := b.mustExec([]string{"--process", path})
	mustContain(t, out, "FROM_JSON=yes", "exec --process env")

	p.Args = []string{"/bin/sh", "-c", "/helper cwd; /helper id"}
	data, _ = json.Marshal(p)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out = b.mustExec([]string{"--process", path})
	mustContain(t, out, "/tmp\n", "exec --process cwd")
	mustContain(t, out, "uid=1000 gid=1000", "exec --process user")
}

func TestExecDetachPidFile(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.startContainer()
	pidFile := filepath.Join(t.TempDir(), "exec.pid")
	out := filepath.Join(b.rootfs, "detached")
	r := b.rtOpts(opts{outFile: filepath.Join(t.TempDir(), "exec.out")},
		"exec", "-d", "--pid-file", pidFile, b.id, "/bin/sh", "-c", "/helper pid > /detached; exec /helper sleep 600")
	if r.Code != 0 {
		t.Fatalf("exec -d: %s", r)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("exec -d --pid-file wrote no pid file: %v", err)
	}
	if strings.HasSuffix(string(data), "\n") {
		t.Errorf("pid file has a trailing newline: %q", data)
	}
	pid := atoi(t, string(data))
	if !pidAlive(pid) {
		t.Fatalf("pid %d from exec -d --pid-file is not alive", pid)
	}
	if !waitFor(10*time.Second, func() bool { d, _ := os.ReadFile(out); return len(d) > 0 }) {
		t.Fatalf("detached process never ran")
	}
	// The shell's execve of sleep may be under way: its cmdline reads
	// empty for that moment.
	var cmdline []byte
	if !waitFor(5*time.Second, func() bool {
		cmdline, _ = os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		return strings.Contains(string(cmdline), "sleep")
	}) {
		t.Fatalf("pid %d from the pid file is not the exec'd process: cmdline %q", pid, cmdline)
	}
}

func TestExecStoppedFails(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/true")
	b.startContainer()
	b.waitStatus("stopped")
	r := b.execIn(nil, "/helper", "pid")
	if r.Code == 0 {
		t.Fatalf("exec into a stopped container should fail: %s", r)
	}
	for _, l := range lines(r.Stdout) {
		if _, err := strconv.Atoi(l); err == nil {
			t.Fatalf("exec into a stopped container ran the helper: %s", r)
		}
	}
}

func TestExecCreatedContainer(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.mustCreate()
	// runc allows exec into a created container; what matters is that the
	// init has not started as a side effect.
	b.execIn(nil, "/helper", "pid")
	if st := b.state(); st.Status != "created" {
		t.Fatalf("exec into a created container changed its status: %+v", st)
	}
}

func TestExecNotFound(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.startContainer()
	r := b.execIn(nil, "/no/such/binary")
	if r.Code == 0 {
		t.Fatalf("exec of a missing binary should fail: %s", r)
	}
	out := r.Out()
	if !strings.Contains(out, "no such file or directory") && !strings.Contains(out, "executable file not found") {
		t.Fatalf("exec of a missing binary: want an error naming the cause: %s", r)
	}
	if st := b.state(); st.Status != "running" {
		t.Fatalf("a failed exec changed the container's status: %+v", st)
	}
}

// An exec without a terminal, a user name, LSM labels, process attributes
// or a seccomp agent is set up by husk's C preamble alone
// (libcontainer/nsenter/execproc.c); with --debug, by the Go stage, as
// every other process is. What the process finds must be the same either
// way: ids, groups, HOME, umask, cwd, capabilities, no_new_privs, the
// seccomp filter, rlimits, fds and environment.
func TestExecDirectMatchesGoStage(t *testing.T) {
	needSeccomp(t)
	t.Parallel()
	b := newBundle(t)
	b.spec.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"sethostname"}, Action: specs.ActErrno}},
	}
	b.startContainer()
	probe := []string{"/bin/sh", "-c", `id; echo "home=$HOME"; umask; pwd; grep -E "^(Cap|NoNewPrivs|Seccomp)" /proc/self/status; ` +
		`ulimit -n; ulimit -Hn; ls /proc/self/fd; env | sort; hostname x 2>&1; echo "hostname=$?"`}
	caps := []string{"CAP_CHOWN", "CAP_NET_BIND_SERVICE"}
	umask := uint32(0o027)
	processes := map[string]*specs.Process{
		"root": {Args: probe, Env: []string{"PATH=/bin"}, Cwd: "/"},
		"user, no_new_privs": {
			Args: probe, Env: []string{"PATH=/bin:/usr/bin", "A=1", "A=2"}, Cwd: "/tmp",
			User:            specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5, 7}, Umask: &umask},
			Capabilities:    &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps, Inheritable: caps, Ambient: caps},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 100, Hard: 200}},
			NoNewPrivileges: true,
		},
		"user, filter before the capabilities": {
			Args: probe, Env: []string{"PATH=/bin", "HOME="}, Cwd: "/",
			User:         specs.User{UID: 1000, GID: 1000},
			Capabilities: &specs.LinuxCapabilities{Bounding: caps, Permitted: caps[:1], Effective: caps[:1]},
		},
	}
	for name, p := range processes {
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "process.json")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		direct := b.mustExec([]string{"--process", path})
		r := b.rt("--debug", "--log", filepath.Join(t.TempDir(), "log"), "exec", "--process", path, b.id)
		if r.Code != 0 {
			t.Fatalf("%s: exec --debug: %s", name, r)
		}
		if direct != r.Stdout {
			t.Errorf("%s: the process saw, set up by the preamble:\n%s\nand by the Go stage:\n%s", name, direct, r.Stdout)
		}
		mustContain(t, direct, "Seccomp:\t2", name+": the container's filter")
		mustContain(t, direct, "hostname=1", name+": sethostname refused by the filter")
	}
	// The errors read the same too.
	for _, args := range [][]string{{"nosuch"}, {"/nosuch"}, {"/etc"}} {
		direct := b.execIn(nil, args...)
		viaGo := b.rt(append([]string{"--debug", "--log", filepath.Join(t.TempDir(), "log"), "exec", b.id}, args...)...)
		if direct.Code == 0 || direct.Code != viaGo.Code || lastLine(direct.Stderr) != lastLine(viaGo.Stderr) {
			t.Errorf("exec %q: set up by the preamble %s; by the Go stage %s", args, direct, viaGo)
		}
	}
	for _, cwd := range []string{"/nonexistent", "/etc/passwd"} {
		direct := b.execIn([]string{"--cwd", cwd}, "true")
		viaGo := b.rt("--debug", "--log", filepath.Join(t.TempDir(), "log"), "exec", "--cwd", cwd, b.id, "true")
		if direct.Code == 0 || lastLine(direct.Stderr) != lastLine(viaGo.Stderr) {
			t.Errorf("exec --cwd %s: set up by the preamble %s; by the Go stage %s", cwd, direct, viaGo)
		}
	}
}
