package main

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"
)

func init() {
	commands["syscall"] = command{"NR", "make syscall NR without arguments; print ret=N or errno=NAME", 1, cmdSyscall}
}

// cmdSyscall makes a raw syscall by number, such as one newer than any
// the seccomp profile names, and prints what the kernel (or the filter)
// answered.
func cmdSyscall(args []string) error {
	nr, err := strconv.ParseUint(args[0], 10, 64)
	if err != nil {
		return err
	}
	r, _, errno := unix.Syscall(uintptr(nr), 0, 0, 0)
	if errno != 0 {
		name := unix.ErrnoName(errno)
		if name == "" {
			return errors.New("errno " + strconv.Itoa(int(errno)))
		}
		fmt.Printf("errno=%s\n", name)
		return nil
	}
	fmt.Printf("ret=%d\n", r)
	return nil
}
