package seccomp

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
)

func TestConvertAction(t *testing.T) {
	for _, tc := range []struct {
		name  specs.LinuxSeccompAction
		errno *uint
		want  libseccomp.ScmpAction
	}{
		{specs.ActKill, nil, libseccomp.ActKillThread},
		{specs.ActKillThread, nil, libseccomp.ActKillThread},
		{specs.ActKillProcess, nil, libseccomp.ActKillProcess},
		{specs.ActTrap, nil, libseccomp.ActTrap},
		{specs.ActAllow, nil, libseccomp.ActAllow},
		{specs.ActLog, nil, libseccomp.ActLog},
		{specs.ActNotify, nil, libseccomp.ActNotify},
		// errnoRet defaults to EPERM, for ERRNO and TRACE alike.
		{specs.ActErrno, nil, libseccomp.ActErrno.SetReturnCode(1)},
		{specs.ActErrno, new(uint(38)), libseccomp.ActErrno.SetReturnCode(38)},
		{specs.ActErrno, new(uint(0)), libseccomp.ActErrno.SetReturnCode(0)},
		{specs.ActTrace, nil, libseccomp.ActTrace.SetReturnCode(1)},
		{specs.ActTrace, new(uint(0xffff)), libseccomp.ActTrace.SetReturnCode(-1)},
	} {
		got, err := convertAction(tc.name, tc.errno, "f", "e")
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s errno %v: got %v (%#x), want %v (%#x)", tc.name, tc.errno, got, uint(got), tc.want, uint(tc.want))
		}
	}
}

func TestConvertActionErrors(t *testing.T) {
	for _, tc := range []struct {
		name  specs.LinuxSeccompAction
		errno *uint
		want  string
	}{
		{"SCMP_ACT_BOGUS", nil, `f: unknown action "SCMP_ACT_BOGUS"`},
		{"scmp_act_allow", nil, `f: unknown action "scmp_act_allow"`},
		{specs.ActAllow, new(uint(1)), "e: SCMP_ACT_ALLOW takes no errno value"},
		{specs.ActKill, new(uint(1)), "e: SCMP_ACT_KILL takes no errno value"},
		{specs.ActErrno, new(uint(0x10000)), "e: 65536 does not fit the 16 bits seccomp returns"},
	} {
		_, err := convertAction(tc.name, tc.errno, "f", "e")
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s errno %v: got error %v, want %q", tc.name, tc.errno, err, tc.want)
		}
	}
}

func TestConvertArg(t *testing.T) {
	for _, tc := range []struct {
		op   specs.LinuxSeccompOperator
		want libseccomp.ScmpCompareOp
	}{
		{specs.OpNotEqual, libseccomp.CompareNotEqual},
		{specs.OpLessThan, libseccomp.CompareLess},
		{specs.OpLessEqual, libseccomp.CompareLessOrEqual},
		{specs.OpEqualTo, libseccomp.CompareEqual},
		{specs.OpGreaterEqual, libseccomp.CompareGreaterEqual},
		{specs.OpGreaterThan, libseccomp.CompareGreater},
	} {
		c, err := convertArg(specs.LinuxSeccompArg{Index: 2, Value: 7, ValueTwo: 9, Op: tc.op})
		if err != nil {
			t.Fatalf("%s: %v", tc.op, err)
		}
		// valueTwo means nothing to these operators.
		if want := (libseccomp.ScmpCondition{Argument: 2, Op: tc.want, Operand1: 7}); c != want {
			t.Errorf("%s: got %+v, want %+v", tc.op, c, want)
		}
	}
	// MASKED_EQ: value is the mask, valueTwo what the masked argument equals.
	c, err := convertArg(specs.LinuxSeccompArg{Index: 0, Value: 0x7e020000, ValueTwo: 0, Op: specs.OpMaskedEqual})
	if err != nil {
		t.Fatal(err)
	}
	if want := (libseccomp.ScmpCondition{Op: libseccomp.CompareMaskedEqual, Operand1: 0x7e020000}); c != want {
		t.Errorf("MASKED_EQ: got %+v, want %+v", c, want)
	}

	if _, err := convertArg(specs.LinuxSeccompArg{Index: 6, Op: specs.OpEqualTo}); err == nil || !strings.Contains(err.Error(), "index 6 is out of range") {
		t.Errorf("index 6: got %v", err)
	}
	if _, err := convertArg(specs.LinuxSeccompArg{Op: "SCMP_CMP_XOR"}); err == nil || err.Error() != `unknown operator "SCMP_CMP_XOR"` {
		t.Errorf("bad operator: got %v", err)
	}
}

func TestLookupArch(t *testing.T) {
	for name, want := range map[specs.Arch]libseccomp.ScmpArch{
		specs.ArchX86_64:  libseccomp.ArchAMD64,
		specs.ArchX86:     libseccomp.ArchX86,
		specs.ArchX32:     libseccomp.ArchX32,
		specs.ArchAARCH64: libseccomp.ArchARM64,
		specs.ArchPPC64LE: libseccomp.ArchPPC64LE,
		specs.ArchS390X:   libseccomp.ArchS390X,
		specs.ArchRISCV64: libseccomp.ArchRISCV64,
	} {
		if got, ok := lookupArch(name); !ok || got != want {
			t.Errorf("%s: got %v, %v; want %v", name, got, ok, want)
		}
	}
	if _, ok := lookupArch("SCMP_ARCH_AMD64"); ok {
		t.Error("SCMP_ARCH_AMD64 is not a spec name, but was accepted")
	}
	if len(archNames) != 23 {
		t.Errorf("%d architectures in the table, the runtime-spec 1.3 lists 23", len(archNames))
	}
}

func TestFlagBits(t *testing.T) {
	bits, err := flagBits([]specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_TSYNC", specs.LinuxSeccompFlagLog})
	if err != nil {
		t.Fatal(err)
	}
	if bits != 1|2 {
		t.Errorf("TSYNC|LOG = %#x, want 0x3", bits)
	}
	_, err = flagBits([]specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, "SECCOMP_FILTER_FLAG_NEW_LISTENER"})
	if want := `linux.seccomp.flags[1]: unknown flag "SECCOMP_FILTER_FLAG_NEW_LISTENER"`; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
}
