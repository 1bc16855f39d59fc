package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// A rootless container may have no cgroup at all (husk may not create one
// and it asked for no limit): its processes are then found through its
// PID namespace, which has the init and everything it started, and which
// the user who made the container owns. Without a PID namespace of its
// own there is only the init to know of, as with runc (which warns and
// signals the init alone when it can't reach the cgroup).

// errNoCgroup is what the commands that need a cgroup say without one.
func (c *Container) errNoCgroup(op string) error {
	return fmt.Errorf("cannot %s container %s: it has no cgroup (a rootless container husk could not create one for)", op, c.State.ID)
}

// pidnsPids lists the host pids of the processes in the init's PID
// namespace, or the init alone if it shares its PID namespace.
func (c *Container) pidnsPids() ([]int, error) {
	if !alive(c.State.Pid, c.State.PidStart) {
		return nil, nil
	}
	if !c.ownPIDNamespace() {
		return []int{c.State.Pid}, nil
	}
	ns, err := os.Readlink("/proc/" + strconv.Itoa(c.State.Pid) + "/ns/pid")
	if err != nil {
		return nil, fmt.Errorf("list container processes: %w", err)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list container processes: %w", err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && l == ns {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

// signalAllNoCgroup is signalAll for a container without a cgroup: every
// process of its PID namespace, the init last so that SIGKILL, which takes
// the namespace with it, leaves none unsignalled.
func (c *Container) signalAllNoCgroup(sig unix.Signal) error {
	if !c.ownPIDNamespace() {
		c.rt.warnf("container %s has no cgroup and no PID namespace of its own: only its init gets the signal", c.State.ID)
	}
	pids, err := c.pidnsPids()
	if err != nil {
		return err
	}
	for _, pid := range pids {
		if pid == c.State.Pid {
			continue
		}
		if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("signal %d: %w", pid, err)
		}
	}
	if err := signalProcess(c.State.Pid, c.State.PidStart, sig); err != nil && !errors.Is(err, errGone) {
		return err
	}
	return nil
}
