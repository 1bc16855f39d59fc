package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The device rules are the spec's: a linux.devices node gets no implicit
// allow rule (runc's dev.bats checks that writing to one fails).
func TestResourcesAddNoDeviceRules(t *testing.T) {
	s := &specs.Spec{Linux: &specs.Linux{
		Resources: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}},
		Devices:   []specs.LinuxDevice{{Path: "/dev/kmsg", Type: "c", Major: 1, Minor: 11}},
	}}
	if r := resources(s); len(r.Devices) != 1 || r.Devices[0].Allow {
		t.Fatalf("device rules %+v, want the spec's deny-all alone", r.Devices)
	}
	if r := resources(&specs.Spec{Linux: &specs.Linux{}}); r == nil {
		t.Fatal("resources of a spec without any = nil, want empty")
	}
}

func TestSubCgroups(t *testing.T) {
	base := t.TempDir()
	for _, d := range []string{"memory/c", "memory/c/sub", "cpu/c"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(base, d, "cgroup.procs"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	paths := map[string]string{"memory": filepath.Join(base, "memory/c"), "cpu": filepath.Join(base, "cpu/c")}
	got, err := subCgroups(paths, []string{"memory:sub"})
	if err != nil || got["memory"] != filepath.Join(base, "memory/c/sub") || got["cpu"] != paths["cpu"] {
		t.Fatalf("memory:sub = %v, %v", got, err)
	}
	for v, want := range map[string]string{
		"..":        "bad sub cgroup path",
		"a/../../b": "bad sub cgroup path",
		"nope:/":    "unknown controller",
		"sub":       "no such file", // not below cpu/c
	} {
		if _, err := subCgroups(paths, []string{v}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("subCgroups(%q) = %v, want an error with %q", v, err, want)
		}
	}
}

// A v1 memory limit written while the preamble joins the cgroup is refused
// (EBUSY) once usage is above it: the error names the field.
func TestOOMCauseNamesTooLowLimit(t *testing.T) {
	c := &Container{State: &State{}}
	c.State.setSpec(&specs.Spec{Linux: &specs.Linux{Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: new(int64(4096))}}}}, nil)
	busy := fmt.Errorf("set cgroup limits: write memory.limit_in_bytes: %w", unix.EBUSY)
	if err := c.oomCause(busy); !strings.HasPrefix(err.Error(), "linux.resources.memory.limit 4096 is too low") || !errors.Is(err, unix.EBUSY) {
		t.Errorf("oomCause(EBUSY) = %v", err)
	}
	other := errors.New("something else")
	if err := c.oomCause(other); err != other {
		t.Errorf("oomCause(other) = %v, want it unchanged", err)
	}
}
