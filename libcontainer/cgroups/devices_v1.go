package cgroups

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// DefaultAllowedDevices returns the device rules every container gets on
// top of its own: the basic character devices a process expects (null,
// zero, full, random, urandom, tty, console, ptmx and the pts slaves) and
// mknod of any node, which is harmless because opening a node still needs
// a read or write rule. Set applies them after the caller's rules, so a
// spec that starts by denying everything ends up with exactly these plus
// what it allowed.
func DefaultAllowedDevices() []specs.LinuxDeviceCgroup {
	return []specs.LinuxDeviceCgroup{
		allowChar(1, 3, "rwm"),    // /dev/null
		allowChar(1, 5, "rwm"),    // /dev/zero
		allowChar(1, 7, "rwm"),    // /dev/full
		allowChar(1, 8, "rwm"),    // /dev/random
		allowChar(1, 9, "rwm"),    // /dev/urandom
		allowChar(5, 0, "rwm"),    // /dev/tty
		allowChar(5, 1, "rwm"),    // /dev/console
		allowChar(5, 2, "rwm"),    // /dev/ptmx
		allowChar(136, -1, "rwm"), // /dev/pts/*
		allowChar(-1, -1, "m"),
		{Allow: true, Type: "b", Major: new(int64(-1)), Minor: new(int64(-1)), Access: "m"},
	}
}

func allowChar(major, minor int64, access string) specs.LinuxDeviceCgroup {
	return specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: access}
}

// deviceRule renders a rule in the "TYPE MAJOR:MINOR ACCESS" syntax of
// devices.allow and devices.deny. Unset fields mean "all", as the spec
// defines, and a negative number is the wildcard.
func deviceRule(r specs.LinuxDeviceCgroup) (string, error) {
	typ := r.Type
	switch typ {
	case "":
		typ = "a"
	case "a", "b", "c":
	default:
		return "", fmt.Errorf("cgroups: invalid device type %q", r.Type)
	}
	access := r.Access
	if access == "" {
		access = "rwm"
	}
	// Only r, w and m mean something, to runc as to the kernel, which
	// refuses any other letter: "rwa" is written as "rw".
	access = strings.Map(func(c rune) rune {
		if strings.ContainsRune("rwm", c) {
			return c
		}
		return -1
	}, access)
	if access == "" {
		return "", fmt.Errorf("cgroups: invalid device access %q", r.Access)
	}
	return fmt.Sprintf("%s %s:%s %s", typ, deviceNumber(r.Major), deviceNumber(r.Minor), access), nil
}

func deviceNumber(n *int64) string {
	if n == nil || *n < 0 {
		return "*"
	}
	return itoa(*n)
}

// setDevicesV1 writes rules one by one, in order. The kernel keeps a
// default policy plus a list of exceptions: an "a" rule sets the default
// and clears the list, and any other rule adds an exception to it or takes
// the same device pattern off it. A spec list shaped as a default followed
// by exceptions, as OCI configurations are, thus ends up in force as
// written.
func setDevicesV1(d cgroupDir, rules []specs.LinuxDeviceCgroup) error {
	for _, r := range rules {
		rule, err := deviceRule(r)
		if err != nil {
			return err
		}
		file := "devices.deny"
		if r.Allow {
			file = "devices.allow"
		}
		if err := d.write(file, rule); err != nil {
			return err
		}
	}
	return nil
}
