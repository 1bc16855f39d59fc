package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// procStart is one Go process's start-up as GODEBUG=inittrace=1 shows
// it: when main's package initialisers began, counted from the Go
// runtime's start, and the time all initialisers took.
type procStart struct {
	Process string  `json:"process"`
	AtMain  float64 `json:"at_main_ms"`
	Inits   float64 `json:"inits_ms"`
}

// parseInitTrace splits inittrace output into processes: each one's
// trace ends with main's line. husk passes GODEBUG=inittrace=1 on to its
// stages, whose stderr is the command's, after the CLI's own lines.
func parseInitTrace(stderr string, names ...string) []procStart {
	var out []procStart
	cur := procStart{}
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		// init PKG @X ms, Y ms clock, ...
		if len(f) < 6 || f[0] != "init" || !strings.HasPrefix(f[2], "@") {
			continue
		}
		at, _ := strconv.ParseFloat(strings.TrimPrefix(f[2], "@"), 64)
		clock, _ := strconv.ParseFloat(f[4], 64)
		cur.Inits += clock
		if f[1] == "main" {
			cur.AtMain = at
			if len(out) < len(names) {
				cur.Process = names[len(out)]
			}
			out = append(out, cur)
			cur = procStart{}
		}
	}
	return out
}

// huskStartup runs one traced lifecycle and exec of husk and returns, per
// process, its start-up (medians over n rounds).
func huskStartup(rt *runtime, bundle, sleeper string, n int) ([]procStart, error) {
	env := []string{"GODEBUG=inittrace=1"}
	byName := map[string][]procStart{}
	var order []string
	add := func(ps []procStart) {
		for _, p := range ps {
			if p.Process == "" {
				continue
			}
			if byName[p.Process] == nil {
				order = append(order, p.Process)
			}
			byName[p.Process] = append(byName[p.Process], p)
		}
	}
	id, stop, err := execTarget(rt, sleeper)
	if err != nil {
		return nil, err
	}
	defer stop()
	for range n {
		cid := rt.nextID("trace")
		pidFile := filepath.Join(filepath.Dir(rt.root), cid+".pid")
		_, errs, err := rt.cmdEnv(env, "create", "--bundle", bundle, "--pid-file", pidFile, cid)
		if err != nil {
			return nil, err
		}
		add(parseInitTrace(errs, "create (cli)", "init stage"))
		pid, err := readPid(pidFile)
		os.Remove(pidFile)
		if err != nil {
			rt.cleanup(cid)
			return nil, err
		}
		if _, errs, err = rt.cmdEnv(env, "start", cid); err != nil {
			rt.cleanup(cid)
			return nil, err
		}
		add(parseInitTrace(errs, "start (cli)"))
		if _, err := waitExit(rt, cid, pid); err != nil {
			rt.cleanup(cid)
			return nil, err
		}
		if _, errs, err = rt.cmdEnv(env, "delete", cid); err != nil {
			return nil, err
		}
		add(parseInitTrace(errs, "delete (cli)"))
		if _, errs, err = rt.cmdEnv(env, "exec", id, "/bin/true"); err != nil {
			return nil, err
		}
		add(parseInitTrace(errs, "exec (cli)", "exec stage"))
	}
	reapAll()
	var out []procStart
	for _, name := range order {
		ps := byName[name]
		at, in := make([]float64, len(ps)), make([]float64, len(ps))
		for i, p := range ps {
			at[i], in[i] = p.AtMain, p.Inits
		}
		out = append(out, procStart{Process: name, AtMain: median(at), Inits: median(in)})
	}
	return out, nil
}

// versionWall is the median wall time of `BIN --version`: a whole
// process's start-up and exit, as every runtime command pays it.
func versionWall(rt *runtime, n int) time.Duration {
	d := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		if err := exec.Command(rt.bin, "--version").Run(); err != nil {
			return 0
		}
		d = append(d, time.Since(t0))
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return pct(d, 50)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	sort.Float64s(v)
	if len(v)%2 == 0 {
		return (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return v[len(v)/2]
}
