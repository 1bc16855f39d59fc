package systemd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// The D-Bus errors systemd answers with that the driver tells apart.
const (
	errUnitExists   = "org.freedesktop.systemd1.UnitExists"
	errNoSuchUnit   = "org.freedesktop.systemd1.NoSuchUnit"
	errUnknownObj   = "org.freedesktop.DBus.Error.UnknownObject"
	errLoadFailed   = "org.freedesktop.systemd1.LoadFailed"
	errUnitInactive = "org.freedesktop.systemd1.UnitInactive"
)

// jobTimeout bounds the wait for one systemd job; starting a scope takes
// milliseconds, stopping one whose processes are gone as well.
const jobTimeout = 30 * time.Second

// bus is go-systemd's connection plus husk's policy on top of it: which
// of systemd's answers count as success (a unit that is gone already),
// and that a job must end "done".
type bus struct {
	conn *sddbus.Conn
}

// dial connects to the system bus. Only root may ask the system instance
// of systemd for scopes; a rootless container would need the user's own
// instance on the session bus (NewUserConnectionContext), which husk does
// not support yet.
func dial() (*bus, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("systemd cgroup driver: rootless containers (systemd's user instance) are not supported; run as root or without --systemd-cgroup")
	}
	// Not a deadline: godbus closes a connection when the context it was
	// dialled with ends, and the manager keeps its connection for the
	// command's lifetime.
	conn, err := sddbus.NewSystemConnectionContext(context.Background())
	if err != nil {
		return nil, fmt.Errorf("systemd cgroup driver: connect to the D-Bus system bus: %w", err)
	}
	return &bus{conn: conn}, nil
}

func (b *bus) close() {
	if b != nil {
		b.conn.Close()
	}
}

// startTransient asks systemd for the unit and waits for its start job.
func (b *bus) startTransient(ctx context.Context, name string, props []Property) error {
	// Buffered: go-systemd sends the result while holding the lock that
	// every other job of the connection needs, even when no one waits.
	done := make(chan string, 1)
	if _, err := b.conn.StartTransientUnitContext(ctx, name, "replace", props, done); err != nil {
		return err
	}
	return waitJob(ctx, done, name, "start")
}

// stop stops the unit and waits for the job. A unit that is gone already
// (a scope goes once its last process has exited) is not an error.
func (b *bus) stop(ctx context.Context, name string) error {
	done := make(chan string, 1)
	_, err := b.conn.StopUnitContext(ctx, name, "replace", done)
	if isDBusError(err, errNoSuchUnit, errLoadFailed) {
		return nil
	}
	if err != nil {
		return err
	}
	return waitJob(ctx, done, name, "stop")
}

// kill signals every process of the unit.
func (b *bus) kill(ctx context.Context, name string, sig int32) error {
	err := b.conn.KillUnitWithTarget(ctx, name, sddbus.All, sig)
	if isDBusError(err, errNoSuchUnit, errLoadFailed, errUnitInactive) {
		return nil
	}
	return err
}

// resetFailed makes systemd forget a failed unit, so that neither a
// "failed" entry nor the unit name is left behind.
func (b *bus) resetFailed(ctx context.Context, name string) error {
	err := b.conn.ResetFailedUnitContext(ctx, name)
	if isDBusError(err, errNoSuchUnit, errLoadFailed) {
		return nil
	}
	return err
}

// setProperties changes the running unit only (runtime): a transient
// unit has no unit file to persist them in.
func (b *bus) setProperties(ctx context.Context, name string, props []Property) error {
	return b.conn.SetUnitPropertiesContext(ctx, name, true, props...)
}

// typeProperty reads a property of the unit's type interface ("Scope",
// "Slice").
func (b *bus) typeProperty(ctx context.Context, name, unitType, property string) (dbus.Variant, error) {
	p, err := b.conn.GetUnitTypePropertyContext(ctx, name, unitType, property)
	if err != nil {
		return dbus.Variant{}, err
	}
	return p.Value, nil
}

// activeState is the unit's ActiveState, "" when systemd has no such unit
// loaded.
func (b *bus) activeState(ctx context.Context, name string) (string, error) {
	p, err := b.conn.GetUnitPropertyContext(ctx, name, "ActiveState")
	if isDBusError(err, errNoSuchUnit, errUnknownObj) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	s, _ := p.Value.Value().(string)
	return s, nil
}

// waitJob waits for the result go-systemd reads from the job's JobRemoved
// signal; it must be "done".
func waitJob(ctx context.Context, done <-chan string, unit, what string) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("systemd %s job of %s: no result: %w", what, unit, ctx.Err())
	case result := <-done:
		if result != "done" {
			return &jobError{what: what, unit: unit, result: result}
		}
		return nil
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
