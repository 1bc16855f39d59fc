package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/spec"
)

var featuresCommand = &cli.Command{
	Name:  "features",
	Usage: "print the OCI features husk supports, as JSON",
	Description: `Features prints what this husk build implements, in the runtime-spec
features format (namespaces, capabilities, mount options, hooks, cgroups...).`,
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() > 0 {
			return fmt.Errorf("features: unexpected arguments")
		}
		return printJSON(spec.Features(version))
	},
}
