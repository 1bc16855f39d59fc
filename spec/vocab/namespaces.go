package vocab

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// NamespaceTypes returns the namespaces husk can create or join, sorted as
// Features reports them.
func NamespaceTypes() []specs.LinuxNamespaceType {
	return []specs.LinuxNamespaceType{
		specs.CgroupNamespace,
		specs.IPCNamespace,
		specs.MountNamespace,
		specs.NetworkNamespace,
		specs.PIDNamespace,
		specs.TimeNamespace,
		specs.UserNamespace,
		specs.UTSNamespace,
	}
}

// CloneFlag returns the CLONE_NEW* flag that creates a namespace of type t,
// and 0 for a type husk does not know.
func CloneFlag(t specs.LinuxNamespaceType) uintptr {
	switch t {
	case specs.PIDNamespace:
		return unix.CLONE_NEWPID
	case specs.NetworkNamespace:
		return unix.CLONE_NEWNET
	case specs.MountNamespace:
		return unix.CLONE_NEWNS
	case specs.IPCNamespace:
		return unix.CLONE_NEWIPC
	case specs.UTSNamespace:
		return unix.CLONE_NEWUTS
	case specs.UserNamespace:
		return unix.CLONE_NEWUSER
	case specs.CgroupNamespace:
		return unix.CLONE_NEWCGROUP
	case specs.TimeNamespace:
		return unix.CLONE_NEWTIME
	}
	return 0
}

// HasNamespace reports whether s puts the container in a namespace of type
// t of its own, created or joined, rather than leaving it in husk's.
func HasNamespace(s *specs.Spec, t specs.LinuxNamespaceType) bool {
	if s == nil || s.Linux == nil {
		return false
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == t {
			return true
		}
	}
	return false
}

// HasNewNamespace reports whether s creates a namespace of type t (one
// without a path to join).
func HasNewNamespace(s *specs.Spec, t specs.LinuxNamespaceType) bool {
	if s == nil || s.Linux == nil {
		return false
	}
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == t && ns.Path == "" {
			return true
		}
	}
	return false
}

// ProcNamespaceName returns the name of a namespace of type t in
// /proc/<pid>/ns ("net" for network, "mnt" for mount).
func ProcNamespaceName(t specs.LinuxNamespaceType) string {
	switch t {
	case specs.NetworkNamespace:
		return "net"
	case specs.MountNamespace:
		return "mnt"
	}
	return string(t)
}
