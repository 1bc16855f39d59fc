package cgroups

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSetHugetlbV1(t *testing.T) {
	dir := fakeDir(t, map[string]string{
		"hugetlb.2MB.limit_in_bytes": "", "hugetlb.2MB.rsvd.limit_in_bytes": "",
		"hugetlb.1GB.limit_in_bytes": "", // a kernel without reservation accounting
	})
	m := Load(map[string]string{"hugetlb": dir})
	err := m.Set(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{
		{Pagesize: "2MB", Limit: 4 << 20}, {Pagesize: "1GB", Limit: 1 << 30},
	}})
	if err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{
		"hugetlb.2MB.limit_in_bytes": "4194304", "hugetlb.2MB.rsvd.limit_in_bytes": "4194304",
		"hugetlb.1GB.limit_in_bytes": "1073741824",
	})
}

func TestSetHugetlbV2(t *testing.T) {
	dir := fakeDir(t, map[string]string{"hugetlb.2MB.max": "max", "hugetlb.2MB.rsvd.max": "max"})
	m := Load(map[string]string{"": dir})
	if err := m.Set(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 8 << 20}}}); err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{"hugetlb.2MB.max": "8388608", "hugetlb.2MB.rsvd.max": "8388608"})
}

func TestSetHugetlbErrors(t *testing.T) {
	dir := fakeDir(t, nil)
	m := Load(map[string]string{"": dir})
	for _, size := range []string{"", "2M", "MB", "2mb", "2TB", "../2MB", "2MB/x", "1.5MB"} {
		err := m.Set(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: size, Limit: 1}}})
		if err == nil || !strings.Contains(err.Error(), "invalid hugepage size") {
			t.Errorf("page size %q: err = %v", size, err)
		}
	}
	// A size the kernel has no files for names the file it wanted.
	err := m.Set(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "64KB", Limit: 1}}})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "hugetlb.64KB.max")) {
		t.Errorf("unsupported page size: err = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files written: %v", entries)
	}
}
