package spec

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/spec/vocab"
)

// validSpec returns the default config with a real rootfs, which Validate
// accepts; each test case breaks one thing in it.
func validSpec(t *testing.T) *specs.Spec {
	t.Helper()
	s := Default(false)
	s.Root.Path = t.TempDir()
	return s
}

func without(list []specs.LinuxNamespace, t specs.LinuxNamespaceType) []specs.LinuxNamespace {
	var out []specs.LinuxNamespace
	for _, n := range list {
		if n.Type != t {
			out = append(out, n)
		}
	}
	return out
}

func intPtr(i int) *int { return &i }

func TestValidateRejects(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(t *testing.T, s *specs.Spec)
		want   string
	}{
		{"no version", func(_ *testing.T, s *specs.Spec) { s.Version = "" }, "ociVersion: must not be empty"},
		{"version 2", func(_ *testing.T, s *specs.Spec) { s.Version = "2.0.0" }, "ociVersion:"},
		{"version 10", func(_ *testing.T, s *specs.Spec) { s.Version = "10.0.0" }, "ociVersion:"},
		{"no root", func(_ *testing.T, s *specs.Spec) { s.Root = nil }, "root: must be present"},
		{"empty root path", func(_ *testing.T, s *specs.Spec) { s.Root.Path = "" }, "root.path: must not be empty"},
		{"missing rootfs", func(t *testing.T, s *specs.Spec) {
			s.Root.Path = filepath.Join(t.TempDir(), "nope")
		}, "root.path: stat "},
		{"rootfs is a file", func(t *testing.T, s *specs.Spec) {
			s.Root.Path = filepath.Join(t.TempDir(), "file")
			if err := os.WriteFile(s.Root.Path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}, "is not a directory"},
		{"no process", func(_ *testing.T, s *specs.Spec) { s.Process = nil }, "process: must be present"},
		{"intel rdt", func(_ *testing.T, s *specs.Spec) {
			s.Linux.IntelRdt = &specs.LinuxIntelRdt{L3CacheSchema: "L3:0=ff"}
		}, "linux.intelRdt:"},
		{"no args", func(_ *testing.T, s *specs.Spec) { s.Process.Args = nil }, "process.args: must not be empty"},
		{"empty argv0", func(_ *testing.T, s *specs.Spec) { s.Process.Args = []string{""} }, "process.args[0]: must not be empty"},
		{"empty cwd", func(_ *testing.T, s *specs.Spec) { s.Process.Cwd = "" }, "process.cwd:"},
		{"relative cwd", func(_ *testing.T, s *specs.Spec) { s.Process.Cwd = "home" }, "process.cwd:"},
		{"env without =", func(_ *testing.T, s *specs.Spec) {
			s.Process.Env = append(s.Process.Env, "JUSTANAME")
		}, "process.env[2]:"},
		{"env without key", func(_ *testing.T, s *specs.Spec) { s.Process.Env[0] = "=x" }, "process.env[0]:"},
		{"unknown rlimit", func(_ *testing.T, s *specs.Spec) { s.Process.Rlimits[0].Type = "RLIMIT_FOO" }, "process.rlimits[0].type:"},
		{"lowercase rlimit", func(_ *testing.T, s *specs.Spec) { s.Process.Rlimits[0].Type = "rlimit_nofile" }, "process.rlimits[0].type:"},
		{"duplicate rlimit", func(_ *testing.T, s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, s.Process.Rlimits[0])
		}, "process.rlimits[1].type: duplicate RLIMIT_NOFILE"},
		{"soft above hard", func(_ *testing.T, s *specs.Spec) { s.Process.Rlimits[0].Soft = 2048 }, "process.rlimits[0]: soft limit 2048 exceeds hard limit 1024"},
		{"oomScoreAdj high", func(_ *testing.T, s *specs.Spec) { s.Process.OOMScoreAdj = intPtr(1001) }, "process.oomScoreAdj:"},
		{"oomScoreAdj low", func(_ *testing.T, s *specs.Spec) { s.Process.OOMScoreAdj = intPtr(-1001) }, "process.oomScoreAdj:"},
		{"relative hook", func(_ *testing.T, s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "hook"}}}
		}, "hooks.poststop[0].path:"},
		{"zero hook timeout", func(_ *testing.T, s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/h"}, {Path: "/h", Timeout: intPtr(0)}}}
		}, "hooks.createRuntime[1].timeout:"},
		{"empty destination", func(_ *testing.T, s *specs.Spec) { s.Mounts[2].Destination = "" }, "mounts[2].destination: must not be empty"},
		{"empty option", func(_ *testing.T, s *specs.Spec) { s.Mounts[1].Options[1] = "" }, "mounts[1].options[1]:"},
		{"bind without source", func(_ *testing.T, s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "none", Options: []string{"rbind"}})
		}, "mounts[7].source:"},
		{"bind type without source", func(_ *testing.T, s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Type: "bind"})
		}, "mounts[7].source:"},
		{"no type", func(_ *testing.T, s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/data", Source: "tmpfs"})
		}, "mounts[7].type:"},
		{"no linux", func(_ *testing.T, s *specs.Spec) { s.Linux = nil }, "linux: must be present"},
		{"unknown namespace", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Namespaces[1] = specs.LinuxNamespace{Type: "net"}
		}, `linux.namespaces[1].type: unknown namespace type "net"`},
		{"duplicate namespace", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Namespaces[1] = specs.LinuxNamespace{Type: "pid", Path: "/proc/1/ns/pid"}
		}, "linux.namespaces[1].type: duplicate pid namespace"},
		{"relative namespace path", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Namespaces[0].Path = "proc/1/ns/pid"
		}, "linux.namespaces[0].path:"},
		{"hostname without uts", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Namespaces = without(s.Linux.Namespaces, specs.UTSNamespace)
		}, "hostname: needs a namespace of type uts"},
		{"domainname without uts", func(_ *testing.T, s *specs.Spec) {
			s.Hostname = ""
			s.Domainname = "example.org"
			s.Linux.Namespaces = without(s.Linux.Namespaces, specs.UTSNamespace)
		}, "domainname: needs a namespace of type uts"},
		{"uid mappings without user namespace", func(_ *testing.T, s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: 1000, Size: 1}}
		}, "linux.uidMappings: needs a namespace of type user"},
		{"gid mappings without user namespace", func(_ *testing.T, s *specs.Spec) {
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{HostID: 1000, Size: 1}}
		}, "linux.gidMappings: needs a namespace of type user"},
		{"new user namespace without mappings", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		}, "linux.uidMappings: must not be empty"},
		{"new user namespace without gid mappings", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: 1000, Size: 1}}
		}, "linux.gidMappings: must not be empty"},
		{"empty mapping", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: 1000, Size: 1}, {HostID: 2000, ContainerID: 1}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{HostID: 1000, Size: 1}}
		}, "linux.uidMappings[1].size:"},
		{"time offsets without time namespace", func(_ *testing.T, s *specs.Spec) {
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 10}}
		}, "linux.timeOffsets: needs a namespace of type time"},
		{"time offsets for joined time namespace", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace, Path: "/proc/1/ns/time"})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 10}}
		}, "linux.timeOffsets: cannot be applied"},
		{"time offset for unknown clock", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {}, "realtime": {Secs: 10}}
		}, `linux.timeOffsets: unknown clock "realtime"`},
		{"global sysctl", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "vm.swappiness": "0"}
		}, `linux.sysctl["vm.swappiness"]: not isolated`},
		{"kernel sysctl outside ipc", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{"kernel.pid_max": "100"}
		}, `linux.sysctl["kernel.pid_max"]`},
		{"net sysctl without network namespace", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Namespaces = without(s.Linux.Namespaces, specs.NetworkNamespace)
			s.Linux.Sysctl = map[string]string{"net/ipv4/ip_forward": "1"}
		}, `linux.sysctl["net/ipv4/ip_forward"]: needs a namespace of type network`},
		{"net sysctl in host network namespace", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Namespaces = without(s.Linux.Namespaces, specs.NetworkNamespace)
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: "/proc/self/ns/net"})
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}, `linux.sysctl["net.ipv4.ip_forward"]: the network namespace /proc/self/ns/net is the host's`},
		{"ipc sysctl without ipc namespace", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Namespaces = without(s.Linux.Namespaces, specs.IPCNamespace)
			s.Linux.Sysctl = map[string]string{"kernel.shmmax": "1"}
		}, `linux.sysctl["kernel.shmmax"]: needs a namespace of type ipc`},
		{"mqueue sysctl without ipc namespace", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Namespaces = without(s.Linux.Namespaces, specs.IPCNamespace)
			s.Linux.Sysctl = map[string]string{"fs.mqueue.msg_max": "1"}
		}, `linux.sysctl["fs.mqueue.msg_max"]: needs a namespace of type ipc`},
		{"uts sysctl without uts namespace", func(_ *testing.T, s *specs.Spec) {
			s.Hostname = ""
			s.Linux.Namespaces = without(s.Linux.Namespaces, specs.UTSNamespace)
			s.Linux.Sysctl = map[string]string{"kernel.domainname": "example.org"}
		}, `linux.sysctl["kernel.domainname"]: needs a namespace of type uts`},
		{"unknown device type", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "s"}}
		}, "linux.devices[0].type:"},
		{"device outside /dev", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/tmp/null", Type: "c", Major: 1, Minor: 3}}
		}, "linux.devices[0].path:"},
		{"relative device", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "dev/null", Type: "c", Major: 1, Minor: 3}}
		}, "linux.devices[0].path:"},
		{"device escaping /dev", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/../etc/passwd", Type: "c", Major: 1, Minor: 3}}
		}, "linux.devices[0].path:"},
		{"device at /dev itself", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev", Type: "c", Major: 1, Minor: 3}}
		}, "linux.devices[0].path:"},
		{"duplicate device", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{
				{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
				{Path: "/dev//null", Type: "c", Major: 1, Minor: 3},
			}
		}, "linux.devices[1].path: duplicate device /dev/null"},
		{"device major too big", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "b", Major: 4096}}
		}, "linux.devices[0].major:"},
		{"negative device minor", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/x", Type: "u", Minor: -1}}
		}, "linux.devices[0].minor:"},
		{"unknown cgroup device type", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Resources.Devices[0].Type = "p"
		}, "linux.resources.devices[0].type:"},
		{"cgroup device access without r, w or m", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Resources.Devices[0].Access = "x"
		}, "linux.resources.devices[0].access:"},
		{"relative masked path", func(_ *testing.T, s *specs.Spec) { s.Linux.MaskedPaths[3] = "proc/keys" }, "linux.maskedPaths[3]:"},
		{"relative readonly path", func(_ *testing.T, s *specs.Spec) { s.Linux.ReadonlyPaths[0] = "proc/bus" }, "linux.readonlyPaths[0]:"},
		{"unknown rootfs propagation", func(_ *testing.T, s *specs.Spec) { s.Linux.RootfsPropagation = "recursive" }, "linux.rootfsPropagation:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec(t)
			tc.mutate(t, s)
			err := Validate(s)
			if err == nil {
				t.Fatalf("Validate accepted the config, want an error containing %q", tc.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "config.json: ") || !strings.Contains(msg, tc.want) {
				t.Errorf("error = %q, want config.json: ... %q", msg, tc.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
		})
	}
}

func TestValidateNil(t *testing.T) {
	if err := Validate(nil); err == nil {
		t.Fatal("Validate(nil) = nil")
	}
}

func TestValidateAccepts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(t *testing.T, s *specs.Spec)
	}{
		{"default", func(*testing.T, *specs.Spec) {}},
		{"dev version", func(_ *testing.T, s *specs.Spec) { s.Version = "1.0.2-dev" }},
		{"relative mount destination", func(_ *testing.T, s *specs.Spec) { s.Mounts[0].Destination = "proc" }},
		{"bind mounts", func(_ *testing.T, s *specs.Spec) {
			s.Mounts = append(s.Mounts,
				specs.Mount{Destination: "/a", Type: "bind", Source: "/srv"},
				specs.Mount{Destination: "/b", Source: "/srv", Options: []string{"rbind", "rro"}},
				specs.Mount{Destination: "/c", Type: "none", Source: "/srv", Options: []string{"bind", "tmpcopyup", "x-custom=1"}},
			)
		}},
		{"idmapped mount", func(_ *testing.T, s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{
				Destination: "/data", Source: "/srv", Options: []string{"bind", "idmap"},
				UIDMappings: []specs.LinuxIDMapping{{HostID: 100000, Size: 1}},
				GIDMappings: []specs.LinuxIDMapping{{HostID: 100000, Size: 1}},
			})
		}},
		{"joined user namespace without mappings", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: "/proc/1/ns/user"})
		}},
		{"new user namespace with mappings", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings = []specs.LinuxIDMapping{{HostID: 100000, Size: 65536}}
			s.Linux.GIDMappings = []specs.LinuxIDMapping{{HostID: 100000, Size: 65536}}
		}},
		{"time namespace with offsets", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: -5}, "boottime": {Secs: 86400}}
		}},
		{"namespaced sysctls", func(_ *testing.T, s *specs.Spec) {
			s.Domainname = "example.org"
			s.Linux.Sysctl = map[string]string{
				"net.ipv4.ip_forward":               "1",
				"net/ipv4/conf/eth0.100/forwarding": "1",
				"kernel.shmmax":                     "1",
				"kernel.sem":                        "250 32000 100 128",
				"kernel.msgmnb":                     "1",
				"fs.mqueue.queues_max":              "1",
				"kernel.domainname":                 "example.org",
			}
		}},
		{"net sysctl in a joined network namespace", func(t *testing.T, s *specs.Spec) {
			other := filepath.Join(t.TempDir(), "netns")
			if err := os.WriteFile(other, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			s.Linux.Namespaces = without(s.Linux.Namespaces, specs.NetworkNamespace)
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: other})
			s.Linux.Sysctl = map[string]string{"net.core.somaxconn": "1024"}
		}},
		{"devices", func(_ *testing.T, s *specs.Spec) {
			s.Linux.Devices = []specs.LinuxDevice{
				{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
				{Path: "/dev/sda", Type: "b", Major: 8},
				{Path: "/dev/fuse", Type: "u", Major: 10, Minor: 229},
				{Path: "/dev/fifo", Type: "p"},
				{Path: "/dev/net/tun", Type: "c", Major: 10, Minor: 200},
			}
			s.Linux.Resources.Devices = append(s.Linux.Resources.Devices,
				specs.LinuxDeviceCgroup{Allow: true, Type: "c", Access: "rw"},
				specs.LinuxDeviceCgroup{Allow: true, Type: "a"})
		}},
		{"oomScoreAdj bounds", func(_ *testing.T, s *specs.Spec) { s.Process.OOMScoreAdj = intPtr(-1000) }},
		{"umask", func(_ *testing.T, s *specs.Spec) { u := uint32(0o777); s.Process.User.Umask = &u }},
		// Names no kernel knows are warned about and left out when the
		// process starts (runc 1.5), not refused.
		{"unknown capabilities", func(_ *testing.T, s *specs.Spec) {
			s.Process.Capabilities.Effective[1] = "CAP_FLY"
			s.Process.Capabilities.Ambient = []string{"cap_kill"}
			s.Process.Capabilities.Inheritable = []string{"KILL", ""}
		}},
		{"all capabilities and rlimits", func(_ *testing.T, s *specs.Spec) {
			s.Process.Capabilities.Ambient = vocab.CapabilityNames()
			s.Process.Rlimits = nil
			for _, name := range vocab.RlimitNames() {
				s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: name, Soft: 1, Hard: 2})
			}
		}},
		{"hooks", func(_ *testing.T, s *specs.Spec) {
			s.Hooks = &specs.Hooks{Prestart: []specs.Hook{{Path: "/usr/bin/hook", Timeout: intPtr(5)}}}
		}},
		{"rootfs propagation", func(_ *testing.T, s *specs.Spec) { s.Linux.RootfsPropagation = "rslave" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec(t)
			tc.mutate(t, s)
			if err := Validate(s); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The checks that used to run late (in libcontainer's Create, its idmapped
// mounts and exec) are Validate's and ValidateProcess's now, with their
// words kept.
func TestValidateMovedChecks(t *testing.T) {
	one := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	withMount := func(m specs.Mount) func(*specs.Spec) int {
		return func(s *specs.Spec) int {
			s.Mounts = append(s.Mounts, m)
			return len(s.Mounts) - 1
		}
	}
	for _, tc := range []struct {
		name   string
		mutate func(s *specs.Spec) int // returns the index of the mount it adds
		want   string                  // %d: that index
	}{
		{"netDevices without a network namespace", func(s *specs.Spec) int {
			s.Linux.Namespaces = without(s.Linux.Namespaces, specs.NetworkNamespace)
			s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {}}
			return 0
		}, "config.json: linux.netDevices: needs a network namespace"},
		{"idmap uid without gid", withMount(specs.Mount{Destination: "/d", Source: "/tmp", Type: "bind", UIDMappings: one}),
			"config.json: mounts[%d].gidMappings: idmap: must be given along with uidMappings"},
		{"idmap gid without uid", withMount(specs.Mount{Destination: "/d", Source: "/tmp", Options: []string{"rbind"}, GIDMappings: one}),
			"config.json: mounts[%d].uidMappings: idmap: must be given along with gidMappings"},
		{"idmap empty range", withMount(specs.Mount{Destination: "/d", Source: "/tmp", Type: "bind", UIDMappings: one,
			GIDMappings: []specs.LinuxIDMapping{{HostID: 1, Size: 1}, {ContainerID: 1, HostID: 2}}}),
			"config.json: mounts[%d].gidMappings[1].size: idmap: must be positive"},
		{"idmap not a bind mount", withMount(specs.Mount{Destination: "/d", Source: "tmpfs", Type: "tmpfs", Options: []string{"idmap"}}),
			`config.json: mounts[%d]: idmap: only bind mounts can be idmapped, not "tmpfs"`},
		{"idmap without mappings or user namespace", withMount(specs.Mount{Destination: "/d", Source: "/tmp", Type: "bind", Options: []string{"ridmap"}}),
			"config.json: mounts[%d]: idmap: no uidMappings and gidMappings, and no user namespace in linux.namespaces to take them from"},
		{"malformed SELinux label", func(s *specs.Spec) int { s.Process.SelinuxLabel = "nocolons"; return 0 },
			`config.json: process.selinuxLabel: "nocolons" is not an SELinux context (user:role:type[:level])`},
		{"malformed mount label", func(s *specs.Spec) int { s.Linux.MountLabel = "a:b"; return 0 },
			`config.json: linux.mountLabel: "a:b" is not an SELinux context (user:role:type[:level])`},
		{"AppArmor profile with a newline", func(s *specs.Spec) int { s.Process.ApparmorProfile = "a\nb"; return 0 },
			`config.json: process.apparmorProfile: "a\nb" contains a control character or a quote`},
		{"procattr", func(s *specs.Spec) int {
			s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO}
			return 0
		}, "config.json: process.scheduler.priority:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := validSpec(t)
			want := tc.want
			if i := tc.mutate(s); strings.Contains(want, "%d") {
				want = fmt.Sprintf(want, i)
			}
			err := Validate(s)
			if err == nil || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Validate = %v, want %q", err, want)
			}
		})
	}
}

func TestValidateAcceptsIDMapAndNetDevices(t *testing.T) {
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	s := validSpec(t)
	s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth1": {Name: "ctr1"}}
	s.Mounts = append(s.Mounts,
		specs.Mount{Destination: "/a", Source: "/srv", Type: "bind", Options: []string{"idmap"}, UIDMappings: maps, GIDMappings: maps},
		specs.Mount{Destination: "/b", Source: "/srv", Options: []string{"rbind"}, UIDMappings: maps, GIDMappings: maps})
	if err := Validate(s); err != nil {
		t.Fatal(err)
	}
	// Without mappings of its own a mount takes the container's user
	// namespace.
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	s.Linux.UIDMappings, s.Linux.GIDMappings = maps, maps
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/c", Source: "/srv", Type: "bind", Options: []string{"ridmap"}})
	if err := Validate(s); err != nil {
		t.Fatal(err)
	}
}

func TestValidateProcess(t *testing.T) {
	good := func() *specs.Process {
		return &specs.Process{Args: []string{"/bin/sh"}, Cwd: "/", Env: []string{"PATH=/bin"}}
	}
	if err := ValidateProcess(good(), &specs.Linux{}); err != nil {
		t.Fatalf("ValidateProcess(good) = %v", err)
	}
	for _, tc := range []struct {
		name  string
		spoil func(*specs.Process)
		want  string
	}{
		{"no process", nil, "process: must be present"},
		{"no args", func(p *specs.Process) { p.Args = nil }, "process.args: must not be empty"},
		{"empty argv0", func(p *specs.Process) { p.Args = []string{""} }, "process.args[0]: must not be empty"},
		{"relative cwd", func(p *specs.Process) { p.Cwd = "tmp" }, `process.cwd: must be an absolute path, got "tmp"`},
		{"env", func(p *specs.Process) { p.Env = append(p.Env, "NOEQUALS") }, `process.env[1]: "NOEQUALS" is not KEY=value`},
		{"rlimit", func(p *specs.Process) { p.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_FLY"}} }, `process.rlimits[0].type: unknown resource "RLIMIT_FLY"`},
		{"oomScoreAdj", func(p *specs.Process) { p.OOMScoreAdj = intPtr(1001) }, "process.oomScoreAdj: 1001 is outside -1000..1000"},
		// exec's nice 20 (TestProcAttrInvalid/exec).
		{"scheduler", func(p *specs.Process) { p.Scheduler = &specs.Scheduler{Policy: specs.SchedOther, Nice: 20} }, "process.scheduler"},
		{"ioPriority", func(p *specs.Process) { p.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_X"} }, "process.ioPriority.class"},
		{"execCPUAffinity", func(p *specs.Process) { p.ExecCPUAffinity = &specs.CPUAffinity{Final: "1-"} }, `process.execCPUAffinity.final: "1-"`},
		{"SELinux label", func(p *specs.Process) { p.SelinuxLabel = "x" }, `process.selinuxLabel: "x" is not an SELinux context`},
	} {
		var p *specs.Process
		if tc.spoil != nil {
			p = good()
			tc.spoil(p)
		}
		err := ValidateProcess(p, &specs.Linux{})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%s: ValidateProcess = %v, want %q", tc.name, err, tc.want)
		}
	}
}
