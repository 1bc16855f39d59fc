// Package enosys makes the calling process see a kernel without some
// syscalls: a seccomp filter fails them with ENOSYS, so that husk takes the
// fallback it has for older kernels (tests/helper enosys, the nsenter
// tests). For tests only.
package enosys

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Syscalls are the names Load takes: those husk falls back from.
var Syscalls = map[string]uint32{
	"clone3":        unix.SYS_CLONE3,
	"openat2":       unix.SYS_OPENAT2,
	"close_range":   unix.SYS_CLOSE_RANGE,
	"fsopen":        unix.SYS_FSOPEN,
	"fsconfig":      unix.SYS_FSCONFIG,
	"fsmount":       unix.SYS_FSMOUNT,
	"fspick":        unix.SYS_FSPICK,
	"open_tree":     unix.SYS_OPEN_TREE,
	"move_mount":    unix.SYS_MOVE_MOUNT,
	"mount_setattr": unix.SYS_MOUNT_SETATTR,
}

// auditArch is the AUDIT_ARCH_* of the architecture this is built for:
// the filter kills a syscall of any other.
var auditArch = map[string]uint32{
	"amd64":   unix.AUDIT_ARCH_X86_64,
	"arm64":   unix.AUDIT_ARCH_AARCH64,
	"ppc64le": unix.AUDIT_ARCH_PPC64LE,
	"s390x":   unix.AUDIT_ARCH_S390X,
	"riscv64": unix.AUDIT_ARCH_RISCV64,
}

// Load installs, on every thread of the process (TSYNC), a filter that
// fails the named syscalls with ENOSYS and allows the rest. It is never
// removed: call it in a process that execs what is to run under it. As
// root (CAP_SYS_ADMIN) the filter is loaded as is; otherwise
// no_new_privs is set first.
func Load(names ...string) error {
	arch, ok := auditArch[runtime.GOARCH]
	if !ok {
		return fmt.Errorf("enosys: no audit arch for %s", runtime.GOARCH)
	}
	const (
		ld  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret = unix.BPF_RET | unix.BPF_K
	)
	insns := []unix.SockFilter{
		{Code: ld, K: 4}, // seccomp_data.arch
		{Code: jeq, Jt: 1, K: arch},
		{Code: ret, K: unix.SECCOMP_RET_KILL_PROCESS},
		{Code: ld, K: 0}, // seccomp_data.nr
	}
	for _, n := range names {
		nr, ok := Syscalls[n]
		if !ok {
			return fmt.Errorf("enosys: unknown syscall %q", n)
		}
		insns = append(insns,
			unix.SockFilter{Code: jeq, Jf: 1, K: nr},
			unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)})
	}
	insns = append(insns, unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW})
	prog := unix.SockFprog{Len: uint16(len(insns)), Filter: &insns[0]}
	load := func() syscall.Errno {
		_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
			unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog)))
		return errno
	}
	errno := load()
	if errno == unix.EACCES {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("no_new_privs: %w", err)
		}
		errno = load()
	}
	if errno != 0 {
		return fmt.Errorf("seccomp: %w", errno)
	}
	return nil
}
