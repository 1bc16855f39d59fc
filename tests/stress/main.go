// Command stress drives a built husk through many container lifecycles,
// parallel bursts and races against delete --force, then checks that the
// run left nothing behind: no container, state directory, cgroup, mount or
// process of its own, and no fd growth in the long-lived processes it
// started (a container's init, a `husk events` and itself).
//
// Everything it makes is its own: a temporary directory holds the --root,
// the bundles and a busybox rootfs; every container id carries the run's tag;
// every cgroup is below /husk-stress-<tag> in each hierarchy. Its cleanup
// (also on failure or SIGINT) removes only those.
//
// Usage (as root): go run ./tests/stress -husk ./husk; `make stress` builds
// husk and runs this. Counts come from STRESS_N, STRESS_P and the flags.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

type config struct {
	husk       string
	busybox    string
	n          int // sequential lifecycles
	p          int // containers per parallel burst
	bursts     int
	race       int // containers raced against delete --force per round
	raceRounds int
	timeout    time.Duration // for every husk command
	keep       bool
}

func main() {
	var c config
	flag.StringVar(&c.husk, "husk", "./husk", "husk binary")
	flag.StringVar(&c.busybox, "busybox", "/bin/busybox", "static busybox for the rootfs")
	flag.IntVar(&c.n, "n", envInt("STRESS_N", 1000), "sequential create/start/wait/delete lifecycles (env STRESS_N)")
	flag.IntVar(&c.p, "p", envInt("STRESS_P", 100), "containers per parallel create/start/delete burst (env STRESS_P)")
	flag.IntVar(&c.bursts, "bursts", envInt("STRESS_BURSTS", 3), "parallel bursts (env STRESS_BURSTS)")
	flag.IntVar(&c.race, "race", envInt("STRESS_RACE", 20), "containers whose state/kill/exec race delete --force, per round (env STRESS_RACE)")
	flag.IntVar(&c.raceRounds, "race-rounds", envInt("STRESS_RACE_ROUNDS", 3), "rounds of the race (env STRESS_RACE_ROUNDS)")
	flag.DurationVar(&c.timeout, "timeout", envDuration("STRESS_TIMEOUT", 60*time.Second), "limit for each husk command (env STRESS_TIMEOUT)")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary directory")
	flag.Parse()

	if os.Geteuid() != 0 {
		fatalf("must run as root")
	}
	if c.n < 0 || c.p < 1 || c.bursts < 0 || c.race < 1 || c.raceRounds < 0 {
		fatalf("counts must be positive")
	}
	var err error
	if c.husk, err = filepath.Abs(c.husk); err != nil {
		fatalf("%v", err)
	}
	if _, err := os.Stat(c.husk); err != nil {
		fatalf("husk binary: %v (run `make husk` first)", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	os.Exit(runStress(ctx, c))
}

// stress is one run: what it made, and what went wrong.
type stress struct {
	cfg      config
	dir      string // everything on disk is below it
	root     string // husk --root
	rootfs   string
	template specs.Spec
	tag      string // in every container id and in the cgroup parent
	cgParent string // cgroupsPath parent, "/husk-stress-<tag>"
	seq      atomic.Int64

	mu       sync.Mutex
	failures []string
	raced    map[string]int // outcomes of the race, by kind
}

func runStress(ctx context.Context, c config) int {
	s := &stress{cfg: c, raced: map[string]int{}}
	var tag [4]byte
	if _, err := rand.Read(tag[:]); err != nil {
		fatalf("%v", err)
	}
	s.tag = hex.EncodeToString(tag[:])
	s.cgParent = "/husk-stress-" + s.tag
	dir, err := os.MkdirTemp("", "husk-stress-"+s.tag+".")
	if err != nil {
		fatalf("%v", err)
	}
	s.dir = dir
	fmt.Printf("stress: husk %s, tag %s, dir %s, cgroups below %s\n", c.husk, s.tag, dir, s.cgParent)
	fmt.Printf("stress: %d lifecycles, %d bursts of %d, %d race rounds of %d containers, %v per command\n",
		c.n, c.bursts, c.p, c.raceRounds, c.race, c.timeout)

	start := time.Now()
	// Interrupted, every command in flight fails: that is no finding.
	if err = s.run(ctx); err != nil && ctx.Err() == nil {
		s.fail("%v", err)
	}
	// The leak check runs after a failure too: what a failed run leaves is
	// worth knowing, and cleanup removes it either way.
	if ctx.Err() == nil {
		for _, l := range s.leaks() {
			s.fail("leak: %s", l)
		}
	}
	s.cleanup()
	fmt.Printf("stress: finished in %v\n", time.Since(start).Round(time.Millisecond))
	if ctx.Err() != nil {
		s.fail("interrupted")
	}
	if len(s.failures) > 0 {
		fmt.Fprintf(os.Stderr, "stress: FAILED (%d problems):\n", len(s.failures))
		for _, f := range s.failures {
			fmt.Fprintf(os.Stderr, "  %s\n", f)
		}
		return 1
	}
	fmt.Println("stress: PASS: no failed command, no leak")
	return 0
}

func (s *stress) fail(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, fmt.Sprintf(format, args...))
}

func (s *stress) run(ctx context.Context) error {
	if err := s.setup(ctx); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	self0 := fdCount(os.Getpid())

	// The keeper lives through the whole run, with a `husk events` reading
	// its stats: both are the long-lived processes whose fds must not grow.
	keeper := s.newID("keeper")
	if err := s.createStart(ctx, keeper, "sleep"); err != nil {
		return err
	}
	keeperPid, err := s.pid(ctx, keeper)
	if err != nil {
		return err
	}
	keeperDone := false
	defer func() {
		// After a failure too, so that the leak check sees what the
		// failure left, not the keeper.
		if !keeperDone {
			_ = s.must(context.WithoutCancel(ctx), "delete", "--force", keeper)
		}
	}()
	events, err := s.startEvents(keeper)
	if err != nil {
		return err
	}
	defer func() {
		_ = events.Process.Kill()
		_ = events.Wait()
	}()
	// Its first ticks open what it keeps (the OOM watch, the cgroup files).
	time.Sleep(time.Second)
	before := map[string]int{
		"keeper init": minFDs(keeperPid),
		"husk events": minFDs(events.Process.Pid),
	}

	phases := []struct {
		name string
		run  func(context.Context, string) error
	}{
		{"lifecycles", s.lifecycles},
		{"bursts", s.bursts},
		{"race", s.race},
	}
	for _, ph := range phases {
		t := time.Now()
		if err := ph.run(ctx, keeper); err != nil {
			return fmt.Errorf("%s: %w", ph.name, err)
		}
		fmt.Printf("stress: %s done in %v\n", ph.name, time.Since(t).Round(time.Millisecond))
	}

	// exec after all of it still works, and left nothing in the keeper.
	if err := s.must(ctx, "exec", keeper, "true"); err != nil {
		return err
	}
	after := map[string]int{
		"keeper init": minFDs(keeperPid),
		"husk events": minFDs(events.Process.Pid),
	}
	for _, name := range slices.Sorted(maps.Keys(before)) {
		fmt.Printf("stress: fds of %s: %d at start, %d at end\n", name, before[name], after[name])
		if after[name] > before[name] {
			s.fail("leak: fds of %s grew from %d to %d", name, before[name], after[name])
		}
	}
	keeperDone = true
	if err := s.must(ctx, "delete", "--force", keeper); err != nil {
		return err
	}
	if err := events.Wait(); err != nil {
		// events ends by itself once its container is gone.
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return fmt.Errorf("husk events: %w", err)
		}
	}
	self1 := minFDs(os.Getpid())
	fmt.Printf("stress: fds of the driver: %d at start, %d at end\n", self0, self1)
	if self1 > self0 {
		s.fail("leak: the driver's own fds grew from %d to %d (husk's children kept some?)", self0, self1)
	}
	return nil
}

// setup makes the rootfs and the config template.
func (s *stress) setup(ctx context.Context) error {
	s.root = filepath.Join(s.dir, "root")
	s.rootfs = filepath.Join(s.dir, "rootfs")
	for _, d := range []string{s.root, filepath.Join(s.rootfs, "bin"), filepath.Join(s.dir, "bundles"), filepath.Join(s.dir, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(s.cfg.busybox)
	if err != nil {
		return fmt.Errorf("busybox: %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.rootfs, "bin", "busybox"), data, 0o755); err != nil {
		return err
	}
	for _, cmd := range []string{"sh", "true", "sleep"} {
		if err := os.Symlink("busybox", filepath.Join(s.rootfs, "bin", cmd)); err != nil {
			return err
		}
	}
	tmpl := filepath.Join(s.dir, "template")
	if err := os.Mkdir(tmpl, 0o755); err != nil {
		return err
	}
	if _, err := s.husk(ctx, "spec", "--bundle", tmpl); err != nil {
		return err
	}
	data, err = os.ReadFile(filepath.Join(tmpl, "config.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, &s.template); err != nil {
		return fmt.Errorf("husk spec's config: %w", err)
	}
	return nil
}

func (s *stress) newID(kind string) string {
	return fmt.Sprintf("stress-%s-%s-%d", s.tag, kind, s.seq.Add(1))
}

// bundle writes the bundle of one container: the shared rootfs, its own
// cgroup below the run's parent, and the command ("true" exits at once,
// "sleep" runs until killed).
func (s *stress) bundle(id, command string) (string, error) {
	spec := s.template
	proc := *spec.Process
	proc.Terminal = false
	proc.Args = []string{"true"}
	if command == "sleep" {
		proc.Args = []string{"sleep", "3600"}
	}
	spec.Process = &proc
	root := *spec.Root
	root.Path = s.rootfs
	spec.Root = &root
	linux := *spec.Linux
	linux.CgroupsPath = s.cgParent + "/" + id
	spec.Linux = &linux
	data, err := json.Marshal(&spec)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(s.dir, "bundles", id)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644)
}

// result is one finished husk command.
type result struct {
	args []string
	code int // -1: did not run to an exit (timeout, signal)
	out  string
	err  error
}

func (r *result) String() string {
	return fmt.Sprintf("husk %s: exit %d: %s", strings.Join(r.args, " "), r.code, oneLine(r.out))
}

// husk runs one husk command under its own timeout. Its output goes to an
// unlinked file, not a pipe: a container's init inherits create's stdio
// and would hold a pipe open long after husk exits.
func (s *stress) husk(ctx context.Context, args ...string) (*result, error) {
	r := s.huskResult(ctx, args...)
	if r.err != nil {
		return r, fmt.Errorf("%s (%v)", r, r.err)
	}
	if r.code != 0 {
		return r, errors.New(r.String())
	}
	if strings.Contains(r.out, "panic:") {
		return r, fmt.Errorf("%s: husk panicked", r)
	}
	return r, nil
}

func (s *stress) huskResult(ctx context.Context, args ...string) *result {
	r := &result{args: args, code: -1}
	out, err := os.CreateTemp(filepath.Join(s.dir, "logs"), "out-")
	if err != nil {
		r.err = err
		return r
	}
	defer out.Close()
	_ = os.Remove(out.Name())
	cctx, cancel := context.WithTimeout(ctx, s.cfg.timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, s.cfg.husk, append([]string{"--root", s.root}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	err = cmd.Run()
	if _, serr := out.Seek(0, io.SeekStart); serr == nil {
		data, _ := io.ReadAll(io.LimitReader(out, 64<<10))
		r.out = string(data)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		r.code = 0
	case cctx.Err() != nil:
		r.err = fmt.Errorf("timed out after %v", s.cfg.timeout)
		if ctx.Err() != nil {
			r.err = ctx.Err()
		}
	case errors.As(err, &ee) && ee.Exited():
		r.code = ee.ExitCode()
	default:
		r.err = err
	}
	return r
}

func (s *stress) must(ctx context.Context, args ...string) error {
	_, err := s.husk(ctx, args...)
	return err
}

func (s *stress) createStart(ctx context.Context, id, command string) error {
	dir, err := s.bundle(id, command)
	if err != nil {
		return err
	}
	if err := s.must(ctx, "create", "--bundle", dir, id); err != nil {
		return err
	}
	return s.must(ctx, "start", id)
}

// status returns the container's status from `husk state`.
func (s *stress) state(ctx context.Context, id string) (*specs.State, error) {
	r, err := s.husk(ctx, "state", id)
	if err != nil {
		return nil, err
	}
	var st specs.State
	if err := json.Unmarshal([]byte(r.out), &st); err != nil {
		return nil, fmt.Errorf("husk state %s: %w: %s", id, err, oneLine(r.out))
	}
	return &st, nil
}

func (s *stress) pid(ctx context.Context, id string) (int, error) {
	st, err := s.state(ctx, id)
	if err != nil {
		return 0, err
	}
	if st.Pid <= 0 {
		return 0, fmt.Errorf("husk state %s: no pid while %s", id, st.Status)
	}
	return st.Pid, nil
}

// waitStopped polls `husk state` until the container has stopped: its init
// is not husk's child, so there is nothing to wait4 on.
func (s *stress) waitStopped(ctx context.Context, id string) error {
	deadline := time.Now().Add(s.cfg.timeout)
	for {
		st, err := s.state(ctx, id)
		if err != nil {
			return err
		}
		if st.Status == specs.StateStopped {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s still %s after %v", id, st.Status, s.cfg.timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (s *stress) removeBundle(id string) {
	_ = os.RemoveAll(filepath.Join(s.dir, "bundles", id))
}

// lifecycles runs create, start, wait and delete N times in a row, with an
// exec into the keeper now and then.
func (s *stress) lifecycles(ctx context.Context, keeper string) error {
	var times []time.Duration
	for i := 0; i < s.cfg.n; i++ {
		id := s.newID("seq")
		t := time.Now()
		if err := s.createStart(ctx, id, "true"); err != nil {
			return err
		}
		if err := s.waitStopped(ctx, id); err != nil {
			return err
		}
		if err := s.must(ctx, "delete", id); err != nil {
			return err
		}
		times = append(times, time.Since(t))
		s.removeBundle(id)
		if (i+1)%100 == 0 {
			if err := s.must(ctx, "exec", keeper, "true"); err != nil {
				return err
			}
			fmt.Printf("stress: %d/%d lifecycles\n", i+1, s.cfg.n)
		}
	}
	if len(times) > 0 {
		fmt.Printf("stress: lifecycle (create, start, wait, delete): %s\n", quantiles(times))
	}
	return nil
}

// parallel runs f for every id at once and returns the first error.
func parallel(ids []string, f func(string) error) error {
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() { errs[i] = f(id) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// bursts creates P containers at once, starts them at once, and deletes
// them (running) at once with --force.
func (s *stress) bursts(ctx context.Context, _ string) error {
	for b := 0; b < s.cfg.bursts; b++ {
		ids := make([]string, s.cfg.p)
		for i := range ids {
			ids[i] = s.newID(fmt.Sprintf("burst%d", b))
		}
		step := func(name string, f func(string) error) error {
			t := time.Now()
			err := parallel(ids, f)
			fmt.Printf("stress: burst %d: %d × %s in %v\n", b+1, len(ids), name, time.Since(t).Round(time.Millisecond))
			return err
		}
		if err := step("create", func(id string) error {
			dir, err := s.bundle(id, "sleep")
			if err != nil {
				return err
			}
			return s.must(ctx, "create", "--bundle", dir, id)
		}); err != nil {
			return err
		}
		if err := step("start", func(id string) error { return s.must(ctx, "start", id) }); err != nil {
			return err
		}
		r, err := s.husk(ctx, "list", "--quiet")
		if err != nil {
			return err
		}
		listed := strings.Fields(r.out)
		for _, id := range ids {
			if !slices.Contains(listed, id) {
				return fmt.Errorf("burst %d: %s is not listed after start", b+1, id)
			}
		}
		if err := step("delete --force", func(id string) error { return s.must(ctx, "delete", "--force", id) }); err != nil {
			return err
		}
		for _, id := range ids {
			if err := s.gone(ctx, id); err != nil {
				return err
			}
			s.removeBundle(id)
		}
	}
	return nil
}

// gone checks that husk no longer knows the container.
func (s *stress) gone(ctx context.Context, id string) error {
	r := s.huskResult(ctx, "state", id)
	if r.err != nil {
		return fmt.Errorf("%s (%v)", r, r.err)
	}
	if r.code == 0 || !strings.Contains(r.out, "does not exist") {
		return fmt.Errorf("%s: still there after delete", r)
	}
	return nil
}

// raceExpected tells a racer's failure that only means delete --force got
// there first from one that is a bug. exec's process dies with the
// container: a signal exit without a word from husk is the delete's kill.
// An exec whose stage could not start because the container went under it
// must say so: any other message is a failure without its cause.
func raceExpected(r *result) (string, bool) {
	switch {
	case r.err != nil || strings.Contains(r.out, "panic:"):
		return "", false
	case r.code == 0:
		return "ok", true
	case strings.Contains(r.out, "does not exist"):
		return "does not exist", true
	case strings.Contains(r.out, "container not running"):
		return "not running", true
	case strings.Contains(r.out, "cannot exec in a stopped container"):
		return "stopped", true
	case strings.Contains(r.out, "the container stopped while the process was starting"):
		return "stopped while starting", true
	case r.args[0] == "exec" && r.code > 128 && strings.TrimSpace(r.out) == "":
		return "process killed", true
	}
	return "", false
}

// race starts containers, then runs state, kill and exec in a loop on each
// while delete --force removes it.
func (s *stress) race(ctx context.Context, _ string) error {
	for round := 0; round < s.cfg.raceRounds; round++ {
		ids := make([]string, s.cfg.race)
		for i := range ids {
			ids[i] = s.newID(fmt.Sprintf("race%d", round))
		}
		if err := parallel(ids, func(id string) error { return s.createStart(ctx, id, "sleep") }); err != nil {
			return err
		}
		err := parallel(ids, func(id string) error {
			var wg sync.WaitGroup
			var deleted atomic.Bool
			errs := make(chan error, 4)
			for _, args := range [][]string{{"state", id}, {"kill", id, "CONT"}, {"exec", id, "true"}} {
				wg.Go(func() {
					// Until the racer sees the container gone, and a few
					// times after the delete returned.
					for i, after := 0, 0; i < 200 && after < 3; i++ {
						r := s.huskResult(ctx, args...)
						kind, ok := raceExpected(r)
						if !ok {
							errs <- fmt.Errorf("racing delete --force: %s", r)
							return
						}
						s.mu.Lock()
						s.raced[args[0]+": "+kind]++
						s.mu.Unlock()
						if deleted.Load() {
							after++
						}
						if kind == "does not exist" {
							return
						}
					}
				})
			}
			wg.Go(func() {
				time.Sleep(time.Duration(mrand.IntN(7)) * 30 * time.Millisecond)
				err := s.must(ctx, "delete", "--force", id)
				deleted.Store(true)
				if err != nil {
					errs <- err
				}
			})
			wg.Wait()
			close(errs)
			var all []error
			for err := range errs {
				all = append(all, err)
			}
			if len(all) == 0 {
				all = append(all, s.gone(ctx, id))
			}
			s.removeBundle(id)
			return errors.Join(all...)
		})
		if err != nil {
			return err
		}
	}
	var kinds []string
	for _, k := range slices.Sorted(maps.Keys(s.raced)) {
		kinds = append(kinds, fmt.Sprintf("%s ×%d", k, s.raced[k]))
	}
	fmt.Printf("stress: race outcomes: %s\n", strings.Join(kinds, ", "))
	return nil
}

// startEvents starts `husk events` on the keeper, our long-lived husk.
func (s *stress) startEvents(id string) (*exec.Cmd, error) {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer devNull.Close()
	cmd := exec.Command(s.cfg.husk, "--root", s.root, "events", "--interval", "100ms", id)
	cmd.Stdout, cmd.Stderr = devNull, devNull
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("husk events: %w", err)
	}
	return cmd, nil
}

// leaks lists what the run left: its containers and state directories,
// cgroups below its parent, mounts and processes in its directory.
func (s *stress) leaks() []string {
	var out []string
	ctx, cancel := context.WithTimeout(context.Background(), 2*s.cfg.timeout)
	defer cancel()
	if r := s.huskResult(ctx, "list", "--quiet"); r.code != 0 {
		out = append(out, fmt.Sprintf("list failed: %s", r))
	} else if ids := strings.Fields(r.out); len(ids) > 0 {
		out = append(out, fmt.Sprintf("containers still listed: %s", strings.Join(ids, " ")))
	}
	if entries, err := os.ReadDir(s.root); err != nil {
		out = append(out, fmt.Sprintf("state root: %v", err))
	} else {
		for _, e := range entries {
			out = append(out, fmt.Sprintf("state root entry %s", filepath.Join(s.root, e.Name())))
		}
	}
	for _, d := range s.cgroupDirs() {
		out = append(out, fmt.Sprintf("cgroup %s (container %s)", d, filepath.Base(d)))
	}
	for _, m := range s.mounts() {
		out = append(out, fmt.Sprintf("mount on %s", m))
	}
	for _, p := range s.processes() {
		out = append(out, fmt.Sprintf("process %s", p))
	}
	return out
}

// cgroupMounts lists the mount points of every cgroup and cgroup2 mount.
func cgroupMounts() []string {
	var out []string
	for _, m := range mountinfo() {
		if m.fstype == "cgroup" || m.fstype == "cgroup2" {
			out = append(out, m.point)
		}
	}
	return out
}

// cgroupDirs lists the cgroups below the run's parent, deepest first.
func (s *stress) cgroupDirs() []string {
	var out []string
	for _, mnt := range cgroupMounts() {
		parent := filepath.Join(mnt, s.cgParent)
		_ = filepath.WalkDir(parent, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() && p != parent {
				out = append(out, p)
			}
			return nil
		})
	}
	sort.Slice(out, func(i, j int) bool { return strings.Count(out[i], "/") > strings.Count(out[j], "/") })
	return out
}

type mount struct{ point, fstype string }

func mountinfo() []mount {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []mount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root point options [optional...] - fstype ...
		fields := strings.Fields(sc.Text())
		sep := slices.Index(fields, "-")
		if len(fields) < 5 || sep < 0 || sep+1 >= len(fields) {
			continue
		}
		out = append(out, mount{point: unescapeMount(fields[4]), fstype: fields[sep+1]})
	}
	return out
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mounts lists mounts in the run's directory, deepest first.
func (s *stress) mounts() []string {
	var out []string
	for _, m := range mountinfo() {
		if within(m.point, s.dir) {
			out = append(out, m.point)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

func within(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// processes lists processes whose root or cwd is in the run's directory:
// containers' processes and husk's stages, all started by this run.
func (s *stress) processes() []string {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []string{fmt.Sprintf("read /proc: %v", err)}
	}
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		for _, link := range []string{"root", "cwd"} {
			target, err := os.Readlink(fmt.Sprintf("/proc/%d/%s", pid, link))
			if err == nil && within(target, s.dir) {
				comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
				out = append(out, fmt.Sprintf("%d (%s), %s %s", pid, strings.TrimSpace(string(comm)), link, target))
				break
			}
		}
	}
	return out
}

func pidsOf(lines []string) []int {
	var out []int
	for _, l := range lines {
		if pid, err := strconv.Atoi(strings.Fields(l)[0]); err == nil {
			out = append(out, pid)
		}
	}
	return out
}

// cleanup removes whatever the run made, failed or not: its containers, the
// processes in its directory, its mounts and cgroups, the directory.
func (s *stress) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*s.cfg.timeout)
	defer cancel()
	if entries, err := os.ReadDir(s.root); err == nil {
		for _, e := range entries {
			if r := s.huskResult(ctx, "delete", "--force", e.Name()); r.code != 0 {
				fmt.Fprintf(os.Stderr, "stress: cleanup: %s\n", r)
			}
		}
	}
	for _, pid := range pidsOf(s.processes()) {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	for _, m := range s.mounts() {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			fmt.Fprintf(os.Stderr, "stress: cleanup: unmount %s: %v\n", m, err)
		}
	}
	dirs := s.cgroupDirs()
	for _, mnt := range cgroupMounts() {
		if p := filepath.Join(mnt, s.cgParent); isDir(p) {
			dirs = append(dirs, p)
		}
	}
	for _, d := range dirs {
		// A cgroup whose last process was just killed stays busy a moment.
		var err error
		for range 50 {
			if err = unix.Rmdir(d); err == nil || errors.Is(err, unix.ENOENT) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil && !errors.Is(err, unix.ENOENT) {
			fmt.Fprintf(os.Stderr, "stress: cleanup: rmdir %s: %v\n", d, err)
		}
	}
	if s.cfg.keep {
		fmt.Printf("stress: kept %s\n", s.dir)
		return
	}
	if err := os.RemoveAll(s.dir); err != nil {
		fmt.Fprintf(os.Stderr, "stress: cleanup: %v\n", err)
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func fdCount(pid int) int {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return -1
	}
	return len(entries)
}

// minFDs samples a process's fd count a few times: a file read at the
// moment of one sample is not growth.
func minFDs(pid int) int {
	n := fdCount(pid)
	for range 4 {
		time.Sleep(50 * time.Millisecond)
		n = min(n, fdCount(pid))
	}
	return n
}

func quantiles(d []time.Duration) string {
	s := slices.Clone(d)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[int(p*float64(len(s)-1))].Round(100 * time.Microsecond) }
	return fmt.Sprintf("n=%d median %v, p90 %v, p99 %v, max %v", len(s), q(0.5), q(0.9), q(0.99), s[len(s)-1].Round(100*time.Microsecond))
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\n", " | ")
	if len(s) > 600 {
		s = s[:600] + "..."
	}
	return s
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			fatalf("%s=%q: %v", name, v, err)
		}
		return n
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v := os.Getenv(name); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			fatalf("%s=%q: %v", name, v, err)
		}
		return d
	}
	return def
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "stress: "+format+"\n", args...)
	os.Exit(1)
}
