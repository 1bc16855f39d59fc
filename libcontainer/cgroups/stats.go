package cgroups

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Stats is a snapshot of a container's resource usage. The JSON names are
// those of runc's `events --stats`, which tools parse.
type Stats struct {
	CPU     CPUStats                `json:"cpu"`
	Memory  MemoryStats             `json:"memory"`
	Pids    PidsStats               `json:"pids"`
	Blkio   BlkioStats              `json:"blkio"`
	Hugetlb map[string]HugetlbStats `json:"hugetlb"`
}

// CPUStats holds times in nanoseconds.
type CPUStats struct {
	Usage      CPUUsage      `json:"usage"`
	Throttling CPUThrottling `json:"throttling"`
}

type CPUUsage struct {
	Total        uint64   `json:"total,omitempty"`
	PerCPU       []uint64 `json:"percpu,omitempty"`
	PerCPUKernel []uint64 `json:"percpu_kernel,omitempty"`
	PerCPUUser   []uint64 `json:"percpu_user,omitempty"`
	Kernel       uint64   `json:"kernel"`
	User         uint64   `json:"user"`
}

// CPUThrottling counts CFS periods and how many of them hit the quota.
type CPUThrottling struct {
	Periods          uint64 `json:"periods,omitempty"`
	ThrottledPeriods uint64 `json:"throttledPeriods,omitempty"`
	ThrottledTime    uint64 `json:"throttledTime,omitempty"`
}

// MemoryStats holds sizes in bytes. Swap is memory plus swap, as v1 counts
// it, on v2 as well. Raw is the cgroup's memory.stat.
type MemoryStats struct {
	Cache     uint64            `json:"cache,omitempty"`
	Usage     MemoryEntry       `json:"usage"`
	Swap      MemoryEntry       `json:"swap"`
	Kernel    MemoryEntry       `json:"kernel"`
	KernelTCP MemoryEntry       `json:"kernelTCP"`
	Raw       map[string]uint64 `json:"raw,omitempty"`
}

// MemoryEntry is one memory counter: its limit, current and peak usage,
// and how often the limit was hit.
type MemoryEntry struct {
	Limit   uint64 `json:"limit"`
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// PidsStats has Limit 2^64-1 when there is no limit.
type PidsStats struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

// BlkioStats lists bytes and operations per device and direction.
type BlkioStats struct {
	IoServiceBytesRecursive []BlkioEntry `json:"ioServiceBytesRecursive,omitempty"`
	IoServicedRecursive     []BlkioEntry `json:"ioServicedRecursive,omitempty"`
}

// BlkioEntry is one counter: Op is "Read", "Write", "Sync", "Async",
// "Discard" or "Total".
type BlkioEntry struct {
	Major uint64 `json:"major,omitempty"`
	Minor uint64 `json:"minor,omitempty"`
	Op    string `json:"op,omitempty"`
	Value uint64 `json:"value,omitempty"`
}

// HugetlbStats is keyed by page size ("2MB") in Stats.
type HugetlbStats struct {
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// statReader reads interface files for Stats. A file the kernel does not
// provide (an older kernel, swap accounting off) leaves its field zero;
// the first real error is kept and ends the snapshot.
type statReader struct {
	d   cgroupDir
	err error
}

func (r *statReader) keep(err error) bool {
	if err != nil && !missing(err) && r.err == nil {
		r.err = err
	}
	return err == nil
}

func (r *statReader) uint(name string) uint64 {
	v, err := r.d.readUint(name)
	r.keep(err)
	return v
}

func (r *statReader) uints(name string) []uint64 {
	v, err := r.d.readUints(name)
	r.keep(err)
	return v
}

func (r *statReader) flat(name string) map[string]uint64 {
	v, err := r.d.readFlat(name)
	if !r.keep(err) {
		return nil
	}
	return v
}

func (r *statReader) lines(name string) []string {
	s, err := r.d.read(name)
	if !r.keep(err) || s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// pidsStats reads the files the pids controller has on v1 and v2 alike.
func pidsStats(d cgroupDir, s *Stats) error {
	r := statReader{d: d}
	s.Pids.Current = r.uint("pids.current")
	s.Pids.Limit = r.uint("pids.max")
	return r.err
}

// hugetlbSizes lists the page sizes ("2MB") the cgroup has files for, taken
// from the names of the files ending in suffix.
func hugetlbSizes(d cgroupDir, suffix string) ([]string, error) {
	entries, err := os.ReadDir(d.path)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", d.path, bareError(err))
	}
	var sizes []string
	for _, e := range entries {
		size, ok := strings.CutPrefix(e.Name(), "hugetlb.")
		if !ok {
			continue
		}
		// The .rsvd. files share the suffix but not the shape.
		if size, ok = strings.CutSuffix(size, suffix); ok && !strings.Contains(size, ".") {
			sizes = append(sizes, size)
		}
	}
	return sizes, nil
}

// parseDevice reads "MAJOR:MINOR".
func parseDevice(s string) (major, minor uint64, err error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("bad device %q", s)
	}
	if major, err = strconv.ParseUint(a, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("bad device %q", s)
	}
	if minor, err = strconv.ParseUint(b, 10, 64); err != nil {
		return 0, 0, fmt.Errorf("bad device %q", s)
	}
	return major, minor, nil
}
