// Command bench compares the cost of husk with other OCI runtimes (runc,
// and crun when it works on this host) on one small busybox bundle, side
// by side in one run, alternating the runtimes on every iteration:
//
//	lifecycle:        create -> start -> wait for the container to exit -> delete
//	run:              run (foreground, returns when the container exits)
//	run+seccomp:      run with podman's default seccomp profile (-seccomp),
//	                  each beside a plain run, in turn before and after
//	                  it: the filter's cost is the median of the pairs'
//	                  differences, over 3 x n pairs and at least 200
//	                  (-seccomp-n); beside it, what seccomp(2) alone takes
//	                  in a fresh process, for that program and for a
//	                  filter of one instruction
//	exec:             exec /bin/true into a running container
//	state:            state of that running container (what podman asks
//	                  each time it syncs a container)
//	parallel creates: -parallel creates at once (wall, peak memory)
//	... (busy):       lifecycle and run again while a spinning process
//	                  per CPU keeps the machine busy (-busy)
//
// Each iteration's wall time and CPU time (user+system of the runtime's
// processes and the container's, from rusage) are kept; the report gives
// medians, p90, the start-up of each husk process and issue 15's targets,
// met or not; -json writes it all to a file.
//
// The bench makes itself a child subreaper, so a container's init process,
// once orphaned by `create`, is re-parented to it and can be waited for
// directly with wait4 (and its CPU counted) instead of polling `state`.
//
// Usage (as root): go run ./contrib/bench -husk ./husk [-n 50]
// contrib/bench/bench.sh (make bench) builds husk and runs this.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
)

const prSetChildSubreaper = 36

// scenario is one timed thing, done once per iteration and runtime.
type scenario struct {
	name   string
	rounds int // iterations (the parallel one does fewer)
	fn     func(*runtime) (sample, error)
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
	seccompN := flag.Int("seccomp-n", 0, "pairs of runs with and without the profile per runtime (default 3 x n, at least 200: the filter's cost is the difference of two times that vary more than it)")
	parallel := flag.Int("parallel", 100, "creates at once in the parallel scenario (0 to skip)")
	parallelRounds := flag.Int("parallel-rounds", 3, "rounds of the parallel scenario")
	busy := flag.Bool("busy", true, "also time lifecycle and run with every CPU kept busy")
	jsonOut := flag.String("json", "", "write the results as JSON to this file")
	burnFlag := flag.Bool("burn", false, "(internal) spin until killed: a busy-machine burner")
	loadFile := flag.String("seccomp-load", "", "(internal) time seccomp(2) of the program in this file")
	loadFlags := flag.Uint("seccomp-flags", 0, "(internal) the SECCOMP_FILTER_FLAG_* bits for -seccomp-load")
	flag.Parse()

	if *burnFlag {
		burn()
	}
	if *loadFile != "" {
		loadFilter(*loadFile, *loadFlags)
	}
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
	sleeper := filepath.Join(tmp, "bundle-sleep")
	if err := sleepBundle(bundle, sleeper); err != nil {
		fatalf("making the exec bundle: %v", err)
	}

	res := newResults()
	fmt.Printf("bench: %d iterations (+%d warm-up) per runtime and scenario, bundle %s\n", *n, *warmup, bundle)
	for _, rt := range rts {
		if err := evictPageCache(rt.bin); err != nil {
			fmt.Printf("note: %v: its page cache stays as it is\n", err)
		}
		res.versions[rt.name] = version(rt.bin)
		fmt.Printf("  %-5s %s  (%s)\n", rt.name, rt.bin, res.versions[rt.name])
	}

	// Make sure every runtime can run the bundle at all; drop the ones that
	// cannot (crun 1.8 refuses hybrid cgroup hosts, for example), but husk
	// and runc failing is an error.
	var usable []*runtime
	for _, rt := range rts {
		if _, err := runOnce(rt, bundle); err != nil {
			if rt.name == "crun" {
				fmt.Printf("note: skipping crun, it cannot run the bundle on this host: %v\n", err)
				delete(res.versions, rt.name)
				continue
			}
			fatalf("%s cannot run the bundle: %v", rt.name, err)
		}
		usable = append(usable, rt)
	}
	rts = usable

	scenarios := []scenario{
		{"lifecycle", *n, func(rt *runtime) (sample, error) { return lifecycle(rt, bundle) }},
		{"run", *n, func(rt *runtime) (sample, error) { return runOnce(rt, bundle) }},
	}
	// run with a seccomp profile: its difference from run is what the
	// filter costs a container.
	if *profile != "" {
		filtered := filepath.Join(tmp, "bundle-seccomp")
		if err := seccompBundle(bundle, filtered, *profile); err != nil {
			fatalf("making the seccomp bundle: %v", err)
		}
		filteredFirst := map[*runtime]bool{}
		pairs := *seccompN
		if pairs <= 0 {
			// 60 pairs gave husk's filter 0.11 to 1.05 ms in CI runs of
			// one binary, each pair a difference of two runs that vary
			// by milliseconds.
			pairs = max(3**n, 200)
		}
		scenarios = append(scenarios, scenario{"run+seccomp", pairs, func(rt *runtime) (sample, error) {
			filteredFirst[rt] = !filteredFirst[rt]
			return runSeccomp(rt, bundle, filtered, filteredFirst[rt])
		}})
	}
	for _, sc := range scenarios {
		measure(res, rts, sc, *warmup)
	}
	if *profile != "" {
		self, err := os.Executable()
		if err == nil {
			res.seccompKernel, err = measureKernelLoad(self, *profile, tmp, 100)
		}
		if err != nil {
			fatalf("timing the kernel's load of the filter: %v", err)
		}
	}

	targets := map[string]string{}
	for _, rt := range rts {
		id, stop, err := execTarget(rt, sleeper)
		if err != nil {
			fatalf("%s: start the container to exec into: %v", rt.name, err)
		}
		defer stop()
		targets[rt.name] = id
	}
	measure(res, rts, scenario{"exec", *n, func(rt *runtime) (sample, error) { return execOnce(rt, targets[rt.name]) }}, *warmup)
	measure(res, rts, scenario{"state", *n, func(rt *runtime) (sample, error) { return stateOnce(rt, targets[rt.name]) }}, *warmup)

	if *parallel > 0 {
		measure(res, rts, scenario{"parallel creates", *parallelRounds, func(rt *runtime) (sample, error) {
			return parallelCreates(rt, bundle, *parallel)
		}}, 0)
	}

	if *busy {
		stop, err := startBurners()
		if err != nil {
			fatalf("%v", err)
		}
		for _, sc := range scenarios[:2] {
			sc.name += " (busy)"
			measure(res, rts, sc, *warmup)
		}
		stop()
	}

	for _, rt := range rts {
		res.startup[rt.name] = versionWall(rt, *n)
	}
	if res.husk, err = huskStartup(rts[0], bundle, sleeper, min(*n, 10)); err != nil {
		fatalf("husk start-up trace: %v", err)
	}

	res.print()
	if *jsonOut != "" {
		if err := res.writeJSON(*jsonOut); err != nil {
			fatalf("write %s: %v", *jsonOut, err)
		}
		fmt.Printf("results written to %s\n", *jsonOut)
	}
}

// measure runs sc on every runtime, alternating them, and adds the series.
func measure(res *results, rts []*runtime, sc scenario, warmup int) {
	byRT := map[string]*series{}
	for _, rt := range rts {
		s := &series{rt: rt.name}
		byRT[rt.name] = s
		res.series[sc.name] = append(res.series[sc.name], s)
	}
	res.order = append(res.order, sc.name)
	for i := -warmup; i < sc.rounds; i++ {
		// Rotate the order so no runtime always goes first.
		for j := range rts {
			rt := rts[(j+max(i, 0))%len(rts)]
			smp, err := timed(func() (sample, error) { return sc.fn(rt) })
			if err != nil {
				fatalf("%s %s iteration %d: %v", rt.name, sc.name, i, err)
			}
			if i >= 0 {
				byRT[rt.name].samples = append(byRT[rt.name].samples, smp)
			}
		}
	}
}

func setSubreaper() error {
	_, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0)
	if e != 0 {
		return e
	}
	return nil
}

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
