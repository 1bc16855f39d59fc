package main

import "github.com/urfave/cli/v2"

var createCommand = &cli.Command{
	Name:      "create",
	Usage:     "create a container",
	ArgsUsage: "<container-id>",
	Description: `Create sets up a container from the bundle (config.json and its root
filesystem) and leaves its process waiting: "husk start" runs it. The id must
be unique on the --root.`,
	Flags: createFlags(),
	Action: func(ctx *cli.Context) error {
		id, err := requireID(ctx, 0)
		if err != nil {
			return err
		}
		c, _, err := createContainer(ctx, id, false)
		if err != nil {
			return err
		}
		c.Release()
		return nil
	},
}
