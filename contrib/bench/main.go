// Command bench compares the start-up cost of husk with other OCI runtimes
// (runc, and crun when it works on this host) on one small busybox bundle.
//
// Three scenarios are timed, alternating the runtimes on every iteration:
//
//	lifecycle:   create -> start -> wait for the container to exit -> delete
//	run:         run (foreground, returns when the container exits)
//	run+seccomp: run with podman's default seccomp profile (-seccomp)
//
// The bench makes itself a child subreaper, so a container's init process,
// once orphaned by `create`, is re-parented to it and can be waited for
// directly with wait4 instead of polling `state`.
//
// Usage (as root): go run ./contrib/bench -husk ./husk [-n 50]
// contrib/bench/bench.sh (make bench) builds husk and runs this.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

const prSetChildSubreaper = 36

type runtime struct {
	name string
	bin  string
	root string
	seq  int
}

// sample is one timed iteration of one scenario.
type sample struct {
	total  time.Duration
	phases map[string]time.Duration
	cliRSS int64 // largest max RSS (KiB) among the runtime CLI processes
	create int64 // max RSS (KiB) of the create process (lifecycle only)
	initRS int64 // max RSS (KiB) of the container init process, if known
}

type series struct {
	rt      string
	samples []sample
}

func main() {
	n := flag.Int("n", envInt("BENCH_N", 50), "iterations per runtime and scenario (env BENCH_N)")
	huskBin := flag.String("husk", "./husk", "husk binary")
	runcBin := flag.String("runc", "/usr/sbin/runc", "runc binary (empty to skip)")
	crunBin := flag.String("crun", "auto", "crun binary, 'auto' to look on PATH, empty to skip")
	busybox := flag.String("busybox", "/bin/busybox", "static busybox for the rootfs")
	warmup := flag.Int("warmup", 2, "untimed iterations per runtime before measuring")
	keep := flag.Bool("keep", false, "keep the temporary directory")
	profile := flag.String("seccomp", "libcontainer/seccomp/testdata/podman-default.json", "OCI seccomp profile for the run+seccomp scenario (podman's default; empty to skip)")
	flag.Parse()

	if os.Geteuid() != 0 {
		fatalf("must run as root")
	}
	if *n < 1 {
		fatalf("-n must be at least 1")
	}
	if err := setSubreaper(); err != nil {
		fatalf("PR_SET_CHILD_SUBREAPER: %v", err)
	}

	tmp, err := os.MkdirTemp("", "husk-bench.")
	if err != nil {
		fatalf("%v", err)
	}
	if *keep {
		fmt.Printf("keeping %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	hb, err := filepath.Abs(*huskBin)
	if err != nil {
		fatalf("%v", err)
	}
	rts := []*runtime{{name: "husk", bin: hb}}
	if *runcBin != "" {
		if _, err := os.Stat(*runcBin); err != nil {
			fmt.Printf("note: runc not found at %s, skipping it\n", *runcBin)
		} else {
			rts = append(rts, &runtime{name: "runc", bin: *runcBin})
		}
	}
	if c := *crunBin; c != "" {
		if c == "auto" {
			c, _ = exec.LookPath("crun")
		}
		if c != "" {
			rts = append(rts, &runtime{name: "crun", bin: c})
		}
	}
	for _, rt := range rts {
		rt.root = filepath.Join(tmp, "state-"+rt.name)
	}

	bundle := filepath.Join(tmp, "bundle")
	if err := makeBundle(bundle, *busybox, rts); err != nil {
		fatalf("making bundle: %v", err)
	}

	fmt.Printf("bench: %d iterations (+%d warm-up) per runtime and scenario, bundle %s\n", *n, *warmup, bundle)
	for _, rt := range rts {
		fmt.Printf("  %-5s %s  (%s)\n", rt.name, rt.bin, version(rt.bin))
	}

	// Make sure every runtime can run the bundle at all; drop the ones that
	// cannot (crun 1.8 refuses hybrid cgroup hosts, for example), but husk
	// and runc failing is an error.
	var usable []*runtime
	for _, rt := range rts {
		if _, err := runOnce(rt, bundle); err != nil {
			if rt.name == "crun" {
				fmt.Printf("note: skipping crun, it cannot run the bundle on this host: %v\n", err)
				continue
			}
			fatalf("%s cannot run the bundle: %v", rt.name, err)
		}
		usable = append(usable, rt)
	}
	rts = usable

	scenarios := []struct {
		name string
		fn   func(*runtime, string) (sample, error)
	}{
		{"lifecycle", lifecycle},
		{"run", runOnce},
	}
	order := []string{"lifecycle", "run"}
	// run with a seccomp profile: its difference from run is what the
	// filter costs a container.
	if *profile != "" {
		filtered := filepath.Join(tmp, "bundle-seccomp")
		if err := seccompBundle(bundle, filtered, *profile); err != nil {
			fatalf("making the seccomp bundle: %v", err)
		}
		scenarios = append(scenarios, struct {
			name string
			fn   func(*runtime, string) (sample, error)
		}{"run+seccomp", func(rt *runtime, _ string) (sample, error) { return runOnce(rt, filtered) }})
		order = append(order, "run+seccomp")
	}

	results := map[string][]*series{}
	for _, sc := range scenarios {
		byRT := map[string]*series{}
		for _, rt := range rts {
			s := &series{rt: rt.name}
			byRT[rt.name] = s
			results[sc.name] = append(results[sc.name], s)
		}
		for i := -*warmup; i < *n; i++ {
			// Rotate the order so no runtime always goes first.
			for j := range rts {
				rt := rts[(j+max(i, 0))%len(rts)]
				smp, err := sc.fn(rt, bundle)
				if err != nil {
					fatalf("%s %s iteration %d: %v", rt.name, sc.name, i, err)
				}
				if i >= 0 {
					byRT[rt.name].samples = append(byRT[rt.name].samples, smp)
				}
			}
		}
	}

	report(results, order)
}

// seccompBundle makes a bundle beside the plain one, on the same rootfs,
// whose config adds the seccomp profile in profile.
func seccompBundle(plain, dir, profile string) error {
	raw, err := os.ReadFile(profile)
	if err != nil {
		return err
	}
	var sc any
	if err := json.Unmarshal(raw, &sc); err != nil {
		return fmt.Errorf("%s: %w", profile, err)
	}
	raw, err = os.ReadFile(filepath.Join(plain, "config.json"))
	if err != nil {
		return err
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	linux, ok := cfg["linux"].(map[string]any)
	if !ok {
		return errors.New("config.json has no linux object")
	}
	linux["seccomp"] = sc
	cfg["root"] = map[string]any{"path": filepath.Join(plain, "rootfs")}
	if raw, err = json.MarshalIndent(cfg, "", "\t"); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644)
}

// lifecycle: create, start, wait for exit, delete.
func lifecycle(rt *runtime, bundle string) (sample, error) {
	id := rt.nextID("lc")
	pidFile := filepath.Join(filepath.Dir(rt.root), id+".pid")
	defer os.Remove(pidFile)
	s := sample{phases: map[string]time.Duration{}}

	t0 := time.Now()
	ru, err := rt.cmd("create", "--bundle", bundle, "--pid-file", pidFile, id)
	if err != nil {
		return s, err
	}
	t1 := time.Now()
	s.cliRSS = max(s.cliRSS, ru.Maxrss)
	s.create = ru.Maxrss

	pid, err := readPid(pidFile)
	if err != nil {
		rt.cleanup(id)
		return s, err
	}
	ru, err = rt.cmd("start", id)
	if err != nil {
		rt.cleanup(id)
		return s, err
	}
	t2 := time.Now()
	s.cliRSS = max(s.cliRSS, ru.Maxrss)

	initRU, err := waitExit(rt, id, pid)
	if err != nil {
		rt.cleanup(id)
		return s, err
	}
	t3 := time.Now()
	if initRU != nil {
		s.initRS = initRU.Maxrss
	}

	ru, err = rt.cmd("delete", id)
	if err != nil {
		rt.cleanup(id)
		return s, err
	}
	t4 := time.Now()
	s.cliRSS = max(s.cliRSS, ru.Maxrss)

	s.phases["create"] = t1.Sub(t0)
	s.phases["start"] = t2.Sub(t1)
	s.phases["wait"] = t3.Sub(t2)
	s.phases["delete"] = t4.Sub(t3)
	s.total = t4.Sub(t0)
	return s, nil
}

// runOnce: one foreground run; the container is removed by run itself.
func runOnce(rt *runtime, bundle string) (sample, error) {
	id := rt.nextID("run")
	t0 := time.Now()
	ru, err := rt.cmd("run", "--bundle", bundle, id)
	d := time.Since(t0)
	if err != nil {
		rt.cleanup(id)
		return sample{}, err
	}
	// run deletes the container on exit unless --keep; make sure, untimed.
	if _, err := os.Stat(filepath.Join(rt.root, id)); err == nil {
		rt.cleanup(id)
	}
	return sample{total: d, cliRSS: ru.Maxrss}, nil
}

// waitExit waits for the container's init process. It is normally our child
// (we are a subreaper); if not, it falls back to polling `state`.
func waitExit(rt *runtime, id string, pid int) (*syscall.Rusage, error) {
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	for {
		_, err := syscall.Wait4(pid, &ws, 0, &ru)
		if err == nil {
			return &ru, nil
		}
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if !errors.Is(err, syscall.ECHILD) {
			return nil, fmt.Errorf("wait4(%d): %w", pid, err)
		}
		break
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		out, err := exec.Command(rt.bin, "--root", rt.root, "state", id).Output()
		if err != nil {
			return nil, fmt.Errorf("state: %w", err)
		}
		var st struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(out, &st); err != nil {
			return nil, fmt.Errorf("state output: %w", err)
		}
		if st.Status == "stopped" {
			return nil, nil
		}
		time.Sleep(time.Millisecond)
	}
	return nil, fmt.Errorf("container %s did not stop", id)
}

func (rt *runtime) nextID(kind string) string {
	rt.seq++
	return fmt.Sprintf("bench-%s-%d-%s-%d", rt.name, os.Getpid(), kind, rt.seq)
}

// cmd runs one runtime command with stdio on /dev/null (stderr to a file, so
// nothing waits on a pipe the container may hold) and returns its rusage.
func (rt *runtime) cmd(args ...string) (*syscall.Rusage, error) {
	errf, err := os.CreateTemp(filepath.Dir(rt.root), "stderr.")
	if err != nil {
		return nil, err
	}
	defer os.Remove(errf.Name())
	defer errf.Close()

	c := exec.Command(rt.bin, append([]string{"--root", rt.root}, args...)...)
	c.Stderr = errf
	err = c.Run()
	var ru *syscall.Rusage
	if c.ProcessState != nil {
		ru, _ = c.ProcessState.SysUsage().(*syscall.Rusage)
	}
	if ru == nil {
		ru = &syscall.Rusage{}
	}
	if err != nil {
		msg, _ := os.ReadFile(errf.Name())
		return ru, fmt.Errorf("%s %s: %v: %s", rt.name, strings.Join(args, " "), err, strings.TrimSpace(string(msg)))
	}
	return ru, nil
}

func (rt *runtime) cleanup(id string) {
	_ = exec.Command(rt.bin, "--root", rt.root, "delete", "--force", id).Run()
}

func makeBundle(dir, busybox string, rts []*runtime) error {
	bin := filepath.Join(dir, "rootfs", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		return fmt.Errorf("%v (apt-get install busybox-static)", err)
	}
	if err := os.WriteFile(filepath.Join(bin, "busybox"), data, 0o755); err != nil {
		return err
	}
	for _, a := range []string{"true", "sh"} {
		if err := os.Symlink("busybox", filepath.Join(bin, a)); err != nil {
			return err
		}
	}
	// Let the runtimes write the default config, husk first.
	var cfgErr error
	for _, rt := range rts {
		if out, err := exec.Command(rt.bin, "spec", "--bundle", dir).CombinedOutput(); err != nil {
			cfgErr = fmt.Errorf("%s spec: %v: %s", rt.name, err, strings.TrimSpace(string(out)))
			continue
		}
		cfgErr = nil
		break
	}
	if cfgErr != nil {
		return cfgErr
	}
	path := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	proc, ok := cfg["process"].(map[string]any)
	if !ok {
		return errors.New("config.json has no process object")
	}
	proc["terminal"] = false
	proc["args"] = []string{"/bin/true"}
	raw, err = json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(path, raw, 0o644)
}

func readPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: bad content %q", path, b)
	}
	return pid, nil
}

func version(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "version unknown"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

func setSubreaper() error {
	_, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	if e != 0 {
		return e
	}
	return nil
}

func report(results map[string][]*series, order []string) {
	fmt.Println()
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "scenario\truntime\tn\tmedian\tp90\tmin\tmax RSS cli\tmax RSS init\t")
	for _, name := range order {
		for _, s := range results[name] {
			tot := totals(s.samples, "")
			var cli, ini int64
			for _, x := range s.samples {
				cli = max(cli, x.cliRSS)
				ini = max(ini, x.initRS)
			}
			initCol := "-"
			if ini > 0 {
				initCol = kib(ini)
			}
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", name, s.rt, len(tot),
				ms(pct(tot, 50)), ms(pct(tot, 90)), ms(pct(tot, 0)), kib(cli), initCol)
		}
	}
	w.Flush()

	fmt.Println()
	fmt.Println("lifecycle phases (median):")
	w = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "runtime\tcreate\tstart\twait\tdelete\tpeak RSS of create\t")
	for _, s := range results["lifecycle"] {
		var peak int64
		for _, x := range s.samples {
			peak = max(peak, x.create)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t\n", s.rt,
			ms(pct(totals(s.samples, "create"), 50)), ms(pct(totals(s.samples, "start"), 50)),
			ms(pct(totals(s.samples, "wait"), 50)), ms(pct(totals(s.samples, "delete"), 50)), kib(peak))
	}
	w.Flush()

	fmt.Println()
	for _, name := range order {
		var husk time.Duration
		for _, s := range results[name] {
			if s.rt == "husk" {
				husk = pct(totals(s.samples, ""), 50)
			}
		}
		for _, s := range results[name] {
			if s.rt == "husk" {
				continue
			}
			other := pct(totals(s.samples, ""), 50)
			if other <= 0 {
				continue
			}
			r := float64(husk) / float64(other)
			verdict := "meets"
			if r > 0.6 {
				verdict = "misses"
			}
			fmt.Printf("ratio husk/%s (median, %s): %.2f  (%s target <= 0.60)\n", s.rt, name, r, verdict)
		}
	}
	fmt.Println("max RSS: largest ru_maxrss over the runtime's CLI processes (create/start/delete, or run incl. its reaped children); init: the container process (runtime init stage + /bin/true)")
}

// totals returns the sorted durations of a phase, or of the totals for "".
func totals(ss []sample, phase string) []time.Duration {
	out := make([]time.Duration, 0, len(ss))
	for _, s := range ss {
		if phase == "" {
			out = append(out, s.total)
		} else {
			out = append(out, s.phases[phase])
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// pct returns the p-th percentile (nearest rank) of sorted durations.
func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	if p <= 0 {
		return d[0]
	}
	if p == 50 && len(d)%2 == 0 {
		return (d[len(d)/2-1] + d[len(d)/2]) / 2
	}
	rank := (p*len(d) + 99) / 100 // ceil(p/100 * n)
	return d[min(max(rank, 1), len(d))-1]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

func kib(k int64) string { return fmt.Sprintf("%.1fMiB", float64(k)/1024) }

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	os.Exit(1)
}
