package vocab

import (
	"os"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestRlimitResource(t *testing.T) {
	if r, ok := RlimitResource("RLIMIT_NOFILE"); !ok || r != 7 {
		t.Errorf("RlimitResource(RLIMIT_NOFILE) = %d, %v; want 7 on this architecture", r, ok)
	}
	if r, ok := RlimitResource("RLIMIT_CPU"); !ok || r != 0 {
		t.Errorf("RlimitResource(RLIMIT_CPU) = %d, %v", r, ok)
	}
	for _, bad := range []string{"", "NOFILE", "rlimit_nofile", "RLIMIT_NLIMITS"} {
		if _, ok := RlimitResource(bad); ok {
			t.Errorf("RlimitResource(%q) is known", bad)
		}
	}
	if n := len(RlimitNames()); n != 16 {
		t.Errorf("%d rlimits known, the kernel has 16", n)
	}
	for _, name := range RlimitNames() {
		if _, ok := RlimitResource(name); !ok {
			t.Errorf("RlimitNames lists %s, which RlimitResource does not know", name)
		}
	}
}

func TestCapabilityValue(t *testing.T) {
	for name, want := range map[string]int{
		"CAP_CHOWN":              0,
		"CAP_KILL":               5,
		"CAP_SYS_ADMIN":          21,
		"CAP_CHECKPOINT_RESTORE": 40,
	} {
		if got, ok := CapabilityValue(name); !ok || got != want {
			t.Errorf("CapabilityValue(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
	for _, bad := range []string{"", "SYS_ADMIN", "cap_sys_admin", "CAP_FLY"} {
		if _, ok := CapabilityValue(bad); ok {
			t.Errorf("CapabilityValue(%q) is known", bad)
		}
	}
}

func TestCapabilityNames(t *testing.T) {
	names := CapabilityNames()
	if len(names) != 41 {
		t.Errorf("%d capabilities known", len(names))
	}
	for i, name := range names {
		if v, ok := CapabilityValue(name); !ok || v != i {
			t.Errorf("CapabilityNames()[%d] = %s, which CapabilityValue maps to %d, %v", i, name, v, ok)
		}
	}
}

func TestNamespaces(t *testing.T) {
	for _, ty := range NamespaceTypes() {
		if CloneFlag(ty) == 0 {
			t.Errorf("CloneFlag(%s) = 0", ty)
		}
	}
	if CloneFlag("bogus") != 0 {
		t.Errorf("CloneFlag(bogus) != 0")
	}
	if CloneFlag(specs.UserNamespace) != unix.CLONE_NEWUSER || CloneFlag(specs.MountNamespace) != unix.CLONE_NEWNS {
		t.Errorf("CloneFlag maps user or mount wrong")
	}
	s := &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: specs.NetworkNamespace, Path: "/proc/1/ns/net"},
		{Type: specs.PIDNamespace},
	}}}
	for _, c := range []struct {
		ty          specs.LinuxNamespaceType
		has, hasNew bool
	}{
		{specs.NetworkNamespace, true, false},
		{specs.PIDNamespace, true, true},
		{specs.UserNamespace, false, false},
	} {
		if got := HasNamespace(s, c.ty); got != c.has {
			t.Errorf("HasNamespace(%s) = %v", c.ty, got)
		}
		if got := HasNewNamespace(s, c.ty); got != c.hasNew {
			t.Errorf("HasNewNamespace(%s) = %v", c.ty, got)
		}
	}
	for _, ty := range NamespaceTypes() {
		if _, err := os.Stat("/proc/self/ns/" + ProcNamespaceName(ty)); err != nil && !os.IsNotExist(err) {
			t.Errorf("ProcNamespaceName(%s): %v", ty, err)
		} else if err != nil && ty != specs.TimeNamespace && ty != specs.CgroupNamespace {
			t.Errorf("ProcNamespaceName(%s) = %s: %v", ty, ProcNamespaceName(ty), err)
		}
	}
	if HasNamespace(&specs.Spec{}, specs.PIDNamespace) || HasNewNamespace(nil, specs.PIDNamespace) {
		t.Errorf("a spec without linux has namespaces")
	}
}
