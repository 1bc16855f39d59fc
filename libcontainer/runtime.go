package libcontainer

import (
	"fmt"
	"os"
	"strings"
)

// Runtime is what one husk command runs with: where the containers' states
// live, which cgroup driver makes new ones, and where messages go. The
// command line makes one per invocation and passes it down; nothing in
// husk's packages keeps such settings in package variables.
type Runtime struct {
	// Root is the state root (--root): one directory per container.
	Root string
	// SystemdCgroup selects the systemd cgroup driver for new containers
	// (--systemd-cgroup): the cgroup is a transient scope that systemd
	// creates, and linux.cgroupsPath reads "slice:prefix:name". A
	// container keeps the driver it was created with.
	SystemdCgroup bool
	// Rootless is --rootless (auto: a non-root user, or root in a user
	// namespace): as runc's rootless cgroup manager, a cgroup husk may not
	// make (permission denied, read-only) is skipped, with a warning, when
	// linux.cgroupsPath is unset and the container asks for no limit, and
	// a limit that then can't be set fails create naming its field. What
	// needs a user namespace and id maps depends on the caller's euid
	// alone, not on this.
	Rootless bool
	// Warn receives problems that don't fail the command, such as a
	// failed poststop hook; stderr if nil.
	Warn func(msg string)
	// Debug, when set (--debug), receives what each step of create, start
	// and exec does, the stages' steps included: they send theirs to husk.
	Debug func(msg string)
}

func (r *Runtime) warnf(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	if r.Warn == nil {
		fmt.Fprintln(os.Stderr, msg)
		return
	}
	r.Warn(msg)
}

func (r *Runtime) debugf(format string, a ...any) {
	if r.Debug != nil {
		r.Debug(fmt.Sprintf(format, a...))
	}
}

// InUserNamespace tells whether husk runs in a user namespace other than
// the host's, whose uid_map is the whole range mapped onto itself.
func InUserNamespace() bool {
	data, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	return strings.Join(strings.Fields(string(data)), " ") != "0 0 4294967295"
}
