package cgroups

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// oomEventsV1 registers an eventfd for memory.oom_control through
// cgroup.event_control; the kernel signals it each time the cgroup runs
// out of memory.
func oomEventsV1(ctx context.Context, d cgroupDir) (<-chan struct{}, error) {
	ctl, err := d.file("memory.oom_control")
	if err != nil {
		return nil, fmt.Errorf("oom events: %w", err)
	}
	oomControl, err := os.Open(ctl)
	if err != nil {
		return nil, fmt.Errorf("oom events: %w", err)
	}
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		oomControl.Close()
		return nil, fmt.Errorf("oom events: eventfd: %w", err)
	}
	// Non-blocking, so that the runtime poller serves reads and a read
	// deadline can end the wait.
	ev := os.NewFile(uintptr(efd), "eventfd")
	if err := d.write("cgroup.event_control", fmt.Sprintf("%d %d", efd, oomControl.Fd())); err != nil {
		ev.Close()
		oomControl.Close()
		return nil, fmt.Errorf("oom events: %w", err)
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		defer oomControl.Close()
		defer ev.Close()
		stop := context.AfterFunc(ctx, func() { _ = ev.SetReadDeadline(time.Unix(1, 0)) })
		defer stop()
		buf := make([]byte, 8)
		for {
			if _, err := ev.Read(buf); err != nil {
				return
			}
			// The kernel signals the eventfd as well when the cgroup is
			// removed, which ends the events.
			if _, err := os.Lstat(ctl); errors.Is(err, os.ErrNotExist) {
				return
			}
			// The counter sums every notification since the last read:
			// one out-of-memory episode may signal more than once.
			select {
			case ch <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}
