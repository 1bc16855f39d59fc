package main

import (
	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer"
)

var runCommand = &cli.Command{
	Name:      "run",
	Usage:     "create and start a container, and wait for it",
	ArgsUsage: "<container-id>",
	Description: `Run creates and starts a container in one step. In the foreground (the
default) husk forwards signals to the container, serves its terminal, exits
with the container's exit code (128+N when killed by signal N) and deletes
the container. With --detach it returns once the container runs.`,
	Flags: append(createFlags(),
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container runs"},
		&cli.BoolFlag{Name: "keep", Usage: "do not delete the container after it exits"},
		&cli.BoolFlag{Name: "no-subreaper", Usage: "do not make husk a subreaper of the container's orphans"},
	),
	Action: func(ctx *cli.Context) error {
		id, err := requireID(ctx, 0)
		if err != nil {
			return err
		}
		detach := ctx.Bool("detach")
		if !detach && !ctx.Bool("no-subreaper") {
			if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
				return err
			}
		}
		var fg *foreground
		if !detach {
			if fg, err = newForeground(); err != nil {
				return err
			}
		}
		c, console, err := createContainer(ctx, id, !detach)
		if err != nil {
			return err
		}
		defer c.Release()
		if console != nil {
			fg.master, err = libcontainer.RecvMaster(console)
			console.Close()
			if err != nil {
				_ = c.Delete(true)
				return err
			}
		}
		if err := c.Start(); err != nil {
			_ = c.Delete(true)
			return err
		}
		return releaseAndWait(ctx, c, fg, ctx.Bool("keep"))
	},
}
