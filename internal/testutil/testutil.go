// Package testutil holds the helpers that husk's tests share: the root
// check every root-only test starts with (see tests/README.md for the
// naming rule), and the small probes and loaders that were written in
// several test packages before.
//
// It is for _test.go files only; nothing in husk imports it.
package testutil

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// RequireRoot skips t unless the test runs as root. Every root-only test
// calls it first (directly, or through a helper whose first call it is).
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// BusyboxPath is the static busybox the root-only tests put in their
// root filesystems (Debian's busybox-static).
const BusyboxPath = "/bin/busybox"

// RequireBusybox skips t unless BusyboxPath exists.
func RequireBusybox(t testing.TB) {
	t.Helper()
	if !FileExists(BusyboxPath) {
		t.Skip("needs a static busybox at " + BusyboxPath + " (apt-get install busybox-static)")
	}
}

// FileExists tells whether path names something stat(2) can reach.
func FileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// AllowedCPUs lists the CPUs the calling thread may run on (its
// sched_getaffinity mask), in ascending order: the CPUs a test, and the
// runtime it starts, may use.
func AllowedCPUs(t testing.TB) []int {
	t.Helper()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		t.Fatal(err)
	}
	var cpus []int
	for i := range len(set) * 64 {
		if set.IsSet(i) {
			cpus = append(cpus, i)
		}
	}
	return cpus
}

// RepoRoot is the root of husk's checkout: the first directory up from
// the working directory (a test's package directory) whose go.mod is the
// main module's. It panics outside the checkout.
func RepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module "+module+"\n") {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			panic("testutil: not inside a checkout of " + module)
		}
		dir = parent
	}
}

const module = "github.com/husk-runtime/husk"

// PodmanProfile is the path of the podman-shaped seccomp profile the
// seccomp tests and the integration tests share.
func PodmanProfile() string {
	return filepath.Join(RepoRoot(), "libcontainer", "seccomp", "testdata", "podman-default.json")
}

// LoadSeccompProfile reads a linux.seccomp object from a JSON file.
func LoadSeccompProfile(t testing.TB, path string) *specs.LinuxSeccomp {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s specs.LinuxSeccomp
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &s
}
