package systemd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

const (
	systemdDest     = "org.freedesktop.systemd1"
	systemdPath     = dbus.ObjectPath("/org/freedesktop/systemd1")
	managerIface    = "org.freedesktop.systemd1.Manager"
	unitIface       = "org.freedesktop.systemd1.Unit"
	jobRemoved      = managerIface + ".JobRemoved"
	errUnitExists   = "org.freedesktop.systemd1.UnitExists"
	errNoSuchUnit   = "org.freedesktop.systemd1.NoSuchUnit"
	errUnknownObj   = "org.freedesktop.DBus.Error.UnknownObject"
	errLoadFailed   = "org.freedesktop.systemd1.LoadFailed"
	errUnitInactive = "org.freedesktop.systemd1.UnitInactive"
)

// jobTimeout bounds the wait for one systemd job; starting a scope takes
// milliseconds, stopping one whose processes are gone as well.
const jobTimeout = 30 * time.Second

// bus is a connection to systemd through the D-Bus system bus that
// receives the JobRemoved signals of the jobs it starts.
type bus struct {
	conn    *dbus.Conn
	mgr     dbus.BusObject
	signals chan *dbus.Signal
}

// dial connects to the system bus. Only root may ask the system instance
// of systemd for scopes; a rootless container would need the user's own
// instance on the session bus, which husk does not support.
func dial() (*bus, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("systemd cgroup driver: rootless containers (systemd's user instance) are not supported; run as root or without --systemd-cgroup")
	}
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		return nil, fmt.Errorf("systemd cgroup driver: connect to the D-Bus system bus: %w", err)
	}
	b := &bus{conn: conn, mgr: conn.Object(systemdDest, systemdPath), signals: make(chan *dbus.Signal, 64)}
	conn.Signal(b.signals)
	// systemd sends a job's JobRemoved to the client that asked for the
	// job (no Subscribe needed); the bus only needs to let it through.
	if err := conn.AddMatchSignal(
		dbus.WithMatchObjectPath(systemdPath),
		dbus.WithMatchInterface(managerIface),
		dbus.WithMatchMember("JobRemoved"),
	); err != nil {
		conn.Close()
		return nil, fmt.Errorf("systemd cgroup driver: watch systemd's jobs: %w", err)
	}
	return b, nil
}

func (b *bus) close() {
	if b != nil {
		b.conn.Close()
	}
}

// aux is the unused auxiliary-units argument of StartTransientUnit.
type aux struct {
	Name  string
	Props []Property
}

// startTransient asks systemd for the unit and waits for its start job.
func (b *bus) startTransient(ctx context.Context, name string, props []Property) error {
	var job dbus.ObjectPath
	err := b.mgr.CallWithContext(ctx, managerIface+".StartTransientUnit", 0, name, "replace", props, []aux{}).Store(&job)
	if err != nil {
		return err
	}
	return b.waitJob(ctx, job, "start")
}

// stop stops the unit and waits for the job. A unit that is gone already
// (a scope goes once its last process has exited) is not an error.
func (b *bus) stop(ctx context.Context, name string) error {
	var job dbus.ObjectPath
	err := b.mgr.CallWithContext(ctx, managerIface+".StopUnit", 0, name, "replace").Store(&job)
	if isDBusError(err, errNoSuchUnit, errLoadFailed) {
		return nil
	}
	if err != nil {
		return err
	}
	return b.waitJob(ctx, job, "stop")
}

// kill signals every process of the unit.
func (b *bus) kill(ctx context.Context, name string, sig int32) error {
	err := b.mgr.CallWithContext(ctx, managerIface+".KillUnit", 0, name, "all", sig).Store()
	if isDBusError(err, errNoSuchUnit, errLoadFailed, errUnitInactive) {
		return nil
	}
	return err
}

// resetFailed makes systemd forget a failed unit, so that neither a
// "failed" entry nor the unit name is left behind.
func (b *bus) resetFailed(ctx context.Context, name string) error {
	err := b.mgr.CallWithContext(ctx, managerIface+".ResetFailedUnit", 0, name).Store()
	if isDBusError(err, errNoSuchUnit, errLoadFailed) {
		return nil
	}
	return err
}

func (b *bus) setProperties(ctx context.Context, name string, props []Property) error {
	return b.mgr.CallWithContext(ctx, managerIface+".SetUnitProperties", 0, name, true, props).Store()
}

// unitProperty reads one property of a loaded unit.
func (b *bus) unitProperty(ctx context.Context, name, iface, property string) (dbus.Variant, error) {
	var v dbus.Variant
	obj := b.conn.Object(systemdDest, unitObjectPath(name))
	err := obj.CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, iface, property).Store(&v)
	return v, err
}

// activeState is the unit's ActiveState, "" when systemd has no such unit
// loaded.
func (b *bus) activeState(ctx context.Context, name string) (string, error) {
	v, err := b.unitProperty(ctx, name, unitIface, "ActiveState")
	if isDBusError(err, errNoSuchUnit, errUnknownObj) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	s, _ := v.Value().(string)
	return s, nil
}

// waitJob waits for the JobRemoved signal of job; its result must be
// "done". Signals that came before the job's path was known are still in
// the channel, which was registered before the call.
func (b *bus) waitJob(ctx context.Context, job dbus.ObjectPath, what string) error {
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("systemd %s job %s: no result: %w", what, job, ctx.Err())
		case s, ok := <-b.signals:
			if !ok {
				return fmt.Errorf("systemd %s job %s: the D-Bus connection closed", what, job)
			}
			if s.Name != jobRemoved || len(s.Body) != 4 {
				continue
			}
			if path, _ := s.Body[1].(dbus.ObjectPath); path != job {
				continue
			}
			result, _ := s.Body[3].(string)
			if result != "done" {
				return &jobError{what: what, unit: fmt.Sprint(s.Body[2]), result: result}
			}
			return nil
		}
	}
}

// jobError is a job that ended with another result than "done".
type jobError struct {
	what, unit, result string
}

func (e *jobError) Error() string {
	return fmt.Sprintf("systemd could not %s %s: job %s (see `journalctl -u %s`)", e.what, e.unit, e.result, e.unit)
}

func isDBusError(err error, names ...string) bool {
	var de dbus.Error
	if !errors.As(err, &de) {
		var pde *dbus.Error
		if !errors.As(err, &pde) || pde == nil {
			return false
		}
		de = *pde
	}
	for _, n := range names {
		if de.Name == n {
			return true
		}
	}
	return false
}

// unitObjectPath is the D-Bus object of a unit: its name escaped as
// sd-bus escapes object path labels (every byte but ASCII letters, and
// digits after the first byte, as _xx).
func unitObjectPath(name string) dbus.ObjectPath {
	var b strings.Builder
	b.WriteString("/org/freedesktop/systemd1/unit/")
	if name == "" {
		b.WriteByte('_')
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "_%02x", c)
	}
	return dbus.ObjectPath(b.String())
}
