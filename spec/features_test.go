package spec

import (
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/husk-runtime/husk/spec/vocab"
)

func TestFeaturesJSON(t *testing.T) {
	data, err := json.Marshal(Features("1.2.3"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, []string{
		"annotations", "hooks", "linux", "mountOptions", "ociVersionMax", "ociVersionMin",
	}) {
		t.Errorf("top-level keys = %q", keys)
	}
	if got["ociVersionMin"] != "1.0.0" || got["ociVersionMax"] != "1.3.0" {
		t.Errorf("versions = %v..%v", got["ociVersionMin"], got["ociVersionMax"])
	}
	if want := []any{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}; !slices.Equal(got["hooks"].([]any), want) {
		t.Errorf("hooks = %v, want %v", got["hooks"], want)
	}
	wantAnnotations := map[string]any{
		"io.github.husk-runtime.husk.version":            "1.2.3",
		"io.github.husk-runtime.husk.checkpoint.enabled": "true",
		"io.github.husk-runtime.husk.rootless.enabled":   "true",
		"io.github.husk-runtime.husk.rootless.cgroups":   "systemd-user,cgroupfs-delegated",
	}
	if !maps.Equal(got["annotations"].(map[string]any), wantAnnotations) {
		t.Errorf("annotations = %v, want %v", got["annotations"], wantAnnotations)
	}

	linux := got["linux"].(map[string]any)
	if keys := slices.Sorted(maps.Keys(linux)); !slices.Equal(keys, []string{
		"apparmor", "capabilities", "cgroup", "intelRdt", "memoryPolicy", "mountExtensions", "namespaces",
		"netDevices", "seccomp", "selinux",
	}) {
		t.Errorf("linux keys = %q", keys)
	}
	wantCgroup := map[string]any{"v1": true, "v2": true, "systemd": true, "systemdUser": false, "rdma": true}
	if !maps.Equal(linux["cgroup"].(map[string]any), wantCgroup) {
		t.Errorf("cgroup = %v, want %v", linux["cgroup"], wantCgroup)
	}
	for _, key := range []string{"apparmor", "selinux"} {
		if !maps.Equal(linux[key].(map[string]any), map[string]any{"enabled": true}) {
			t.Errorf("%s = %v, want enabled (compiled in)", key, linux[key])
		}
	}
	for _, key := range []string{"intelRdt"} {
		if !maps.Equal(linux[key].(map[string]any), map[string]any{"enabled": false}) {
			t.Errorf("%s = %v, want disabled", key, linux[key])
		}
	}
	if sc := linux["seccomp"].(map[string]any); sc["enabled"] != true || len(sc["actions"].([]any)) == 0 {
		t.Errorf("seccomp = %v, want enabled with its actions", sc)
	}
	if !maps.Equal(linux["netDevices"].(map[string]any), map[string]any{"enabled": true}) {
		t.Errorf("netDevices = %v, want enabled", linux["netDevices"])
	}
	idmap := linux["mountExtensions"].(map[string]any)["idmap"].(map[string]any)
	if idmap["enabled"] != true {
		t.Errorf("mountExtensions.idmap = %v, want enabled", idmap)
	}
	wantNS := []any{"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}
	if !slices.Equal(linux["namespaces"].([]any), wantNS) {
		t.Errorf("namespaces = %v, want %v", linux["namespaces"], wantNS)
	}
}

func TestFeaturesLists(t *testing.T) {
	f := Features("dev")
	if !slices.Equal(f.MountOptions, vocab.KnownMountOptions()) {
		t.Errorf("mountOptions differ from what ParseMountOptions recognises")
	}
	if !slices.Contains(f.MountOptions, "tmpcopyup") {
		t.Errorf("mountOptions lack tmpcopyup: %q", f.MountOptions)
	}
	for _, want := range []string{"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"} {
		if !slices.Contains(f.Linux.Capabilities, want) {
			t.Errorf("capabilities lack %s", want)
		}
	}
	for i, name := range f.Linux.Capabilities {
		if v, ok := vocab.CapabilityValue(name); !ok || v != i {
			t.Errorf("capabilities[%d] = %s, which CapabilityValue maps to %d, %v", i, name, v, ok)
		}
	}
}
