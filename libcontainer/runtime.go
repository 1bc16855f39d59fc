package libcontainer

import (
	"fmt"
	"os"
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
