package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// A spec's mounts often land in a tmpfs an earlier one made: /dev/pts,
// /dev/shm and /dev/mqueue in /dev. Such a target is missing, and
// pathrs-lite's MkdirAllHandle names each handle it opens through procfs:
// the three of /dev cost a `run` of the default config about 2 ms of CPU
// on the 2-core AMD EPYC VM, pathrs-lite's first-use probes included
// (docs/design.md). A direct child of a tmpfs husk has just mounted is
// made and opened with plain *at calls on the tmpfs's root instead, as the
// cgroup hierarchies are in the tmpfs under /sys/fs/cgroup: each call is
// relative to that root and either makes the target anew or opens a
// directory without following a symlink, so the target is where dest
// says for as long as no mount has covered the tmpfs (forgetUnder).
// Whatever else is found there goes the general way.

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
	var fd int
	var err error
	if file {
		// The new file's own fd is the handle: nothing to look up again.
		fd, err = unix.Openat(at, name, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o644)
	} else {
		if err = unix.Mkdirat(at, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
			return nil, false
		}
		fd, err = unix.Openat(at, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, false
	}
	return os.NewFile(uintptr(fd), dest), true
}
