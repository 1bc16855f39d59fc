package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// A container whose state.json is damaged or lost while it runs is listed
// as broken, and delete --force removes all of it (its processes, cgroups,
// state dir) from what create recorded beside state.json.
func TestBrokenStateDeleteForce(t *testing.T) {
	t.Parallel()
	if isRunc() {
		t.Skip("runc can't remove a container whose state.json is damaged")
	}
	damage := map[string]func(path string, data []byte) error{
		"truncated":    func(p string, d []byte) error { return os.WriteFile(p, d[:len(d)/2], 0o600) },
		"empty":        func(p string, d []byte) error { return os.WriteFile(p, nil, 0o600) },
		"garbage":      func(p string, d []byte) error { return os.WriteFile(p, []byte("\x00\xff\x13garbage"), 0o600) },
		"mistyped":     func(p string, d []byte) error { return os.WriteFile(p, []byte(`{"id":5,"pid":"x","spec":[]}`), 0o600) },
		"removed":      func(p string, d []byte) error { return os.Remove(p) },
		"a directory":  func(p string, d []byte) error { os.Remove(p); return os.Mkdir(p, 0o700) },
		"json of null": func(p string, d []byte) error { return os.WriteFile(p, []byte("null"), 0o600) },
	}
	for name, spoil := range damage {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// No PID namespace: the init's child outlives it unless delete
			// kills the whole cgroup, which only the record names.
			b := newBundle(t, "/bin/sh", "-c", childScript)
			removeNamespace(b, specs.PIDNamespace)
			st := b.startContainer()
			child := b.childPid()
			path := filepath.Join(b.root, b.id, "state.json")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := spoil(path, data); err != nil {
				t.Fatal(err)
			}

			r := b.rt("state", b.id)
			if r.Code == 0 || !strings.Contains(r.Stderr, "state.json") || !strings.Contains(r.Stderr, "delete --force") {
				t.Errorf("state of a broken container: %s\nwant an error naming state.json and delete --force", r)
			}
			list := b.mustRT("list", "--format", "json")
			var states []struct{ ID, Status string }
			if err := json.Unmarshal([]byte(list.Stdout), &states); err != nil {
				t.Fatalf("list --format json: %v: %s", err, list)
			}
			found := false
			for _, s := range states {
				if s.ID == b.id {
					found = true
					if s.Status != "broken" {
						t.Errorf("list shows %s as %q, want broken", b.id, s.Status)
					}
				}
			}
			if !found {
				t.Errorf("list does not show the broken container %s: %s", b.id, list.Stdout)
			}
			if r := b.rt("delete", b.id); r.Code == 0 {
				t.Errorf("delete without --force removed a broken running container: %s", r)
			}
			b.mustRT("delete", "--force", b.id)
			if !waitFor(outputTimeout, func() bool { return !pidAlive(st.Pid) && !pidAlive(child) }) {
				t.Errorf("after delete --force: init %d alive %v, its child %d alive %v", st.Pid, pidAlive(st.Pid), child, pidAlive(child))
			}
			checkNothingLeft(t, b)
			checkNoTempDirs(t, b)
			// The id is free again.
			b.startContainer()
		})
	}
}
