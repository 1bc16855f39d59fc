package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer/nsenter"
)

var deleteCommand = &cli.Command{
	Name:      "delete",
	Usage:     "delete a container and everything it holds",
	ArgsUsage: "<container-id>",
	Description: `Delete removes a stopped or created container: its processes, cgroup and
state, then runs its poststop hooks. --force also deletes a running or paused
container (killing it) and succeeds for an id that does not exist.`,
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "force", Aliases: []string{"f"}, Usage: "kill the container if it runs; ignore an unknown id"},
	},
	Action: func(ctx *cli.Context) error {
		if msg, failed := nsenter.CommandFailed(); failed {
			return errors.New(msg)
		}
		id, err := requireID(ctx, 0)
		if err != nil {
			return err
		}
		return runtimeOf(ctx).Delete(id, ctx.Bool("force"))
	},
}
