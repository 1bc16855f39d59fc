// The Go runtime's container-aware GOMAXPROCS opens the cgroup's CPU files
// at start and keeps them open: in a stage that is a handle on the host's
// cgroupfs held inside the container, and a cost on every husk command.
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0

// Command husk is a low-level OCI container runtime with runc's command line.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"

	"github.com/husk-runtime/husk/libcontainer"
	_ "github.com/husk-runtime/husk/libcontainer/nsenter"
	"github.com/husk-runtime/husk/libcontainer/seccomp"
	"github.com/husk-runtime/husk/libcontainer/stage"
)

// Set at build time by the Makefile.
var (
	version   = "dev"
	gitCommit = "unknown"
)

const usage = `Open Container Initiative runtime

husk is a command line client for running containers packaged according to
the Open Container Initiative (OCI) runtime specification, a drop-in for runc.

Containers are configured using bundles: a directory with a config.json and
a root filesystem. To start a container, cd into the bundle and run:

    # husk run mycontainer`

func main() {
	// husk re-executes itself as a container's init or exec stage; the C
	// preamble has already moved such a process into the container's
	// namespaces by the time Go runs.
	if mode, ok := stage.Requested(os.Args); ok {
		stage.Main(mode)
	}
	os.Exit(run(os.Args))
}

func run(args []string) int {
	app := newApp()
	err := app.Run(flagsFirst(app, args))
	if err == nil {
		return 0
	}
	code := 1
	var ec exitCoder
	if errors.As(err, &ec) {
		code = ec.ExitCode()
		if code == 0 || ec.Error() == "" {
			return code
		}
	}
	logger.fatal(err)
	return code
}

// progName is the name husk was run by, for help texts: "husk", or "runc"
// where it is installed in runc's place.
func progName() string {
	if len(os.Args) > 0 {
		if name := filepath.Base(os.Args[0]); name != "." && name != "/" {
			return name
		}
	}
	return "husk"
}

func newApp() *cli.App {
	cli.VersionPrinter = printVersion
	app := &cli.App{
		Name:    progName(),
		Usage:   usage,
		Version: version,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "debug", Usage: "enable debug logging"},
			&cli.StringFlag{Name: "log", Usage: "write log lines to `FILE` instead of stderr"},
			&cli.StringFlag{Name: "log-format", Value: "text", Usage: "log format: text or json"},
			&cli.StringFlag{Name: "root", Value: defaultRoot(), Usage: "directory holding container state (a tmpfs is best)"},
			&cli.BoolFlag{Name: "systemd-cgroup", Usage: "use the systemd cgroup driver (cgroupsPath is slice:prefix:name)"},
			&cli.StringFlag{Name: "rootless", Value: "auto", Usage: "rootless container management: true, false or auto"},
			&cli.StringFlag{Name: "criu", Hidden: true, Usage: "accepted for runc compatibility"},
		},
		Commands: []*cli.Command{
			checkpointCommand,
			createCommand,
			deleteCommand,
			eventsCommand,
			execCommand,
			featuresCommand,
			killCommand,
			listCommand,
			pauseCommand,
			psCommand,
			restoreCommand,
			resumeCommand,
			runCommand,
			specCommand,
			startCommand,
			stateCommand,
			updateCommand,
		},
		Before: func(ctx *cli.Context) error {
			if err := logger.setup(ctx.String("log"), ctx.String("log-format"), ctx.Bool("debug")); err != nil {
				return err
			}
			switch ctx.String("rootless") {
			case "true", "false", "auto":
			default:
				return fmt.Errorf("--rootless: invalid value %q: want true, false or auto", ctx.String("rootless"))
			}
			// A non-root user's containers live under $XDG_RUNTIME_DIR;
			// without it (and without --root) there is no place for them.
			if ctx.String("root") == "" && needsRoot(ctx.Args().First()) {
				return errors.New("--root is not set and $XDG_RUNTIME_DIR is unset: a non-root user's containers live in $XDG_RUNTIME_DIR/husk; set one of them")
			}
			return nil
		},
		OnUsageError: usageError,
		// run() reports every error, exit codes included, so --log gets
		// its line; urfave/cli would otherwise print and exit by itself.
		ExitErrHandler:  func(*cli.Context, error) {},
		HideHelpCommand: true,
		// As runc's command line: "-e A=1,2" is one value, not two.
		DisableSliceFlagSeparator: true,
		EnableBashCompletion:      true,
		CommandNotFound: func(ctx *cli.Context, name string) {
			fmt.Fprintf(os.Stderr, "husk: %q is not a husk command; see husk --help\n", name)
			os.Exit(1)
		},
	}
	for _, c := range app.Commands {
		c.OnUsageError = usageError
	}
	return app
}

// usageError turns urfave's usage errors (unknown flags, missing values)
// into one error line instead of a help page.
func usageError(_ *cli.Context, err error, _ bool) error {
	return err
}

// defaultRoot follows runc: /run/husk for root, $XDG_RUNTIME_DIR/husk for
// rootless users, and none (an error for the commands that need one) for a
// non-root user without $XDG_RUNTIME_DIR: /run/husk isn't theirs to write.
// Root inside a user namespace is a rootless user too (rootless podman
// runs husk so), unless $USER says root: the host's /run/husk is not its
// to write either.
func defaultRoot() string {
	dir := os.Getenv("XDG_RUNTIME_DIR")
	if os.Geteuid() != 0 {
		if dir != "" {
			return dir + "/husk"
		}
		return ""
	}
	if dir != "" && os.Getenv("USER") != "root" && libcontainer.InUserNamespace() {
		return dir + "/husk"
	}
	return "/run/husk"
}

// needsRoot tells whether a command reads or writes container state; the
// empty name is husk without a command (help, --version).
func needsRoot(command string) bool {
	switch command {
	case "", "spec", "features", "help", "h":
		return false
	}
	return true
}

// rootlessCgroups is --rootless as runc reads it: true or false as given;
// auto means rootless for a non-root user, and for root inside a user
// namespace (the host's root not mapped into it), where cgroupfs is
// usually not ours to write. Rootless cgroups tolerate a cgroup that can't
// be made when the container asks for no limits.
func rootlessCgroups(ctx *cli.Context) bool {
	switch ctx.String("rootless") {
	case "true":
		return true
	case "false":
		return false
	}
	if os.Geteuid() != 0 {
		return true
	}
	// Only create (and run) make a cgroup: the others needn't read
	// /proc/self/uid_map.
	if ctx.Command == nil || (ctx.Command.Name != "create" && ctx.Command.Name != "run") {
		return false
	}
	return libcontainer.InUserNamespace()
}

func printVersion(ctx *cli.Context) {
	fmt.Printf("husk version %s\n", version)
	fmt.Printf("commit: %s\n", gitCommit)
	fmt.Printf("spec: %s\n", specs.Version)
	fmt.Printf("go: %s\n", runtime.Version())
	fmt.Printf("libseccomp: %s\n", seccomp.LibraryVersion())
}

type exitCoder interface {
	error
	ExitCode() int
}

// exitError ends husk with a code, as run and exec do with the container's.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return ""
	}
	return e.err.Error()
}
func (e *exitError) ExitCode() int { return e.code }
func (e *exitError) Unwrap() error { return e.err }

// runtimeOf is the runtime the global flags describe.
func runtimeOf(ctx *cli.Context) *libcontainer.Runtime {
	r := &libcontainer.Runtime{
		Root:          ctx.String("root"),
		SystemdCgroup: ctx.Bool("systemd-cgroup"),
		Rootless:      rootlessCgroups(ctx),
		Warn:          func(msg string) { logger.log("warning", msg) },
	}
	if ctx.Bool("debug") {
		r.Debug = func(msg string) { logger.log("debug", msg) }
	}
	return r
}

// withID runs op, a Runtime method, on the container named by the
// command's only argument.
func withID(ctx *cli.Context, op func(*libcontainer.Runtime, string) error) error {
	id, err := requireID(ctx, 0)
	if err != nil {
		return err
	}
	return op(runtimeOf(ctx), id)
}

// requireID returns the single container id argument of a command.
func requireID(ctx *cli.Context, extra int) (string, error) {
	n := ctx.NArg()
	if n < 1 {
		return "", fmt.Errorf("%s: missing container id", ctx.Command.Name)
	}
	if n > 1+extra {
		return "", fmt.Errorf("%s: unexpected arguments %s", ctx.Command.Name, strings.Join(ctx.Args().Slice()[1+extra:], " "))
	}
	id := ctx.Args().First()
	if err := libcontainer.ValidateID(id); err != nil {
		return "", err
	}
	return id, nil
}

// idCommands take only a container id (and kill a signal) besides flags.
var idCommands = map[string]bool{
	"delete": true, "events": true, "kill": true, "pause": true, "resume": true,
	"start": true, "state": true, "update": true,
}

// flagsFirst moves a command's flags that follow the container id in front
// of it: runc's urfave/cli v1 parses "runc update ID --memory 1M" that way,
// and scripts (runc's own tests among them) rely on it; v2 stops at the
// first argument. Only the commands above, only flags they define, and
// nothing after "--".
func flagsFirst(app *cli.App, args []string) []string {
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		if takesValue(app.Flags, args[i]) {
			i++
		}
		i++
	}
	if i >= len(args) || !idCommands[args[i]] {
		return args
	}
	cmd := app.Command(args[i])
	if cmd == nil {
		return args
	}
	var flags, rest []string
	tail := args[i+1:]
	for j := 0; j < len(tail); j++ {
		a := tail[j]
		if a == "--" {
			rest = append(rest, tail[j:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" || lookupFlag(cmd.Flags, a) == nil {
			rest = append(rest, a)
			continue
		}
		flags = append(flags, a)
		if takesValue(cmd.Flags, a) && j+1 < len(tail) {
			j++
			flags = append(flags, tail[j])
		}
	}
	out := append(append([]string{}, args[:i+1]...), flags...)
	return append(out, rest...)
}

// lookupFlag finds the flag an argument such as "--memory", "-m" or
// "--memory=1M" names.
func lookupFlag(flags []cli.Flag, arg string) cli.Flag {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	for _, f := range flags {
		if slices.Contains(f.Names(), name) {
			return f
		}
	}
	return nil
}

// takesValue tells whether arg is a flag whose value is the next argument.
func takesValue(flags []cli.Flag, arg string) bool {
	f := lookupFlag(flags, arg)
	if f == nil || strings.Contains(arg, "=") {
		return false
	}
	_, isBool := f.(*cli.BoolFlag)
	return !isBool
}
