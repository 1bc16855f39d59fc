package cgroups

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// oomEventsV2 watches memory.events with inotify (the kernel reports every
// change of the file as a modification) and sends an event each time the
// oom_kill counter goes up. The events end when the cgroup has no process
// left (cgroup.events says "populated 0") or is removed.
func oomEventsV2(ctx context.Context, dir string) (<-chan struct{}, error) {
	if dir == "" {
		return nil, errors.New("oom events: no cgroup v2 directory")
	}
	d := cgroupDir{path: dir}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("oom events: inotify: %w", err)
	}
	in := os.NewFile(uintptr(fd), "inotify")
	for _, name := range []string{"memory.events", "cgroup.events"} {
		p := filepath.Join(dir, name)
		if _, err := unix.InotifyAddWatch(fd, p, unix.IN_MODIFY); err != nil {
			in.Close()
			return nil, fmt.Errorf("oom events: watch %s: %w", p, err)
		}
	}
	// Read after the watches are in place, so no kill falls in between.
	events, err := d.readFlat("memory.events")
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("oom events: %w", err)
	}
	kills := events["oom_kill"]
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		defer in.Close()
		stop := context.AfterFunc(ctx, func() { _ = in.SetReadDeadline(time.Unix(1, 0)) })
		defer stop()
		buf := make([]byte, 4096)
		for {
			// Which file changed does not matter: both are read again.
			if _, err := in.Read(buf); err != nil {
				return
			}
			events, err := d.readFlat("memory.events")
			if err != nil {
				return
			}
			if events["oom_kill"] > kills {
				kills = events["oom_kill"]
				select {
				case ch <- struct{}{}:
				case <-ctx.Done():
					return
				}
			}
			st, err := readKeys(filepath.Join(dir, "cgroup.events"))
			if err != nil || st["populated"] == "0" {
				return
			}
		}
	}()
	return ch, nil
}
