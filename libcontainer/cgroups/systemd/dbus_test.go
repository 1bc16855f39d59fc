package systemd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The user's bus is found as sd_bus_open_user(3) finds it, and its absence
// is an error that names what is missing.
func TestUserBusAddress(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/x/bus")
	if got, err := userBusAddress(); err != nil || got != "unix:path=/x/bus" {
		t.Errorf("with DBUS_SESSION_BUS_ADDRESS: %q, %v", got, err)
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	if _, err := userBusAddress(); err == nil || !strings.Contains(err.Error(), "neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set") {
		t.Errorf("with neither: %v", err)
	}
	dir := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", dir)
	if _, err := userBusAddress(); err == nil || !strings.Contains(err.Error(), "$XDG_RUNTIME_DIR/bus is missing") ||
		!strings.Contains(err.Error(), filepath.Join(dir, "bus")) {
		t.Errorf("without the socket: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bus"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := userBusAddress(); err != nil || got != "unix:path="+filepath.Join(dir, "bus") {
		t.Errorf("with $XDG_RUNTIME_DIR/bus: %q, %v", got, err)
	}
}
