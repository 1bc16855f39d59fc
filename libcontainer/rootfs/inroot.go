package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	securejoin "github.com/cyphar/filepath-securejoin"
	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"
)

// rootDir is a handle on the container's root directory. Every path taken
// from the spec or the image is resolved through it, so a symlink in the
// image can never lead a lookup out of the rootfs.
type rootDir struct {
	f *os.File
	// proc names handles (fdName) for locate and mounted.
	proc *Procfs
	// real is the path the kernel reports for f, the reference for checking
	// where a resolved handle really is.
	real string
	// fresh holds the tmpfs mounts made through this rootDir, by their
	// real path in the root, while nothing has covered them (fresh.go).
	fresh map[string]*freshTmpfs
}

func openRoot(proc *Procfs, path string) (*rootDir, error) {
	f, err := os.OpenFile(path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	r, err := rootAt(proc, f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("resolve %s: %w", path, err)
	}
	return r, nil
}

// rootAt makes a rootDir of an open directory; closing the rootDir closes f.
func rootAt(proc *Procfs, f *os.File) (*rootDir, error) {
	real, err := proc.fdName(f)
	if err != nil {
		return nil, err
	}
	return &rootDir{f: f, proc: proc, real: real}, nil
}

func (r *rootDir) Close() error {
	r.forgetUnder("/")
	return r.f.Close()
}

// cleanPath makes a spec path absolute and lexically clean; ".." cannot
// climb above "/" afterwards.
func cleanPath(p string) string { return filepath.Join("/", p) }

// Procfs holds this process's fd directory in pathrs-lite's procfs handle
// (a private procfs instance where the kernel allows one, checked to be
// procfs otherwise), never the container's /proc: opened on first use, it
// makes reading where a handle is one readlinkat. The zero value is ready;
// the caller that made one closes it (see Config.Procfs).
type Procfs struct {
	mu  sync.Mutex
	dir *os.File
}

func (p *Procfs) fdDir() (*os.File, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dir != nil {
		return p.dir, nil
	}
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return nil, err
	}
	defer proc.Close()
	dir, err := proc.OpenSelf("fd")
	if err != nil {
		return nil, err
	}
	p.dir = dir
	return dir, nil
}

// Close closes the fd directory, if it was opened; the Procfs opens it
// again if used after. The init closes its Procfs once the rootfs is
// made: it must not hold a directory of /proc (seen from outside as
// /1/fd) while it waits for start.
func (p *Procfs) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dir != nil {
		p.dir.Close()
		p.dir = nil
	}
}

// fdName returns the path the kernel reports for an open file.
func (p *Procfs) fdName(f *os.File) (string, error) {
	dir, err := p.fdDir()
	if err != nil {
		return "", fmt.Errorf("open procfs fd directory: %w", err)
	}
	name := strconv.Itoa(int(f.Fd()))
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(int(dir.Fd()), name, buf)
		if err != nil {
			return "", fmt.Errorf("readlink fd %s: %w", name, err)
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// fdPath names an open file for the path-based mount(2): the kernel jumps
// through the magic link to exactly the inode and mount behind the fd,
// whatever happened to the path it was opened by.
func fdPath(f *os.File) string { return "/proc/self/fd/" + strconv.Itoa(int(f.Fd())) }

// open resolves dest inside the root without creating anything. It is
// openat2 with RESOLVE_IN_ROOT, the kernel's in-root resolution, which is
// what pathrs-lite does on kernels that have it; called directly because
// pathrs-lite also names every handle it returns through a procfs lookup of
// half a dozen syscalls, and the rootfs takes dozens of lookups. Kernels
// without openat2 get pathrs-lite's own resolver.
func (r *rootDir) open(dest string) (*os.File, error) {
	p := cleanPath(dest)
	how := &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for range 128 {
		fd, err := unix.Openat2(int(r.f.Fd()), p, how)
		switch err {
		case nil:
			return os.NewFile(uintptr(fd), p), nil
		case unix.EAGAIN, unix.EINTR:
			// A rename or mount raced with a ".." step: the kernel
			// refuses rather than risk an escape; look up again.
			continue
		case unix.ENOSYS:
			return pathrs.OpenatInRoot(r.f, p)
		}
		return nil, &os.PathError{Op: "openat2", Path: p, Err: err}
	}
	return nil, &os.PathError{Op: "openat2", Path: p, Err: unix.EAGAIN}
}

// resolve follows the symlinks in dest lexically, inside the root, as far
// as they go: pathrs-lite will not create anything through a dangling
// symlink, yet an image's "/var/run -> /run" must work before /run
// exists. The result is only a plan: creation and lookup still go
// through the handle-based calls, which stay inside the root even if the
// tree changes in between.
func (r *rootDir) resolve(dest string) (string, error) {
	joined, err := securejoin.SecureJoin(r.real, dest)
	if err != nil {
		return "", err
	}
	rel, ok := within(r.real, joined)
	if !ok {
		return "", fmt.Errorf("%s resolves outside the root", dest)
	}
	return rel, nil
}

// mkdirAll creates dest and its parents inside the root and returns a
// handle on it.
func (r *rootDir) mkdirAll(dest string) (*os.File, error) {
	if f := r.openExisting(dest, false); f != nil {
		return f, nil
	}
	p, err := r.resolve(dest)
	if err != nil {
		return nil, err
	}
	return pathrs.MkdirAllHandle(r.f, p, 0o755)
}

// openExisting returns a handle on dest when something a mount can go on
// is already there (most targets exist: one lookup then): a directory, or
// anything when file is set, as mount(2) itself decides what fits. It
// returns nil when the target has to be created.
func (r *rootDir) openExisting(dest string, file bool) *os.File {
	f, err := r.open(dest)
	if err != nil {
		return nil
	}
	var st unix.Stat_t
	if file || unix.Fstat(int(f.Fd()), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return f
	}
	f.Close()
	return nil
}

// mountRule tells whether a mount may land on rel, a path relative to the
// root with its symlinks followed.
type mountRule func(rel string) error

// procRule is the /proc rule (checkProcDest) for a mount whose source is
// procfs or not.
func procRule(procfs bool) mountRule {
	return func(rel string) error { return checkProcDest(rel, procfs) }
}

// openTarget returns a handle on a mount target inside the root, creating
// it first when missing: a directory, or an empty regular file when file
// is set (a bind mount of a non-directory needs a non-directory target).
// It also returns the target's path relative to the root after symlinks
// were followed. allowed is checked on where a missing target would be
// made before anything is made, so that a refused mount leaves nothing
// behind (in the rootfs, or in a volume a symlink leads into), and again
// on where the handle really is, which is what decides.
func (r *rootDir) openTarget(dest string, file bool, allowed mountRule) (*os.File, string, error) {
	f, rel, _, err := r.openOrMakeTarget(dest, file, allowed)
	return f, rel, err
}

// openOrMakeTarget is openTarget that also reports whether it made the
// target (a missing directory or file), rather than finding it there.
func (r *rootDir) openOrMakeTarget(dest string, file bool, allowed mountRule) (f *os.File, rel string, made bool, err error) {
	f = r.openExisting(dest, file)
	if f == nil {
		made = true
		if f, err = r.makeTarget(dest, file, allowed); err != nil {
			return nil, "", false, err
		}
	}
	rel, err = r.locate(f)
	if err != nil {
		f.Close()
		return nil, "", false, err
	}
	if rel == "/" {
		f.Close()
		return nil, "", false, fmt.Errorf("%s resolves to the container root itself", dest)
	}
	if err := allowed(rel); err != nil {
		f.Close()
		return nil, "", false, err
	}
	// A mount goes on rel: what was mounted there or below is hidden.
	r.forgetUnder(rel)
	return f, rel, made, nil
}

// makeTarget makes a missing target (see openTarget).
func (r *rootDir) makeTarget(dest string, file bool, allowed mountRule) (*os.File, error) {
	// In a fresh tmpfs dest is where it lands: nothing there is a symlink.
	if allowed(dest) == nil {
		if f, ok := r.makeInFresh(dest, file); ok {
			return f, nil
		}
	}
	p, err := r.resolve(dest)
	if err != nil {
		return nil, err
	}
	if err := allowed(p); err != nil {
		return nil, err
	}
	if file {
		return r.createFile(p)
	}
	return pathrs.MkdirAllHandle(r.f, p, 0o755)
}

// createFile makes an empty file at p, a path inside the root with its
// symlinks already followed, unless something is there by then, and
// returns a handle on what is there.
func (r *rootDir) createFile(p string) (*os.File, error) {
	parent, err := pathrs.MkdirAllHandle(r.f, filepath.Dir(p), 0o755)
	if err != nil {
		return nil, err
	}
	defer parent.Close()
	// O_EXCL|O_NOFOLLOW: whatever appeared under that name meanwhile is
	// neither opened nor followed; the lookup below resolves it in the root.
	fd, err := unix.Openat(int(parent.Fd()), filepath.Base(p), unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o644)
	if err == nil {
		unix.Close(fd)
	} else if !errors.Is(err, unix.EEXIST) {
		return nil, fmt.Errorf("create %s: %w", p, err)
	}
	return r.open(p)
}

// locate returns where f is, relative to the root, and fails if that is
// outside it: the handle could have been moved out after the lookup by
// someone sharing a directory with the rootfs.
func (r *rootDir) locate(f *os.File) (string, error) {
	p, err := r.proc.fdName(f)
	if err != nil {
		return "", fmt.Errorf("resolve handle: %w", err)
	}
	rel, ok := within(r.real, p)
	if !ok {
		return "", fmt.Errorf("%s is outside the container root %s", p, r.real)
	}
	return rel, nil
}

// within reports whether p is root or below it, and p relative to root
// as an absolute path.
func within(root, p string) (string, bool) {
	if root == "/" && strings.HasPrefix(p, "/") {
		return p, true
	}
	if p == root {
		return "/", true
	}
	if rest, ok := strings.CutPrefix(p, root+"/"); ok {
		return "/" + rest, true
	}
	return "", false
}

// mounted returns a handle on the mount just stacked on under, which is
// the handle the mount was made through. That handle's magic link still
// names the covered directory, so remounting, mount_setattr and
// propagation changes need a fresh lookup; it must come back to the same
// place and be the root of a different mount, or something was swapped
// in between.
func (r *rootDir) mounted(dest string, under *os.File) (*os.File, error) {
	top, err := r.open(dest)
	if err != nil {
		return nil, err
	}
	if err := sameSpotNewMount(r.proc, under, top); err != nil {
		top.Close()
		return nil, fmt.Errorf("reopen %s after mounting: %w", dest, err)
	}
	return top, nil
}

func sameSpotNewMount(proc *Procfs, under, top *os.File) error {
	want, err := proc.fdName(under)
	if err != nil {
		return err
	}
	got, err := proc.fdName(top)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("path changed from %s to %s", want, got)
	}
	underID, _, err := mountID(under)
	if err != nil {
		return err
	}
	topID, isRoot, err := mountID(top)
	if err != nil {
		return err
	}
	if topID == underID || !isRoot {
		return errors.New("the new mount is not there")
	}
	return nil
}

// mountID returns the id of the mount f is on and whether f is that
// mount's root.
func mountID(f *os.File) (uint64, bool, error) {
	var stx unix.Statx_t
	err := unix.Statx(int(f.Fd()), "", unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &stx)
	if err != nil {
		return 0, false, fmt.Errorf("statx: %w", err)
	}
	if stx.Mask&unix.STATX_MNT_ID == 0 || stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT == 0 {
		return 0, false, errors.New("statx: kernel reports no mount id")
	}
	return stx.Mnt_id, stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0, nil
}

// requireProcfs checks that /proc is a procfs before the fdPath names are
// handed to mount(2): they are only as trustworthy as the /proc they go
// through (host's before pivot_root, the container's own after it).
func requireProcfs() error {
	var st unix.Statfs_t
	if err := unix.Statfs("/proc/self/fd", &st); err != nil {
		return fmt.Errorf("statfs /proc/self/fd: %w", err)
	}
	if st.Type != unix.PROC_SUPER_MAGIC {
		return errors.New("/proc is not a procfs")
	}
	return nil
}
