package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/moby/sys/user"
	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer"
)

var listCommand = &cli.Command{
	Name:        "list",
	Aliases:     []string{"ls"},
	Usage:       "list the containers under --root",
	Description: `List prints every container of the --root with its status, as a table or JSON.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "table", Usage: "table or json"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the ids"},
	},
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() > 0 {
			return fmt.Errorf("list: unexpected arguments")
		}
		root := ctx.String("root")
		// A --root that doesn't exist is a mistake worth an error, as in
		// runc 1.5; the default one only means nothing was created yet.
		if ctx.IsSet("root") {
			if _, err := os.Stat(root); err != nil {
				return fmt.Errorf("list: %w", err)
			}
		}
		cs, err := runtimeOf(ctx).List()
		if err != nil {
			return err
		}
		var states []*libcontainer.OCIState
		for _, c := range cs {
			st := c.OCIState()
			st.Owner = ownerOf(root, c.State.ID)
			states = append(states, st)
		}
		switch {
		case ctx.Bool("quiet"):
			for _, st := range states {
				fmt.Println(st.ID)
			}
			return nil
		case ctx.String("format") == "json":
			// One line, as runc prints it.
			return json.NewEncoder(os.Stdout).Encode(states)
		case ctx.String("format") == "table":
			w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
			fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
			for _, st := range states {
				fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", st.ID, st.Pid, st.Status, st.Bundle, st.Created.Format(time.RFC3339Nano), st.Owner)
			}
			return w.Flush()
		default:
			return fmt.Errorf("list: invalid --format %q: want table or json", ctx.String("format"))
		}
	},
}

// ownerOf names the user owning a container's state directory, as runc does.
func ownerOf(root, id string) string {
	fi, err := os.Stat(root + "/" + id)
	if err != nil {
		return ""
	}
	uid := int(fi.Sys().(*syscall.Stat_t).Uid)
	if u, err := user.LookupUid(uid); err == nil {
		return u.Name
	}
	return "#" + strconv.Itoa(uid)
}
