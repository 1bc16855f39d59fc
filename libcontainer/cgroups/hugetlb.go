package cgroups

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setHugetlb writes each page size's limit. The spec asks for the limit on
// reservations where the kernel has them (5.7+, the .rsvd. files), which
// catches overcommit at mmap time instead of with SIGBUS at fault time;
// the fault limit is written as well, so kernels without reservation
// accounting enforce the same number.
func setHugetlb(d cgroupDir, limits []specs.LinuxHugepageLimit, v2 bool) error {
	for _, l := range limits {
		if err := checkPageSize(l.Pagesize); err != nil {
			return err
		}
		limit, rsvd := hugetlbFiles(l.Pagesize, v2)
		v := utoa(l.Limit)
		if err := d.write(limit, v); err != nil {
			return fmt.Errorf("hugepage size %s: %w", l.Pagesize, err)
		}
		if d.has(rsvd) {
			if err := d.write(rsvd, v); err != nil {
				return fmt.Errorf("hugepage size %s: %w", l.Pagesize, err)
			}
		}
	}
	return nil
}

// hugetlbFiles names the fault and reservation limit files of a page size.
func hugetlbFiles(size string, v2 bool) (limit, rsvd string) {
	if v2 {
		return "hugetlb." + size + ".max", "hugetlb." + size + ".rsvd.max"
	}
	return "hugetlb." + size + ".limit_in_bytes", "hugetlb." + size + ".rsvd.limit_in_bytes"
}

// checkPageSize accepts the kernel's spelling of page sizes, a number and
// KB, MB or GB ("2MB", "1GB", "64KB"), which also keeps the name from
// reaching outside the cgroup directory.
func checkPageSize(size string) error {
	digits := strings.TrimRight(size, "KMGB")
	unit := size[len(digits):]
	if digits == "" || strings.Trim(digits, "0123456789") != "" || (unit != "KB" && unit != "MB" && unit != "GB") {
		return fmt.Errorf("cgroups: invalid hugepage size %q: want a number and KB, MB or GB, such as 2MB", size)
	}
	return nil
}
