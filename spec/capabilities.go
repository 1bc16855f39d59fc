package spec

import (
	"strings"

	"github.com/moby/sys/capability"
)

// capabilityByName maps "CAP_SYS_ADMIN"-style names, as config.json spells
// them, to the kernel's capability numbers.
var capabilityByName = func() map[string]int {
	m := make(map[string]int)
	for _, c := range capability.ListKnown() {
		m[capabilityName(c)] = int(c)
	}
	return m
}()

func capabilityName(c capability.Cap) string {
	return "CAP_" + strings.ToUpper(c.String())
}

// CapabilityValue returns the kernel's number for a capability name such as
// "CAP_NET_ADMIN". Names are case-sensitive, as in config.json.
func CapabilityValue(name string) (int, bool) {
	v, ok := capabilityByName[name]
	return v, ok
}

// capabilityNames lists every known capability name in kernel order.
func capabilityNames() []string {
	caps := capability.ListKnown()
	names := make([]string, len(caps))
	for i, c := range caps {
		names[i] = capabilityName(c)
	}
	return names
}
