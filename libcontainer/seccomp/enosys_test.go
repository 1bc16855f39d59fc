package seccomp

import (
	"encoding/binary"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// runStub interprets the few instructions the stub uses on a seccomp_data
// of arch and nr; it returns the stub's verdict, or "filter" when control
// reaches libseccomp's program.
func runStub(t *testing.T, stub []unix.SockFilter, arch, nr uint32) string {
	t.Helper()
	var data [64]byte
	binary.NativeEndian.PutUint32(data[0:], nr)
	binary.NativeEndian.PutUint32(data[4:], arch)
	var a uint32
	for pc := 0; pc < len(stub); pc++ {
		in := stub[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			a = binary.NativeEndian.Uint32(data[in.K:])
		case unix.BPF_JMP | unix.BPF_JA:
			pc += int(in.K)
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K:
			var ok bool
			switch in.Code &^ (unix.BPF_JMP | unix.BPF_K) {
			case unix.BPF_JEQ:
				ok = a == in.K
			case unix.BPF_JGT:
				ok = a > in.K
			case unix.BPF_JGE:
				ok = a >= in.K
			}
			if ok {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case unix.BPF_RET | unix.BPF_K:
			if in.K == retENOSYS {
				return "ENOSYS"
			}
			t.Fatalf("stub returns %#x", in.K)
		default:
			t.Fatalf("instruction %d: code %#x", pc, in.Code)
		}
	}
	return "filter"
}

func stubFor(t *testing.T, s *specs.LinuxSeccomp) []unix.SockFilter {
	t.Helper()
	f, err := buildFilter(s, true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	if !needsENOSYSStub(s) {
		return nil
	}
	h, err := highestSyscalls(s, f, nil)
	if err != nil {
		t.Fatal(err)
	}
	stub, err := enosysStub(h)
	if err != nil {
		t.Fatal(err)
	}
	return stub
}

func TestENOSYSStub(t *testing.T) {
	if native, _ := libseccomp.GetNativeArch(); native != libseccomp.ArchAMD64 {
		t.Skip("x86 syscall numbers")
	}
	profile := func(archs ...specs.Arch) *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{
			DefaultAction:   specs.ActErrno,
			DefaultErrnoRet: ptrTo(uint(unix.EPERM)),
			Architectures:   archs,
			Syscalls:        []specs.LinuxSyscall{{Names: []string{"read", "write", "openat"}, Action: specs.ActAllow}},
		}
	}
	const x32 = x32SyscallBit
	all := stubFor(t, profile(specs.ArchX86_64, specs.ArchX86, specs.ArchX32))
	for _, c := range []struct {
		arch, nr uint32
		want     string
	}{
		{unix.AUDIT_ARCH_X86_64, unix.SYS_OPENAT, "filter"},
		{unix.AUDIT_ARCH_X86_64, unix.SYS_OPENAT + 1, "ENOSYS"},
		{unix.AUDIT_ARCH_X86_64, unix.SYS_READ, "filter"},
		{unix.AUDIT_ARCH_X86_64, 1000, "ENOSYS"},
		{unix.AUDIT_ARCH_X86_64, x32 | unix.SYS_OPENAT, "filter"}, // x32's openat is 257 too
		{unix.AUDIT_ARCH_X86_64, x32 | 1000, "ENOSYS"},
		{unix.AUDIT_ARCH_I386, 295, "filter"}, // i386's openat
		{unix.AUDIT_ARCH_I386, 296, "ENOSYS"},
		{unix.AUDIT_ARCH_AARCH64, 1000, "filter"}, // not in the filter
	} {
		if got := runStub(t, all, c.arch, c.nr); got != c.want {
			t.Errorf("arch %#x nr %#x: %s, want %s", c.arch, c.nr, got, c.want)
		}
	}
	// Without x32 in the profile, x32 syscalls are the filter's (its
	// bad-architecture action).
	native := stubFor(t, profile())
	if got := runStub(t, native, unix.AUDIT_ARCH_X86_64, x32|1000); got != "filter" {
		t.Errorf("x32 syscall without x32 in the profile: %s", got)
	}
	if got := runStub(t, native, unix.AUDIT_ARCH_X86_64, 1000); got != "ENOSYS" {
		t.Errorf("native architecture, implied: %s", got)
	}
	// Permissive defaults and a default of ENOSYS get no stub.
	for _, s := range []*specs.LinuxSeccomp{
		{DefaultAction: specs.ActAllow, Syscalls: profile().Syscalls},
		{DefaultAction: specs.ActErrno, DefaultErrnoRet: ptrTo(uint(unix.ENOSYS)), Syscalls: profile().Syscalls},
	} {
		if stub := stubFor(t, s); stub != nil {
			t.Errorf("%s: a stub of %d instructions", s.DefaultAction, len(stub))
		}
	}
}

func ptrTo[T any](v T) *T { return &v }
