package stage

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

func encode(set Settings) []string {
	return set.encode(func(*os.File) int { return 9 })
}

func TestNamespaceSettings(t *testing.T) {
	s := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: specs.PIDNamespace},
		{Type: specs.MountNamespace},
		{Type: specs.NetworkNamespace, Path: "/run/netns/x"},
		{Type: specs.MountNamespace, Path: "/proc/1/ns/mnt"},
		{Type: specs.CgroupNamespace},
	}}}
	env := encode(NamespaceSettings(s))
	for _, want := range []string{"_HUSK_NS_NET=/run/netns/x", "_HUSK_NS_MNT=/proc/1/ns/mnt", "_HUSK_CLONEFLAGS=570556416"} { // NEWPID|NEWNS|NEWCGROUP
		if !slices.Contains(env, want) {
			t.Errorf("settings %q lack %q", env, want)
		}
	}
}

func TestJoinCgroups(t *testing.T) {
	score := -500
	paths := map[string]string{
		"cpu":     "/sys/fs/cgroup/cpu,cpuacct/c",
		"cpuacct": "/sys/fs/cgroup/cpu,cpuacct/c",
		"memory":  "/sys/fs/cgroup/memory/c",
		"":        "/sys/fs/cgroup/unified/c",
	}
	set := Settings{OOMScoreAdj: &score}
	set.JoinCgroups(paths, true)
	env := encode(set)
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
		t.Errorf("settings %q lack the v2 dir or the oom score", env)
	}
	set = Settings{}
	set.JoinCgroups(paths, false)
	for _, e := range encode(set) {
		if strings.HasPrefix(e, "_HUSK_CGROUP_V2=") || strings.HasPrefix(e, "_HUSK_OOM") {
			t.Errorf("unexpected %q when the parent joins v2 and no oom score is set", e)
		}
	}
}

// The preamble (nsenter.c, execproc.c, execcmd.c) and this package must name the same
// settings: a name spelt differently on one side is a setting silently
// ignored.
func TestSettingNamesMatchPreamble(t *testing.T) {
	files, err := filepath.Glob("../nsenter/*.c")
	if err != nil || len(files) < 2 {
		t.Fatalf("the preamble's sources: %v %v", files, err)
	}
	inC := map[string]bool{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`"(_HUSK_[A-Z0-9_]+)"`).FindAllStringSubmatch(string(src), -1) {
			inC[m[1]] = true
		}
	}
	set := Settings{
		CloneFlags:    1,
		JoinPaths:     map[specs.LinuxNamespaceType]string{},
		TimeOffsets:   map[string]specs.LinuxTimeOffset{"monotonic": {}},
		JoinPidfd:     os.Stdin,
		CgroupV1:      []string{"/a"},
		CgroupV2:      "/b",
		OOMScoreAdj:   new(0),
		Setup:         true,
		SetupDumpable: true,
	}
	for _, t := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.NetworkNamespace, specs.MountNamespace, specs.IPCNamespace,
		specs.UTSNamespace, specs.UserNamespace, specs.CgroupNamespace, specs.TimeNamespace} {
		set.JoinPaths[t] = "/x"
	}
	umask := uint32(0o22)
	cfg := &Config{
		Mode: ModeExec,
		Spec: &specs.Spec{Linux: &specs.Linux{}},
		Process: &specs.Process{
			Args:            []string{"true"},
			User:            specs.User{Umask: &umask, AdditionalGids: []uint32{1}},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1, Hard: 1}},
			Capabilities:    &specs.LinuxCapabilities{Ambient: []string{"CAP_CHOWN"}},
			NoNewPrivileges: true,
			ApparmorProfile: "p",
		},
		Seccomp: compiled(t, specs.ActErrno),
	}
	if !direct(cfg) {
		t.Fatal("a plain exec is not set up by the preamble")
	}
	if set.Exec, _, err = directSettings(cfg); err != nil {
		t.Fatal(err)
	}
	// A C init's own settings, with every optional one.
	o := &Opts{rootfsInit: os.Stdout, internal: []*os.File{os.Stdout}}
	initCfg := &Config{ID: "x", Spec: &specs.Spec{Linux: &specs.Linux{RootfsPropagation: "shared"}}}
	set.Exec = append(set.Exec, o.initSettings(initCfg)...)
	inGo := map[string]bool{envSyncFD: true, envNFDs: true, SavedBinary: true, SavedFreezerV1: true, SavedFreezerV2: true, SavedProcess: true, SavedJoin: true, SavedSeccomp: true}
	for _, kv := range encode(set) {
		k, _, _ := strings.Cut(kv, "=")
		inGo[k] = true
	}
	for k := range inGo {
		if !inC[k] {
			t.Errorf("husk sends %s, which the preamble never reads", k)
		}
	}
	for k := range inC {
		if !inGo[k] {
			t.Errorf("the preamble reads %s, which husk never sends", k)
		}
	}
}
