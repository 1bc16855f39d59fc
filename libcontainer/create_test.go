package libcontainer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func TestNsSettings(t *testing.T) {
	s := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: specs.PIDNamespace},
		{Type: specs.MountNamespace},
		{Type: specs.NetworkNamespace, Path: "/run/netns/x"},
		{Type: specs.CgroupNamespace},
	}}}
	env := nsSettings(s)
	want := []string{"_HUSK_NS_NET=/run/netns/x", "_HUSK_CLONEFLAGS=570556416"} // NEWPID|NEWNS|NEWCGROUP
	if !slices.Equal(env, want) {
		t.Errorf("nsSettings = %q, want %q", env, want)
	}
}

func TestJoinSettings(t *testing.T) {
	score := -500
	paths := map[string]string{
		"cpu":     "/sys/fs/cgroup/cpu,cpuacct/c",
		"cpuacct": "/sys/fs/cgroup/cpu,cpuacct/c",
		"memory":  "/sys/fs/cgroup/memory/c",
		"":        "/sys/fs/cgroup/unified/c",
	}
	env := joinSettings(paths, true, &score)
	var v1 []string
	for _, e := range env {
		if dirs, ok := strings.CutPrefix(e, "_HUSK_CGROUP_V1="); ok {
			v1 = strings.Split(dirs, "\n")
		}
	}
	slices.Sort(v1)
	if !slices.Equal(v1, []string{"/sys/fs/cgroup/cpu,cpuacct/c", "/sys/fs/cgroup/memory/c"}) {
		t.Errorf("v1 dirs %q: each comounted dir once, no v2 dir", v1)
	}
	if !slices.Contains(env, "_HUSK_CGROUP_V2=/sys/fs/cgroup/unified/c") || !slices.Contains(env, "_HUSK_OOM_SCORE_ADJ=-500") {
		t.Errorf("env %q lacks the v2 dir or the oom score", env)
	}
	for _, e := range joinSettings(paths, false, nil) {
		if strings.HasPrefix(e, "_HUSK_CGROUP_V2=") || strings.HasPrefix(e, "_HUSK_OOM") {
			t.Errorf("unexpected %q when the parent joins v2 and no oom score is set", e)
		}
	}
}

// The device rules are the spec's: a linux.devices node gets no implicit
// allow rule (runc's dev.bats checks that writing to one fails).
func TestResourcesAddNoDeviceRules(t *testing.T) {
	s := &specs.Spec{Linux: &specs.Linux{
		Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}},
		Devices:   []specs.LinuxDevice{{Path: "/dev/kmsg", Type: "c", Major: 1, Minor: 11}},
	}}
	if r := resources(s); len(r.Devices) != 1 || r.Devices[0].Allow {
		t.Fatalf("device rules %+v, want the spec's deny-all alone", r.Devices)
	}
	if r := resources(&specs.Spec{Linux: &specs.Linux{}}); r == nil {
		t.Fatal("resources of a spec without any = nil, want empty")
	}
}

func TestSubCgroups(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{"memory/c", "memory/c/sub", "cpu/c"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(base, d, "cgroup.procs"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	paths := map[string]string{"memory": filepath.Join(base, "memory/c"), "cpu": filepath.Join(base, "cpu/c")}
	got, err := subCgroups(paths, []string{"memory:sub"})
	if err != nil || got["memory"] != filepath.Join(base, "memory/c/sub") || got["cpu"] != paths["cpu"] {
		t.Fatalf("memory:sub = %v, %v", got, err)
	}
	for v, want := range map[string]string{
		"..":        "bad sub cgroup path",
		"a/../../b": "bad sub cgroup path",
		"nope:/":    "unknown controller",
		"sub":       "no such file", // not below cpu/c
	} {
		if _, err := subCgroups(paths, []string{v}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("subCgroups(%q) = %v, want an error with %q", v, err, want)
		}
	}
}
