package libcontainer

import "errors"

// ErrNotPaused is returned when resuming a container that is not paused;
// clients match its text ("container not paused").
var ErrNotPaused = errors.New("container not paused")

// Pause freezes every process of a running container.
func (c *Container) Pause() error {
	return c.exclusive(false, func() error {
		if c.Status() != Running {
			return ErrNotRunning
		}
		if c.State.CgroupPaths == nil {
			return c.errNoCgroup("pause")
		}
		return c.cgroup().Freeze()
	})
}

// Resume thaws a paused container.
func (c *Container) Resume() error {
	return c.exclusive(false, func() error {
		if c.Status() != Paused {
			return ErrNotPaused
		}
		return c.cgroup().Thaw()
	})
}
