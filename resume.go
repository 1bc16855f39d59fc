package main

import (
	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer"
)

var resumeCommand = &cli.Command{
	Name:      "resume",
	Usage:     "resume the processes of a paused container",
	ArgsUsage: "<container-id>",
	Description: `Resume thaws a container suspended by "husk pause"; its processes go on
where they stopped and "husk state" reports it running again. Resuming a
container that is not paused fails with "container not paused".`,
	Action: func(ctx *cli.Context) error {
		return withID(ctx, (*libcontainer.Runtime).Resume)
	},
}
