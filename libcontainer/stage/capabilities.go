package stage

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/moby/sys/capability"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/spec/vocab"
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

// processCaps are the capability sets prepared for the process: the four
// sets capset(2) takes, and the ambient capabilities to raise one by one.
type processCaps struct {
	sets    capability.Capabilities
	ambient []capability.Cap
}

// resolveCaps turns c's names into this kernel's capabilities, per set,
// each once. A name that husk or the running kernel doesn't know is left
// out with a warning (the second result), as runc 1.5 does: a config
// written for a newer kernel still runs.
func resolveCaps(c *specs.LinuxCapabilities) (map[capability.CapType][]capability.Cap, string, error) {
	last, err := capability.LastCap()
	if err != nil {
		return nil, "", fmt.Errorf("capabilities: %w", err)
	}
	sets := map[capability.CapType][]capability.Cap{}
	var ignored []string
	for which, names := range capSets(c) {
		for _, name := range names {
			v, ok := vocab.CapabilityValue(name)
			if !ok || capability.Cap(v) > last {
				if !slices.Contains(ignored, name) {
					ignored = append(ignored, name)
				}
				continue
			}
			if !slices.Contains(sets[which], capability.Cap(v)) {
				sets[which] = append(sets[which], capability.Cap(v))
			}
		}
	}
	if len(ignored) == 0 {
		return sets, "", nil
	}
	slices.Sort(ignored)
	return sets, fmt.Sprintf("process.capabilities: ignoring %s: unknown to husk or to this kernel", strings.Join(ignored, ", ")), nil
}

// dropBounding narrows the bounding set, which needs CAP_SETPCAP and so
// happens before the user switch, and returns the prepared sets for
// applyCapabilities. Without process.capabilities the process keeps what
// it has, as with runc.
func (cn *conn) dropBounding(c *specs.LinuxCapabilities) (*processCaps, error) {
	if c == nil {
		return nil, nil
	}
	sets, warning, err := resolveCaps(c)
	if err != nil {
		return nil, err
	}
	caps, err := capability.NewPid2(0)
	if err != nil {
		return nil, fmt.Errorf("capabilities: %w", err)
	}
	caps.Clear(capability.CAPS | capability.BOUNDS | capability.AMBS)
	for which, values := range sets {
		if which != capability.AMBIENT {
			caps.Set(which, values...)
		}
	}
	if warning != "" {
		cn.warnf("%s", warning)
	}
	p := &processCaps{sets: caps, ambient: sets[capability.AMBIENT]}
	if err := caps.Apply(capability.BOUNDS); err != nil {
		return nil, fmt.Errorf("drop bounding capabilities: %w", err)
	}
	return p, nil
}

// applyCapabilities sets the effective, permitted and inheritable sets
// after the user switch, then raises the ambient capabilities. The kernel
// raises an ambient capability only if it is both permitted and
// inheritable; runc's own `runc spec` lists ambient capabilities that its
// inheritable set lacks, so, as with runc, one that can't be raised is a
// warning, not a failure: the process runs without it.
func (cn *conn) applyCapabilities(p *processCaps) error {
	if p == nil {
		return nil
	}
	if err := p.sets.Apply(capability.CAPS); err != nil {
		return fmt.Errorf("set capabilities: %w", err)
	}
	// EINVAL: a kernel without ambient capabilities (before 4.3), where
	// there is nothing to clear.
	if err := capability.ResetAmbient(); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	for _, c := range p.ambient {
		if err := capability.SetAmbient(true, c); err != nil {
			cn.warnf("can't raise ambient capability %s: %v", capName(c), err)
		}
	}
	return nil
}

// capName spells a capability as config.json does.
func capName(c capability.Cap) string { return "CAP_" + strings.ToUpper(c.String()) }
