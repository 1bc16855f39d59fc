package stage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "tool")
	plain := filepath.Join(dir, "data")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=/nonexistent:" + dir}
	if p, err := lookPath("tool", env); err != nil || p != exe {
		t.Errorf("lookPath(tool) = %q, %v; want %q", p, err, exe)
	}
	// The texts clients sort errors by: podman maps them to 127 and 126.
	for _, c := range []struct{ file, want string }{
		{"nosuch", "executable file not found in $PATH"},
		{filepath.Join(dir, "nosuch"), "no such file or directory"},
		{plain, "permission denied"},
		// execve(2) refuses a directory with EACCES, and so does the lookup.
		{dir, "permission denied"},
	} {
		_, err := lookPath(c.file, env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("lookPath(%q) = %v, want an error containing %q", c.file, err, c.want)
		}
	}
}

func TestEnvValueLastWins(t *testing.T) {
	env := []string{"A=1", "PATH=/a", "A=2"}
	if v, ok := envValue(env, "A"); !ok || v != "2" {
		t.Errorf("envValue(A) = %q, %v", v, ok)
	}
	if _, ok := envValue(env, "B"); ok {
		t.Error("envValue(B) found a missing key")
	}
}
