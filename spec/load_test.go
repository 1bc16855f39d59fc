package spec

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// writeBundle makes a bundle directory holding config (and, if asked, an
// empty rootfs directory) and returns its path.
func writeBundle(t *testing.T, config string, rootfs bool) string {
	t.Helper()
	dir := t.TempDir()
	if rootfs {
		if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigName), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// minimalConfig is the smallest config.json that passes Validate, with
// root.path left to the caller.
func minimalConfig(root string) string {
	return `{
	"ociVersion": "1.0.2",
	"root": {"path": "` + root + `"},
	"process": {"args": ["sh"], "cwd": "/"},
	"mounts": [{"destination": "proc", "type": "proc", "source": "proc"}],
	"linux": {"namespaces": [{"type": "mount"}]}
}`
}

func TestLoadResolvesRelativeRoot(t *testing.T) {
	bundle := writeBundle(t, minimalConfig("./rootfs/"), true)
	s, _, err := Load(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(bundle, "rootfs"); s.Root.Path != want {
		t.Errorf("root.path = %q, want %q", s.Root.Path, want)
	}
}

func TestLoadResolvesRootAgainstRelativeBundle(t *testing.T) {
	bundle := writeBundle(t, minimalConfig("rootfs"), true)
	t.Chdir(filepath.Dir(bundle))
	s, _, err := Load(filepath.Base(bundle))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(bundle, "rootfs"); s.Root.Path != want {
		t.Errorf("root.path = %q, want %q", s.Root.Path, want)
	}
}

func TestLoadKeepsAbsoluteRoot(t *testing.T) {
	elsewhere := t.TempDir()
	bundle := writeBundle(t, minimalConfig(elsewhere+"/./"), false)
	s, _, err := Load(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if s.Root.Path != elsewhere {
		t.Errorf("root.path = %q, want %q", s.Root.Path, elsewhere)
	}
}

func TestLoadRootsRelativeMountDestinations(t *testing.T) {
	s, _, err := Load(writeBundle(t, minimalConfig("rootfs"), true))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Mounts[0].Destination; got != "/proc" {
		t.Errorf("mounts[0].destination = %q, want /proc", got)
	}
}

func TestLoadMissingConfig(t *testing.T) {
	dir := t.TempDir()
	_, _, err := Load(dir)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("error = %v, want not-exist", err)
	}
	want := "open " + filepath.Join(dir, ConfigName) + ": no such file or directory"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestLoadMalformedJSON(t *testing.T) {
	bundle := writeBundle(t, "{\n  \"ociVersion\": \"1.0.0\",\n  \"root\": ,\n}", true)
	_, _, err := Load(bundle)
	if err == nil {
		t.Fatal("want an error")
	}
	var syntax *json.SyntaxError
	if !errors.As(err, &syntax) {
		t.Errorf("error %v does not unwrap to a json.SyntaxError", err)
	}
	msg := err.Error()
	prefix := "parse " + filepath.Join(bundle, ConfigName) + ": line 3, column 11: "
	if !strings.HasPrefix(msg, prefix) || strings.Contains(msg, "\n") {
		t.Errorf("error = %q, want one line starting %q", msg, prefix)
	}
}

func TestLoadEmptyFile(t *testing.T) {
	bundle := writeBundle(t, "", true)
	_, _, err := Load(bundle)
	if err == nil || !strings.HasPrefix(err.Error(), "parse "+filepath.Join(bundle, ConfigName)+": ") {
		t.Errorf("error = %v, want a parse error naming the file", err)
	}
}

var arrayIndex = regexp.MustCompile(`\.[0-9]+\b`)

func TestLoadWrongTypeNamesField(t *testing.T) {
	for _, tc := range []struct {
		config string
		field  string
	}{
		{`{"process": {"args": "sh"}}`, "process.args"},
		{`{"process": {"user": {"uid": "root"}}}`, "process.user.uid"},
		{`{"linux": {"uidMappings": [{"hostID": -1}]}}`, "linux.uidMappings.hostID"},
		{`{"mounts": [{"options": [1]}]}`, "mounts.options"},
		{`[]`, "top level"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			bundle := writeBundle(t, tc.config, true)
			_, _, err := Load(bundle)
			var typ *json.UnmarshalTypeError
			if !errors.As(err, &typ) {
				t.Fatalf("error = %v, want a json.UnmarshalTypeError", err)
			}
			want := "parse " + filepath.Join(bundle, ConfigName) + ": " + tc.field + ": "
			// The v2 engine (GOEXPERIMENT=jsonv2, which make sets) also
			// names the array element: linux.uidMappings.0.hostID.
			if got := arrayIndex.ReplaceAllString(err.Error(), ""); !strings.HasPrefix(got, want) {
				t.Errorf("error = %q, want prefix %q", err, want)
			}
		})
	}
}

func TestLoadValidates(t *testing.T) {
	bundle := writeBundle(t, `{"ociVersion": "1.0.0", "root": {"path": "rootfs"}, "process": {"cwd": "/"}, "linux": {}}`, true)
	_, _, err := Load(bundle)
	if err == nil || err.Error() != "config.json: process.args: must not be empty" {
		t.Errorf("error = %v, want the missing args reported", err)
	}
}

func TestLoadMissingRootfs(t *testing.T) {
	bundle := writeBundle(t, minimalConfig("rootfs"), false)
	_, _, err := Load(bundle)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "root.path") ||
		!strings.Contains(err.Error(), filepath.Join(bundle, "rootfs")) {
		t.Errorf("error = %v, want root.path and the missing path named", err)
	}
}

func TestPosition(t *testing.T) {
	data := []byte("ab\ncd\n\nef")
	for _, tc := range []struct {
		offset    int64
		line, col int
	}{
		{0, 1, 1}, {1, 1, 1}, {2, 1, 2}, {3, 1, 3}, {4, 2, 1}, {8, 4, 1}, {9, 4, 2}, {100, 4, 2},
	} {
		if line, col := position(data, tc.offset); line != tc.line || col != tc.col {
			t.Errorf("position(%d) = %d:%d, want %d:%d", tc.offset, line, col, tc.line, tc.col)
		}
	}
}

// linux.seccomp comes back as JSON beside the spec, in the form a trip
// through state.json keeps (the seccomp cache is keyed by its bytes), and
// is not checked here: an unknown action is create's error
// (seccomp.CompileCached).
func TestLoadKeepsSeccompAsJSON(t *testing.T) {
	config := `{"ociVersion": "1.0.0", "root": {"path": "rootfs"}, "process": {"args": ["sh"], "cwd": "/"},
	"linux": {"namespaces": [{"type": "mount"}],
		"seccomp": {
			"defaultAction": "SCMP_ACT_BOGUS",
			"syscalls": [{"names": ["a<b"], "action": "SCMP_ACT_ALLOW"}]
		}}}`
	s, profile, err := Load(writeBundle(t, config, true))
	if err != nil {
		t.Fatal(err)
	}
	if s.Linux == nil || len(s.Linux.Namespaces) != 1 || s.Linux.Seccomp != nil {
		t.Fatalf("linux = %+v, want its namespace and no decoded seccomp", s.Linux)
	}
	want := `{"defaultAction":"SCMP_ACT_BOGUS","syscalls":[{"names":["a\u003cb"],"action":"SCMP_ACT_ALLOW"}]}`
	if string(profile) != want {
		t.Fatalf("profile = %s, want %s", profile, want)
	}
	saved, err := Marshal(s, profile)
	if err != nil {
		t.Fatal(err)
	}
	again, back, err := Unmarshal(saved)
	if err != nil || string(back) != want || len(again.Linux.Namespaces) != 1 {
		t.Fatalf("through Marshal and Unmarshal: %s, %+v, %v", back, again.Linux, err)
	}
	for _, none := range []string{`"seccomp": null`, `"namespaces": []`} {
		config := `{"ociVersion": "1.0.0", "root": {"path": "rootfs"}, "process": {"args": ["sh"], "cwd": "/"}, "linux": {` + none + `}}`
		if _, profile, err := Load(writeBundle(t, config, true)); err != nil || profile != nil {
			t.Errorf("%s: profile %q, %v; want none", none, profile, err)
		}
	}
}

// A Go caller's decoded linux.seccomp is taken out of the spec as JSON,
// which Marshal writes as it writes a loaded profile; given twice, it is
// refused.
func TestSplitProfile(t *testing.T) {
	s := &specs.Spec{Version: "1.3.0", Linux: &specs.Linux{
		Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}},
		Seccomp:    &specs.LinuxSeccomp{DefaultAction: specs.ActErrno},
	}}
	rest, p, err := SplitProfile(s, nil)
	if err != nil || rest.Linux.Seccomp != nil || len(rest.Linux.Namespaces) != 1 || s.Linux.Seccomp == nil {
		t.Fatalf("SplitProfile: %+v, %v; the caller's spec: %+v", rest.Linux, err, s.Linux)
	}
	if string(p) != `{"defaultAction":"SCMP_ACT_ERRNO"}` {
		t.Errorf("profile %s", p)
	}
	for _, in := range []struct {
		s *specs.Spec
		p []byte
	}{{s, nil}, {rest, p}} {
		data, err := Marshal(in.s, in.p)
		if err != nil {
			t.Fatal(err)
		}
		back, bp, err := Unmarshal(data)
		if err != nil || string(bp) != string(p) || len(back.Linux.Namespaces) != 1 {
			t.Errorf("through Marshal and Unmarshal: %s, %+v, %v", bp, back.Linux, err)
		}
	}
	if _, _, err := SplitProfile(s, p); err == nil {
		t.Error("a profile in the spec and beside it was accepted")
	}
}
