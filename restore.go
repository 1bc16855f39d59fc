package main

import (
	"fmt"
	"slices"

	"github.com/urfave/cli/v2"
)

// restore exists so that clients and scripts asking for it get a clear
// refusal (and its help works) rather than "not a command": husk
// checkpoints with CRIU but does not restore yet.
var restoreCommand = &cli.Command{
	Name:      "restore",
	Usage:     "restore a container from a checkpoint (not supported by husk yet)",
	ArgsUsage: "<container-id>",
	Description: `husk does not restore containers yet (checkpoint works); the command fails
without touching anything.`,
	// runc's flags for it are many; whatever they are, the answer is the
	// same.
	SkipFlagParsing: true,
	Action: func(ctx *cli.Context) error {
		if slices.ContainsFunc(ctx.Args().Slice(), func(a string) bool { return a == "-h" || a == "--help" }) {
			return cli.ShowSubcommandHelp(ctx)
		}
		return fmt.Errorf("restore: restoring a checkpoint is not supported by husk yet")
	},
}
