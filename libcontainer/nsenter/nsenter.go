// Package nsenter links husk's namespace preamble (nsenter.c) into the binary.
// Importing it for its side effect is enough: the C constructor runs before
// the Go runtime in every husk process. Unless husk started the process as
// an init or exec stage, it does a plain `husk start`, `husk delete`,
// `husk exec`, `husk kill` or `husk state` itself, or readies the start-up
// (the binary mapped at once, one CPU until this package's init) and
// returns.
package nsenter

// #cgo CFLAGS: -Wall -Wextra -Wno-unused-parameter -O2
// #include <stdlib.h>
// void husk_unpin(void);
// extern int husk_cli;
// extern unsigned long husk_caller_slack;
// int delete_stopped(const char *root, const char *id);
// int husk_forward_signals(int fd, const int *sigs, int n);
// extern char *command_error;
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// CommandFailed returns why a `husk start`, `husk delete`, `husk exec` or
// `husk state` that the preamble did (lifecycle.c, execcmd.c, querycmd.c)
// failed past its point of no return: Go's command only reports it. ok is
// false when the preamble did no command.
func CommandFailed() (msg string, ok bool) {
	if C.command_error == nil {
		return "", false
	}
	return C.GoString(C.command_error), true
}

// The constructor ran a CLI process's runtime start-up on one CPU (see
// one_cpu in nsenter.c); this package's init runs before main, on the main
// thread, and gives the CPUs back.
func init() {
	// Memory profiling records a stack trace every 512 KB allocated, a
	// few times in each command, for a profile no husk process writes.
	runtime.MemProfileRate = 0
	C.husk_unpin()
	if C.husk_cli != 0 {
		prefaultHeap()
	}
}

// WithCallerSlack calls start, which starts a process, on a thread whose
// timer slack is back to the one husk's caller gave it: a CLI process runs
// with a coarser one (raise_slack in nsenter.c), and a process inherits the
// slack of the thread that forks it. Every process husk starts (a stage, and
// so the container; a hook; criu; a helper) is started through it.
func WithCallerSlack(start func() error) error {
	caller := uintptr(C.husk_caller_slack)
	if caller == 0 {
		return start()
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	own, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err != nil {
		return fmt.Errorf("read the timer slack: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, caller, 0, 0, 0); err != nil {
		return fmt.Errorf("set the timer slack back to the caller's: %w", err)
	}
	defer unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(own), 0, 0, 0)
	return start()
}

// ForwardSignals makes each of sigs, when it reaches husk, write its number
// (one byte) to fd instead of going to the Go runtime's handler: fd is the
// write end of a non-blocking pipe, open for the process's life. It costs
// a sigaction(2) a signal, where os/signal's Notify costs two thread
// switches (forward.c). sigs must be signals the runtime leaves to the
// program, and no other code may catch them with os/signal after.
func ForwardSignals(fd int, sigs []unix.Signal) error {
	cs := make([]C.int, len(sigs))
	for i, s := range sigs {
		cs[i] = C.int(s)
	}
	if n, err := C.husk_forward_signals(C.int(fd), unsafe.SliceData(cs), C.int(len(cs))); n != 0 {
		return fmt.Errorf("catch signals: %w", err)
	}
	return nil
}

// Where a page fault is dear (13-15 us for a first write on the VMs husk is
// benchmarked on, and Go's heap often reads a fresh page before it writes
// it, two faults) one MADV_POPULATE_WRITE of the heap that a command goes
// on to use costs less than its faults. A `run`'s CLI uses about 1.1 MB of
// heap past this package's init; populating 512 KB of it was as fast as a
// megabyte or faster, depending on the build (docs/design.md), and leaves
// less memory with each CLI that waits for a CPU in a burst of creates. A
// stage is left alone: its heap stays with a created container as long as
// it waits.
const (
	prefaultBytes     = 1 << 19
	heapChunk         = 4 << 20 // the runtime maps its arena in chunks of 4 MB, so aligned
	madvPopulateWrite = 23      // Linux 5.14
)

// prefaultHeap populates the heap from the page of an object allocated now
// upward, where the runtime puts the spans it makes next, within the
// mapped chunk. An older kernel refuses the advice; the pages then fault
// one by one as before.
func prefaultHeap() {
	obj := new([64]byte)
	start := uintptr(unsafe.Pointer(obj)) &^ (uintptr(syscall.Getpagesize()) - 1)
	end := min(start+prefaultBytes, start&^(heapChunk-1)+heapChunk)
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, start, end-start, madvPopulateWrite)
	runtime.KeepAlive(obj)
}

// DeleteStopped deletes the container id under root as `husk delete
// --force` does in C, when it can: for a foreground run, once its
// container's process has exited, without decoding the state in Go. It
// returns false if it left the container to Go's delete, and an error
// that happened past its point of no return (see CommandFailed).
func DeleteStopped(root, id string) (bool, error) {
	croot, cid := C.CString(root), C.CString(id)
	defer C.free(unsafe.Pointer(croot))
	defer C.free(unsafe.Pointer(cid))
	if C.delete_stopped(croot, cid) == 0 {
		return false, nil
	}
	if msg, failed := CommandFailed(); failed {
		return true, errors.New(msg)
	}
	return true, nil
}
