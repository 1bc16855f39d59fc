package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer"
	"github.com/husk-runtime/husk/libcontainer/nsenter"
	"github.com/husk-runtime/husk/spec"
)

var execCommand = &cli.Command{
	Name:      "exec",
	Usage:     "run a new process inside a running container",
	ArgsUsage: "<container-id> <command> [args...]",
	Description: `Exec runs a command in the namespaces and cgroup of a container. The
process inherits the container's process settings (env, cwd, user,
capabilities) unless flags or a --process file say otherwise. In the
foreground husk exits with the process's exit code; a failure to start it
exits 255.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "process", Aliases: []string{"p"}, Usage: "`FILE` with the process as OCI process JSON (overrides the other settings)"},
		&cli.BoolFlag{Name: "tty", Aliases: []string{"t"}, Usage: "allocate a pseudo-TTY"},
		&cli.StringFlag{Name: "cwd", Usage: "working directory in the container"},
		&cli.StringSliceFlag{Name: "env", Aliases: []string{"e"}, Usage: "set an environment variable (KEY=VALUE)"},
		&cli.StringFlag{Name: "user", Aliases: []string{"u"}, Usage: "`UID[:GID]` or name[:group] to run as"},
		&cli.Int64SliceFlag{Name: "additional-gids", Aliases: []string{"g"}, Usage: "additional group id"},
		&cli.StringSliceFlag{Name: "cap", Aliases: []string{"c"}, Usage: "add a capability (CAP_...)"},
		&cli.BoolFlag{Name: "detach", Aliases: []string{"d"}, Usage: "return once the process runs"},
		&cli.StringFlag{Name: "pid-file", Usage: "write the process's pid to `FILE`"},
		&cli.StringFlag{Name: "console-socket", Usage: "unix socket `PATH` that receives the pty master"},
		&cli.StringFlag{Name: "pidfd-socket", Usage: "unix socket `PATH` that receives a pidfd of the new process"},
		&cli.BoolFlag{Name: "no-new-privs", Usage: "set no_new_privs for the process"},
		&cli.IntFlag{Name: "preserve-fds", Usage: "pass `N` more fds (3..3+N-1) to the process"},
		&cli.StringFlag{Name: "apparmor", Usage: "AppArmor profile for the process"},
		&cli.StringFlag{Name: "process-label", Usage: "SELinux label for the process"},
		&cli.BoolFlag{Name: "ignore-paused", Usage: "exec in a paused container too (the process starts frozen, and runs once the container is resumed)"},
		&cli.StringSliceFlag{Name: "cgroup", Usage: "join `[CONTROLLER[,CONTROLLER]:]PATH`, a cgroup below the container's, instead of the container's own"},
	},
	Action: func(ctx *cli.Context) error {
		// The C exec ran the process, and only its pid file failed.
		if msg, failed := nsenter.CommandFailed(); failed {
			return &exitError{code: 255, err: errors.New(msg)}
		}
		err := execProcess(ctx)
		var ec exitCoder
		if err != nil && !errors.As(err, &ec) {
			return &exitError{code: 255, err: err}
		}
		return err
	},
}

func execProcess(ctx *cli.Context) error {
	if ctx.NArg() < 1 {
		return errors.New("exec: missing container id")
	}
	id := ctx.Args().First()
	c, err := runtimeOf(ctx).Load(id)
	if err != nil {
		return err
	}
	saved, err := c.State.Spec()
	if err != nil {
		// A create that was killed, or a delete that has already removed
		// state.json, leaves no spec: the status is what is wrong.
		switch c.Status() {
		case libcontainer.Stopped:
			return errors.New("cannot exec in a stopped container")
		case libcontainer.Creating:
			return errors.New("cannot exec in a container that is being created")
		}
		return err
	}
	// A state.json damaged by hand or by a full disk can hold a spec
	// without the section the exec stage joins the container by.
	if saved.Linux == nil {
		return fmt.Errorf("exec: the saved spec of %s has no linux section", id)
	}
	p, file, err := execSpec(ctx, saved.Process)
	if err != nil {
		return err
	}
	if a := ctx.String("apparmor"); a != "" {
		p.ApparmorProfile = a
	}
	if l := ctx.String("process-label"); l != "" {
		p.SelinuxLabel = l
	}
	// The one check of the process, before anything is made: the exec
	// stage trusts it.
	if err := spec.ValidateProcess(p, saved.Linux); err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	detach := ctx.Bool("detach")
	opts := &libcontainer.ExecOpts{
		Process:      p,
		User:         userName(ctx.String("user")),
		PreserveFDs:  ctx.Int("preserve-fds"),
		Stdio:        [3]*os.File{os.Stdin, os.Stdout, os.Stderr},
		IgnorePaused: ctx.Bool("ignore-paused"),
		SubCgroups:   ctx.StringSlice("cgroup"),
	}
	if ctx.String("apparmor") == "" && ctx.String("process-label") == "" {
		opts.ProcessFile = file
	}
	var pidfdSock *os.File
	if path := ctx.String("pidfd-socket"); path != "" {
		if pidfdSock, err = libcontainer.ConnectPidfdSocket(path); err != nil {
			return err
		}
		defer pidfdSock.Close()
	}
	var console *os.File
	if p.Terminal {
		opts.Console, console, err = consoleFor(ctx.String("console-socket"), !detach)
		if err != nil {
			return err
		}
	}
	var fg *foreground
	if !detach {
		if fg, err = newForeground(); err != nil {
			return err
		}
	}
	pid, err := c.Exec(opts)
	if opts.Console != nil {
		opts.Console.Close()
	}
	if err != nil {
		return err
	}
	if console != nil {
		fg.master, err = libcontainer.RecvMaster(console)
		console.Close()
		if err != nil {
			return err
		}
	}
	if err := writePidFile(ctx.String("pid-file"), pid); err != nil {
		return err
	}
	if pidfdSock != nil {
		if err := libcontainer.SendPidfd(pidfdSock, pid, libcontainer.PidfdExec); err != nil {
			// The engine can't manage a process it has no pidfd of.
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return err
		}
	}
	if detach {
		return nil
	}
	return &exitError{code: fg.wait(pid)}
}

// userName returns --user when it names a user or group (resolved in the
// container's /etc/passwd and /etc/group), "" when it is numeric or empty.
func userName(u string) string {
	uid, gid, _ := strings.Cut(u, ":")
	if strings.Trim(uid, "0123456789") == "" && strings.Trim(gid, "0123456789") == "" {
		return ""
	}
	return u
}

// execSpec builds the process to run: the --process file as given (its
// content the second result), or the container's own process with the
// command line's changes.
func execSpec(ctx *cli.Context, base *specs.Process) (*specs.Process, []byte, error) {
	if path := ctx.String("process"); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("exec: %w", err)
		}
		var p specs.Process
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, nil, fmt.Errorf("exec: parse %s: %w", path, err)
		}
		if len(p.Args) == 0 {
			return nil, nil, fmt.Errorf("exec: %s: args must not be empty", path)
		}
		// A process file that names no profile or label runs under the
		// container's: leaving the field out must not be a way out of the
		// container's confinement. runc does so for the SELinux label
		// only, and runs such a process without an AppArmor profile.
		if base != nil && p.ApparmorProfile == "" {
			p.ApparmorProfile = base.ApparmorProfile
		}
		if base != nil && p.SelinuxLabel == "" {
			p.SelinuxLabel = base.SelinuxLabel
		}
		return &p, data, nil
	}
	if ctx.NArg() < 2 {
		return nil, nil, errors.New("exec: missing command")
	}
	if base == nil {
		return nil, nil, errors.New("exec: the container's saved spec has no process to start from: give one with --process")
	}
	p := *base
	p.Args = ctx.Args().Slice()[1:]
	p.Terminal = ctx.Bool("tty")
	p.Env = append(append([]string{}, base.Env...), ctx.StringSlice("env")...)
	if cwd := ctx.String("cwd"); cwd != "" {
		p.Cwd = cwd
	}
	if u := ctx.String("user"); u != "" && userName(u) == "" {
		// Numeric ids, as runc: a uid alone keeps the container's gid.
		uidStr, gidStr, hasGid := strings.Cut(u, ":")
		uid, err := strconv.ParseUint(uidStr, 10, 32)
		if err != nil {
			return nil, nil, fmt.Errorf("exec: --user %q: invalid uid", u)
		}
		p.User.UID = uint32(uid)
		if hasGid {
			gid, err := strconv.ParseUint(gidStr, 10, 32)
			if err != nil {
				return nil, nil, fmt.Errorf("exec: --user %q: invalid gid", u)
			}
			p.User.GID = uint32(gid)
		}
	}
	for _, g := range ctx.Int64Slice("additional-gids") {
		if g < 0 || g > 1<<32-1 {
			return nil, nil, fmt.Errorf("exec: --additional-gids %d: out of range", g)
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(g))
	}
	if caps := ctx.StringSlice("cap"); len(caps) > 0 {
		c := specs.LinuxCapabilities{}
		if base.Capabilities != nil {
			c = *base.Capabilities
		}
		c.Bounding = append(append([]string{}, c.Bounding...), caps...)
		c.Effective = append(append([]string{}, c.Effective...), caps...)
		c.Permitted = append(append([]string{}, c.Permitted...), caps...)
		// As runc: ambient too, when the config has an inheritable set
		// (even an empty one). --cap leaves inheritable as it is, and the
		// kernel raises an ambient capability only if it is inheritable:
		// one that isn't is left out with a warning.
		if c.Inheritable != nil {
			c.Ambient = append(append([]string{}, c.Ambient...), caps...)
		}
		p.Capabilities = &c
	}
	if ctx.Bool("no-new-privs") {
		p.NoNewPrivileges = true
	}
	return &p, nil, nil
}
