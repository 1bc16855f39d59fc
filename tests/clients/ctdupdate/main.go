// Command ctdupdate changes the resources of a running containerd task
// through containerd's Go client (Task.Update), which is what CRI's
// UpdateContainerResources does: the runc shim turns it into
// `<runtime> update --resources - <id>` with the JSON on stdin. ctr 1.6 has
// no command for it, so the client tests build and run this instead:
//
//	ctdupdate -address /run/x/containerd.sock -namespace husk-test -id c1 \
//	    -memory 67108864 -cpu-quota 50000 -cpu-period 100000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/namespaces"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func main() {
	address := flag.String("address", "", "containerd socket")
	ns := flag.String("namespace", "default", "containerd namespace")
	id := flag.String("id", "", "container id")
	memory := flag.Int64("memory", 0, "memory limit in bytes (0: leave)")
	quota := flag.Int64("cpu-quota", 0, "CFS quota in microseconds (0: leave)")
	period := flag.Uint64("cpu-period", 0, "CFS period in microseconds (0: leave)")
	timeout := flag.Duration("timeout", 30*time.Second, "overall deadline")
	flag.Parse()
	if *address == "" || *id == "" {
		fmt.Fprintln(os.Stderr, "ctdupdate: -address and -id are required")
		os.Exit(2)
	}
	if err := update(*address, *ns, *id, *memory, *quota, *period, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "ctdupdate:", err)
		os.Exit(1)
	}
	fmt.Println("updated", *id)
}

func update(address, ns, id string, memory, quota int64, period uint64, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), ns), timeout)
	defer cancel()

	client, err := containerd.New(address, containerd.WithDefaultNamespace(ns))
	if err != nil {
		return fmt.Errorf("connect to %s: %w", address, err)
	}
	defer client.Close()

	ctr, err := client.LoadContainer(ctx, id)
	if err != nil {
		return fmt.Errorf("load container %s: %w", id, err)
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		return fmt.Errorf("task of %s: %w", id, err)
	}

	res := &specs.LinuxResources{}
	if memory != 0 {
		res.Memory = &specs.LinuxMemory{Limit: &memory}
	}
	if quota != 0 || period != 0 {
		res.CPU = &specs.LinuxCPU{}
		if quota != 0 {
			res.CPU.Quota = &quota
		}
		if period != 0 {
			res.CPU.Period = &period
		}
	}
	if err := task.Update(ctx, containerd.WithResources(res)); err != nil {
		return fmt.Errorf("update task %s: %w", id, err)
	}
	return nil
}
