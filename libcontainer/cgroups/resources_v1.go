package cgroups

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setMemoryV1 writes the memory controller's limits. v1 takes "-1" for
// unlimited, which is also the spec's spelling, so values pass through.
func setMemoryV1(d cgroupDir, mem *specs.LinuxMemory) error {
	limit := setting{"memory.limit_in_bytes", ""}
	if isSet(mem.Limit) {
		limit.value = itoa(*mem.Limit)
	}
	// The spec's swap is the memory+swap total, which is what memsw holds.
	// Kernels booted without swap accounting have no memsw file; the plain
	// memory limit still applies there.
	memsw := setting{"memory.memsw.limit_in_bytes", ""}
	if isSet(mem.Swap) && d.has(memsw.file) {
		memsw.value = itoa(*mem.Swap)
	}
	var err error
	switch {
	case limit.value != "" && memsw.value != "":
		// The kernel keeps the memory limit at or below memsw at every
		// step: raising both needs memsw first, lowering needs the limit
		// first.
		err = writePair(d, limit, memsw)
	case limit.value != "":
		err = d.write(limit.file, limit.value)
	case memsw.value != "":
		err = d.write(memsw.file, memsw.value)
	}
	if err != nil {
		return err
	}
	if isSet(mem.Reservation) {
		if err := d.write("memory.soft_limit_in_bytes", itoa(*mem.Reservation)); err != nil {
			return err
		}
	}
	if mem.Swappiness != nil {
		if err := d.write("memory.swappiness", utoa(*mem.Swappiness)); err != nil {
			return err
		}
	}
	if mem.DisableOOMKiller != nil {
		v := "0"
		if *mem.DisableOOMKiller {
			v = "1"
		}
		if err := d.write("memory.oom_control", v); err != nil {
			return err
		}
	}
	return nil
}

func setCPUV1(d cgroupDir, cpu *specs.LinuxCPU) error {
	if isSet(cpu.Shares) {
		if err := d.write("cpu.shares", utoa(*cpu.Shares)); err != nil {
			return err
		}
	}
	period := setting{"cpu.cfs_period_us", ""}
	if isSet(cpu.Period) {
		period.value = utoa(*cpu.Period)
	}
	quota := setting{"cpu.cfs_quota_us", ""}
	if isSet(cpu.Quota) {
		quota.value = itoa(*cpu.Quota)
	}
	switch {
	case period.value != "" && quota.value != "":
		// The kernel validates the quota/period ratio against ancestors
		// and minimum runtimes after each write, so an intermediate pair
		// can be refused in one order but not the other.
		return writePair(d, period, quota)
	case period.value != "":
		return d.write(period.file, period.value)
	case quota.value != "":
		return d.write(quota.file, quota.value)
	}
	return nil
}
