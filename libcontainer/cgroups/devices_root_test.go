package cgroups

import (
	"os/exec"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// TestDeviceFilterOnKernel attaches a filter to a cgroup of the host's
// cgroup2 tree (which any hybrid or unified host has) and checks what a
// process in it may open.
func TestDeviceFilterOnKernel(t *testing.T) {
	m, dir := unifiedTestCgroup(t, false)
	// /dev/kmsg (1:11) may be opened for reading only; /dev/loop-control
	// and /dev/loop0, which root may open outside the cgroup, not at all;
	// the default rules allow /dev/null and mknod.
	rules := []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}, char(1, 11, "r", true)}
	for _, dev := range []string{"/dev/loop-control", "/dev/loop0"} {
		if err := exec.Command("/bin/sh", "-c", "exec 3<"+dev).Run(); err != nil {
			t.Skipf("cannot open %s even without a filter: %v", dev, err)
		}
	}
	// Set twice: the second program must replace the first, not add to it.
	for range 2 {
		if err := m.Set(&specs.LinuxResources{Devices: rules}); err != nil {
			t.Fatal(err)
		}
	}
	cg, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cg)
	if ids, err := attachedDevicePrograms(cg); err != nil || len(ids) != 1 {
		t.Errorf("attached programs = %v, %v; want exactly one", ids, err)
	}
	for _, tc := range []struct {
		script string
		ok     bool
	}{
		{"exec 3>/dev/null", true},
		{"exec 3</dev/kmsg", true},
		{"exec 3>/dev/kmsg", false},
		{"exec 3</dev/loop-control", false},
		{"exec 3</dev/loop0", false},
		{"mknod " + filepath.Join(t.TempDir(), "mem") + " c 1 1", true},
	} {
		// The shell moves itself into the cgroup, then tries the access.
		join := "echo $$ > " + filepath.Join(dir, "cgroup.procs") + " && "
		out, err := exec.Command("/bin/sh", "-c", join+tc.script).CombinedOutput()
		if (err == nil) != tc.ok {
			t.Errorf("%q in the cgroup: err = %v (%s), want success %v", tc.script, err, out, tc.ok)
		}
	}
}
