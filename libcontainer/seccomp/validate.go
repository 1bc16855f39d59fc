package seccomp

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

const (
	// maxArgs is how many syscall arguments seccomp can see.
	maxArgs = 6
	// maxRetData is the largest errno or trace value: seccomp returns it
	// in the low 16 bits of the filter's result.
	maxRetData = 0xffff
	// maxSocketPath is how long a path a unix socket address holds
	// (sun_path, less its terminating NUL).
	maxSocketPath = len(unix.RawSockaddrUnix{}.Path) - 1
)

// Validate checks s against the runtime-spec and against what libseccomp
// and the kernel here support, without building or loading a filter. The
// error names the first field at fault. A nil s is valid (no filter).
// Compile trusts a profile that passed.
func Validate(s *specs.LinuxSeccomp) error {
	if s == nil {
		return nil
	}
	def, err := convertAction(s.DefaultAction, s.DefaultErrnoRet, "linux.seccomp.defaultAction", "linux.seccomp.defaultErrnoRet")
	if err != nil {
		return err
	}
	if def == libseccomp.ActNotify {
		// Every syscall husk makes between the load and the execve would
		// wait for an agent that has not been sent the fd yet.
		return errors.New("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action")
	}
	for i, a := range s.Architectures {
		if err := checkArch(a); err != nil {
			return fmt.Errorf("linux.seccomp.architectures[%d]: %w", i, err)
		}
	}
	if _, err := flagBits(s.Flags); err != nil {
		return err
	}
	for i, sc := range s.Syscalls {
		field := fmt.Sprintf("linux.seccomp.syscalls[%d]", i)
		act, err := validateSyscall(sc, field)
		if err != nil {
			return err
		}
		// The init writes to husk (the ready message, the exec fifo) after
		// the filter is loaded and before the agent can act on its fd.
		if act == libseccomp.ActNotify && slices.Contains(sc.Names, "write") {
			return fmt.Errorf("%s: SCMP_ACT_NOTIFY cannot be used for the write syscall", field)
		}
	}
	return validateListener(s)
}

// leftOut lists what the filter built from s, a profile Validate accepted,
// leaves out: syscalls libseccomp does not know (they get the default
// action), rules equal to the default action, architectures of the other
// byte order, and WAIT_KILLABLE_RECV without a notify rule.
func leftOut(s *specs.LinuxSeccomp) []string {
	var notes []string
	def, _ := convertAction(s.DefaultAction, s.DefaultErrnoRet, "", "")
	for i, a := range s.Architectures {
		if otherByteOrder(a) {
			notes = append(notes, fmt.Sprintf("linux.seccomp.architectures[%d]: %s has the other byte order: no process here can use it, left out", i, a))
		}
	}
	var unknown []string
	for i, sc := range s.Syscalls {
		if act, err := convertAction(sc.Action, sc.ErrnoRet, "", ""); err == nil && act == def {
			notes = append(notes, fmt.Sprintf("linux.seccomp.syscalls[%d]: %s is the default action: rule left out", i, sc.Action))
		}
		for _, name := range sc.Names {
			if _, err := libseccomp.GetSyscallFromName(name); err != nil {
				unknown = append(unknown, name)
			}
		}
	}
	if slices.Contains(s.Flags, specs.LinuxSeccompFlagWaitKillableRecv) && !usesNotify(s) {
		notes = append(notes, "linux.seccomp.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV has no effect without SCMP_ACT_NOTIFY, left out")
	}
	if len(unknown) > 0 {
		major, minor, micro := libseccomp.GetLibraryVersion()
		notes = append(notes, fmt.Sprintf("linux.seccomp.syscalls: unknown to libseccomp %d.%d.%d, left to the default action: %s",
			major, minor, micro, strings.Join(unknown, " ")))
	}
	return notes
}

// reportLeftOut sends leftOut's notes to debugf.
func reportLeftOut(s *specs.LinuxSeccomp, debugf Debugf) {
	if debugf == nil {
		return
	}
	for _, n := range leftOut(s) {
		debugf("seccomp: %s", n)
	}
}

// validateSyscall checks one rule and returns its action.
func validateSyscall(sc specs.LinuxSyscall, field string) (libseccomp.ScmpAction, error) {
	if len(sc.Names) == 0 {
		return libseccomp.ActInvalid, fmt.Errorf("%s.names: must contain at least one syscall name", field)
	}
	for j, name := range sc.Names {
		if name == "" {
			return libseccomp.ActInvalid, fmt.Errorf("%s.names[%d]: must not be empty", field, j)
		}
	}
	act, err := convertAction(sc.Action, sc.ErrnoRet, field, field+".errnoRet")
	if err != nil {
		return libseccomp.ActInvalid, err
	}
	for j, arg := range sc.Args {
		if _, err := convertArg(arg); err != nil {
			return libseccomp.ActInvalid, fmt.Errorf("%s.args[%d]: %w", field, j, err)
		}
	}
	return act, nil
}

func validateListener(s *specs.LinuxSeccomp) error {
	if s.ListenerMetadata != "" && s.ListenerPath == "" {
		return errors.New("linux.seccomp.listenerMetadata: must not be set without listenerPath")
	}
	if len(s.ListenerPath) > maxSocketPath {
		return fmt.Errorf("linux.seccomp.listenerPath: %q is longer than the %d bytes of a unix socket address", s.ListenerPath, maxSocketPath)
	}
	if !usesNotify(s) {
		return nil
	}
	if s.ListenerPath == "" {
		// Nothing else could ever answer the notifications: the process
		// would hang in its first notified syscall.
		return errors.New("linux.seccomp.listenerPath: must be set when a rule uses SCMP_ACT_NOTIFY")
	}
	if slices.Contains(s.Flags, "SECCOMP_FILTER_FLAG_TSYNC") && !kernelHasFlag(unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH) {
		return errors.New("linux.seccomp.flags: SECCOMP_FILTER_FLAG_TSYNC with SCMP_ACT_NOTIFY needs SECCOMP_FILTER_FLAG_TSYNC_ESRCH (Linux 5.7)")
	}
	return nil
}

// usesNotify tells whether any rule asks for a user-space agent.
func usesNotify(s *specs.LinuxSeccomp) bool {
	for _, sc := range s.Syscalls {
		if sc.Action == specs.ActNotify {
			return true
		}
	}
	return false
}

// convertAction returns the libseccomp action, with its errno or trace
// value, for an action of the spec. field names the action in errors,
// errnoField its errnoRet.
func convertAction(name specs.LinuxSeccompAction, errnoRet *uint, field, errnoField string) (libseccomp.ScmpAction, error) {
	act, api, ok := lookupAction(name)
	if !ok {
		return libseccomp.ActInvalid, fmt.Errorf("%s: unknown action %q", field, name)
	}
	if level := apiLevel(); level < api {
		return libseccomp.ActInvalid, fmt.Errorf("%s: %s is not supported by this kernel and libseccomp (API level %d, it needs %d)", field, name, level, api)
	}
	if act != libseccomp.ActErrno && act != libseccomp.ActTrace {
		if errnoRet != nil {
			return libseccomp.ActInvalid, fmt.Errorf("%s: %s takes no errno value", errnoField, name)
		}
		return act, nil
	}
	ret := uint(unix.EPERM)
	if errnoRet != nil {
		ret = *errnoRet
	}
	if ret > maxRetData {
		return libseccomp.ActInvalid, fmt.Errorf("%s: %d does not fit the 16 bits seccomp returns", errnoField, ret)
	}
	return act.SetReturnCode(int16(ret)), nil
}

// convertArg turns an argument comparison into a libseccomp condition.
// valueTwo only matters for SCMP_CMP_MASKED_EQ, where value is the mask
// and valueTwo what the masked argument must equal.
func convertArg(arg specs.LinuxSeccompArg) (libseccomp.ScmpCondition, error) {
	if arg.Index >= maxArgs {
		return libseccomp.ScmpCondition{}, fmt.Errorf("index %d is out of range: syscalls have arguments 0 to %d", arg.Index, maxArgs-1)
	}
	op, ok := lookupOperator(arg.Op)
	if !ok {
		return libseccomp.ScmpCondition{}, fmt.Errorf("unknown operator %q", arg.Op)
	}
	values := []uint64{arg.Value}
	if op == libseccomp.CompareMaskedEqual {
		values = append(values, arg.ValueTwo)
	}
	cond, err := libseccomp.MakeCondition(arg.Index, op, values...)
	if err != nil {
		return libseccomp.ScmpCondition{}, fmt.Errorf("%s: %w", arg.Op, err)
	}
	return cond, nil
}

// checkArch accepts an architecture of the spec that the linked libseccomp
// knows.
func checkArch(name specs.Arch) error {
	if _, ok := lookupArch(name); !ok {
		return fmt.Errorf("unknown architecture %q", name)
	}
	if !slices.Contains(archProbe().known, string(name)) {
		major, minor, micro := libseccomp.GetLibraryVersion()
		return fmt.Errorf("%s is not supported by libseccomp %d.%d.%d", name, major, minor, micro)
	}
	return nil
}

// flagBits turns the spec's flags into seccomp(2) flag bits, refusing a
// flag this kernel does not have rather than loading a weaker filter.
func flagBits(flags []specs.LinuxSeccompFlag) (uint, error) {
	var bits uint
	for i, name := range flags {
		bit, ok := lookupFlag(name)
		if !ok {
			return 0, fmt.Errorf("linux.seccomp.flags[%d]: unknown flag %q", i, name)
		}
		if !slices.Contains(supportedFlags(), string(name)) {
			return 0, fmt.Errorf("linux.seccomp.flags[%d]: %s is not supported by this kernel", i, name)
		}
		bits |= bit
	}
	return bits, nil
}
