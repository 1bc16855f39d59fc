package seccomp

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestValidateAccepts(t *testing.T) {
	for name, s := range map[string]*specs.LinuxSeccomp{
		"nil":     nil,
		"minimal": {DefaultAction: specs.ActAllow},
		"full": {
			DefaultAction:   specs.ActErrno,
			DefaultErrnoRet: new(uint(38)),
			Architectures:   []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchS390X},
			Flags:           []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog},
			ListenerPath:    "/run/agent.sock",
			// Unknown to libseccomp is not an error: Load skips them.
			Syscalls: []specs.LinuxSyscall{
				{Names: []string{"read", "no_such_syscall"}, Action: specs.ActAllow},
				{Names: []string{"mkdir"}, Action: specs.ActNotify},
				{Names: []string{"ptrace"}, Action: specs.ActTrace, ErrnoRet: new(uint(7))},
				{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 8, Op: specs.OpEqualTo}}},
			},
		},
	} {
		if err := Validate(s); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestValidateRefuses(t *testing.T) {
	allow := func(s *specs.LinuxSeccomp) *specs.LinuxSeccomp {
		if s.DefaultAction == "" {
			s.DefaultAction = specs.ActAllow
		}
		return s
	}
	for _, tc := range []struct {
		s    *specs.LinuxSeccomp
		want string
	}{
		{&specs.LinuxSeccomp{}, `linux.seccomp.defaultAction: unknown action ""`},
		{&specs.LinuxSeccomp{DefaultAction: "SCMP_ACT_X"}, `linux.seccomp.defaultAction: unknown action "SCMP_ACT_X"`},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, DefaultErrnoRet: new(uint(1))},
			"linux.seccomp.defaultErrnoRet: SCMP_ACT_ALLOW takes no errno value"},
		{&specs.LinuxSeccomp{DefaultAction: specs.ActNotify, ListenerPath: "/x"},
			"linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"},
		{allow(&specs.LinuxSeccomp{Architectures: []specs.Arch{specs.ArchX86, "SCMP_ARCH_VAX"}}),
			`linux.seccomp.architectures[1]: unknown architecture "SCMP_ARCH_VAX"`},
		{allow(&specs.LinuxSeccomp{Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_BOGUS"}}),
			`linux.seccomp.flags[0]: unknown flag "SECCOMP_FILTER_FLAG_BOGUS"`},
		{allow(&specs.LinuxSeccomp{Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read"}, Action: specs.ActAllow},
			{Names: []string{"read"}, Action: specs.ActAllow},
			{Names: []string{"read"}, Action: specs.ActAllow},
			{Names: []string{"write"}, Action: "X"},
		}}), `linux.seccomp.syscalls[3]: unknown action "X"`},
		{allow(&specs.LinuxSeccomp{Syscalls: []specs.LinuxSyscall{{Action: specs.ActErrno}}}),
			"linux.seccomp.syscalls[0].names: must contain at least one syscall name"},
		{allow(&specs.LinuxSeccomp{Syscalls: []specs.LinuxSyscall{{Names: []string{"read", ""}, Action: specs.ActErrno}}}),
			"linux.seccomp.syscalls[0].names[1]: must not be empty"},
		{allow(&specs.LinuxSeccomp{Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActLog, ErrnoRet: new(uint(5))}}}),
			"linux.seccomp.syscalls[0].errnoRet: SCMP_ACT_LOG takes no errno value"},
		{allow(&specs.LinuxSeccomp{Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno, ErrnoRet: new(uint(70000))}}}),
			"linux.seccomp.syscalls[0].errnoRet: 70000 does not fit"},
		{allow(&specs.LinuxSeccomp{Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
			{Index: 0, Op: specs.OpEqualTo}, {Index: 1, Op: "SCMP_CMP_BOGUS"},
		}}}}), `linux.seccomp.syscalls[0].args[1]: unknown operator "SCMP_CMP_BOGUS"`},
		{allow(&specs.LinuxSeccomp{Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{
			{Index: 6, Op: specs.OpEqualTo},
		}}}}), "linux.seccomp.syscalls[0].args[0]: index 6 is out of range"},
		{allow(&specs.LinuxSeccomp{ListenerMetadata: "m"}),
			"linux.seccomp.listenerMetadata: must not be set without listenerPath"},
		{allow(&specs.LinuxSeccomp{Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}}}),
			"linux.seccomp.listenerPath: must be set when a rule uses SCMP_ACT_NOTIFY"},
		{allow(&specs.LinuxSeccomp{ListenerPath: "/" + strings.Repeat("x", 200)}),
			"linux.seccomp.listenerPath: \"/xxxxxxxx"},
	} {
		err := Validate(tc.s)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("got error %v, want one starting with %q", err, tc.want)
		}
	}
}

// An architecture the spec names but the linked libseccomp lacks is refused
// by Validate, not at load time in the container.
func TestValidateArchUnsupportedByLibseccomp(t *testing.T) {
	for _, a := range archNames {
		if !slices.Contains(Archs(), string(a.name)) {
			err := Validate(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{a.name}})
			if err == nil || !strings.Contains(err.Error(), "is not supported by libseccomp") {
				t.Errorf("%s: got %v", a.name, err)
			}
			return
		}
	}
	t.Skip("this libseccomp knows every architecture of the spec")
}

// What the filter will leave out is not an error, but compiling says it.
func TestValidateNotes(t *testing.T) {
	msgs := captureDebug(t)
	s := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow}},
	}
	if slices.Contains(Flags(), string(specs.LinuxSeccompFlagWaitKillableRecv)) {
		s.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv}
	}
	if err := Validate(s); err != nil {
		t.Fatal(err)
	}
	reportLeftOut(s, testDebugf(t))
	want := []string{"seccomp: linux.seccomp.syscalls[0]: SCMP_ACT_ALLOW is the default action: rule left out"}
	if s.Flags != nil {
		want = append(want, "seccomp: linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV has no effect without SCMP_ACT_NOTIFY, left out")
	}
	if !slices.Equal(*msgs, want) {
		t.Errorf("notes %q, want %q", *msgs, want)
	}
	*msgs = nil
	if err := Validate(&specs.LinuxSeccomp{DefaultAction: "bogus", Syscalls: s.Syscalls}); err == nil || len(*msgs) != 0 {
		t.Errorf("an invalid profile: error %v, notes %q", err, *msgs)
	}
}
