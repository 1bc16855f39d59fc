package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// A spec's mounts often land in a tmpfs an earlier one made: /dev/pts,
// /dev/shm and /dev/mqueue in /dev. Such a target is missing, and making
// it through pathrs-lite's MkdirAllHandle checks each handle it opens
// through procfs, about 0.1 ms a target on the 2-core AMD EPYC VM, a
// third of the rootfs's lookups in a `run`. A tmpfs husk has just mounted
// is empty but for what husk made in it, and nothing of the container's
// runs yet: its direct children are made and opened with plain *at calls
// on its root instead, as the cgroup hierarchies are in the tmpfs under
// /sys/fs/cgroup.

// freshTmpfs is a tmpfs husk mounted on a path of the root with no symlink
// in it: covered is the handle the mount was made through, top a handle on
// the tmpfs's root, looked up (and checked to be the new mount, mounted)
// when first needed.
type freshTmpfs struct {
	covered, top *os.File
}

// rememberTmpfs records the tmpfs just mounted through target on rel, the
// target's real path in the root, and takes target over.
func (r *rootDir) rememberTmpfs(rel string, target *os.File) {
	if r.fresh == nil {
		r.fresh = map[string]*freshTmpfs{}
	}
	r.forgetUnder(rel)
	r.fresh[rel] = &freshTmpfs{covered: target}
}

// forgetUnder drops the tmpfs mounts at rel or below it: a mount on rel
// hides them from the path, so their handles no longer name what the path
// shows.
func (r *rootDir) forgetUnder(rel string) {
	for p, t := range r.fresh {
		if p == rel || rel == "/" || strings.HasPrefix(p, rel+"/") {
			t.close()
			delete(r.fresh, p)
		}
	}
}

func (t *freshTmpfs) close() {
	t.covered.Close()
	if t.top != nil {
		t.top.Close()
	}
}

func (r *rootDir) closeFresh() {
	for p, t := range r.fresh {
		t.close()
		delete(r.fresh, p)
	}
}

// makeInFresh makes dest, a directory or (file) an empty regular file,
// when its parent is a tmpfs rememberTmpfs recorded, and returns a handle
// on it. ok is false when dest is not such a child, or what is already
// there is not what a target needs: the caller then goes the general way.
func (r *rootDir) makeInFresh(dest string, file bool) (f *os.File, ok bool) {
	dir, name := filepath.Split(dest)
	t := r.fresh[filepath.Clean(dir)]
	if t == nil || name == "" {
		return nil, false
	}
	if t.top == nil {
		top, err := r.mounted(filepath.Clean(dir), t.covered)
		if err != nil {
			return nil, false
		}
		t.top = top
	}
	at := int(t.top.Fd())
	flags := unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC
	if file {
		fd, err := unix.Openat(at, name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o644)
		if err == nil {
			unix.Close(fd)
		} else if !errors.Is(err, unix.EEXIST) {
			return nil, false
		}
	} else {
		if err := unix.Mkdirat(at, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, false
		}
		flags |= unix.O_DIRECTORY
	}
	fd, err := unix.Openat(at, name, flags, 0)
	if err != nil {
		return nil, false
	}
	return os.NewFile(uintptr(fd), dest), true
}
