package procattr

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

const personalityField = "linux.personality"

// From the kernel's uapi linux/personality.h, which x/sys/unix does not
// carry.
var personalityDomains = map[specs.LinuxPersonalityDomain]uintptr{
	specs.PerLinux:   0x0000,
	specs.PerLinux32: 0x0008,
}

// personalityValue turns linux.personality into the personality argument.
func personalityValue(p *specs.LinuxPersonality) (uintptr, error) {
	v, ok := personalityDomains[p.Domain]
	if !ok {
		return 0, fmt.Errorf("%s.domain: unknown domain %q", personalityField, p.Domain)
	}
	// The spec names no flags yet; guessing at future names could turn on
	// one that weakens the process (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC).
	if len(p.Flags) > 0 {
		return 0, fmt.Errorf("%s.flags: %q: the runtime spec defines no personality flags", personalityField, p.Flags)
	}
	return v, nil
}

// applyPersonality sets exactly the configured persona, dropping flags the
// runtime inherited: the container gets what its config says.
func applyPersonality(p *specs.LinuxPersonality) error {
	v, err := personalityValue(p)
	if err != nil {
		return err
	}
	if _, _, errno := unix.Syscall(unix.SYS_PERSONALITY, v, 0, 0); errno != 0 {
		return fmt.Errorf("%s: personality %s: %w", personalityField, p.Domain, errno)
	}
	return nil
}
