package seccomp

import (
	"errors"
	"fmt"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
)

// buildFilter turns a profile Validate accepted into a libseccomp filter
// context. It leaves out what leftOut lists: syscall names
// libseccomp does not know (shared profiles list syscalls newer than the
// library, and failing on them would make such a profile unusable here),
// rules equal to the default action (libseccomp refuses them, and they
// could not change what the filter does) and architectures of the other
// byte order (libseccomp cannot mix byte orders in one filter, and this
// kernel runs no code of the other one).
//
// With tree, libseccomp sorts each architecture's syscalls into a binary
// search (SCMP_FLTATR_CTL_OPTIMIZE 2) instead of a list compared one by
// one: the program is about a quarter longer, but the kernel's work to
// take it is about half (its action cache tries the program once per
// syscall number, each walk a search instead of the whole list): for
// podman's profile 0.37 ms instead of 0.83 ms per container on the machine
// of docs/design.md, and every filtered syscall of the container walks
// fewer instructions. libseccomp before 2.5 has no such option and
// builds the list.
func buildFilter(s *specs.LinuxSeccomp, tree bool) (*libseccomp.ScmpFilter, error) {
	def, err := convertAction(s.DefaultAction, s.DefaultErrnoRet, "linux.seccomp.defaultAction", "linux.seccomp.defaultErrnoRet")
	if err != nil {
		return nil, err
	}
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp.defaultAction: create filter: %w", err)
	}
	if tree {
		_ = f.SetOptimize(2)
	}
	if err := addRules(f, def, s); err != nil {
		f.Release()
		return nil, err
	}
	return f, nil
}

func addRules(f *libseccomp.ScmpFilter, def libseccomp.ScmpAction, s *specs.LinuxSeccomp) error {
	for i, name := range s.Architectures {
		arch, _ := lookupArch(name)
		if err := f.AddArch(arch); err != nil && !errors.Is(err, syscall.EDOM) {
			return fmt.Errorf("linux.seccomp.architectures[%d]: add %s: %w", i, name, err)
		}
	}
	for i, sc := range s.Syscalls {
		field := fmt.Sprintf("linux.seccomp.syscalls[%d]", i)
		act, err := convertAction(sc.Action, sc.ErrnoRet, field, field+".errnoRet")
		if err != nil {
			return err
		}
		if act == def {
			continue
		}
		for _, name := range sc.Names {
			nr, err := libseccomp.GetSyscallFromName(name)
			if err != nil {
				continue
			}
			if err := addRule(f, nr, act, sc.Args); err != nil {
				return fmt.Errorf("%s: syscall %q: %w", field, name, err)
			}
		}
	}
	return nil
}

// addRule adds one rule of the profile for one syscall. Comparisons of
// different arguments must all hold (one libseccomp rule). libseccomp
// cannot compare one argument twice in a rule; runc then makes every
// comparison a rule of its own, so that such a rule matches when any of its
// comparisons does, and profiles written for runc rely on that.
func addRule(f *libseccomp.ScmpFilter, nr libseccomp.ScmpSyscall, act libseccomp.ScmpAction, args []specs.LinuxSeccompArg) error {
	if len(args) == 0 {
		return f.AddRule(nr, act)
	}
	conds := make([]libseccomp.ScmpCondition, len(args))
	var seen [maxArgs]bool
	repeated := false
	for i, arg := range args {
		cond, err := convertArg(arg)
		if err != nil {
			return fmt.Errorf("args[%d]: %w", i, err)
		}
		conds[i] = cond
		repeated = repeated || seen[arg.Index]
		seen[arg.Index] = true
	}
	if !repeated {
		return f.AddRuleConditional(nr, act, conds)
	}
	for _, cond := range conds {
		if err := f.AddRuleConditional(nr, act, []libseccomp.ScmpCondition{cond}); err != nil {
			return err
		}
	}
	return nil
}
