package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

func init() {
	commands["enosys"] = command{"SYSCALL[,SYSCALL...] PROG [ARGS...]",
		"exec PROG under a seccomp filter that fails the named syscalls with ENOSYS, as an older kernel would", 2, cmdEnosys}
}

// enosysNames are the syscalls enosys can take away: those husk falls
// back from when the kernel lacks them.
var enosysNames = map[string]uint32{
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

// auditArch is the AUDIT_ARCH_* of the architecture this helper is built
// for: the filter fails closed (kills) a syscall of any other.
var auditArch = map[string]uint32{
	"amd64":   unix.AUDIT_ARCH_X86_64,
	"arm64":   unix.AUDIT_ARCH_AARCH64,
	"ppc64le": unix.AUDIT_ARCH_PPC64LE,
	"s390x":   unix.AUDIT_ARCH_S390X,
	"riscv64": unix.AUDIT_ARCH_RISCV64,
}

// cmdEnosys installs the filter and execs PROG: the filter is inherited by everything PROG
// starts, as a kernel without those syscalls would be.
func cmdEnosys(args []string) error {
	arch, ok := auditArch[runtime.GOARCH]
	if !ok {
		return fmt.Errorf("enosys: no audit arch for %s", runtime.GOARCH)
	}
	var nrs []uint32
	for _, n := range strings.Split(args[0], ",") {
		nr, ok := enosysNames[n]
		if !ok {
			return fmt.Errorf("enosys: unknown syscall %q", n)
		}
		nrs = append(nrs, nr)
	}
	prog, err := exec.LookPath(args[1])
	if err != nil {
		return err
	}
	const (
		ld   = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		ret  = unix.BPF_RET | unix.BPF_K
		offA = 4 // struct seccomp_data: nr, arch
	)
	insns := []unix.SockFilter{
		{Code: ld, K: offA},
		{Code: jeq, Jt: 1, K: arch},
		{Code: ret, K: unix.SECCOMP_RET_KILL_PROCESS},
		{Code: ld, K: 0},
	}
	for _, nr := range nrs {
		insns = append(insns,
			unix.SockFilter{Code: jeq, Jf: 1, K: nr},
			unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)})
	}
	insns = append(insns, unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW})
	fprog := unix.SockFprog{Len: uint16(len(insns)), Filter: &insns[0]}

	// One thread for the filter and the exec: SECCOMP_FILTER_FLAG_TSYNC
	// would be needed otherwise, and execve keeps only the caller's.
	runtime.LockOSThread()
	load := func() syscall.Errno {
		_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
			unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog)))
		return errno
	}
	// Root (CAP_SYS_ADMIN) loads it as is, so PROG runs as it would
	// otherwise; anyone else needs no_new_privs.
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
	return syscall.Exec(prog, args[1:], os.Environ())
}
