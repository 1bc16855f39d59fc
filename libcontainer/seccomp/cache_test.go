package seccomp

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/internal/testutil"
)

// The second compile of a profile comes from the cache, equal to the first;
// the listener's path does not change the key, the profile does.
func TestCompileCached(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "seccomp")
	s := testutil.LoadSeccompProfile(t, "testdata/podman-default.json")
	first, err := CompileCached(s, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("cache holds %d entries after one compile, want 1", len(entries))
	}
	path := filepath.Join(dir, entries[0].Name())
	if fi, _ := os.Stat(path); fi.Mode().Perm()&0o022 != 0 {
		t.Errorf("cache entry mode %v: others may write it", fi.Mode())
	}
	// A cached entry is what is read: mark it to tell.
	marked := *first
	marked.flags |= 1 << 20
	data, _ := marked.AppendBinary(nil)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	listener := *s
	listener.ListenerPath = "/run/agent.sock"
	second, err := CompileCached(&listener, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(second, &marked) {
		t.Fatal("the second compile of the same profile did not come from the cache")
	}
	// An entry others may write is not trusted.
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	third, err := CompileCached(s, dir, nil)
	if err != nil || !reflect.DeepEqual(third, first) {
		t.Fatalf("a world-writable entry was used (%v)", err)
	}
	other := *s
	other.DefaultErrnoRet = nil
	other.Syscalls = other.Syscalls[1:]
	if _, err := CompileCached(&other, dir, nil); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Fatalf("cache holds %d entries after two profiles, want 2", len(entries))
	}
}

// A filter crosses to the stage (and to the cache) in its binary form and
// comes back the same; bytes that are no filter are refused.
func TestFilterBinary(t *testing.T) {
	f, err := Compile(testutil.LoadSeccompProfile(t, "testdata/podman-default.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := f.AppendBinary([]byte("before"))
	if err != nil || string(data[:6]) != "before" {
		t.Fatalf("AppendBinary did not append (%v)", err)
	}
	var back Filter
	if err := back.UnmarshalBinary(data[6:]); err != nil || !reflect.DeepEqual(&back, f) {
		t.Fatalf("filter changed through its binary form (%v)", err)
	}
	// Nine bytes of header, then whole instructions of eight bytes.
	allow := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0xff, 0x7f}
	if err := back.UnmarshalBinary(allow); err != nil || len(back.insns) != 1 {
		t.Fatalf("a one-instruction filter: %v", err)
	}
	notifyByte2 := slices.Clone(allow)
	notifyByte2[8] = 2
	for name, bad := range map[string][]byte{
		"empty": nil, "a header alone": allow[:9], "half an instruction": allow[:13],
		"a short header": allow[:8], "notify neither 0 nor 1": notifyByte2,
		"too long": append(slices.Clone(allow[:9]), make([]byte, 8*(bpfMaxInsns+1))...),
	} {
		if err := back.UnmarshalBinary(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Two profiles that differ in any field the program depends on get two
// cache keys; the listener's path and metadata, which go to the agent,
// change nothing. A field the runtime-spec adds to a profile fails the
// test until writeProfile hashes it (or it is listed as left out).
func TestProfileKeyCoversEveryField(t *testing.T) {
	hashed := map[reflect.Type][]string{
		reflect.TypeFor[specs.LinuxSeccomp]():    {"DefaultAction", "DefaultErrnoRet", "Architectures", "Flags", "Syscalls"},
		reflect.TypeFor[specs.LinuxSyscall]():    {"Names", "Action", "ErrnoRet", "Args"},
		reflect.TypeFor[specs.LinuxSeccompArg](): {"Index", "Value", "ValueTwo", "Op"},
	}
	leftOut := []string{"ListenerPath", "ListenerMetadata"}
	for typ, fields := range hashed {
		for f := range typ.Fields() {
			if !slices.Contains(fields, f.Name) && !slices.Contains(leftOut, f.Name) {
				t.Errorf("%v.%s is not in the cache key", typ, f.Name)
			}
		}
	}
	errno := uint(1)
	base := func() *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{
			DefaultAction: specs.ActErrno,
			Architectures: []specs.Arch{specs.ArchX86_64},
			Syscalls: []specs.LinuxSyscall{{
				Names:  []string{"read", "write"},
				Action: specs.ActAllow,
				Args:   []specs.LinuxSeccompArg{{Index: 1, Value: 2, ValueTwo: 3, Op: specs.OpEqualTo}},
			}},
		}
	}
	key := func(s *specs.LinuxSeccomp) string {
		k, err := cacheKey(s)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	want := key(base())
	for name, edit := range map[string]func(*specs.LinuxSeccomp){
		"listenerPath":     func(s *specs.LinuxSeccomp) { s.ListenerPath = "/run/agent.sock" },
		"listenerMetadata": func(s *specs.LinuxSeccomp) { s.ListenerMetadata = "m" },
	} {
		s := base()
		edit(s)
		if key(s) != want {
			t.Errorf("%s changed the key", name)
		}
	}
	seen := map[string]string{want: "the base profile"}
	for name, edit := range map[string]func(*specs.LinuxSeccomp){
		"defaultAction":    func(s *specs.LinuxSeccomp) { s.DefaultAction = specs.ActKill },
		"defaultErrnoRet":  func(s *specs.LinuxSeccomp) { s.DefaultErrnoRet = &errno },
		"architectures":    func(s *specs.LinuxSeccomp) { s.Architectures = append(s.Architectures, specs.ArchX86) },
		"no architectures": func(s *specs.LinuxSeccomp) { s.Architectures = nil },
		"empty flags":      func(s *specs.LinuxSeccomp) { s.Flags = []specs.LinuxSeccompFlag{} },
		"flags":            func(s *specs.LinuxSeccomp) { s.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog} },
		"no syscalls":      func(s *specs.LinuxSeccomp) { s.Syscalls = nil },
		"names":            func(s *specs.LinuxSeccomp) { s.Syscalls[0].Names = []string{"readwrite"} },
		"names split":      func(s *specs.LinuxSeccomp) { s.Syscalls[0].Names = []string{"rea", "dwrite"} },
		"action":           func(s *specs.LinuxSeccomp) { s.Syscalls[0].Action = specs.ActLog },
		"errnoRet":         func(s *specs.LinuxSeccomp) { s.Syscalls[0].ErrnoRet = &errno },
		"no args":          func(s *specs.LinuxSeccomp) { s.Syscalls[0].Args = nil },
		"index":            func(s *specs.LinuxSeccomp) { s.Syscalls[0].Args[0].Index = 2 },
		"value":            func(s *specs.LinuxSeccomp) { s.Syscalls[0].Args[0].Value = 3 },
		"valueTwo":         func(s *specs.LinuxSeccomp) { s.Syscalls[0].Args[0].ValueTwo = 2 },
		"op":               func(s *specs.LinuxSeccomp) { s.Syscalls[0].Args[0].Op = specs.OpNotEqual },
	} {
		s := base()
		edit(s)
		k := key(s)
		if other, ok := seen[k]; ok {
			t.Errorf("%s: the same key as %q", name, other)
		}
		seen[k] = name
	}
}

// A profile without a flags field gets SPEC_ALLOW, as runc gives it; an
// empty list gets no flag. The two marshal alike, so the cache must keep
// them apart. The flags are reported in --debug in runc's words.
func TestSpecAllowWithoutFlags(t *testing.T) {
	if !kernelHasFlag(unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW) {
		t.Skip("this kernel has no SECCOMP_FILTER_FLAG_SPEC_ALLOW")
	}
	dir := filepath.Join(t.TempDir(), "seccomp")
	none := testutil.LoadSeccompProfile(t, "testdata/podman-default.json")
	none.Flags = nil
	empty := *none
	empty.Flags = []specs.LinuxSeccompFlag{}
	for _, c := range []struct {
		name string
		s    *specs.LinuxSeccomp
		want uint
	}{{"no field", none, unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW}, {"empty list", &empty, 0}, {"no field, cached", none, unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW}} {
		var logged []string
		f, err := CompileCached(c.s, dir, func(format string, a ...any) { logged = append(logged, fmt.Sprintf(format, a...)) })
		if err != nil {
			t.Fatal(err)
		}
		if f.flags != c.want {
			t.Errorf("%s: flags %#x, want %#x", c.name, f.flags, c.want)
		}
		if want := fmt.Sprintf("seccomp filter flags: %d", c.want); !slices.Contains(logged, want) {
			t.Errorf("%s: debug log %q has no %q", c.name, logged, want)
		}
	}
}
