package stage

import (
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/libcontainer/seccomp"
)

// Which exec processes the preamble sets up alone: what needs Go's side
// (a terminal, a name lookup, LSM labels, process attributes, a seccomp
// agent, --debug, the init) takes the Go stage.
func TestDirect(t *testing.T) {
	notify := compiled(t, specs.ActNotify)
	for _, c := range []struct {
		name string
		edit func(*Config)
		want bool
	}{
		{"a plain exec", func(*Config) {}, true},
		{"the init", func(c *Config) { c.Mode = ModeInit }, false},
		{"--debug", func(c *Config) { c.Debug = true }, false},
		{"a terminal", func(c *Config) { c.Process.Terminal = true }, false},
		{"a user name", func(c *Config) { c.User = "test" }, false},
		{"an AppArmor profile", func(c *Config) { c.Process.ApparmorProfile = "p" }, true},
		{"an SELinux label", func(c *Config) { c.Process.SelinuxLabel = "l" }, false},
		{"a scheduler", func(c *Config) { c.Process.Scheduler = &specs.Scheduler{} }, false},
		{"an I/O priority", func(c *Config) { c.Process.IOPriority = &specs.LinuxIOPriority{} }, false},
		{"an exec CPU affinity", func(c *Config) { c.Process.ExecCPUAffinity = &specs.CPUAffinity{} }, false},
		{"a personality", func(c *Config) { c.Spec.Linux.Personality = &specs.LinuxPersonality{} }, false},
		{"a memory policy", func(c *Config) { c.Spec.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{} }, false},
		{"a filter that notifies", func(c *Config) { c.Seccomp = notify }, false},
		{"uid -1", func(c *Config) { c.Process.User.UID = math.MaxUint32 }, false},
		{"an additional gid -1", func(c *Config) { c.Process.User.AdditionalGids = []uint32{math.MaxUint32} }, false},
		{"a NUL in an argument", func(c *Config) { c.Process.Args = []string{"a\x00b"} }, false},
		{"a NUL in the environment", func(c *Config) { c.Process.Env = []string{"A=\x00"} }, false},
		{"an unknown rlimit", func(c *Config) { c.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOPE"}} }, false},
	} {
		cfg := &Config{Mode: ModeExec, Spec: &specs.Spec{Linux: &specs.Linux{}}, Process: &specs.Process{Args: []string{"true"}}}
		c.edit(cfg)
		if got := direct(cfg); got != c.want {
			t.Errorf("%s: set up by the preamble %v, want %v", c.name, got, c.want)
		}
	}
}

// The settings spell what prepareProcess would do: the environment
// deduplicated with husk's extra entries, the capability masks, and the
// Go stage's warning for a capability left out.
func TestDirectSettings(t *testing.T) {
	cfg := &Config{
		Mode:     ModeExec,
		Spec:     &specs.Spec{Linux: &specs.Linux{}},
		ExtraEnv: []string{"LISTEN_FDS=1"},
		Process: &specs.Process{
			Args: []string{"sh", "-c", "a\nb"},
			Env:  []string{"A=1", "A=2", "B="},
			Capabilities: &specs.LinuxCapabilities{
				Bounding: []string{"CAP_CHOWN", "CAP_KILL", "CAP_NOPE"},
				Ambient:  []string{"CAP_KILL", "CAP_KILL"},
			},
		},
	}
	set, warnings, err := directSettings(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		envExecArgs + "=2:sh2:-c3:a\nb",
		envExecEnv + "=3:A=22:B=12:LISTEN_FDS=1",
		envExecCaps + "=21 0 0 0", // CAP_CHOWN 0, CAP_KILL 5
		envExecAmbient + "=5 CAP_KILL\n",
	} {
		if !slices.Contains(set, want) {
			t.Errorf("settings %q lack %q", set, want)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "ignoring CAP_NOPE") {
		t.Errorf("warnings %q, want one about CAP_NOPE", warnings)
	}
}

// compiled is a filter that allows all but getpid, which gets act.
func compiled(t *testing.T, act specs.LinuxSeccompAction) *seccomp.Filter {
	t.Helper()
	f, err := seccomp.Compile(&specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"getpid"}, Action: act}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// What the C exec command reads from exec.env: the stage's settings
// without the pidfd it adds, and nothing where the exec would take Go or
// warn.
func TestSavedExec(t *testing.T) {
	set := Settings{JoinPidfd: os.Stdin, JoinFlags: 0x20000, CgroupV1: []string{"/a"}}
	cfg := &Config{Spec: &specs.Spec{Linux: &specs.Linux{}}, Process: &specs.Process{Args: []string{"sh"}, Env: []string{"A=1"}, Cwd: "/"}}
	saved, ok, err := SavedExec(set, cfg)
	if err != nil || !ok {
		t.Fatalf("SavedExec of a plain process: %v, %v", ok, err)
	}
	for _, want := range []string{envJoinFlags + "=131072", envCgroupV1 + "=/a", envExecArgs + "=2:sh", envExecEnv + "=3:A=1", envExecCwd + "=/"} {
		if !slices.Contains(saved, want) {
			t.Errorf("saved settings %q lack %q", saved, want)
		}
	}
	for _, kv := range saved {
		if strings.HasPrefix(kv, envJoinPidfd+"=") {
			t.Errorf("saved settings hold %q, which each exec opens", kv)
		}
	}
	cfg.Process.Terminal = true
	if _, ok, _ := SavedExec(set, cfg); ok {
		t.Errorf("SavedExec of a process with a terminal: ok")
	}
	cfg.Process.Terminal = false
	cfg.Process.Capabilities = &specs.LinuxCapabilities{Bounding: []string{"CAP_NO_SUCH"}}
	if _, ok, _ := SavedExec(set, cfg); ok {
		t.Errorf("SavedExec of a process whose exec warns of an unknown capability: ok")
	}
}
