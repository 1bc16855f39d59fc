package stage

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/internal/testutil"
)

// The stage's binary handle is a read-only view of husk's binary, and no
// way an attacker holding it would try makes it writable: reopening it for
// writing, after clearing MOUNT_ATTR_RDONLY on its mount too, truncating
// it, changing its mode. A copy of a binary stands for husk's own, which
// as the running executable refuses writes anyway (ETXTBSY).
func TestReadOnlyViewCannotBeWritten(t *testing.T) {
	testutil.RequireRoot(t)
	exe, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "husk")
	if err := os.WriteFile(path, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	var want unix.Stat_t
	if err := unix.Stat(path, &want); err != nil {
		t.Fatal(err)
	}
	f, err := readOnlyView(path, &want)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	assertOverlay(t, f)
	assertUnwritable(t, f, exe)
	if err := os.Chmod("/proc/self/fd/"+strconv.Itoa(int(f.Fd())), 0o777); err == nil {
		t.Error("changed the binary's mode through the handle")
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, exe) {
		t.Error("the file behind the view changed")
	}
	if err := unix.Stat(path, &want); err == nil && want.Mode&0o777 != 0o755 {
		t.Errorf("the file behind the view has mode %o now", want.Mode&0o777)
	}
}

// sealedSelf, as root, takes the overlay path.
func TestSealedSelfIsOverlay(t *testing.T) {
	testutil.RequireRoot(t)
	f, err := sealedSelf()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	assertOverlay(t, f)
	exe, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile("/proc/self/fd/" + strconv.Itoa(int(f.Fd()))); !bytes.Equal(got, exe) {
		t.Fatal("the handle is not this binary")
	}
}
