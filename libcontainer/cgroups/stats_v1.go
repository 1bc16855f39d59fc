package cgroups

import (
	"fmt"
	"strings"
)

// userHZ is the unit of cpuacct.stat: USER_HZ, 100 on every architecture
// Linux still supports.
const userHZ = 100

// Stats reads each mounted v1 hierarchy; one that is not mounted leaves
// its part of the snapshot empty.
func (m *v1Manager) Stats() (*Stats, error) {
	s := &Stats{Hugetlb: make(map[string]HugetlbStats)}
	for _, part := range []struct {
		subsystem string
		read      func(cgroupDir, *Stats) error
	}{
		{"cpuacct", cpuacctStatsV1},
		{"cpu", cpuThrottlingV1},
		{"memory", memoryStatsV1},
		{"pids", pidsStats},
		{"blkio", blkioStatsV1},
		{"hugetlb", hugetlbStatsV1},
	} {
		d := m.dir(part.subsystem)
		if d.path == "" {
			continue
		}
		if err := part.read(d, s); err != nil {
			return nil, fmt.Errorf("cgroup stats: %w", err)
		}
	}
	return s, nil
}

func cpuacctStatsV1(d cgroupDir, s *Stats) error {
	r := statReader{d: d}
	u := &s.CPU.Usage
	u.Total = r.uint("cpuacct.usage")
	u.PerCPU = r.uints("cpuacct.usage_percpu")
	u.PerCPUKernel = r.uints("cpuacct.usage_percpu_sys")
	u.PerCPUUser = r.uints("cpuacct.usage_percpu_user")
	// The nanosecond files came with Linux 4.7; before them only the
	// tick counts of cpuacct.stat split user from system time.
	if d.has("cpuacct.usage_user") {
		u.User = r.uint("cpuacct.usage_user")
		u.Kernel = r.uint("cpuacct.usage_sys")
	} else if ticks := r.flat("cpuacct.stat"); ticks != nil {
		u.User = ticks["user"] * (1e9 / userHZ)
		u.Kernel = ticks["system"] * (1e9 / userHZ)
	}
	return r.err
}

func cpuThrottlingV1(d cgroupDir, s *Stats) error {
	r := statReader{d: d}
	if st := r.flat("cpu.stat"); st != nil {
		s.CPU.Throttling = CPUThrottling{
			Periods:          st["nr_periods"],
			ThrottledPeriods: st["nr_throttled"],
			ThrottledTime:    st["throttled_time"],
		}
	}
	return r.err
}

func memoryStatsV1(d cgroupDir, s *Stats) error {
	r := statReader{d: d}
	m := &s.Memory
	m.Usage = r.memoryEntryV1("memory.")
	m.Swap = r.memoryEntryV1("memory.memsw.")
	m.Kernel = r.memoryEntryV1("memory.kmem.")
	m.KernelTCP = r.memoryEntryV1("memory.kmem.tcp.")
	m.Raw = r.flat("memory.stat")
	// Usage counts the cgroups below as well; so does total_cache.
	m.Cache = m.Raw["total_cache"]
	return r.err
}

// memoryEntryV1 reads the four files of one v1 memory counter, such as
// memory.memsw.*; a counter the kernel lacks stays zero.
func (r *statReader) memoryEntryV1(prefix string) MemoryEntry {
	if !r.d.has(prefix + "usage_in_bytes") {
		return MemoryEntry{}
	}
	return MemoryEntry{
		Limit:   r.uint(prefix + "limit_in_bytes"),
		Usage:   r.uint(prefix + "usage_in_bytes"),
		Max:     r.uint(prefix + "max_usage_in_bytes"),
		Failcnt: r.uint(prefix + "failcnt"),
	}
}

// blkioStatsV1 takes the counters of the IO scheduler in use (CFQ's plain
// files, BFQ's blkio.bfq.*), or else those of the throttling layer, which
// every block device passes.
func blkioStatsV1(d cgroupDir, s *Stats) error {
	for _, prefix := range []string{"blkio.", "blkio.bfq.", "blkio.throttle."} {
		bytes, err := readBlkioV1(d, prefix+"io_service_bytes_recursive")
		if err != nil {
			return err
		}
		ios, err := readBlkioV1(d, prefix+"io_serviced_recursive")
		if err != nil {
			return err
		}
		if len(bytes) > 0 || len(ios) > 0 {
			s.Blkio = BlkioStats{IoServiceBytesRecursive: bytes, IoServicedRecursive: ios}
			return nil
		}
	}
	return nil
}

// readBlkioV1 parses "MAJ:MIN Op Value" lines; the closing "Total N" line
// sums every device and is left out.
func readBlkioV1(d cgroupDir, name string) ([]BlkioEntry, error) {
	r := statReader{d: d}
	var out []BlkioEntry
	for _, line := range r.lines(name) {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		major, minor, err := parseDevice(f[0])
		if err != nil {
			return nil, fmt.Errorf("read %s/%s: %w", d.path, name, err)
		}
		v, err := parseUint(f[2])
		if err != nil {
			return nil, fmt.Errorf("read %s/%s: %w", d.path, name, err)
		}
		out = append(out, BlkioEntry{Major: major, Minor: minor, Op: f[1], Value: v})
	}
	return out, r.err
}

func hugetlbStatsV1(d cgroupDir, s *Stats) error {
	sizes, err := hugetlbSizes(d, ".limit_in_bytes")
	if err != nil {
		return err
	}
	r := statReader{d: d}
	for _, size := range sizes {
		p := "hugetlb." + size + "."
		s.Hugetlb[size] = HugetlbStats{
			Usage:   r.uint(p + "usage_in_bytes"),
			Max:     r.uint(p + "max_usage_in_bytes"),
			Failcnt: r.uint(p + "failcnt"),
		}
	}
	return r.err
}
