package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer"
	"github.com/husk-runtime/husk/spec"
)

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

// createFlags are shared by create and run.
func createFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "bundle", Aliases: []string{"b"}, Usage: "path to the bundle `DIR` (default: the current directory)"},
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket `PATH` that receives the pty master when process.terminal is set"},
		&cli.StringFlag{Name: "pid-file", Usage: "write the container's init pid to `FILE`"},
		&cli.BoolFlag{Name: "no-pivot", Usage: "do not use pivot_root (for a rootfs on a ramdisk)"},
		&cli.BoolFlag{Name: "no-new-keyring", Usage: "keep the caller's session keyring instead of a new one"},
		&cli.IntFlag{Name: "preserve-fds", Usage: "pass `N` more fds (3..3+N-1) to the container"},
		&cli.StringFlag{Name: "pidfd-socket", Usage: "unix socket `PATH` that receives a pidfd of the container's init"},
	}
}

// createContainer loads the bundle and creates the container. With
// foreground, a terminal is served by husk itself: the returned socket
// receives the pty master.
func createContainer(ctx *cli.Context, id string, foreground bool) (*libcontainer.Container, *os.File, error) {
	bundle := ctx.String("bundle")
	if bundle == "" {
		bundle = "."
	}
	bundle, err := filepath.Abs(bundle)
	if err != nil {
		return nil, nil, fmt.Errorf("bundle: %w", err)
	}
	s, profile, err := spec.Load(bundle)
	if err != nil {
		return nil, nil, err
	}
	opts := &libcontainer.CreateOpts{
		ID:           id,
		Bundle:       bundle,
		Spec:         s,
		Seccomp:      profile,
		NoPivot:      ctx.Bool("no-pivot"),
		NoNewKeyring: ctx.Bool("no-new-keyring"),
		PreserveFDs:  ctx.Int("preserve-fds"),
		Stdio:        [3]*os.File{os.Stdin, os.Stdout, os.Stderr},
	}
	var pidfdSock *os.File
	if path := ctx.String("pidfd-socket"); path != "" {
		if pidfdSock, err = libcontainer.ConnectPidfdSocket(path); err != nil {
			return nil, nil, err
		}
		defer pidfdSock.Close()
	}
	var local *os.File
	if s.Process.Terminal {
		opts.Console, local, err = consoleFor(ctx.String("console-socket"), foreground)
		if err != nil {
			return nil, nil, err
		}
		defer opts.Console.Close()
	}
	c, err := runtimeOf(ctx).Create(opts)
	if err != nil {
		if local != nil {
			local.Close()
		}
		return nil, nil, err
	}
	err = writePidFile(ctx.String("pid-file"), c.State.Pid)
	if err == nil && pidfdSock != nil {
		err = libcontainer.SendPidfd(pidfdSock, c.State.Pid, libcontainer.PidfdInit)
	}
	if err != nil {
		_ = c.Delete(true)
		c.Release()
		if local != nil {
			local.Close()
		}
		return nil, nil, err
	}
	return c, local, nil
}

// consoleFor returns the console socket to hand the container: a
// connection to --console-socket, or husk's own pair in the foreground.
func consoleFor(path string, foreground bool) (remote, local *os.File, err error) {
	if path != "" {
		remote, err = libcontainer.ConnectConsole(path)
		return remote, nil, err
	}
	if !foreground {
		return nil, nil, errors.New("cannot allocate a tty when husk detaches without --console-socket")
	}
	local, remote, err = libcontainer.ConsolePair()
	return remote, local, err
}

// writePidFile writes pid without a trailing newline (containerd parses it
// with Atoi) and atomically, so a reader never sees a partial file.
func writePidFile(path string, pid int) error {
	if path == "" {
		return nil
	}
	path, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}
