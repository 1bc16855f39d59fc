package lsm

import (
	"errors"
	"fmt"
	"os"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"
)

// writeExecAttr writes value to the first of the calling thread's
// /proc/thread-self/<attr> files that exists. The files are reached
// through pathrs-lite's own procfs handle, not through the container's
// /proc, which the image or the spec's mounts can fake (CVE-2019-16884):
// a label written to a fake file would be lost without an error, and the
// process would run unconfined.
func writeExecAttr(attrs []string, value string) error {
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return fmt.Errorf("open procfs: %w", err)
	}
	defer proc.Close()
	for _, attr := range attrs {
		h, closer, err := proc.OpenThreadSelf(attr)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("open /proc/thread-self/%s: %w", attr, err)
		}
		err = reopenAndWrite(h, value)
		h.Close()
		closer()
		if err != nil {
			return fmt.Errorf("/proc/thread-self/%s: %w", attr, err)
		}
		return nil
	}
	return fmt.Errorf("none of /proc/thread-self/%v exists", attrs)
}

// reopenAndWrite opens h, an O_PATH handle, for writing and writes value.
func reopenAndWrite(h *os.File, value string) error {
	f, err := pathrs.Reopen(h, unix.O_WRONLY)
	if err != nil {
		return fmt.Errorf("reopen: %w", err)
	}
	defer f.Close()
	return writeProcFile(f, value)
}

// writeProcFile writes value in a single write(2), as the LSMs take one
// command per write, and only if f is on procfs.
func writeProcFile(f *os.File, value string) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("statfs: %w", err)
	}
	if st.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("not on procfs (filesystem magic %#x): refusing to write", st.Type)
	}
	n, err := unix.Write(int(f.Fd()), []byte(value))
	if err != nil {
		return &writeError{err}
	}
	if n != len(value) {
		return fmt.Errorf("short write: %d of %d bytes", n, len(value))
	}
	return nil
}

// writeError is the kernel's answer to the value written, as opposed to a
// failure to reach the file: what it means depends on the LSM.
type writeError struct{ err error }

func (e *writeError) Error() string { return "write: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

// refused tells whether err is the kernel refusing the value with errno.
func refused(err error, errno unix.Errno) bool {
	var w *writeError
	return errors.As(err, &w) && errors.Is(w.err, errno)
}
