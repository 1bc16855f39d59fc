package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

var killCommand = &cli.Command{
	Name:      "kill",
	Usage:     "send a signal to a container's init (or to all its processes)",
	ArgsUsage: "<container-id> [signal]",
	Description: `Kill sends SIGNAL (a name such as KILL or SIGKILL, or a number; default
SIGTERM; 0 only checks that the process is there) to the container's init
process, or with --all to every process in the container's cgroup. Without
--all a stopped container is an error ("container not running"); with it,
there is just nothing left to signal.`,
	Flags: []cli.Flag{
		&cli.BoolFlag{Name: "all", Aliases: []string{"a"}, Usage: "signal every process in the container"},
	},
	Action: func(ctx *cli.Context) error {
		id, err := requireID(ctx, 1)
		if err != nil {
			return err
		}
		sig := unix.SIGTERM
		if ctx.NArg() > 1 {
			if sig, err = parseSignal(ctx.Args().Get(1)); err != nil {
				return err
			}
		}
		c, err := runtimeOf(ctx).Load(id)
		if err != nil {
			return err
		}
		return c.Signal(sig, ctx.Bool("all"))
	},
}

func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		// 0 checks that the container is there, as kill(2) does.
		if n < 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal %q", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("unknown signal %q", s)
}
