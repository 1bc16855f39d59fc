package cri

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"
)

// TestExecLatency (CRI_BENCH=1, `make cri-bench`): how long `crictl exec -s
// <id> true` takes through containerd's CRI (ExecSync: the shim runs
// `<runtime> exec`), with husk and with runc, alternating, one pod per
// handler. Liveness and readiness probes are this call, every few seconds
// in every pod. CRI_BENCH_N sets the count (default 50).
func TestExecLatency(t *testing.T) {
	requireSuite(t)
	if os.Getenv("CRI_BENCH") != "1" {
		t.Skip("set CRI_BENCH=1 (make cri-bench)")
	}
	n := 50
	if v, err := strconv.Atoi(os.Getenv("CRI_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	hs := []string{"husk", "runc"}
	ctrs := map[string]string{}
	for _, h := range hs {
		p := runPod(t, h, nsPod, nsContainer, nsPod)
		ctrs[h] = p.run(t, "c", nil, "sh", "-c", sleeper)
		waitState(t, ctrs[h], "CONTAINER_RUNNING")
	}
	times := map[string][]time.Duration{}
	for i := -2; i < n; i++ { // two untimed rounds first
		// The fixed cost: crictl starting and one CRI round trip.
		if r := ctd.crictl(nil, "version"); r.Code == 0 && i >= 0 {
			times["base"] = append(times["base"], r.Took)
		}
		for _, h := range hs {
			r := ctd.crictl(nil, "exec", "-s", ctrs[h], "true")
			if r.Code != 0 {
				t.Fatalf("%s: %s", h, r)
			}
			if i >= 0 {
				times[h] = append(times[h], r.Took)
			}
		}
	}
	med := map[string]time.Duration{}
	fmt.Printf("\ncrictl exec -s <ctr> true through containerd %s's CRI (n=%d, alternating)\n", "1.6", n)
	fmt.Printf("%-8s %10s %10s\n", "runtime", "median", "p90")
	for _, h := range hs {
		d := times[h]
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		med[h] = d[len(d)/2]
		fmt.Printf("%-8s %10s %10s\n", h, ms(med[h]), ms(d[len(d)*9/10]))
	}
	fmt.Printf("husk/runc median ratio: %.2f\n", float64(med["husk"])/float64(med["runc"]))
	if b := times["base"]; len(b) > 0 {
		sort.Slice(b, func(i, j int) bool { return b[i] < b[j] })
		base := b[len(b)/2]
		fmt.Printf("crictl version (crictl start-up and one CRI call, no runtime): median %s\n", ms(base))
		if med["runc"] > base {
			fmt.Printf("above that: husk %s, runc %s, ratio %.2f\n", ms(med["husk"]-base), ms(med["runc"]-base),
				float64(med["husk"]-base)/float64(med["runc"]-base))
		}
	}
	fmt.Println()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
