package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// checkCreateFailedClean asserts that a failed create left no trace: no
// state, no state dir, no cgroup, no mounts under the bundle.
func checkCreateFailedClean(t *testing.T, b *bundle, r *result) {
	t.Helper()
	if r.Code == 0 {
		t.Fatalf("create should have failed: %s", r)
	}
	if strings.TrimSpace(r.Stderr) == "" {
		t.Errorf("a failed create should say why on stderr: %s", r)
	}
	if s := b.rt("state", b.id); s.Code == 0 {
		t.Errorf("state of a container whose create failed should fail: %s", s)
	}
	if ents, _ := os.ReadDir(b.root); len(ents) != 0 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("the state root is not empty after a failed create: %v", names)
	}
	for _, ss := range []string{"pids", "memory", "cpu"} {
		if _, err := os.Stat(b.cgroupDir(ss)); err == nil {
			t.Errorf("cgroup %s left behind by a failed create", b.cgroupDir(ss))
		}
	}
	if m := mountsUnder(b.dir); len(m) != 0 {
		t.Errorf("mounts left behind by a failed create: %q", m)
	}
}

func TestBadConfigMalformed(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.noSave = true
	writeFile(t, filepath.Join(b.dir, "config.json"), `{"ociVersion": "1.0.2", "process": {`, 0o644)
	r := b.create()
	checkCreateFailedClean(t, b, r)
	mustContain(t, r.Stderr, "config.json", "error for a malformed config.json")
}

func TestBadConfigMissing(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.noSave = true
	r := b.create()
	checkCreateFailedClean(t, b, r)
	mustContain(t, r.Stderr, "config.json", "error for a missing config.json")
}

func TestBadRootfsMissing(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.spec.Root.Path = "no-such-rootfs"
	r := b.create()
	checkCreateFailedClean(t, b, r)
	mustContain(t, r.Stderr, "no-such-rootfs", "error for a missing rootfs")
}

func TestBadIDs(t *testing.T) {
	t.Parallel()
	for name, id := range map[string]string{
		"dotdot": "../x", "slash": "a/b", "empty": "", "long": strings.Repeat("a", 1025),
		"dot": ".", "dotdot-only": "..", "space": "a b", "newline": "a\nb",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t)
			b.id = id
			b.save()
			r := b.rt("create", "--bundle", b.dir, id)
			if r.Code == 0 {
				t.Fatalf("create with id %q should fail: %s", id, r)
			}
			if ents, _ := os.ReadDir(b.root); len(ents) != 0 {
				t.Errorf("create with id %q left entries in the state root: %v", id, ents)
			}
			if _, err := os.Lstat(filepath.Join(filepath.Dir(b.root), "x")); err == nil {
				t.Errorf("create with id %q wrote outside the state root", id)
			}
			// The id is not valid: nothing to force-delete by it.
			b.id = "invalid-" + randHex(4)
		})
	}
}

func TestBadDuplicateID(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.mustCreate()
	st := b.state()
	r := b.create()
	if r.Code == 0 {
		t.Fatalf("a second create with the same id should fail: %s", r)
	}
	mustContain(t, r.Stderr, "exists", "error for a duplicate id")
	if st2 := b.state(); st2.Pid != st.Pid || st2.Status != "created" {
		t.Fatalf("the failed duplicate create changed the first container: %+v -> %+v", st, st2)
	}
}

func TestBadUnknownFlag(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.save()
	r := b.rt("create", "--no-such-flag", "--bundle", b.dir, b.id)
	if r.Code == 0 {
		t.Fatalf("an unknown flag should be refused: %s", r)
	}
	mustContain(t, r.Out(), "no-such-flag", "error for an unknown flag")
	if s := b.rt("state", b.id); s.Code == 0 {
		t.Fatalf("a container was created despite the unknown flag: %s", s)
	}
	if r := b.rt("no-such-command"); r.Code == 0 {
		t.Fatalf("an unknown command should be refused: %s", r)
	}
}

func TestBadExecutableNotFound(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"/no/such/binary"}, {"no-such-binary-in-path"}} {
		t.Run(strings.Trim(args[0], "/"), func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, args...)
			r := b.create()
			checkCreateFailedClean(t, b, r)
			if !strings.Contains(r.Stderr, "executable file not found") && !strings.Contains(r.Stderr, "no such file or directory") {
				t.Fatalf("error for a missing executable should name the cause: %s", r)
			}
		})
	}
}

func TestBadFailedPrestartHook(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.spec.Hooks = nil
	b.save()
	// Through config.json edited by hand, to also cover a hook whose path
	// does not exist.
	var raw map[string]any
	data, _ := os.ReadFile(filepath.Join(b.dir, "config.json"))
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	raw["hooks"] = map[string]any{"prestart": []any{map[string]any{"path": "/no/such/hook"}}}
	data, _ = json.Marshal(raw)
	writeFile(t, filepath.Join(b.dir, "config.json"), string(data), 0o644)
	b.noSave = true
	r := b.create()
	checkCreateFailedClean(t, b, r)
}

func TestLogJSON(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	logFile := filepath.Join(t.TempDir(), "husk.log")
	r := b.rtOpts(opts{global: []string{"--log", logFile, "--log-format", "json"}}, "start", "no-such-container-"+randHex(3))
	if r.Code == 0 {
		t.Fatalf("start of a missing container should fail: %s", r)
	}
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatalf("--log %s was not written: %v (%s)", logFile, err, r)
	}
	var found bool
	for _, l := range lines(string(data)) {
		var e struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
			Time  string `json:"time"`
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", l, err)
		}
		if e.Level != "error" {
			continue
		}
		found = true
		if e.Msg == "" {
			t.Errorf("error log line without msg: %q", l)
		}
		if _, err := time.Parse(time.RFC3339, e.Time); err != nil {
			t.Errorf("log time %q is not RFC3339: %v", e.Time, err)
		}
	}
	if !found {
		t.Fatalf("no level=error line in the log:\n%s", data)
	}
}

func TestLogText(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	logFile := filepath.Join(t.TempDir(), "husk.log")
	r := b.rtOpts(opts{global: []string{"--log", logFile}}, "kill", "no-such-container-"+randHex(3))
	if r.Code == 0 {
		t.Fatalf("kill of a missing container should fail: %s", r)
	}
	data, _ := os.ReadFile(logFile)
	if !strings.Contains(string(data), "level=error") {
		t.Fatalf("text log should have a level=error line:\n%s", data)
	}
}

func TestPidFileNoNewline(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	pidFile := filepath.Join(t.TempDir(), "init.pid")
	b.mustCreate("--pid-file", pidFile)
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(string(data), "\n ") {
		t.Fatalf("pid file should hold just the pid: %q", data)
	}
	if st := b.state(); atoi(t, string(data)) != st.Pid {
		t.Fatalf("pid file %q does not match state pid %d", data, st.Pid)
	}
}

func TestPidFileRelative(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.save()
	// A relative --pid-file is relative to the caller's working directory
	// (the test package dir here would be wrong to write to), so use the
	// bundle dir as cwd through an absolute path made relative.
	rel, err := filepath.Rel(mustGetwd(t), filepath.Join(b.dir, "rel.pid"))
	if err != nil {
		t.Skip(err)
	}
	b.mustCreate("--pid-file", rel)
	if _, err := os.Stat(filepath.Join(b.dir, "rel.pid")); err != nil {
		t.Fatalf("relative --pid-file %s not written: %v", rel, err)
	}
}

func mustGetwd(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}

func TestDeleteUnknown(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	id := "no-such-container-" + randHex(3)
	if r := b.rt("delete", "--force", id); r.Code != 0 {
		t.Fatalf("delete --force of an unknown id should exit 0: %s", r)
	}
	r := b.rt("delete", id)
	if r.Code != 1 {
		t.Fatalf("delete of an unknown id should exit 1: %s", r)
	}
	mustContain(t, r.Stderr, "does not exist", "delete of an unknown id")
}

func TestKillStopped(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/true")
	b.startContainer()
	b.waitStatus("stopped")
	r := b.rt("kill", b.id, "KILL")
	if r.Code != 1 {
		t.Fatalf("kill of a stopped container should exit 1: %s", r)
	}
	mustContain(t, r.Stderr, "not running", "kill of a stopped container")
}

func TestKillBadSignal(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	st := b.startContainer()
	if r := b.rt("kill", b.id, "NOSUCHSIG"); r.Code == 0 {
		t.Fatalf("kill with an unknown signal should fail: %s", r)
	}
	if !pidAlive(st.Pid) {
		t.Fatalf("a refused kill killed the init")
	}
}

func TestMissingArgs(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	for _, cmd := range []string{"create", "start", "state", "kill", "delete", "exec", "ps"} {
		if r := b.rt(cmd); r.Code == 0 {
			t.Errorf("%s without a container id should fail: %s", cmd, r)
		}
	}
}

// A cgroup that already holds processes (here the hierarchy's root) is
// refused: kill --all and delete would otherwise kill what is in it.
func TestBadCgroupsPathInUse(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/true")
	b.spec.Linux.CgroupsPath = "/"
	r := b.create()
	if r.Code == 0 {
		t.Fatalf("create in the root cgroup should fail: %s", r)
	}
	mustContain(t, r.Stderr, "cgroupsPath", "create's error")
	if _, err := os.Stat(filepath.Join(b.root, b.id)); err == nil {
		t.Errorf("state dir left behind by a failed create")
	}
	if !pidAlive(os.Getpid()) || !pidAlive(os.Getppid()) {
		t.Fatal("the failed create killed processes outside the container")
	}
}

// A memory limit below what the runtime's own setup needs ends the stage
// at the OOM killer's hand before it can report anything: the error names
// the limit, as runc's does.
func TestBadInputMemoryLimitTooLow(t *testing.T) {
	t.Parallel()
	requireControllers(t, "memory")
	b := newBundle(t)
	b.spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(4096))}}
	r := b.create()
	checkCreateFailedClean(t, b, r)
	mustContain(t, r.Stderr, "linux.resources.memory.limit", "the error")
}

// A config.json that is a FIFO would hang a reader that waits for its
// writer: create refuses it at once.
func TestBadConfigFIFO(t *testing.T) {
	t.Parallel()
	if isRunc() {
		t.Skip("runc waits on a FIFO config.json forever")
	}
	b := newBundle(t)
	b.noSave = true
	if err := syscall.Mkfifo(filepath.Join(b.dir, "config.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := b.rtOpts(opts{timeout: 20 * time.Second, outFile: b.outPath}, "create", "--bundle", b.dir, b.id)
	if r.Err != nil && strings.Contains(r.Err.Error(), "timed out") {
		t.Fatalf("create waited on a FIFO config.json: %s", r)
	}
	checkCreateFailedClean(t, b, r)
	mustContain(t, r.Stderr, "config.json: not a regular file", "error for a FIFO config.json")
}

// An oversized config.json is refused before it is read, with its size.
func TestBadConfigTooLarge(t *testing.T) {
	t.Parallel()
	if isRunc() {
		t.Skip("runc reads any size")
	}
	b := newBundle(t)
	b.spec.Annotations = map[string]string{"big": strings.Repeat("x", 17<<20)}
	r := b.create()
	checkCreateFailedClean(t, b, r)
	mustContain(t, r.Stderr, "config.json: ", "error for a 17 MB config.json")
	mustContain(t, r.Stderr, "bytes, more than the 16777216 husk reads", "error for a 17 MB config.json")
}

// An init killed during setup, without a word of its own, is reported
// with how it ended.
func TestBadInitKilledDuringSetup(t *testing.T) {
	t.Parallel()
	if isRunc() {
		t.Skip("husk's own message")
	}
	b := newBundle(t)
	// The prestart hook, which runs while the init waits, kills it.
	b.spec.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c",
		`pid=$(grep -o '"pid":[0-9]*' | cut -d: -f2); kill -9 "$pid"; sleep 0.3`}}}}
	r := b.create()
	checkCreateFailedClean(t, b, r)
	mustContain(t, r.Stderr, "container init was killed by SIGKILL during setup", "the error")
}

// list with a --root that does not exist fails (runc 1.5), rather than
// listing nothing from a mistyped path.
func TestListMissingRoot(t *testing.T) {
	t.Parallel()
	root := filepath.Join(t.TempDir(), "no-such-root")
	r := runtimeCmd(t, root, opts{}, "list")
	if r.Code == 0 {
		t.Fatalf("list with a missing --root succeeded: %s", r)
	}
	mustContain(t, r.Stderr, root, "the error")
	if _, err := os.Stat(root); err == nil {
		t.Errorf("list made the missing --root %s", root)
	}
}
