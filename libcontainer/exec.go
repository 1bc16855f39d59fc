package libcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/cgroups/systemd"
	"github.com/husk-runtime/husk/libcontainer/procattr"
	"github.com/husk-runtime/husk/libcontainer/seccomp"
	"github.com/husk-runtime/husk/libcontainer/stage"
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
	// ProcessFile is the --process file's content, where it alone made
	// Process: the settings of its exec are saved for the C exec.
	ProcessFile []byte
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
	s, err := c.State.Spec()
	if err != nil {
		return 0, err
	}
	profile, _ := c.State.Seccomp()
	filter, err := c.rt.compileSeccomp(profile)
	if err != nil {
		return 0, err
	}
	listener := filter.Listener()
	pidfd, err := openPidfd(c.State.Pid, c.State.PidStart)
	if err != nil {
		if errors.Is(err, errGone) {
			return 0, errors.New("cannot exec in a stopped container")
		}
		return 0, err
	}
	pidfdFile := os.NewFile(uintptr(pidfd), "pidfd")
	defer pidfdFile.Close()

	paths, err := subCgroups(c.State.CgroupPaths, o.SubCgroups)
	if err != nil {
		return 0, err
	}
	userns := vocab.HasNamespace(s, specs.UserNamespace)
	so := &stage.Opts{
		Mode:        stage.ModeExec,
		Dir:         "/",
		Stdio:       o.Stdio,
		PreserveFDs: o.PreserveFDs,
		Console:     o.Console,
		Warn:        c.rt.Warn,
		Debug:       c.rt.Debug,
	}
	so.Settings.JoinPidfd = pidfdFile
	for _, ns := range s.Linux.Namespaces {
		so.Settings.JoinFlags |= vocab.CloneFlag(ns.Type)
	}
	so.Settings.JoinCgroups(paths, !userns)
	so.Settings.OOMScoreAdj = o.Process.OOMScoreAdj
	if userns && len(paths) > 0 {
		// Joining the directories is all: with the systemd driver too,
		// whose scope exists (and Apply would start another).
		so.Setup = cgroups.Load(paths).Apply
		if c.State.SystemdUser {
			// A user may be refused the move where the user's systemd
			// is not (Attach).
			unit := systemd.Load(c.State.SystemdUnit, true, c.State.CgroupPaths)
			defer unit.Close()
			so.Setup = func(pid int) error { return unit.Attach(pid, paths[""]) }
		}
	}
	if p := o.Process; p.ExecCPUAffinity != nil && p.ExecCPUAffinity.Initial != "" {
		so.InitialAffinity = func() error { return procattr.ApplyInitialAffinity(p) }
	}
	cfg := &stage.Config{
		ID:      c.State.ID,
		Spec:    stageSpec(s, listener),
		Process: o.Process,
		User:    o.User,
		Seccomp: filter,
	}
	if so.Agent, err = connectAgent(listener); err != nil {
		return 0, err
	}
	if so.Agent != nil {
		defer so.Agent.Close()
		cfg.State = c.hookState(Running)
	}
	c.rt.debugf("exec %s: starting the exec stage to join the namespaces of pid %d and its cgroup (exec --cgroup %q)", c.State.ID, c.State.Pid, o.SubCgroups)
	st, err := stage.Start(so, cfg)
	if err != nil {
		return 0, c.execError(err)
	}
	c.rt.debugf("exec %s: stage is pid %d; waiting for its execve", c.State.ID, st.Pid())
	defer st.Close()
	if err := st.AwaitExec(); err != nil {
		return 0, c.execError(err)
	}
	c.rt.debugf("exec %s: process %d runs %q", c.State.ID, st.Pid(), o.Process.Args)
	if so.Agent == nil {
		c.saveExec(s, cfg.Seccomp)
		if o.ProcessFile != nil && len(o.SubCgroups) == 0 && len(cfg.ExtraEnv) == 0 {
			c.saveProcessExec(s, so.Settings, cfg, o.ProcessFile)
		}
	}
	return st.Pid(), nil
}

// execFile holds, once a first exec has run, what an exec of the
// container's own process with another command needs, so that the next
// `husk exec ID CMD...` runs in C before any Go starts (nsenter's
// execcmd.c, docs/design.md). The first exec writes it rather than create,
// so a container never exec'd into pays nothing for it.
const execFile = "exec.env"

// maxProcessFiles bounds the exec --process files a container keeps
// settings for (processExecFile): one per probe or health check, which
// repeat the same file, not one per command an engine ever exec'd.
const maxProcessFiles = 8

// processExecFile names the settings of an exec --process FILE whose
// content is data, for the C exec to take the next exec of the same
// content: containerd and podman write the same process for each run of
// a probe or health check. FNV-1a picks the name; the content itself,
// saved with the settings, decides.
func processExecFile(data []byte) string {
	h := fnv.New64a()
	h.Write(data)
	return fmt.Sprintf("exec-%016x.env", h.Sum64())
}

// saveExec writes execFile where the C exec can serve the container.
func (c *Container) saveExec(s *specs.Spec, filter *seccomp.Filter) {
	self, ok := c.cExec(s, execFile)
	if !ok {
		return
	}
	var set stage.Settings
	for _, ns := range s.Linux.Namespaces {
		set.JoinFlags |= vocab.CloneFlag(ns.Type)
	}
	set.JoinCgroups(c.State.CgroupPaths, !vocab.HasNamespace(s, specs.UserNamespace))
	set.OOMScoreAdj = s.Process.OOMScoreAdj
	p := *s.Process
	p.Terminal = false // exec's own --tty, which takes Go
	c.saveSettings(execFile, s, set, &stage.Config{ID: c.State.ID, Spec: s, Process: &p, Seccomp: filter}, self)
}

// saveProcessExec writes the settings of the exec just made, of the
// --process file data, for the C exec to take the next exec of the same
// content.
func (c *Container) saveProcessExec(s *specs.Spec, set stage.Settings, cfg *stage.Config, data []byte) {
	name := processExecFile(data)
	self, ok := c.cExec(s, name)
	if !ok || bytes.IndexByte(data, 0) >= 0 {
		return
	}
	if saved, _ := filepath.Glob(filepath.Join(c.dir, "exec-*.env")); len(saved) >= maxProcessFiles {
		return
	}
	c.saveSettings(name, s, set, cfg, self, stage.SavedProcess+"="+string(data))
}

// cExec tells whether the C exec can serve the container and name is not
// saved yet by this husk binary: a root husk, no user's systemd to move
// the process (Exec's Setup). (Nor a seccomp agent, which Exec checks.)
// self is the binary's SavedBinary setting.
func (c *Container) cExec(s *specs.Spec, name string) (self string, ok bool) {
	if os.Geteuid() != 0 || s.Process == nil || len(c.State.CgroupPaths) == 0 || c.State.SystemdUser {
		return "", false
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return "", false
	}
	self = fmt.Sprintf("%s=%d:%d:%d.%09d", stage.SavedBinary, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec)
	f, err := os.Open(filepath.Join(c.dir, name))
	if err != nil {
		return self, true
	}
	defer f.Close()
	head := make([]byte, len(self)+1)
	_, err = io.ReadFull(f, head)
	return self, err != nil || string(head) != self+"\x00"
}

// saveSettings writes the settings of an exec of cfg's process through set
// as name, with the binary's SavedBinary setting and extra, where the
// preamble applies them without warnings. A failure only leaves the next
// such exec to Go.
func (c *Container) saveSettings(name string, s *specs.Spec, set stage.Settings, cfg *stage.Config, self string, extra ...string) {
	if vocab.HasNamespace(s, specs.UserNamespace) {
		// From inside a user namespace clone3 may not enter the cgroup:
		// husk moves the stage there when it asks (Exec's Setup).
		set.Setup = true
		extra = append(extra, stage.SavedJoin+"="+strings.Join(cgroups.Dirs(c.State.CgroupPaths), "\n"))
	}
	saved, ok, err := stage.SavedExec(set, cfg)
	if err != nil || !ok {
		return
	}
	// Saved by this binary, for this binary: what it sends its stage is
	// no other version's business.
	saved = append([]string{self}, saved...)
	// The cgroup whose freezer tells a paused container, as Paused reads it.
	if dir := c.State.CgroupPaths["freezer"]; dir != "" {
		saved = append(saved, stage.SavedFreezerV1+"="+dir)
	} else if dir := c.State.CgroupPaths[""]; dir != "" {
		saved = append(saved, stage.SavedFreezerV2+"="+dir)
	}
	saved = append(saved, extra...)
	// Concurrent execs save too, without the state dir's lock: no spare.
	if err := replaceFile(c.dir, name, [][]byte{[]byte(strings.Join(saved, "\x00") + "\x00")}, ""); err != nil {
		c.rt.debugf("exec %s: %v", c.State.ID, err)
	}
}

// execError names the cause when the container stopped under a starting
// exec (a delete or kill racing it): the stage's own error then is only
// what it tripped on (a cgroup dir gone, a pipe broken, setns ESRCH while
// the init exits). A stage that died without a word may have gone first,
// killed by its PID namespace's init as that exits: the init gets a moment
// to be gone.
func (c *Container) execError(err error) error {
	if stage.IsExited(err) || errors.Is(err, unix.ECONNRESET) || errors.Is(err, unix.EPIPE) {
		waitGone(c.State.Pid, c.State.PidStart, 500*time.Millisecond)
	}
	if exiting(c.State.Pid, c.State.PidStart) {
		return fmt.Errorf("cannot exec: the container stopped while the process was starting (%w)", err)
	}
	return startError(err)
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
