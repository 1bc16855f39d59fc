package testutil

import (
	"path/filepath"
	"testing"
)

func TestRepoRootAndProfile(t *testing.T) {
	if !FileExists(filepath.Join(RepoRoot(), "libcontainer", "nsenter", "nsenter.c")) {
		t.Fatalf("RepoRoot() = %s: no husk checkout there", RepoRoot())
	}
	s := LoadSeccompProfile(t, PodmanProfile())
	if s.DefaultAction == "" || len(s.Syscalls) == 0 {
		t.Errorf("podman profile: %+v", s)
	}
	if FileExists(filepath.Join(RepoRoot(), "no-such-file")) {
		t.Error("FileExists of a missing file")
	}
}

func TestAllowedCPUs(t *testing.T) {
	cpus := AllowedCPUs(t)
	if len(cpus) == 0 {
		t.Fatal("no CPUs in the affinity mask")
	}
	for i := 1; i < len(cpus); i++ {
		if cpus[i] <= cpus[i-1] {
			t.Fatalf("not ascending: %v", cpus)
		}
	}
}
