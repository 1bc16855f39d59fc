package cgroups

import (
	"errors"
	"fmt"
	"io/fs"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setMemoryV1 writes the memory controller's limits. v1 takes "-1" for
// unlimited, which is also the spec's spelling, so values pass through.
func setMemoryV1(d cgroupDir, mem *specs.LinuxMemory) error {
	if err := refuseBelowUsage(d, "memory.usage_in_bytes", mem); err != nil {
		return err
	}
	if err := setMemoryLimitsV1(d, mem); err != nil {
		return err
	}
	if isSet(mem.Kernel) {
		if err := writeKmemLimit(d, "memory.kmem.limit_in_bytes", "kernel", *mem.Kernel); err != nil {
			return err
		}
	}
	if isSet(mem.KernelTCP) {
		if err := writeKmemLimit(d, "memory.kmem.tcp.limit_in_bytes", "kernelTCP", *mem.KernelTCP); err != nil {
			return err
		}
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
		if err := d.write("memory.oom_control", boolValue(*mem.DisableOOMKiller)); err != nil {
			return err
		}
	}
	if mem.UseHierarchy != nil {
		// Kernels since 5.x always account hierarchically and refuse 0
		// with EINVAL, which the error then shows.
		if err := d.write("memory.use_hierarchy", boolValue(*mem.UseHierarchy)); err != nil {
			return err
		}
	}
	return nil
}

// setMemoryLimitsV1 writes the memory limit and the memory+swap limit.
func setMemoryLimitsV1(d cgroupDir, mem *specs.LinuxMemory) error {
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
	// The kernel keeps the memory limit at or below memsw at every step:
	// raising both needs memsw first, lowering needs the limit first.
	return writePair(d, limit, memsw)
}

// writeKmemLimit writes a kernel memory limit. Kernel memory limits are
// deprecated: recent kernels accept and ignore the write, or have no kmem
// files at all. Where the file is missing, a limit the spec asks for is an
// error rather than a silent no-op.
func writeKmemLimit(d cgroupDir, file, field string, v int64) error {
	err := d.write(file, itoa(v))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("linux.resources.memory.%s: %w (this kernel has no kernel memory limits)", field, err)
	}
	return err
}

// refuseBelowUsage implements checkBeforeUpdate: a new memory limit below
// what the container uses now is refused before anything is written. v1
// would refuse it too, but only after trying to reclaim, and v2 would let
// the OOM killer loose instead.
func refuseBelowUsage(d cgroupDir, usageFile string, mem *specs.LinuxMemory) error {
	if mem.CheckBeforeUpdate == nil || !*mem.CheckBeforeUpdate || !isSet(mem.Limit) || *mem.Limit < 0 {
		return nil
	}
	usage, err := d.readUint(usageFile)
	if err != nil {
		return err
	}
	if uint64(*mem.Limit) < usage {
		return fmt.Errorf("cgroups: memory limit %d is below the current usage %d (checkBeforeUpdate is set)", *mem.Limit, usage)
	}
	return nil
}

func boolValue(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
