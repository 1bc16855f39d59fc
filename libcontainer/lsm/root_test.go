package lsm

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/internal/testutil"
)

// A handle that is not on procfs (a container's fake /proc, say) is never
// written to.
func TestWriteProcFileRefusesTmpfs(t *testing.T) {
	testutil.RequireRoot(t)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	path := filepath.Join(dir, "exec")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = writeProcFile(f, "exec unconfined")
	if want := "not on procfs (filesystem magic 0x1021994): refusing to write"; err == nil || err.Error() != want {
		t.Fatalf("writeProcFile on tmpfs = %v, want %q", err, want)
	}
	if data, _ := os.ReadFile(path); len(data) != 0 {
		t.Errorf("the tmpfs file was written: %q", data)
	}
}
