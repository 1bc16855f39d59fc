package seccomp

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/internal/testutil"
)

// The second compile of a profile comes from the cache, equal to the first,
// without the profile being decoded again; other bytes are another entry.
func TestCompileCached(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "seccomp")
	p, err := NewProfile(testutil.LoadSeccompProfile(t, "testdata/podman-default.json"))
	if err != nil {
		t.Fatal(err)
	}
	first, err := CompileCached(p, dir, nil)
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
	second, err := CompileCached(slices.Clone(p), dir, nil)
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
	third, err := CompileCached(p, dir, nil)
	if err != nil || !reflect.DeepEqual(third, first) {
		t.Fatalf("a world-writable entry was used (%v)", err)
	}
	if _, err := CompileCached(append(slices.Clone(p), ' '), dir, nil); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Fatalf("cache holds %d entries after two profiles, want 2", len(entries))
	}
}

// A profile is checked when it is compiled, since Load leaves it as JSON:
// one that does not decode or does not pass Validate is refused with its
// field named, and leaves no entry for a later create to trust.
func TestCompileCachedChecksTheProfile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "seccomp")
	for _, c := range []struct{ profile, want string }{
		{`{"defaultAction": "SCMP_ACT_BOGUS"}`, "linux.seccomp.defaultAction"},
		{`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": [1], "action": "SCMP_ACT_ALLOW"}]}`, "linux.seccomp"},
		{`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}`, "listenerPath"},
	} {
		_, err := CompileCached(Profile(c.profile), dir, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one naming %s", c.profile, err, c.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused profiles left %d cache entries", len(entries))
	}
}

// A filter keeps the profile's listener fields, from the cache too, where
// the profile is not read again; a profile without them has none.
func TestFilterListener(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "seccomp")
	for p, want := range map[string]*specs.LinuxSeccomp{
		`{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/a.sock", "listenerMetadata": "m\u00e9", "syscalls": []}`: {ListenerPath: "/run/a.sock", ListenerMetadata: "m\u00e9"},
		`{"defaultAction": "SCMP_ACT_ALLOW", "ListenerPath": "/run/b.sock"}`:                                                {ListenerPath: "/run/b.sock"},
		`{"defaultAction": "SCMP_ACT_ALLOW"}`:                                                                               nil,
	} {
		for _, from := range []string{"a compile", "the cache"} {
			f, err := CompileCached(Profile(p), dir, nil)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if got := f.Listener(); !reflect.DeepEqual(got, want) {
				t.Errorf("%s, from %s: Listener() = %+v, want %+v", p, from, got, want)
			}
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("cache holds %d entries after three profiles, want 3", len(entries))
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
	// Sixteen bytes of header, whole instructions of eight bytes, the
	// listener's two fields.
	allow := []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0xff, 0x7f, 1, 0, 0, 0, 'p', 0, 0, 0, 0}
	if err := back.UnmarshalBinary(allow); err != nil || len(back.insns) != 1 || back.listenerPath != "p" {
		t.Fatalf("a one-instruction filter: %v", err)
	}
	// Where its bytes are not aligned for the kernel's struct, the
	// program is copied.
	odd := append([]byte{0}, allow...)[1:]
	if err := back.UnmarshalBinary(odd); err != nil || len(back.insns) != 1 || back.insns[0].K != 0x7fff0000 {
		t.Fatalf("a filter at an odd address: %v", err)
	}
	with := func(i int, b byte) []byte { c := slices.Clone(allow); c[i] = b; return c }
	tooLong := slices.Clone(allow[:16])
	binary.LittleEndian.PutUint32(tooLong[12:], 8*(bpfMaxInsns+1))
	tooLong = append(append(tooLong, make([]byte, 8*(bpfMaxInsns+1))...), 0, 0, 0, 0, 0, 0, 0, 0)
	for name, bad := range map[string][]byte{
		"empty": nil, "a header alone": allow[:16], "half an instruction": allow[:20],
		"a short header": allow[:12], "notify neither 0 nor 1": with(8, 2), "padding not zero": with(10, 1),
		"no program": with(12, 0), "a program past the end": with(12, 24),
		"a field past the end": with(24, 9), "no metadata": allow[:29], "bytes after": append(slices.Clone(allow), 0),
		"too long": tooLong,
	} {
		if err := back.UnmarshalBinary(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A profile without a flags field gets SPEC_ALLOW, as runc gives it; an
// empty list gets no flag. The two decode alike but for that, so the cache
// must keep them apart. The flags are reported in --debug in runc's words.
func TestSpecAllowWithoutFlags(t *testing.T) {
	if !kernelHasFlag(unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW) {
		t.Skip("this kernel has no SECCOMP_FILTER_FLAG_SPEC_ALLOW")
	}
	dir := filepath.Join(t.TempDir(), "seccomp")
	none := Profile(`{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}`)
	empty := Profile(`{"defaultAction": "SCMP_ACT_ERRNO", "flags": [], "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}`)
	for _, c := range []struct {
		name string
		p    Profile
		want uint
	}{{"no field", none, unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW}, {"empty list", empty, 0}, {"no field, cached", none, unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW}} {
		var logged []string
		f, err := CompileCached(c.p, dir, func(format string, a ...any) { logged = append(logged, fmt.Sprintf(format, a...)) })
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
