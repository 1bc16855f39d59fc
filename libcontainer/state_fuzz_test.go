package libcontainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/libcontainer/seccomp"
)

// FuzzValidateID: an id that ValidateID accepts names exactly one entry
// directly in the state root, whatever the root, since husk joins it to
// --root and later removes what that names.
func FuzzValidateID(f *testing.F) {
	for _, id := range []string{"a", "abc-123", "A_b.c+d", strings.Repeat("x", 1024),
		"", ".", "..", "../x", "a/b", "/abs", "a b", "a\x00b", "ä", strings.Repeat("x", 1025), "...", ".a", "-a"} {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		err := ValidateID(id)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		if id == "" || id == "." || id == ".." || len(id) > 1024 {
			t.Fatalf("ValidateID accepted %q", id)
		}
		if strings.ContainsAny(id, "/\x00") || strings.Trim(id, idChars) != "" {
			t.Fatalf("ValidateID accepted %q, which holds a character outside %q", id, idChars)
		}
		const root = "/run/husk"
		dir := stateDir(root, id)
		if filepath.Dir(dir) != root || filepath.Base(dir) != id {
			t.Fatalf("id %q names %s, not an entry of %s", id, dir, root)
		}
	})
}

// stateSeed is a state.json as create writes it.
func stateSeed(f *testing.F) []byte {
	dir := f.TempDir()
	s := &State{
		ID: "c1", Bundle: "/b", Rootfs: "/b/rootfs", Pid: 42, PidStart: 7, Owner: "root",
		Created:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		CgroupPaths: map[string]string{"memory": "/sys/fs/cgroup/memory/c1", "": "/sys/fs/cgroup/unified/c1"},
	}
	s.setSpec(&specs.Spec{Version: "1.3.0", Hostname: "h",
		Process:     &specs.Process{Args: []string{"sh"}, Cwd: "/"},
		Root:        &specs.Root{Path: "/b/rootfs"},
		Annotations: map[string]string{"a": "b"},
		Hooks:       &specs.Hooks{Poststop: []specs.Hook{{Path: "/bin/true"}}},
		Linux:       &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.MountNamespace}}},
	}, seccomp.Profile(`{"defaultAction":"SCMP_ACT_ALLOW"}`))
	if err := s.save(dir); err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// FuzzLoadState loads any state.json the way every command after create
// does (Load: the id checked, then loadState). A state that loads must be
// written back (update, and create's records, do so) to a file that loads
// to the same state, and the saved spec must decode or fail, never panic.
func FuzzLoadState(f *testing.F) {
	f.Add(stateSeed(f))
	for _, seed := range []string{
		"", "{", "null", "[]", `{"id":"c1"}`, `{"id":"c1","spec":null}`, `{"id":"c1","spec":{}}`,
		`{"id":"c1","spec":[]}`, `{"id":"c1","pid":-1,"pid_start":1,"spec":{"linux":null}}`,
		`{"id":"c1","created":"2026-01-02T03:04:05+23:59","spec":{"hooks":{"poststop":[{"path":"/x"}]}}}`,
		`{"id":"c1","cgroup_paths":{"":"/sys/fs/cgroup/c1"},"creating":true,"creator":1}`,
		`{"id":"../../etc","bundle":"/","spec":{"annotations":{"a":"b"}}}`,
	} {
		f.Add([]byte(seed))
	}
	root := f.TempDir()
	dir := filepath.Join(root, "c1")
	if err := os.Mkdir(dir, 0o700); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, stateFile), data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := (&Runtime{Root: root}).Load("c1")
		if err != nil {
			if !errors.Is(err, ErrNotExist) && !strings.Contains(err.Error(), stateFile) {
				t.Fatalf("error %q does not name %s", err, stateFile)
			}
			return
		}
		s := c.State
		if err := s.save(dir); err != nil {
			t.Fatalf("a loaded state cannot be saved: %v", err)
		}
		first, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("a loaded state does not marshal: %v", err)
		}
		again, err := loadState(dir)
		if err != nil {
			t.Fatalf("a saved state does not load: %v", err)
		}
		second, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, second) || !reflect.DeepEqual(s.meta, again.meta) {
			t.Fatalf("state changed through save and load:\n%s\n%s", first, second)
		}
		if spec, err := s.Spec(); err == nil {
			if _, err := json.Marshal(spec); err != nil {
				t.Fatalf("a decoded spec does not marshal: %v", err)
			}
			// The profile keeps its bytes, the seccomp cache's key.
			profile, _ := s.Seccomp()
			if err := s.save(dir); err != nil {
				t.Fatalf("a decoded spec cannot be saved: %v", err)
			}
			again, err := loadState(dir)
			if err != nil {
				t.Fatal(err)
			}
			if p, err := again.Seccomp(); err != nil || !bytes.Equal(p, profile) {
				t.Fatalf("linux.seccomp changed through save and load (%v):\n%s\n%s", err, profile, p)
			}
		} else if !strings.Contains(err.Error(), "saved spec") {
			t.Fatalf("spec error %q does not say which spec", err)
		}
	})
}
