package libcontainer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/libcontainer/seccomp"
)

func TestValidateID(t *testing.T) {
	for _, id := range []string{"a", "abc-123", "A_b.c+d", strings.Repeat("x", 1024)} {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v, want nil", id, err)
		}
	}
	for _, id := range []string{"", ".", "..", "../x", "a/b", "/abs", "a b", "a\x00b", "ä", strings.Repeat("x", 1025)} {
		if err := ValidateID(id); err == nil {
			t.Errorf("ValidateID(%q) = nil, want an error", id)
		}
	}
}

func TestStateSaveLoad(t *testing.T) {
	dir := t.TempDir()
	want := &State{
		ID: "c1", Bundle: "/b", Rootfs: "/b/rootfs", Pid: 42, PidStart: 7,
		Created:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		CgroupPaths: map[string]string{"memory": "/sys/fs/cgroup/memory/c1"},
	}
	profile := seccomp.Profile(`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}`)
	want.setSpec(&specs.Spec{Version: "1.3.0", Hostname: "h",
		Annotations: map[string]string{"a": "b"},
		Hooks:       &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true"}}},
	}, profile)
	if err := want.save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := loadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != want.ID || got.Pid != 42 || got.PidStart != 7 || !got.Created.Equal(want.Created) ||
		got.CgroupPaths["memory"] != want.CgroupPaths["memory"] {
		t.Fatalf("loaded %+v, want %+v", got, want)
	}
	// Hooks and annotations come with the load; the rest of the spec on demand.
	if got.meta.Annotations["a"] != "b" || got.meta.Hooks == nil || len(got.meta.Hooks.Poststop) != 1 {
		t.Fatalf("loaded meta %+v, want the saved annotations and hooks", got.meta)
	}
	spec, err := got.Spec()
	if err != nil || spec.Hostname != "h" || spec.Linux == nil || spec.Linux.Seccomp != nil {
		t.Fatalf("Spec() = %+v, %v; want hostname h and a linux without seccomp", spec, err)
	}
	// The profile comes back with the bytes it was saved with, which the
	// seccomp cache's key is made of.
	if p, err := got.Seccomp(); err != nil || string(p) != string(profile) {
		t.Fatalf("Seccomp() = %s, %v; want %s", p, err, profile)
	}
	// The write is atomic: no temporary file is left beside state.json.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("state dir holds %d entries, want only state.json", len(entries))
	}
}

// replaceFile writes a file's pieces in order, empty ones too, and a
// shorter content written over the spare file leaves nothing of the longer
// one.
func TestReplaceFile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		pieces []string
		want   string
	}{
		{[]string{"", `{"a":`, "", strings.Repeat("x", 70000), "}"}, `{"a":` + strings.Repeat("x", 70000) + "}"},
		{[]string{"short"}, "short"},
		{[]string{"", ""}, ""},
	} {
		var data [][]byte
		for _, p := range c.pieces {
			data = append(data, []byte(p))
		}
		if err := replaceFile(dir, "f", data, ".spare"); err != nil {
			t.Fatal(err)
		}
		if got, err := os.ReadFile(filepath.Join(dir, "f")); err != nil || string(got) != c.want {
			t.Fatalf("%q: read %d bytes (%v), want %d", c.pieces, len(got), err, len(c.want))
		}
	}
}

func TestLoadStateMissingAndCorrupt(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "c1")
	if _, err := loadState(dir); !errors.Is(err, ErrNotExist) {
		t.Fatalf("no state dir: %v, want ErrNotExist", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// A directory with nothing of husk's in it is no container.
	if _, err := loadState(dir); !errors.Is(err, ErrNotExist) {
		t.Fatalf("empty dir: %v, want ErrNotExist", err)
	}
	// With its exec fifo but neither file, it is a damaged one.
	if err := os.WriteFile(filepath.Join(dir, fifoName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := loadState(dir)
	if err != nil || s.broken == nil || s.ID != "c1" || s.Pid != 0 {
		t.Fatalf("state dir with only its fifo: %+v, %v; want a broken state of c1", s, err)
	}
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err = loadState(dir); err != nil || s.broken == nil || !strings.Contains(s.broken.Error(), stateFile) {
		t.Fatalf("corrupt state: %+v, %v; want broken, naming %s", s, err, stateFile)
	}
}

// A create writes only record.json until its final save; a state.json that
// is lost or damaged after that leaves the record to name what to remove.
func TestLoadStateFromRecord(t *testing.T) {
	dir := t.TempDir()
	rec := &State{ID: "c1", Pid: 42, PidStart: 7, Creating: true, Creator: 9,
		CgroupPaths: map[string]string{"pids": "/sys/fs/cgroup/pids/husk/c1"}}
	if err := rec.saveRecord(dir); err != nil {
		t.Fatal(err)
	}
	s, err := loadState(dir)
	if err != nil || s.broken != nil || !s.Creating || s.Pid != 42 {
		t.Fatalf("record of a create: %+v, %v; want the record, not broken", s, err)
	}
	rec.Creating = false
	if err := rec.saveRecord(dir); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"missing":   "",
		"truncated": `{"id":"c1","pid":4`,
		"garbage":   "\x00\xff",
		"mistyped":  `{"id":"c1","pid":"42","spec":{}}`,
		"no spec":   `{"id":"c1","pid":42}`,
	} {
		path := filepath.Join(dir, stateFile)
		os.Remove(path)
		if data != "" {
			if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		s, err := loadState(dir)
		if err != nil || s.broken == nil || s.Pid != 42 || s.CgroupPaths["pids"] != rec.CgroupPaths["pids"] {
			t.Errorf("%s state.json: %+v, %v; want broken with the record's pid and cgroups", name, s, err)
			continue
		}
		if !strings.Contains(s.broken.Error(), stateFile) {
			t.Errorf("%s state.json: %v does not name %s", name, s.broken, stateFile)
		}
	}
}

func TestStateVersion(t *testing.T) {
	dir := t.TempDir()
	s := &State{ID: "c1"}
	s.setSpec(&specs.Spec{Version: "1.3.0"}, nil)
	if err := s.save(dir); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, stateFile))
	if !strings.Contains(string(data), `"version":2,`) {
		t.Fatalf("state.json %s has no format version 2", data)
	}
	// husk 0.1 wrote no version: read as it is.
	old := strings.Replace(string(data), `"version":2,`, "", 1)
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := loadState(dir); err != nil || s.broken != nil {
		t.Fatalf("version 0 state: %v, %v; want it read", err, s.broken)
	}
	newer := strings.Replace(string(data), `"version":2,`, `"version":99,`, 1)
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte(newer), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadState(dir); err == nil || !strings.Contains(err.Error(), "newer husk") {
		t.Fatalf("version 99 state: %v, want refused as written by a newer husk", err)
	}
}

func TestLockDirSerializes(t *testing.T) {
	dir := t.TempDir()
	first, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	locked := make(chan struct{})
	go func() {
		second, err := lockDir(dir)
		if err == nil {
			second.Close()
		}
		close(locked)
	}()
	select {
	case <-locked:
		t.Fatal("a second lock was granted while the first was held")
	case <-time.After(100 * time.Millisecond):
	}
	first.Close()
	select {
	case <-locked:
	case <-time.After(5 * time.Second):
		t.Fatal("the second lock was not granted after the first was released")
	}
	if _, err := lockDir(filepath.Join(dir, "nope")); !errors.Is(err, ErrNotExist) {
		t.Fatalf("lock of a missing dir: %v, want ErrNotExist", err)
	}
}

// Formats 0 and 1 kept the systemd unit in cgroup_paths: read so, it is
// the unit and no cgroup directory.
func TestStateLegacySystemdUnit(t *testing.T) {
	dir := t.TempDir()
	old := `{"version":1,"id":"c1","pid":1,"cgroup_paths":{"":"/sys/fs/cgroup/system.slice/x.scope","systemd:unit":"x.scope"},"spec":{"ociVersion":"1.3.0"}}`
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := loadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.SystemdUnit != "x.scope" || len(s.CgroupPaths) != 1 || s.CgroupPaths[""] == "" {
		t.Fatalf("unit %q, paths %v: want the unit apart from the one directory", s.SystemdUnit, s.CgroupPaths)
	}
	if err := s.save(dir); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, stateFile))
	if strings.Contains(string(data), legacyUnitKey) || !strings.Contains(string(data), `"systemd_unit":"x.scope"`) {
		t.Fatalf("saved again: %s", data)
	}
}
