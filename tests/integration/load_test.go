package integration

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// The lifecycle and exec keep working, with every failure naming its
// cause, while bursts of other containers are created, started, killed
// and deleted beside them: the setting where the init once died during
// setup or before start for no reason it could tell.
func TestUnderParallelBurst(t *testing.T) {
	t.Parallel()
	const burst, rounds = 8, 10

	// The load: containers of their own, each created, started, exec'd
	// into and force-deleted over and over, half of them without a PID
	// namespace, so delete kills all of their cgroup.
	var load []*bundle
	for i := 0; i < burst; i++ {
		b := newBundle(t)
		b.save()
		load = append(load, b)
	}
	stop := make(chan struct{})
	loadErrs := make(chan error, burst)
	var wg sync.WaitGroup
	for i, b := range load {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				args := [][]string{
					{"create", "--bundle", b.dir, b.id},
					{"start", b.id},
					{"exec", b.id, "true"},
					{"kill", b.id, "KILL"},
					{"delete", "--force", b.id},
				}
				if i%2 == 1 {
					args[3] = []string{"kill", "--all", b.id, "KILL"}
				}
				for _, a := range args {
					r := runtimeCmd(t, b.root, opts{outFile: b.outPath}, a...)
					// Each step waits for the one before on the same
					// container: any failure is a bug.
					if r.Code != 0 {
						loadErrs <- fmt.Errorf("load round %d: %s", n, r)
						return
					}
				}
			}
		})
	}
	defer func() {
		close(stop)
		wg.Wait()
		close(loadErrs)
		for err := range loadErrs {
			t.Error(err)
		}
	}()

	b := newBundle(t, "/bin/sh", "-c", "echo up; exec /helper sleep 600")
	short := newBundle(t, "/bin/sh", "-c", "echo ran in $(hostname)")
	for n := 0; n < rounds && !t.Failed(); n++ {
		b.mustCreate()
		if st := b.state(); st.Status != "created" || !pidAlive(st.Pid) {
			t.Fatalf("round %d: after create: %+v", n, st)
		}
		b.mustRT("start", b.id)
		b.waitOutput("up")
		if out := b.mustRT("exec", b.id, "/bin/sh", "-c", "echo $$ in $(hostname)").Stdout; !strings.HasSuffix(out, " in "+b.spec.Hostname+"\n") {
			t.Fatalf("round %d: exec printed %q, want its pid in %s", n, out, b.spec.Hostname)
		}
		b.mustRT("kill", b.id, "KILL")
		b.waitStatus("stopped")
		b.mustRT("delete", b.id)
		checkNothingLeft(t, b)

		if out := short.mustRun(); out != "ran in "+short.spec.Hostname+"\n" {
			t.Fatalf("round %d: run printed %q", n, out)
		}
	}
}
