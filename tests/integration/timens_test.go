package integration

import (
	"os"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// uptime reads the first field of /proc/uptime (CLOCK_BOOTTIME seconds).
func uptime(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(strings.Fields(s)[0], 64)
	if err != nil {
		t.Fatalf("parse uptime %q: %v", s, err)
	}
	return f
}

func TestTimeNamespaceOffsets(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skip("kernel without time namespaces")
	}
	b := newBundle(t)
	setNamespace(b, specs.TimeNamespace, "")
	b.spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{
		"boottime":  {Secs: 10 * 86400},
		"monotonic": {Secs: 3600},
	}
	b.startContainer()
	host, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	// An exec'd process joins the same time namespace and sees the offset.
	inside := uptime(t, b.mustExec(nil, "cat", "/proc/uptime"))
	if d := inside - uptime(t, string(host)); d < 10*86400-60 || d > 10*86400+60 {
		t.Fatalf("boottime in the container is %.0fs ahead of the host's, want 864000s", d)
	}
}

// With a user namespace too, the offsets are written by the namespace's
// root into a /proc/self file of a process that is otherwise non-dumpable.
func TestTimeNamespaceOffsetsUserns(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skip("kernel without time namespaces")
	}
	b := newBundle(t, "cat", "/proc/uptime")
	userns(t, b)
	setNamespace(b, specs.TimeNamespace, "")
	b.spec.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Secs: 10 * 86400}}
	host, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	inside := uptime(t, b.mustRun())
	if d := inside - uptime(t, string(host)); d < 10*86400-60 || d > 10*86400+60 {
		t.Fatalf("boottime in the container is %.0fs ahead of the host's, want 864000s", d)
	}
}
