package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"unsafe"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// bpfMaxInsns is the kernel's limit on the length of a filter (BPF_MAXINSNS).
const bpfMaxInsns = 4096

// errTooLong: a program longer than bpfMaxInsns.
var errTooLong = errors.New("the kernel takes at most 4096")

// program returns the BPF program libseccomp generates for f. husk loads it
// with seccomp(2) itself, to pass exactly the spec's flags: libseccomp-golang
// would add TSYNC and set no_new_privs on its own, and libseccomp 2.5 has no
// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV.
func program(f *libseccomp.ScmpFilter) ([]unix.SockFilter, error) {
	// libseccomp before 2.6 can export only to an fd.
	fd, err := unix.MemfdCreate("husk-seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("seccomp: memfd for the filter program: %w", err)
	}
	mem := os.NewFile(uintptr(fd), "seccomp-bpf")
	defer mem.Close()
	if err := f.ExportBPF(mem); err != nil {
		return nil, fmt.Errorf("seccomp: export the filter program: %w", err)
	}
	if _, err := mem.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("seccomp: rewind the filter program: %w", err)
	}
	raw, err := io.ReadAll(mem)
	if err != nil {
		return nil, fmt.Errorf("seccomp: read the filter program: %w", err)
	}
	return parseProgram(raw)
}

// programOf is raw as a program: raw's own memory where it is aligned for
// struct sock_filter, as a cache entry read whole is, else a copy.
func programOf(raw []byte) ([]unix.SockFilter, error) {
	const insnSize = int(unsafe.Sizeof(unix.SockFilter{}))
	if len(raw) == 0 || len(raw)%insnSize != 0 || len(raw)/insnSize > bpfMaxInsns ||
		uintptr(unsafe.Pointer(unsafe.SliceData(raw)))%unsafe.Alignof(unix.SockFilter{}) != 0 {
		return parseProgram(raw)
	}
	return unsafe.Slice((*unix.SockFilter)(unsafe.Pointer(unsafe.SliceData(raw))), len(raw)/insnSize), nil
}

// parseProgram reads a BPF program of the kernel's struct sock_filter,
// as libseccomp exports it.
func parseProgram(raw []byte) ([]unix.SockFilter, error) {
	const insnSize = int(unsafe.Sizeof(unix.SockFilter{}))
	n := len(raw) / insnSize
	switch {
	case len(raw)%insnSize != 0 || n == 0:
		return nil, fmt.Errorf("seccomp: %d bytes are not a BPF program", len(raw))
	case n > bpfMaxInsns:
		return nil, fmt.Errorf("seccomp: the profile compiles to %d BPF instructions, %w", n, errTooLong)
	}
	insns := make([]unix.SockFilter, n)
	for i := range insns {
		b := raw[i*insnSize:]
		insns[i] = unix.SockFilter{
			Code: binary.NativeEndian.Uint16(b),
			Jt:   b[2],
			Jf:   b[3],
			K:    binary.NativeEndian.Uint32(b[4:]),
		}
	}
	return insns, nil
}

// loadProgram installs insns on the calling thread (on every thread with
// TSYNC) and returns the listener fd when flags ask for one, else -1.
func loadProgram(insns []unix.SockFilter, flags uint) (int, error) {
	prog := unix.SockFprog{Len: uint16(len(insns)), Filter: &insns[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flags), uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(insns)
	switch {
	case errno == unix.EACCES:
		return -1, fmt.Errorf("load seccomp filter: %w: the process needs no_new_privs or CAP_SYS_ADMIN (with process.noNewPrivileges false, load the filter before dropping capabilities)", errno)
	case errno == unix.EBUSY:
		return -1, fmt.Errorf("load seccomp filter: %w: a filter of this process already has a notification listener", errno)
	case errno != 0:
		return -1, fmt.Errorf("load seccomp filter: %w", errno)
	case flags&unix.SECCOMP_FILTER_FLAG_NEW_LISTENER != 0:
		return int(r), nil
	case r != 0:
		// TSYNC without TSYNC_ESRCH reports a failure as the id of the
		// thread that could not be synchronized.
		return -1, fmt.Errorf("load seccomp filter: thread %d cannot take the filter (SECCOMP_FILTER_FLAG_TSYNC)", r)
	}
	return -1, nil
}
