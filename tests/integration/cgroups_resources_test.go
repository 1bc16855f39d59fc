package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// These tests prove the effect of cgroup limits on real containers, and the
// update, pause, resume and events commands. They read cgroup files of the
// v1 hierarchies, or of the v2 tree on a unified host.

// cgroupV2 tells whether the host runs the unified cgroup v2 hierarchy.
func cgroupV2() bool {
	_, err := os.Stat("/sys/fs/cgroup/cgroup.controllers")
	return err == nil
}

// requireControllers skips unless the v1 hierarchies ss are mounted; on a
// unified host every controller lives in one tree.
func requireControllers(t *testing.T, ss ...string) {
	t.Helper()
	if !cgroupV2() {
		requireCgroupV1(t, ss...)
	}
}

// cgFile is the path of an interface file of b's cgroup: v1name in the v1
// hierarchy ss, or v2name on a unified host.
func (b *bundle) cgFile(ss, v1name, v2name string) string {
	if cgroupV2() {
		return filepath.Join("/sys/fs/cgroup", b.cgroup, v2name)
	}
	return filepath.Join(b.cgroupDir(ss), v1name)
}

func (b *bundle) expectCgroup(ss, v1name, v1want, v2name, v2want string) {
	b.t.Helper()
	path, want := b.cgFile(ss, v1name, v2name), v1want
	if cgroupV2() {
		want = v2want
	}
	if got := readTrim(b.t, path); got != want {
		b.t.Errorf("%s = %q, want %q", path, got, want)
	}
}

// flatValue reads one key of a flat-keyed cgroup file such as pids.events.
func flatValue(t *testing.T, path, key string) int {
	t.Helper()
	for _, l := range lines(readTrim(t, path)) {
		if k, v, ok := strings.Cut(l, " "); ok && k == key {
			return atoi(t, v)
		}
	}
	t.Fatalf("%s has no %q line", path, key)
	return 0
}

// eventsProc is `events` running in the background.
type eventsProc struct {
	pid   int
	lines chan map[string]any
	done  chan error
}

// startEvents runs `events ARGS ID` and decodes its output lines. The
// process is killed when the test ends.
func startEvents(t *testing.T, b *bundle, args ...string) *eventsProc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	full := append([]string{"--root", b.root, "events"}, append(args, b.id)...)
	cmd := exec.CommandContext(ctx, runtimeBin, full...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(filepath.Join(t.TempDir(), "events.stderr"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e := &eventsProc{pid: cmd.Process.Pid, lines: make(chan map[string]any, 1000), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev map[string]any
			if json.Unmarshal(sc.Bytes(), &ev) != nil {
				ev = map[string]any{"type": "undecodable", "line": sc.Text()}
			}
			e.lines <- ev
		}
		close(e.lines)
		e.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cancel()
		<-e.done
		stderr.Close()
		if t.Failed() {
			out, _ := os.ReadFile(stderr.Name())
			t.Logf("events stderr:\n%s", out)
		}
	})
	return e
}

// next waits for an event of type typ and returns it; other events are
// skipped, an undecodable line fails the test.
func (e *eventsProc) next(t *testing.T, typ string, timeout time.Duration) map[string]any {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-e.lines:
			if !ok {
				t.Fatalf("events ended before a %q event", typ)
			}
			if ev["type"] == "undecodable" {
				t.Fatalf("events printed a line that is not JSON: %q", ev["line"])
			}
			if ev["type"] == typ {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %q event within %v", typ, timeout)
		}
	}
}

// num digs a number out of decoded JSON by path.
func num(t *testing.T, v any, path ...string) float64 {
	t.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("JSON at %q is not an object: %v", p, v)
		}
		v = m[p]
	}
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("JSON %s is %v, not a number", strings.Join(path, "."), v)
	}
	return f
}

func TestCgroupsOOMEvent(t *testing.T) {
	t.Parallel()
	requireControllers(t, "memory")
	b := newBundle(t, "/bin/sh", "-c", `x=$(head -c 200m /dev/zero | tr '\0' a)`)
	// Swap limited as well, so that a host with swap still runs out.
	b.spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{
		Limit: ptr(int64(16 << 20)), Swap: ptr(int64(16 << 20)),
	}}
	b.mustCreate()
	ev := startEvents(t, b, "--interval", "200ms")
	// The first stats event means events is watching for OOM kills.
	stats := ev.next(t, "stats", 10*time.Second)
	if stats["id"] != b.id {
		t.Errorf("stats event id = %v, want %s", stats["id"], b.id)
	}
	b.mustRT("start", b.id)
	// Filling the limit takes about 20 s in the v2 guest under emulation.
	oom := ev.next(t, "oom", 2*outputTimeout)
	if oom["id"] != b.id {
		t.Errorf("oom event id = %v, want %s", oom["id"], b.id)
	}
	b.waitStatus("stopped")
	if cgroupV2() {
		if n := flatValue(t, b.cgFile("", "", "memory.events"), "oom_kill"); n < 1 {
			t.Errorf("memory.events oom_kill = %d, want at least 1", n)
		}
	} else if n := flatValue(t, b.cgFile("memory", "memory.oom_control", ""), "oom_kill"); n < 1 {
		t.Errorf("memory.oom_control oom_kill = %d, want at least 1", n)
	}
	if isRunc() {
		return
	}
	// husk's events ends with the container.
	select {
	case err := <-ev.done:
		ev.done <- err
		if err != nil {
			t.Errorf("events after the container stopped: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("events still runs 10s after the container stopped")
	}
}

func TestCgroupsForkBombStopsAtPidsMax(t *testing.T) {
	t.Parallel()
	requireControllers(t, "pids", "cpu")
	// The init backgrounds the bomb and then execs, so that it needs no
	// fork of its own once the limit is reached.
	b := newBundle(t, "/bin/sh", "-c", "bomb() { bomb | bomb & }; bomb; exec sleep 600")
	b.spec.Linux.Resources = &specs.LinuxResources{
		Pids: &specs.LinuxPids{Limit: ptr(int64(20))},
		// Half a CPU: the bomb spins on failing forks.
		CPU: &specs.LinuxCPU{Quota: ptr(int64(50000)), Period: ptr(uint64(100000))},
	}
	b.startContainer()
	events := b.cgFile("pids", "pids.events", "pids.events")
	if !waitFor(10*time.Second, func() bool { return flatValue(t, events, "max") > 0 }) {
		t.Fatal("no fork was refused: pids.events max stays 0")
	}
	current := b.cgFile("pids", "pids.current", "pids.current")
	for range 20 {
		if n := atoi(t, readTrim(t, current)); n > 20 {
			t.Fatalf("pids.current = %d, above pids.max 20", n)
		}
		time.Sleep(25 * time.Millisecond)
	}
	b.mustRT("delete", "--force", b.id)
}

// counter runs a loop that writes an increasing number to /tmp/count.
func counterBundle(t *testing.T) *bundle {
	b := newBundle(t, "/bin/sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.05; done")
	return b
}

func (b *bundle) count() int {
	b.t.Helper()
	var n int
	ok := waitFor(5*time.Second, func() bool {
		data, err := os.ReadFile(filepath.Join(b.rootfs, "tmp/count"))
		if err != nil {
			return false
		}
		// The loop may be caught between truncating and writing.
		n, err = strconv.Atoi(strings.TrimSpace(string(data)))
		return err == nil
	})
	if !ok {
		b.t.Fatal("the counter never wrote /tmp/count")
	}
	return n
}

func TestCgroupsPauseResume(t *testing.T) {
	t.Parallel()
	requireControllers(t, "freezer")
	b := counterBundle(t)
	b.startContainer()
	start := b.count()
	if !waitFor(5*time.Second, func() bool { return b.count() > start }) {
		t.Fatal("the counter does not count")
	}
	b.mustRT("pause", b.id)
	if st := b.state(); st.Status != "paused" {
		t.Fatalf("status after pause = %q, want paused", st.Status)
	}
	frozen := b.count()
	time.Sleep(300 * time.Millisecond)
	if n := b.count(); n != frozen {
		t.Fatalf("counter went from %d to %d while paused", frozen, n)
	}
	if r := b.rt("pause", b.id); r.Code == 0 || !strings.Contains(r.Out(), "not running") {
		t.Errorf("pause of a paused container: %s", r)
	}
	b.mustRT("resume", b.id)
	if st := b.state(); st.Status != "running" {
		t.Fatalf("status after resume = %q, want running", st.Status)
	}
	if !waitFor(5*time.Second, func() bool { return b.count() > frozen }) {
		t.Fatal("the counter does not count after resume")
	}
	if r := b.rt("resume", b.id); r.Code == 0 || !strings.Contains(r.Out(), "not paused") {
		t.Errorf("resume of a running container: %s", r)
	}
}

func TestCgroupsDeleteForcePaused(t *testing.T) {
	t.Parallel()
	requireControllers(t, "freezer")
	b := counterBundle(t)
	st := b.startContainer()
	b.mustRT("pause", b.id)
	if r := b.rt("delete", b.id); r.Code == 0 {
		t.Fatalf("delete of a paused container without --force succeeded: %s", r)
	}
	b.mustRT("delete", "--force", b.id)
	if !waitFor(5*time.Second, func() bool { return !pidAlive(st.Pid) }) {
		t.Errorf("init %d alive after delete --force", st.Pid)
	}
	if r := b.rt("state", b.id); r.Code == 0 {
		t.Errorf("state after delete --force: %s", r)
	}
}

func TestCgroupsUpdateMemory(t *testing.T) {
	t.Parallel()
	requireControllers(t, "memory")
	b := newBundle(t)
	b.spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(32 << 20))}}
	b.startContainer()
	// Sizes are read as runc reads them.
	for size, bytes := range map[string]int{"64m": 64 << 20, "1.5G": 3 << 29, "98304KiB": 96 << 20, "100663296": 96 << 20} {
		b.mustRT("update", "--memory", size, b.id)
		b.expectCgroup("memory", "memory.limit_in_bytes", strconv.Itoa(bytes), "memory.max", strconv.Itoa(bytes))
	}
	for _, bad := range []string{"64x", "m", "1e9", "-5"} {
		if r := b.rt("update", "--memory", bad, b.id); r.Code == 0 {
			t.Errorf("update --memory %s succeeded", bad)
		}
	}
	b.mustRT("update", "--memory", "64m", b.id)

	memsw := b.cgFile("memory", "memory.memsw.limit_in_bytes", "memory.swap.max")
	if _, err := os.Stat(memsw); err != nil {
		t.Skipf("no swap accounting: %v", err)
	}
	// Raising both past the current memory+swap limit, then lowering both
	// below the memory limit, each need a different write order on v1.
	for _, v := range [][2]string{{"128m", "256m"}, {"48m", "64m"}} {
		b.mustRT("update", "--memory", v[0], "--memory-swap", v[1], b.id)
		limit, swap := mib(v[0]), mib(v[1])
		b.expectCgroup("memory", "memory.limit_in_bytes", strconv.Itoa(limit), "memory.max", strconv.Itoa(limit))
		b.expectCgroup("memory", "memory.memsw.limit_in_bytes", strconv.Itoa(swap), "memory.swap.max", strconv.Itoa(swap-limit))
	}
}

// mib turns "48m" into bytes.
func mib(s string) int {
	n, _ := strconv.Atoi(strings.TrimSuffix(s, "m"))
	return n << 20
}

func TestCgroupsUpdateFlags(t *testing.T) {
	t.Parallel()
	requireControllers(t, "cpu", "pids", "cpuset")
	b := newBundle(t)
	b.startContainer()
	b.mustRT("update", "--cpu-share", "512", "--cpu-period", "100000", "--cpu-quota", "50000",
		"--pids-limit", "42", "--cpuset-cpus", "0", b.id)
	b.expectCgroup("cpu", "cpu.shares", "512", "cpu.weight", "20")
	b.expectCgroup("cpu", "cpu.cfs_quota_us", "50000", "cpu.max", "50000 100000")
	b.expectCgroup("pids", "pids.max", "42", "pids.max", "42")
	b.expectCgroup("cpuset", "cpuset.cpus", "0", "cpuset.cpus", "0")
	// A later update of the quota alone keeps the period.
	b.mustRT("update", "--cpu-quota", "20000", b.id)
	b.expectCgroup("cpu", "cpu.cfs_period_us", "100000", "cpu.max", "20000 100000")
	if st := b.state(); st.Status != "running" {
		t.Errorf("status after update = %q, want running", st.Status)
	}
}

func TestCgroupsUpdateResources(t *testing.T) {
	t.Parallel()
	requireControllers(t, "memory", "pids")
	b := newBundle(t)
	b.startContainer()
	json := `{"memory": {"limit": 50331648}, "pids": {"limit": 30}}`
	r := b.rtOpts(opts{stdin: strings.NewReader(json)}, "update", "--resources", "-", b.id)
	if r.Code != 0 {
		t.Fatalf("update --resources -: %s", r)
	}
	b.expectCgroup("memory", "memory.limit_in_bytes", "50331648", "memory.max", "50331648")
	b.expectCgroup("pids", "pids.max", "30", "pids.max", "30")

	file := filepath.Join(t.TempDir(), "resources.json")
	writeFile(t, file, `{"pids": {"limit": -1}}`, 0o644)
	b.mustRT("update", "-r", file, b.id)
	b.expectCgroup("pids", "pids.max", "max", "pids.max", "max")
	b.expectCgroup("memory", "memory.limit_in_bytes", "50331648", "memory.max", "50331648")

	r = b.rtOpts(opts{stdin: strings.NewReader(`{"memory": `)}, "update", "-r", "-", b.id)
	if r.Code == 0 {
		t.Errorf("update with truncated JSON succeeded: %s", r)
	}
}

// With checkBeforeUpdate, a limit below what the container uses is
// refused and the old limit stays.
func TestCgroupsUpdateCheckBeforeUpdate(t *testing.T) {
	t.Parallel()
	requireControllers(t, "memory")
	// The trailing true keeps the shell, and so x, alive: a shell execs
	// its last command.
	// Small enough to be quick under emulation (the v2 guest), well above
	// the 2 MiB asked for below.
	b := newBundle(t, "/bin/sh", "-c", `x=$(head -c 8m /dev/zero | tr '\0' a); echo ready; sleep 600; true`)
	b.spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(256 << 20))}}
	b.startContainer()
	b.waitOutput("ready")
	low := `{"memory": {"limit": 2097152, "checkBeforeUpdate": true}}`
	r := b.rtOpts(opts{stdin: strings.NewReader(low)}, "update", "-r", "-", b.id)
	if r.Code == 0 {
		t.Fatalf("update below the usage succeeded: %s", r)
	}
	if !isRunc() && !strings.Contains(r.Out(), "below the current usage") {
		t.Errorf("update below the usage: want the reason, got %s", r)
	}
	b.expectCgroup("memory", "memory.limit_in_bytes", strconv.Itoa(256<<20), "memory.max", strconv.Itoa(256<<20))
	b.mustRT("update", "--memory", "128m", b.id)
	b.expectCgroup("memory", "memory.limit_in_bytes", strconv.Itoa(128<<20), "memory.max", strconv.Itoa(128<<20))
	if isRunc() {
		return
	}
	// The flag stays in the container's spec, so later updates are
	// checked too.
	r = b.rtOpts(opts{stdin: strings.NewReader(`{"memory": {"checkBeforeUpdate": true}}`)}, "update", "-r", "-", b.id)
	if r.Code != 0 {
		t.Fatalf("update of checkBeforeUpdate alone: %s", r)
	}
	if r := b.rt("update", "--memory", "2m", b.id); r.Code == 0 || !strings.Contains(r.Out(), "below the current usage") {
		t.Errorf("update --memory 2m after checkBeforeUpdate was saved: %s", r)
	}
}

func TestCgroupsUpdateErrors(t *testing.T) {
	t.Parallel()
	requireControllers(t, "memory")
	b := newBundle(t, "/bin/true")
	if r := b.rt("update", "--memory", "64m", b.id); r.Code == 0 || !strings.Contains(r.Out(), "does not exist") {
		t.Errorf("update of an unknown container: %s", r)
	}
	b.startContainer()
	b.waitStatus("stopped")
	if r := b.rt("update", "--memory", "64m", b.id); r.Code == 0 {
		t.Errorf("update of a stopped container succeeded: %s", r)
	}
	if r := b.rt("update", "--memory", "lots", b.id); r.Code == 0 {
		t.Errorf("update --memory lots succeeded: %s", r)
	}
	if isRunc() {
		return
	}
	if r := b.rt("update", "--l3-cache-schema", "L3:0=f", b.id); r.Code == 0 || !strings.Contains(r.Out(), "intel RDT is not supported") {
		t.Errorf("update --l3-cache-schema: %s", r)
	}
}

func TestCgroupsUnifiedOnV1(t *testing.T) {
	t.Parallel()
	if cgroupV2() || isRunc() {
		t.Skip("needs a cgroup v1 host and husk's message")
	}
	b := newBundle(t)
	b.startContainer()
	r := b.rtOpts(opts{stdin: strings.NewReader(`{"unified": {"pids.max": "5"}}`)}, "update", "-r", "-", b.id)
	if r.Code == 0 || !strings.Contains(r.Out(), "needs cgroup v2") {
		t.Errorf("unified on cgroup v1: %s", r)
	}
}

func TestCgroupsEventsStats(t *testing.T) {
	t.Parallel()
	requireControllers(t, "memory", "pids", "cpuacct")
	b := newBundle(t, "/bin/sh", "-c", `x=$(head -c 4m /dev/zero | tr '\0' a); echo ready; sleep 600; true`)
	b.startContainer()
	b.waitOutput("ready")
	r := b.mustRT("events", "--stats", b.id)
	if n := len(lines(r.Stdout)); n != 1 {
		t.Fatalf("events --stats printed %d lines, want 1: %s", n, r)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &ev); err != nil {
		t.Fatalf("events --stats output does not decode: %v\n%s", err, r)
	}
	if ev["type"] != "stats" || ev["id"] != b.id {
		t.Errorf("events --stats: type %v id %v, want stats %s", ev["type"], ev["id"], b.id)
	}
	if usage := num(t, ev["data"], "memory", "usage", "usage"); usage < 4<<20 {
		t.Errorf("memory usage %v, want at least the 4MiB the container holds", usage)
	}
	if n := num(t, ev["data"], "pids", "current"); n < 1 {
		t.Errorf("pids.current %v, want at least 1", n)
	}
	if total := num(t, ev["data"], "cpu", "usage", "total"); total <= 0 {
		t.Errorf("cpu usage total %v, want more than 0", total)
	}
}
