package stage

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// The stage's binary handle is a read-only view of husk's binary, and no
// way an attacker holding it would try makes it writable: reopening it for
// writing, after clearing MOUNT_ATTR_RDONLY on its mount too, truncating
// it, changing its mode. A copy of a binary stands for husk's own, which
// as the running executable refuses writes anyway (ETXTBSY).
func TestReadOnlyViewCannotBeWritten(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("overlayfs needs root")
	}
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
	if os.Geteuid() != 0 {
		t.Skip("overlayfs needs root")
	}
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

func TestMemfdSelfCannotBeWritten(t *testing.T) {
	f, err := memfdSelf()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	exe, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	assertUnwritable(t, f, exe)
}

func assertUnwritable(t *testing.T, f *os.File, want []byte) {
	t.Helper()
	path := "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the handle holds %d bytes that are not the binary (%d bytes)", len(got), len(want))
	}
	clr := unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(int(f.Fd()), "", unix.AT_EMPTY_PATH, &clr); err == nil {
		t.Log("mount_setattr cleared MOUNT_ATTR_RDONLY on the handle's mount")
	}
	if w, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
		_, werr := w.WriteAt([]byte("overwritten"), 0)
		w.Close()
		if werr == nil {
			t.Fatal("wrote through the handle")
		}
	}
	if err := os.Truncate(path, 0); err == nil {
		t.Fatal("truncated the binary through the handle")
	}
}

func assertOverlay(t *testing.T, f *os.File) {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	if st.Type != unix.OVERLAYFS_SUPER_MAGIC {
		t.Fatalf("the binary should be on a read-only overlayfs, got fs type %#x", st.Type)
	}
}
