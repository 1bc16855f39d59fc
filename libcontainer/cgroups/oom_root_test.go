package cgroups

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/husk-runtime/husk/internal/testutil"
)

// TestOOMEventsV1 runs a process that eats memory in a v1 memory cgroup
// with a small limit.
func TestOOMEventsV1(t *testing.T) {
	testutil.RequireRoot(t)
	if hostLayout(t).isV2() {
		t.Skip("needs a v1 memory hierarchy")
	}
	m := newTestManager(t, "/"+uniqueName(t))
	if m.Path("memory") == "" {
		t.Skip("no v1 memory hierarchy")
	}
	if err := m.Apply(0); err != nil {
		t.Fatal(err)
	}
	if err := m.Set(specsMemoryLimit(16 << 20)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch, err := m.OOMEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// tail keeps a line without end in memory: /dev/zero has none.
	hog := exec.Command("/bin/sh", "-c", "echo $$ > "+filepath.Join(m.Path("memory"), "cgroup.procs")+" && exec tail /dev/zero")
	if err := hog.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hog.Process.Kill(); _ = hog.Wait() })
	if !receive(t, ch, "OOM event") {
		t.Fatal("channel closed instead of an OOM event")
	}
	cancel()
	for range ch {
	}
}
