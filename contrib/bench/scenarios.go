package main

import (
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sample is one timed iteration of one scenario.
type sample struct {
	total  time.Duration
	cpu    time.Duration // user+system of every process of the sample
	phases map[string]time.Duration
	cliRSS int64 // largest max RSS (KiB) among the runtime CLI processes
	create int64 // max RSS (KiB) of the create process (lifecycle only)
	initRS int64 // max RSS (KiB) of the container init process, if known
	memKiB int64 // parallel: peak memory in use above the baseline
	// run+seccomp: the filtered run came before the plain one it is
	// compared with (its phases "filter wall" and "filter cpu").
	filteredFirst bool
}

// timed runs fn as one sample, adding its CPU time unless fn did.
func timed(fn func() (sample, error)) (sample, error) {
	c0 := childrenCPU()
	s, err := fn()
	if s.cpu == 0 {
		s.cpu = childrenCPU() - c0
	}
	return s, err
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

// runSeccomp runs the plain bundle and the filtered one back to back, the
// filtered one first if filteredFirst (the caller alternates: the second
// run of a pair pays for some of the first's teardown, such as its network
// namespace's, which the kernel finishes later; filterCost cancels that
// out). The sample is the filtered run; its phases "filter wall" and
// "filter cpu" are its differences from the plain run, which leave out
// the drift of the machine's speed between two series measured one after
// the other.
func runSeccomp(rt *runtime, plain, filtered string, filteredFirst bool) (sample, error) {
	order := []string{plain, filtered}
	if filteredFirst {
		order = []string{filtered, plain}
	}
	var runs [2]sample
	for i, bundle := range order {
		c0 := childrenCPU()
		s, err := runOnce(rt, bundle)
		if err != nil {
			return s, err
		}
		s.cpu = childrenCPU() - c0
		runs[i] = s
	}
	p, f := runs[0], runs[1]
	if filteredFirst {
		p, f = f, p
	}
	f.phases = map[string]time.Duration{"filter wall": f.total - p.total, "filter cpu": f.cpu - p.cpu}
	f.filteredFirst = filteredFirst
	return f, nil
}

// execTarget starts, for each runtime, the running container exec joins.
func execTarget(rt *runtime, bundle string) (id string, stop func(), err error) {
	id = rt.nextID("exec-target")
	pidFile := filepath.Join(filepath.Dir(rt.root), id+".pid")
	defer os.Remove(pidFile)
	if _, err := rt.cmd("run", "--detach", "--bundle", bundle, "--pid-file", pidFile, id); err != nil {
		return "", nil, err
	}
	pid, err := readPid(pidFile)
	if err != nil {
		rt.cleanup(id)
		return "", nil, err
	}
	return id, func() {
		_, _ = rt.cmd("kill", id, "KILL")
		_, _ = waitExit(rt, id, pid)
		rt.cleanup(id)
	}, nil
}

// stateOnce: `state ID` of the running container id, which podman runs
// each time it syncs a container.
func stateOnce(rt *runtime, id string) (sample, error) {
	t0 := time.Now()
	ru, err := rt.cmd("state", id)
	if err != nil {
		return sample{}, err
	}
	return sample{total: time.Since(t0), cliRSS: ru.Maxrss}, nil
}

// execOnce: `exec ID /bin/true` into the running container id.
func execOnce(rt *runtime, id string) (sample, error) {
	t0 := time.Now()
	ru, err := rt.cmd("exec", id, "/bin/true")
	if err != nil {
		return sample{}, err
	}
	return sample{total: time.Since(t0), cliRSS: ru.Maxrss}, nil
}

// parallelCreates: n creates at once, timed until the last returns, with
// the machine's peak memory in use above what it was before; then the
// containers are removed, untimed.
func parallelCreates(rt *runtime, bundle string, n int) (sample, error) {
	base, c0 := memInUse(), childrenCPU()
	var peak int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			peak = max(peak, memInUse())
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	ids := make([]string, n)
	for i := range ids {
		ids[i] = rt.nextID("par")
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	t0 := time.Now()
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = rt.cmd("create", "--bundle", bundle, id)
		}()
	}
	wg.Wait()
	d := time.Since(t0)
	cpu := childrenCPU() - c0
	peak = max(peak, memInUse())
	close(stop)
	<-sampled
	for _, id := range ids {
		rt.cleanup(id)
	}
	reapAll()
	for _, err := range errs {
		if err != nil {
			return sample{}, err
		}
	}
	return sample{total: d, cpu: cpu, memKiB: peak - base}, nil
}

// memInUse is the machine's memory in use, in KiB: MemTotal - MemAvailable,
// less the free pages the kernel keeps on its per-CPU lists. Those are
// free (the next allocation on that CPU takes them) but MemFree, and so
// MemAvailable, leaves them out, and the kernel grows the lists while
// many processes exit: after 100 creates of husk, whose CLIs exit during
// the burst, they held 115-120 MiB, more than the containers used
// (2-core AMD EPYC VM, 2026-12-05; docs/design.md).
func memInUse() int64 {
	var total, avail int64
	for _, l := range strings.Split(readProc("/proc/meminfo"), "\n") {
		k, v, _ := strings.Cut(l, ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "MemTotal":
			total = n
		case "MemAvailable":
			avail = n
		}
	}
	return total - avail - pcpFreeKiB()
}

// pcpFreeKiB sums the pages on the per-CPU free lists: /proc/zoneinfo's
// "count:" of each CPU's pageset in each zone.
func pcpFreeKiB() int64 {
	var pages int64
	for _, l := range strings.Split(readProc("/proc/zoneinfo"), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "count:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			pages += n
		}
	}
	return pages * int64(os.Getpagesize()) / 1024
}

// readProc reads a /proc file whole, or gives "" if it can't.
func readProc(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(data)
}

// startBurners keeps every CPU busy with a spinning child of ours, for the
// "busy machine" runs; stop kills and reaps them.
func startBurners() (stop func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var procs []*os.Process
	stop = func() {
		for _, p := range procs {
			_ = p.Kill()
			_, _ = p.Wait()
		}
	}
	for range goruntime.NumCPU() {
		p, err := os.StartProcess(self, []string{self, "-burn"}, &os.ProcAttr{Files: []*os.File{nil, nil, os.Stderr}})
		if err != nil {
			stop()
			return nil, fmt.Errorf("start a CPU burner: %w", err)
		}
		procs = append(procs, p)
	}
	return stop, nil
}

// burn spins until killed.
func burn() {
	x := 0
	for {
		x++
	}
}
