package spec

import (
	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/husk-runtime/husk/libcontainer/procattr"
	"github.com/husk-runtime/husk/libcontainer/seccomp"
	"github.com/husk-runtime/husk/spec/vocab"
)

// Annotation keys husk adds to its features document.
const (
	VersionAnnotation    = "io.github.husk-runtime.husk.version"
	CheckpointAnnotation = "io.github.husk-runtime.husk.checkpoint.enabled"
	// RootlessAnnotation says a non-root user may run husk, and
	// RootlessCgroupsAnnotation where its containers' limits can go: the
	// user's systemd instance (--systemd-cgroup) or a cgroup v2 subtree
	// the user owns (cgroupfs), both on cgroup v2; elsewhere a rootless
	// container has no cgroup and may ask for no limit.
	RootlessAnnotation        = "io.github.husk-runtime.husk.rootless.enabled"
	RootlessCgroupsAnnotation = "io.github.husk-runtime.husk.rootless.cgroups"
)

// Features describes what this build of husk implements, for `husk features`.
// version is husk's own version, reported as an annotation.
func Features(version string) *features.Features {
	types := vocab.NamespaceTypes()
	namespaces := make([]string, len(types))
	for i, t := range types {
		namespaces[i] = string(t)
	}
	return &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: "1.3.0",
		Hooks: []string{
			"prestart",
			"createRuntime",
			"createContainer",
			"startContainer",
			"poststart",
			"poststop",
		},
		MountOptions: vocab.KnownMountOptions(),
		Linux: &features.Linux{
			Namespaces:   namespaces,
			Capabilities: vocab.CapabilityNames(),
			Cgroup: &features.Cgroup{
				V1:          new(true),
				V2:          new(true),
				Systemd:     new(true),
				SystemdUser: new(false),
				Rdma:        new(true),
			},
			Seccomp: &features.Seccomp{
				Enabled:        new(true),
				Actions:        seccomp.Actions(),
				Operators:      seccomp.Operators(),
				Archs:          seccomp.Archs(),
				KnownFlags:     seccomp.KnownFlags(),
				SupportedFlags: seccomp.Flags(),
			},
			Apparmor: &features.Apparmor{Enabled: new(true)},
			Selinux:  &features.Selinux{Enabled: new(true)},
			IntelRdt: &features.IntelRdt{Enabled: new(false)},
			MountExtensions: &features.MountExtensions{
				IDMap: &features.IDMap{Enabled: new(true)},
			},
			NetDevices: &features.NetDevices{Enabled: new(true)},
			MemoryPolicy: &features.MemoryPolicy{
				Modes: procattr.MemoryPolicyModes(),
				Flags: procattr.MemoryPolicyFlags(),
			},
		},
		Annotations: map[string]string{
			VersionAnnotation: version,
			// checkpoint and restore through the criu binary (see
			// README.md for what restore does not do yet), as runc's
			// org.opencontainers.runc.checkpoint.enabled.
			CheckpointAnnotation:      "true",
			RootlessAnnotation:        "true",
			RootlessCgroupsAnnotation: "systemd-user,cgroupfs-delegated",
		},
	}
}
