package cgroups

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSetMemoryV1KernelAndHierarchy(t *testing.T) {
	dir := fakeDir(t, map[string]string{
		"memory.kmem.limit_in_bytes": "", "memory.kmem.tcp.limit_in_bytes": "", "memory.use_hierarchy": "",
	})
	m := Load(map[string]string{"memory": dir})
	err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{
		Kernel: new(int64(1 << 24)), KernelTCP: new(int64(-1)), UseHierarchy: new(true),
	}})
	if err != nil {
		t.Fatal(err)
	}
	expectFiles(t, dir, map[string]string{
		"memory.kmem.limit_in_bytes": "16777216", "memory.kmem.tcp.limit_in_bytes": "-1", "memory.use_hierarchy": "1",
	})
}

// A kernel memory limit the kernel has no file for is refused, naming the
// file and the spec field.
func TestSetMemoryV1KernelMissing(t *testing.T) {
	for field, mem := range map[string]*specs.LinuxMemory{
		"kernel":    {Kernel: new(int64(1 << 24))},
		"kernelTCP": {KernelTCP: new(int64(1 << 24))},
	} {
		dir := fakeDir(t, nil)
		err := Load(map[string]string{"memory": dir}).Set(&specs.LinuxResources{Memory: mem})
		file := "memory.kmem.limit_in_bytes"
		if field == "kernelTCP" {
			file = "memory.kmem.tcp.limit_in_bytes"
		}
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, file)) || !strings.Contains(err.Error(), "memory."+field+":") {
			t.Errorf("%s without %s: err = %v", field, file, err)
		}
	}
}

func TestCheckBeforeUpdate(t *testing.T) {
	for _, tc := range []struct {
		name        string
		layout      func(dir string) map[string]string
		usage, file string
	}{
		{"v1", func(d string) map[string]string { return map[string]string{"memory": d} }, "memory.usage_in_bytes", "memory.limit_in_bytes"},
		{"v2", func(d string) map[string]string { return map[string]string{"": d} }, "memory.current", "memory.max"},
	} {
		dir := fakeDir(t, map[string]string{tc.usage: "100000\n", tc.file: "orig"})
		m := Load(tc.layout(dir))
		below := &specs.LinuxMemory{Limit: new(int64(50000)), CheckBeforeUpdate: new(true)}
		err := m.Set(&specs.LinuxResources{Memory: below})
		if err == nil || !strings.Contains(err.Error(), "below the current usage 100000") {
			t.Errorf("%s: limit below usage with checkBeforeUpdate: err = %v", tc.name, err)
		}
		expectFiles(t, dir, map[string]string{tc.file: "orig"})

		for _, mem := range []*specs.LinuxMemory{
			{Limit: new(int64(200000)), CheckBeforeUpdate: new(true)},
			{Limit: new(int64(-1)), CheckBeforeUpdate: new(true)},
			{Limit: new(int64(50000)), CheckBeforeUpdate: new(false)},
			{Limit: new(int64(50000))},
		} {
			if err := m.Set(&specs.LinuxResources{Memory: mem}); err != nil {
				t.Errorf("%s: Set(limit %d, check %v): %v", tc.name, *mem.Limit, mem.CheckBeforeUpdate, err)
			}
		}
	}
}

// Fields without a v2 counterpart are ignored on v2, and touch no file.
func TestSetMemoryV2IgnoresV1OnlyFields(t *testing.T) {
	dir := fakeDir(t, nil)
	err := Load(map[string]string{"": dir}).Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{
		Kernel: new(int64(1 << 24)), KernelTCP: new(int64(1 << 24)), Swappiness: new(uint64(10)),
		DisableOOMKiller: new(true), UseHierarchy: new(true),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files written: %v", entries)
	}
}
