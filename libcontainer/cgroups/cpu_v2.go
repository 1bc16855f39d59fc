package cgroups

import (
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func setCPUV2(d cgroupDir, cpu *specs.LinuxCPU) error {
	var weight string
	if isSet(cpu.Shares) {
		weight = utoa(sharesToWeight(*cpu.Shares))
	}
	if err := setWeightAndIdle(d, "cpu.weight", weight, cpu.Idle); err != nil {
		return err
	}
	if cpu.Burst == nil {
		return setCPUMaxV2(d, cpu)
	}
	// The burst may not exceed the quota in force.
	return bothOrders(
		func() error { return setCPUMaxV2(d, cpu) },
		func() error { return d.write("cpu.max.burst", utoa(*cpu.Burst)) })
}

// setCPUMaxV2 writes cpu.max, "QUOTA [PERIOD]". Writing the quota alone
// keeps the period, but a period needs a quota next to it, so an unchanged
// quota is read back first.
func setCPUMaxV2(d cgroupDir, cpu *specs.LinuxCPU) error {
	if !isSet(cpu.Quota) && !isSet(cpu.Period) {
		return nil
	}
	var quota string
	if isSet(cpu.Quota) {
		quota = v2Limit(*cpu.Quota)
	} else {
		cur, err := d.read("cpu.max")
		if err != nil {
			return err
		}
		quota, _, _ = strings.Cut(cur, " ")
	}
	v := quota
	if isSet(cpu.Period) {
		v += " " + utoa(*cpu.Period)
	}
	return d.write("cpu.max", v)
}

// sharesToWeight maps v1 cpu.shares [2, 262144] linearly onto v2 cpu.weight
// [1, 10000], so a spec written for v1 keeps its relative weights.
func sharesToWeight(shares uint64) uint64 {
	shares = min(max(shares, 2), 262144)
	return 1 + ((shares-2)*9999)/262142
}
