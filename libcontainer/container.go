// Package libcontainer makes and manages containers from the host's side:
// the lifecycle (this file: load, start, signal, delete), create.go and
// exec.go, which start stages (package stage, the processes that run
// inside the container's namespaces), the state directory (state.go), and
// update, pause and events on the container's cgroup. A Runtime
// (runtime.go) carries what a command runs with.
package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/hooks"
	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/cgroups/systemd"
	"github.com/husk-runtime/husk/libcontainer/rootfs"
)

// Status is the OCI status of a container.
type Status string

const (
	Creating Status = "creating"
	Created  Status = "created"
	Running  Status = "running"
	Paused   Status = "paused"
	Stopped  Status = "stopped"
	// Broken is no OCI status: list says it of a container whose
	// state.json is lost or damaged.
	Broken Status = "broken"
)

// ErrNotRunning is returned when signalling a container without processes;
// clients match its text ("container not running").
var ErrNotRunning = errors.New("container not running")

// Container is one container's state directory, loaded.
type Container struct {
	rt       *Runtime
	dir      string
	lock     *os.File
	State    *State
	recordMu sync.Mutex // create's record
}

// Which commands lock a container is decided here, not by each command:
// the ones that change it (start, pause, resume, update, delete: Runtime
// methods by id) take its lock, then read its state, so two of them never
// interleave and each acts on the state as it is under the lock. The
// others read the state without it: kill and exec reach the init through
// a pidfd opened for the pid and start time the state names, so a stale
// state fails cleanly, and exec and events may run as long as the
// container does, where a lock would hold off delete.

// Load reads a container's state.
func (r *Runtime) Load(id string) (*Container, error) {
	return r.load(id, false)
}

func (r *Runtime) load(id string, broken bool) (*Container, error) {
	if err := ValidateID(id); err != nil {
		return nil, err
	}
	c := &Container{rt: r, dir: stateDir(r.Root, id)}
	if err := c.reload(broken); err != nil {
		return nil, err
	}
	return c, nil
}

// withLock runs op on the container id, loaded under its lock.
func (r *Runtime) withLock(id string, broken bool, op func(*Container) error) error {
	if err := ValidateID(id); err != nil {
		return err
	}
	c := &Container{rt: r, dir: stateDir(r.Root, id)}
	return c.exclusive(broken, func() error { return op(c) })
}

// reload reads the state (again); a broken one is an error unless broken.
func (c *Container) reload(broken bool) error {
	s, err := loadState(c.dir)
	if err == nil && s.broken != nil && !broken {
		err = brokenError(s)
	}
	if err != nil {
		return err
	}
	c.State = s
	return nil
}

// exclusive runs op holding the container's lock: at once if the container
// holds it already (Create returns it locked, and run starts it so), else
// taking it and reading the state again under it.
func (c *Container) exclusive(broken bool, op func() error) error {
	if c.lock != nil {
		return op()
	}
	lock, err := lockDir(c.dir)
	if err != nil {
		return err
	}
	c.lock = lock
	defer c.Release()
	if err := c.reload(broken); err != nil {
		return err
	}
	return op()
}

func brokenError(s *State) error {
	return fmt.Errorf("container %s is broken: %w; delete --force removes it", s.ID, s.broken)
}

// Release drops the lock Create returns the container with.
func (c *Container) Release() {
	if c.lock != nil {
		c.lock.Close()
		c.lock = nil
	}
}

// List loads every container under the root, sorted by id.
func (r *Runtime) List() ([]*Container, error) {
	entries, err := os.ReadDir(r.Root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []*Container
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c, err := r.load(e.Name(), true)
		if err != nil {
			continue // not an id, or deleted right now
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].State.ID < out[j].State.ID })
	return out, nil
}

// cgroup is the container's cgroup manager: the systemd driver's when the
// state names a systemd unit (whatever --systemd-cgroup says now), the
// cgroupfs one otherwise.
func (c *Container) cgroup() cgroups.Manager {
	if c.State.SystemdUnit != "" {
		return systemd.Load(c.State.SystemdUnit, c.State.SystemdUser, c.State.CgroupPaths)
	}
	return cgroups.Load(c.State.CgroupPaths)
}

// Status derives the status from the live process, never from a stored value.
func (c *Container) Status() Status {
	// A create that was killed left what it recorded: the container
	// never was, and delete removes it.
	if c.State.Creating {
		if alive(c.State.Creator, c.State.CreatorStart) {
			return Creating
		}
		return Stopped
	}
	if !alive(c.State.Pid, c.State.PidStart) {
		return Stopped
	}
	if fifo, err := os.Stat(filepath.Join(c.dir, fifoName)); err == nil {
		// A start killed after the init went past the fifo left it behind.
		if c.initHolds(fifo) {
			return Created
		}
		return Running
	}
	if c.State.CgroupPaths == nil {
		return Running // a rootless container without a cgroup can't be paused
	}
	if paused, err := c.cgroup().Paused(); err == nil && paused {
		return Paused
	}
	return Running
}

// initHolds tells whether the init still has file open, as it has the exec
// fifo until it execs the user's process.
func (c *Container) initHolds(file os.FileInfo) bool {
	dir := "/proc/" + strconv.Itoa(c.State.Pid) + "/fd/"
	fds, err := os.ReadDir(dir)
	if err != nil {
		return true // can't tell: the fifo says created
	}
	for _, fd := range fds {
		if fi, err := os.Stat(dir + fd.Name()); err == nil && os.SameFile(fi, file) {
			return true
		}
	}
	return false
}

// OCIState is what state and list print: the runtime-spec state plus
// runc's extra fields, in runc's order (scripts match its lines).
type OCIState struct {
	Version     string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      Status            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Owner       string            `json:"owner"`
}

// OCIState reports the container's state; a stopped container has pid 0.
func (c *Container) OCIState() *OCIState {
	st := c.Status()
	pid := c.State.Pid
	if st == Stopped {
		pid = 0
	}
	if c.State.broken != nil {
		st = Broken
	}
	return &OCIState{
		Version:     specs.Version,
		ID:          c.State.ID,
		Pid:         pid,
		Status:      st,
		Bundle:      c.State.Bundle,
		Rootfs:      c.State.Rootfs,
		Created:     c.State.Created,
		Annotations: c.State.meta.Annotations,
		Owner:       c.State.Owner,
	}
}

// hookState is the state hooks get on stdin, as status st.
func (c *Container) hookState(st Status) *specs.State {
	s := &specs.State{
		Version:     specs.Version,
		ID:          c.State.ID,
		Status:      specs.ContainerState(st),
		Bundle:      c.State.Bundle,
		Annotations: c.State.meta.Annotations,
	}
	if st != Stopped {
		s.Pid = c.State.Pid
	}
	return s
}

// Start releases the created container id's init to exec the user
// process. It returns once the process runs (or the init failed before
// exec).
func (r *Runtime) Start(id string) error {
	return r.withLock(id, false, (*Container).start)
}

// Start is Runtime.Start of this container.
func (c *Container) Start() error {
	return c.exclusive(false, c.start)
}

func (c *Container) start() error {
	switch st := c.Status(); st {
	case Created:
	case Stopped:
		return errors.New("cannot start a container that has stopped")
	default:
		return fmt.Errorf("cannot start an already %s container", st)
	}
	fifo := filepath.Join(c.dir, fifoName)
	c.rt.debugf("start %s: opening the exec fifo %s to let init (pid %d) go on", c.State.ID, fifo, c.State.Pid)
	f, err := os.OpenFile(fifo, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", fifo, err)
	}
	defer f.Close()
	reply, err := c.readFifo(f)
	if err != nil {
		return err
	}
	if err := os.Remove(fifo); err != nil {
		return fmt.Errorf("remove %s: %w", fifo, err)
	}
	if reply != "0" {
		if reply == "" {
			reply = "container process exited before it could exec"
		}
		return fmt.Errorf("start container: %s", reply)
	}
	c.rt.debugf("start %s: init is executing the container's process", c.State.ID)
	if h := c.State.meta.Hooks; h != nil && len(h.Poststart) > 0 {
		// runtime-spec 1.3: a failed poststart hook stops the container;
		// delete then undoes it and runs the poststop hooks.
		if err := hooks.Run("poststart", h.Poststart, c.hookState(Running)); err != nil {
			_ = c.signalAll(unix.SIGKILL)
			return err
		}
	}
	return nil
}

// readFifo waits for the init's answer on the exec fifo: "0" once it is
// about to exec, an error text if a startContainer hook failed. The read end
// is non-blocking so a dead init can't hang start forever.
func (c *Container) readFifo(f *os.File) (string, error) {
	var out []byte
	buf := make([]byte, 4096)
	fds := []unix.PollFd{{Fd: int32(f.Fd()), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 100)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("poll exec fifo: %w", err)
		}
		if n == 0 {
			// No writer has come yet: only a dead init ends the wait.
			if !alive(c.State.Pid, c.State.PidStart) {
				return string(out), nil
			}
			continue
		}
		r, err := unix.Read(int(f.Fd()), buf)
		switch {
		case r > 0:
			out = append(out, buf[:r]...)
		case err == unix.EAGAIN || err == unix.EINTR:
		case err != nil:
			return "", fmt.Errorf("read exec fifo: %w", err)
		default:
			return string(out), nil // EOF: the init exec'd or exited
		}
	}
}

// Signal sends sig to the init, or with all to every process in the
// container's cgroup.
func (c *Container) Signal(sig unix.Signal, all bool) error {
	st := c.Status()
	if st == Creating {
		return errors.New("cannot signal a container that is being created")
	}
	if all {
		// As runc: --all on a stopped container is no error, and what is
		// left in its cgroup (the processes of a container without a PID
		// namespace outlive its init) still gets the signal.
		if st == Stopped && (c.State.CgroupPaths == nil || !c.hasProcesses()) {
			return nil
		}
		return c.signalAll(sig)
	}
	// Without a PID namespace of its own, the container's other processes
	// outlive its init: SIGKILL goes to all of its cgroup, as in runc 1.5,
	// whether the init is still there or not (a container whose init died
	// reads stopped, yet what it started still runs). Only a cgroup that
	// is gone means there is nothing left to kill.
	if sig == unix.SIGKILL && c.State.CgroupPaths != nil && !c.State.SharedCgroup && !c.ownPIDNamespace() {
		err := c.signalAll(sig)
		if st == Stopped && errors.Is(err, os.ErrNotExist) {
			return ErrNotRunning
		}
		return err
	}
	if st == Stopped {
		return ErrNotRunning
	}
	if err := signalProcess(c.State.Pid, c.State.PidStart, sig); err != nil {
		if errors.Is(err, errGone) {
			return ErrNotRunning
		}
		return err
	}
	// A frozen process can't act on SIGKILL until thawed (cgroup v1).
	if st == Paused && sig == unix.SIGKILL {
		_ = c.cgroup().Thaw()
	}
	return nil
}

// signalAll signals every process in the cgroup. For SIGKILL the cgroup is
// frozen first so a forking process can't escape between listing and killing.
func (c *Container) signalAll(sig unix.Signal) error {
	if c.State.CgroupPaths == nil {
		return c.signalAllNoCgroup(sig)
	}
	cg := c.cgroup()
	if sig == unix.SIGKILL {
		if err := cg.Freeze(); err == nil {
			defer func() { _ = cg.Thaw() }()
		}
	}
	pids, err := cg.Pids()
	if err != nil {
		return fmt.Errorf("list container processes: %w", err)
	}
	for _, pid := range pids {
		if err := unix.Kill(pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("signal %d: %w", pid, err)
		}
	}
	return nil
}

// Processes lists the host pids of every process in the container.
func (c *Container) Processes() ([]int, error) {
	if c.Status() == Stopped {
		return nil, nil
	}
	if c.State.CgroupPaths == nil {
		return c.pidnsPids()
	}
	return c.cgroup().Pids()
}

// Delete removes the container id: its processes, cgroup and state
// directory, then runs the poststop hooks. Without force the container
// must be stopped or created; with force any goes, a broken one too, and
// the temporary dirs of killed creates and deletes are swept.
func (r *Runtime) Delete(id string, force bool) error {
	if force {
		r.sweepTemp()
	}
	err := r.withLock(id, force, func(c *Container) error { return c.delete(force) })
	if force && errors.Is(err, ErrNotExist) {
		return nil
	}
	return err
}

// Delete is Runtime.Delete of this container.
func (c *Container) Delete(force bool) error {
	return c.exclusive(force, func() error { return c.delete(force) })
}

func (c *Container) delete(force bool) error {
	st := c.Status()
	if st != Stopped && st != Created && !force {
		return fmt.Errorf("cannot delete container %s that is not stopped: %s", c.State.ID, st)
	}
	if err := c.destroy(); err != nil {
		return err
	}
	if c.State.broken != nil {
		c.rt.warnf("container %s: poststop hooks not run: %v", c.State.ID, c.State.broken)
		return nil
	}
	c.runPoststop()
	return nil
}

// runPoststop runs every poststop hook; a failure is only a warning and
// the remaining hooks still run (runtime-spec lifecycle step 13).
func (c *Container) runPoststop() {
	h := c.State.meta.Hooks
	if h == nil {
		return
	}
	state := c.hookState(Stopped)
	for i, hook := range h.Poststop {
		if err := hooks.RunAt("poststop", i, hook, state); err != nil {
			c.rt.warnf("%v", err)
		}
	}
}

// destroy kills whatever runs in the container and removes its cgroup and
// state directory. It serves delete and the undo of a failed create.
func (c *Container) destroy() error {
	// A pid with its start time names one process: dead now, dead for good.
	live := alive(c.State.Pid, c.State.PidStart)
	// With a PID namespace of its own the container ends with its init:
	// the kernel kills the rest of the namespace. Without one, everything
	// in the cgroup goes, unless the cgroup is shared with others.
	killAll := c.State.CgroupPaths != nil && !c.State.SharedCgroup && !c.ownPIDNamespace()
	if killAll && (live || c.hasProcesses()) {
		_ = c.signalAll(unix.SIGKILL)
	}
	if live {
		_ = signalProcess(c.State.Pid, c.State.PidStart, unix.SIGKILL)
		// A frozen process can't act on SIGKILL until thawed.
		if c.State.CgroupPaths != nil && !killAll {
			if paused, err := c.cgroup().Paused(); err == nil && paused {
				_ = c.cgroup().Thaw()
			}
		}
		waitGone(c.State.Pid, c.State.PidStart, 5*time.Second)
	}
	// Anything the namespace did not take with it (a process put in the
	// cgroup from outside) would keep the cgroup from going.
	if c.State.CgroupPaths != nil && !c.State.SharedCgroup && !killAll && c.hasProcesses() {
		_ = c.signalAll(unix.SIGKILL)
	}
	// A shared cgroup (runc warns at create and lets containers share) is
	// left to whoever is still in it: someone other than this container's
	// init, which may linger there a moment as it exits.
	if c.State.CgroupPaths != nil && !(c.State.SharedCgroup && c.othersInCgroup()) {
		if err := c.cgroup().Destroy(); err != nil {
			return fmt.Errorf("remove cgroup: %w", err)
		}
	}
	// The bind is ours if the rootfs is on another mount than it was on
	// before create made it (a killed create may not have).
	if c.State.SharedRootfs {
		if id, err := mountID(c.State.Rootfs); err == nil && id != c.State.RootfsMountID {
			if err := rootfs.UnbindShared(c.State.Rootfs); err != nil {
				return err
			}
		}
	}
	return removeStateDir(c.dir)
}

// removeStateDir removes the files husk keeps in dir, then dir; RemoveAll's
// walk only if something else is there. dir first goes out of the id's way
// under a temporary name, at once: a delete killed half-way leaves no
// state dir without a state, only a temporary one that a later delete
// --force sweeps.
func removeStateDir(dir string) error {
	gone := filepath.Join(filepath.Dir(dir), tmpPrefix+"gone-"+strconv.FormatInt(time.Now().UnixNano(), 36))
	if err := os.Rename(dir, gone); err != nil {
		return fmt.Errorf("remove state dir: %w", err)
	}
	dir = gone
	for _, name := range []string{stateFile, recordFile, fifoName, spareName(stateFile), spareName(recordFile)} {
		_ = unix.Unlink(filepath.Join(dir, name))
	}
	if unix.Rmdir(dir) == nil {
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove state dir: %w", err)
	}
	return nil
}

// sweepTemp removes the temporary state dirs under the root that no husk
// is using any more: those of a create killed before it named its
// container, or of a delete killed half-way.
func (r *Runtime) sweepTemp() {
	root := r.Root
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), tmpPrefix) {
			continue
		}
		dir := filepath.Join(root, e.Name())
		// A create locks its dir a moment after making it, and writes
		// in it only then: an empty one may be that moment.
		if names, err := os.ReadDir(dir); strings.HasPrefix(e.Name(), newPrefix) && (err != nil || len(names) == 0) {
			if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < 10*time.Second {
				continue
			}
		}
		f, err := os.OpenFile(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			_ = os.RemoveAll(dir)
		}
		f.Close()
	}
}

func (c *Container) ownPIDNamespace() bool {
	for _, ns := range c.State.meta.Linux.Namespaces {
		if ns.Type == specs.PIDNamespace && ns.Path == "" {
			return true
		}
	}
	return false
}

func (c *Container) othersInCgroup() bool {
	pids, err := c.cgroup().Pids()
	return err == nil && slices.ContainsFunc(pids, func(p int) bool { return p != c.State.Pid })
}

func (c *Container) hasProcesses() bool {
	pids, err := c.cgroup().Pids()
	return err == nil && len(pids) > 0
}

// waitGone waits until the process and all its threads have exited (a
// zombie counts as gone: its reaper is not us). A killed multi-threaded
// process (a Go init, a JVM) shows its leader as a zombie while its other
// threads are still exiting, and its tgid stays in cgroup.procs until the
// last is gone: the pidfd polls readable only then. Unlike openPidfd's,
// the check after opening takes a zombie for the process it names: only
// a pid that was reaped and reused has another start time.
func waitGone(pid int, start uint64, limit time.Duration) {
	if pid <= 0 {
		return
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if p, err := procStat(pid); err != nil || p.start != start {
		return
	}
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	_, _ = unix.Poll(fds, int(limit.Milliseconds()))
}
