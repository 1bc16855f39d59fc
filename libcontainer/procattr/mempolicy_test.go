package procattr

import (
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The features lists are the spec's constants, in the spec's order.
func TestMemoryPolicyFeatures(t *testing.T) {
	modes := []string{
		string(specs.MpolDefault), string(specs.MpolBind), string(specs.MpolInterleave),
		string(specs.MpolWeightedInterleave), string(specs.MpolPreferred),
		string(specs.MpolPreferredMany), string(specs.MpolLocal),
	}
	if got := MemoryPolicyModes(); !slices.Equal(got, modes) {
		t.Errorf("MemoryPolicyModes() = %v, want %v", got, modes)
	}
	flags := []string{string(specs.MpolFNumaBalancing), string(specs.MpolFRelativeNodes), string(specs.MpolFStaticNodes)}
	if got := MemoryPolicyFlags(); !slices.Equal(got, flags) {
		t.Errorf("MemoryPolicyFlags() = %v, want %v", got, flags)
	}
}

func TestMempolicyArgs(t *testing.T) {
	for _, tc := range []struct {
		in    specs.LinuxMemoryPolicy
		mode  int
		nodes []int
	}{
		{specs.LinuxMemoryPolicy{Mode: specs.MpolDefault}, unix.MPOL_DEFAULT, nil},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolLocal}, unix.MPOL_LOCAL, nil},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolPreferred}, unix.MPOL_PREFERRED, nil},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolPreferred, Nodes: "1"}, unix.MPOL_PREFERRED, []int{1}},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0-1"}, unix.MPOL_BIND, []int{0, 1}},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: "2-3"}, unix.MPOL_INTERLEAVE, []int{2, 3}},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolWeightedInterleave, Nodes: "0,2"}, unix.MPOL_WEIGHTED_INTERLEAVE, []int{0, 2}},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolPreferredMany, Nodes: "0-1"}, unix.MPOL_PREFERRED_MANY, []int{0, 1}},
		{
			specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: "2-3", Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}},
			unix.MPOL_INTERLEAVE | unix.MPOL_F_STATIC_NODES, []int{2, 3},
		},
		{
			specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{specs.MpolFRelativeNodes}},
			unix.MPOL_BIND | unix.MPOL_F_RELATIVE_NODES, []int{0},
		},
		{
			specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{specs.MpolFNumaBalancing}},
			unix.MPOL_BIND | unix.MPOL_F_NUMA_BALANCING, []int{0},
		},
	} {
		mode, nodes, err := mempolicyArgs(&tc.in)
		if err != nil {
			t.Errorf("%+v: %v", tc.in, err)
			continue
		}
		if mode != tc.mode || !slices.Equal(members(nodes), tc.nodes) {
			t.Errorf("%+v: got mode %#x nodes %v, want %#x %v", tc.in, mode, members(nodes), tc.mode, tc.nodes)
		}
	}
}

func TestMempolicyArgsErrors(t *testing.T) {
	for _, tc := range []struct {
		in   specs.LinuxMemoryPolicy
		want string
	}{
		{specs.LinuxMemoryPolicy{}, `linux.memoryPolicy.mode: invalid memory policy mode "": unknown mode`},
		{specs.LinuxMemoryPolicy{Mode: "MPOL_NOPE"}, `linux.memoryPolicy.mode: invalid memory policy mode "MPOL_NOPE"`},
		{specs.LinuxMemoryPolicy{Mode: "mpol_bind", Nodes: "0"}, `invalid memory policy mode "mpol_bind"`},
		{
			specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{"MPOL_F_NOPE"}},
			`linux.memoryPolicy.flags: invalid memory policy flag "MPOL_F_NOPE"`,
		},
		{
			specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes, specs.MpolFRelativeNodes}},
			"linux.memoryPolicy.flags: MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude each other",
		},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0-"}, `linux.memoryPolicy.nodes: invalid memory policy nodes "0-": "" is not a number`},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "a"}, `linux.memoryPolicy.nodes: invalid memory policy nodes "a"`},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolDefault, Nodes: "0"}, `linux.memoryPolicy.nodes: MPOL_DEFAULT takes no nodes, got "0" (memory policy mode requires 0 nodes but got 1)`},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolDefault, Nodes: "0-7"}, "mode requires 0 nodes but got 8"},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0-9876543210"}, "linux.memoryPolicy.nodes: invalid memory policy node"},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolLocal, Nodes: "1"}, "MPOL_LOCAL takes no nodes"},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolBind}, "linux.memoryPolicy.nodes: MPOL_BIND needs at least one node"},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave}, "MPOL_INTERLEAVE needs at least one node"},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolWeightedInterleave}, "MPOL_WEIGHTED_INTERLEAVE needs at least one node"},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolPreferredMany}, "MPOL_PREFERRED_MANY needs at least one node"},
	} {
		_, _, err := mempolicyArgs(&tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}
