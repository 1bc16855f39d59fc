package libcontainer

import (
	"fmt"

	"github.com/moby/sys/capability"
	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/spec"
)

// capSets maps the spec's five sets to the library's set kinds.
func capSets(c *specs.LinuxCapabilities) map[capability.CapType][]string {
	return map[capability.CapType][]string{
		capability.BOUNDING:    c.Bounding,
		capability.EFFECTIVE:   c.Effective,
		capability.PERMITTED:   c.Permitted,
		capability.INHERITABLE: c.Inheritable,
		capability.AMBIENT:     c.Ambient,
	}
}

// dropBounding narrows the bounding set, which needs CAP_SETPCAP and so
// happens before the user switch, and returns the prepared sets for
// applyCapabilities. Without process.capabilities the process keeps what
// it has, as with runc.
func dropBounding(c *specs.LinuxCapabilities) (capability.Capabilities, error) {
	if c == nil {
		return nil, nil
	}
	caps, err := capability.NewPid2(0)
	if err != nil {
		return nil, fmt.Errorf("capabilities: %w", err)
	}
	caps.Clear(capability.CAPS | capability.BOUNDS | capability.AMBS)
	for which, names := range capSets(c) {
		for _, name := range names {
			v, ok := spec.CapabilityValue(name)
			if !ok {
				return nil, fmt.Errorf("process.capabilities: unknown capability %q", name)
			}
			caps.Set(which, capability.Cap(v))
		}
	}
	if err := caps.Apply(capability.BOUNDS); err != nil {
		return nil, fmt.Errorf("drop bounding capabilities: %w", err)
	}
	return caps, nil
}

// applyCapabilities sets the effective, permitted, inheritable and ambient
// sets after the user switch.
func applyCapabilities(caps capability.Capabilities) error {
	if caps == nil {
		return nil
	}
	if err := caps.Apply(capability.CAPS | capability.AMBS); err != nil {
		return fmt.Errorf("set capabilities: %w", err)
	}
	return nil
}
