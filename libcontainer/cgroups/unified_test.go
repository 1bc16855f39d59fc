package cgroups

import (
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSetUnified(t *testing.T) {
	dir := fakeDir(t, map[string]string{
		"cgroup.controllers": "cpu io memory pids", "memory.high": "max", "memory.max": "max", "io.max": "",
	})
	m := Load(map[string]string{"": dir})
	err := m.Set(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: new(int64(1 << 20))},
		Unified: map[string]string{
			"memory.high": "524288",
			"memory.max":  "2097152", // wins over the converted limit
			"io.max":      "8:0 rbps=1\n8:16 wbps=2\n",
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Each line is a write of its own; a regular file keeps the last.
	expectFiles(t, dir, map[string]string{"memory.high": "524288", "memory.max": "2097152", "io.max": "8:16 wbps=2"})
}

func TestSetUnifiedErrors(t *testing.T) {
	for key, want := range map[string]string{
		"../memory.max":   "invalid unified key",
		"":                "invalid unified key",
		"..":              "invalid unified key",
		"hugetlb.2MB.max": "the hugetlb controller is not available",
		"memory.nosuch":   "no such interface file",
	} {
		dir := fakeDir(t, map[string]string{"cgroup.controllers": "memory pids", "pids.max": "max"})
		m := Load(map[string]string{"": dir})
		err := m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: new(int64(1))}, Unified: map[string]string{key: "1"}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("key %q: err = %v, want %q", key, err, want)
		}
		// A bad key is refused before anything is written.
		if want == "invalid unified key" {
			expectFiles(t, dir, map[string]string{"pids.max": "max"})
		}
	}
}

// v1 refuses unified before it writes anything.
func TestSetUnifiedV1Refused(t *testing.T) {
	dir := fakeDir(t, nil)
	err := Load(map[string]string{"pids": dir}).Set(&specs.LinuxResources{
		Pids:    &specs.LinuxPids{Limit: new(int64(1))},
		Unified: map[string]string{"pids.max": "1"},
	})
	if err == nil || !strings.Contains(err.Error(), "unified needs cgroup v2") {
		t.Errorf("err = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files written: %v", entries)
	}
}
