package procattr

import (
	"fmt"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const mempolicyField = "linux.memoryPolicy"

// mempolicyModes is in the spec's order, which `husk features` keeps.
var mempolicyModes = []struct {
	name  specs.MemoryPolicyModeType
	value int
	nodes nodeRule
}{
	{specs.MpolDefault, unix.MPOL_DEFAULT, noNodes},
	{specs.MpolBind, unix.MPOL_BIND, needsNodes},
	{specs.MpolInterleave, unix.MPOL_INTERLEAVE, needsNodes},
	{specs.MpolWeightedInterleave, unix.MPOL_WEIGHTED_INTERLEAVE, needsNodes},
	{specs.MpolPreferred, unix.MPOL_PREFERRED, anyNodes}, // no nodes: local allocation
	{specs.MpolPreferredMany, unix.MPOL_PREFERRED_MANY, needsNodes},
	{specs.MpolLocal, unix.MPOL_LOCAL, noNodes},
}

var mempolicyFlags = []struct {
	name  specs.MemoryPolicyFlagType
	value int
}{
	{specs.MpolFNumaBalancing, unix.MPOL_F_NUMA_BALANCING},
	{specs.MpolFRelativeNodes, unix.MPOL_F_RELATIVE_NODES},
	{specs.MpolFStaticNodes, unix.MPOL_F_STATIC_NODES},
}

// nodeRule is what set_mempolicy(2) requires of a mode's node mask.
type nodeRule int

const (
	anyNodes nodeRule = iota
	noNodes
	needsNodes
)

// MemoryPolicyModes lists the linux.memoryPolicy modes husk recognizes,
// for `husk features`; the host's kernel may lack some of them.
func MemoryPolicyModes() []string {
	names := make([]string, len(mempolicyModes))
	for i, m := range mempolicyModes {
		names[i] = string(m.name)
	}
	return names
}

// MemoryPolicyFlags lists the linux.memoryPolicy flags husk recognizes,
// for `husk features`.
func MemoryPolicyFlags() []string {
	names := make([]string, len(mempolicyFlags))
	for i, f := range mempolicyFlags {
		names[i] = string(f.name)
	}
	return names
}

// mempolicyArgs turns linux.memoryPolicy into set_mempolicy's mode (with
// its flags) and node mask. Which flags go with which mode is left to the
// kernel, whose rules grew over releases (MPOL_F_NUMA_BALANCING); the
// shape of the node list is checked here.
func mempolicyArgs(p *specs.LinuxMemoryPolicy) (int, bitmask, error) {
	mode, rule := -1, anyNodes
	for _, m := range mempolicyModes {
		if m.name == p.Mode {
			mode, rule = m.value, m.nodes
		}
	}
	if mode < 0 {
		return 0, nil, fmt.Errorf("%s.mode: invalid memory policy mode %q: unknown mode", mempolicyField, p.Mode)
	}
	for _, name := range p.Flags {
		known := false
		for _, f := range mempolicyFlags {
			if f.name == name {
				mode |= f.value
				known = true
			}
		}
		if !known {
			return 0, nil, fmt.Errorf("%s.flags: invalid memory policy flag %q: unknown flag", mempolicyField, name)
		}
	}
	if mode&unix.MPOL_F_STATIC_NODES != 0 && mode&unix.MPOL_F_RELATIVE_NODES != 0 {
		return 0, nil, fmt.Errorf("%s.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other", mempolicyField)
	}
	nodes, err := parseList(p.Nodes)
	if err != nil {
		return 0, nil, fmt.Errorf("%s.nodes: invalid memory policy nodes %w", mempolicyField, err)
	}
	switch {
	case rule == noNodes && nodes != nil:
		return 0, nil, fmt.Errorf("%s.nodes: %s takes no nodes, got %q (memory policy mode requires 0 nodes but got %d)", mempolicyField, p.Mode, p.Nodes, nodes.count())
	case rule == needsNodes && nodes == nil:
		return 0, nil, fmt.Errorf("%s.nodes: %s needs at least one node (memory policy mode requires at least one node but got 0)", mempolicyField, p.Mode)
	}
	return mode, nodes, nil
}

// applyMemoryPolicy sets the calling thread's NUMA policy, which execve
// keeps and children inherit.
func applyMemoryPolicy(p *specs.LinuxMemoryPolicy) error {
	mode, nodes, err := mempolicyArgs(p)
	if err != nil {
		return err
	}
	var ptr unsafe.Pointer
	maxnode := 0
	if nodes != nil {
		ptr = unsafe.Pointer(&nodes[0])
		// The kernel reads maxnode-1 bits (an off-by-one kept for
		// compatibility), so one more than the mask holds.
		maxnode = nodes.nbits() + 1
	}
	if _, _, errno := unix.Syscall(unix.SYS_SET_MEMPOLICY, uintptr(mode), uintptr(ptr), uintptr(maxnode)); errno != 0 {
		return fmt.Errorf("%s: set_mempolicy %s nodes %q flags %v: %w", mempolicyField, p.Mode, p.Nodes, p.Flags, errno)
	}
	return nil
}
