package libcontainer

import (
	"context"
	"fmt"
	"time"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
)

// Stats reads the resource usage of a container that has not stopped.
func (c *Container) Stats() (*cgroups.Stats, error) {
	if c.Status() == Stopped {
		return nil, ErrNotRunning
	}
	if c.State.CgroupPaths == nil {
		return nil, c.errNoCgroup("read the stats of")
	}
	return c.cgroup().Stats()
}

// Event is one record of `events`, as runc prints it: Type is "stats"
// (Data is then the stats) or "oom".
type Event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

// Events passes emit a stats event every interval and an oom event each
// time the container runs out of memory, until the container stops, ctx
// ends or emit fails. It does not need the container's lock, and must not
// hold it: it runs as long as the container does.
func (c *Container) Events(ctx context.Context, interval time.Duration, emit func(Event) error) error {
	if interval <= 0 {
		return fmt.Errorf("events: interval must be greater than 0, got %v", interval)
	}
	if c.Status() == Stopped {
		return ErrNotRunning
	}
	if c.State.CgroupPaths == nil {
		return c.errNoCgroup("report the events of")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Stats are still worth reporting where OOM events cannot be watched
	// (no memory controller, say).
	oom, err := c.cgroup().OOMEvents(ctx)
	if err != nil {
		c.rt.warnf("events: no OOM events for %s: %v", c.State.ID, err)
	}
	oomEvent := Event{Type: "oom", ID: c.State.ID}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-oom:
			if !ok {
				oom = nil // no more OOM events; stats go on
				continue
			}
			if err := emit(oomEvent); err != nil {
				return err
			}
		case <-tick.C:
			if c.Status() == Stopped {
				return drainOOM(oom, emit, oomEvent)
			}
			s, err := c.cgroup().Stats()
			if err != nil {
				if c.Status() == Stopped {
					return drainOOM(oom, emit, oomEvent)
				}
				return err
			}
			if err := emit(Event{Type: "stats", ID: c.State.ID, Data: s}); err != nil {
				return err
			}
		}
	}
}

// drainOOM reports an OOM event already waiting when the container is
// found stopped: the kill that stopped it is the one worth reporting.
func drainOOM(oom <-chan struct{}, emit func(Event) error, e Event) error {
	for {
		select {
		case _, ok := <-oom:
			if !ok {
				return nil
			}
			if err := emit(e); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}
