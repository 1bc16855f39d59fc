package cgroups

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

func (m *v2Manager) Stats() (*Stats, error) {
	if m.dir == "" {
		return nil, errors.New("cgroups: no cgroup v2 directory to read stats from")
	}
	s := &Stats{Hugetlb: make(map[string]HugetlbStats)}
	for _, read := range []func(cgroupDir, *Stats) error{
		cpuStatsV2, memoryStatsV2, pidsStats, ioStatsV2, hugetlbStatsV2,
	} {
		if err := read(m.cg(), s); err != nil {
			return nil, fmt.Errorf("cgroup stats: %w", err)
		}
	}
	return s, nil
}

// cpuStatsV2 reads cpu.stat, whose times are in microseconds. v2 has no
// per-CPU usage.
func cpuStatsV2(d cgroupDir, s *Stats) error {
	r := statReader{d: d}
	st := r.flat("cpu.stat")
	s.CPU = CPUStats{
		Usage: CPUUsage{
			Total:  st["usage_usec"] * 1000,
			User:   st["user_usec"] * 1000,
			Kernel: st["system_usec"] * 1000,
		},
		Throttling: CPUThrottling{
			Periods:          st["nr_periods"],
			ThrottledPeriods: st["nr_throttled"],
			ThrottledTime:    st["throttled_usec"] * 1000,
		},
	}
	return r.err
}

// memoryStatsV2 reports swap as memory plus swap, the way v1 counts it and
// the spec's swap limit reads, so numbers mean the same on both.
// memory.peak (Linux 5.19) is the only source of a peak usage.
func memoryStatsV2(d cgroupDir, s *Stats) error {
	r := statReader{d: d}
	m := &s.Memory
	m.Usage = MemoryEntry{
		Limit:   r.uint("memory.max"),
		Usage:   r.uint("memory.current"),
		Max:     r.uint("memory.peak"),
		Failcnt: r.flat("memory.events")["max"],
	}
	if d.has("memory.swap.current") {
		m.Swap = MemoryEntry{
			Limit:   addLimits(r.uint("memory.swap.max"), m.Usage.Limit),
			Usage:   r.uint("memory.swap.current") + m.Usage.Usage,
			Failcnt: r.flat("memory.swap.events")["max"],
		}
	}
	m.Raw = r.flat("memory.stat")
	m.Cache = m.Raw["file"]
	return r.err
}

// addLimits adds two limits where either may be unlimited.
func addLimits(a, b uint64) uint64 {
	if a == math.MaxUint64 || b == math.MaxUint64 {
		return math.MaxUint64
	}
	return a + b
}

// ioStatsV2 reads io.stat, one line per device of "key=value" pairs:
// rbytes, wbytes, rios, wios, dbytes, dios.
func ioStatsV2(d cgroupDir, s *Stats) error {
	r := statReader{d: d}
	ops := map[string]struct {
		op    string
		bytes bool
	}{
		"rbytes": {"Read", true}, "wbytes": {"Write", true}, "dbytes": {"Discard", true},
		"rios": {"Read", false}, "wios": {"Write", false}, "dios": {"Discard", false},
	}
	for _, line := range r.lines("io.stat") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		major, minor, err := parseDevice(f[0])
		if err != nil {
			return fmt.Errorf("read %s/io.stat: %w", d.path, err)
		}
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			op, ok := ops[k]
			if !ok {
				continue
			}
			n, err := parseUint(v)
			if err != nil {
				return fmt.Errorf("read %s/io.stat: %s: %w", d.path, kv, err)
			}
			e := BlkioEntry{Major: major, Minor: minor, Op: op.op, Value: n}
			if op.bytes {
				s.Blkio.IoServiceBytesRecursive = append(s.Blkio.IoServiceBytesRecursive, e)
			} else {
				s.Blkio.IoServicedRecursive = append(s.Blkio.IoServicedRecursive, e)
			}
		}
	}
	return r.err
}

func hugetlbStatsV2(d cgroupDir, s *Stats) error {
	sizes, err := hugetlbSizes(d, ".current")
	if err != nil {
		return err
	}
	r := statReader{d: d}
	for _, size := range sizes {
		p := "hugetlb." + size + "."
		s.Hugetlb[size] = HugetlbStats{
			Usage:   r.uint(p + "current"),
			Failcnt: r.flat(p + "events")["max"],
		}
	}
	return r.err
}
