package libcontainer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	// newUserns parks husk's own binary in the namespace preamble: the
	// test binary needs that preamble as well.
	_ "github.com/husk-runtime/husk/libcontainer/nsenter"
)

func TestPrepareIDMappedMountsErrors(t *testing.T) {
	for _, c := range []struct {
		name  string
		mount specs.Mount
		ns    []specs.LinuxNamespace
		want  string
	}{
		// The checks of the mappings themselves are spec.Validate's
		// (spec/validate_test.go, TestValidateMovedChecks).
		{"no mapping, no user namespace", specs.Mount{Destination: "/d", Source: "/tmp", Type: "bind", Options: []string{"ridmap"}},
			[]specs.LinuxNamespace{{Type: specs.MountNamespace}}, "mounts[1]: idmap: no uidMappings and gidMappings"},
		{"joined namespace is no user namespace", specs.Mount{Destination: "/d", Source: "/tmp", Type: "bind", Options: []string{"idmap"}},
			[]specs.LinuxNamespace{{Type: specs.UserNamespace, Path: "/proc/self/ns/mnt"}}, "/proc/self/ns/mnt is not a user namespace"},
	} {
		s := &specs.Spec{
			Mounts: []specs.Mount{{Destination: "/plain", Source: "/tmp", Type: "bind"}, c.mount},
			Linux:  &specs.Linux{Namespaces: c.ns},
		}
		mounts, err := PrepareIDMappedMounts(s, "/")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
		if mounts != nil {
			t.Errorf("%s: mounts %v returned with an error", c.name, mounts)
		}
	}
}

func TestPrepareIDMappedMountsNone(t *testing.T) {
	s := &specs.Spec{Mounts: []specs.Mount{{Destination: "/plain", Source: "/tmp", Type: "bind"}}, Linux: &specs.Linux{}}
	mounts, err := PrepareIDMappedMounts(s, "/")
	if err != nil || mounts != nil {
		t.Fatalf("no idmapped mount: got %v, %v", mounts, err)
	}
}

// TestPrepareIDMappedMounts makes real idmapped mounts and looks at a file
// through them, from the host: the mapping turns on-disk ids (containerID)
// into ids at the mount (hostID).
func TestPrepareIDMappedMounts(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("idmapped mounts need root")
	}
	bundle := t.TempDir()
	src := filepath.Join(bundle, "src")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(src, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(file, 2000, 3000); err != nil {
		t.Fatal(err)
	}
	userMaps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s := &specs.Spec{
		Mounts: []specs.Mount{
			{Destination: "/plain", Source: "src", Type: "bind"},
			{Destination: "/own", Source: "src", Type: "bind", Options: []string{"idmap"},
				UIDMappings: []specs.LinuxIDMapping{{ContainerID: 2000, HostID: 1000, Size: 1}},
				GIDMappings: []specs.LinuxIDMapping{{ContainerID: 3000, HostID: 1001, Size: 1}}},
			{Destination: "/container", Source: src, Options: []string{"rbind", "ridmap"}},
			{Destination: "/again", Source: src, Options: []string{"bind", "idmap"}},
		},
		Linux: &specs.Linux{
			Namespaces:  []specs.LinuxNamespace{{Type: specs.UserNamespace}, {Type: specs.MountNamespace}},
			UIDMappings: userMaps,
			GIDMappings: userMaps,
		},
	}
	mounts, err := PrepareIDMappedMounts(s, bundle)
	if err != nil {
		if strings.Contains(err.Error(), "support idmapped mounts") {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	defer closeFiles(mounts)
	if len(mounts) != 3 {
		t.Fatalf("want 3 prepared mounts, got %v", mounts)
	}
	for i, want := range map[int][2]uint32{1: {1000, 1001}, 2: {102000, 103000}, 3: {102000, 103000}} {
		var st unix.Stat_t
		if err := unix.Fstatat(int(mounts[i].Fd()), "f", &st, 0); err != nil {
			t.Fatalf("mounts[%d]: %v", i, err)
		}
		if st.Uid != want[0] || st.Gid != want[1] {
			t.Errorf("mounts[%d]: f is %d:%d through the idmapped mount, want %d:%d", i, st.Uid, st.Gid, want[0], want[1])
		}
	}
}
