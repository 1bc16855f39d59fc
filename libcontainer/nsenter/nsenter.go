// Package nsenter links husk's namespace preamble (nsenter.c) into the binary.
// Importing it for its side effect is enough: the C constructor runs before
// the Go runtime in every husk process. Unless husk started the process as
// an init or exec stage, it does a plain `husk start`, `husk delete`,
// `husk exec`, `husk kill` or `husk state` itself, or readies the start-up
// (the binary mapped at once, one CPU until this package's init) and
// returns.
package nsenter

// #cgo CFLAGS: -Wall -Wextra -Wno-unused-parameter -O2
// void husk_unpin(void);
// extern char *command_error;
import "C"

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
