package cgroups

import (
	"os"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestSetNetworkV1(t *testing.T) {
	cls := fakeDir(t, map[string]string{"net_cls.classid": ""})
	prio := fakeDir(t, map[string]string{"net_prio.ifpriomap": ""})
	m := Load(map[string]string{"net_cls": cls, "net_prio": prio})
	err := m.Set(&specs.LinuxResources{Network: &specs.LinuxNetwork{
		ClassID:    new(uint32(0x100001)),
		Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 5}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	expectFiles(t, cls, map[string]string{"net_cls.classid": "1048577"})
	expectFiles(t, prio, map[string]string{"net_prio.ifpriomap": "eth0 5"})

	err = m.Set(&specs.LinuxResources{Network: &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: "eth0 1"}}}})
	if err == nil || !strings.Contains(err.Error(), "invalid network interface name") {
		t.Errorf("interface name with a blank: err = %v", err)
	}
}

// Each network field needs its own v1 hierarchy; the error names the
// missing one.
func TestSetNetworkV1MissingHierarchy(t *testing.T) {
	m := Load(map[string]string{"net_cls": fakeDir(t, map[string]string{"net_cls.classid": ""})})
	err := m.Set(&specs.LinuxResources{Network: &specs.LinuxNetwork{Priorities: []specs.LinuxInterfacePriority{{Name: "lo", Priority: 1}}}})
	if err == nil || !strings.Contains(err.Error(), "no net_prio cgroup hierarchy is mounted") {
		t.Errorf("err = %v", err)
	}
	m = Load(map[string]string{"memory": fakeDir(t, nil)})
	err = m.Set(&specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: new(uint32(1))}})
	if err == nil || !strings.Contains(err.Error(), "no net_cls cgroup hierarchy is mounted") {
		t.Errorf("err = %v", err)
	}
	// An empty network object asks for nothing.
	if err := m.Set(&specs.LinuxResources{Network: &specs.LinuxNetwork{}}); err != nil {
		t.Errorf("empty network: %v", err)
	}
}

func TestSetNetworkV2Refused(t *testing.T) {
	dir := fakeDir(t, nil)
	err := Load(map[string]string{"": dir}).Set(&specs.LinuxResources{
		Pids:    &specs.LinuxPids{Limit: new(int64(1))},
		Network: &specs.LinuxNetwork{ClassID: new(uint32(1))},
	})
	if err == nil || !strings.Contains(err.Error(), "net_cls") {
		t.Errorf("err = %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files written: %v", entries)
	}
}
