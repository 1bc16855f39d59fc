package libcontainer

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
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
	"github.com/husk-runtime/husk/spec/vocab"
)

// CreateOpts are the inputs of create (and of run's create half).
type CreateOpts struct {
	ID     string
	Bundle string // absolute
	Spec   *specs.Spec
	// Console receives the pty master when process.terminal is set: a
	// connection to --console-socket, or run's own socketpair end.
	Console      *os.File
	NoPivot      bool
	NoNewKeyring bool
	PreserveFDs  int
	Stdio        [3]*os.File
	// SystemdCgroup selects the systemd cgroup driver (--systemd-cgroup):
	// the cgroup is a transient scope that systemd creates, and
	// linux.cgroupsPath reads "slice:prefix:name".
	SystemdCgroup bool
}

var nsEnv = map[specs.LinuxNamespaceType]string{
	specs.PIDNamespace:     "_HUSK_NS_PID",
	specs.NetworkNamespace: "_HUSK_NS_NET",
	specs.MountNamespace:   "_HUSK_NS_MNT",
	specs.IPCNamespace:     "_HUSK_NS_IPC",
	specs.UTSNamespace:     "_HUSK_NS_UTS",
	specs.UserNamespace:    "_HUSK_NS_USER",
	specs.CgroupNamespace:  "_HUSK_NS_CGROUP",
	specs.TimeNamespace:    "_HUSK_NS_TIME",
}

// Create sets up a container and leaves its init waiting for Start. Any
// failure undoes every step done before it: no state directory, cgroup or
// process is left.
func Create(root string, o *CreateOpts) (c *Container, err error) {
	if err := ValidateID(o.ID); err != nil {
		return nil, err
	}
	s := o.Spec
	if s.Process.Terminal && o.Console == nil {
		return nil, errors.New("process.terminal is set: a --console-socket is required (or run in the foreground)")
	}
	if err := labelMounts(s); err != nil {
		return nil, err
	}
	filter, err := compileSeccomp(s)
	if err != nil {
		return nil, err
	}
	idmapped, idmapIndex, err := PrepareIDMappedMounts(s, o.Bundle)
	if err != nil {
		return nil, err
	}
	defer closeFiles(idmapped)
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("create state root: %w", err)
	}
	// The state dir appears under its id with its first record in it: it
	// is made and recorded under a temporary name, then renamed without
	// replacing anything, which is also the atomic "already exists" check.
	// A create killed before the rename leaves only a temporary dir, which
	// names no container and which delete --force sweeps.
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
	c = &Container{dir: tmp, lock: lock, State: &State{
		ID:      o.ID,
		Bundle:  o.Bundle,
		Rootfs:  s.Root.Path,
		Created: time.Now().UTC(),
		Owner:   "",
	}}
	c.State.setSpec(s)
	sharedRootfs := !vocab.HasNamespace(s, specs.MountNamespace)
	err = c.record(func(st *State) (err error) {
		st.Creating, st.Creator = true, os.Getpid()
		if _, st.CreatorStart, err = procStat(st.Creator); err != nil {
			return fmt.Errorf("create: %w", err)
		}
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
	// The cgroup is made while husk spawns the stage, which takes about as
	// long; only once the id is known to be new, so it can't be another
	// container's cgroup.
	cgroup := c.startCgroup(o)
	var st *stage
	defer func() {
		if err != nil {
			if st != nil {
				st.kill()
				st.close()
			}
			_ = c.destroy()
			// A failed create hook ends the lifecycle as delete would,
			// poststop hooks included (runtime-spec lifecycle steps 12, 13).
			var herr *hookError
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

	so := &stageOpts{
		Mode:      "init",
		Dir:       o.Bundle,
		Stdio:     o.Stdio,
		Preserved: inheritedFiles(o.PreserveFDs),
		Internal:  []*os.File{fifo},
	}
	cfg := &stageConfig{
		ID:           o.ID,
		Spec:         s,
		Process:      s.Process,
		NoPivot:      o.NoPivot,
		NoNewKeyring: o.NoNewKeyring,
		PreserveFDs:  len(so.Preserved),
		ExtraEnv:     listenEnv(),
		FifoFD:       so.internalFD(0),
		Seccomp:      filter,
		Debug:        Debug != nil,
	}
	if o.Console != nil {
		so.Internal = append(so.Internal, o.Console)
		cfg.ConsoleFD = so.internalFD(len(so.Internal) - 1)
	}
	cfg.IDMappedFDs = so.addInternal(idmapped, idmapIndex)
	if sc := s.Linux.Seccomp; sc != nil && sc.ListenerPath != "" {
		agent, err := seccomp.Connect(sc)
		if err != nil {
			return c, err
		}
		defer agent.Close()
		so.Internal = append(so.Internal, agent)
		cfg.SeccompFD = so.internalFD(len(so.Internal) - 1)
		cfg.State = c.hookState("creating")
	}
	// The stage's binary is exec'd while husk makes the cgroup; its
	// preamble waits for the settings that name it.
	debugf("create %s: state in %s; starting the init stage (bundle %s)", o.ID, dir, o.Bundle)
	if st, err = spawnStage(so); err != nil {
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
	so.Env = append(nsSettings(s), joinSettings(c.State.CgroupPaths, !userns, s.Process.OOMScoreAdj)...)
	cfg.CgroupPaths = c.State.CgroupPaths
	debugf("create %s: cgroup %s ready in %d hierarchies; sending the stage its namespace settings", o.ID, cgroupsPath(s, o.ID), len(c.State.CgroupPaths))
	so.Setup = c.setupFunc(cg, unit, cfg)
	early, latePids := splitTightPids(resources(s))
	if unit == nil {
		so.Limits = func() error {
			if err := cg.Set(early); err != nil {
				return fmt.Errorf("set cgroup limits: %w", err)
			}
			return nil
		}
	}
	if err := st.configure(so, cfg); err != nil {
		return c, startError(c.oomCause(err))
	}
	if err := c.record(func(s *State) (err error) {
		s.Pid = st.pid
		if _, s.PidStart, err = procStat(st.pid); err != nil {
			return fmt.Errorf("container init: %w", err)
		}
		return nil
	}); err != nil {
		return c, err
	}
	if err := moveNetDevices(s.Linux.NetDevices, st.pid); err != nil {
		return c, err
	}
	debugf("create %s: init is pid %d; serving it until it is ready", o.ID, st.pid)
	if err := c.awaitInit(st); err != nil {
		return c, startError(err)
	}
	debugf("create %s: init is ready and waits for start", o.ID)
	if latePids != nil {
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
	st.close()
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
	if o.SystemdCgroup {
		// The unit is recorded once it is started (setupFunc): a name
		// taken by another unit must not become this container's to stop.
		return systemd.New(systemd.Config{
			CgroupsPath: s.Linux.CgroupsPath,
			ID:          o.ID,
			Resources:   resources(s),
			Annotations: s.Annotations,
		})
	}
	cg, err := cgroups.New(cgroupsPath(s, o.ID))
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	// The preamble joining a frozen cgroup would freeze there, and create
	// with it.
	if frozen, err := cg.Paused(); err == nil && frozen {
		return nil, fmt.Errorf("linux.cgroupsPath %q: container's cgroup unexpectedly frozen", cgroupsPath(s, o.ID))
	}
	// A cgroup in use is refused, as in runc 1.5 (runc 1.1 warned and
	// shared it): the container's kill and delete act on all of its
	// cgroup, and other processes there, the host's among them when it is
	// a hierarchy's root, would go with it. Refused before it is recorded,
	// so the failed create's undo leaves it alone.
	if pids, err := cg.Pids(); err == nil && len(pids) > 0 {
		return nil, fmt.Errorf("linux.cgroupsPath %q: container's cgroup is not empty: %d process(es) found", cgroupsPath(s, o.ID), len(pids))
	}
	if err := c.record(func(st *State) error { st.CgroupPaths = cg.Paths(); return nil }); err != nil {
		return nil, err
	}
	if err := cg.Apply(-1); err != nil {
		return nil, fmt.Errorf("create cgroup: %w", err)
	}
	return cg, nil
}

// setupFunc is what husk does while the preamble waits in its user
// namespace (new or joined), or nil when there is nothing: write the id
// maps of a new one, and move the preamble into the cgroup where it can't
// go itself (a v2 dir from inside a user namespace), or have systemd start
// the scope with it inside. The container's process, forked next, is born
// there.
func (c *Container) setupFunc(cg cgroups.Manager, unit *systemd.Manager, cfg *stageConfig) func(int) error {
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
			return cg.Apply(pid)
		}
		if err := unit.Apply(pid); err != nil {
			return fmt.Errorf("create cgroup: %w", err)
		}
		// The paths reach the init with cfg, sent after this handshake.
		// A create killed before this record leaves a scope whose
		// processes die with it, and systemd removes an empty scope.
		if err := c.record(func(st *State) error { st.CgroupPaths = unit.Paths(); return nil }); err != nil {
			return err
		}
		cfg.CgroupPaths = systemd.CgroupfsPaths(c.State.CgroupPaths)
		early, _ := splitTightPids(resources(s))
		if err := unit.Set(early); err != nil {
			return fmt.Errorf("set cgroup limits: %w", err)
		}
		return nil
	}
}

// awaitInit serves the init until it waits for start: it runs the hooks that
// belong to the runtime namespace when the init has its mounts ready.
func (c *Container) awaitInit(st *stage) error {
	for {
		m, err := st.next()
		if err == io.EOF {
			return c.initGone(st, errors.New("container init closed its sync socket during setup without an error"))
		}
		if err != nil {
			return err
		}
		switch m.Type {
		case msgReady:
			return nil
		case msgHooks:
			state := c.hookState("creating")
			if h := c.State.meta.Hooks; h != nil {
				//nolint:staticcheck // prestart is deprecated but still honoured, as the spec requires
				if err := hooks.Run("prestart", h.Prestart, state); err != nil {
					return &hookError{err}
				}
				if err := hooks.Run("createRuntime", h.CreateRuntime, state); err != nil {
					return &hookError{err}
				}
			}
			if err := st.send(&syncMsg{Type: msgHooked, State: state}); err != nil {
				return c.initGone(st, err)
			}
		default:
			return fmt.Errorf("container init sent unexpected %q", m.Type)
		}
	}
}

// compileSeccomp compiles linux.seccomp before anything is made, through
// the cache this user's containers share (seccomp.CompileCached): the
// stage only loads the program. HUSK_CACHE_DIR moves the cache; by
// default it is on /run (root) or $XDG_RUNTIME_DIR, tmpfs both, emptied
// at boot.
func compileSeccomp(s *specs.Spec) (*seccomp.Filter, error) {
	if s.Linux == nil || s.Linux.Seccomp == nil {
		return nil, nil
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
	return seccomp.CompileCached(s.Linux.Seccomp, dir, debugf)
}

// initGone explains a sync socket that broke during setup by how the init
// ended (a signal, the OOM killer), which is the cause the user needs.
func (c *Container) initGone(st *stage, err error) error {
	if how := st.exitCause(); how != "" {
		return c.oomCause(fmt.Errorf("container init %s during setup", how))
	}
	return err
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

// hookError marks a create failure caused by a hook.
type hookError struct{ err error }

func (e *hookError) Error() string { return e.err.Error() }
func (e *hookError) Unwrap() error { return e.err }

// oomCause names the memory limit when the OOM killer ended the stage
// during setup: a limit below what the stage itself needs kills it before
// it can say anything.
func (c *Container) oomCause(err error) error {
	r := c.State.spec.Linux.Resources
	if r == nil || r.Memory == nil || r.Memory.Limit == nil || !oomKilled(c.State.CgroupPaths) {
		return err
	}
	return fmt.Errorf("linux.resources.memory.limit %d is too low: the OOM killer ended the container's process during setup (%w)", *r.Memory.Limit, err)
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

// nsSettings tells the C preamble which namespaces to create and join.
func nsSettings(s *specs.Spec) []string {
	var flags uintptr
	var env []string
	for _, ns := range s.Linux.Namespaces {
		if ns.Path == "" {
			flags |= vocab.CloneFlag(ns.Type)
		} else {
			env = append(env, nsEnv[ns.Type]+"="+ns.Path)
		}
	}
	if len(s.Linux.TimeOffsets) > 0 {
		var offsets []string
		for clock, off := range s.Linux.TimeOffsets {
			offsets = append(offsets, fmt.Sprintf("%s %d %d", clock, off.Secs, off.Nanosecs))
		}
		env = append(env, "_HUSK_TIMENS_OFFSETS="+strings.Join(offsets, "\n"))
	}
	return append(env, "_HUSK_CLONEFLAGS="+strconv.FormatUint(uint64(flags), 10))
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
	if err := os.Chown(path, uid, -1); err != nil {
		return nil, fmt.Errorf("chown exec fifo: %w", err)
	}
	f, err := os.OpenFile(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open exec fifo: %w", err)
	}
	return f, nil
}

func writeIDMaps(pid int, s *specs.Spec) error {
	if !vocab.HasNewNamespace(s, specs.UserNamespace) {
		return nil
	}
	write := func(file string, maps []specs.LinuxIDMapping) error {
		var b strings.Builder
		for _, m := range maps {
			fmt.Fprintf(&b, "%d %d %d\n", m.ContainerID, m.HostID, m.Size)
		}
		path := fmt.Sprintf("/proc/%d/%s", pid, file)
		if err := os.WriteFile(path, []byte(b.String()), 0); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}
	if err := write("uid_map", s.Linux.UIDMappings); err != nil {
		return err
	}
	return write("gid_map", s.Linux.GIDMappings)
}

// joinSettings has the preamble join the container's cgroups itself, first
// thing, while it is still root of the host. Writing "0" to a v1 "tasks"
// file moves just the writing thread, which the kernel does without its
// global threadgroup lock, and so without the RCU grace period (about 10ms
// here, the slowest step of create) that writing a pid to cgroup.procs
// waits for; the preamble is single-threaded, so that moves the whole
// process. Into a v2 cgroup the preamble forks the container's process
// with clone3(CLONE_INTO_CGROUP), for the same reason; intoV2 is false
// where the parent must move it instead.
func joinSettings(paths map[string]string, intoV2 bool, oomScore *int) []string {
	seen := map[string]bool{}
	var v1 []string
	for key, dir := range paths {
		if key != "" && !seen[dir] {
			seen[dir] = true
			v1 = append(v1, dir)
		}
	}
	env := []string{"_HUSK_CGROUP_V1=" + strings.Join(v1, "\n")}
	if dir := paths[""]; dir != "" && intoV2 {
		env = append(env, "_HUSK_CGROUP_V2="+dir)
	}
	if oomScore != nil {
		env = append(env, "_HUSK_OOM_SCORE_ADJ="+strconv.Itoa(*oomScore))
	}
	return env
}

// inheritedFiles wraps husk's fds 3..3+n-1 (--preserve-fds, plus systemd's
// LISTEN_FDS) so they are passed on to the container at the same numbers.
func inheritedFiles(n int) []*os.File {
	n += listenFDs()
	files := make([]*os.File, n)
	for i := range files {
		files[i] = os.NewFile(uintptr(3+i), "preserved-fd-"+strconv.Itoa(3+i))
	}
	return files
}

func listenFDs() int {
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// listenEnv forwards socket activation to the container's process, where
// the fds keep their numbers and the process is pid 1.
func listenEnv() []string {
	n := listenFDs()
	if n == 0 {
		return nil
	}
	return []string{"LISTEN_FDS=" + strconv.Itoa(n), "LISTEN_PID=1"}
}
