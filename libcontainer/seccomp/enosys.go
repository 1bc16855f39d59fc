package seccomp

import (
	"fmt"
	"sort"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// A profile lists the syscalls its author knew of. A syscall newer than
// all of them would get the default action, typically EPERM, and a C
// library that tries a new syscall first (glibc's clone3, faccessat2) and
// falls back to the old one only on ENOSYS would then fail. As runc does,
// husk puts a stub before the program libseccomp made: per architecture,
// a syscall number above the highest the profile names there returns
// ENOSYS. Profiles whose default already allows (allow, log, trace: a
// tracer handles new syscalls itself) or already says ENOSYS get no stub.

// auditArch is what the kernel reports in seccomp_data.arch for each
// libseccomp architecture. x32 shares x86_64's, told apart by a bit of the
// syscall number.
var auditArch = map[libseccomp.ScmpArch]uint32{
	libseccomp.ArchX86:         unix.AUDIT_ARCH_I386,
	libseccomp.ArchAMD64:       unix.AUDIT_ARCH_X86_64,
	libseccomp.ArchX32:         unix.AUDIT_ARCH_X86_64,
	libseccomp.ArchARM:         unix.AUDIT_ARCH_ARM,
	libseccomp.ArchARM64:       unix.AUDIT_ARCH_AARCH64,
	libseccomp.ArchMIPS:        unix.AUDIT_ARCH_MIPS,
	libseccomp.ArchMIPS64:      unix.AUDIT_ARCH_MIPS64,
	libseccomp.ArchMIPS64N32:   unix.AUDIT_ARCH_MIPS64N32,
	libseccomp.ArchMIPSEL:      unix.AUDIT_ARCH_MIPSEL,
	libseccomp.ArchMIPSEL64:    unix.AUDIT_ARCH_MIPSEL64,
	libseccomp.ArchMIPSEL64N32: unix.AUDIT_ARCH_MIPSEL64N32,
	libseccomp.ArchPPC:         unix.AUDIT_ARCH_PPC,
	libseccomp.ArchPPC64:       unix.AUDIT_ARCH_PPC64,
	libseccomp.ArchPPC64LE:     unix.AUDIT_ARCH_PPC64LE,
	libseccomp.ArchS390:        unix.AUDIT_ARCH_S390,
	libseccomp.ArchS390X:       unix.AUDIT_ARCH_S390X,
	libseccomp.ArchPARISC:      unix.AUDIT_ARCH_PARISC,
	libseccomp.ArchPARISC64:    unix.AUDIT_ARCH_PARISC64,
	libseccomp.ArchRISCV64:     unix.AUDIT_ARCH_RISCV64,
	libseccomp.ArchLOONGARCH64: unix.AUDIT_ARCH_LOONGARCH64,
	libseccomp.ArchM68K:        unix.AUDIT_ARCH_M68K,
	libseccomp.ArchSH:          unix.AUDIT_ARCH_SHEL,
	libseccomp.ArchSHEB:        unix.AUDIT_ARCH_SH,
}

// x32SyscallBit marks an x32 syscall on AUDIT_ARCH_X86_64.
const x32SyscallBit = 0x40000000

const retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)

// needsENOSYSStub tells whether s gets the stub.
func needsENOSYSStub(s *specs.LinuxSeccomp) bool {
	if s.DefaultErrnoRet != nil && *s.DefaultErrnoRet == uint(unix.ENOSYS) {
		return false
	}
	switch s.DefaultAction {
	case specs.ActAllow, specs.ActLog, specs.ActTrace:
		return false
	}
	return true
}

// highestSyscalls returns, per audit architecture and then per libseccomp
// architecture, the highest syscall number the profile names: for every
// architecture in the filter f, and the native one, which is always in it.
// An architecture the profile names no syscall of is left out (it gets no
// stub: the default action stays).
func highestSyscalls(s *specs.LinuxSeccomp, f *libseccomp.ScmpFilter, debugf Debugf) (map[uint32]map[libseccomp.ScmpArch]uint32, error) {
	archs := map[libseccomp.ScmpArch]bool{}
	native, err := libseccomp.GetNativeArch()
	if err != nil {
		return nil, fmt.Errorf("seccomp: native architecture: %w", err)
	}
	archs[native] = true
	for _, name := range s.Architectures {
		if a, ok := lookupArch(name); ok {
			if present, err := f.IsArchPresent(a); err == nil && present {
				archs[a] = true
			}
		}
	}
	out := map[uint32]map[libseccomp.ScmpArch]uint32{}
	for a := range archs {
		audit, ok := auditArch[a]
		if !ok {
			debugf.printf("seccomp: no -ENOSYS stub for architecture %v", a)
			continue
		}
		var highest int64
		for _, sc := range s.Syscalls {
			for _, name := range sc.Names {
				nr, err := libseccomp.GetSyscallFromNameByArch(name, a)
				if err == nil && int64(nr) > highest {
					highest = int64(nr)
				}
			}
		}
		if highest <= 0 {
			continue
		}
		if out[audit] == nil {
			out[audit] = map[libseccomp.ScmpArch]uint32{}
		}
		out[audit][a] = uint32(highest)
	}
	return out, nil
}

// stubBuilder assembles the stub with two labels: "enosys" (return ENOSYS)
// and "filter" (the first instruction of libseccomp's program, which loads
// what it checks itself).
type stubBuilder struct {
	insns []unix.SockFilter
	// fixups: instruction index -> label of its true (jt) branch, or of
	// its k for an unconditional jump.
	fixups map[int]string
}

func (b *stubBuilder) add(code uint16, k uint32) {
	b.insns = append(b.insns, unix.SockFilter{Code: code, K: k})
}

// jumpIf adds "if A <op> k goto label, else go on".
func (b *stubBuilder) jumpIf(op uint16, k uint32, label string) {
	b.fixups[len(b.insns)] = label
	b.add(unix.BPF_JMP|op|unix.BPF_K, k)
}

func (b *stubBuilder) jump(label string) {
	b.fixups[len(b.insns)] = label
	b.add(ja, 0)
}

// enosysStub returns the instructions to put before libseccomp's program.
func enosysStub(highest map[uint32]map[libseccomp.ScmpArch]uint32) ([]unix.SockFilter, error) {
	if len(highest) == 0 {
		return nil, nil
	}
	audits := make([]uint32, 0, len(highest))
	for a := range highest {
		audits = append(audits, a)
	}
	sort.Slice(audits, func(i, j int) bool { return audits[i] < audits[j] })

	b := &stubBuilder{fixups: map[int]string{}}
	b.add(ldAbs, offArch)
	for _, a := range audits {
		b.jumpIf(unix.BPF_JEQ, a, fmt.Sprintf("arch-%#x", a))
	}
	b.jump("filter")
	labels := map[string]int{}
	for _, a := range audits {
		labels[fmt.Sprintf("arch-%#x", a)] = len(b.insns)
		b.add(ldAbs, offNr)
		archs := highest[a]
		if a == unix.AUDIT_ARCH_X86_64 {
			// x32 syscalls carry x32SyscallBit, x86_64 ones don't: each
			// is compared with its own highest, or left to the filter.
			x32, hasX32 := archs[libseccomp.ArchX32]
			amd64, hasAMD64 := archs[libseccomp.ArchAMD64]
			if hasX32 {
				b.jumpIf(unix.BPF_JGT, x32, "enosys")
				b.jumpIf(unix.BPF_JGE, x32SyscallBit, "filter")
			} else {
				b.jumpIf(unix.BPF_JGE, x32SyscallBit, "filter")
			}
			if hasAMD64 {
				b.jumpIf(unix.BPF_JGT, amd64, "enosys")
			}
			b.jump("filter")
			continue
		}
		for arch, nr := range archs {
			if arch == libseccomp.ArchS390 || arch == libseccomp.ArchS390X {
				// The kernel reports an unknown syscall there as 0,
				// the multiplexer.
				b.jumpIf(unix.BPF_JEQ, 0, "enosys")
			}
			b.jumpIf(unix.BPF_JGT, nr, "enosys")
		}
		b.jump("filter")
	}
	labels["enosys"] = len(b.insns)
	b.add(retK, retENOSYS)
	labels["filter"] = len(b.insns)
	for i, label := range b.fixups {
		target, ok := labels[label]
		if !ok {
			return nil, fmt.Errorf("seccomp: -ENOSYS stub: no label %q", label)
		}
		off := target - i - 1
		in := &b.insns[i]
		if in.Code == ja {
			in.K = uint32(off)
			continue
		}
		if off > 255 {
			return nil, fmt.Errorf("seccomp: -ENOSYS stub: jump of %d instructions", off)
		}
		in.Jt = uint8(off)
	}
	return b.insns, nil
}

// withENOSYSStub puts the stub, if s needs one, before insns.
func withENOSYSStub(s *specs.LinuxSeccomp, f *libseccomp.ScmpFilter, insns []unix.SockFilter, debugf Debugf) ([]unix.SockFilter, error) {
	if !needsENOSYSStub(s) {
		return insns, nil
	}
	highest, err := highestSyscalls(s, f, debugf)
	if err != nil {
		return nil, err
	}
	stub, err := enosysStub(highest)
	if err != nil {
		return nil, err
	}
	all := append(stub, insns...)
	if len(all) > bpfMaxInsns {
		return nil, fmt.Errorf("seccomp: the profile compiles to %d BPF instructions with the -ENOSYS stub, %w", len(all), errTooLong)
	}
	return all, nil
}
