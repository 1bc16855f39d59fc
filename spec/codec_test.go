package spec

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/spec/internal/codecgen"
)

// TestCodecGenUpToDate: codec_gen.go is what codecgen writes for the
// runtime-spec version in go.mod (go generate ./spec).
func TestCodecGenUpToDate(t *testing.T) {
	want, err := codecgen.Source()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("codec_gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("codec_gen.go is stale: run go generate ./spec")
	}
}

// sameDecode checks the generated decoder against encoding/json on data:
// where it takes a config, it must give what encoding/json gives.
func sameDecode(t testing.TB, data []byte) (fast bool) {
	t.Helper()
	s, raw, ok := fastUnmarshal(data)
	if !ok {
		return false
	}
	want, wantRaw, err := reflectUnmarshal(data)
	if err != nil {
		t.Fatalf("the fast decoder took a config encoding/json refuses (%v):\n%s", err, data)
	}
	if !reflect.DeepEqual(s, want) {
		got, _ := json.Marshal(s)
		exp, _ := json.Marshal(want)
		t.Fatalf("decoded differently:\nfast %s\njson %s\nfrom %s", got, exp, data)
	}
	if !bytes.Equal(raw, wantRaw) {
		t.Fatalf("linux.seccomp: fast %q, json %q", raw, wantRaw)
	}
	return true
}

// filled sets every field v reaches to a value that is not its zero, with
// two elements in each slice and map, but the members for other platforms
// (left to encoding/json) and interfaces.
func filled(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Pointer:
		if depth > 12 {
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		filled(v.Elem(), depth+1)
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			switch v.Type() {
			case reflect.TypeOf(specs.Spec{}):
				if f.Name == "Solaris" || f.Name == "Windows" || f.Name == "VM" || f.Name == "ZOS" || f.Name == "FreeBSD" {
					continue
				}
			}
			filled(v.Field(i), depth+1)
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		filled(s.Index(0), depth+1)
		filled(s.Index(1), depth+1)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for _, k := range []string{"a", "b"} {
			e := reflect.New(v.Type().Elem()).Elem()
			filled(e, depth+1)
			m.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), e)
		}
		v.Set(m)
	case reflect.String:
		v.SetString("x\u00e9\"\\<")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(-7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	}
}

// TestFastDecode: configs with every member the generated decoder knows,
// and husk's own, decode as encoding/json decodes them, without it.
func TestFastDecode(t *testing.T) {
	var all specs.Spec
	filled(reflect.ValueOf(&all).Elem(), 0)
	full, err := json.MarshalIndent(&all, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*specs.Spec{"every member": &all, "husk spec": Default(false), "husk spec --rootless": Default(true)} {
		data, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range [][]byte{data, full} {
			if !sameDecode(t, d) && fastCodec {
				t.Errorf("%s: the fast decoder left the config to encoding/json", name)
			}
		}
	}
	edits := map[string]string{
		"nulls":            `{"ociVersion": null, "process": {"terminal": null, "user": null, "args": null, "rlimits": [null], "capabilities": null}, "root": null, "mounts": null, "linux": {"resources": {"memory": {"limit": null}}, "seccomp": null, "sysctl": null}}`,
		"empty":            `{"process": {"args": [], "env": []}, "mounts": [], "annotations": {}, "linux": {}}`,
		"unknown members":  `{"x-unknown": [1, {"a": null}], "process": {"args": ["sh"], "bogus": true}, "linux": {"extra": {}}}`,
		"seccomp verbatim": `{"linux": {"seccomp": {"defaultAction": "SCMP_ACT_ERRNO",  "syscalls": [ {"names": ["read"], "action": "SCMP_ACT_ALLOW"} ]}}}`,
		"escapes":          `{"hostname": "a\u00e9\n\"b", "annotations": {"k\u0041": "\ud83d\ude00"}}`,
		"limits":           `{"process": {"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 0}], "oomScoreAdj": -1000}, "linux": {"resources": {"memory": {"limit": -1, "swap": 9223372036854775807}}}}`,
	}
	for name, d := range edits {
		if !sameDecode(t, []byte(d)) && fastCodec {
			t.Errorf("%s: left to encoding/json", name)
		}
	}
	// What the generated decoder must leave to encoding/json, whose
	// result or error stands.
	left := map[string]string{
		"name in other case":       `{"Hostname": "a"}`,
		"name with a delimiter":    `{"oci_version": "1"}`,
		"duplicate member":         `{"hostname": "a", "hostname": "b"}`,
		"fraction into an int":     `{"process": {"oomScoreAdj": 1.5}}`,
		"exponent":                 `{"process": {"oomScoreAdj": 1e2}}`,
		"out of range":             `{"process": {"user": {"uid": 4294967296}}}`,
		"negative into unsigned":   `{"process": {"user": {"uid": -1}}}`,
		"string into a number":     `{"process": {"user": {"uid": "0"}}}`,
		"number into a string":     `{"hostname": 1}`,
		"object into an array":     `{"mounts": {}}`,
		"another platform":         `{"windows": {}}`,
		"top-level array":          `[]`,
		"top-level null":           `null`,
		"trailing data":            `{} {}`,
		"syntax error":             `{"hostname": "a",}`,
		"invalid UTF-8":            "{\"hostname\": \"\xff\"}",
		"unknown member with case": `{"process": {"ARGS": ["sh"]}}`,
	}
	for name, d := range left {
		if _, _, ok := fastUnmarshal([]byte(d)); ok {
			t.Errorf("%s: the fast decoder took %s", name, d)
		}
	}
}

// sameEncode checks the generated encoder against encoding/json: where it
// takes a spec, it must give the same bytes.
func sameEncode(t testing.TB, s *specs.Spec, p []byte) (fast bool) {
	t.Helper()
	got, ok := fastMarshal(s, p)
	if !ok {
		return false
	}
	want, err := reflectMarshal(s, p)
	if err != nil {
		t.Fatalf("the fast encoder took a spec encoding/json refuses: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoded differently:\nfast %s\njson %s", got, want)
	}
	return true
}

// TestFastEncode: specs with every member the generated encoder knows,
// strings with each character encoding/json escapes, and husk's own
// config encode as encoding/json encodes them.
func TestFastEncode(t *testing.T) {
	var all specs.Spec
	filled(reflect.ValueOf(&all).Elem(), 0)
	var ascii []byte
	for c := range 128 {
		ascii = append(ascii, byte(c))
	}
	odd := []string{string(ascii), "\xff\xfe", "a\xc3", "\u2028\u2029\ufffd", "<&>", "\u00e9\U0001f600", "\xed\xa0\x80", ""}
	all.Hostname = odd[0]
	all.Process.Args = odd
	all.Annotations = map[string]string{}
	for i, s := range odd {
		all.Annotations[s] = odd[len(odd)-1-i]
	}
	profile := []byte(`{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}`)
	noLinux := Default(false)
	noLinux.Linux = nil
	empty := &specs.Spec{Process: &specs.Process{}, Linux: &specs.Linux{Resources: &specs.LinuxResources{}}, Mounts: []specs.Mount{}}
	for name, s := range map[string]*specs.Spec{"every member": &all, "husk spec": Default(false), "husk spec --rootless": Default(true), "no linux": noLinux, "empty": empty, "zero": {}} {
		for _, p := range [][]byte{nil, profile} {
			if !sameEncode(t, s, p) && fastCodec {
				t.Errorf("%s: the fast encoder left the spec to encoding/json", name)
			}
		}
	}
	other := Default(false)
	other.Windows = &specs.Windows{}
	if _, ok := fastMarshal(other, nil); ok {
		t.Error("the fast encoder took a spec with windows members")
	}
}

// TestCanonicalProfile: a profile's JSON is kept in the form json.Marshal
// gives it as a raw value.
func TestCanonicalProfile(t *testing.T) {
	podman, err := os.ReadFile("../libcontainer/seccomp/testdata/podman-default.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, data := range []string{
		string(podman),
		` { "a" : "\u0041\/\u00e9 <\u2028> \ud83d\ude00 ` + "\u2028\u2029 <&> \xff \xe2\x80 \u00e9" + `" , "b":[ 1.50, -0, 1E3 ], "\u003c":true, "c\\":"\\\"<"} `,
		`"\ud800"`, " [\t\r\n] ", `null`, `{"a":"\"<"}`, `["x","\\", 1]`, `["\\\"",` + "\"\u2029\"]", `{"a":"b"}` + "\n",
	} {
		checkCanonical(t, []byte(data))
	}
	// A profile that json.Marshal wrote, as engines write config.json, is
	// kept as it is, not copied.
	compact, err := json.Marshal(json.RawMessage(podman))
	if err != nil {
		t.Fatal(err)
	}
	if got := canonicalProfile(compact); &got[0] != &compact[0] || len(got) != len(compact) {
		t.Error("a profile in json.Marshal's form was copied")
	}
}

func checkCanonical(t testing.TB, data []byte) {
	t.Helper()
	want, err := json.Marshal(json.RawMessage(data))
	if err != nil {
		return
	}
	if got := canonicalProfile(data); !bytes.Equal(got, want) {
		t.Fatalf("canonicalProfile(%q) = %q, json.Marshal %q", data, got, want)
	}
}
