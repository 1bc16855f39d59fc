package spec

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds config.json bytes through Load, the path create and run
// take from a bundle to a validated spec. A config Load accepts must come
// out in the form the rest of husk relies on, pass Validate again, and
// survive being written back out, its seccomp profile included: husk
// saves the spec in state.json and later commands read it from there.
func FuzzLoad(f *testing.F) {
	def := Default(false)
	def.Root.Path = "rootfs"
	defJSON, err := json.Marshal(def)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(defJSON)
	rootless := Default(true)
	rootless.Root.Path = "rootfs"
	if data, err := json.Marshal(rootless); err == nil {
		f.Add(data)
	}
	for _, seed := range []string{
		minimalConfig("rootfs"),
		minimalConfig("./rootfs/"),
		minimalConfig("/"),
		"{\n  \"ociVersion\": \"1.0.0\",\n  \"root\": ,\n}",
		"",
		`{"process": {"args": "sh"}}`,
		`{"process": {"user": {"uid": "root"}}}`,
		`{"linux": {"uidMappings": [{"hostID": -1}]}}`,
		`{"mounts": [{"options": [1]}]}`,
		`[]`,
		`{"ociVersion": "1.0.0", "root": {"path": "rootfs"}, "process": {"cwd": "/"}, "linux": {}}`,
		`{"ociVersion": "1.0.2", "root": {"path": "rootfs"}, "process": {"args": ["sh"], "cwd": "/",
		  "scheduler": {"policy": "SCHED_OTHER", "nice": 5}, "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
		  "execCPUAffinity": {"initial": "0-1,3", "final": "0"}},
		  "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}],
		  "personality": {"domain": "LINUX32"}, "memoryPolicy": {"mode": "MPOL_BIND", "nodes": "0"},
		  "seccomp": {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86_64"],
		    "syscalls": [{"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"}]},
		  "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229}],
		  "sysctl": {"net.ipv4.ip_forward": "1"}, "timeOffsets": {"monotonic": {"secs": 1}}}}`,
	} {
		f.Add([]byte(seed))
	}

	// One bundle per fuzzing process, rewritten for each input.
	bundle := f.TempDir()
	if err := os.Mkdir(filepath.Join(bundle, "rootfs"), 0o755); err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(bundle, ConfigName)
	f.Fuzz(func(t *testing.T, data []byte) {
		// The generated codec, where it takes the input, and the
		// profile's canonical form agree with encoding/json.
		sameDecode(t, data)
		checkCanonical(t, data)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, profile, err := Load(bundle)
		if err != nil {
			// Whatever the input, the user is told it is about config.json.
			if !strings.Contains(err.Error(), ConfigName) {
				t.Fatalf("error %q does not name %s", err, ConfigName)
			}
			return
		}
		if !filepath.IsAbs(s.Root.Path) || filepath.Clean(s.Root.Path) != s.Root.Path {
			t.Fatalf("root.path %q is not absolute and clean", s.Root.Path)
		}
		for i, m := range s.Mounts {
			if !filepath.IsAbs(m.Destination) {
				t.Fatalf("mounts[%d].destination %q is not absolute", i, m.Destination)
			}
		}
		if err := Validate(s); err != nil {
			t.Fatalf("Load accepted a config Validate refuses: %v", err)
		}
		sameEncode(t, s, profile)
		out, err := Marshal(s, profile)
		if err != nil {
			t.Fatalf("an accepted config does not marshal: %v", err)
		}
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		again, againProfile, err := Load(bundle)
		if err != nil {
			t.Fatalf("an accepted config, written back, is refused: %v\n%s", err, out)
		}
		out2, err := Marshal(again, againProfile)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, out2) {
			t.Fatalf("config changed on a second load:\n%s\n%s", out, out2)
		}
	})
}
