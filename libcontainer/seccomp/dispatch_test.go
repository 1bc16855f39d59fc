package seccomp

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/internal/testutil"
)

// runFilter runs prog on data (a struct seccomp_data) as the kernel runs
// a classic BPF filter, for the instructions libseccomp and husk emit, and
// returns its action.
func runFilter(t *testing.T, prog []unix.SockFilter, data *[64]byte) uint32 {
	t.Helper()
	var a, x uint32
	var mem [16]uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case ldAbs:
			a = binary.NativeEndian.Uint32(data[in.K:])
		case unix.BPF_LD | unix.BPF_MEM:
			a = mem[in.K]
		case unix.BPF_LDX | unix.BPF_MEM:
			x = mem[in.K]
		case unix.BPF_ST:
			mem[in.K] = a
		case unix.BPF_STX:
			mem[in.K] = x
		case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K:
			a &= in.K
		case unix.BPF_MISC | unix.BPF_TAX:
			x = a
		case unix.BPF_MISC | unix.BPF_TXA:
			a = x
		case ja:
			pc += int(in.K)
		case jeqK, jgtK, jgeK, unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K:
			var holds bool
			switch in.Code {
			case jeqK:
				holds = a == in.K
			case jgtK:
				holds = a > in.K
			case jgeK:
				holds = a >= in.K
			default:
				holds = a&in.K != 0
			}
			if holds {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case retK:
			return in.K
		case unix.BPF_RET | unix.BPF_A:
			return a
		default:
			t.Fatalf("instruction %d: code %#x", pc, in.Code)
		}
	}
	t.Fatal("the program ran off its end")
	return 0
}

func seccompData(arch, nr uint32, args [6]uint64) *[64]byte {
	var d [64]byte
	binary.NativeEndian.PutUint32(d[0:], nr)
	binary.NativeEndian.PutUint32(d[4:], arch)
	for i, v := range args {
		binary.NativeEndian.PutUint64(d[16+8*i:], v)
	}
	return &d
}

// The compacted program returns what libseccomp's returns for every
// architecture, number and arguments tried: every constant either program
// compares with, and its neighbours, as a number and as arguments, and
// the numbers of the syscall tables. Both of libseccomp's shapes (search
// and list) are compacted, podman's profile to less than a third.
func TestCompactDispatch(t *testing.T) {
	errno := uint(1)
	x86 := []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}
	rule := func(name string, act specs.LinuxSeccompAction, args ...specs.LinuxSeccompArg) specs.LinuxSyscall {
		return specs.LinuxSyscall{Names: []string{name}, Action: act, Args: args}
	}
	podman := testutil.LoadSeccompProfile(t, "testdata/podman-default.json")
	native := *podman
	native.Architectures = nil
	profiles := map[string]*specs.LinuxSeccomp{
		"podman":                 podman,
		"podman, native arch":    &native,
		"a deny list":            {DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat", "unshare"}, Action: specs.ActErrno, ErrnoRet: &errno}, rule("ptrace", specs.ActKill)}},
		"errno default, no stub": {DefaultAction: specs.ActErrno, DefaultErrnoRet: new(uint(unix.ENOSYS)), Architectures: x86, Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "write", "exit_group"}, Action: specs.ActAllow}}},
		"arguments": {DefaultAction: specs.ActErrno, Architectures: x86, Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write", "exit", "exit_group", "futex", "close"}, Action: specs.ActAllow},
			rule("personality", specs.ActAllow, specs.LinuxSeccompArg{Index: 0, Value: 0x20008, Op: specs.OpEqualTo}),
			rule("personality", specs.ActAllow, specs.LinuxSeccompArg{Index: 0, Value: 0xffffffff, Op: specs.OpEqualTo}),
			rule("socket", specs.ActAllow, specs.LinuxSeccompArg{Index: 0, Value: 40, Op: specs.OpNotEqual}),
			rule("clone", specs.ActAllow, specs.LinuxSeccompArg{Index: 0, Value: 0x7e020000, ValueTwo: 0, Op: specs.OpMaskedEqual}),
			rule("mmap", specs.ActAllow, specs.LinuxSeccompArg{Index: 2, Value: 4, Op: specs.OpLessThan}, specs.LinuxSeccompArg{Index: 3, Value: 1 << 33, Op: specs.OpGreaterEqual}),
			rule("lseek", specs.ActTrap, specs.LinuxSeccompArg{Index: 1, Value: 7, Op: specs.OpLessEqual}),
			rule("pread64", specs.ActLog, specs.LinuxSeccompArg{Index: 5, Value: 1<<40 + 3, Op: specs.OpGreaterThan}),
			rule("kill", specs.ActKillProcess),
		}},
	}
	for name, s := range profiles {
		for _, tree := range []bool{true, false} {
			old, err := compileProgram(s, tree, nil)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			compact := compactDispatch(old)
			t.Logf("%s, search %v: %d instructions, compacted %d", name, tree, len(old), len(compact))
			if name == "podman" && tree && len(compact) > len(old)/3 {
				t.Errorf("podman's profile compacts to %d of %d instructions, want at most a third", len(compact), len(old))
			}
			sameActions(t, name, old, compact)
		}
	}
}

// sameActions runs both programs on many inputs and fails on the first
// that gets two actions.
func sameActions(t *testing.T, name string, old, compact []unix.SockFilter) {
	t.Helper()
	var consts []uint32
	for _, p := range [][]unix.SockFilter{old, compact} {
		for _, in := range p {
			if in.Code&0x07 == unix.BPF_JMP && in.Code != ja {
				consts = append(consts, in.K-1, in.K, in.K+1)
			}
		}
	}
	consts = append(consts, 0, math.MaxUint32)
	slices.Sort(consts)
	consts = slices.Compact(consts)
	archs := []uint32{0, math.MaxUint32, unix.AUDIT_ARCH_AARCH64, unix.AUDIT_ARCH_ARM}
	for _, a := range []uint32{unix.AUDIT_ARCH_X86_64, unix.AUDIT_ARCH_I386} {
		archs = append(archs, a-1, a, a+1)
	}
	nrs := slices.Clone(consts)
	for nr := range uint32(1100) {
		nrs = append(nrs, nr, nr|0x40000000)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	some := func() uint64 {
		c := uint64(consts[rng.IntN(len(consts))])
		switch rng.IntN(4) {
		case 0:
			return c
		case 1:
			return c << 32
		case 2:
			return c<<32 | uint64(consts[rng.IntN(len(consts))])
		}
		return rng.Uint64()
	}
	check := func(arch, nr uint32, args [6]uint64) {
		d := seccompData(arch, nr, args)
		if o, c := runFilter(t, old, d), runFilter(t, compact, d); o != c {
			t.Fatalf("%s: arch %#x nr %#x args %#x: libseccomp's program returns %#x, the compacted one %#x", name, arch, nr, args, o, c)
		}
	}
	argTried := map[[2]int]bool{}
	for _, arch := range archs {
		for _, nr := range nrs {
			check(arch, nr, [6]uint64{})
			check(arch, nr, [6]uint64{some(), some(), some(), some(), some(), some()})
			// Where a rule compares arguments, try them one at a time,
			// and many together, once per rule's code.
			end, ok := dispatchEnd(old, arch, nr)
			if !ok || old[end].Code != ldAbs || argTried[[2]int{int(arch), end}] {
				continue
			}
			argTried[[2]int{int(arch), end}] = true
			for i := range 6 {
				for _, c := range consts {
					for _, v := range []uint64{uint64(c), uint64(c) << 32, uint64(c)<<32 | uint64(c)} {
						var args [6]uint64
						args[i] = v
						check(arch, nr, args)
					}
				}
			}
			for range 2000 {
				check(arch, nr, [6]uint64{some(), some(), some(), some(), some(), some()})
			}
		}
	}
}

// A search whose branches are too far apart for a conditional jump goes
// through a jump that can reach, and each number still gets its leaf, a
// copied return or a jump to the code kept after the search.
func TestSearchFarBranches(t *testing.T) {
	prog := []unix.SockFilter{
		{Code: ldAbs, K: 16},
		{Code: retK, K: unix.SECCOMP_RET_ERRNO | 5},
		{Code: retK, K: unix.SECCOMP_RET_KILL_PROCESS},
	}
	targets := []int{0, 2}
	const n = 400 // range i: the numbers from 2i, up to the next range
	var e emitter
	e.out = append(e.out, unix.SockFilter{Code: ldAbs, K: offNr})
	e.search(0, n, func(i int) uint32 { return uint32(2 * i) }, func(i, j int) bool { return j-i == 1 }, func(i, _ int) { e.leaf(prog, targets[i%2]) })
	out, _, ok := e.link(prog)
	if !ok {
		t.Fatal("link failed")
	}
	far := 0
	for _, in := range out {
		if in.Code == jgeK && in.Jt == 0 && in.Jf == 1 {
			far++
		}
	}
	if far == 0 {
		t.Error("no branch went through a jump")
	}
	for _, nr := range []uint32{0, 1, 2, 3, 500, 501, 502, 797, 798, 799, 800, 5000, math.MaxUint32} {
		want := prog[1].K
		if i := min(int(nr/2), n-1); targets[i%2] == 2 {
			want = prog[2].K
		}
		if got := runFilter(t, out, seccompData(0, nr, [6]uint64{})); got != want {
			t.Errorf("nr %d: %#x, want %#x", nr, got, want)
		}
	}
}

// A dispatch of more ranges than one search's leaves can be reached from
// is split into searches that each can, and does the same.
func TestCompactDispatchManyRanges(t *testing.T) {
	// Numbers 0 to n-1 in pairs, the pairs allowed and refused in turn,
	// one comparison and one jump each; the others killed.
	const n = 800
	allow := 1 + 2*n + 1
	prog := []unix.SockFilter{{Code: ldAbs, K: offNr}}
	for k := range n {
		target := allow + (k/2)%2
		prog = append(prog,
			unix.SockFilter{Code: jeqK, K: uint32(k), Jt: 0, Jf: 1},
			unix.SockFilter{Code: ja, K: uint32(target - len(prog) - 2)})
	}
	prog = append(prog,
		unix.SockFilter{Code: retK, K: unix.SECCOMP_RET_KILL_PROCESS},
		unix.SockFilter{Code: retK, K: unix.SECCOMP_RET_ALLOW},
		unix.SockFilter{Code: retK, K: unix.SECCOMP_RET_ERRNO | 1})
	compact := compactDispatch(prog)
	if len(compact) >= len(prog) {
		t.Fatalf("not compacted: %d instructions", len(prog))
	}
	t.Logf("%d instructions, compacted %d", len(prog), len(compact))
	sameActions(t, "many ranges", prog, compact)
}

// A dispatch the walk can't follow, here a bit test of the number, leaves
// the program as it is; so does a jump out of the program.
func TestCompactDispatchLeavesWhatItCantFollow(t *testing.T) {
	allow := unix.SockFilter{Code: retK, K: unix.SECCOMP_RET_ALLOW}
	kill := unix.SockFilter{Code: retK, K: unix.SECCOMP_RET_KILL_PROCESS}
	for name, prog := range map[string][]unix.SockFilter{
		"a bit test": {
			{Code: ldAbs, K: offNr},
			{Code: jeqK, K: 1, Jt: 2},
			{Code: jeqK, K: 2, Jt: 1},
			{Code: unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K, K: 4, Jt: 0, Jf: 1},
			allow, kill,
		},
		"a jump out": {
			{Code: ldAbs, K: offNr},
			{Code: jeqK, K: 1, Jt: 3},
			{Code: jeqK, K: 2, Jt: 3},
			{Code: jeqK, K: 3, Jt: 1},
			kill,
			allow,
			{Code: ldAbs, K: 16},
			{Code: ja, K: 5},
		},
	} {
		if got := compactDispatch(prog); !slices.Equal(got, prog) {
			t.Errorf("compacted a program with %s:\n%v", name, got)
		}
	}
}
