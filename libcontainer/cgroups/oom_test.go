package cgroups

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func specsMemoryLimit(limit int64) *specs.LinuxResources {
	return &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}
}

// receive waits for a value or the closing of ch.
func receive(t *testing.T, ch <-chan struct{}, what string) (ok bool) {
	t.Helper()
	select {
	case _, ok = <-ch:
		return ok
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s after 10s", what)
	}
	return false
}

// The v2 source needs nothing but inotify on two files, which regular
// files in a temporary directory provide as well.
func TestOOMEventsV2(t *testing.T) {
	dir := fakeDir(t, map[string]string{
		"memory.events": "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n",
		"cgroup.events": "populated 1\nfrozen 0\n",
	})
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ch, err := Load(map[string]string{"": dir}).OOMEvents(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Other counters moving is no OOM kill.
	write("memory.events", "low 0\nhigh 0\nmax 9\noom 2\noom_kill 1\n")
	write("memory.events", "low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\n")
	if !receive(t, ch, "event for oom_kill 1 -> 2") {
		t.Fatal("channel closed instead of an event")
	}
	select {
	case <-ch:
		t.Fatal("an event without a kill")
	case <-time.After(100 * time.Millisecond):
	}
	write("cgroup.events", "populated 0\nfrozen 0\n")
	if receive(t, ch, "close once the cgroup is empty") {
		t.Fatal("an event instead of the close")
	}
}

func TestOOMEventsCancel(t *testing.T) {
	dir := fakeDir(t, map[string]string{"memory.events": "oom_kill 0\n", "cgroup.events": "populated 1\n"})
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := Load(map[string]string{"": dir}).OOMEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if receive(t, ch, "close after cancel") {
		t.Fatal("an event instead of the close")
	}
	if _, err := Load(map[string]string{"": fakeDir(t, nil)}).OOMEvents(t.Context()); err == nil {
		t.Error("OOMEvents without memory.events succeeded")
	}
	if _, err := Load(map[string]string{"pids": fakeDir(t, nil)}).OOMEvents(t.Context()); err == nil {
		t.Error("v1 OOMEvents without a memory hierarchy succeeded")
	}
}
