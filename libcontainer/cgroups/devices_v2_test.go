package cgroups

import (
	"fmt"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func char(major, minor int64, access string, allow bool) specs.LinuxDeviceCgroup {
	return specs.LinuxDeviceCgroup{Allow: allow, Type: "c", Major: &major, Minor: &minor, Access: access}
}

func TestCompileDeviceRules(t *testing.T) {
	denyAll := specs.LinuxDeviceCgroup{Allow: false, Access: "rwm"}
	allowAll := specs.LinuxDeviceCgroup{Allow: true, Type: "a"}
	for _, tc := range []struct {
		name  string
		rules []specs.LinuxDeviceCgroup
		want  devicePolicy
	}{
		{"nothing", nil, devicePolicy{allow: true}},
		{"deny all", []specs.LinuxDeviceCgroup{denyAll}, devicePolicy{allow: false}},
		{
			"deny all then allow",
			[]specs.LinuxDeviceCgroup{denyAll, char(1, 3, "rw", true), char(1, 3, "m", true), char(5, -1, "r", true)},
			devicePolicy{exceptions: []deviceException{
				{char: true, major: 1, minor: 3, access: 7},
				{char: true, major: 5, minor: -1, access: unix.BPF_DEVCG_ACC_READ},
			}},
		},
		{
			"a rule clears exceptions",
			[]specs.LinuxDeviceCgroup{denyAll, char(1, 3, "rw", true), allowAll, char(1, 5, "w", false)},
			devicePolicy{allow: true, exceptions: []deviceException{{char: true, major: 1, minor: 5, access: unix.BPF_DEVCG_ACC_WRITE}}},
		},
		{
			"a rule agreeing with the default takes access away",
			[]specs.LinuxDeviceCgroup{denyAll, char(1, 3, "rwm", true), char(1, 3, "w", false), char(1, 5, "r", true), char(1, 5, "r", false)},
			devicePolicy{exceptions: []deviceException{{char: true, major: 1, minor: 3, access: unix.BPF_DEVCG_ACC_READ | unix.BPF_DEVCG_ACC_MKNOD}}},
		},
	} {
		got, err := compileDeviceRules(tc.rules)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s:\n got  %+v\n want %+v", tc.name, got, tc.want)
		}
	}
	if _, err := compileDeviceRules([]specs.LinuxDeviceCgroup{{Type: "x"}}); err == nil {
		t.Error("invalid device type accepted")
	}
}

// registers undoes the nibble packing of insn.
func (in bpfInsn) registers() (dst, src uint8) {
	if littleEndian() {
		return in.regs & 0xf, in.regs >> 4
	}
	return in.regs >> 4, in.regs & 0xf
}

// runProgram interprets the few instructions program emits, so that the
// compiled filter can be checked on every device without a kernel.
func runProgram(t *testing.T, prog []bpfInsn, typ, access, major, minor uint32) bool {
	t.Helper()
	var reg [11]uint64
	ctx := []uint32{access<<16 | typ, major, minor}
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		dst, src := in.registers()
		switch in.code {
		case ldxW:
			if src != regCtx || in.off%4 != 0 {
				t.Fatalf("pc %d: load from r%d%+d", pc, src, in.off)
			}
			reg[dst] = uint64(ctx[in.off/4])
		case movReg:
			reg[dst] = reg[src]
		case movImm:
			reg[dst] = uint64(int64(in.imm))
		case andImm:
			reg[dst] &= uint64(int64(in.imm))
		case rshImm:
			reg[dst] >>= uint(in.imm)
		case jneImm:
			if reg[dst] != uint64(int64(in.imm)) {
				pc += int(in.off)
			}
		case jeqImm:
			if reg[dst] == uint64(int64(in.imm)) {
				pc += int(in.off)
			}
		case exitOp:
			return reg[regRet] == 1
		default:
			t.Fatalf("pc %d: unexpected opcode %#x", pc, in.code)
		}
	}
	t.Fatal("program ran off its end")
	return false
}

// v1Allows is the v1 controller's decision, written from its description.
func v1Allows(p devicePolicy, char bool, access uint32, major, minor int64) bool {
	for _, ex := range p.exceptions {
		if ex.char != char || (ex.major >= 0 && ex.major != major) || (ex.minor >= 0 && ex.minor != minor) {
			continue
		}
		if p.allow && access&ex.access != 0 {
			return false
		}
		if !p.allow && access&^ex.access == 0 {
			return true
		}
	}
	return p.allow
}

func TestDeviceProgramMatchesPolicy(t *testing.T) {
	for _, rules := range [][]specs.LinuxDeviceCgroup{
		append([]specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}, DefaultAllowedDevices()...),
		{char(1, 3, "w", false), char(136, -1, "rwm", false), {Allow: false, Type: "b", Major: new(int64(8)), Access: "m"}},
		{{Allow: false}, char(1, -1, "r", true), char(-1, 7, "w", true)},
		nil,
	} {
		p, err := compileDeviceRules(rules)
		if err != nil {
			t.Fatal(err)
		}
		prog, err := p.program()
		if err != nil {
			t.Fatal(err)
		}
		for _, char := range []bool{true, false} {
			typ := uint32(unix.BPF_DEVCG_DEV_BLOCK)
			if char {
				typ = unix.BPF_DEVCG_DEV_CHAR
			}
			for access := uint32(1); access <= 7; access++ {
				for _, major := range []int64{0, 1, 5, 8, 136} {
					for _, minor := range []int64{0, 1, 3, 5, 7, 9} {
						got := runProgram(t, prog, typ, access, uint32(major), uint32(minor))
						if want := v1Allows(p, char, access, major, minor); got != want {
							t.Errorf("policy %+v: char=%v access=%d %d:%d: program says %v, v1 says %v",
								p, char, access, major, minor, got, want)
						}
					}
				}
			}
		}
	}
}
