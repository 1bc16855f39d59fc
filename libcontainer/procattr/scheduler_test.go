package procattr

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestSchedAttr(t *testing.T) {
	for _, tc := range []struct {
		in   specs.Scheduler
		want unix.SchedAttr
	}{
		{specs.Scheduler{Policy: specs.SchedOther}, unix.SchedAttr{Policy: unix.SCHED_NORMAL}},
		{specs.Scheduler{Policy: specs.SchedOther, Nice: -20}, unix.SchedAttr{Policy: unix.SCHED_NORMAL, Nice: -20}},
		{specs.Scheduler{Policy: specs.SchedBatch, Nice: 19}, unix.SchedAttr{Policy: unix.SCHED_BATCH, Nice: 19}},
		{specs.Scheduler{Policy: specs.SchedIdle}, unix.SchedAttr{Policy: unix.SCHED_IDLE}},
		{specs.Scheduler{Policy: specs.SchedFIFO, Priority: 1}, unix.SchedAttr{Policy: unix.SCHED_FIFO, Priority: 1}},
		{
			specs.Scheduler{Policy: specs.SchedRR, Priority: 99, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}},
			unix.SchedAttr{Policy: unix.SCHED_RR, Priority: 99, Flags: unix.SCHED_FLAG_RESET_ON_FORK},
		},
		{
			specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1024, Deadline: 1024},
			unix.SchedAttr{Policy: unix.SCHED_DEADLINE, Runtime: 1024, Deadline: 1024},
		},
		{
			specs.Scheduler{
				Policy: specs.SchedDeadline, Runtime: 10_000_000, Deadline: 30_000_000, Period: 100_000_000,
				Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagReclaim, specs.SchedFlagDLOverrun},
			},
			unix.SchedAttr{
				Policy: unix.SCHED_DEADLINE, Runtime: 10_000_000, Deadline: 30_000_000, Period: 100_000_000,
				Flags: unix.SCHED_FLAG_RECLAIM | unix.SCHED_FLAG_DL_OVERRUN,
			},
		},
		// Every flag by its kernel value.
		{
			specs.Scheduler{Policy: specs.SchedOther, Flags: []specs.LinuxSchedulerFlag{
				specs.SchedFlagResetOnFork, specs.SchedFlagReclaim, specs.SchedFlagDLOverrun,
				specs.SchedFlagKeepPolicy, specs.SchedFlagKeepParams,
				specs.SchedFlagUtilClampMin, specs.SchedFlagUtilClampMax,
			}},
			unix.SchedAttr{Policy: unix.SCHED_NORMAL, Flags: unix.SCHED_FLAG_ALL},
		},
		// KEEP_PARAMS: the kernel ignores the parameters, so do not judge them.
		{
			specs.Scheduler{Policy: specs.SchedFIFO, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagKeepParams}},
			unix.SchedAttr{Policy: unix.SCHED_FIFO, Flags: unix.SCHED_FLAG_KEEP_PARAMS},
		},
		{
			specs.Scheduler{Policy: specs.SchedOther, Priority: 5, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagKeepPolicy}},
			unix.SchedAttr{Policy: unix.SCHED_NORMAL, Priority: 5, Flags: unix.SCHED_FLAG_KEEP_POLICY},
		},
	} {
		got, err := schedAttr(&tc.in)
		if err != nil {
			t.Errorf("%+v: %v", tc.in, err)
			continue
		}
		if *got != tc.want {
			t.Errorf("%+v: got %+v, want %+v", tc.in, *got, tc.want)
		}
	}
}

func TestSchedAttrErrors(t *testing.T) {
	for _, tc := range []struct {
		in   specs.Scheduler
		want string
	}{
		{specs.Scheduler{}, `process.scheduler.policy: unknown policy ""`},
		{specs.Scheduler{Policy: "SCHED_NORMAL"}, `process.scheduler.policy: unknown policy "SCHED_NORMAL"`},
		{specs.Scheduler{Policy: "sched_fifo", Priority: 1}, `unknown policy "sched_fifo"`},
		{specs.Scheduler{Policy: specs.SchedISO}, "process.scheduler.policy: SCHED_ISO is not implemented by Linux"},
		{specs.Scheduler{Policy: specs.SchedOther, Flags: []specs.LinuxSchedulerFlag{"SCHED_FLAG_X"}}, `process.scheduler.flags: unknown flag "SCHED_FLAG_X"`},
		{specs.Scheduler{Policy: specs.SchedOther, Nice: -21}, "process.scheduler.nice: -21 is out of range -20..19"},
		{specs.Scheduler{Policy: specs.SchedBatch, Nice: 20}, "process.scheduler.nice: 20 is out of range"},
		{specs.Scheduler{Policy: specs.SchedFIFO}, "process.scheduler.priority: 0 is out of range 1..99 for SCHED_FIFO"},
		{specs.Scheduler{Policy: specs.SchedRR, Priority: 100}, "process.scheduler.priority: 100 is out of range 1..99 for SCHED_RR"},
		{specs.Scheduler{Policy: specs.SchedRR, Priority: -1}, "process.scheduler.priority: -1 is out of range"},
		{specs.Scheduler{Policy: specs.SchedOther, Priority: 10}, "process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a priority, not SCHED_OTHER"},
		{specs.Scheduler{Policy: specs.SchedDeadline, Priority: 1, Runtime: 2048, Deadline: 2048}, "only SCHED_FIFO and SCHED_RR take a priority, not SCHED_DEADLINE"},
		{specs.Scheduler{Policy: specs.SchedFIFO, Priority: 1, Runtime: 1}, "process.scheduler: runtime, deadline and period are for SCHED_DEADLINE only, not SCHED_FIFO"},
		{specs.Scheduler{Policy: specs.SchedIdle, Period: 1}, "for SCHED_DEADLINE only, not SCHED_IDLE"},
		{specs.Scheduler{Policy: specs.SchedDeadline}, "SCHED_DEADLINE needs 1024 <= runtime <= deadline <= period (a period of 0 stands for the deadline), got runtime 0, deadline 0, period 0"},
		{specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1023, Deadline: 5000}, "got runtime 1023"},
		{specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 5000, Deadline: 4000}, "got runtime 5000, deadline 4000"},
		{specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 2000, Deadline: 5000, Period: 4000}, "deadline 5000, period 4000"},
		{specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 2000, Deadline: 1 << 63}, "SCHED_DEADLINE needs"},
	} {
		_, err := schedAttr(&tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func TestDescribeSched(t *testing.T) {
	for _, tc := range []struct {
		in   specs.Scheduler
		want string
	}{
		{specs.Scheduler{Policy: specs.SchedFIFO, Priority: 10}, "SCHED_FIFO priority 10"},
		{specs.Scheduler{Policy: specs.SchedBatch, Nice: -3}, "SCHED_BATCH nice -3"},
		{specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1, Deadline: 2, Period: 3}, "SCHED_DEADLINE runtime 1 deadline 2 period 3"},
		{
			specs.Scheduler{Policy: specs.SchedRR, Priority: 1, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}},
			"SCHED_RR priority 1 flags [SCHED_FLAG_RESET_ON_FORK]",
		},
	} {
		if got := describeSched(&tc.in); got != tc.want {
			t.Errorf("describeSched(%+v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
