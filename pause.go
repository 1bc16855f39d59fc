package main

import (
	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer"
)

var pauseCommand = &cli.Command{
	Name:      "pause",
	Usage:     "suspend every process of a running container",
	ArgsUsage: "<container-id>",
	Description: `Pause freezes all processes of a running container with the cgroup
freezer: they stop where they are, keeping their memory, until "husk
resume". "husk state" then reports the status paused, and "husk delete
--force" still removes the container. Pausing a container that is not
running fails with "container not running".`,
	Action: func(ctx *cli.Context) error {
		return withID(ctx, (*libcontainer.Runtime).Pause)
	},
}
