package main

import (
	"fmt"
	"slices"

	"github.com/urfave/cli/v2"
)

// checkpoint and restore exist so that clients and scripts asking for them
// get a clear refusal (and their help works) rather than "not a command":
// husk has no CRIU support.
var checkpointCommand = criuCommand("checkpoint", "checkpoint a running container (not supported by husk)")

var restoreCommand = criuCommand("restore", "restore a container from a checkpoint (not supported by husk)")

func criuCommand(name, usage string) *cli.Command {
	return &cli.Command{
		Name:      name,
		Usage:     usage,
		ArgsUsage: "<container-id>",
		Description: `husk does not implement checkpoint/restore (CRIU); the command fails
without touching the container.`,
		// runc's flags for these are many; whatever they are, the answer
		// is the same.
		SkipFlagParsing: true,
		Action: func(ctx *cli.Context) error {
			if slices.ContainsFunc(ctx.Args().Slice(), func(a string) bool { return a == "-h" || a == "--help" }) {
				return cli.ShowSubcommandHelp(ctx)
			}
			return fmt.Errorf("%s: checkpoint/restore (CRIU) is not supported by husk", name)
		},
	}
}
