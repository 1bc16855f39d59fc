package procattr

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

var schedPolicies = map[specs.LinuxSchedulerPolicy]uint32{
	specs.SchedOther:    unix.SCHED_NORMAL,
	specs.SchedFIFO:     unix.SCHED_FIFO,
	specs.SchedRR:       unix.SCHED_RR,
	specs.SchedBatch:    unix.SCHED_BATCH,
	specs.SchedIdle:     unix.SCHED_IDLE,
	specs.SchedDeadline: unix.SCHED_DEADLINE,
}

var schedFlags = map[specs.LinuxSchedulerFlag]uint64{
	specs.SchedFlagResetOnFork:  unix.SCHED_FLAG_RESET_ON_FORK,
	specs.SchedFlagReclaim:      unix.SCHED_FLAG_RECLAIM,
	specs.SchedFlagDLOverrun:    unix.SCHED_FLAG_DL_OVERRUN,
	specs.SchedFlagKeepPolicy:   unix.SCHED_FLAG_KEEP_POLICY,
	specs.SchedFlagKeepParams:   unix.SCHED_FLAG_KEEP_PARAMS,
	specs.SchedFlagUtilClampMin: unix.SCHED_FLAG_UTIL_CLAMP_MIN,
	specs.SchedFlagUtilClampMax: unix.SCHED_FLAG_UTIL_CLAMP_MAX,
}

const (
	schedField           = "process.scheduler"
	minNice, maxNice     = -20, 19
	minRTPrio, maxRTPrio = 1, 99
	minDeadlineRuntime   = 1 << 10 // the kernel's DL_SCALE: shorter runtimes are refused
	deadlineReservedBit  = 1 << 63 // the kernel refuses deadlines and periods with it set
	schedKeepFlags       = unix.SCHED_FLAG_KEEP_POLICY | unix.SCHED_FLAG_KEEP_PARAMS
)

// schedAttr turns process.scheduler into the sched_setattr argument.
// Numbers the spec leaves unset are 0, as it prescribes; that includes the
// utilization clamps, which the spec's flags can ask for but gives no field
// to set.
func schedAttr(s *specs.Scheduler) (*unix.SchedAttr, error) {
	policy, ok := schedPolicies[s.Policy]
	if !ok {
		if s.Policy == specs.SchedISO {
			return nil, fmt.Errorf("%s.policy: SCHED_ISO is not implemented by Linux", schedField)
		}
		return nil, fmt.Errorf("%s.policy: unknown policy %q", schedField, s.Policy)
	}
	attr := &unix.SchedAttr{
		Policy:   policy,
		Nice:     s.Nice,
		Priority: uint32(s.Priority),
		Runtime:  s.Runtime,
		Deadline: s.Deadline,
		Period:   s.Period,
	}
	for _, f := range s.Flags {
		v, ok := schedFlags[f]
		if !ok {
			return nil, fmt.Errorf("%s.flags: unknown flag %q", schedField, f)
		}
		attr.Flags |= v
	}
	if s.Nice < minNice || s.Nice > maxNice {
		return nil, fmt.Errorf("%s.nice: %d is out of range %d..%d", schedField, s.Nice, minNice, maxNice)
	}
	// With a KEEP flag the kernel takes the policy or the parameters from
	// the thread as it is, so what they must look like is not known here.
	if attr.Flags&schedKeepFlags != 0 {
		return attr, nil
	}
	if err := checkSchedParams(s); err != nil {
		return nil, err
	}
	return attr, nil
}

// checkSchedParams applies sched_setattr(2)'s rules for the parameters of
// each policy, so that a mistake fails with its field rather than EINVAL.
func checkSchedParams(s *specs.Scheduler) error {
	switch s.Policy {
	case specs.SchedFIFO, specs.SchedRR:
		if s.Priority < minRTPrio || s.Priority > maxRTPrio {
			return fmt.Errorf("%s.priority: %d is out of range %d..%d for %s", schedField, s.Priority, minRTPrio, maxRTPrio, s.Policy)
		}
	default:
		if s.Priority != 0 {
			return fmt.Errorf("%s.priority: only SCHED_FIFO and SCHED_RR take a priority, not %s", schedField, s.Policy)
		}
	}
	if s.Policy != specs.SchedDeadline {
		if s.Runtime != 0 || s.Deadline != 0 || s.Period != 0 {
			return fmt.Errorf("%s: runtime, deadline and period are for SCHED_DEADLINE only, not %s", schedField, s.Policy)
		}
		return nil
	}
	period := s.Period
	if period == 0 {
		period = s.Deadline // what the kernel assumes
	}
	if s.Runtime < minDeadlineRuntime || s.Runtime > s.Deadline || s.Deadline > period ||
		s.Deadline&deadlineReservedBit != 0 || period&deadlineReservedBit != 0 {
		return fmt.Errorf("%s: SCHED_DEADLINE needs %d <= runtime <= deadline <= period (a period of 0 stands for the deadline), got runtime %d, deadline %d, period %d",
			schedField, minDeadlineRuntime, s.Runtime, s.Deadline, s.Period)
	}
	return nil
}

// applyScheduler sets the calling thread's policy; execve keeps it.
func applyScheduler(s *specs.Scheduler) error {
	attr, err := schedAttr(s)
	if err != nil {
		return err
	}
	if err := unix.SchedSetAttr(0, attr, 0); err != nil {
		return fmt.Errorf("%s: sched_setattr %s: %w", schedField, describeSched(s), err)
	}
	return nil
}

// describeSched names what was asked for, for errors.
func describeSched(s *specs.Scheduler) string {
	d := string(s.Policy)
	switch s.Policy {
	case specs.SchedFIFO, specs.SchedRR:
		d += fmt.Sprintf(" priority %d", s.Priority)
	case specs.SchedDeadline:
		d += fmt.Sprintf(" runtime %d deadline %d period %d", s.Runtime, s.Deadline, s.Period)
	default:
		d += fmt.Sprintf(" nice %d", s.Nice)
	}
	if len(s.Flags) > 0 {
		d += fmt.Sprintf(" flags %v", s.Flags)
	}
	return d
}
