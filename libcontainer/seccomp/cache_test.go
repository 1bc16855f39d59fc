package seccomp

import (
	"encoding/json"
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
	data, _ := json.Marshal(&marked)
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

// A filter crosses to the stage as JSON and comes back the same; a program
// that is no BPF is refused.
func TestFilterJSON(t *testing.T) {
	f, err := Compile(testutil.LoadSeccompProfile(t, "testdata/podman-default.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var back Filter
	if err := json.Unmarshal(data, &back); err != nil || !reflect.DeepEqual(&back, f) {
		t.Fatalf("filter changed through JSON (%v)", err)
	}
	for _, bad := range []string{`{"program":""}`, `{"program":"AAAA"}`, `{"program":12}`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("%s: accepted", bad)
		}
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
