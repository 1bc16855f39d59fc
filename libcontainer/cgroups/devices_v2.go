package cgroups

import (
	"errors"
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// devicePolicy is the state the v1 devices controller would reach after
// the rules were written to devices.allow and devices.deny in order: a
// default and a list of exceptions to it. On v2 the same state is
// enforced by an eBPF program, so a spec behaves alike on both.
type devicePolicy struct {
	allow      bool
	exceptions []deviceException
}

// deviceException is one device pattern. major and minor are -1 for any.
type deviceException struct {
	char         bool
	major, minor int64
	access       uint32 // unix.BPF_DEVCG_ACC_* bits
}

// compileDeviceRules replays rules the way the v1 controller does: an "a"
// rule sets the default and clears the exceptions (its numbers and access
// are ignored); a rule that agrees with the default takes its access bits
// off the exception with the same pattern; one that disagrees adds its
// access bits to that exception or starts a new one. A new cgroup allows
// everything until told otherwise.
func compileDeviceRules(rules []specs.LinuxDeviceCgroup) (devicePolicy, error) {
	p := devicePolicy{allow: true}
	for _, r := range rules {
		if _, err := deviceRule(r); err != nil {
			return p, err
		}
		if r.Type == "" || r.Type == "a" {
			p = devicePolicy{allow: r.Allow}
			continue
		}
		ex := deviceException{char: r.Type == "c", major: wildcard(r.Major), minor: wildcard(r.Minor), access: accessBits(r.Access)}
		i := p.find(ex)
		switch {
		case r.Allow == p.allow && i >= 0:
			p.exceptions[i].access &^= ex.access
			if p.exceptions[i].access == 0 {
				p.exceptions = append(p.exceptions[:i], p.exceptions[i+1:]...)
			}
		case r.Allow != p.allow && i >= 0:
			p.exceptions[i].access |= ex.access
		case r.Allow != p.allow:
			p.exceptions = append(p.exceptions, ex)
		}
	}
	return p, nil
}

func (p *devicePolicy) find(ex deviceException) int {
	for i, e := range p.exceptions {
		if e.char == ex.char && e.major == ex.major && e.minor == ex.minor {
			return i
		}
	}
	return -1
}

func wildcard(n *int64) int64 {
	if n == nil || *n < 0 {
		return -1
	}
	return *n
}

func accessBits(access string) uint32 {
	if access == "" {
		access = "rwm"
	}
	var bits uint32
	for _, c := range access {
		switch c {
		case 'r':
			bits |= unix.BPF_DEVCG_ACC_READ
		case 'w':
			bits |= unix.BPF_DEVCG_ACC_WRITE
		case 'm':
			bits |= unix.BPF_DEVCG_ACC_MKNOD
		}
	}
	return bits
}

// setDevicesV2 enforces rules with an eBPF device program attached to dir,
// replacing the one a previous Set attached. Without the privilege to load
// programs (rootless, or in a user namespace), there is nothing to
// restrict that the kernel does not already forbid, as with a missing v1
// devices hierarchy, so the rules are skipped.
func setDevicesV2(dir string, rules []specs.LinuxDeviceCgroup) error {
	p, err := compileDeviceRules(rules)
	if err != nil {
		return err
	}
	insns, err := p.program()
	if err != nil {
		return err
	}
	prog, err := loadDeviceProgram(insns)
	if err != nil {
		if errors.Is(err, unix.EPERM) && unprivileged() {
			return nil
		}
		return fmt.Errorf("cgroups: device rules on cgroup v2: %w", err)
	}
	defer unix.Close(prog)
	if err := attachDeviceProgram(dir, prog); err != nil {
		return fmt.Errorf("cgroups: device rules on cgroup v2: %w", err)
	}
	return nil
}

// unprivileged reports whether husk runs without full root: as another
// user, or in a user namespace other than the initial one, whose uid_map
// maps the whole range from 0.
func unprivileged() bool {
	if os.Geteuid() != 0 {
		return true
	}
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return true
	}
	return strings.Join(strings.Fields(string(b)), " ") != "0 0 4294967295"
}
