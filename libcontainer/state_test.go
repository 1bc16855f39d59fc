package libcontainer

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
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
	want.setSpec(&specs.Spec{Version: "1.3.0", Hostname: "h",
		Annotations: map[string]string{"a": "b"},
		Hooks:       &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true"}}},
	})
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
	if err != nil || spec.Hostname != "h" {
		t.Fatalf("Spec() = %+v, %v; want hostname h", spec, err)
	}
	// The write is atomic: no temporary file is left beside state.json.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("state dir holds %d entries, want only state.json", len(entries))
	}
}

func TestLoadStateMissingAndCorrupt(t *testing.T) {
	dir := t.TempDir()
	if _, err := loadState(dir); !errors.Is(err, ErrNotExist) {
		t.Fatalf("missing state: %v, want ErrNotExist", err)
	}
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadState(dir); err == nil || !strings.Contains(err.Error(), stateFile) {
		t.Fatalf("corrupt state: %v, want an error naming %s", err, stateFile)
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
