package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"github.com/urfave/cli/v2"
)

var updateCommand = &cli.Command{
	Name:      "update",
	Usage:     "update a container's resource limits",
	ArgsUsage: "<container-id>",
	Description: `Update changes the cgroup limits of a created, running or paused
container and records them in its state, so later updates build on them.

The limits come either from --resources, a JSON linux.resources object
(runtime-spec) read from FILE, or from the standard input with "-", or from
the flags below; with --resources the flags are ignored. Fields or flags
left out keep their current value. Device rules in the JSON are ignored:
update does not change which devices a live container may use.

   {
     "memory": {"limit": 67108864, "swap": 134217728, "checkBeforeUpdate": true},
     "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1"},
     "pids": {"limit": 100}
   }

Memory sizes take a unit as runc does: 64m, 1.5g, 512k (powers of 1024), or
-1 for no limit; lifting the memory limit with -1 lifts the swap limit too,
unless --memory-swap is given. With checkBeforeUpdate set (in the JSON, or
already in the container's spec), a memory limit below the current usage
is refused.

On cgroup v2, cpu shares and blkio weights are converted to cpu.weight and
io.weight; --cpu-rt-period and --cpu-rt-runtime have no v2 counterpart and
fail there, as does "unified" on cgroup v1. Intel RDT (--l3-cache-schema,
--mem-bw-schema) is not supported.`,
	Flags: []cli.Flag{
		&cli.StringFlag{Name: "resources", Aliases: []string{"r"}, Usage: "read the resources as JSON from `FILE`, or from the standard input with -"},
		&cli.IntFlag{Name: "blkio-weight", Usage: "block IO weight, from 10 to 1000 (BFQ: from 1)"},
		&cli.StringFlag{Name: "cpu-period", Usage: "CFS period in microseconds"},
		&cli.StringFlag{Name: "cpu-quota", Usage: "CFS quota in microseconds per period (-1: none)"},
		&cli.StringFlag{Name: "cpu-burst", Usage: "CFS burst in microseconds a period may borrow"},
		&cli.StringFlag{Name: "cpu-share", Usage: "CPU shares, the weight relative to other containers"},
		&cli.StringFlag{Name: "cpu-rt-period", Usage: "realtime period in microseconds (cgroup v1)"},
		&cli.StringFlag{Name: "cpu-rt-runtime", Usage: "realtime runtime in microseconds per period (cgroup v1)"},
		&cli.StringFlag{Name: "cpu-idle", Usage: "1 gives the container SCHED_IDLE priority, 0 the default"},
		&cli.StringFlag{Name: "cpuset-cpus", Usage: "CPUs the container may run on, such as 0-3,7"},
		&cli.StringFlag{Name: "cpuset-mems", Usage: "memory nodes the container may use, such as 0-1"},
		&cli.StringFlag{Name: "memory", Usage: "memory limit (64m, 1g; -1: none)"},
		&cli.StringFlag{Name: "memory-reservation", Usage: "memory soft limit (64m, 1g; -1: none)"},
		&cli.StringFlag{Name: "memory-swap", Usage: "memory plus swap limit (128m, 1g; -1: unlimited swap)"},
		&cli.IntFlag{Name: "pids-limit", Usage: "maximum number of processes (-1: none; 0 forbids new ones)"},
		&cli.StringFlag{Name: "l3-cache-schema", Usage: "Intel RDT L3 cache schema (not supported)"},
		&cli.StringFlag{Name: "mem-bw-schema", Usage: "Intel RDT memory bandwidth schema (not supported)"},
		&cli.StringFlag{Name: "kernel-memory", Hidden: true, Usage: "ignored, as by runc"},
		&cli.StringFlag{Name: "kernel-memory-tcp", Hidden: true, Usage: "ignored, as by runc"},
	},
	Action: func(ctx *cli.Context) error {
		id, err := requireID(ctx, 0)
		if err != nil {
			return err
		}
		if ctx.String("l3-cache-schema") != "" || ctx.String("mem-bw-schema") != "" {
			return errors.New("update: intel RDT is not supported")
		}
		var r *specs.LinuxResources
		if in := ctx.String("resources"); in != "" {
			r, err = readResources(in)
		} else {
			r, err = resourcesFromFlags(ctx)
		}
		if err != nil {
			return err
		}
		return runtimeOf(ctx).Update(id, r)
	},
}

// readResources decodes a linux.resources object from a file or, for "-",
// from the standard input.
func readResources(path string) (*specs.LinuxResources, error) {
	var in io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("update: %w", err)
		}
		defer f.Close()
		in = f
	}
	var r specs.LinuxResources
	if err := json.NewDecoder(in).Decode(&r); err != nil {
		return nil, fmt.Errorf("update: decode resources from %s: %w", path, err)
	}
	return &r, nil
}

// resourcesFromFlags builds the resources the flags ask for; a flag left
// out leaves its field nil.
func resourcesFromFlags(ctx *cli.Context) (*specs.LinuxResources, error) {
	for _, f := range []string{"kernel-memory", "kernel-memory-tcp"} {
		if ctx.String(f) != "" {
			logger.log("warning", "--"+f+" is ignored")
		}
	}
	r := &specs.LinuxResources{Memory: &specs.LinuxMemory{}, CPU: &specs.LinuxCPU{}}
	if ctx.IsSet("blkio-weight") {
		w := ctx.Int("blkio-weight")
		if w < 1 || w > 1000 {
			return nil, fmt.Errorf("update: invalid --blkio-weight %d: want 10 to 1000 (1 to 1000 with BFQ)", w)
		}
		r.BlockIO = &specs.LinuxBlockIO{Weight: new(uint16(w))}
	}
	if ctx.IsSet("pids-limit") {
		r.Pids = &specs.LinuxPids{Limit: new(int64(ctx.Int("pids-limit")))}
	}
	for _, f := range []struct {
		name string
		dst  **uint64
	}{
		{"cpu-period", &r.CPU.Period},
		{"cpu-burst", &r.CPU.Burst},
		{"cpu-share", &r.CPU.Shares},
		{"cpu-rt-period", &r.CPU.RealtimePeriod},
	} {
		if s := ctx.String(f.name); s != "" {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("update: invalid --%s %q: want a whole number", f.name, s)
			}
			*f.dst = &v
		}
	}
	for _, f := range []struct {
		name string
		dst  **int64
	}{
		{"cpu-quota", &r.CPU.Quota},
		{"cpu-rt-runtime", &r.CPU.RealtimeRuntime},
		{"cpu-idle", &r.CPU.Idle},
	} {
		if s := ctx.String(f.name); s != "" {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("update: invalid --%s %q: want a whole number", f.name, s)
			}
			*f.dst = &v
		}
	}
	r.CPU.Cpus = ctx.String("cpuset-cpus")
	r.CPU.Mems = ctx.String("cpuset-mems")
	for _, f := range []struct {
		name string
		dst  **int64
	}{
		{"memory", &r.Memory.Limit},
		{"memory-reservation", &r.Memory.Reservation},
		{"memory-swap", &r.Memory.Swap},
	} {
		if s := ctx.String(f.name); s != "" {
			v, err := parseMemory(s)
			if err != nil {
				return nil, fmt.Errorf("update: invalid --%s: %w", f.name, err)
			}
			*f.dst = &v
		}
	}
	// An empty object would still add an empty entry to the saved spec.
	if *r.CPU == (specs.LinuxCPU{}) {
		r.CPU = nil
	}
	if *r.Memory == (specs.LinuxMemory{}) {
		r.Memory = nil
	}
	return r, nil
}

// parseMemory reads a memory size as runc does: -1 for no limit, or a
// decimal number with an optional unit k, m, g, t or p (powers of 1024),
// which may be followed by "i" and "b", in any case: 64m, 1.5G, 512KiB.
func parseMemory(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	num := strings.ToLower(s)
	num = strings.TrimSuffix(num, "b")
	num = strings.TrimSuffix(num, "i")
	mult := 1.0
	if n := len(num); n > 0 {
		if i := strings.IndexByte("kmgtp", num[n-1]); i >= 0 {
			mult = math.Exp2(float64(10 * (i + 1)))
			num = num[:n-1]
		}
	}
	num = strings.TrimSuffix(num, " ")
	if !decimal(num) {
		return 0, fmt.Errorf("%q is not a size such as 64m or 1g", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v*mult >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is not a size such as 64m or 1g", s)
	}
	return int64(v * mult), nil
}

// decimal accepts digits with at most one decimal point between them.
func decimal(s string) bool {
	whole, frac, dot := strings.Cut(s, ".")
	digits := func(t string) bool { return t != "" && strings.Trim(t, "0123456789") == "" }
	return digits(whole) && (!dot || digits(frac))
}
