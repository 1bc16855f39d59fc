package seccomp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/internal/testutil"
)

// pfc validates and builds s and returns libseccomp's readable dump of the
// filter. What the filter leaves out goes where captureDebug said.
func pfc(t *testing.T, s *specs.LinuxSeccomp) string {
	t.Helper()
	if err := Validate(s); err != nil {
		t.Fatal(err)
	}
	reportLeftOut(s, testDebugf(t))
	f, err := buildFilter(s, true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	out, err := os.Create(filepath.Join(t.TempDir(), "filter.pfc"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if err := f.ExportPFC(out); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// debugSinks holds, per test, where testDebugf sends messages.
var debugSinks sync.Map // *testing.T -> *[]string

// captureDebug collects what testDebugf(t) receives during the test.
func captureDebug(t *testing.T) *[]string {
	var msgs []string
	debugSinks.Store(t, &msgs)
	t.Cleanup(func() { debugSinks.Delete(t) })
	return &msgs
}

// testDebugf is the Debugf of test t: what captureDebug collects, or nil.
func testDebugf(t *testing.T) Debugf {
	v, ok := debugSinks.Load(t)
	if !ok {
		return nil
	}
	msgs := v.(*[]string)
	return func(format string, args ...any) { *msgs = append(*msgs, fmt.Sprintf(format, args...)) }
}

func TestBuildSkipsUnknownSyscalls(t *testing.T) {
	msgs := captureDebug(t)
	dump := pfc(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "no_such_syscall", "rmdir", "husk_future_call"}, Action: specs.ActErrno},
		},
	})
	for _, name := range []string{"mkdir", "rmdir"} {
		if !strings.Contains(dump, `"`+name+`"`) {
			t.Errorf("no rule for %s in the filter:\n%s", name, dump)
		}
	}
	if len(*msgs) != 1 || !strings.HasSuffix((*msgs)[0], "left to the default action: no_such_syscall husk_future_call") {
		t.Errorf("debug messages %q, want one listing the unknown syscalls", *msgs)
	}
}

func TestBuildSkipsRulesEqualToDefault(t *testing.T) {
	msgs := captureDebug(t)
	dump := pfc(t, &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: new(uint(38)),
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write", "exit_group"}, Action: specs.ActAllow},
			{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: new(uint(38))},
			{Names: []string{"mount"}, Action: specs.ActErrno}, // EPERM differs from the default
		},
	})
	if strings.Contains(dump, `"clone3"`) {
		t.Errorf("clone3 has a rule although it equals the default action:\n%s", dump)
	}
	if !strings.Contains(dump, `"mount"`) {
		t.Errorf("mount (ERRNO 1 against a default of ERRNO 38) has no rule:\n%s", dump)
	}
	if len(*msgs) != 1 || !strings.Contains((*msgs)[0], "linux.seccomp.syscalls[1]") {
		t.Errorf("debug messages %q, want one about syscalls[1]", *msgs)
	}
}

// Comparisons of different arguments must all hold; libseccomp cannot
// compare one argument twice, and such a rule matches when any comparison
// does, as with runc.
func TestBuildArgumentRules(t *testing.T) {
	msgs := captureDebug(t)
	dump := pfc(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdirat"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 5, Op: specs.OpEqualTo},
				{Index: 2, Value: 0o700, ValueTwo: 0o700, Op: specs.OpMaskedEqual},
			}},
			{Names: []string{"personality"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 8, Op: specs.OpEqualTo},
				{Index: 0, Value: 9, Op: specs.OpEqualTo},
			}},
		},
	})
	if n := countRules(dump, "mkdirat"); n != 1 {
		t.Errorf("mkdirat: %d rules, want 1 with both comparisons:\n%s", n, dump)
	}
	if n := countRules(dump, "personality"); n != 2 {
		t.Errorf("personality: %d rules, want 2 (one per comparison of arg 0):\n%s", n, dump)
	}
	if len(*msgs) != 0 {
		t.Errorf("debug messages %q", *msgs)
	}
}

// countRules counts the actions in the PFC block of syscall name for the
// native architecture.
func countRules(dump, name string) int {
	native := strings.SplitN(dump, "# filter for arch", 3)
	if len(native) < 2 {
		return -1
	}
	block := native[1]
	start := strings.Index(block, `"`+name+`"`)
	if start < 0 {
		return 0
	}
	block = block[start:]
	if end := strings.Index(block[1:], "# filter for syscall"); end >= 0 {
		block = block[:end+1]
	}
	return len(regexp.MustCompile(`action ERRNO`).FindAllString(block, -1))
}

func TestBuildLeavesOutOtherByteOrder(t *testing.T) {
	msgs := captureDebug(t)
	other := specs.ArchS390X // big endian
	if isBigEndianHost() {
		other = specs.ArchX86_64
	}
	dump := pfc(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{other},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}},
	})
	if strings.Count(dump, "# filter for arch") != 1 {
		t.Errorf("want the native architecture only:\n%s", dump)
	}
	if len(*msgs) != 1 || !strings.Contains((*msgs)[0], "other byte order") {
		t.Errorf("debug messages %q", *msgs)
	}
}

func isBigEndianHost() bool {
	switch runtime.GOARCH {
	case "s390x", "ppc64", "mips", "mips64":
		return true
	}
	return false
}

func TestBuildAddsArchitectures(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("profile for x86")
	}
	dump := pfc(t, &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActErrno}},
	})
	if n := strings.Count(dump, "# filter for arch"); n != 3 {
		t.Errorf("%d architectures in the filter, want 3:\n%s", n, dump)
	}
}

// The podman-shaped profile builds and compiles to a program the kernel
// would take, without loading it.
func TestPodmanProfileBuilds(t *testing.T) {
	msgs := captureDebug(t)
	s := testutil.LoadSeccompProfile(t, "testdata/podman-default.json")
	if err := Validate(s); err != nil {
		t.Fatal(err)
	}
	reportLeftOut(s, testDebugf(t))
	f, err := buildFilter(s, true)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	insns, err := program(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d BPF instructions; notes: %q", len(insns), *msgs)
	for _, m := range *msgs {
		_, list, ok := strings.Cut(m, "left to the default action: ")
		if !ok {
			continue
		}
		for _, name := range strings.Fields(list) {
			if slices.Contains([]string{"read", "write", "execve", "openat", "getdents64", "clone"}, name) {
				t.Errorf("%s left out: %s", name, m)
			}
		}
	}
}

// Compile builds the binary search, and falls back to the list for a
// profile whose search would be longer than the kernel takes.
func TestCompileSearchFallsBackToList(t *testing.T) {
	t.Parallel()
	podman := testutil.LoadSeccompProfile(t, "testdata/podman-default.json")
	tree, err := compileProgram(podman, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	list, err := compileProgram(podman, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(tree, list) {
		t.Fatal("the binary search and the list compile to the same program")
	}
	f, err := Compile(podman, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.insns, compactDispatch(tree)) {
		t.Errorf("Compile of podman's profile did not give the binary search (%d instructions, the search has %d)", len(f.insns), len(tree))
	}

	// Rules comparing two arguments make about 15 instructions each on
	// three architectures, the search a little more than the list: find
	// the fewest rules whose search no longer fits.
	var names []string
	for _, rule := range podman.Syscalls {
		if rule.Action == specs.ActAllow && len(rule.Args) == 0 {
			names = append(names, rule.Names...)
		}
	}
	profile := func(n int) *specs.LinuxSeccomp {
		s := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32}}
		for i, name := range names[:n] {
			s.Syscalls = append(s.Syscalls, specs.LinuxSyscall{Names: []string{name}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: uint64(i), Op: specs.OpEqualTo}, {Index: 1, Value: uint64(i), Op: specs.OpEqualTo}}})
		}
		return s
	}
	n := sort.Search(len(names)+1, func(n int) bool {
		_, err := compileProgram(profile(n), true, nil)
		return errors.Is(err, errTooLong)
	})
	if n > len(names) {
		t.Skip("the search of every profile tried fits")
	}
	s := profile(n)
	list, err = compileProgram(s, false, nil)
	if err != nil {
		t.Skipf("at %d rules neither fits: %v", n, err)
	}
	if f, err = Compile(s, nil); err != nil {
		t.Fatalf("%d rules: the list fits (%d instructions), Compile failed: %v", n, len(list), err)
	}
	if !slices.Equal(f.insns, compactDispatch(list)) {
		t.Errorf("%d rules: Compile did not give the list", n)
	}
}
