package stage

import (
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/moby/sys/capability"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/spec/vocab"
)

// The settings of an exec stage's process that the preamble sets up and
// execs itself (nsenter's execproc.c). Lists are length-prefixed items
// ("5:hello3:foo"): an argument may hold any byte but NUL.
const (
	envExecArgs     = "_HUSK_EXEC_ARGS"
	envExecEnv      = "_HUSK_EXEC_ENV"
	envExecCwd      = "_HUSK_EXEC_CWD"
	envExecUID      = "_HUSK_EXEC_UID"
	envExecGID      = "_HUSK_EXEC_GID"
	envExecGroups   = "_HUSK_EXEC_GROUPS"
	envExecUmask    = "_HUSK_EXEC_UMASK"
	envExecRlimits  = "_HUSK_EXEC_RLIMITS"
	envExecCaps     = "_HUSK_EXEC_CAPS"
	envExecCapLast  = "_HUSK_EXEC_CAP_LAST"
	envExecAmbient  = "_HUSK_EXEC_AMBIENT"
	envExecNNP      = "_HUSK_EXEC_NNP"
	envExecAppArmor = "_HUSK_EXEC_APPARMOR"
	envExecSeccomp  = "_HUSK_EXEC_SECCOMP"
	envExecSecFlags = "_HUSK_EXEC_SECCOMP_FLAGS"
)

// direct tells whether the preamble can set up cfg's process itself: an
// exec whose process directProcess takes.
func direct(cfg *Config) bool { return cfg.Mode == ModeExec && directProcess(cfg) }

// directProcess tells whether cfg's process can be set up by the preamble:
// its settings are all numbers and lists once husk has resolved them. A
// terminal, a user name to look up in the container, an SELinux label,
// process attributes, a seccomp agent and --debug take the Go stage.
func directProcess(cfg *Config) bool {
	p := cfg.Process
	l := cfg.Spec.Linux
	if cfg.Debug || cfg.User != "" || cfg.ConsoleFD != 0 || len(p.Args) == 0 {
		return false
	}
	if p.Terminal || p.SelinuxLabel != "" || p.Scheduler != nil ||
		p.IOPriority != nil || p.ExecCPUAffinity != nil {
		return false
	}
	if l != nil && (l.Personality != nil || l.MemoryPolicy != nil) {
		return false
	}
	if cfg.Seccomp.Notifies() {
		return false
	}
	// An id of -1 would make setresuid(2) keep root: the Go stage refuses
	// it, with its message.
	if p.User.UID == math.MaxUint32 || p.User.GID == math.MaxUint32 || slices.Contains(p.User.AdditionalGids, math.MaxUint32) {
		return false
	}
	for _, rl := range p.Rlimits {
		if _, ok := vocab.RlimitResource(rl.Type); !ok {
			return false // the Go stage names the unknown type
		}
	}
	// A NUL would end a setting early; execve refuses one anyway, and the
	// Go stage says so.
	for _, v := range append(append([]string{p.Cwd, p.ApparmorProfile}, p.Args...), p.Env...) {
		if strings.ContainsRune(v, 0) {
			return false
		}
	}
	return true
}

// directSettings spells cfg's process for the preamble, the names resolved
// as the Go stage resolves them (prepareProcess), and returns the warnings
// the Go stage would have sent: capabilities left out.
func directSettings(cfg *Config) ([]string, []string, error) {
	p := cfg.Process
	env := dedupEnv(append(slices.Clone(p.Env), cfg.ExtraEnv...))
	set := []string{
		envExecArgs + "=" + lengthPrefixed(p.Args),
		envExecEnv + "=" + lengthPrefixed(env),
		envExecCwd + "=" + p.Cwd,
		envExecUID + "=" + strconv.FormatUint(uint64(p.User.UID), 10),
		envExecGID + "=" + strconv.FormatUint(uint64(p.User.GID), 10),
	}
	groups := make([]string, 0, len(p.User.AdditionalGids))
	for _, g := range p.User.AdditionalGids {
		groups = append(groups, strconv.FormatUint(uint64(g), 10))
	}
	set = append(set, envExecGroups+"="+strings.Join(groups, " "))
	if p.User.Umask != nil {
		set = append(set, envExecUmask+"="+strconv.FormatUint(uint64(*p.User.Umask), 10))
	}
	if len(p.Rlimits) > 0 {
		var b strings.Builder
		for _, rl := range p.Rlimits {
			res, _ := vocab.RlimitResource(rl.Type)
			fmt.Fprintf(&b, "%s %d %d %d\n", rl.Type, res, rl.Soft, rl.Hard)
		}
		set = append(set, envExecRlimits+"="+b.String())
	}
	var warnings []string
	if p.Capabilities != nil {
		caps, warn, err := capabilitySettings(p.Capabilities)
		if err != nil {
			return nil, nil, err
		}
		set = append(set, caps...)
		warnings = append(warnings, warn...)
	}
	if p.NoNewPrivileges {
		set = append(set, envExecNNP+"=1")
	}
	if p.ApparmorProfile != "" {
		set = append(set, envExecAppArmor+"="+p.ApparmorProfile)
	}
	if cfg.Seccomp != nil {
		// The program itself follows the settings in binary
		// (Settings.Program): it is some 10 KB, and each copy of it, or
		// of a spelling of it, is fresh pages on both sides.
		prog, flags := cfg.Seccomp.Program()
		set = append(set, envExecSeccomp+"="+strconv.Itoa(len(prog)), envExecSecFlags+"="+strconv.FormatUint(uint64(flags), 10))
	}
	return set, warnings, nil
}

// The settings saved beside SavedExec's that the C exec command reads
// itself and sends no stage: the husk binary that saved them (its inode,
// size and mtime, first), the cgroup whose freezer tells a paused
// container, v1's or v2's, the exec --process file the settings are of,
// the cgroup dirs to move the stage into at its setup, and the seccomp
// program, in hex, which the command sends in binary after the settings.
const (
	SavedBinary    = "_HUSK_CLI_BINARY"
	SavedFreezerV1 = "_HUSK_CLI_FREEZER_V1"
	SavedFreezerV2 = "_HUSK_CLI_FREEZER_V2"
	SavedProcess   = "_HUSK_CLI_PROCESS"
	SavedJoin      = "_HUSK_CLI_JOIN"
	SavedSeccomp   = "_HUSK_CLI_SECCOMP"
)

// SavedExec spells an exec of cfg's process through set as the C exec
// command reads it (nsenter's execcmd.c), without the init's pidfd, which
// each exec opens. ok is false where such an exec would take the Go
// stage, or would warn (the C command gives no warnings of its own).
func SavedExec(set Settings, cfg *Config) (saved []string, ok bool, err error) {
	cfg.Mode = ModeExec
	set.JoinPidfd = nil
	if !direct(cfg) {
		return nil, false, nil
	}
	exec, warnings, err := directSettings(cfg)
	if err != nil || len(warnings) > 0 {
		return nil, false, err
	}
	set.Exec = exec
	saved = set.encode(nil)
	if cfg.Seccomp != nil {
		prog, _ := cfg.Seccomp.Program()
		saved = append(saved, SavedSeccomp+"="+hex.EncodeToString(prog))
	}
	return saved, true, nil
}

// capabilitySettings are dropBounding and applyCapabilities as masks:
// bounding, effective, permitted, inheritable, then the ambient
// capabilities by number and name, and the Go stage's warning for the
// names left out.
func capabilitySettings(c *specs.LinuxCapabilities) ([]string, []string, error) {
	sets, warning, err := resolveCaps(c)
	if err != nil {
		return nil, nil, err
	}
	last, err := capability.LastCap()
	if err != nil {
		return nil, nil, fmt.Errorf("capabilities: %w", err)
	}
	var masks [4]uint64
	for i, which := range []capability.CapType{capability.BOUNDING, capability.EFFECTIVE, capability.PERMITTED, capability.INHERITABLE} {
		for _, v := range sets[which] {
			masks[i] |= 1 << uint(v)
		}
	}
	var ambient strings.Builder
	for _, v := range sets[capability.AMBIENT] {
		fmt.Fprintf(&ambient, "%d %s\n", v, capName(v))
	}
	set := []string{
		fmt.Sprintf("%s=%x %x %x %x", envExecCaps, masks[0], masks[1], masks[2], masks[3]),
		envExecCapLast + "=" + strconv.Itoa(int(last)),
		envExecAmbient + "=" + ambient.String(),
	}
	var warnings []string
	if warning != "" {
		warnings = append(warnings, warning)
	}
	return set, warnings, nil
}

func lengthPrefixed(items []string) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString(strconv.Itoa(len(it)))
		b.WriteByte(':')
		b.WriteString(it)
	}
	return b.String()
}
