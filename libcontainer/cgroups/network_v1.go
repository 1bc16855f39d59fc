package cgroups

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// setNetworkV1 writes the class id (net_cls) and the per-interface
// priorities (net_prio). Each controller must be mounted when its field is
// set; the error then names the missing hierarchy.
func setNetworkV1(cls, prio cgroupDir, n *specs.LinuxNetwork) error {
	if n.ClassID != nil {
		if err := cls.write("net_cls.classid", fmt.Sprint(*n.ClassID)); err != nil {
			return err
		}
	}
	for _, p := range n.Priorities {
		if p.Name == "" || strings.ContainsAny(p.Name, " \t\n") {
			return fmt.Errorf("cgroups: invalid network interface name %q", p.Name)
		}
		// One interface per write, as the kernel parses one entry each time.
		if err := prio.write("net_prio.ifpriomap", fmt.Sprintf("%s %d", p.Name, p.Priority)); err != nil {
			return err
		}
	}
	return nil
}

// networkSet reports whether n asks for anything.
func networkSet(n *specs.LinuxNetwork) bool {
	return n != nil && (n.ClassID != nil || len(n.Priorities) > 0)
}
