package systemd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"

	"github.com/husk-runtime/husk/internal/testutil"
)

// What the fake serves: systemd's names, which go-systemd uses inside.
const (
	systemdDest  = "org.freedesktop.systemd1"
	systemdPath  = dbus.ObjectPath("/org/freedesktop/systemd1")
	managerIface = "org.freedesktop.systemd1.Manager"
	jobRemoved   = managerIface + ".JobRemoved"
)

func unitObjectPath(name string) dbus.ObjectPath {
	return dbus.ObjectPath("/org/freedesktop/systemd1/unit/" + sddbus.PathBusEscape(name))
}

// fakeSystemd plays systemd's manager on a private dbus-daemon, to test
// the job handling against a real bus. Like systemd, it sends a job's
// JobRemoved signal before (here: always before) the method's reply.
type fakeSystemd struct {
	t    *testing.T
	conn *dbus.Conn

	mu     sync.Mutex
	jobs   uint32
	units  map[string]string // name -> ActiveState
	calls  []string
	result map[string]string // name -> result of its next start job
	exists map[string]bool   // StartTransientUnit answers UnitExists
	props  map[string][]Property
}

func startBus(t *testing.T) string {
	t.Helper()
	testutil.RequireRoot(t)
	daemon, err := exec.LookPath("dbus-daemon")
	if err != nil {
		t.Skip("no dbus-daemon")
	}
	addr := "unix:path=" + filepath.Join(t.TempDir(), "bus")
	cmd := exec.Command(daemon, "--session", "--nofork", "--nopidfile", "--address="+addr, "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("dbus-daemon: %v", err)
	}
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", strings.TrimSpace(line))
	return strings.TrimSpace(line)
}

func newFakeSystemd(t *testing.T) *fakeSystemd {
	addr := startBus(t)
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f := &fakeSystemd{t: t, conn: conn, units: map[string]string{}, result: map[string]string{},
		exists: map[string]bool{}, props: map[string][]Property{}}
	if err := conn.Export(f, systemdPath, managerIface); err != nil {
		t.Fatal(err)
	}
	if r, err := conn.RequestName(systemdDest, dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("request name: %v %v", r, err)
	}
	return f
}

func (f *fakeSystemd) Calls() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.calls, " ")
}

// job emits an unrelated JobRemoved, then the job's own.
func (f *fakeSystemd) job(unit, result string) dbus.ObjectPath {
	f.jobs += 2
	other := dbus.ObjectPath(fmt.Sprintf("/org/freedesktop/systemd1/job/%d", f.jobs-1))
	_ = f.conn.Emit(systemdPath, jobRemoved, f.jobs-1, other, "other.service", "failed")
	path := dbus.ObjectPath(fmt.Sprintf("/org/freedesktop/systemd1/job/%d", f.jobs))
	_ = f.conn.Emit(systemdPath, jobRemoved, f.jobs, path, unit, result)
	return path
}

func (f *fakeSystemd) exportUnit(name string) {
	path := unitObjectPath(name)
	_ = f.conn.Export(&fakeUnit{f: f, name: name}, path, "org.freedesktop.DBus.Properties")
}

func (f *fakeSystemd) StartTransientUnit(name, mode string, props []Property, _ []sddbus.PropertyCollection) (dbus.ObjectPath, *dbus.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "start:"+name)
	if f.exists[name] {
		return "", dbus.NewError(errUnitExists, []any{"Unit " + name + " already exists."})
	}
	result := f.result[name]
	if result == "" {
		result = "done"
	}
	delete(f.result, name)
	f.props[name] = props
	if result == "done" {
		f.units[name] = "active"
	} else {
		f.units[name] = "failed"
	}
	f.exportUnit(name)
	return f.job(name, result), nil
}

func (f *fakeSystemd) StopUnit(name, mode string) (dbus.ObjectPath, *dbus.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "stop:"+name)
	if _, ok := f.units[name]; !ok {
		return "", dbus.NewError(errNoSuchUnit, []any{"Unit " + name + " not loaded."})
	}
	delete(f.units, name)
	return f.job(name, "done"), nil
}

func (f *fakeSystemd) ResetFailedUnit(name string) *dbus.Error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "reset:"+name)
	if f.units[name] == "failed" {
		delete(f.units, name)
		delete(f.exists, name)
		return nil
	}
	if _, ok := f.units[name]; !ok {
		return dbus.NewError(errNoSuchUnit, []any{"Unit " + name + " not loaded."})
	}
	return nil
}

func (f *fakeSystemd) SetUnitProperties(name string, runtime bool, props []Property) *dbus.Error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "set:"+name)
	f.props[name] = append(f.props[name], props...)
	return nil
}

type fakeUnit struct {
	f    *fakeSystemd
	name string
}

func (u *fakeUnit) Get(iface, property string) (dbus.Variant, *dbus.Error) {
	u.f.mu.Lock()
	defer u.f.mu.Unlock()
	state, ok := u.f.units[u.name]
	if !ok {
		return dbus.Variant{}, dbus.NewError(errNoSuchUnit, []any{"no unit"})
	}
	switch property {
	case "ActiveState":
		return dbus.MakeVariant(state), nil
	case "ControlGroup":
		return dbus.MakeVariant("/system.slice/" + u.name), nil
	}
	return dbus.Variant{}, dbus.NewError("org.freedesktop.DBus.Error.UnknownProperty", []any{property})
}

func TestBusJobs(t *testing.T) {
	f := newFakeSystemd(t)
	b, err := dial(false)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := b.startTransient(ctx, "a.scope", []Property{prop("Delegate", true)}); err != nil {
		t.Fatalf("start: %v", err)
	}
	if st, err := b.activeState(ctx, "a.scope"); err != nil || st != "active" {
		t.Fatalf("activeState = %q, %v", st, err)
	}
	f.exportUnit("none.scope")
	if st, err := b.activeState(ctx, "none.scope"); err != nil || st != "" {
		t.Fatalf("activeState of a missing unit = %q, %v", st, err)
	}
	if err := b.stop(ctx, "a.scope"); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if err := b.stop(ctx, "a.scope"); err != nil {
		t.Fatalf("stop of a unit that is gone: %v", err)
	}
	if err := b.resetFailed(ctx, "a.scope"); err != nil {
		t.Fatalf("resetFailed of a unit that is gone: %v", err)
	}

	f.mu.Lock()
	f.result["b.scope"] = "failed"
	f.mu.Unlock()
	err = b.startTransient(ctx, "b.scope", nil)
	var jerr *jobError
	if !errors.As(err, &jerr) || jerr.result != "failed" || !strings.Contains(err.Error(), "b.scope: job failed") {
		t.Fatalf("start with a failing job: %v", err)
	}

	f.mu.Lock()
	f.exists["c.scope"] = true
	f.mu.Unlock()
	if err := b.startTransient(ctx, "c.scope", nil); !isDBusError(err, errUnitExists) {
		t.Fatalf("start of an existing unit: %v", err)
	}
}

func TestStartUnitCleansUp(t *testing.T) {
	f := newFakeSystemd(t)
	b, err := dial(false)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// A failed start job leaves no failed unit.
	m := &Manager{unit: Unit{Name: "x.scope", Slice: "system.slice"}}
	f.mu.Lock()
	f.result["x.scope"] = "failed"
	f.mu.Unlock()
	if err := m.startUnit(ctx, b, nil); err == nil || !strings.Contains(err.Error(), "job failed") {
		t.Fatalf("startUnit: %v", err)
	}
	if got := f.Calls(); got != "start:x.scope stop:x.scope reset:x.scope" {
		t.Fatalf("calls: %s", got)
	}
	if _, ok := f.units["x.scope"]; ok {
		t.Fatal("the failed unit stayed")
	}

	// An active unit of the same name is not ours: left alone.
	f.calls = nil
	f.mu.Lock()
	f.exists["y.scope"] = true
	f.units["y.scope"] = "active"
	f.exportUnit("y.scope")
	f.mu.Unlock()
	err = m.startUnitNamed(ctx, b, "y.scope")
	if err == nil || !strings.Contains(err.Error(), "already exists") || !strings.Contains(err.Error(), "(active)") {
		t.Fatalf("startUnit of an existing unit: %v", err)
	}
	if got := f.Calls(); got != "start:y.scope" {
		t.Fatalf("calls: %s", got)
	}

	// A failed leftover of the same name is reset and replaced.
	f.calls = nil
	f.mu.Lock()
	f.exists["z.scope"] = true
	f.units["z.scope"] = "failed"
	f.exportUnit("z.scope")
	f.mu.Unlock()
	if err := m.startUnitNamed(ctx, b, "z.scope"); err != nil {
		t.Fatalf("startUnit over a failed leftover: %v", err)
	}
	if got := f.Calls(); got != "start:z.scope reset:z.scope start:z.scope" {
		t.Fatalf("calls: %s", got)
	}
}

func (m *Manager) startUnitNamed(ctx context.Context, b *bus, name string) error {
	m.unit.Name = name
	return m.startUnit(ctx, b, nil)
}

// A rootless container's bus is the session bus that
// DBUS_SESSION_BUS_ADDRESS names: the user's systemd instance is there.
func TestUserBusJobs(t *testing.T) {
	newFakeSystemd(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", os.Getenv("DBUS_SYSTEM_BUS_ADDRESS"))
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent")
	b, err := dial(true)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.startTransient(ctx, "u.scope", []Property{prop("Delegate", true)}); err != nil {
		t.Fatalf("start on the session bus: %v", err)
	}
	if err := b.stop(ctx, "u.scope"); err != nil {
		t.Fatalf("stop: %v", err)
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
	if _, err := dial(true); err == nil || !strings.Contains(err.Error(), "connect to the user's D-Bus session bus unix:path=/nonexistent/bus") {
		t.Fatalf("dial a missing session bus: %v", err)
	}
}
