package main

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"

	"github.com/husk-runtime/husk/internal/testutil/enosys"
)

func init() {
	commands["enosys"] = command{"SYSCALL[,SYSCALL...] PROG [ARGS...]",
		"exec PROG under a seccomp filter that fails the named syscalls with ENOSYS, as an older kernel would", 2, cmdEnosys}
}

// cmdEnosys installs the filter and execs PROG: everything PROG starts
// inherits the filter, as it would the older kernel.
func cmdEnosys(args []string) error {
	prog, err := exec.LookPath(args[1])
	if err != nil {
		return err
	}
	runtime.LockOSThread()
	if err := enosys.Load(strings.Split(args[0], ",")...); err != nil {
		return err
	}
	return syscall.Exec(prog, args[1:], os.Environ())
}
