package rootfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/spec/vocab"
)

// mountTmpfs mounts a new tmpfs on dest, as runc 1.5 does: without a
// mode= of its own the tmpfs takes the mode (all twelve bits) of the
// directory the rootfs has there, and a target husk had to make gets the
// tmpfs default, 1777. With tmpcopyup the tmpfs is filled with a copy of
// that directory before anything else happens to it (see copyTree); a
// read-only one is made read-only after the copy.
func (r *rootDir) mountTmpfs(source, dest string, o vocab.MountOptions) error {
	target, rel, made, err := r.openOrMakeTarget(dest, false, procRule(false))
	if err != nil {
		return err
	}
	kept := false
	defer func() {
		if !kept {
			target.Close()
		}
	}()
	data := o.Data
	if !made && !hasModeOption(data) {
		var st unix.Stat_t
		if err := unix.Fstat(int(target.Fd()), &st); err != nil {
			return fmt.Errorf("stat the target: %w", err)
		}
		data = joinData(fmt.Sprintf("mode=%04o", st.Mode&0o7777), data)
	}
	flags := o.Flags &^ creationOnly
	if !o.TmpCopyUp || made {
		if err := unix.Mount(source, fdPath(target), "tmpfs", flags, data); err != nil {
			return err
		}
		if err := r.settle(dest, target, o, false); err != nil {
			return err
		}
		r.rememberTmpfs(rel, target)
		kept = true
		return nil
	}
	// The directory the tmpfs is about to cover, opened first: once the
	// tmpfs is on it, lookups from this handle still see what is beneath.
	under, err := readDirAt(target, ".")
	if err != nil {
		return fmt.Errorf("tmpcopyup: open %s: %w", dest, err)
	}
	defer under.Close()
	if err := unix.Mount(source, fdPath(target), "tmpfs", flags&^unix.MS_RDONLY, data); err != nil {
		return err
	}
	top, err := r.mounted(dest, target)
	if err != nil {
		return err
	}
	defer top.Close()
	into, err := readDirAt(top, ".")
	if err != nil {
		return fmt.Errorf("tmpcopyup: open the new tmpfs: %w", err)
	}
	defer into.Close()
	if err := copyTree(under, into); err != nil {
		return fmt.Errorf("tmpcopyup: %w", err)
	}
	return applyOptions(top, o, flags&unix.MS_RDONLY != 0)
}

// hasModeOption reports whether comma-separated filesystem data set a mode.
func hasModeOption(data string) bool {
	for _, o := range strings.Split(data, ",") {
		if strings.HasPrefix(o, "mode=") {
			return true
		}
	}
	return false
}

func joinData(a, b string) string {
	if a == "" || b == "" {
		return a + b
	}
	return a + "," + b
}

// readDirAt opens directory name in dir for reading, never following a
// symlink.
func readDirAt(dir *os.File, name string) (*os.File, error) {
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// copyTree copies the content of directory from into directory to: regular
// files with their data, directories, symlinks (as symlinks: their text is
// copied, never followed), device nodes, fifos and sockets, each with its
// owner, mode (set-id and sticky bits included) and times; runc copies the
// same but for fifos, sockets and times. Every step is relative to an open
// directory and refuses to follow a symlink, so an image (or a volume
// shared with another container, changing under the copy) can't lead it
// out of the rootfs: an absolute symlink names a host path at this point,
// before pivot_root. Hard links become separate copies and extended
// attributes are not copied, as with runc. to's own mode and owner are the
// tmpfs root's (the mount's mode= and the creator), not from's.
func copyTree(from, to *os.File) error {
	// Every mode is set explicitly afterwards; the umask must not narrow
	// what mknod makes in between.
	defer unix.Umask(unix.Umask(0))
	return copyDir(from, to, "")
}

// copyDir copies the entries of from into to; rel is from's path below the
// copy's root, for errors.
func copyDir(from, to *os.File, rel string) error {
	names, err := from.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("read %s/: %w", rel, err)
	}
	for _, name := range names {
		p := rel + "/" + name
		var st unix.Stat_t
		err := unix.Fstatat(int(from.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if errors.Is(err, unix.ENOENT) {
			continue // gone since the listing
		}
		if err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		if err := copyEntry(from, to, name, p, &st); err != nil {
			return fmt.Errorf("copy %s: %w", p, err)
		}
	}
	return nil
}

// copyEntry copies name, described by st, from directory from into to.
func copyEntry(from, to *os.File, name, p string, st *unix.Stat_t) error {
	dst := int(to.Fd())
	perm := st.Mode & 0o7777
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		// Filled first and given its mode last, so a read-only directory
		// can take its content.
		if err := unix.Mkdirat(dst, name, 0o700); err != nil {
			return err
		}
		sub, err := readDirAt(from, name)
		if err != nil {
			return err
		}
		defer sub.Close()
		out, err := readDirAt(to, name)
		if err != nil {
			return err
		}
		defer out.Close()
		if err := copyDir(sub, out, p); err != nil {
			return err
		}
		return finishFile(out, st)
	case unix.S_IFREG:
		return copyFile(from, to, name, st)
	case unix.S_IFLNK:
		target, err := readlinkAt(from, name)
		if err != nil {
			return err
		}
		if err := unix.Symlinkat(target, dst, name); err != nil {
			return err
		}
		if err := unix.Fchownat(dst, name, int(st.Uid), int(st.Gid), unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
		return setTimes(to, name, st)
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO, unix.S_IFSOCK:
		if err := unix.Mknodat(dst, name, st.Mode&unix.S_IFMT|perm, int(st.Rdev)); err != nil {
			return err
		}
		// What mknod just made on the new tmpfs, which nothing of the
		// container's can reach yet: a path open doesn't open a device
		// or block on a fifo.
		fd, err := unix.Openat(dst, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		f := os.NewFile(uintptr(fd), name)
		defer f.Close()
		return finishFile(f, st)
	}
	return fmt.Errorf("unknown file type %#o", st.Mode&unix.S_IFMT)
}

// copyFile copies regular file name with its data.
func copyFile(from, to *os.File, name string, st *unix.Stat_t) error {
	// O_NONBLOCK: if a fifo was swapped in since the stat, the open must
	// not hang; what was opened is checked below.
	fd, err := unix.Openat(int(from.Fd()), name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	in := os.NewFile(uintptr(fd), name)
	defer in.Close()
	var now unix.Stat_t
	if err := unix.Fstat(fd, &now); err != nil {
		return err
	}
	if now.Mode&unix.S_IFMT != unix.S_IFREG {
		return errors.New("changed into something else than a file while being copied")
	}
	ofd, err := unix.Openat(int(to.Fd()), name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	out := os.NewFile(uintptr(ofd), name)
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	if err := finishFile(out, &now); err != nil {
		return err
	}
	return out.Close()
}

// finishFile gives the copy f the owner, mode and times of st: the owner
// first, as a chown clears the set-id bits.
func finishFile(f *os.File, st *unix.Stat_t) error {
	if err := unix.Fchownat(int(f.Fd()), "", int(st.Uid), int(st.Gid), unix.AT_EMPTY_PATH); err != nil {
		return err
	}
	// fchmod refuses an O_PATH handle; the magic link reaches the inode.
	if err := unix.Fchmodat(unix.AT_FDCWD, fdPath(f), st.Mode&0o7777, 0); err != nil {
		return err
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	return unix.UtimesNanoAt(unix.AT_FDCWD, fdPath(f), ts, 0)
}

// setTimes gives entry name of dir the times of st, without following it.
func setTimes(dir *os.File, name string, st *unix.Stat_t) error {
	ts := []unix.Timespec{st.Atim, st.Mtim}
	return unix.UtimesNanoAt(int(dir.Fd()), name, ts, unix.AT_SYMLINK_NOFOLLOW)
}

// readlinkAt returns the text of symlink name in dir.
func readlinkAt(dir *os.File, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(int(dir.Fd()), name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}
