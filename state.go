package main

import (
	"encoding/json"
	"errors"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer/nsenter"
)

var stateCommand = &cli.Command{
	Name:        "state",
	Usage:       "print a container's state as JSON",
	ArgsUsage:   "<container-id>",
	Description: `State prints the OCI state of a container; its status is read from the live process.`,
	Action: func(ctx *cli.Context) error {
		if msg, failed := nsenter.CommandFailed(); failed {
			return errors.New(msg)
		}
		id, err := requireID(ctx, 0)
		if err != nil {
			return err
		}
		c, err := runtimeOf(ctx).Load(id)
		if err != nil {
			return err
		}
		return printJSON(c.OCIState())
	},
}

func printJSON(v any) error {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
