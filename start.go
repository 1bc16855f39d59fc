package main

import (
	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer"
)

var startCommand = &cli.Command{
	Name:      "start",
	Usage:     "start a created container",
	ArgsUsage: "<container-id>",
	Description: `Start runs the user process of a container made by "husk create". It
fails for a container that is not in the created state.`,
	Action: func(ctx *cli.Context) error {
		return withID(ctx, (*libcontainer.Runtime).Start)
	},
}
