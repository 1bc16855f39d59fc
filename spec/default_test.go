package spec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// wantDefault is the config.json `husk spec` is expected to write, as a
// reader would check it against `runc spec`.
const wantDefault = `{
	"ociVersion": "1.3.0",
	"process": {
		"terminal": true,
		"user": {"uid": 0, "gid": 0},
		"args": ["sh"],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
		},
		"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
		"noNewPrivileges": true
	},
	"root": {"path": "rootfs", "readonly": true},
	"hostname": "husk",
	"mounts": [
		{"destination": "/proc", "type": "proc", "source": "proc"},
		{"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
			"options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
		{"destination": "/dev/pts", "type": "devpts", "source": "devpts",
			"options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
		{"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
			"options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
		{"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
			"options": ["nosuid", "noexec", "nodev"]},
		{"destination": "/sys", "type": "sysfs", "source": "sysfs",
			"options": ["nosuid", "noexec", "nodev", "ro"]},
		{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
			"options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
	],
	"linux": {
		"resources": {"devices": [{"allow": false, "access": "rwm"}]},
		"namespaces": [
			{"type": "pid"}, {"type": "network"}, {"type": "ipc"},
			{"type": "uts"}, {"type": "mount"}
		],
		"maskedPaths": [
			"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
			"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
		],
		"readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
	}
}`

func asJSONValue(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestDefaultContent(t *testing.T) {
	got, err := json.Marshal(Default(false))
	if err != nil {
		t.Fatal(err)
	}
	want := asJSONValue(t, []byte(wantDefault))
	if unifiedCgroups() {
		linux := want.(map[string]any)["linux"].(map[string]any)
		linux["namespaces"] = append(linux["namespaces"].([]any), map[string]any{"type": "cgroup"})
	}
	if !reflect.DeepEqual(asJSONValue(t, got), want) {
		t.Errorf("Default(false) marshals to\n%s\nwant\n%s (and a cgroup namespace on a cgroup v2 host)", got, wantDefault)
	}
}

// The spec is written to a file and read back by Load, as `husk spec`
// followed by `husk create` would.
func TestDefaultLoads(t *testing.T) {
	for _, rootless := range []bool{false, true} {
		data, err := json.MarshalIndent(Default(rootless), "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		bundle := writeBundle(t, string(data), true)
		s, _, err := Load(bundle)
		if err != nil {
			t.Fatalf("rootless=%v: %v", rootless, err)
		}
		want := Default(rootless)
		want.Root.Path = filepath.Join(bundle, "rootfs")
		if !reflect.DeepEqual(s, want) {
			t.Errorf("rootless=%v: round trip changed the spec:\n%+v\nwant\n%+v", rootless, s, want)
		}
	}
}

func TestDefaultRootless(t *testing.T) {
	s := Default(true)
	if s.Linux.Resources != nil {
		t.Errorf("resources = %+v, want none", s.Linux.Resources)
	}
	var types []specs.LinuxNamespaceType
	for _, n := range s.Linux.Namespaces {
		types = append(types, n.Type)
	}
	wantNS := []specs.LinuxNamespaceType{"pid", "ipc", "uts", "mount", "user"}
	if unifiedCgroups() {
		wantNS = []specs.LinuxNamespaceType{"pid", "ipc", "uts", "mount", "cgroup", "user"}
	}
	if !slices.Equal(types, wantNS) {
		t.Errorf("namespaces = %v, want %v", types, wantNS)
	}
	wantUID := []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(os.Geteuid()), Size: 1}}
	wantGID := []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(os.Getegid()), Size: 1}}
	if !reflect.DeepEqual(s.Linux.UIDMappings, wantUID) || !reflect.DeepEqual(s.Linux.GIDMappings, wantGID) {
		t.Errorf("mappings = %v / %v, want %v / %v", s.Linux.UIDMappings, s.Linux.GIDMappings, wantUID, wantGID)
	}
	// As runc's spec --rootless: the mounts of the default spec, /sys an
	// rbind of the host's, the cgroup mount kept, no uid= or gid=.
	var sys *specs.Mount
	var dests []string
	for i, m := range s.Mounts {
		dests = append(dests, m.Destination)
		if m.Destination == "/sys" {
			sys = &s.Mounts[i]
		}
		for _, o := range m.Options {
			if strings.HasPrefix(o, "gid=") || strings.HasPrefix(o, "uid=") {
				t.Errorf("mount %s keeps %s", m.Destination, o)
			}
		}
	}
	wantDests := []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"}
	if !slices.Equal(dests, wantDests) {
		t.Errorf("mounts = %v, want %v", dests, wantDests)
	}
	wantSys := specs.Mount{
		Destination: "/sys", Type: "none", Source: "/sys",
		Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"},
	}
	if sys == nil || !reflect.DeepEqual(*sys, wantSys) {
		t.Errorf("/sys mount = %+v, want %+v", sys, wantSys)
	}
}

// Each call must return a fresh spec: callers adjust it before writing.
func TestDefaultIsFresh(t *testing.T) {
	a := Default(false)
	a.Process.Capabilities.Bounding[0] = "CAP_SYS_ADMIN"
	a.Mounts[1].Options[0] = "changed"
	b := Default(false)
	if b.Process.Capabilities.Bounding[0] != "CAP_AUDIT_WRITE" || b.Mounts[1].Options[0] != "nosuid" {
		t.Error("Default shares state between calls")
	}
	if &a.Process.Capabilities.Bounding[0] == &a.Process.Capabilities.Effective[0] {
		t.Error("capability sets share one slice")
	}
}
