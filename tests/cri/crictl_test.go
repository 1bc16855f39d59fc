package cri

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/husk-runtime/husk/tests/clientkit"
)

// crictl scenarios: every one asserts what the pod or the container saw,
// and ends with the pod removed and nothing of it left on the host. They run
// with the husk handler, or with each handler in $CRI_HANDLERS ("husk runc"
// shows they test containerd's contract, not husk's quirks).

// cgroupParent holds the cgroups of the scenarios' pods.
const cgroupParent = "/husk-cri"

func handlers() []string {
	if h := strings.Fields(os.Getenv("CRI_HANDLERS")); len(h) > 0 {
		return h
	}
	return []string{"husk"}
}

// forEachHandler runs f as a subtest per handler.
func forEachHandler(t *testing.T, f func(t *testing.T, handler string)) {
	requireSuite(t)
	for _, h := range handlers() {
		t.Run(h, func(t *testing.T) { f(t, h) })
	}
}

// Namespace modes of the CRI (runtime.v1.NamespaceMode).
const (
	nsPod       = 0
	nsContainer = 1
	nsNode      = 2
)

type pod struct {
	id, handler string
	cfgPath     string
	name        string
	ctrs        []string
}

func writeJSON(t testing.TB, name string, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(workDir, "configs", name+".json")
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustOK(t testing.TB, r *result) *result {
	t.Helper()
	if r.Code != 0 {
		t.Fatalf("want exit 0, got:\n%s", r)
	}
	return r
}

// runPod starts a pod sandbox with the given network, pid and ipc modes.
func runPod(t testing.TB, handler string, network, pid, ipc int) *pod {
	t.Helper()
	name := "p-" + clientkit.Uniq()
	cfg := map[string]any{
		"metadata":      map[string]any{"name": name, "namespace": "husk-cri", "uid": name, "attempt": 0},
		"log_directory": filepath.Join(workDir, "logs", name),
		"linux": map[string]any{
			"cgroup_parent": cgroupParent,
			"security_context": map[string]any{
				"namespace_options": map[string]any{"network": network, "pid": pid, "ipc": ipc},
			},
		},
	}
	if network != nsNode {
		// A host-network pod has the host's UTS namespace: no hostname
		// of its own (the runtimes refuse one).
		cfg["hostname"] = name
	}
	p := &pod{handler: handler, name: name, cfgPath: writeJSON(t, name, cfg)}
	r := mustOK(t, ctd.crictl(nil, "runp", "--runtime", handler, p.cfgPath))
	p.id = strings.TrimSpace(r.Stdout)
	t.Cleanup(func() { p.remove(t) })
	return p
}

// create makes a busybox container in the pod running cmd.
func (p *pod) create(t testing.TB, name string, extra map[string]any, cmd ...string) string {
	t.Helper()
	cfg := map[string]any{
		"metadata": map[string]any{"name": name},
		"image":    map[string]any{"image": busyboxImage},
		"command":  cmd,
		"log_path": name + ".log",
		"linux":    map[string]any{},
	}
	for k, v := range extra {
		cfg[k] = v
	}
	path := writeJSON(t, p.name+"-"+name, cfg)
	r := mustOK(t, ctd.crictl(nil, "create", p.id, path, p.cfgPath))
	id := strings.TrimSpace(r.Stdout)
	p.ctrs = append(p.ctrs, id)
	return id
}

func (p *pod) run(t testing.TB, name string, extra map[string]any, cmd ...string) string {
	t.Helper()
	id := p.create(t, name, extra, cmd...)
	mustOK(t, ctd.crictl(nil, "start", id))
	return id
}

// remove stops and removes the pod, then checks that nothing of it is left:
// not in the CRI, not in the runtime's root, no cgroup, no mount, no netns.
func (p *pod) remove(t testing.TB) {
	t.Helper()
	if p.id == "" {
		return
	}
	netns := p.netnsPath(t)
	mustOK(t, ctd.crictl(nil, "stopp", p.id))
	mustOK(t, ctd.crictl(nil, "rmp", p.id))
	ids := append([]string{p.id}, p.ctrs...)
	p.id = ""
	if r := ctd.crictl(nil, "pods", "-q"); strings.Contains(r.Stdout, ids[0]) {
		t.Errorf("pod %s still listed after rmp", ids[0])
	}
	for _, l := range leftovers(ids, netns) {
		t.Errorf("after rmp: %s", l)
	}
}

// leftovers lists what is left on the host of the given sandbox and
// container ids.
func leftovers(ids []string, netns string) []string {
	var out []string
	mentions := func(s string) bool {
		for _, id := range ids {
			if strings.Contains(s, id) {
				return true
			}
		}
		return false
	}
	for _, root := range []string{ctd.huskRoot, ctd.runcRoot} {
		root = filepath.Join(root, "k8s.io")
		ents, _ := os.ReadDir(root)
		for _, e := range ents {
			if mentions(e.Name()) {
				out = append(out, "runtime state "+filepath.Join(root, e.Name()))
			}
		}
	}
	for _, m := range cgroupMounts() {
		walkDepth(filepath.Join(m, cgroupParent), 2, func(p string) {
			if mentions(p) {
				out = append(out, "cgroup "+p)
			}
		})
	}
	for _, mp := range mountPoints() {
		if mentions(mp) {
			out = append(out, "mount "+mp)
		}
	}
	if netns != "" && clientkit.Exists(netns) {
		out = append(out, "network namespace "+netns)
	}
	for _, pid := range clientkit.ProcsMentioning(ids[0]) {
		out = append(out, fmt.Sprintf("process %d: %s", pid, clientkit.Cmdline(pid)))
	}
	return out
}

type podInspect struct {
	Status struct {
		State   string `json:"state"`
		Network struct {
			IP string `json:"ip"`
		} `json:"network"`
	} `json:"status"`
	Info struct {
		Pid         int `json:"pid"`
		RuntimeSpec struct {
			Linux struct {
				Namespaces []struct {
					Type string `json:"type"`
					Path string `json:"path"`
				} `json:"namespaces"`
			} `json:"linux"`
		} `json:"runtimeSpec"`
	} `json:"info"`
}

func (p *pod) inspect(t testing.TB) podInspect {
	t.Helper()
	var pi podInspect
	r := mustOK(t, ctd.crictl(nil, "inspectp", "-o", "json", p.id))
	if err := jsonField(r.Stdout, &pi); err != nil {
		t.Fatalf("inspectp: %v\n%s", err, r.Stdout)
	}
	return pi
}

func (p *pod) netnsPath(t testing.TB) string {
	for _, ns := range p.inspect(t).Info.RuntimeSpec.Linux.Namespaces {
		if ns.Type == "network" {
			return ns.Path
		}
	}
	return ""
}

type ctrInspect struct {
	Status struct {
		State    string `json:"state"`
		ExitCode int    `json:"exitCode"`
		Reason   string `json:"reason"`
		LogPath  string `json:"logPath"`
	} `json:"status"`
	Info struct {
		Pid int `json:"pid"`
	} `json:"info"`
}

func inspect(t testing.TB, id string) ctrInspect {
	t.Helper()
	var ci ctrInspect
	r := mustOK(t, ctd.crictl(nil, "inspect", "-o", "json", id))
	if err := jsonField(r.Stdout, &ci); err != nil {
		t.Fatalf("inspect: %v\n%s", err, r.Stdout)
	}
	return ci
}

func waitState(t testing.TB, id, state string) ctrInspect {
	t.Helper()
	var ci ctrInspect
	err := clientkit.Eventually(context.Background(), 30*time.Second, func() error {
		ci = inspect(t, id)
		if ci.Status.State != state {
			return fmt.Errorf("container %s is %s, want %s", id, ci.Status.State, state)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ci
}

var exitRE = regexp.MustCompile(`(?:exited with|exit code) (\d+)`)

// crictlExit is the exit code of the command crictl exec ran: crictl
// itself exits 1 and names the code in its error.
func crictlExit(r *result) int {
	if r.Code == 0 {
		return 0
	}
	if m := exitRE.FindStringSubmatch(r.Stderr); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return -1
}

// execSync runs cmd in the container (CRI ExecSync) and returns its output
// (crictl shows it only for exit 0) and exit code.
func execSync(t testing.TB, id string, cmd ...string) (string, int) {
	t.Helper()
	r := ctd.crictl(nil, append([]string{"exec", "-s", id}, cmd...)...)
	code := crictlExit(r)
	if code < 0 {
		t.Logf("exec -s: %s", r)
	}
	return r.Stdout, code
}

func nsInode(t testing.TB, pid int, ns string) string {
	t.Helper()
	l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

const sleeper = `trap 'echo got-term; exit 0' TERM; echo ready; while :; do sleep 1 & wait $!; done`

func TestPodNamespaces(t *testing.T) {
	forEachHandler(t, func(t *testing.T, handler string) {
		t.Run("own", func(t *testing.T) {
			p := runPod(t, handler, nsPod, nsPod, nsPod)
			c := p.run(t, "c", nil, "sh", "-c", sleeper)
			pid := waitState(t, c, "CONTAINER_RUNNING").Info.Pid
			pi := p.inspect(t)
			self := os.Getpid()
			for _, ns := range []string{"net", "ipc", "uts", "pid"} {
				if nsInode(t, pid, ns) == nsInode(t, self, ns) {
					t.Errorf("the container shares the host's %s namespace", ns)
				}
				// All four are the pod's: the pause process holds them.
				if got, want := nsInode(t, pid, ns), nsInode(t, pi.Info.Pid, ns); got != want {
					t.Errorf("%s namespace: container %s, pod sandbox %s", ns, got, want)
				}
			}
			if !strings.HasPrefix(pi.Status.Network.IP, "10.213.") {
				t.Errorf("pod IP %q is not in %s", pi.Status.Network.IP, podSubnet)
			}
			out, code := execSync(t, c, "sh", "-c", "hostname; ip -4 -o addr show eth0; cat /proc/1/comm; ps -o comm")
			if code != 0 {
				t.Fatalf("exec: %d %s", code, out)
			}
			for _, want := range []string{p.name + "\n", "inet " + pi.Status.Network.IP + "/16", "pause\n", "sh\n"} {
				if !strings.Contains(out, want) {
					t.Errorf("inside the pod: want %q in:\n%s", want, out)
				}
			}
			// The pod's address answers from the host side of the bridge.
			r := runCmd(nil, busyboxPath, "ping", "-c", "1", "-W", "5", pi.Status.Network.IP)
			if r.Code != 0 {
				t.Errorf("pod IP unreachable: %s", r)
			}
		})
		t.Run("host", func(t *testing.T) {
			p := runPod(t, handler, nsNode, nsNode, nsNode)
			c := p.run(t, "c", nil, "sh", "-c", sleeper)
			pid := waitState(t, c, "CONTAINER_RUNNING").Info.Pid
			self := os.Getpid()
			for _, ns := range []string{"net", "ipc", "uts", "pid"} {
				if nsInode(t, pid, ns) != nsInode(t, self, ns) {
					t.Errorf("the container has its own %s namespace, want the host's", ns)
				}
			}
			// containerd is in the host's PID namespace: the container sees it.
			out, code := execSync(t, c, "sh", "-c", fmt.Sprintf("hostname; cat /proc/%d/comm", ctd.daemon.Cmd.Process.Pid))
			host, _ := os.Hostname()
			if code != 0 || !strings.HasPrefix(out, host+"\n") {
				t.Errorf("hostname: want the host's %q, got (exit %d):\n%s", host, code, out)
			}
			if !strings.Contains(out, "containerd\n") {
				t.Errorf("host PID namespace: the container does not see containerd (pid %d):\n%s", ctd.daemon.Cmd.Process.Pid, out)
			}
		})
	})
}

func TestLifecycleLogsExitCode(t *testing.T) {
	forEachHandler(t, func(t *testing.T, handler string) {
		p := runPod(t, handler, nsPod, nsContainer, nsPod)
		c := p.create(t, "c", nil, "sh", "-c", "echo to-stdout; echo to-stderr >&2; read x; exit 3")
		if s := inspect(t, c).Status.State; s != "CONTAINER_CREATED" {
			t.Fatalf("after create: %s", s)
		}
		// stdin is not attached: `read` sees EOF at once.
		mustOK(t, ctd.crictl(nil, "start", c))
		ci := waitState(t, c, "CONTAINER_EXITED")
		if ci.Status.ExitCode != 3 || ci.Status.Reason != "Error" {
			t.Errorf("exit code %d reason %q, want 3 Error", ci.Status.ExitCode, ci.Status.Reason)
		}
		r := mustOK(t, ctd.crictl(nil, "logs", c))
		if r.Stdout != "to-stdout\n" || r.Stderr != "to-stderr\n" {
			t.Errorf("logs: stdout %q stderr %q", r.Stdout, r.Stderr)
		}
		ok := p.run(t, "ok", nil, "true")
		if ci := waitState(t, ok, "CONTAINER_EXITED"); ci.Status.ExitCode != 0 || ci.Status.Reason != "Completed" {
			t.Errorf("true: exit code %d reason %q", ci.Status.ExitCode, ci.Status.Reason)
		}
		killed := p.run(t, "killed", nil, "sh", "-c", "kill -9 $$")
		if ci := waitState(t, killed, "CONTAINER_EXITED"); ci.Status.ExitCode != 137 {
			t.Errorf("kill -9: exit code %d, want 137", ci.Status.ExitCode)
		}
		missing := p.create(t, "missing", nil, "/no/such/binary")
		r = ctd.crictl(nil, "start", missing)
		if r.Code == 0 || !strings.Contains(r.Stderr, "no such file or directory") {
			t.Errorf("start of a missing binary: want an error naming it:\n%s", r)
		}
		mustOK(t, ctd.crictl(nil, "rm", c))
		if r := ctd.crictl(nil, "ps", "-a", "-q"); strings.Contains(r.Stdout, c) {
			t.Errorf("container still listed after rm")
		}
	})
}

func TestExec(t *testing.T) {
	forEachHandler(t, func(t *testing.T, handler string) {
		p := runPod(t, handler, nsPod, nsContainer, nsPod)
		c := p.run(t, "c", map[string]any{"envs": []map[string]string{{"key": "WHO", "value": "pod"}}}, "sh", "-c", sleeper)
		waitState(t, c, "CONTAINER_RUNNING")
		t.Run("sync", func(t *testing.T) {
			out, code := execSync(t, c, "sh", "-c", "echo hello $WHO")
			if strings.TrimSpace(out) != "hello pod" || code != 0 {
				t.Errorf("exec -s: %q exit %d, want \"hello pod\" exit 0", out, code)
			}
			if _, code := execSync(t, c, "sh", "-c", "exit 5"); code != 5 {
				t.Errorf("exec -s: exit %d, want 5", code)
			}
			r := ctd.crictl(nil, "exec", "-s", c, "/no/such/binary")
			if r.Code == 0 || !strings.Contains(r.Stderr, "no such file or directory") {
				t.Errorf("exec -s of a missing binary: want an error naming it:\n%s", r)
			}
		})
		t.Run("streaming", func(t *testing.T) {
			r := ctd.crictl(strings.NewReader("line one\nline two\n"), "exec", "-i", c, "sh", "-c", "wc -l; exit 4")
			if strings.TrimSpace(r.Stdout) != "2" || crictlExit(r) != 4 {
				t.Errorf("exec -i: want 2 lines counted and exit 4:\n%s", r)
			}
		})
		t.Run("tty", func(t *testing.T) {
			out, code, err := runOnPTY(crictlBin, "--config", ctd.crictlCfg, "exec", "-it", c, "sh", "-c", "tty; exit 6")
			if err != nil {
				t.Fatal(err)
			}
			if code != 1 || !strings.Contains(out, "exit code 6") || !strings.Contains(out, "/dev/pts/") {
				t.Errorf("exec -it: exit %d, want 6 and a /dev/pts tty:\n%s", code, out)
			}
		})
	})
}

type statsOut struct {
	Stats []struct {
		Attributes struct {
			ID string `json:"id"`
		} `json:"attributes"`
		CPU struct {
			UsageCoreNanoSeconds struct {
				Value string `json:"value"`
			} `json:"usageCoreNanoSeconds"`
		} `json:"cpu"`
		Memory struct {
			WorkingSetBytes struct {
				Value string `json:"value"`
			} `json:"workingSetBytes"`
		} `json:"memory"`
	} `json:"stats"`
}

func TestStats(t *testing.T) {
	forEachHandler(t, func(t *testing.T, handler string) {
		p := runPod(t, handler, nsPod, nsContainer, nsPod)
		// Some CPU time and 8 MiB touched, then idle.
		c := p.run(t, "c", nil, "sh", "-c", "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; dd if=/dev/zero of=/dev/shm/f bs=1M count=8 2>/dev/null; "+sleeper)
		waitState(t, c, "CONTAINER_RUNNING")
		var st statsOut
		err := clientkit.Eventually(context.Background(), 20*time.Second, func() error {
			r := ctd.crictl(nil, "stats", "-o", "json", "--id", c)
			if r.Code != 0 {
				return fmt.Errorf("%s", r)
			}
			st = statsOut{}
			if err := jsonField(r.Stdout, &st); err != nil {
				return err
			}
			if len(st.Stats) != 1 {
				return fmt.Errorf("want 1 container in %s", r.Stdout)
			}
			cpu, _ := strconv.ParseInt(st.Stats[0].CPU.UsageCoreNanoSeconds.Value, 10, 64)
			mem, _ := strconv.ParseInt(st.Stats[0].Memory.WorkingSetBytes.Value, 10, 64)
			if cpu <= 0 || mem < 8<<20 {
				return fmt.Errorf("cpu %d ns, working set %d bytes (want > 0 and >= 8 MiB):\n%s", cpu, mem, r.Stdout)
			}
			return nil
		})
		if err != nil {
			t.Error("stats:", err)
		}
		r := mustOK(t, ctd.crictl(nil, "statsp", "-o", "json", "--id", p.id))
		if !strings.Contains(r.Stdout, p.id) || !strings.Contains(r.Stdout, `"workingSetBytes"`) || !strings.Contains(r.Stdout, c) {
			t.Errorf("statsp: want the pod, its memory and its container in:\n%s", r.Stdout)
		}
	})
}

func TestUpdate(t *testing.T) {
	forEachHandler(t, func(t *testing.T, handler string) {
		p := runPod(t, handler, nsPod, nsContainer, nsPod)
		c := p.run(t, "c", nil, "sh", "-c", sleeper)
		pid := waitState(t, c, "CONTAINER_RUNNING").Info.Pid
		mustOK(t, ctd.crictl(nil, "update", "--memory", "67108864", "--cpu-quota", "50000", "--cpu-period", "100000", "--cpu-share", "512", c))
		for _, f := range []struct{ ctrl, file, want string }{
			{"memory", "memory.limit_in_bytes", "67108864"},
			{"cpu", "cpu.cfs_quota_us", "50000"},
			{"cpu", "cpu.cfs_period_us", "100000"},
			{"cpu", "cpu.shares", "512"},
		} {
			path, err := cgroupFile(pid, f.ctrl, f.file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(path, cgroupParent+"/") || !strings.Contains(path, c) {
				t.Errorf("the container's cgroup %s is not %s/...%s", path, cgroupParent, c)
			}
			if got := readTrim(path); got != f.want {
				t.Errorf("%s = %q after update, want %s", path, got, f.want)
			}
		}
		// And the container runs on: 32 MiB fit, 100 MiB get it OOM-killed.
		if out, code := execSync(t, c, "sh", "-c", "dd if=/dev/zero of=/dev/null bs=32M count=1 2>&1 | tail -1"); code != 0 {
			t.Errorf("32 MiB in a 64 MiB container: exit %d %s", code, out)
		}
	})
}

func TestStopGracePeriod(t *testing.T) {
	forEachHandler(t, func(t *testing.T, handler string) {
		p := runPod(t, handler, nsPod, nsContainer, nsPod)
		polite := p.run(t, "polite", nil, "sh", "-c", sleeper)
		stubborn := p.run(t, "stubborn", nil, "sh", "-c", `trap 'echo ignored-term' TERM; echo ready; while :; do sleep 1 & wait $!; done`)
		waitState(t, polite, "CONTAINER_RUNNING")
		waitState(t, stubborn, "CONTAINER_RUNNING")
		time.Sleep(300 * time.Millisecond) // the traps are set once "ready" is printed
		r := mustOK(t, ctd.crictl(nil, "stop", "--timeout", "10", polite))
		if r.Took > 5*time.Second {
			t.Errorf("a container that exits on TERM took %s to stop", r.Took)
		}
		if ci := inspect(t, polite); ci.Status.ExitCode != 0 {
			t.Errorf("polite: exit code %d, want 0", ci.Status.ExitCode)
		}
		if l := mustOK(t, ctd.crictl(nil, "logs", polite)).Stdout; !strings.Contains(l, "got-term") {
			t.Errorf("polite: no got-term in its log:\n%s", l)
		}
		r = mustOK(t, ctd.crictl(nil, "stop", "--timeout", "2", stubborn))
		if r.Took < 2*time.Second || r.Took > 10*time.Second {
			t.Errorf("stop --timeout 2 of a container ignoring TERM took %s", r.Took)
		}
		if ci := inspect(t, stubborn); ci.Status.ExitCode != 137 {
			t.Errorf("stubborn: exit code %d, want 137 (SIGKILL after the grace period)", ci.Status.ExitCode)
		}
		if l := mustOK(t, ctd.crictl(nil, "logs", stubborn)).Stdout; !strings.Contains(l, "ignored-term") {
			t.Errorf("stubborn: TERM was not delivered first:\n%s", l)
		}
	})
}

// TestManyPods: 20 pods of 2 containers each, created in parallel, all
// ready and running, then removed in parallel with nothing left.
func TestManyPods(t *testing.T) {
	forEachHandler(t, func(t *testing.T, handler string) {
		const n = 20
		pods := make([]*pod, n)
		var wg sync.WaitGroup
		errs := make(chan string, 4*n)
		start := time.Now()
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ft := &fatalCatcher{TB: t}
				defer func() {
					if r := recover(); r != nil && r != errFatal {
						panic(r)
					}
					if ft.msg != "" {
						errs <- fmt.Sprintf("pod %d: %s", i, ft.msg)
					}
				}()
				p := runPodNoCleanup(ft, handler)
				pods[i] = p
				a := p.run(ft, "a", nil, "sh", "-c", sleeper)
				b := p.run(ft, "b", nil, "sh", "-c", sleeper)
				waitState(ft, a, "CONTAINER_RUNNING")
				waitState(ft, b, "CONTAINER_RUNNING")
			}()
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
		t.Logf("%d pods x 2 containers running in %s", n, time.Since(start).Round(time.Millisecond))
		r := mustOK(t, ctd.crictl(nil, "pods", "--state", "ready", "--label", "husk-cri-burst=1", "-q"))
		if got := len(strings.Fields(r.Stdout)); got != n {
			t.Errorf("%d pods ready, want %d", got, n)
		}
		for _, p := range pods {
			if p == nil || p.id == "" {
				continue
			}
			r := mustOK(t, ctd.crictl(nil, "ps", "--pod", p.id, "--state", "running", "-q"))
			if got := len(strings.Fields(r.Stdout)); got != 2 {
				t.Errorf("pod %s: %d containers running, want 2", p.id, got)
			}
		}
		for _, p := range pods {
			if p == nil {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				ft := &fatalCatcher{TB: t}
				defer func() {
					if r := recover(); r != nil && r != errFatal {
						panic(r)
					}
					if ft.msg != "" {
						t.Errorf("removing pod %s: %s", p.name, ft.msg)
					}
				}()
				p.remove(ft)
			}()
		}
		wg.Wait()
	})
}

func runPodNoCleanup(t testing.TB, handler string) *pod {
	name := "burst-" + clientkit.Uniq()
	cfg := map[string]any{
		"metadata":      map[string]any{"name": name, "namespace": "husk-cri", "uid": name, "attempt": 0},
		"hostname":      name,
		"labels":        map[string]string{"husk-cri-burst": "1"},
		"log_directory": filepath.Join(workDir, "logs", name),
		"linux":         map[string]any{"cgroup_parent": cgroupParent},
	}
	p := &pod{handler: handler, name: name, cfgPath: writeJSON(t, name, cfg)}
	r := mustOK(t, ctd.crictl(nil, "runp", "--runtime", handler, p.cfgPath))
	p.id = strings.TrimSpace(r.Stdout)
	return p
}

// fatalCatcher lets helpers that call t.Fatal run in goroutines: Fatal
// records the message and unwinds with a panic the goroutine recovers.
type fatalCatcher struct {
	testing.TB
	mu  sync.Mutex
	msg string
}

var errFatal = &struct{ s string }{"fatal"}

func (f *fatalCatcher) Helper() {}
func (f *fatalCatcher) Fatalf(format string, args ...any) {
	f.Errorf(format, args...)
	panic(errFatal)
}
func (f *fatalCatcher) Fatal(args ...any) { f.Fatalf("%s", fmt.Sprint(args...)) }
func (f *fatalCatcher) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msg += fmt.Sprintf(format, args...) + "\n"
}
func (f *fatalCatcher) Error(args ...any) { f.Errorf("%s", fmt.Sprint(args...)) }
