package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer"
	"github.com/husk-runtime/husk/spec"
)

var restoreCommand = &cli.Command{
	Name:      "restore",
	Usage:     "restore a container from a checkpoint with CRIU",
	ArgsUsage: "<container-id>",
	Description: `Restore makes container <container-id> from the bundle (as create) and has
CRIU restore the checkpoint in --image-path into it: its processes, mounts and
namespaces, in the container's cgroup (the config's limits). The restored
init gets husk's stdin, stdout and stderr where it had pipes or files from
outside the container. With --detach restore returns once the container runs;
in the foreground (the default) husk forwards signals to it, serves its
terminal, exits with its exit code (128+N when killed by signal N) and
deletes it, as run. A terminal's new pty master goes to --console-socket.
Not yet: hooks other than poststop, the systemd cgroup driver, cgroup v1
hosts, rootless.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "the bundle `DIR` (default: the current directory)"},
		&cli.StringFlag{Name: "image-path", Usage: "the checkpoint's images (default: ./checkpoint)"},
		&cli.StringFlag{Name: "work-path", Usage: "directory for CRIU's log (default: the image path)"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the container runs"},
		&cli.StringFlag{Name: "pid-file", Usage: "write the restored init's pid to `FILE`"},
		&cli.BoolFlag{Name: "no-subreaper", Usage: "do not make husk a subreaper of the container's orphans (foreground)"},
		&cli.BoolFlag{Name: "no-pivot", Usage: "accepted for runc's sake (CRIU restores the mounts)"},
		&cli.BoolFlag{Name: "tcp-established", Usage: "restore open TCP connections"},
		&cli.BoolFlag{Name: "tcp-skip-in-flight", Usage: "skip TCP connections being established"},
		&cli.BoolFlag{Name: "ext-unix-sk", Usage: "allow external unix sockets"},
		&cli.BoolFlag{Name: "shell-job", Usage: "allow a shell job"},
		&cli.BoolFlag{Name: "file-locks", Usage: "restore file locks"},
		&cli.BoolFlag{Name: "auto-dedup", Usage: "deduplicate the memory of parent images"},
		&cli.StringFlag{Name: "manage-cgroups-mode", Usage: "cgroups mode: soft, full, strict or ignore (default: CRIU's, soft)"},
		&cli.StringSliceFlag{Name: "empty-ns", Usage: "a namespace to restore empty (network)"},
		&cli.StringFlag{Name: "console-socket", Usage: "send the restored terminal's pty master to the unix socket at `PATH`"},
		&cli.BoolFlag{Name: "lazy-pages", Usage: "not supported by husk yet"},
		&cli.StringFlag{Name: "lsm-profile", Usage: "not supported by husk yet"},
		&cli.StringFlag{Name: "lsm-mount-context", Usage: "not supported by husk yet"},
	},
	Action: func(ctx *cli.Context) error {
		id, err := requireID(ctx, 0)
		if err != nil {
			return err
		}
		if err := refuseFlags(ctx, "lazy-pages", "lsm-profile", "lsm-mount-context"); err != nil {
			return err
		}
		bundle, err := filepath.Abs(ctx.String("bundle"))
		if err != nil {
			return fmt.Errorf("bundle: %w", err)
		}
		s, profile, err := spec.Load(bundle)
		if err != nil {
			return err
		}
		criu, err := criuOpts(ctx)
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
		var console, local *os.File
		if s.Process.Terminal {
			console, local, err = consoleFor(ctx.String("console-socket"), !detach)
			if err != nil {
				return err
			}
			defer console.Close()
			if local != nil {
				defer local.Close()
			}
		}
		c, err := runtimeOf(ctx).Restore(&libcontainer.RestoreOpts{
			ID:       id,
			Bundle:   bundle,
			Spec:     s,
			Seccomp:  profile,
			CRIUOpts: criu,
			Stdio:    [3]*os.File{os.Stdin, os.Stdout, os.Stderr},
			Console:  console,
		})
		if err != nil {
			return err
		}
		if local != nil {
			// In the foreground husk serves the restored terminal.
			if fg.master, err = libcontainer.RecvMaster(local); err != nil {
				_ = c.Delete(true)
				c.Release()
				return err
			}
		}
		defer c.Release()
		if err := writePidFile(ctx.String("pid-file"), c.State.Pid); err != nil {
			_ = c.Delete(true)
			return err
		}
		// CRIU restores the init as its own sibling, so husk's child: husk
		// can wait for it in the foreground as run does.
		return releaseAndWait(ctx, c, fg, false)
	},
}
