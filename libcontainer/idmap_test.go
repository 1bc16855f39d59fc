package libcontainer

import (
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"

	// newUserns parks husk's own binary in the namespace preamble: the
	// test binary needs that preamble as well.
	_ "github.com/husk-runtime/husk/libcontainer/nsenter"
)

func TestMountSourcesErrors(t *testing.T) {
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
		ms, err := newMountSources(s, "/")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
		if ms != nil {
			t.Errorf("%s: sources %v returned with an error", c.name, ms)
		}
	}
}

// TestMountSourcesNone: without a user namespace or an idmapped mount the
// init opens its bind sources itself.
func TestMountSourcesNone(t *testing.T) {
	s := &specs.Spec{Mounts: []specs.Mount{{Destination: "/plain", Source: "/tmp", Type: "bind"}}, Linux: &specs.Linux{}}
	ms, err := newMountSources(s, "/")
	if err != nil || ms != nil {
		t.Fatalf("no idmapped mount: got %v, %v", ms, err)
	}
}
