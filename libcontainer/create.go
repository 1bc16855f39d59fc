package libcontainer

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/hooks"
	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/cgroups/systemd"
	"github.com/husk-runtime/husk/libcontainer/lsm"
	"github.com/husk-runtime/husk/libcontainer/rootfs"
	"github.com/husk-runtime/husk/libcontainer/seccomp"
	"github.com/husk-runtime/husk/libcontainer/stage"
	hspec "github.com/husk-runtime/husk/spec"
	"github.com/husk-runtime/husk/spec/vocab"
)

// CreateOpts are the inputs of create (and of run's create half).
type CreateOpts struct {
	ID     string
	Bundle string // absolute
	Spec   *specs.Spec
	// Seccomp is linux.seccomp as JSON, as spec.Load returns it beside
	// the spec. A Spec with its own Linux.Seccomp needs none.
	Seccomp seccomp.Profile
	// Console receives the pty master when process.terminal is set: a
	// connection to --console-socket, or run's own socketpair end.
	Console      *os.File
	NoPivot      bool
	NoNewKeyring bool
	PreserveFDs  int
	Stdio        [3]*os.File
}

// Create sets up a container and leaves its init waiting for Start. Any
// failure undoes every step done before it: no state directory, cgroup or
// process is left.
func (r *Runtime) Create(o *CreateOpts) (c *Container, err error) {
	if err := ValidateID(o.ID); err != nil {
		return nil, err
	}
	opts := *o
	o = &opts
	if o.Spec, o.Seccomp, err = hspec.SplitProfile(o.Spec, o.Seccomp); err != nil {
		return nil, err
	}
	s := o.Spec
	if s.Process.Terminal && o.Console == nil {
		return nil, errors.New("process.terminal is set: a --console-socket is required (or run in the foreground)")
	}
	if err := labelMounts(s); err != nil {
		return nil, err
	}
	filter, err := r.compileSeccomp(o.Seccomp)
	if err != nil {
		return nil, err
	}
	listener := filter.Listener()
	sources, err := newMountSources(s, o.Bundle)
	if err != nil {
		return nil, err
	}
	if sources != nil {
		defer sources.close()
	}
	sharedRootfs := !vocab.HasNamespace(s, specs.MountNamespace)
	if c, err = r.newStateDir(o, sharedRootfs); err != nil {
		return nil, err
	}
	dir := c.dir
	// The cgroup is made on a goroutine of its own, beside the stage's
	// spawn or right after it (below); only once the id is known to be
	// new, so it can't be another container's cgroup.
	cgroup := c.startCgroup(o)
	var st *stage.Stage
	defer func() {
		if err != nil {
			if st != nil {
				st.Kill()
				st.Close()
			}
			_ = c.destroy()
			// A failed create hook ends the lifecycle as delete would,
			// poststop hooks included (runtime-spec lifecycle steps 12, 13).
			var herr *stage.HookError
			if errors.As(err, &herr) {
				c.runPoststop()
			}
			c.Release()
		}
	}()
	// Deferred after the cleanup above so that it runs first: the cleanup
	// needs the paths the goroutine writes.
	defer cgroup.close()

	if sharedRootfs {
		if err := rootfs.BindShared(s.Root.Path); err != nil {
			return c, err
		}
	}

	fifo, err := makeFifo(dir, rootUID(s))
	if err != nil {
		return c, err
	}
	defer fifo.Close()

	so := &stage.Opts{
		Mode:        stage.ModeInit,
		Dir:         o.Bundle,
		Stdio:       o.Stdio,
		PreserveFDs: o.PreserveFDs,
		Fifo:        fifo,
		Console:     o.Console,
		Warn:        r.Warn,
		Debug:       r.Debug,
	}
	cfg := &stage.Config{
		ID:           o.ID,
		Spec:         stageSpec(s, listener),
		Process:      s.Process,
		NoPivot:      o.NoPivot,
		NoNewKeyring: o.NoNewKeyring,
		Seccomp:      filter,
	}
	if sources != nil {
		so.Sources = sources.source
	}
	if so.Agent, err = connectAgent(listener); err != nil {
		return c, err
	}
	if so.Agent != nil {
		defer so.Agent.Close()
		cfg.State = c.hookState("creating")
	}
	// The stage's binary is exec'd while husk makes the cgroup; its
	// preamble waits for the settings that name it. A husk command runs on
	// one P (one_cpu in nsenter.c), which the spawn's vfork holds until the
	// stage's execve: the cgroup's goroutine runs after it, or meanwhile
	// if sysmon hands the P on. A second P for the spawn, as create once
	// had, made the two overlap on two CPUs, but each then took longer,
	// and resizing the scheduler stopped the world and gave the second P a
	// cache of spans of its own to fault in: without it, 150 paired runs of
	// /bin/true took 0.7 ms less wall time and 1.1 ms less CPU, 100 with
	// both cores busy 0.7 and 1.0 ms less, and the CLI 250 KiB less memory
	// (docs/design.md, "One P again").
	r.debugf("create %s: state in %s; starting the init stage (bundle %s)", o.ID, dir, o.Bundle)
	so.Settings = stage.NamespaceSettings(s)
	if st, err = stage.Spawn(so, cfg); err != nil {
		return c, startError(err)
	}

	cg, err := cgroup.wait()
	if err != nil {
		return c, err
	}
	unit, _ := cg.(*systemd.Manager)
	// With systemd the paths are still empty here: the preamble joins no
	// cgroup itself, systemd moves it (see setupFunc).
	// In a user namespace, new or joined, the preamble may not fork into
	// the v2 cgroup (clone3 checks write access to it with the namespace's
	// ids): husk moves it there during the handshake (setupFunc).
	userns := vocab.HasNamespace(s, specs.UserNamespace)
	so.Settings.JoinCgroups(c.State.CgroupPaths, !userns)
	so.Settings.OOMScoreAdj = s.Process.OOMScoreAdj
	cfg.CgroupPaths = c.State.CgroupPaths
	cfg.CgroupMountpoints = cgroups.Mountpoints(cg)
	r.debugf("create %s: cgroup %s ready in %d hierarchies; sending the stage its namespace settings", o.ID, cgroupsPath(s, o.ID), len(c.State.CgroupPaths))
	so.Setup = c.setupFunc(cg, unit, cfg)
	so.Settings.SetupDumpable = os.Geteuid() != 0 && vocab.HasNewNamespace(s, specs.UserNamespace)
	limits := resources(s)
	if r.Rootless && limits.Devices != nil {
		// A device filter is a BPF program only the host's root may
		// attach; in a delegated v2 cgroup the rules would fail create.
		// The user namespace already denies the nodes a rootless
		// container may not have, and runc's rootless driver ignores
		// them too (the systemd driver leaves them out itself).
		l := *limits
		l.Devices = nil
		limits = &l
	}
	early, latePids := splitTightPids(limits)
	if unit == nil && cg != nil {
		so.Limits = func() error {
			if err := cg.Set(early); err != nil {
				return fmt.Errorf("set cgroup limits: %w", err)
			}
			return nil
		}
	}
	if err := st.Configure(cfg); err != nil {
		return c, startError(c.oomCause(err))
	}
	if err := c.record(func(s *State) (err error) {
		s.Pid = st.Pid()
		p, err := procStat(st.Pid())
		if err != nil {
			return fmt.Errorf("container init: %w", err)
		}
		s.PidStart = p.start
		return nil
	}); err != nil {
		return c, err
	}
	if err := moveNetDevices(s.Linux.NetDevices, st.Pid()); err != nil {
		return c, err
	}
	r.debugf("create %s: init is pid %d; serving it until it is ready", o.ID, st.Pid())
	if err := st.AwaitReady(c.runtimeHooks); err != nil {
		return c, startError(c.oomCause(err))
	}
	r.debugf("create %s: init is ready and waits for start", o.ID)
	if latePids != nil && cg != nil {
		// The init waits for start: nothing of husk's forks any more.
		if err := cg.Set(&specs.LinuxResources{Pids: latePids}); err != nil {
			return c, fmt.Errorf("set cgroup limits: %w", err)
		}
	}
	c.State.Creating, c.State.Creator, c.State.CreatorStart = false, 0, 0
	if err := c.State.save(dir); err != nil {
		return c, err
	}
	if err := c.State.saveRecord(dir); err != nil {
		return c, err
	}
	st.Close()
	return c, nil
}

// newStateDir makes the state dir of container o.ID, recorded as being
// created by this process, and returns it locked. The state dir appears
// under its id with its first record in it: it is made and recorded under
// a temporary name, then renamed without replacing anything, which is also
// the atomic "already exists" check. A create killed before the rename
// leaves only a temporary dir, which names no container and which delete
// --force sweeps.
func (r *Runtime) newStateDir(o *CreateOpts, sharedRootfs bool) (*Container, error) {
	s := o.Spec
	root := r.Root
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("create state root: %w", err)
	}
	dir := stateDir(root, o.ID)
	tmp, err := os.MkdirTemp(root, newPrefix)
	if err != nil {
		return nil, fmt.Errorf("create state dir: %w", err)
	}
	lock, err := lockDir(tmp)
	if err == nil {
		err = os.Chmod(tmp, 0o711)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, err
	}
	c := &Container{rt: r, dir: tmp, lock: lock, State: &State{
		ID:      o.ID,
		Bundle:  o.Bundle,
		Rootfs:  s.Root.Path,
		Created: time.Now().UTC(),
		Owner:   "",
	}}
	c.State.setSpec(s, o.Seccomp)
	err = c.record(func(st *State) (err error) {
		st.Creating, st.Creator = true, os.Getpid()
		p, err := procStat(st.Creator)
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		st.CreatorStart = p.start
		if sharedRootfs {
			st.SharedRootfs = true
			st.RootfsMountID, err = mountID(s.Root.Path)
		}
		return err
	})
	if err == nil {
		err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, dir, unix.RENAME_NOREPLACE)
		if errors.Is(err, unix.EEXIST) {
			err = fmt.Errorf("container with id %q already exists", o.ID)
		} else if err != nil {
			err = fmt.Errorf("create state dir: %w", err)
		}
	}
	if err != nil {
		lock.Close()
		_ = os.RemoveAll(tmp)
		return nil, err
	}
	c.dir = dir
	return c, nil
}

// record saves what create has made, or is about to make, once change has
// set it, in record.json; state.json comes with the final save, once the
// container is whole. The cgroup's goroutine records too, hence the lock.
func (c *Container) record(change func(*State) error) error {
	c.recordMu.Lock()
	defer c.recordMu.Unlock()
	if err := change(c.State); err != nil {
		return err
	}
	return c.State.saveRecord(c.dir)
}

// mountID names the mount path is on.
func mountID(path string) (uint64, error) {
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, 0, unix.STATX_MNT_ID, &stx); err != nil {
		return 0, fmt.Errorf("root.path: %w", err)
	}
	return stx.Mnt_id, nil
}

// pendingCgroup is newCgroup running beside the rest of create.
type pendingCgroup struct {
	done chan struct{}
	cg   cgroups.Manager
	err  error
}

// startCgroup runs newCgroup on a goroutine of its own. Until wait returns,
// c.State.CgroupPaths is that goroutine's.
func (c *Container) startCgroup(o *CreateOpts) *pendingCgroup {
	p := &pendingCgroup{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		cg, err := c.newCgroup(o)
		if err != nil {
			p.err = err // and no typed nil in p.cg
			return
		}
		p.cg = cg
	}()
	return p
}

func (p *pendingCgroup) wait() (cgroups.Manager, error) {
	<-p.done
	return p.cg, p.err
}

// close waits for the goroutine and drops the systemd driver's bus
// connection, if any: the unit, once started, lives on without it.
func (p *pendingCgroup) close() {
	<-p.done
	if u, ok := p.cg.(*systemd.Manager); ok {
		u.Close()
	}
}

// newCgroup makes the container's cgroup manager. With cgroupfs the cgroup
// is created here and limited by the stage's Limits; a systemd scope can't
// exist without a process, so setupFunc starts it with the waiting preamble
// in it. Until then the state has no cgroup paths, so a failure before it
// never touches a unit of the same name that isn't ours.
func (c *Container) newCgroup(o *CreateOpts) (cgroups.Manager, error) {
	s := o.Spec
	if c.rt.SystemdCgroup {
		// The unit is recorded once it is started (setupFunc): a name
		// taken by another unit must not become this container's to stop.
		return systemd.New(systemd.Config{
			CgroupsPath: s.Linux.CgroupsPath,
			ID:          o.ID,
			Resources:   resources(s),
			Annotations: s.Annotations,
			// As runc: a rootless container's scope is the user's
			// systemd instance's.
			User: c.rt.Rootless,
		})
	}
	path := cgroupsPath(s, o.ID)
	if c.rt.Rootless {
		// On v2 the user may own a subtree (delegated): runc's place
		// for a rootless cgroup, next to the caller's own.
		if p, ok := cgroups.RootlessPath(s.Linux.CgroupsPath, o.ID); ok {
			path = p
		}
	}
	cg, err := cgroups.New(path)
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	// As runc's rootless cgroup manager: a cgroup of husk's own naming
	// that it may not make is skipped, an explicit linux.cgroupsPath is
	// not.
	if c.rt.Rootless && s.Linux.CgroupsPath == "" {
		return c.rootlessCgroup(cg, s)
	}
	// The preamble joining a frozen cgroup would freeze there, and create
	// with it.
	if frozen, err := cg.Paused(); err == nil && frozen {
		return nil, fmt.Errorf("linux.cgroupsPath %q: container's cgroup unexpectedly frozen", path)
	}
	// A cgroup in use is refused, as in runc 1.5 (runc 1.1 warned and
	// shared it): the container's kill and delete act on all of its
	// cgroup, and other processes there, the host's among them when it is
	// a hierarchy's root, would go with it. Refused before it is recorded,
	// so the failed create's undo leaves it alone.
	if pids, err := cg.Pids(); err == nil && len(pids) > 0 {
		return nil, fmt.Errorf("linux.cgroupsPath %q: container's cgroup is not empty: %d process(es) found", path, len(pids))
	}
	if err := c.record(func(st *State) error { st.CgroupPaths = cg.Paths(); return nil }); err != nil {
		return nil, err
	}
	if err := cg.Apply(-1); err != nil {
		return nil, fmt.Errorf("create cgroup: %w", err)
	}
	return cg, nil
}

// rootlessCgroup makes what it may of cg: the hierarchies it is refused
// are left out, which is no error unless a limit needs one of them. With
// none left the container has no cgroup (nil manager, no paths): its
// processes stay in the cgroups of the user who ran husk.
func (c *Container) rootlessCgroup(cg cgroups.Manager, s *specs.Spec) (cgroups.Manager, error) {
	all := cg.Paths()
	// Recorded first, as any cgroup: a create killed now leaves nothing
	// that delete --force would not find.
	if err := c.record(func(st *State) error { st.CgroupPaths = all; return nil }); err != nil {
		return nil, err
	}
	kept, skipped, err := cgroups.ApplyRootless(cg)
	var paths map[string]string
	if kept != nil {
		paths = kept.Paths()
	}
	if rerr := c.record(func(st *State) error { st.CgroupPaths = paths; return nil }); err == nil {
		err = rerr
	}
	if err != nil {
		return nil, fmt.Errorf("create cgroup: %w", err)
	}
	if len(skipped) == 0 {
		return kept, nil
	}
	_, v2 := all[""]
	v2 = v2 && len(all) == 1
	if field, key := cgroups.NeedsCgroup(resources(s), paths, v2); field != "" {
		return nil, fmt.Errorf("%s: a rootless container can't be limited here: husk may not create its cgroup (%v); remove the limit, or give the user a cgroup it may write", field, skipped[key])
	}
	names := make([]string, 0, len(skipped))
	for key := range skipped {
		if key == "" {
			key = "unified"
		}
		names = append(names, key)
	}
	slices.Sort(names)
	if kept == nil {
		c.rt.warnf("rootless container %s runs without a cgroup: husk may not create one (%v); it has no limits, and pause, update and stats are not available", c.State.ID, anyError(skipped))
		if !vocab.HasNewNamespace(s, specs.PIDNamespace) {
			c.rt.warnf("rootless container %s has neither a cgroup nor a PID namespace of its own: kill --all and delete reach only its init, not the processes it leaves", c.State.ID)
		}
	} else {
		c.rt.warnf("rootless container %s: no cgroup in the hierarchies %s (may not create it)", c.State.ID, strings.Join(names, ", "))
	}
	return kept, nil
}

// anyError is one of errs, the same every time: the first by key.
func anyError(errs map[string]error) error {
	keys := slices.Sorted(maps.Keys(errs))
	return errs[keys[0]]
}

// setupFunc is what husk does while the preamble waits in its user
// namespace (new or joined), or nil when there is nothing: write the id
// maps of a new one, and move the preamble into the cgroup where it can't
// go itself (a v2 dir from inside a user namespace), or have systemd start
// the scope with it inside. The container's process, forked next, is born
// there.
func (c *Container) setupFunc(cg cgroups.Manager, unit *systemd.Manager, cfg *stage.Config) func(int) error {
	s := c.State.spec
	userns := vocab.HasNamespace(s, specs.UserNamespace)
	if !userns && unit == nil {
		return nil
	}
	return func(pid int) error {
		if err := writeIDMaps(pid, s); err != nil {
			return err
		}
		if unit == nil {
			if cg == nil {
				return nil // a rootless container without a cgroup
			}
			return cg.Apply(pid)
		}
		if err := unit.Apply(pid); err != nil {
			return fmt.Errorf("create cgroup: %w", err)
		}
		// The paths reach the init with cfg, sent after this handshake.
		// A create killed before this record leaves a scope whose
		// processes die with it, and systemd removes an empty scope.
		if err := c.record(func(st *State) error {
			st.CgroupPaths, st.SystemdUnit, st.SystemdUser = unit.Paths(), unit.UnitName(), unit.User()
			return nil
		}); err != nil {
			return err
		}
		cfg.CgroupPaths = c.State.CgroupPaths
		early, _ := splitTightPids(resources(s))
		if err := unit.Set(early); err != nil {
			return fmt.Errorf("set cgroup limits: %w", err)
		}
		return nil
	}
}

// runtimeHooks runs the hooks that belong to the runtime namespace, once
// the init has its mounts ready, and returns the state for the init's
// createContainer hooks.
func (c *Container) runtimeHooks() (*specs.State, error) {
	state := c.hookState("creating")
	if h := c.State.meta.Hooks; h != nil {
		//nolint:staticcheck // prestart is deprecated but still honoured, as the spec requires
		if err := hooks.Run("prestart", h.Prestart, state); err != nil {
			return nil, &stage.HookError{Err: err}
		}
		if err := hooks.Run("createRuntime", h.CreateRuntime, state); err != nil {
			return nil, &stage.HookError{Err: err}
		}
	}
	return state, nil
}

// connectAgent connects to linux.seccomp.listenerPath, if set: husk
// connects from the host's mount namespace and hands the connection to the
// stage, which sends the agent its notify fd.
func connectAgent(listener *specs.LinuxSeccomp) (*os.File, error) {
	if listener == nil || listener.ListenerPath == "" {
		return nil, nil
	}
	return seccomp.Connect(listener)
}

// compileSeccomp compiles linux.seccomp before anything is made, through
// the cache this user's containers share (seccomp.CompileCached): the
// stage only loads the program. HUSK_CACHE_DIR moves the cache; by
// default it is on /run (root) or $XDG_RUNTIME_DIR, tmpfs both, emptied
// at boot.
func (r *Runtime) compileSeccomp(p seccomp.Profile) (*seccomp.Filter, error) {
	if p == nil {
		return nil, nil
	}
	// Without --debug, what the filter leaves out is not worked out at all.
	var debugf seccomp.Debugf
	if r.Debug != nil {
		debugf = r.debugf
	}
	dir := os.Getenv("HUSK_CACHE_DIR")
	switch {
	case dir != "":
	case os.Geteuid() == 0:
		dir = "/run/husk-cache"
	case os.Getenv("XDG_RUNTIME_DIR") != "":
		dir = filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "husk-cache")
	}
	if dir != "" {
		dir = filepath.Join(dir, "seccomp")
	}
	return seccomp.CompileCached(p, dir, debugf)
}

// stageSpec is the spec a stage gets: all of it but the seccomp rules,
// which husk compiled (stage.Config.Seccomp) and which are most of an
// engine's config; listener, the profile's listener path and metadata
// (seccomp.Filter.Listener), stays for the agent.
func stageSpec(s *specs.Spec, listener *specs.LinuxSeccomp) *specs.Spec {
	if listener == nil {
		return s
	}
	c, l := *s, *s.Linux
	l.Seccomp = listener
	c.Linux = &l
	return &c
}

// labelMounts gives the filesystems the container mounts itself the
// linux.mountLabel SELinux context (bind mounts keep their source's).
func labelMounts(s *specs.Spec) error {
	opt, err := lsm.NewHost().MountLabel(s.Linux.MountLabel)
	if err != nil || opt == "" {
		return err
	}
	for i, m := range s.Mounts {
		switch m.Type {
		case "tmpfs", "devpts", "mqueue", "shm":
			s.Mounts[i].Options = append(append([]string{}, m.Options...), opt)
		}
	}
	return nil
}

// oomCause names the memory limit when the OOM killer ended the stage
// during setup: a limit below what the stage itself needs kills it before
// it can say anything.
func (c *Container) oomCause(err error) error {
	r := c.State.spec.Linux.Resources
	if r == nil || r.Memory == nil || r.Memory.Limit == nil {
		return err
	}
	switch {
	case oomKilled(c.State.CgroupPaths):
		return fmt.Errorf("linux.resources.memory.limit %d is too low: the OOM killer ended the container's process during setup (%w)", *r.Memory.Limit, err)
	case errors.Is(err, unix.EBUSY):
		// The limit is written while the preamble joins the cgroup: v1
		// refuses one below what is in use by then.
		return fmt.Errorf("linux.resources.memory.limit %d is too low: the container's process already uses more during setup (%w)", *r.Memory.Limit, err)
	}
	return err
}

// oomKilled tells whether the OOM killer has killed a process of the
// cgroup: memory.oom_control on cgroup v1, memory.events on v2.
func oomKilled(paths map[string]string) bool {
	for key, file := range map[string]string{"memory": "memory.oom_control", "": "memory.events"} {
		data, err := os.ReadFile(filepath.Join(paths[key], file))
		if paths[key] == "" || err != nil {
			continue
		}
		for _, l := range strings.Split(string(data), "\n") {
			if n, ok := strings.CutPrefix(l, "oom_kill "); ok && n != "0" {
				return true
			}
		}
	}
	return false
}

// startError prefixes failures of the container process the way runc does,
// which is what clients show and match ("no such file or directory" -> 127).
func startError(err error) error {
	return fmt.Errorf("unable to start container process: %w", err)
}

func cgroupsPath(s *specs.Spec, id string) string {
	if s.Linux.CgroupsPath != "" {
		return s.Linux.CgroupsPath
	}
	return "/husk/" + id
}

// splitTightPids takes a pids limit of 0 or 1 (runtime-spec 1.3's 0 is
// applied as 1, as runc 1.5 does) out of r: under it the preamble could not
// fork the init, nor the init start its threads. It is applied once the
// init waits for start, as runc applies its limits only then.
func splitTightPids(r *specs.LinuxResources) (*specs.LinuxResources, *specs.LinuxPids) {
	if r.Pids == nil || r.Pids.Limit == nil || *r.Pids.Limit < 0 || *r.Pids.Limit > 1 {
		return r, nil
	}
	early := *r
	early.Pids = nil
	return &early, r.Pids
}

func resources(s *specs.Spec) *specs.LinuxResources {
	// The device rules are the spec's alone (and the cgroup manager's
	// defaults): as with runc, a node from linux.devices is created but is
	// usable only if linux.resources.devices allows it.
	if s.Linux.Resources == nil {
		return &specs.LinuxResources{}
	}
	return s.Linux.Resources
}

// rootUID is the host uid of the container's root, which must be able to
// open the exec fifo.
func rootUID(s *specs.Spec) int {
	for _, m := range s.Linux.UIDMappings {
		if m.ContainerID == 0 {
			return int(m.HostID)
		}
	}
	return 0
}

// makeFifo creates the exec fifo the init blocks on until start, and returns
// an O_PATH handle the init reopens for writing.
func makeFifo(dir string, uid int) (*os.File, error) {
	path := filepath.Join(dir, fifoName)
	old := unix.Umask(0)
	err := unix.Mkfifo(path, 0o622)
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("create exec fifo: %w", err)
	}
	// An unprivileged husk may not give it away, and needn't: any id may
	// write it (0622), the container's root mapped to a subordinate uid
	// too (podman's --userns=keep-id maps 0 so).
	if uid != os.Geteuid() && os.Geteuid() == 0 {
		if err := os.Chown(path, uid, -1); err != nil {
			return nil, fmt.Errorf("chown exec fifo: %w", err)
		}
	}
	f, err := os.OpenFile(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open exec fifo: %w", err)
	}
	return f, nil
}
