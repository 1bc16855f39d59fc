package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer/nsenter"
)

var psCommand = &cli.Command{
	Name:      "ps",
	Usage:     "list the processes running in a container",
	ArgsUsage: "<container-id> [ps options]",
	Description: `Ps lists the container's processes (host pids). With --format json it
prints a JSON array of pids; as a table it runs ps(1) with the given options
(default -ef) and keeps the container's lines.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
	},
	SkipFlagParsing: false,
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() < 1 {
			return fmt.Errorf("ps: missing container id")
		}
		id := ctx.Args().First()
		c, err := runtimeOf(ctx).Load(id)
		if err != nil {
			return err
		}
		pids, err := c.Processes()
		if err != nil {
			return err
		}
		switch ctx.String("format") {
		case "json":
			if pids == nil {
				pids = []int{}
			}
			return json.NewEncoder(os.Stdout).Encode(pids)
		case "table":
			return psTable(pids, ctx.Args().Slice()[1:])
		default:
			return fmt.Errorf("ps: invalid --format %q: want table or json", ctx.String("format"))
		}
	},
}

// psTable prints ps(1)'s header and the lines of the container's pids.
func psTable(pids []int, args []string) error {
	if len(args) == 0 {
		args = []string{"-ef"}
	}
	var out []byte
	err := nsenter.WithCallerSlack(func() (err error) {
		out, err = exec.Command("ps", args...).Output()
		return err
	})
	if err != nil {
		return fmt.Errorf("ps %s: %w", strings.Join(args, " "), err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	col := -1
	for i, h := range strings.Fields(lines[0]) {
		if h == "PID" {
			col = i
		}
	}
	if col < 0 {
		return fmt.Errorf("ps %s: output has no PID column", strings.Join(args, " "))
	}
	in := make(map[int]bool, len(pids))
	for _, p := range pids {
		in[p] = true
	}
	var b bytes.Buffer
	b.WriteString(lines[0] + "\n")
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) <= col {
			continue
		}
		if p, err := strconv.Atoi(f[col]); err == nil && in[p] {
			b.WriteString(l + "\n")
		}
	}
	_, err = os.Stdout.Write(b.Bytes())
	return err
}
