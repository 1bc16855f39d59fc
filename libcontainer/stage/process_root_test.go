package stage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/husk-runtime/husk/internal/testutil"
)

// TestLookPathAsExecve: with CAP_DAC_OVERRIDE, execve(2) runs a file any
// one execute bit is set on, whoever owns it, and refuses one without any:
// the lookup agrees.
func TestLookPathAsExecve(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	otherX := filepath.Join(dir, "other-x")
	noX := filepath.Join(dir, "no-x")
	for path, mode := range map[string]os.FileMode{otherX: 0o001, noX: 0o600} {
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(path, 1000, 1000); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := lookPath(otherX, nil); err != nil {
		t.Errorf("lookPath of a mode 0001 file as root: %v; execve would run it", err)
	}
	if _, err := lookPath(noX, nil); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("lookPath of a mode 0600 file as root = %v; execve refuses it with EACCES", err)
	}
}
