package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestLifecycle(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	marker := filepath.Join(b.rootfs, "started")
	b.shell("/helper write /started yes; echo started-output; exec /helper sleep 600")

	b.mustCreate()
	st := b.state()
	if st.Status != "created" {
		t.Fatalf("after create: want status created, got %+v", st)
	}
	if st.Pid <= 0 || !pidAlive(st.Pid) {
		t.Fatalf("after create: want the pid of a live init, got %+v", st)
	}
	// The user program must not have started: give it a chance to misbehave.
	time.Sleep(300 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("the process ran before start: %s exists", marker)
	}
	if out := b.output(); strings.Contains(out, "started-output") {
		t.Fatalf("the process wrote output before start: %q", out)
	}

	b.mustRT("start", b.id)
	if !waitFor(10*time.Second, func() bool { _, err := os.Stat(marker); return err == nil }) {
		t.Fatalf("after start: the process never wrote %s", marker)
	}
	b.waitOutput("started-output")
	st = b.state()
	if st.Status != "running" {
		t.Fatalf("after start: want running, got %+v", st)
	}

	waitCatches(t, st.Pid, syscall.SIGTERM)
	b.mustRT("kill", b.id)
	b.waitStatus("stopped")
	if pidAlive(st.Pid) {
		t.Fatalf("init pid %d still alive after kill + stopped", st.Pid)
	}

	b.mustRT("delete", b.id)
	if _, err := os.Stat(filepath.Join(b.root, b.id)); err == nil {
		t.Fatalf("state dir remains after delete")
	}
	if r := b.rt("state", b.id); r.Code == 0 {
		t.Fatalf("state after delete should fail: %s", r)
	}
}

func TestKillSignalForms(t *testing.T) {
	t.Parallel()
	for _, sig := range []string{"", "TERM", "SIGTERM", "15", "KILL", "SIGKILL", "9", "USR1"} {
		name := sig
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/helper", "sigwait")
			b.startContainer()
			b.waitOutput("ready")
			args := []string{"kill", b.id}
			if sig != "" {
				args = append(args, sig)
			}
			b.mustRT(args...)
			b.waitStatus("stopped")
			out := b.output()
			switch sig {
			case "", "TERM", "SIGTERM", "15":
				mustContain(t, out, "SIGTERM 15", "the signal the container got")
			case "USR1":
				mustContain(t, out, "SIGUSR1 10", "the signal the container got")
			}
		})
	}
}

func TestStartTwiceFails(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.startContainer()
	r := b.rt("start", b.id)
	if r.Code == 0 {
		t.Fatalf("start of a running container should fail: %s", r)
	}
	if strings.TrimSpace(r.Stderr) == "" {
		t.Fatalf("start of a running container should say why: %s", r)
	}
	t.Logf("start on running: %s", strings.TrimSpace(r.Stderr))
}

func TestStartStoppedFails(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/true")
	b.startContainer()
	b.waitStatus("stopped")
	r := b.rt("start", b.id)
	if r.Code == 0 {
		t.Fatalf("start of a stopped container should fail: %s", r)
	}
	if !strings.Contains(strings.ToLower(r.Stderr), "stopped") {
		t.Fatalf("start of a stopped container: want an error that says stopped: %s", r)
	}
}

func TestStateFields(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.mustCreate()
	st, raw := b.stateRaw()
	if st.ID != b.id || st.Bundle != b.dir || st.Status != "created" || st.Pid <= 0 {
		t.Fatalf("state: want id %s bundle %s created pid>0, got %+v", b.id, b.dir, st)
	}
	if st.Version == "" {
		t.Fatalf("state: ociVersion is empty: %v", raw)
	}
	for _, k := range []string{"ociVersion", "id", "status", "pid", "bundle", "rootfs", "created", "owner"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("state: field %q missing: %v", k, raw)
		}
	}
	if r, _ := raw["rootfs"].(string); r != b.rootfs {
		t.Errorf("state rootfs: want %s, got %v", b.rootfs, raw["rootfs"])
	}
	if c, _ := raw["created"].(string); c != "" {
		ts, err := time.Parse(time.RFC3339Nano, c)
		if err != nil || time.Since(ts) > time.Minute || time.Since(ts) < -time.Minute {
			t.Errorf("state created: want a recent RFC3339 time, got %q (%v)", c, err)
		}
	}
}

// listEntry is one element of `list --format json`.
type listEntry struct {
	ID      string `json:"id"`
	Pid     int    `json:"pid"`
	Status  string `json:"status"`
	Bundle  string `json:"bundle"`
	Rootfs  string `json:"rootfs"`
	Created string `json:"created"`
	Owner   string `json:"owner"`
}

func TestList(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.mustCreate()
	st := b.state()

	r := b.mustRT("list")
	ls := lines(r.Stdout)
	if len(ls) != 2 {
		t.Fatalf("list: want a header and one row, got: %s", r)
	}
	for _, h := range []string{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"} {
		mustContain(t, ls[0], h, "list header")
	}
	f := strings.Fields(ls[1])
	if len(f) < 4 || f[0] != b.id || f[1] != strconv.Itoa(st.Pid) || f[2] != "created" || f[3] != b.dir {
		t.Fatalf("list row: want %s %d created %s ..., got %q", b.id, st.Pid, b.dir, ls[1])
	}

	r = b.mustRT("list", "--format", "json")
	var entries []listEntry
	if err := json.Unmarshal([]byte(r.Stdout), &entries); err != nil {
		t.Fatalf("list --format json does not decode: %v\n%s", err, r)
	}
	if len(entries) != 1 {
		t.Fatalf("list --format json: want one entry, got %s", r)
	}
	e := entries[0]
	if e.ID != b.id || e.Pid != st.Pid || e.Status != "created" || e.Bundle != b.dir || e.Rootfs != b.rootfs || e.Created == "" {
		t.Fatalf("list --format json entry: %+v (state %+v)", e, st)
	}

	r = b.mustRT("list", "-q")
	if strings.TrimSpace(r.Stdout) != b.id {
		t.Fatalf("list -q: want just %q, got %s", b.id, r)
	}
}

func TestListEmptyRoot(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	// A --root that doesn't exist is an error (TestListMissingRoot).
	if err := os.MkdirAll(b.root, 0o700); err != nil {
		t.Fatal(err)
	}
	r := b.mustRT("list", "--format", "json")
	var entries []listEntry
	if s := strings.TrimSpace(r.Stdout); s != "null" && s != "[]" {
		if err := json.Unmarshal([]byte(s), &entries); err != nil || len(entries) != 0 {
			t.Fatalf("list --format json of an empty root: want [] or null, got %s", r)
		}
	}
	r = b.mustRT("list", "-q")
	if strings.TrimSpace(r.Stdout) != "" {
		t.Fatalf("list -q of an empty root: want nothing, got %s", r)
	}
}

func TestPs(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	st := b.startContainer()
	r := b.mustRT("ps", "--format", "json", b.id)
	var pids []int
	if err := json.Unmarshal([]byte(r.Stdout), &pids); err != nil {
		t.Fatalf("ps --format json does not decode as an array of pids: %v\n%s", err, r)
	}
	found := false
	for _, p := range pids {
		found = found || p == st.Pid
	}
	if !found {
		t.Fatalf("ps --format json: want the init's host pid %d in %v", st.Pid, pids)
	}
	if r.Stderr != "" {
		t.Fatalf("ps --format json wrote to stderr: %s", r)
	}
}

func TestDeleteRunningNeedsForce(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	st := b.startContainer()
	if r := b.rt("delete", b.id); r.Code == 0 {
		t.Fatalf("delete of a running container without --force should fail: %s", r)
	}
	b.mustRT("delete", "--force", b.id)
	if !waitFor(5*time.Second, func() bool { return !pidAlive(st.Pid) }) {
		t.Fatalf("init %d still alive after delete --force", st.Pid)
	}
}

func TestDeleteCreated(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.mustCreate()
	st := b.state()
	b.mustRT("delete", "--force", b.id)
	if !waitFor(5*time.Second, func() bool { return !pidAlive(st.Pid) }) {
		t.Fatalf("init %d of a created container still alive after delete --force", st.Pid)
	}
	if _, err := os.Stat(filepath.Join(b.rootfs, "started")); err == nil {
		t.Fatalf("deleting a created container ran its process")
	}
}

func TestFeatures(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	r := b.mustRT("features")
	var f map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &f); err != nil {
		t.Fatalf("features does not print JSON: %v\n%s", err, r)
	}
	for _, k := range []string{"ociVersionMin", "ociVersionMax", "hooks", "mountOptions", "linux"} {
		if _, ok := f[k]; !ok {
			t.Errorf("features: no %q in %s", k, r.Stdout)
		}
	}
	if v, _ := f["ociVersionMax"].(string); !strings.HasPrefix(v, "1.") {
		t.Errorf("features ociVersionMax: %v", f["ociVersionMax"])
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	r := b.rtOpts(opts{noRoot: true}, "--version")
	if r.Code != 0 || !strings.Contains(r.Stdout, "version") || !strings.Contains(r.Stdout, "spec: 1.") {
		t.Fatalf("--version: want a version line and `spec: 1.x`, got %s", r)
	}
}

func TestSpecCommand(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	dir := t.TempDir()
	r := b.rtOpts(opts{noRoot: true}, "spec", "--bundle", dir)
	if r.Code != 0 {
		t.Fatalf("spec --bundle: %s", r)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatalf("spec --bundle %s wrote no config.json: %v", dir, err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	if s.Version == "" || s.Root == nil || s.Root.Path != "rootfs" || s.Process == nil || s.Linux == nil {
		t.Fatalf("spec: incomplete config.json:\n%s", data)
	}
	// A second spec must not overwrite the file.
	if r := b.rtOpts(opts{noRoot: true}, "spec", "--bundle", dir); r.Code == 0 {
		t.Fatalf("spec over an existing config.json should fail: %s", r)
	}
}
