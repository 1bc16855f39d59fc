package stage

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

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
	v, err := readOnlyView(path, &want)
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	f := v.exe
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
	v, err := sealedSelf()
	if err != nil {
		t.Fatal(err)
	}
	defer v.close()
	f := v.exe
	assertOverlay(t, f)
	exe, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile("/proc/self/fd/" + strconv.Itoa(int(f.Fd()))); !bytes.Equal(got, exe) {
		t.Fatal("the handle is not this binary")
	}
}

// The view's second layer is /dev on every kernel husk runs on (a detached
// tmpfs, the other choice, is a layer only from Linux 6.15 on), and the
// view over it shows the binary's directory's file, unwritable.
func TestReadOnlyViewOverDev(t *testing.T) {
	testutil.RequireRoot(t)
	exe, err := os.ReadFile("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "husk"), exe, 0o755); err != nil {
		t.Fatal(err)
	}
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dfd)
	mnt, err := overlayOver(dfd, devLayer)
	if err != nil {
		t.Fatalf("overlay of %s over /dev: %v", dir, err)
	}
	defer unix.Close(mnt)
	fd, err := unix.Openat(mnt, "husk", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "view")
	defer f.Close()
	assertOverlay(t, f)
	assertUnwritable(t, f, exe)
}

// close leaves nothing of the view open: the overlay's mount, which a
// goroutine closes, goes too.
func TestSelfViewCloseReleasesMount(t *testing.T) {
	testutil.RequireRoot(t)
	v, err := sealedSelf()
	if err != nil {
		t.Fatal(err)
	}
	if v.mount < 0 {
		v.close()
		t.Fatal("no overlay mount to release")
	}
	var mnt unix.Stat_t
	if err := unix.Fstat(v.mount, &mnt); err != nil {
		t.Fatal(err)
	}
	fd := v.mount
	v.close()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		var st unix.Stat_t
		// The fd number may be another file's by now, never the mount's.
		if err := unix.Fstat(fd, &st); err != nil || st.Dev != mnt.Dev || st.Ino != mnt.Ino {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the overlay's mount is still open 5 s after close")
		}
	}
}
