package libcontainer

import (
	"errors"
	"io"
	"os"
	"runtime"
	"strconv"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/procattr"
	"github.com/husk-runtime/husk/libcontainer/seccomp"
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
}

// Exec starts a new process in the container's namespaces and cgroup and
// returns its host pid once it has exec'd. The process is husk's child.
func (c *Container) Exec(o *ExecOpts) (int, error) {
	switch st := c.Status(); st {
	case Stopped:
		return 0, errors.New("cannot exec in a stopped container")
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
		join |= nsFlags[ns.Type]
	}
	userns := hasNamespace(spec, specs.UserNamespace)
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
	}, joinSettings(c.cgroupPaths(), !userns, o.Process.OOMScoreAdj)...)
	if userns {
		// Joining the directories is all: with the systemd driver too,
		// whose scope exists (and Apply would start another).
		so.Setup = cgroups.Load(c.cgroupPaths()).Apply
	}
	cfg := &stageConfig{
		Exec:        true,
		ID:          c.State.ID,
		Spec:        spec,
		Process:     o.Process,
		User:        o.User,
		PreserveFDs: len(so.Preserved),
		ExtraEnv:    listenEnv(),
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
	if err := procattr.Validate(o.Process, spec.Linux); err != nil {
		return 0, err
	}
	st, err := startExecStage(so, cfg, o.Process)
	if err != nil {
		return 0, startError(err)
	}
	defer st.close()
	// The stage's end of the socket closes on a successful execve; anything
	// sent before that is an error.
	if _, err := st.next(); err != io.EOF {
		st.kill()
		if err == nil {
			err = errors.New("exec stage sent an unexpected message")
		}
		return 0, startError(err)
	}
	return st.pid, nil
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
