package cgroups

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func setCPUV1(d cgroupDir, cpu *specs.LinuxCPU) error {
	var shares string
	if isSet(cpu.Shares) {
		shares = utoa(*cpu.Shares)
	}
	if err := setWeightAndIdle(d, "cpu.shares", shares, cpu.Idle); err != nil {
		return err
	}
	if err := setCFSV1(d, cpu); err != nil {
		return err
	}
	return setRealtimeV1(d, cpu)
}

// setCFSV1 writes the CFS bandwidth: period, quota and burst.
func setCFSV1(d cgroupDir, cpu *specs.LinuxCPU) error {
	period := setting{"cpu.cfs_period_us", ""}
	if isSet(cpu.Period) {
		period.value = utoa(*cpu.Period)
	}
	quota := setting{"cpu.cfs_quota_us", ""}
	if isSet(cpu.Quota) {
		quota.value = itoa(*cpu.Quota)
	}
	// The kernel validates the quota/period ratio against ancestors and
	// minimum runtimes after each write, so an intermediate pair can be
	// refused in one order but not the other.
	bandwidth := func() error { return writePair(d, period, quota) }
	// A burst of 0 is a real value (no burst), so only nil leaves it alone.
	if cpu.Burst == nil {
		return bandwidth()
	}
	// The burst may not exceed the quota in force.
	return bothOrders(bandwidth, func() error { return d.write("cpu.cfs_burst_us", utoa(*cpu.Burst)) })
}

// setRealtimeV1 writes the realtime budget. Kernels without
// CONFIG_RT_GROUP_SCHED have no such files, so the write fails naming
// the file, as it should when the spec asks for a budget.
func setRealtimeV1(d cgroupDir, cpu *specs.LinuxCPU) error {
	period := setting{"cpu.rt_period_us", ""}
	if isSet(cpu.RealtimePeriod) {
		period.value = utoa(*cpu.RealtimePeriod)
	}
	runtime := setting{"cpu.rt_runtime_us", ""}
	if isSet(cpu.RealtimeRuntime) {
		runtime.value = itoa(*cpu.RealtimeRuntime)
	}
	// The runtime must fit in the period at every step.
	return writePair(d, period, runtime)
}

// setWeightAndIdle writes the CPU weight (v1 cpu.shares, v2 cpu.weight;
// "" leaves it alone) and cpu.idle. The kernel refuses weight changes on
// an idle cgroup, so the weight goes in before idle is switched on and
// after it is switched off.
func setWeightAndIdle(d cgroupDir, weightFile, weight string, idle *int64) error {
	writeWeight := func() error {
		if weight == "" {
			return nil
		}
		return d.write(weightFile, weight)
	}
	if idle == nil {
		return writeWeight()
	}
	writeIdle := func() error { return d.write("cpu.idle", itoa(*idle)) }
	if *idle != 0 {
		if err := writeWeight(); err != nil {
			return err
		}
		return writeIdle()
	}
	if err := writeIdle(); err != nil {
		return err
	}
	return writeWeight()
}
