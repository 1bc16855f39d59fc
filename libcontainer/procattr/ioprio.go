package procattr

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// From the kernel's uapi linux/ioprio.h, which x/sys/unix does not carry.
const (
	ioprioWhoProcess = 1
	ioprioClassShift = 13
	ioprioMaxLevel   = 7
	ioprioField      = "process.ioPriority"
)

var ioprioClasses = map[specs.IOPriorityClass]uintptr{
	specs.IOPRIO_CLASS_RT:   1,
	specs.IOPRIO_CLASS_BE:   2,
	specs.IOPRIO_CLASS_IDLE: 3,
}

// ioprioValue turns process.ioPriority into the ioprio_set argument.
func ioprioValue(p *specs.LinuxIOPriority) (uintptr, error) {
	class, ok := ioprioClasses[p.Class]
	if !ok {
		return 0, fmt.Errorf("%s.class: unknown class %q", ioprioField, p.Class)
	}
	if p.Priority < 0 || p.Priority > ioprioMaxLevel {
		return 0, fmt.Errorf("%s.priority: %d is out of range 0..%d", ioprioField, p.Priority, ioprioMaxLevel)
	}
	return class<<ioprioClassShift | uintptr(p.Priority), nil
}

// applyIOPriority sets the calling thread's I/O priority, which execve
// keeps and children inherit. It is the thread's own, not its process
// group's: in the exec stage that group is the caller of `husk exec`.
func applyIOPriority(p *specs.LinuxIOPriority) error {
	v, err := ioprioValue(p)
	if err != nil {
		return err
	}
	if _, _, errno := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, v); errno != 0 {
		return fmt.Errorf("%s: ioprio_set %s priority %d: %w", ioprioField, p.Class, p.Priority, errno)
	}
	return nil
}
