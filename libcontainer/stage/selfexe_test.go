package stage

import (
	"bytes"
	"os"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

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
