package systemd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
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

// dial connects to the system bus, or for a rootless container (user) to
// the session bus of the user's own systemd instance: only root may ask
// the system instance for scopes, and a user's scopes live under its
// user@UID.service, whose delegated controllers (memory, pids and cpu by
// default) are the ones a rootless container can be limited with.
func dial(user bool) (*bus, error) {
	if !user && os.Geteuid() != 0 {
		return nil, errors.New("systemd cgroup driver: only root may ask the system's systemd for a scope; husk runs as uid " +
			strconv.Itoa(os.Geteuid()) + ": use --rootless (the user's systemd instance) or no --systemd-cgroup")
	}
	// Not a deadline: godbus closes a connection when the context it was
	// dialled with ends, and the manager keeps its connection for the
	// command's lifetime.
	ctx := context.Background()
	if !user {
		conn, err := sddbus.NewSystemConnectionContext(ctx)
		if err != nil {
			return nil, fmt.Errorf("systemd cgroup driver: connect to the D-Bus system bus: %w", err)
		}
		return &bus{conn: conn}, nil
	}
	addr, err := userBusAddress()
	if err != nil {
		return nil, err
	}
	// go-systemd's NewUserConnectionContext, with the address chosen
	// here: godbus's own discovery ignores $XDG_RUNTIME_DIR, and falls
	// back to autolaunching a dbus-daemon of its own, which has no
	// systemd behind it.
	uid := strconv.Itoa(os.Getuid())
	conn, err := sddbus.NewConnection(func() (*dbus.Conn, error) {
		c, err := dbus.Dial(addr, dbus.WithContext(ctx))
		if err != nil {
			return nil, err
		}
		if err := c.Auth([]dbus.Auth{dbus.AuthExternal(uid)}); err != nil {
			c.Close()
			return nil, err
		}
		if err := c.Hello(); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("systemd cgroup driver (rootless): connect to the user's D-Bus session bus %s: %w "+
			"(is the user's systemd running? `systemctl start user@%s.service` or `loginctl enable-linger`, with dbus-user-session)", addr, err, uid)
	}
	return &bus{conn: conn}, nil
}

// userBusAddress is the user's session bus, as sd_bus_open_user(3) finds
// it: $DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus, the socket
// dbus-user-session's dbus.socket listens on for the user's systemd.
func userBusAddress() (string, error) {
	if addr := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); addr != "" {
		return addr, nil
	}
	xdg := os.Getenv("XDG_RUNTIME_DIR")
	if xdg == "" {
		return "", errors.New("systemd cgroup driver (rootless): neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set: " +
			"the user's systemd instance is reached on its session bus; set XDG_RUNTIME_DIR (/run/user/UID, made by a login or `loginctl enable-linger`)")
	}
	sock := filepath.Join(xdg, "bus")
	if _, err := os.Stat(sock); err != nil {
		return "", fmt.Errorf("systemd cgroup driver (rootless): DBUS_SESSION_BUS_ADDRESS is unset and the session bus socket "+
			"$XDG_RUNTIME_DIR/bus is missing: %w (start the user's systemd, `systemctl start user@%d.service` or `loginctl enable-linger`, "+
			"with the dbus-user-session package for its bus)", err, os.Getuid())
	}
	return "unix:path=" + dbus.EscapeBusAddressValue(sock), nil
}

// managerCgroup is the cgroup of the systemd instance at the other end
// ("/user.slice/user-1000.slice/user@1000.service" for a user's), below
// which its slices and scopes are.
func (b *bus) managerCgroup() (string, error) {
	v, err := b.conn.GetManagerProperty("ControlGroup")
	if err != nil {
		return "", fmt.Errorf("systemd cgroup driver: read the manager's ControlGroup: %w", err)
	}
	cg, err := strconv.Unquote(v)
	if err != nil || !strings.HasPrefix(cg, "/") {
		return "", fmt.Errorf("systemd cgroup driver: the manager's ControlGroup %s is not a cgroup path", v)
	}
	return cg, nil
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
