package main

import (
	"errors"

	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer"
	"github.com/husk-runtime/husk/libcontainer/nsenter"
)

var startCommand = &cli.Command{
	Name:      "start",
	Usage:     "start a created container",
	ArgsUsage: "<container-id>",
	Description: `Start runs the user process of a container made by "husk create". It
fails for a container that is not in the created state.`,
	Action: func(ctx *cli.Context) error {
		if msg, failed := nsenter.CommandFailed(); failed {
			return errors.New(msg)
		}
		return withID(ctx, (*libcontainer.Runtime).Start)
	},
}
