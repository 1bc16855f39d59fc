// Package procattr sets the kernel attributes of a container's process
// that the runtime spec describes and execve keeps: process.scheduler,
// process.ioPriority, process.execCPUAffinity, linux.personality and
// linux.memoryPolicy.
//
// Every setting is made with pid 0, that is on the calling thread, which
// must be the thread that execs: the init and exec stages run on one locked
// OS thread, and after execve that thread is the process. Errors name the
// config.json field.
package procattr

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Validate checks the fields Apply and the affinity functions use, without
// changing anything, so a bad value fails before a container is made. It
// is for the validator (spec.Validate and spec.ValidateProcess); Apply
// does not call it.
func Validate(p *specs.Process, l *specs.Linux) error {
	if p != nil {
		if p.Scheduler != nil {
			if _, err := schedAttr(p.Scheduler); err != nil {
				return err
			}
		}
		if p.IOPriority != nil {
			if _, err := ioprioValue(p.IOPriority); err != nil {
				return err
			}
		}
		if p.ExecCPUAffinity != nil {
			if err := validateAffinity(p.ExecCPUAffinity); err != nil {
				return err
			}
		}
	}
	if l != nil {
		if l.Personality != nil {
			if _, err := personalityValue(l.Personality); err != nil {
				return err
			}
		}
		if l.MemoryPolicy != nil {
			if _, _, err := mempolicyArgs(l.MemoryPolicy); err != nil {
				return err
			}
		}
	}
	return nil
}

// Apply sets linux.personality, linux.memoryPolicy, process.ioPriority and
// process.scheduler on the calling thread, in the init or exec stage.
// execCPUAffinity is not among them: see ApplyInitialAffinity and
// ApplyFinalAffinity. The fields are not checked again: husk validated
// them (spec.Validate, spec.ValidateProcess) before the stage started.
//
// Call it while the stage still has its capabilities, before the user
// switch: a realtime policy, a negative nice value and the realtime I/O
// class take CAP_SYS_NICE or CAP_SYS_ADMIN, which the container's own user
// rarely has, and none of these attributes changes with the uid.
func Apply(p *specs.Process, l *specs.Linux) error {
	if l != nil {
		if l.Personality != nil {
			if err := applyPersonality(l.Personality); err != nil {
				return err
			}
		}
		if l.MemoryPolicy != nil {
			if err := applyMemoryPolicy(l.MemoryPolicy); err != nil {
				return err
			}
		}
	}
	if p != nil {
		if p.IOPriority != nil {
			if err := applyIOPriority(p.IOPriority); err != nil {
				return err
			}
		}
		// Last: a policy such as SCHED_IDLE would slow the steps after it.
		if p.Scheduler != nil {
			if err := applyScheduler(p.Scheduler); err != nil {
				// A cpuset smaller than the root domain refuses
				// SCHED_DEADLINE: say so, in runc's words.
				if errors.Is(err, unix.EPERM) && l != nil && l.Resources != nil && l.Resources.CPU != nil && l.Resources.CPU.Cpus != "" {
					return fmt.Errorf("%w: process scheduler can't be used together with AllowedCPUs (linux.resources.cpu.cpus %q)", err, l.Resources.CPU.Cpus)
				}
				return err
			}
		}
	}
	return nil
}
