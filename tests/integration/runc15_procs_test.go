package integration

// Process set-up where today's runc (1.5) is the reference: the process
// environment, pids limits of 0, device rules, CPU affinity under a
// restricted husk, memory policy and scheduler errors, fds the init keeps
// and debug logging.

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/internal/testutil"
)

// envLines returns the lines of `env` output that start with name=.
func envLines(out, name string) []string {
	var got []string
	for _, l := range lines(out) {
		if strings.HasPrefix(l, name+"=") {
			got = append(got, l)
		}
	}
	return got
}

// wantEnv fails unless name is set exactly once in out, to val.
func wantEnv(t *testing.T, out, name, val, what string) {
	t.Helper()
	got := envLines(out, name)
	if len(got) != 1 || got[0] != name+"="+val {
		t.Errorf("%s: %s entries %q, want exactly [%s=%s]\n%s", what, name, got, name, val, out)
	}
}

// An empty HOME in process.env is replaced by the user's home directory
// (also when an earlier entry set it), and a variable listed several times
// reaches the process once, with its last value: for the init and for exec.
func TestRunc15EnvHomeAndDuplicates(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/env")
	b.spec.Process.Env = append(b.spec.Process.Env, "HOME=", "ONE=one", "TWO=2", "ONE=two", "ONE=three")
	out := b.mustRun()
	wantEnv(t, out, "HOME", "/root", "run, empty HOME")
	wantEnv(t, out, "ONE", "three", "run, ONE set three times")
	wantEnv(t, out, "TWO", "2", "run")

	b2 := newBundle(t, "/bin/env")
	b2.spec.Process.Env = append(b2.spec.Process.Env, "HOME=/override", "HOME=")
	wantEnv(t, b2.mustRun(), "HOME", "/root", "run, HOME=/override then HOME=")

	b3 := newBundle(t)
	b3.spec.Process.Env = append(b3.spec.Process.Env, "HOME=")
	b3.startContainer()
	out = b3.mustRT("exec", "-e", "ONE=a", "-e", "ONE=b", "-e", "HOME=/x", "-e", "HOME=", b3.id, "/bin/env").Stdout
	wantEnv(t, out, "HOME", "/root", "exec, empty HOME")
	wantEnv(t, out, "ONE", "b", "exec, ONE set twice")
	b3.mustRT("kill", b3.id, "KILL")
}

// A pids limit of 0 (runtime-spec 1.3) is applied as runc 1.5 applies it:
// pids.max 1, so the init runs but can't fork; `update --pids-limit 0`
// writes 1 as well.
func TestRunc15PidsLimitZero(t *testing.T) {
	t.Parallel()
	// busybox sh gives up at the first fork it can't make.
	b := newBundle(t, "/bin/sh", "-c", "echo started; /bin/true && echo forked")
	b.spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(0))}}
	b.mustCreate()
	got, err := os.ReadFile(filepath.Join(b.cgroupDir(pidsSubsystem()), "pids.max"))
	if err != nil || strings.TrimSpace(string(got)) != "1" {
		t.Errorf("pids limit 0: pids.max %q (%v), want 1", got, err)
	}
	b.mustRT("start", b.id)
	b.waitOutput("started")
	b.waitStatus(specs.StateStopped)
	if out := b.output(); strings.Contains(out, "forked") {
		t.Errorf("the container forked under a pids limit of 0: %q", out)
	}

	b2 := newBundle(t)
	b2.startContainer()
	b2.mustRT("update", "--pids-limit", "0", b2.id)
	got, err = os.ReadFile(filepath.Join(b2.cgroupDir(pidsSubsystem()), "pids.max"))
	if err != nil || strings.TrimSpace(string(got)) != "1" {
		t.Errorf("update --pids-limit 0: pids.max %q (%v), want 1", got, err)
	}
	if out := b2.rt("exec", b2.id, "/bin/true"); out.Code == 0 {
		t.Errorf("exec succeeded under a pids limit of 0: %s", out)
	}
	b2.mustRT("kill", b2.id, "KILL")
}

// pidsSubsystem is where pids.max is: the v1 pids hierarchy, or the v2 one.
func pidsSubsystem() string {
	for _, ss := range cgroupSubsystems {
		if ss == "pids" {
			return ss
		}
	}
	return ""
}

// Device rules with letters runc ignores ("rwa", as runc's own tests
// write it) are taken: the rule is applied as "rw". Here, a deny of
// /dev/kmsg under a deny-all default: the container can't read it and
// /dev/null keeps working, also across updates.
func TestRunc15DeviceAccessRWA(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/sh", "-c", "head -c 10 /dev/kmsg >/dev/null 2>&1 && echo kmsg-read; echo ok >/dev/null && echo null-ok")
	b.spec.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: false, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(11)), Access: "rwa"},
	}}
	b.spec.Linux.Devices = append(b.spec.Linux.Devices, specs.LinuxDevice{Path: "/dev/kmsg", Type: "c", Major: 1, Minor: 11})
	out := b.mustRun()
	if strings.Contains(out, "kmsg-read") || !strings.Contains(out, "null-ok") {
		t.Errorf("device rules with access \"rwa\": container saw %q, want /dev/kmsg denied and /dev/null usable", out)
	}

	b2 := newBundle(t)
	b2.spec.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
		{Allow: false, Access: "rwm"},
		{Allow: false, Type: "c", Major: ptr(int64(1)), Minor: ptr(int64(11)), Access: "rwa"},
	}}
	b2.startContainer()
	b2.mustRT("update", "--pids-limit", "30", b2.id)
	if out := b2.mustRT("exec", b2.id, "/bin/sh", "-c", "echo x >/dev/null && echo null-ok").Stdout; !strings.Contains(out, "null-ok") {
		t.Errorf("after update: %q", out)
	}
	b2.mustRT("kill", b2.id, "KILL")
}

// exec --cgroup outside the container's cgroup is refused, in runc's words.
func TestRunc15ExecCgroupOutside(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.startContainer()
	r := b.rt("exec", "--cgroup", "..", b.id, "/bin/true")
	if r.Code == 0 {
		t.Fatalf("exec --cgroup .. succeeded: %s", r)
	}
	mustContain(t, r.Out(), "bad sub cgroup path", "exec --cgroup ..")
	b.mustRT("kill", b.id, "KILL")
}

// A created container's init, waiting for start, holds no directory of
// procfs (a /proc/1/fd handle that rootfs set-up used, seen from outside
// as "/1/fd"): runc's create.bats checks every fd it holds.
func TestRunc15CreatedInitFds(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.mustCreate()
	st := b.state()
	dir := fmt.Sprintf("/proc/%d/fd", st.Pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	procDir := regexp.MustCompile(`^(/proc)?/[0-9]+/(task/[0-9]+/)?fd$`)
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		if procDir.MatchString(target) && target != "/1/task/1/fd" && target != "/proc/1/task/1/fd" {
			t.Errorf("the created init holds fd %s -> %q", e.Name(), target)
		}
	}
}

// restrictedRuntime is a wrapper that runs the runtime under `taskset -c
// cpu`, as runc's cpu_affinity.bats does.
func restrictedRuntime(t *testing.T, cpu int) string {
	t.Helper()
	if _, err := exec.LookPath("taskset"); err != nil {
		t.Skip("needs taskset (util-linux)")
	}
	w := filepath.Join(t.TempDir(), "restricted-runtime")
	writeFile(t, w, fmt.Sprintf("#!/bin/sh\nexec taskset -c %d %s \"$@\"\n", cpu, runtimeBin), 0o755)
	return w
}

// cgroupCPUs is the cpuset the container's cgroup gives, as a list.
func (b *bundle) cgroupCPUs() string {
	b.t.Helper()
	file := filepath.Join(b.cgroupDir("cpuset"), "cpuset.effective_cpus")
	if cgroupSubsystems[0] == "" {
		file = filepath.Join(b.cgroupDir(""), "cpuset.cpus.effective")
	}
	data, err := os.ReadFile(file)
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// A runtime running on one CPU (`taskset -c 0 husk ...`) does not pass its
// mask on: the container's init and an exec'd process get the cpuset of the
// container's cgroup, and execCPUAffinity's final mask still applies.
func TestRunc15CPUAffinityReset(t *testing.T) {
	t.Parallel()
	cpus := testutil.AllowedCPUs(t)
	if len(cpus) < 2 {
		t.Skip("needs two CPUs")
	}
	first, last := cpus[0], cpus[len(cpus)-1]
	o := opts{binary: restrictedRuntime(t, first)}
	b := newBundle(t, "/bin/sh", "-c", "echo init=$(/helper affinity); exec /helper sleep 600")
	b.save()
	if r := b.rtOpts(opts{binary: o.binary, outFile: b.outPath}, "create", "--bundle", b.dir, b.id); r.Code != 0 {
		t.Fatalf("create under taskset: %s", r)
	}
	if r := b.rtOpts(o, "start", b.id); r.Code != 0 {
		t.Fatalf("start under taskset: %s", r)
	}
	want := b.cgroupCPUs()
	if want == strconv.Itoa(first) {
		t.Skipf("the container's cpuset is %s: nothing to reset to", want)
	}
	out := b.waitOutput("init=")
	if got := strings.TrimSpace(strings.TrimPrefix(lines(out)[0], "init=")); got != want {
		t.Errorf("init under taskset -c %d: affinity %q, want the cgroup's %q", first, got, want)
	}

	r := b.rtOpts(o, "exec", b.id, "/helper", "affinity")
	if r.Code != 0 {
		t.Fatalf("exec under taskset: %s", r)
	}
	if got := strings.TrimSpace(r.Stdout); got != want {
		t.Errorf("exec under taskset -c %d: affinity %q, want the cgroup's %q", first, got, want)
	}

	for _, tc := range []struct {
		aff  specs.CPUAffinity
		want string
	}{
		{specs.CPUAffinity{Initial: strconv.Itoa(first), Final: strconv.Itoa(last)}, strconv.Itoa(last)},
		{specs.CPUAffinity{Initial: strconv.Itoa(first)}, want},
	} {
		p := specs.Process{Args: []string{"/helper", "affinity"}, Env: []string{"PATH=/bin"}, Cwd: "/", ExecCPUAffinity: &tc.aff}
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		pf := filepath.Join(t.TempDir(), "process.json")
		writeFile(t, pf, string(data), 0o644)
		r := b.rtOpts(o, "exec", "--process", pf, b.id)
		if r.Code != 0 {
			t.Fatalf("exec --process under taskset: %s", r)
		}
		if got := strings.TrimSpace(r.Stdout); got != tc.want {
			t.Errorf("exec --process with execCPUAffinity %+v under taskset -c %d: affinity %q, want %q", tc.aff, first, got, tc.want)
		}
	}
	b.mustRT("kill", b.id, "KILL")
}

// A memory policy the kernel can't take is refused in runc 1.5's words
// (which its users and tests match), beside the field husk names.
func TestRunc15MemoryPolicyErrors(t *testing.T) {
	needProcAttrs(t)
	t.Parallel()
	for _, tc := range []struct {
		name  string
		mp    specs.LinuxMemoryPolicy
		field string
		want  string
	}{
		{"empty", specs.LinuxMemoryPolicy{}, "linux.memoryPolicy.mode", "invalid memory policy"},
		{"unknown mode", specs.LinuxMemoryPolicy{Mode: "INTERLEAVE", Nodes: "0"}, "linux.memoryPolicy.mode", "invalid memory policy mode"},
		{"missing mode", specs.LinuxMemoryPolicy{Nodes: "0-7"}, "linux.memoryPolicy.mode", "invalid memory policy mode"},
		{"invalid flag", specs.LinuxMemoryPolicy{Mode: specs.MpolPreferred, Nodes: "0", Flags: []specs.MemoryPolicyFlagType{specs.MpolFRelativeNodes, "badflag"}}, "linux.memoryPolicy.flags", "invalid memory policy flag"},
		{"nodes for default", specs.LinuxMemoryPolicy{Mode: specs.MpolDefault, Nodes: "0-7"}, "linux.memoryPolicy.nodes", "mode requires 0 nodes but got 8"},
		{"too large a node", specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "0-9876543210"}, "linux.memoryPolicy.nodes", "invalid memory policy node"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/bin/true")
			b.spec.Linux.MemoryPolicy = &tc.mp
			r := b.run()
			if r.Code == 0 {
				t.Fatalf("memory policy %+v was taken: %s", tc.mp, r)
			}
			mustContain(t, r.Stderr, tc.want, "runc's words")
			mustContain(t, r.Stderr, tc.field, "the field")
		})
	}
}

// SCHED_DEADLINE in a cgroup with a cpuset of its own is refused by the
// kernel; the error says why, as runc's does.
func TestRunc15SchedulerVsCpus(t *testing.T) {
	needProcAttrs(t)
	t.Parallel()
	if len(testutil.AllowedCPUs(t)) < 2 {
		t.Skip("needs two CPUs")
	}
	b := newBundle(t, "/bin/true")
	b.spec.Linux.Resources = &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: strconv.Itoa(testutil.AllowedCPUs(t)[0])}}
	b.spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedDeadline, Nice: 19, Runtime: 42000, Deadline: 1000000, Period: 1000000}
	r := b.run()
	if r.Code == 0 {
		t.Skipf("this kernel takes SCHED_DEADLINE in a partial cpuset: %s", r)
	}
	mustContain(t, r.Stderr, "process scheduler can't be used together with AllowedCPUs", "scheduler with a cpuset")
	mustContain(t, r.Stderr, "process.scheduler", "scheduler with a cpuset")
}

// --debug logs what each step of create, start and exec does at debug
// level, husk's steps and the stage's inside the container, to stderr or
// to --log, as text or JSON; without --debug nothing at debug level.
func TestRunc15DebugLog(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/echo", "Hello World")
	r := b.runOpts(opts{global: []string{"--debug"}})
	if r.Code != 0 || !strings.Contains(r.Stdout, "Hello World") {
		t.Fatalf("--debug run: %s", r)
	}
	for _, step := range []string{"create " + b.id + ":", "init: preparing the root filesystem", "init: process /bin/echo ready", "start " + b.id + ":"} {
		if !regexp.MustCompile(`(?m)^time=\S+ level=debug msg=".*` + regexp.QuoteMeta(step)).MatchString(r.Stderr) {
			t.Errorf("--debug run: no level=debug line for %q on stderr:\n%s", step, r.Stderr)
		}
	}
	if strings.Contains(r.Stdout, "level=debug") {
		t.Errorf("debug lines reached the container's stdout: %q", r.Stdout)
	}

	for _, format := range []string{"text", "json"} {
		b := newBundle(t, "/bin/echo", "Hello World")
		log := filepath.Join(t.TempDir(), "log.out")
		r := b.runOpts(opts{global: []string{"--log", log, "--log-format", format, "--debug"}})
		if r.Code != 0 {
			t.Fatalf("--debug --log --log-format %s run: %s", format, r)
		}
		if strings.Contains(r.Out(), "level=debug") || strings.Contains(r.Out(), `"level":"debug"`) {
			t.Errorf("--log %s: debug lines went to the output too: %s", format, r)
		}
		data, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		var stages int
		for _, l := range lines(string(data)) {
			if format == "json" {
				var m map[string]string
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Errorf("--log-format json: line %q: %v", l, err)
					continue
				}
				if m["level"] == "debug" && strings.HasPrefix(m["msg"], "init") {
					stages++
				}
			} else if strings.Contains(l, "level=debug") && strings.Contains(l, `msg="init`) {
				stages++
			}
		}
		if stages == 0 {
			t.Errorf("--log-format %s: no debug line from the init stage in the log:\n%s", format, data)
		}
	}

	b2 := newBundle(t)
	b2.startContainer()
	r = b2.rtOpts(opts{global: []string{"--debug"}}, "exec", b2.id, "/bin/true")
	if r.Code != 0 {
		t.Fatalf("--debug exec: %s", r)
	}
	mustContain(t, r.Stderr, "level=debug", "--debug exec")
	mustContain(t, r.Stderr, "exec stage: executing /bin/true", "--debug exec")
	r = b2.rt("exec", b2.id, "/bin/true")
	if r.Code != 0 || strings.Contains(r.Out(), "level=debug") {
		t.Errorf("exec without --debug: %s", r)
	}
	b2.mustRT("kill", b2.id, "KILL")
}
