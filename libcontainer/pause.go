package libcontainer

import "errors"

// ErrNotPaused is returned when resuming a container that is not paused;
// clients match its text ("container not paused").
var ErrNotPaused = errors.New("container not paused")

// Pause freezes every process of the running container id.
func (r *Runtime) Pause(id string) error {
	return r.withLock(id, false, func(c *Container) error {
		if c.Status() != Running {
			return ErrNotRunning
		}
		if c.State.CgroupPaths == nil {
			return c.errNoCgroup("pause")
		}
		return c.cgroup().Freeze()
	})
}

// Resume thaws the paused container id.
func (r *Runtime) Resume(id string) error {
	return r.withLock(id, false, func(c *Container) error {
		if c.Status() != Paused {
			return ErrNotPaused
		}
		return c.cgroup().Thaw()
	})
}
