package procattr

import (
	"fmt"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const affinityField = "process.execCPUAffinity"

// ApplyInitialAffinity pins the calling thread to execCPUAffinity.initial.
// The spec wants the exec'd process on these CPUs before it joins the
// container's cgroup, which husk's C preamble does first thing; so call it
// in husk, on a locked OS thread, right before forking the exec stage,
// which inherits the mask. Nothing is asked for: nothing changes.
func ApplyInitialAffinity(p *specs.Process) error {
	if p == nil || p.ExecCPUAffinity == nil {
		return nil
	}
	return setAffinity(affinityField+".initial", p.ExecCPUAffinity.Initial)
}

// ApplyFinalAffinity pins the calling thread to execCPUAffinity.final; call
// it in the exec stage, on the thread that execs, after the cgroup join
// (which may have reset the mask). The setting is not for the container's
// init, whose process.execCPUAffinity is the default of later execs.
func ApplyFinalAffinity(p *specs.Process) error {
	if p == nil || p.ExecCPUAffinity == nil {
		return nil
	}
	return setAffinity(affinityField+".final", p.ExecCPUAffinity.Final)
}

// ResetAffinity lets the calling thread run on every CPU the kernel may
// have (the kernel keeps that within the thread's cpuset), so that the
// container's process does not inherit husk's own mask (`taskset -c 0 husk
// run ...`), as runc resets it. Call it after the cgroup join, before
// ApplyFinalAffinity.
func ResetAffinity() error {
	// 64Ki CPUs: the kernel ignores the bits beyond its nr_cpu_ids.
	var all [64 * 1024 / 64]uint64
	for i := range all {
		all[i] = ^uint64(0)
	}
	if _, _, errno := unix.Syscall(unix.SYS_SCHED_SETAFFINITY, 0, unsafe.Sizeof(all), uintptr(unsafe.Pointer(&all[0]))); errno != 0 {
		return fmt.Errorf("reset the CPU affinity: sched_setaffinity: %w", errno)
	}
	return nil
}

func validateAffinity(a *specs.CPUAffinity) error {
	if _, err := parseList(a.Initial); err != nil {
		return fmt.Errorf("%s.initial: %w", affinityField, err)
	}
	if _, err := parseList(a.Final); err != nil {
		return fmt.Errorf("%s.final: %w", affinityField, err)
	}
	return nil
}

// setAffinity sets the calling thread's CPU mask. An empty list leaves the
// mask to the kernel, as the spec asks.
func setAffinity(field, list string) error {
	cpus, err := parseList(list)
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	if cpus == nil {
		return nil
	}
	size := uintptr(len(cpus)) * unsafe.Sizeof(cpus[0])
	if _, _, errno := unix.Syscall(unix.SYS_SCHED_SETAFFINITY, 0, size, uintptr(unsafe.Pointer(&cpus[0]))); errno != 0 {
		return fmt.Errorf("%s: sched_setaffinity %s: %w", field, list, errno)
	}
	return nil
}
