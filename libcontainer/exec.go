package libcontainer

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/procattr"
	"github.com/husk-runtime/husk/libcontainer/seccomp"
	"github.com/husk-runtime/husk/spec/vocab"
)

// ExecOpts are the inputs of exec.
type ExecOpts struct {
	Process     *specs.Process
	User        string // --user given as a name, resolved in the container
	Console     *os.File
	PreserveFDs int
	Stdio       [3]*os.File
	// IgnorePaused (exec --ignore-paused): a paused container is no error;
	// the process joins its frozen cgroup and waits for the resume there.
	IgnorePaused bool
	// SubCgroups (exec --cgroup): "PATH" or "CONTROLLER[,CONTROLLER]:PATH",
	// a cgroup below the container's for the process to join instead.
	SubCgroups []string
}

// Exec starts a new process in the container's namespaces and cgroup and
// returns its host pid once it has exec'd. The process is husk's child.
func (c *Container) Exec(o *ExecOpts) (int, error) {
	switch st := c.Status(); st {
	case Stopped:
		return 0, errors.New("cannot exec in a stopped container")
	case Creating:
		return 0, errors.New("cannot exec in a container that is being created")
	case Paused:
		if !o.IgnorePaused {
			return 0, errors.New("cannot exec in a paused container")
		}
	}
	if o.Process.Terminal && o.Console == nil {
		return 0, errors.New("process.terminal is set: a --console-socket is required (or run in the foreground)")
	}
	spec, err := c.State.Spec()
	if err != nil {
		return 0, err
	}
	pidfd, err := openPidfd(c.State.Pid, c.State.PidStart)
	if err != nil {
		if errors.Is(err, errGone) {
			return 0, errors.New("cannot exec in a stopped container")
		}
		return 0, err
	}
	pidfdFile := os.NewFile(uintptr(pidfd), "pidfd")
	defer pidfdFile.Close()

	var join uintptr
	for _, ns := range spec.Linux.Namespaces {
		join |= vocab.CloneFlag(ns.Type)
	}
	userns := vocab.HasNamespace(spec, specs.UserNamespace)
	paths, err := subCgroups(c.cgroupPaths(), o.SubCgroups)
	if err != nil {
		return 0, err
	}
	so := &stageOpts{
		Mode:      "exec",
		Dir:       "/",
		Stdio:     o.Stdio,
		Preserved: inheritedFiles(o.PreserveFDs),
		Internal:  []*os.File{pidfdFile},
	}
	so.Env = append([]string{
		"_HUSK_JOIN_PIDFD=" + strconv.Itoa(so.internalFD(0)),
		"_HUSK_JOIN_FLAGS=" + strconv.FormatUint(uint64(join), 10),
	}, joinSettings(paths, !userns, o.Process.OOMScoreAdj)...)
	if userns {
		// Joining the directories is all: with the systemd driver too,
		// whose scope exists (and Apply would start another).
		so.Setup = cgroups.Load(paths).Apply
	}
	cfg := &stageConfig{
		Exec:        true,
		ID:          c.State.ID,
		Spec:        spec,
		Process:     o.Process,
		User:        o.User,
		PreserveFDs: len(so.Preserved),
		ExtraEnv:    listenEnv(),
		Debug:       Debug != nil,
	}
	if o.Console != nil {
		so.Internal = append(so.Internal, o.Console)
		cfg.ConsoleFD = so.internalFD(len(so.Internal) - 1)
	}
	if sc := spec.Linux.Seccomp; sc != nil && sc.ListenerPath != "" {
		agent, err := seccomp.Connect(sc)
		if err != nil {
			return 0, err
		}
		defer agent.Close()
		so.Internal = append(so.Internal, agent)
		cfg.SeccompFD = so.internalFD(len(so.Internal) - 1)
		cfg.State = c.hookState(Running)
	}
	if cfg.Seccomp, err = compileSeccomp(spec); err != nil {
		return 0, err
	}
	debugf("exec %s: starting the exec stage to join the namespaces of pid %d and its cgroup (exec --cgroup %q)", c.State.ID, c.State.Pid, o.SubCgroups)
	st, err := startExecStage(so, cfg, o.Process)
	if err != nil {
		return 0, c.execError(err)
	}
	debugf("exec %s: stage is pid %d; waiting for its execve", c.State.ID, st.pid)
	defer st.close()
	// The stage's end of the socket closes on a successful execve; anything
	// sent before that is an error.
	if _, err := st.next(); err != io.EOF {
		st.kill()
		if err == nil {
			err = errors.New("exec stage sent an unexpected message")
		}
		return 0, c.execError(err)
	}
	debugf("exec %s: process %d runs %q", c.State.ID, st.pid, o.Process.Args)
	return st.pid, nil
}

// execError names the cause when the container stopped under a starting
// exec (a delete or kill racing it): the stage's own error then is only
// what it tripped on (a cgroup dir gone, a pipe broken, setns ESRCH). A
// stage that died without a word may have gone first, killed by its PID
// namespace's init as that exits: the init gets a moment to be gone.
func (c *Container) execError(err error) error {
	if errors.Is(err, errExited) || errors.Is(err, unix.ECONNRESET) || errors.Is(err, unix.EPIPE) {
		waitGone(c.State.Pid, c.State.PidStart, 500*time.Millisecond)
	}
	if !alive(c.State.Pid, c.State.PidStart) {
		return fmt.Errorf("cannot exec: the container stopped while the process was starting (%w)", err)
	}
	return startError(err)
}

// startExecStage starts the exec stage from a thread of its own that
// carries execCPUAffinity.initial, so the stage is born with that mask,
// before its preamble joins the cgroup. The thread is never unlocked: it
// ends with its goroutine instead of returning to the pool with the mask.
func startExecStage(so *stageOpts, cfg *stageConfig, p *specs.Process) (*stage, error) {
	if p.ExecCPUAffinity == nil || p.ExecCPUAffinity.Initial == "" {
		return startStage(so, cfg)
	}
	type started struct {
		st  *stage
		err error
	}
	ch := make(chan started)
	go func() {
		runtime.LockOSThread()
		if err := procattr.ApplyInitialAffinity(p); err != nil {
			ch <- started{nil, err}
			return
		}
		st, err := startStage(so, cfg)
		ch <- started{st, err}
	}()
	r := <-ch
	return r.st, r.err
}

// subCgroups applies exec --cgroup values to the container's cgroup paths.
// A path is relative to the container's cgroup and must stay below it; a
// value without controllers applies to every hierarchy.
func subCgroups(paths map[string]string, values []string) (map[string]string, error) {
	if len(values) == 0 {
		return paths, nil
	}
	out := maps.Clone(paths)
	for _, v := range values {
		ctrls, sub, found := strings.Cut(v, ":")
		if !found {
			ctrls, sub = "", v
		}
		clean := filepath.Clean("/" + sub)
		if rel := filepath.Join(".", sub); rel == ".." || strings.HasPrefix(rel, "../") {
			return nil, fmt.Errorf("exec --cgroup: bad sub cgroup path: %s is outside the container's cgroup", sub)
		}
		keys := slices.Collect(maps.Keys(paths))
		if found {
			keys = strings.Split(ctrls, ",")
		}
		for _, k := range keys {
			base, ok := paths[k]
			if !ok {
				return nil, fmt.Errorf("exec --cgroup: unknown controller %q", k)
			}
			dir := filepath.Join(base, clean)
			if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err != nil {
				return nil, fmt.Errorf("exec --cgroup: adding pid to %s: %w", dir, err)
			}
			out[k] = dir
		}
	}
	return out, nil
}
