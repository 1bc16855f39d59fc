package cgroups

import (
	"fmt"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// isSet treats 0 like nil for memory sizes, CPU shares, CFS values and
// block IO weights, as runc does: callers such as Docker send 0 to mean
// "not configured", and 0 is never a usable memory limit, weight or CFS
// period.
func isSet[T int64 | uint64 | uint16](v *T) bool {
	return v != nil && *v != 0
}

func itoa(v int64) string  { return strconv.FormatInt(v, 10) }
func utoa(v uint64) string { return strconv.FormatUint(v, 10) }

// setCpuset writes the CPU and memory-node lists, which have the same file
// names and syntax in v1 and v2.
func setCpuset(d cgroupDir, cpu *specs.LinuxCPU) error {
	if cpu.Cpus != "" {
		if err := d.write("cpuset.cpus", cpu.Cpus); err != nil {
			return err
		}
	}
	if cpu.Mems != "" {
		if err := d.write("cpuset.mems", cpu.Mems); err != nil {
			return err
		}
	}
	return nil
}

// setPids follows runtime-spec 1.3: a negative limit means unlimited. A
// limit of 0 is applied as 1, as runc 1.5 does: systemd can't set TasksMax
// to 0, both drivers must agree, and a pids.max of 1 already lets no task
// fork beside the one in the cgroup (0 would also refuse the container's
// own init its place in the cgroup).
func setPids(d cgroupDir, pids *specs.LinuxPids) error {
	if pids.Limit == nil {
		return nil
	}
	v := "max"
	switch l := *pids.Limit; {
	case l > 0:
		v = itoa(l)
	case l == 0:
		v = "1"
	}
	return d.write("pids.max", v)
}

// blockDevice renders a block device as "MAJOR:MINOR", the key of the
// per-device blkio and io files.
func blockDevice(d specs.LinuxBlockIODevice) (string, error) {
	if d.Major < 0 || d.Minor < 0 {
		return "", fmt.Errorf("cgroups: invalid block device %d:%d", d.Major, d.Minor)
	}
	return fmt.Sprintf("%d:%d", d.Major, d.Minor), nil
}
