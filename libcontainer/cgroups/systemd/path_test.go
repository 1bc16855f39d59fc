package systemd

import (
	"strings"
	"testing"
)

func TestExpandSlice(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"-.slice", "/", ""},
		{"system.slice", "/system.slice", ""},
		{"a-b.slice", "/a.slice/a-b.slice", ""},
		{"a-b-c.slice", "/a.slice/a-b.slice/a-b-c.slice", ""},
		{"user-1000.slice", "/user.slice/user-1000.slice", ""},
		{"machine.slice", "/machine.slice", ""},
		{"system", "", "want NAME.slice"},
		{".slice", "", "want NAME.slice"},
		{"a/b.slice", "", "slashes"},
		{"user.slice/user-1000.slice", "", "slashes"},
		{"-a.slice", "", "dash"},
		{"a-.slice", "", "dash"},
		{"a--b.slice", "", "dash"},
		{"a b.slice", "", "not allowed"},
	} {
		got, err := ExpandSlice(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ExpandSlice(%q): want an error about %q, got %q, %v", c.in, c.err, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ExpandSlice(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestParseCgroupsPath(t *testing.T) {
	for _, c := range []struct {
		path, id            string
		name, slice, cgroup string
		err                 string
		slice2, user        bool
	}{
		{path: "", id: "abc", name: "husk-abc.scope", slice: "system.slice", cgroup: "/system.slice/husk-abc.scope"},
		{path: "", id: "abc", user: true, name: "husk-abc.scope", slice: "user.slice", cgroup: "/user.slice/husk-abc.scope"},
		{path: "user.slice:husk:c1", user: true, name: "husk-c1.scope", slice: "user.slice", cgroup: "/user.slice/husk-c1.scope"},
		{path: "-:husk:c1", user: true, name: "husk-c1.scope", slice: "-.slice", cgroup: "/husk-c1.scope"},
		{path: "system.slice:husk-it:c1", name: "husk-it-c1.scope", slice: "system.slice", cgroup: "/system.slice/husk-it-c1.scope"},
		{path: ":docker:0123", name: "docker-0123.scope", slice: "system.slice", cgroup: "/system.slice/docker-0123.scope"},
		{path: "machine-pods.slice:crio:x", name: "crio-x.scope", slice: "machine-pods.slice", cgroup: "/machine.slice/machine-pods.slice/crio-x.scope"},
		{path: "-:p:x", name: "p-x.scope", slice: "-.slice", cgroup: "/p-x.scope"},
		{path: "system.slice::x", name: "x.scope", slice: "system.slice", cgroup: "/system.slice/x.scope"},
		{path: "system.slice::x.scope", name: "x.scope", slice: "system.slice", cgroup: "/system.slice/x.scope"},
		{path: "system.slice:ignored:k8s-pod1.slice", name: "k8s-pod1.slice", slice: "system.slice", cgroup: "/k8s.slice/k8s-pod1.slice", slice2: true},
		// '+' is valid in container ids but not in unit names.
		{path: ":husk:a+b", name: `husk-a\x2bb.scope`, slice: "system.slice", cgroup: `/system.slice/husk-a\x2bb.scope`},
		{path: "/husk/c1", err: `expects "slice:prefix:name"`},
		{path: "a:b", err: `expects "slice:prefix:name"`},
		{path: "a:b:c:d", err: `expects "slice:prefix:name"`},
		{path: "system:p:x", err: "want NAME.slice"},
		{path: "user.slice/user-1000.slice:p:x", err: "slashes"},
		{path: "system.slice:p:", err: "name part is empty"},
		{path: "system.slice:p:-.slice", err: "root slice"},
		{path: "::" + strings.Repeat("x", 260), err: "longer than"},
	} {
		u, err := ParseCgroupsPath(c.path, c.id, c.user)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseCgroupsPath(%q): want an error about %q, got %+v, %v", c.path, c.err, u, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseCgroupsPath(%q): %v", c.path, err)
			continue
		}
		if u.Name != c.name || u.Slice != c.slice || u.Path != c.cgroup || u.IsSlice() != c.slice2 {
			t.Errorf("ParseCgroupsPath(%q) = %+v (slice unit %v); want name %q slice %q path %q (slice unit %v)",
				c.path, u, u.IsSlice(), c.name, c.slice, c.cgroup, c.slice2)
		}
	}
}

// The unit objects go-systemd addresses must be named as sd-bus names
// them, for the unit names husk makes.
func TestUnitObjectPath(t *testing.T) {
	for in, want := range map[string]string{
		"husk-it-c1.scope": "/org/freedesktop/systemd1/unit/husk_2dit_2dc1_2escope",
		"system.slice":     "/org/freedesktop/systemd1/unit/system_2eslice",
		"1abc.scope":       "/org/freedesktop/systemd1/unit/_31abc_2escope",
		`a\x2bb.scope`:     "/org/freedesktop/systemd1/unit/a_5cx2bb_2escope",
		"":                 "/org/freedesktop/systemd1/unit/_",
	} {
		if got := string(unitObjectPath(in)); got != want {
			t.Errorf("unitObjectPath(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestLoad(t *testing.T) {
	paths := map[string]string{"": "/sys/fs/cgroup/system.slice/x.scope"}
	m := Load("x.scope", false, paths)
	if m.UnitName() != "x.scope" || m.Path("") != paths[""] {
		t.Fatalf("Load = %+v", m)
	}
	if got := m.Paths(); got[""] != paths[""] || len(got) != 1 {
		t.Fatalf("Load(paths).Paths() = %v, want %v", got, paths)
	}
}
