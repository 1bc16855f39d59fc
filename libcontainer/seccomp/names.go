package seccomp

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// The tables below are ordered as the runtime-spec lists the names, which is
// also the order `husk features` prints them in.

// actionNames maps the spec's actions to libseccomp's. SCMP_ACT_KILL is the
// historical name of SCMP_ACT_KILL_THREAD.
var actionNames = []struct {
	name specs.LinuxSeccompAction
	act  libseccomp.ScmpAction
	// api is the libseccomp API level that reports kernel support for it.
	api uint
}{
	{specs.ActKill, libseccomp.ActKillThread, 0},
	{specs.ActKillProcess, libseccomp.ActKillProcess, 3},
	{specs.ActKillThread, libseccomp.ActKillThread, 0},
	{specs.ActTrap, libseccomp.ActTrap, 0},
	{specs.ActErrno, libseccomp.ActErrno, 0},
	{specs.ActTrace, libseccomp.ActTrace, 0},
	{specs.ActAllow, libseccomp.ActAllow, 0},
	{specs.ActLog, libseccomp.ActLog, 3},
	{specs.ActNotify, libseccomp.ActNotify, 5},
}

var operatorNames = []struct {
	name specs.LinuxSeccompOperator
	op   libseccomp.ScmpCompareOp
}{
	{specs.OpNotEqual, libseccomp.CompareNotEqual},
	{specs.OpLessThan, libseccomp.CompareLess},
	{specs.OpLessEqual, libseccomp.CompareLessOrEqual},
	{specs.OpEqualTo, libseccomp.CompareEqual},
	{specs.OpGreaterEqual, libseccomp.CompareGreaterEqual},
	{specs.OpGreaterThan, libseccomp.CompareGreater},
	{specs.OpMaskedEqual, libseccomp.CompareMaskedEqual},
}

var archNames = []struct {
	name specs.Arch
	arch libseccomp.ScmpArch
}{
	{specs.ArchX86, libseccomp.ArchX86},
	{specs.ArchX86_64, libseccomp.ArchAMD64},
	{specs.ArchX32, libseccomp.ArchX32},
	{specs.ArchARM, libseccomp.ArchARM},
	{specs.ArchAARCH64, libseccomp.ArchARM64},
	{specs.ArchMIPS, libseccomp.ArchMIPS},
	{specs.ArchMIPS64, libseccomp.ArchMIPS64},
	{specs.ArchMIPS64N32, libseccomp.ArchMIPS64N32},
	{specs.ArchMIPSEL, libseccomp.ArchMIPSEL},
	{specs.ArchMIPSEL64, libseccomp.ArchMIPSEL64},
	{specs.ArchMIPSEL64N32, libseccomp.ArchMIPSEL64N32},
	{specs.ArchPPC, libseccomp.ArchPPC},
	{specs.ArchPPC64, libseccomp.ArchPPC64},
	{specs.ArchPPC64LE, libseccomp.ArchPPC64LE},
	{specs.ArchS390, libseccomp.ArchS390},
	{specs.ArchS390X, libseccomp.ArchS390X},
	{specs.ArchPARISC, libseccomp.ArchPARISC},
	{specs.ArchPARISC64, libseccomp.ArchPARISC64},
	{specs.ArchRISCV64, libseccomp.ArchRISCV64},
	{specs.ArchLOONGARCH64, libseccomp.ArchLOONGARCH64},
	{specs.ArchM68K, libseccomp.ArchM68K},
	{specs.ArchSH, libseccomp.ArchSH},
	{specs.ArchSHEB, libseccomp.ArchSHEB},
}

// flagNames maps the spec's flags to seccomp(2) flag bits. husk loads the
// filter itself, so a flag needs only the kernel, not libseccomp.
var flagNames = []struct {
	name specs.LinuxSeccompFlag
	bit  uint
}{
	{"SECCOMP_FILTER_FLAG_TSYNC", unix.SECCOMP_FILTER_FLAG_TSYNC},
	{specs.LinuxSeccompFlagLog, unix.SECCOMP_FILTER_FLAG_LOG},
	{specs.LinuxSeccompFlagSpecAllow, unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW},
	{specs.LinuxSeccompFlagWaitKillableRecv, unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV},
}

func lookupAction(name specs.LinuxSeccompAction) (libseccomp.ScmpAction, uint, bool) {
	for _, a := range actionNames {
		if a.name == name {
			return a.act, a.api, true
		}
	}
	return libseccomp.ActInvalid, 0, false
}

func lookupOperator(name specs.LinuxSeccompOperator) (libseccomp.ScmpCompareOp, bool) {
	for _, o := range operatorNames {
		if o.name == name {
			return o.op, true
		}
	}
	return libseccomp.CompareInvalid, false
}

func lookupArch(name specs.Arch) (libseccomp.ScmpArch, bool) {
	for _, a := range archNames {
		if a.name == name {
			return a.arch, true
		}
	}
	return libseccomp.ArchInvalid, false
}

func lookupFlag(name specs.LinuxSeccompFlag) (uint, bool) {
	for _, f := range flagNames {
		if f.name == name {
			return f.bit, true
		}
	}
	return 0, false
}
