package main

import (
	"context"
	"encoding/json"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer"
)

var eventsCommand = &cli.Command{
	Name:      "events",
	Usage:     "display a container's resource usage and OOM events",
	ArgsUsage: "<container-id>",
	Description: `Events prints one JSON object a line, in runc's format, until the
container stops:

   {"type":"stats","id":"ID","data":{"cpu":...,"memory":...,"pids":...,"blkio":...,"hugetlb":...}}

every --interval, with the container's CPU, memory, pids, block IO and
huge page usage read from its cgroup, and

   {"type":"oom","id":"ID"}

each time the container runs out of memory and the OOM killer acts.

With --stats it prints a single stats object and exits. Times are in
nanoseconds and sizes in bytes; "memory.swap" counts memory plus swap, on
cgroup v2 as on v1.`,
	Flags: []cli.Flag{
		&cli.DurationFlag{Name: "interval", Value: 5 * time.Second, Usage: "time between stats events (a Go duration: 500ms, 5s, 1m)"},
		&cli.BoolFlag{Name: "stats", Usage: "print the container's stats once and exit"},
	},
	Action: func(ctx *cli.Context) error {
		id, err := requireID(ctx, 0)
		if err != nil {
			return err
		}
		// Not locked: events runs as long as the container does, and
		// delete must not wait for it.
		c, err := runtimeOf(ctx).Load(id)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(os.Stdout)
		if ctx.Bool("stats") {
			s, err := c.Stats()
			if err != nil {
				return err
			}
			return enc.Encode(libcontainer.Event{Type: "stats", ID: id, Data: s})
		}
		return c.Events(context.Background(), ctx.Duration("interval"), func(e libcontainer.Event) error {
			return enc.Encode(e)
		})
	},
}
