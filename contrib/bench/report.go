package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

type series struct {
	rt      string
	samples []sample
}

// results holds every measurement of one bench run.
type results struct {
	order    []string             // scenarios, in the order run
	series   map[string][]*series // scenario -> one series per runtime
	versions map[string]string    // runtime -> its --version line
	startup  map[string]time.Duration
	husk     []procStart // per husk process, from inittrace
	// seccompKernel: the kernel's own load of husk's filter, if timed.
	seccompKernel *kernelLoad
}

func newResults() *results {
	return &results{series: map[string][]*series{}, versions: map[string]string{}, startup: map[string]time.Duration{}}
}

// of returns rt's series of scenario sc, or nil.
func (r *results) of(sc, rt string) *series {
	for _, s := range r.series[sc] {
		if s.rt == rt {
			return s
		}
	}
	return nil
}

// stat is one statistic of a series: "wall" (median), "p90", "cpu"
// (median), "mem" (peak, KiB).
func (s *series) stat(what string) float64 {
	if s == nil || len(s.samples) == 0 {
		return 0
	}
	switch what {
	case "p90":
		return msOf(pct(totals(s.samples, ""), 90))
	case "min":
		return msOf(pct(totals(s.samples, ""), 0))
	case "cpu":
		return msOf(pct(cpus(s.samples), 50))
	case "mem":
		var m int64
		for _, x := range s.samples {
			m = max(m, x.memKiB)
		}
		return float64(m)
	}
	return msOf(pct(totals(s.samples, ""), 50))
}

// target is one of issue 15's goals, checked on this run.
type target struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Limit float64 `json:"limit"`
	Unit  string  `json:"unit"` // "ratio" or "ms"
	Met   bool    `json:"met"`
}

// targets compares husk with each other runtime: ratios of husk's to
// runc's (<= limit), at or below crun in CPU and wall time (limit 1), and
// the seccomp filter's own cost. Memory beside crun is not one of issue
// 15's targets (crunMemory).
func (r *results) targets() []target {
	var out []target
	ratio := func(name, sc, what, other string, limit float64) {
		if v := r.ratio(sc, what, other); v > 0 {
			out = append(out, target{Name: name, Value: v, Limit: limit, Unit: "ratio", Met: v <= limit})
		}
	}
	for _, other := range []string{"runc", "crun"} {
		limit := func(l float64) float64 {
			if other == "crun" {
				return 1
			}
			return l
		}
		for _, sc := range []string{"lifecycle", "lifecycle (busy)"} {
			ratio(fmt.Sprintf("%s CPU husk/%s", sc, other), sc, "cpu", other, limit(0.5))
			ratio(fmt.Sprintf("%s wall husk/%s", sc, other), sc, "wall", other, limit(0.5))
		}
		for _, sc := range []string{"run", "run (busy)"} {
			ratio(fmt.Sprintf("%s wall husk/%s", sc, other), sc, "wall", other, limit(0.5))
		}
		ratio("exec wall husk/"+other, "exec", "wall", other, limit(0.4))
		ratio("parallel creates wall husk/"+other, "parallel creates", "wall", other, limit(0.5))
		if other == "runc" {
			ratio("parallel creates peak memory husk/"+other, "parallel creates", "mem", other, limit(0.5))
		}
	}
	if f := r.of("run+seccomp", "husk"); f != nil && len(f.samples) > 0 {
		for _, what := range []string{"wall", "cpu"} {
			d := filterCost(f.samples, what)
			out = append(out, target{Name: "seccomp filter cost, " + what + " (husk, run+seccomp - run beside it)", Value: d, Limit: 0.2, Unit: "ms", Met: d <= 0.2})
		}
	}
	return out
}

// ratio is husk's statistic what of scenario sc over other's, or 0 when
// either is missing.
func (r *results) ratio(sc, what, other string) float64 {
	h, o := r.of(sc, "husk").stat(what), r.of(sc, other).stat(what)
	if h == 0 || o == 0 {
		return 0
	}
	return h / o
}

// crunMemory is husk's peak memory in the parallel creates over crun's, or
// 0 without crun. A created crun container waits in a small C process, as
// husk's does, but each of crun's CLIs is C too: the peak is mostly the
// CLIs alive at once, and a Go CLI's heap takes 2 MiB pages where
// transparent huge pages are "always" (the machine's "thp" in the JSON).
func (r *results) crunMemory() float64 {
	return r.ratio("parallel creates", "mem", "crun")
}

// filterCost is the seccomp filter's cost from run+seccomp's pairs: the
// mean of the median difference of the pairs where the filtered run came
// first and of those where it came second, so that what the second run of
// a pair pays for the first counts once for and once against the filter.
func filterCost(ss []sample, what string) float64 {
	var first, second []time.Duration
	for _, s := range ss {
		if s.filteredFirst {
			first = append(first, s.phases["filter "+what])
		} else {
			second = append(second, s.phases["filter "+what])
		}
	}
	for _, d := range [][]time.Duration{first, second} {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	}
	return (msOf(pct(first, 50)) + msOf(pct(second, 50))) / 2
}

func (r *results) print() {
	fmt.Println()
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "scenario\truntime\tn\tmedian\tp90\tmin\tCPU\tmax RSS cli\tmax RSS init\tpeak mem\t")
	for _, name := range r.order {
		for _, s := range r.series[name] {
			var cli, ini int64
			for _, x := range s.samples {
				cli = max(cli, x.cliRSS)
				ini = max(ini, x.initRS)
			}
			dash := func(k int64) string {
				if k <= 0 {
					return "-"
				}
				return kib(k)
			}
			fmt.Fprintf(w, "%s\t%s\t%d\t%.2fms\t%.2fms\t%.2fms\t%.2fms\t%s\t%s\t%s\t\n", name, s.rt, len(s.samples),
				s.stat("wall"), s.stat("p90"), s.stat("min"), s.stat("cpu"), dash(cli), dash(ini), dash(int64(s.stat("mem"))))
		}
	}
	w.Flush()

	if len(r.series["lifecycle"]) > 0 {
		fmt.Println()
		fmt.Println("lifecycle phases (median):")
		w = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(w, "runtime\tcreate\tstart\twait\tdelete\tpeak RSS of create\t")
		for _, s := range r.series["lifecycle"] {
			var peak int64
			for _, x := range s.samples {
				peak = max(peak, x.create)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t\n", s.rt,
				ms(pct(totals(s.samples, "create"), 50)), ms(pct(totals(s.samples, "start"), 50)),
				ms(pct(totals(s.samples, "wait"), 50)), ms(pct(totals(s.samples, "delete"), 50)), kib(peak))
		}
		w.Flush()
	}

	fmt.Println()
	fmt.Println("start-up: `--version` wall (median), a whole process started and ended:")
	names := make([]string, 0, len(r.startup))
	for name := range r.startup {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Printf("  %-5s %s\n", name, ms(r.startup[name]))
	}
	if len(r.husk) > 0 {
		fmt.Println("husk's processes (GODEBUG=inittrace=1, medians): main's initialisers start at, from the Go runtime's start; all initialisers take:")
		for _, p := range r.husk {
			fmt.Printf("  %-13s @%.2fms  inits %.2fms\n", p.Process, p.AtMain, p.Inits)
		}
		fmt.Println("  (not listed: processes without a Go runtime. start, state, the delete of a stopped container, a plain exec's")
		fmt.Println("  stage, and a plain exec after a container's first are done in C: the exec (cli) line is the first exec's)")
	}

	fmt.Println()
	fmt.Println("targets (issue 15):")
	for _, t := range r.targets() {
		verdict := "met"
		if !t.Met {
			verdict = "NOT met"
		}
		if t.Unit == "ms" {
			fmt.Printf("  %-58s %6.2fms  (<= %.2fms)  %s\n", t.Name, t.Value, t.Limit, verdict)
		} else {
			fmt.Printf("  %-58s %6.2f    (<= %.2f)    %s\n", t.Name, t.Value, t.Limit, verdict)
		}
	}
	if m := r.crunMemory(); m > 0 {
		fmt.Printf("  (beside crun, not a target: parallel creates peak memory husk/crun %.2f)\n", m)
	}
	if k := r.seccompKernel; k != nil {
		fmt.Printf("  (the kernel's part of the filter's cost: seccomp(2) alone, in a fresh process, median of %d: %.2fms for husk's\n", k.N, k.ProgramMs)
		fmt.Printf("  program for the profile, %d instructions; %.2fms for a filter of one instruction. The kernel frees it again at exit.)\n", k.Instructions, k.OneInsnMs)
	}
	fmt.Println("CPU: user+system time of every process of one iteration (the runtime's and the container's), from rusage.")
	fmt.Println("max RSS: largest ru_maxrss over the runtime's CLI processes; init: the container process (runtime init stage + /bin/true);")
	fmt.Println("peak mem: the machine's memory in use (MemTotal-MemAvailable, less the free pages on the kernel's per-CPU lists) at its peak during the creates, above what it was before.")
	if thp := machine()["thp"]; thp != "" {
		fmt.Printf("transparent huge pages: %s\n", thp)
	}
}

// jsonResult is what -json writes.
type jsonResult struct {
	Date      string                                   `json:"date"`
	Machine   map[string]string                        `json:"machine"`
	Runtimes  map[string]string                        `json:"runtimes"`
	Scenarios map[string]map[string]map[string]float64 `json:"scenarios"`
	Startup   map[string]float64                       `json:"version_wall_ms"`
	Husk      []procStart                              `json:"husk_processes"`
	Targets   []target                                 `json:"targets"`
	// SeccompKernel: seccomp(2) alone for husk's filter (run+seccomp).
	SeccompKernel *kernelLoad `json:"seccomp_kernel,omitempty"`
}

func (r *results) writeJSON(path string) error {
	j := jsonResult{
		Date:      time.Now().UTC().Format(time.RFC3339),
		Machine:   machine(),
		Runtimes:  r.versions,
		Scenarios: map[string]map[string]map[string]float64{},
		Startup:   map[string]float64{},
		Husk:      r.husk,
		Targets:   r.targets(),

		SeccompKernel: r.seccompKernel,
	}
	for _, sc := range r.order {
		j.Scenarios[sc] = map[string]map[string]float64{}
		for _, s := range r.series[sc] {
			m := map[string]float64{"n": float64(len(s.samples)), "median_ms": s.stat("wall"),
				"p90_ms": s.stat("p90"), "min_ms": s.stat("min"), "cpu_median_ms": s.stat("cpu")}
			if mem := s.stat("mem"); mem > 0 {
				m["peak_mem_kib"] = mem
			}
			j.Scenarios[sc][s.rt] = m
		}
	}
	for name, d := range r.startup {
		j.Startup[name] = msOf(d)
	}
	data, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// machine names what the figures were taken on.
func machine() map[string]string {
	m := map[string]string{}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		cpus := 0
		for _, l := range strings.Split(string(data), "\n") {
			k, v, _ := strings.Cut(l, ":")
			k = strings.TrimSpace(k)
			if k == "processor" {
				cpus++
			}
			if k == "model name" {
				m["cpu"] = strings.TrimSpace(v)
			}
		}
		m["cpus"] = fmt.Sprint(cpus)
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m["kernel"] = strings.TrimSpace(string(data))
	}
	// The mode in brackets: "always" backs a Go heap with 2 MiB pages,
	// which changes every Go runtime's memory figures (crunMemory).
	if data, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err == nil {
		if _, mode, ok := strings.Cut(string(data), "["); ok {
			m["thp"], _, _ = strings.Cut(mode, "]")
		}
	}
	return m
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

// cpus returns the sorted CPU times of the samples.
func cpus(ss []sample) []time.Duration {
	out := make([]time.Duration, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.cpu)
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

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", msOf(d)) }

func kib(k int64) string { return fmt.Sprintf("%.1fMiB", float64(k)/1024) }
