package seccomp

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// runStub runs the stub on a seccomp_data of arch and nr; it returns the
// stub's verdict, or "filter" when control reaches libseccomp's program,
// which a return of its own stands for here.
func runStub(t *testing.T, stub []unix.SockFilter, arch, nr uint32) string {
	t.Helper()
	const filter = 0xf11e
	prog := append(slices.Clone(stub), unix.SockFilter{Code: retK, K: filter})
	switch r := runFilter(t, prog, seccompData(arch, nr, [6]uint64{})); r {
	case filter:
		return "filter"
	case retENOSYS:
		return "ENOSYS"
	default:
		t.Fatalf("stub returns %#x", r)
		return ""
	}
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
