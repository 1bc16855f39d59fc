package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// previousRelease is the tag of the husk release before this one, whose
// containers this husk must manage: nodes upgrade their runtime while
// containers run.
const previousRelease = "v0.1.0"

// previousHusk builds husk at previousRelease from this checkout's git
// history (or takes HUSK_PREVIOUS_BINARY, as the v2 guest would).
func previousHusk(t *testing.T) string {
	t.Helper()
	if isRunc() {
		t.Skip("the upgrade test is about husk's own releases")
	}
	if bin := os.Getenv("HUSK_PREVIOUS_BINARY"); bin != "" {
		return bin
	}
	if os.Getenv("HUSK_SKIP_UPGRADE") != "" {
		t.Skip("HUSK_SKIP_UPGRADE is set: no previous release to build")
	}
	if _, err := os.Stat(filepath.Join(repoRoot, ".git")); err != nil {
		t.Skip("not in a git checkout: set HUSK_PREVIOUS_BINARY to test upgrades")
	}
	if out, err := exec.Command("git", "-C", repoRoot, "rev-parse", "-q", "--verify", previousRelease+"^{commit}").CombinedOutput(); err != nil {
		t.Fatalf("this checkout has no tag %s (a shallow clone? `git fetch --tags`): %v %s", previousRelease, err, out)
	}
	src := t.TempDir()
	archive := exec.Command("sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", repoRoot, previousRelease, src)
	if out, err := archive.CombinedOutput(); err != nil {
		t.Fatalf("unpack %s: %v\n%s", previousRelease, err, out)
	}
	bin := filepath.Join(src, "husk")
	build := exec.Command("make", "--no-print-directory", "-s", "husk", "OUT="+bin, "COMMIT="+previousRelease)
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build husk %s: %v\n%s", previousRelease, err, out)
	}
	return bin
}

// Containers made by the previous release, created or running, are listed,
// started, exec'd into, killed and deleted by this husk.
func TestUpgradeFromPreviousRelease(t *testing.T) {
	t.Parallel()
	prev := previousHusk(t)
	old := opts{binary: prev}
	if out, _ := exec.Command(prev, "--version").CombinedOutput(); !strings.Contains(string(out), strings.TrimPrefix(previousRelease, "v")) {
		t.Fatalf("%s --version: %s, want %s", prev, out, previousRelease)
	}

	// Running under the old husk: listed, exec'd into, killed, deleted.
	running := newBundle(t, "/bin/sh", "-c", "echo up; exec /helper sleep 600")
	if r := running.createOpts(old); r.Code != 0 {
		t.Fatalf("previous release: create: %s", r)
	}
	if r := running.rtOpts(old, "start", running.id); r.Code != 0 {
		t.Fatalf("previous release: start: %s", r)
	}
	running.waitOutput("up")
	if st := statusOf(running); st != "running" {
		t.Fatalf("a container of %s is %q to this husk, want running", previousRelease, st)
	}
	if list := running.mustRT("list", "-q"); !strings.Contains(list.Stdout, running.id+"\n") {
		t.Errorf("list does not show the container of %s: %q", previousRelease, list.Stdout)
	}
	if out := running.mustRT("exec", running.id, "cat", "/proc/1/cmdline").Stdout; !strings.Contains(out, "/helper") {
		t.Errorf("exec into the container of %s read pid 1's cmdline %q, want its /helper", previousRelease, out)
	}
	pid := running.state().Pid
	running.mustRT("kill", running.id, "KILL")
	running.waitStatus("stopped")
	if pidAlive(pid) {
		t.Errorf("kill left the init %d of the container of %s alive", pid, previousRelease)
	}
	running.mustRT("delete", running.id)
	checkNothingLeft(t, running)

	// Created under the old husk, started and force-deleted by this one.
	created := newBundle(t, "/bin/sh", "-c", "echo started; exec /helper sleep 600")
	if r := created.createOpts(old); r.Code != 0 {
		t.Fatalf("previous release: create: %s", r)
	}
	if st := statusOf(created); st != "created" {
		t.Fatalf("a created container of %s is %q to this husk", previousRelease, st)
	}
	created.mustRT("start", created.id)
	created.waitOutput("started")
	created.mustRT("delete", "--force", created.id)
	checkNothingLeft(t, created)
}
