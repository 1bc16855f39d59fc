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
// int delete_stopped(const char *root, const char *id);
// extern char *command_error;
import "C"

import (
	"errors"
	"unsafe"
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
func init() { C.husk_unpin() }

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
