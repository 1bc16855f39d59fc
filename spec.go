package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/spec"
)

var specCommand = &cli.Command{
	Name:  "spec",
	Usage: "write a default config.json",
	Description: `Spec writes a starting config.json into the bundle directory: a shell
("sh") with a terminal, in new namespaces, with a read-only root at
"rootfs". Edit it to taste. --rootless writes one for an unprivileged user.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "bundle `DIR` to write config.json into"},
		&cli.BoolFlag{Name: "rootless", Usage: "a config for a rootless container"},
	},
	Action: func(ctx *cli.Context) error {
		if ctx.NArg() > 0 {
			return fmt.Errorf("spec: unexpected arguments")
		}
		path := filepath.Join(ctx.String("bundle"), "config.json")
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("%s exists: remove it first", path)
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		data, err := json.MarshalIndent(spec.Default(ctx.Bool("rootless")), "", "\t")
		if err != nil {
			return err
		}
		return os.WriteFile(path, append(data, '\n'), 0o666)
	},
}
