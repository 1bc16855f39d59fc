package cgroups

import (
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// v2Limit spells the spec's -1 (unlimited) as v2's "max".
func v2Limit(v int64) string {
	if v == -1 {
		return "max"
	}
	return itoa(v)
}

// setMemoryV2 writes memory.max, memory.swap.max and memory.low. Fields
// without a v2 counterpart are left out: kernel memory is part of
// memory.max on v2, accounting is always hierarchical, and there is no
// per-cgroup swappiness or switch to disable the OOM killer.
func setMemoryV2(d cgroupDir, mem *specs.LinuxMemory) error {
	if err := refuseBelowUsage(d, "memory.current", mem); err != nil {
		return err
	}
	if isSet(mem.Limit) {
		if err := d.write("memory.max", v2Limit(*mem.Limit)); err != nil {
			return err
		}
	}
	// Without swap accounting there is no memory.swap.max; the memory
	// limit alone still applies.
	if isSet(mem.Swap) && d.has("memory.swap.max") {
		limit := int64(-1)
		if isSet(mem.Limit) {
			limit = *mem.Limit
		} else {
			cur, err := d.read("memory.max")
			if err != nil {
				return err
			}
			if cur != "max" {
				if limit, err = strconv.ParseInt(cur, 10, 64); err != nil {
					return fmt.Errorf("read %s/memory.max: %w", d.path, err)
				}
			}
		}
		v, err := swapMaxV2(*mem.Swap, limit)
		if err != nil {
			return err
		}
		if err := d.write("memory.swap.max", v); err != nil {
			return err
		}
	}
	if isSet(mem.Reservation) {
		if err := d.write("memory.low", v2Limit(*mem.Reservation)); err != nil {
			return err
		}
	}
	return nil
}

// swapMaxV2 converts the spec's memory+swap total to the swap-only value
// of memory.swap.max, given the memory limit in force (-1 for none).
func swapMaxV2(swap, limit int64) (string, error) {
	switch {
	case swap == -1:
		return "max", nil
	case limit == -1:
		return "", fmt.Errorf("cgroups: memory+swap limit %d needs a memory limit", swap)
	case swap < limit:
		return "", fmt.Errorf("cgroups: memory+swap limit %d is below the memory limit %d", swap, limit)
	}
	return itoa(swap - limit), nil
}
