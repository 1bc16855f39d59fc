package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer"
)

var checkpointCommand = &cli.Command{
	Name:      "checkpoint",
	Usage:     "checkpoint a running container with CRIU",
	ArgsUsage: "<container-id>",
	Description: `Checkpoint dumps a running container's processes with CRIU (the criu
binary, 3.15 or newer, over its RPC) into --image-path. Unless --leave-running
or --pre-dump, CRIU kills the processes and the container is deleted, as with
runc; husk restore brings it back. CRIU reads /etc/criu/runc.conf, or the
file the annotation org.criu.config names ("" for none).`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "image-path", Usage: "directory for the images (default: ./checkpoint)"},
		&cli.StringFlag{Name: "work-path", Usage: "directory for CRIU's log (default: the image path)"},
		&cli.StringFlag{Name: "parent-path", Usage: "a pre-dump's images, relative to the image path or absolute"},
		&cli.BoolFlag{Name: "leave-running", Usage: "leave the processes running after the dump"},
		&cli.BoolFlag{Name: "tcp-established", Usage: "allow open TCP connections"},
		&cli.BoolFlag{Name: "tcp-skip-in-flight", Usage: "skip TCP connections being established"},
		&cli.BoolFlag{Name: "link-remap", Usage: "allow open files that were unlinked"},
		&cli.BoolFlag{Name: "ext-unix-sk", Usage: "allow external unix sockets"},
		&cli.BoolFlag{Name: "shell-job", Usage: "allow a shell job (a session or terminal outside the container)"},
		&cli.BoolFlag{Name: "file-locks", Usage: "dump file locks"},
		&cli.BoolFlag{Name: "pre-dump", Usage: "dump the memory only, leaving the container running"},
		&cli.BoolFlag{Name: "auto-dedup", Usage: "deduplicate the memory of parent images"},
		&cli.StringFlag{Name: "manage-cgroups-mode", Usage: "cgroups mode: soft, full, strict or ignore (default: CRIU's, soft)"},
		&cli.StringSliceFlag{Name: "empty-ns", Usage: "a namespace to restore empty (network)"},
		&cli.BoolFlag{Name: "lazy-pages", Usage: "not supported by husk yet"},
		&cli.IntFlag{Name: "status-fd", Value: -1, Usage: "not supported by husk yet"},
		&cli.StringFlag{Name: "page-server", Usage: "not supported by husk yet"},
	},
	Action: func(ctx *cli.Context) error {
		id, err := requireID(ctx, 0)
		if err != nil {
			return err
		}
		if err := refuseFlags(ctx, "lazy-pages", "status-fd", "page-server"); err != nil {
			return err
		}
		criu, err := criuOpts(ctx)
		if err != nil {
			return err
		}
		return runtimeOf(ctx).Checkpoint(id, &libcontainer.CheckpointOpts{
			CRIUOpts:     criu,
			ParentPath:   ctx.String("parent-path"),
			LeaveRunning: ctx.Bool("leave-running"),
			PreDump:      ctx.Bool("pre-dump"),
		})
	},
}

// refuseFlags fails when one of runc's flags that husk doesn't do yet is
// given: better than a checkpoint or restore that ignored it.
func refuseFlags(ctx *cli.Context, flags ...string) error {
	for _, f := range flags {
		if ctx.IsSet(f) {
			return fmt.Errorf("%s: --%s is not supported by husk yet", ctx.Command.Name, f)
		}
	}
	return nil
}

// criuOpts reads the flags checkpoint and restore share: the image and
// work paths made absolute (the image defaults to ./checkpoint, as runc's),
// --empty-ns repeated or comma-separated, and CRIU's switches. restore
// defines no --link-remap, so LinkRemap is false for it.
func criuOpts(ctx *cli.Context) (libcontainer.CRIUOpts, error) {
	o := libcontainer.CRIUOpts{
		ImagePath:         ctx.String("image-path"),
		WorkPath:          ctx.String("work-path"),
		TCPEstablished:    ctx.Bool("tcp-established"),
		TCPSkipInFlight:   ctx.Bool("tcp-skip-in-flight"),
		ExtUnixSk:         ctx.Bool("ext-unix-sk"),
		ShellJob:          ctx.Bool("shell-job"),
		FileLocks:         ctx.Bool("file-locks"),
		LinkRemap:         ctx.Bool("link-remap"),
		AutoDedup:         ctx.Bool("auto-dedup"),
		ManageCgroupsMode: ctx.String("manage-cgroups-mode"),
	}
	if o.ImagePath == "" {
		o.ImagePath = "checkpoint"
	}
	var err error
	if o.ImagePath, err = filepath.Abs(o.ImagePath); err != nil {
		return o, err
	}
	if o.WorkPath != "" {
		if o.WorkPath, err = filepath.Abs(o.WorkPath); err != nil {
			return o, err
		}
	}
	for _, v := range ctx.StringSlice("empty-ns") {
		o.EmptyNs = append(o.EmptyNs, strings.Split(v, ",")...)
	}
	return o, nil
}
