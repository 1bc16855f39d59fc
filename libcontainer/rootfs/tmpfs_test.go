package rootfs

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestHasModeOption(t *testing.T) {
	for data, want := range map[string]bool{
		"":                      false,
		"size=1m":               false,
		"mode=755":              true,
		"size=1m,mode=1777":     true,
		"nr_inodes=5,xmode=755": false,
	} {
		if got := hasModeOption(data); got != want {
			t.Errorf("hasModeOption(%q) = %v, want %v", data, got, want)
		}
	}
	if got := joinData("mode=0710", ""); got != "mode=0710" {
		t.Errorf("joinData with no data: %q", got)
	}
	if got := joinData("mode=0710", "size=1m"); got != "mode=0710,size=1m" {
		t.Errorf("joinData: %q", got)
	}
}

// TestCopyTree copies a tree of every file type and checks types, modes,
// owners, times and content, and that symlinks, including ones that lead
// out of the tree, are copied as symlinks and not followed.
func TestCopyTree(t *testing.T) {
	root := os.Geteuid() == 0
	src, dst, outside := t.TempDir(), t.TempDir(), t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644))
	must(os.WriteFile(filepath.Join(src, "file"), []byte("content"), 0o600))
	must(os.Mkdir(filepath.Join(src, "dir"), 0o700))
	must(os.WriteFile(filepath.Join(src, "dir/inner"), []byte("inner"), 0o644))
	must(unix.Chmod(filepath.Join(src, "dir"), 0o2555)) // read-only: filled before its mode is set
	t.Cleanup(func() {                                  // so that TempDir's removal works without root
		os.Chmod(filepath.Join(src, "dir"), 0o755)
		os.Chmod(filepath.Join(dst, "dir"), 0o755)
	})
	must(os.Symlink(outside, filepath.Join(src, "abs")))
	must(os.Symlink("../../../.."+outside+"/secret", filepath.Join(src, "rel")))
	must(os.Symlink("file", filepath.Join(src, "dir-link")))
	must(unix.Mkfifo(filepath.Join(src, "fifo"), 0o640))
	if root {
		must(os.Lchown(filepath.Join(src, "file"), 1000, 2000)) // before the chmod: a chown clears set-id bits
		must(os.Lchown(filepath.Join(src, "abs"), 3000, 3000))
		must(unix.Mknod(filepath.Join(src, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
		must(unix.Chmod(filepath.Join(src, "null"), 0o666))
	}
	must(unix.Chmod(filepath.Join(src, "file"), 0o4751))
	old := unix.Timespec{Sec: 1000000000, Nsec: 5}
	must(unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(src, "file"), []unix.Timespec{old, old}, 0))

	from, err := os.Open(src)
	must(err)
	defer from.Close()
	to, err := os.Open(dst)
	must(err)
	defer to.Close()
	if err := copyTree(from, to); err != nil {
		t.Fatalf("copyTree: %v", err)
	}

	lstat := func(p string) unix.Stat_t {
		t.Helper()
		var st unix.Stat_t
		must(unix.Lstat(filepath.Join(dst, p), &st))
		return st
	}
	for p, want := range map[string]uint32{
		"file":      unix.S_IFREG | 0o4751,
		"dir":       unix.S_IFDIR | 0o2555,
		"dir/inner": unix.S_IFREG | 0o644,
		"abs":       unix.S_IFLNK | 0o777,
		"rel":       unix.S_IFLNK | 0o777,
		"fifo":      unix.S_IFIFO | 0o640,
	} {
		if st := lstat(p); st.Mode != want {
			t.Errorf("%s: mode %#o, want %#o", p, st.Mode, want)
		}
	}
	for p, want := range map[string]string{"abs": outside, "rel": "../../../.." + outside + "/secret", "dir-link": "file"} {
		if got, err := os.Readlink(filepath.Join(dst, p)); err != nil || got != want {
			t.Errorf("%s: link %q (%v), want %q", p, got, err, want)
		}
	}
	for p, want := range map[string]string{"file": "content", "dir/inner": "inner"} {
		if got, err := os.ReadFile(filepath.Join(dst, p)); err != nil || string(got) != want {
			t.Errorf("%s: content %q (%v), want %q", p, got, err, want)
		}
	}
	if st := lstat("file"); st.Mtim != old {
		t.Errorf("file: mtime %v, want %v", st.Mtim, old)
	}
	if root {
		if st := lstat("file"); st.Uid != 1000 || st.Gid != 2000 {
			t.Errorf("file: owner %d:%d, want 1000:2000", st.Uid, st.Gid)
		}
		if st := lstat("abs"); st.Uid != 3000 || st.Gid != 3000 {
			t.Errorf("abs: owner %d:%d, want 3000:3000", st.Uid, st.Gid)
		}
		if st := lstat("null"); st.Mode != unix.S_IFCHR|0o666 || st.Rdev != unix.Mkdev(1, 3) {
			t.Errorf("null: mode %#o rdev %#x, want a 1:3 character device", st.Mode, st.Rdev)
		}
	}
	// Nothing of where the symlinks lead was copied or changed.
	if ents, _ := os.ReadDir(outside); len(ents) != 1 {
		t.Errorf("the directory a symlink names changed: %v", ents)
	}
}
