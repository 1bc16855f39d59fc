// Package vocab is the runtime-spec vocabulary husk speaks: what the names
// and values of a config.json mean to the kernel. It holds the mount
// options (ParseMountOptions, IDMapOf), the capability and rlimit tables
// (CapabilityValue, RlimitResource), and the namespace types with their
// clone flags and queries on a spec (HasNamespace, HasNewNamespace).
//
// It is a leaf: it imports only the standard library, the runtime-spec
// types and golang.org/x/sys, so every husk package may import it. Loading
// and checking a configuration (package spec) sit above it, and so do the
// packages that act on one (rootfs, procattr, seccomp, libcontainer).
// Nothing here validates a configuration or keeps state.
package vocab
