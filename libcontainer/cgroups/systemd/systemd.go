// Package systemd is husk's systemd cgroup driver (--systemd-cgroup): the
// container's cgroup is a transient scope that systemd creates on request
// over D-Bus, with Delegate=yes, inside the slice linux.cgroupsPath names
// ("slice:prefix:name"). systemd places the process and keeps the main
// limits as unit properties; the rest of the Manager (the other limits,
// freezing, listing, statistics, OOM events) works on the scope's
// directories through the cgroupfs manager.
//
// For a rootless container (Config.User) the scope is the user's: its
// systemd instance, reached on the user's session bus, starts it below
// user@UID.service (user.slice by default), where the controllers that
// service delegates (memory, pids and cpu by default) are the user's to
// set. That needs cgroup v2: on v1 systemd delegates nothing to a user.
//
// The caller keeps the unit's name (UnitName) and whose instance it is
// beside its directories (Paths), so that a later command can load the
// manager (Load) and stop the unit on delete.
package systemd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
)

// Config describes the container's unit.
type Config struct {
	// CgroupsPath is linux.cgroupsPath, "slice:prefix:name" or empty.
	CgroupsPath string
	// ID is the container id: the default unit name and its description.
	ID string
	// Resources are the limits to start the unit with (the same that Set
	// gets next); nil for none.
	Resources *specs.LinuxResources
	// Annotations may set more unit properties: org.systemd.property.*.
	Annotations map[string]string
	// User asks the caller's own systemd instance (on its session bus)
	// for the unit, as runc does for a rootless container, instead of
	// the system's, which only root may ask.
	User bool
}

// Manager is a container's systemd unit plus the cgroupfs manager of its
// directories. It implements cgroups.Manager.
type Manager struct {
	unit Unit
	fs   cgroups.Manager
	v2   bool
	user bool // the user's systemd instance (Config.User)

	// Set only by New: what Apply starts the unit with.
	cgroupsPath string
	description string
	start       []Property
	annotated   map[string]bool
	// sent is what systemd was given, so Set need not send it again.
	sent map[string]dbus.Variant
	bus  *bus
}

var _ cgroups.Manager = (*Manager)(nil)

// New checks the configuration and returns the manager of the container's
// unit. Nothing is asked of systemd until Apply, but for the user's
// instance the cgroup of its manager, below which its units are.
func New(cfg Config) (*Manager, error) {
	if !Running() {
		return nil, errors.New("systemd cgroup driver: systemd is not running as the init system (no /run/systemd/system)")
	}
	if !cfg.User && os.Geteuid() != 0 {
		return nil, fmt.Errorf("systemd cgroup driver: only root may ask the system's systemd for a scope; husk runs as uid %d: "+
			"use --rootless (the user's systemd instance) or no --systemd-cgroup", os.Geteuid())
	}
	v2 := cgroups.IsV2()
	if cfg.User && !v2 {
		// runc refuses it too: systemd delegates no v1 hierarchy to a
		// user, so the scope could hold no limit and no freezer.
		return nil, errors.New("systemd cgroup driver: a rootless container's scope needs cgroup v2 (unified hierarchy): " +
			"the user's systemd gets no cgroup v1 controller; run without --systemd-cgroup")
	}
	unit, err := ParseCgroupsPath(cfg.CgroupsPath, cfg.ID, cfg.User)
	if err != nil {
		return nil, fmt.Errorf("systemd cgroup driver: %w", err)
	}
	annotated, err := AnnotationProperties(cfg.Annotations)
	if err != nil {
		return nil, fmt.Errorf("systemd cgroup driver: %w", err)
	}
	m := &Manager{
		unit:        *unit,
		v2:          v2,
		user:        cfg.User,
		cgroupsPath: cfg.CgroupsPath,
		description: "husk container " + cfg.ID,
		annotated:   map[string]bool{},
	}
	if cfg.User {
		// The user's slices are below its manager's own cgroup; asking
		// now also fails early, naming what is missing, when there is
		// no user instance to ask.
		b, err := m.connect()
		if err != nil {
			return nil, err
		}
		root, err := b.managerCgroup()
		if err != nil {
			m.Close()
			return nil, err
		}
		m.unit.Path = joinCgroup(root, strings.TrimPrefix(m.unit.Path, "/"))
	}
	if m.fs, err = cgroups.New(m.unit.Path); err != nil {
		m.Close()
		return nil, err
	}
	for _, p := range annotated {
		m.annotated[p.Name] = true
	}
	m.start = mergeProperties(ResourceProperties(cfg.Resources, m.v2), annotated)
	return m, nil
}

// Running tells whether systemd is the init system (sd_booted(3)).
func Running() bool {
	fi, err := os.Lstat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

// Load rebuilds the manager of a unit from its name, whose systemd
// instance has it (user: the caller's own) and its directories, as
// UnitName, User and Paths gave them.
func Load(unit string, user bool, paths map[string]string) *Manager {
	return &Manager{
		unit: Unit{Name: unit},
		fs:   cgroups.Load(paths),
		v2:   cgroups.IsV2(),
		user: user,
	}
}

// UnitName is the unit the manager creates or manages.
func (m *Manager) UnitName() string { return m.unit.Name }

// User tells a unit of the user's systemd instance (Config.User).
func (m *Manager) User() bool { return m.user }

// Apply asks systemd for the unit, with pid in it for a scope, waits for
// systemd to have started it, and completes the placement: on cgroup v1
// systemd creates the scope only in the hierarchies it manages, so pid
// joins the others' directories at the same path; a slice unit gets pid
// through cgroupfs. On failure nothing is left: no unit, failed or not, and
// no directory.
func (m *Manager) Apply(pid int) error {
	if pid <= 0 {
		return errNoPid
	}
	if m.description == "" {
		return errors.New("systemd cgroup driver: a loaded unit cannot be started again")
	}
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()
	b, err := m.connect()
	if err != nil {
		return err
	}
	props := []Property{
		sddbus.PropDescription(m.description),
		prop("DefaultDependencies", false),
		prop("MemoryAccounting", true),
		prop("CPUAccounting", true),
		prop("TasksAccounting", true),
	}
	if m.v2 {
		props = append(props, prop("IOAccounting", true))
	} else {
		props = append(props, prop("BlockIOAccounting", true))
	}
	if m.unit.IsSlice() {
		if m.unit.Slice != "-.slice" {
			props = append(props, sddbus.PropWants(m.unit.Slice))
		}
	} else {
		props = append(props,
			sddbus.PropSlice(m.unit.Slice),
			prop("Delegate", true),
			sddbus.PropPids(uint32(pid)))
	}
	props = mergeProperties(props, m.start)
	if err := m.startUnit(ctx, b, props); err != nil {
		return err
	}
	m.sent = map[string]dbus.Variant{}
	for _, p := range props {
		m.sent[p.Name] = p.Value
	}
	if err := m.place(ctx, b, pid); err != nil {
		// Undo: the caller has no paths yet to destroy.
		_ = m.Destroy()
		return err
	}
	return nil
}

// startUnit starts the unit. A unit of the same name that exists already
// is another container's (or anyone's): it is left alone, unless it is a
// failed leftover, which is reset and replaced.
func (m *Manager) startUnit(ctx context.Context, b *bus, props []Property) error {
	name := m.unit.Name
	for attempt := 0; ; attempt++ {
		err := b.startTransient(ctx, name, props)
		if err == nil {
			return nil
		}
		if isDBusError(err, errUnitExists) {
			state, serr := b.activeState(ctx, name)
			if serr == nil && state == "failed" && attempt < 10 {
				_ = b.resetFailed(ctx, name)
				time.Sleep(time.Duration(attempt) * 10 * time.Millisecond)
				continue
			}
			if serr == nil && (state == "" || state == "inactive") && attempt < 10 {
				// Gone since, garbage-collected between the calls (asking
				// for a unit loads it again, as inactive).
				time.Sleep(time.Duration(attempt) * 10 * time.Millisecond)
				continue
			}
			return fmt.Errorf("systemd cgroup driver: unit %s already exists (%s): another container, or something else, "+
				"has the unit that linux.cgroupsPath %q names; stop it or choose another path", name, state, m.cgroupsPath)
		}
		var jerr *jobError
		if errors.As(err, &jerr) || ctx.Err() != nil {
			// The unit may be there, failed or half-started: it must not
			// stay. It is ours: StartTransientUnit created it.
			cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = b.stop(cctx, name)
			_ = b.resetFailed(cctx, name)
			cancel()
		}
		return fmt.Errorf("systemd cgroup driver: start unit %s: %w", name, err)
	}
}

// place takes systemd's word for where the unit's cgroup is and completes
// the placement of pid there in every hierarchy.
func (m *Manager) place(ctx context.Context, b *bus, pid int) error {
	unitType := "Scope"
	if m.unit.IsSlice() {
		unitType = "Slice"
	}
	if v, err := b.typeProperty(ctx, m.unit.Name, unitType, "ControlGroup"); err == nil {
		if cg, _ := v.Value().(string); cg != "" && cg != m.unit.Path {
			fs, err := cgroups.New(cg)
			if err != nil {
				return err
			}
			m.unit.Path, m.fs = cg, fs
		}
	}
	if m.v2 && !m.unit.IsSlice() {
		// systemd moved pid; this only creates nothing and lets the
		// controllers systemd does not know (hugetlb, rdma, misc) reach
		// the scope.
		return m.fs.Apply(-1)
	}
	missing := m.fs.Paths()
	if !m.unit.IsSlice() {
		missing = notIn(pid, m.unit.Path, missing)
	}
	if len(missing) == 0 {
		return nil
	}
	return cgroups.Load(missing).Apply(pid)
}

// notIn keeps the directories of paths whose hierarchy does not have pid
// in cgroup yet, going by /proc/PID/cgroup.
func notIn(pid int, cgroup string, paths map[string]string) map[string]string {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return paths
	}
	defer f.Close()
	in := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 || parts[2] != cgroup {
			continue
		}
		if parts[1] == "" {
			in[""] = true
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			in[c] = true
		}
	}
	out := map[string]string{}
	for k, dir := range paths {
		if !in[k] {
			out[k] = dir
		}
	}
	return out
}

// Attach moves pid into the unit's cgroup, or into dir below it (exec
// --cgroup), through cgroupfs. The kernel lets a user move a process only
// within a subtree whose common ancestor's cgroup.procs it may write: a
// user's husk run from outside the user's systemd subtree (a login
// session's scope, a service) is refused. systemd may still do it (the
// user's instance asks the system's), so for the user's unit husk asks it
// then, as it did for the container's first process.
func (m *Manager) Attach(pid int, dir string) error {
	err := cgroups.Load(map[string]string{"": dir}).Apply(pid)
	if err == nil || !m.user || !(errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM)) {
		return err
	}
	sub, ok := strings.CutPrefix(dir, m.fs.Path(""))
	if !ok || (sub != "" && sub[0] != '/') {
		return err
	}
	b, berr := m.connect()
	if berr != nil {
		return fmt.Errorf("%w; and asking systemd instead: %w", err, berr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()
	// systemd takes the sub-cgroup as an absolute path below the unit's.
	if aerr := b.conn.AttachProcessesToUnit(ctx, m.unit.Name, sub, []uint32{uint32(pid)}); aerr != nil {
		return fmt.Errorf("%w; and systemd could not attach pid %d to %s%s either: %w", err, pid, m.unit.Name, sub, aerr)
	}
	return nil
}

// Set gives systemd the limits it manages as unit properties, so that it
// keeps them, then writes every limit through cgroupfs. Properties that an
// annotation set, or that systemd has already, are not sent.
func (m *Manager) Set(r *specs.LinuxResources) error {
	if r == nil {
		return nil
	}
	if m.user && r.Devices != nil {
		// A device filter is a BPF program, which only the host's root
		// may attach; a rootless container gets no device node its user
		// namespace does not already allow. runc's rootless driver
		// ignores the rules too.
		c := *r
		c.Devices = nil
		r = &c
	}
	var props []Property
	for _, p := range ResourceProperties(r, m.v2) {
		if m.annotated[p.Name] {
			continue
		}
		if v, ok := m.sent[p.Name]; ok && sameValue(v, p.Value) {
			continue
		}
		props = append(props, p)
	}
	if len(props) == 0 {
		return m.fs.Set(r)
	}
	// cgroupfs first: it refuses a memory limit below the usage
	// (checkBeforeUpdate) before systemd could apply it; and once more
	// after systemd, which writes its own rounding of some values.
	if err := m.fs.Set(r); err != nil {
		return err
	}
	b, err := m.connect()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()
	if err := b.setProperties(ctx, m.unit.Name, props); err != nil {
		return fmt.Errorf("systemd cgroup driver: set properties of %s: %w", m.unit.Name, err)
	}
	if m.sent == nil {
		m.sent = map[string]dbus.Variant{}
	}
	for _, p := range props {
		m.sent[p.Name] = p.Value
	}
	return m.fs.Set(r)
}

// Destroy stops the unit (a scope whose processes are gone is gone
// already), makes sure no failed unit stays, and removes what is left of
// the directories: those of v1 hierarchies that systemd does not manage,
// and any the container made below the scope.
func (m *Manager) Destroy() error {
	var errs []error
	if b, err := m.connect(); err == nil {
		name := m.unit.Name
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := b.stop(ctx, name)
		cancel()
		var jerr *jobError
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			// Processes that outlive systemd's SIGTERM, for longer
			// than we wait: kill them.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := b.kill(ctx, name, int32(syscall.SIGKILL)); err == nil {
				err = b.stop(ctx, name)
			}
			cancel()
			if err != nil && !errors.As(err, &jerr) {
				errs = append(errs, fmt.Errorf("stop unit %s: %w", name, err))
			}
		case err != nil && !errors.As(err, &jerr):
			// A failed stop job leaves a failed unit: reset below.
			errs = append(errs, fmt.Errorf("stop unit %s: %w", name, err))
		}
		ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
		if err := b.resetFailed(ctx, name); err != nil {
			errs = append(errs, fmt.Errorf("reset failed unit %s: %w", name, err))
		}
		cancel()
	}
	// Without the bus (systemd gone?) the directories still go; systemd
	// collects a scope by itself once it is empty.
	if err := m.fs.Destroy(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (m *Manager) connect() (*bus, error) {
	if m.bus != nil {
		return m.bus, nil
	}
	b, err := dial(m.user)
	if err != nil {
		return nil, err
	}
	m.bus = b
	return b, nil
}

// Close drops the D-Bus connection, if one was made.
func (m *Manager) Close() {
	m.bus.close()
	m.bus = nil
}

func (m *Manager) Pids() ([]int, error)  { return m.fs.Pids() }
func (m *Manager) Freeze() error         { return m.fs.Freeze() }
func (m *Manager) Thaw() error           { return m.fs.Thaw() }
func (m *Manager) Paused() (bool, error) { return m.fs.Paused() }
func (m *Manager) Path(ss string) string { return m.fs.Path(ss) }
func (m *Manager) Stats() (*cgroups.Stats, error) {
	return m.fs.Stats()
}

func (m *Manager) OOMEvents(ctx context.Context) (<-chan struct{}, error) {
	return m.fs.OOMEvents(ctx)
}

// Paths returns the unit's directories, keyed as the cgroupfs manager
// keys them. They are known from New on, and final once Apply returns.
func (m *Manager) Paths() map[string]string { return m.fs.Paths() }
