package libcontainer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/internal/testutil"
)

// TestMountSources makes real idmapped mounts and looks at a file through
// them, from the host: the mapping turns on-disk ids (containerID) into ids
// at the mount (hostID). A plain bind's source is the directory itself.
func TestMountSources(t *testing.T) {
	testutil.RequireRoot(t)
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
	ms, err := newMountSources(s, bundle)
	if err != nil {
		t.Fatal(err)
	}
	defer ms.close()
	for i, want := range map[int][2]uint32{0: {2000, 3000}, 1: {1000, 1001}, 2: {102000, 103000}, 3: {102000, 103000}} {
		f, err := ms.source(i)
		if err != nil {
			if strings.Contains(err.Error(), "support idmapped mounts") {
				t.Skip(err)
			}
			t.Fatalf("mounts[%d]: %v", i, err)
		}
		defer f.Close()
		var st unix.Stat_t
		if err := unix.Fstatat(int(f.Fd()), "f", &st, 0); err != nil {
			t.Fatalf("mounts[%d]: %v", i, err)
		}
		if st.Uid != want[0] || st.Gid != want[1] {
			t.Errorf("mounts[%d]: f is %d:%d through the idmapped mount, want %d:%d", i, st.Uid, st.Gid, want[0], want[1])
		}
	}
}
