package stage

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/libcontainer/seccomp"
	"github.com/husk-runtime/husk/spec/vocab"
)

// Mode is what a stage is started as: its argv[1].
type Mode string

const (
	// ModeInit builds a new container and execs its process at start.
	ModeInit Mode = "init"
	// ModeExec runs one more process in a running container.
	ModeExec Mode = "exec"
	// ModeUserns only holds a new user namespace for husk to take idmapped
	// mounts' mappings from (see NewUserns): its preamble stops at the
	// setup handshake and exits when husk closes the socket; Go never runs.
	ModeUserns Mode = "userns"
)

// The names of the settings the C preamble reads (nsenter.c). The first two
// are in the stage's environment from execve; the others come as one
// length-prefixed blob on the sync socket (Settings.encode), once husk knows
// them. TestSettingNamesMatchPreamble checks this list against nsenter.c.
const (
	envSyncFD      = "_HUSK_SYNCFD"
	envNFDs        = "_HUSK_NFDS"
	envCloneFlags  = "_HUSK_CLONEFLAGS"
	envJoinPidfd   = "_HUSK_JOIN_PIDFD"
	envJoinFlags   = "_HUSK_JOIN_FLAGS"
	envCgroupV1    = "_HUSK_CGROUP_V1"
	envCgroupV2    = "_HUSK_CGROUP_V2"
	envOOMScoreAdj = "_HUSK_OOM_SCORE_ADJ"
	envTimeOffsets = "_HUSK_TIMENS_OFFSETS"
	envSetup       = "_HUSK_SETUP"
	envSetupDump   = "_HUSK_SETUP_DUMPABLE"
	envNSPrefix    = "_HUSK_NS_" // + the namespace type, upper case: _HUSK_NS_NET
)

// Settings are what husk tells the C preamble: which namespaces to create
// or join, the cgroup to enter, and whether to stop for the setup handshake.
type Settings struct {
	// CloneFlags are the CLONE_NEW* namespaces to create.
	CloneFlags uintptr
	// JoinPaths are namespaces to join by path (linux.namespaces[].path),
	// joined before those in CloneFlags are created.
	JoinPaths map[specs.LinuxNamespaceType]string
	// TimeOffsets are linux.timeOffsets, written into a new time namespace.
	TimeOffsets map[string]specs.LinuxTimeOffset
	// JoinPidfd is exec's handle on the container's init, whose JoinFlags
	// namespaces the preamble joins with setns(pidfd).
	JoinPidfd *os.File
	JoinFlags uintptr
	// CgroupV1 are the v1 cgroup directories the preamble joins first thing;
	// CgroupV2 is the v2 one it forks the final process into.
	CgroupV1 []string
	CgroupV2 string
	// OOMScoreAdj is process.oomScoreAdj, set while the preamble is root.
	OOMScoreAdj *int
	// Setup has the preamble stop in its user namespace (new or joined) and
	// wait for Opts.Setup, before it creates the other namespaces.
	Setup bool
	// SetupDumpable has the preamble dumpable during that handshake, for
	// an unprivileged husk: the id map files of a non-dumpable process
	// belong to the host's root, which only root can write, and
	// newuidmap checks that the process is the caller's. The preamble is
	// still in the host's PID namespace then, and nothing of the
	// container's runs yet.
	SetupDumpable bool
	// Exec, when set, are an exec stage's process settings (direct.go):
	// the preamble sets the process up and execs it itself, and the
	// stage gets no Config.
	Exec []string
	// Program is the seccomp program that Exec names (Config.Seccomp's),
	// sent in binary after the settings.
	Program []byte
}

// NamespaceSettings are the settings that create and join s's namespaces.
func NamespaceSettings(s *specs.Spec) Settings {
	var set Settings
	for _, ns := range s.Linux.Namespaces {
		if ns.Path == "" {
			set.CloneFlags |= vocab.CloneFlag(ns.Type)
			continue
		}
		if set.JoinPaths == nil {
			set.JoinPaths = map[specs.LinuxNamespaceType]string{}
		}
		set.JoinPaths[ns.Type] = ns.Path
	}
	set.TimeOffsets = s.Linux.TimeOffsets
	return set
}

// JoinCgroups has the preamble join the cgroup at paths (the container's:
// key "" is the v2 one, the others v1 controllers) itself, first thing,
// while it is still root of the host. Writing "0" to a v1 "tasks" file
// moves just the writing thread, which the kernel does without its global
// threadgroup lock, and so without the RCU grace period (the slowest step
// of create, see docs/design.md) that writing a pid to cgroup.procs waits
// for; the preamble is single-threaded, so that moves the whole process.
// Into a v2 cgroup the preamble forks the final process with
// clone3(CLONE_INTO_CGROUP), for the same reason; intoV2 is false where the
// parent must move it instead (from inside a user namespace clone3 checks
// write access to the cgroup with the namespace's ids).
func (set *Settings) JoinCgroups(paths map[string]string, intoV2 bool) {
	set.CgroupV1 = nil
	for key, dir := range paths {
		if key != "" && !slices.Contains(set.CgroupV1, dir) {
			set.CgroupV1 = append(set.CgroupV1, dir)
		}
	}
	set.CgroupV2 = ""
	if intoV2 {
		set.CgroupV2 = paths[""]
	}
}

// encode spells the settings as the preamble reads them, KEY=VALUE, with
// fdOf giving the number a file has in the stage.
func (set *Settings) encode(fdOf func(*os.File) int) []string {
	env := []string{envCloneFlags + "=" + strconv.FormatUint(uint64(set.CloneFlags), 10)}
	for t, path := range set.JoinPaths {
		env = append(env, envNSPrefix+nsSuffix(t)+"="+path)
	}
	if len(set.TimeOffsets) > 0 {
		var offsets []string
		for clock, off := range set.TimeOffsets {
			offsets = append(offsets, fmt.Sprintf("%s %d %d", clock, off.Secs, off.Nanosecs))
		}
		env = append(env, envTimeOffsets+"="+strings.Join(offsets, "\n"))
	}
	if set.JoinPidfd != nil {
		env = append(env, envJoinPidfd+"="+strconv.Itoa(fdOf(set.JoinPidfd)))
	}
	if set.JoinPidfd != nil || set.JoinFlags != 0 {
		env = append(env, envJoinFlags+"="+strconv.FormatUint(uint64(set.JoinFlags), 10))
	}
	env = append(env, envCgroupV1+"="+strings.Join(set.CgroupV1, "\n"))
	if set.CgroupV2 != "" {
		env = append(env, envCgroupV2+"="+set.CgroupV2)
	}
	if set.OOMScoreAdj != nil {
		env = append(env, envOOMScoreAdj+"="+strconv.Itoa(*set.OOMScoreAdj))
	}
	if set.Setup {
		env = append(env, envSetup+"=1")
		if set.SetupDumpable {
			env = append(env, envSetupDump+"=1")
		}
	}
	return append(env, set.Exec...)
}

// nsSuffix names a namespace type in _HUSK_NS_*, as /proc/PID/ns does
// but upper case: the preamble's table (nsenter.c) uses these.
func nsSuffix(t specs.LinuxNamespaceType) string {
	return strings.ToUpper(vocab.ProcNamespaceName(t))
}

// Config is everything the init or exec stage needs, sent once the stage is
// in its namespaces. husk validated all of it (spec.Validate,
// spec.ValidateProcess): the stage trusts it.
type Config struct {
	Mode         Mode              `json:"mode"`
	ID           string            `json:"id"`
	Spec         *specs.Spec       `json:"spec"`
	Process      *specs.Process    `json:"process"`
	User         string            `json:"user,omitempty"` // exec --user name[:group], resolved in the container
	NoPivot      bool              `json:"no_pivot,omitempty"`
	NoNewKeyring bool              `json:"no_new_keyring,omitempty"`
	CgroupPaths  map[string]string `json:"cgroup_paths,omitempty"`
	// CgroupMountpoints: see rootfs.Config.
	CgroupMountpoints map[string]string `json:"cgroup_mountpoints,omitempty"`
	ExtraEnv          []string          `json:"extra_env,omitempty"`
	// Seccomp is linux.seccomp, compiled by husk for the stage to load.
	// It travels beside the JSON, in its binary form (sendConfig).
	Seccomp *seccomp.Filter `json:"-"`
	// State goes to the seccomp agent with the notify fd; its pid is the
	// stage's HostPid when 0.
	State   *specs.State `json:"state,omitempty"`
	HostPid int          `json:"host_pid,omitempty"` // the stage's pid as husk sees it
	// Debug: husk logs at debug level; the stage sends its steps.
	Debug bool `json:"debug,omitempty"`

	// The stage's fds for the files in Opts, set by Spawn.
	FifoFD    int `json:"fifo_fd,omitempty"`
	ConsoleFD int `json:"console_fd,omitempty"`
	SeccompFD int `json:"seccomp_fd,omitempty"`
	SourceFD  int `json:"source_fd,omitempty"` // the mount source socket (Opts.Sources)
}
