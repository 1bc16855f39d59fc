package integration

// Process attributes: process.scheduler, process.ioPriority,
// process.execCPUAffinity, linux.personality and linux.memoryPolicy, each
// read back from inside the container by the helper.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/internal/testutil"
)

var (
	featuresOnce sync.Once
	featuresDoc  *features.Features
	featuresSkip string
)

// runtimeFeatures is `<runtime> features`, read once; the test is skipped
// when it cannot be had.
func runtimeFeatures(t *testing.T) *features.Features {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	featuresOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		defer cancel()
		out, err := exec.CommandContext(ctx, runtimeBin, "features").Output()
		if err != nil {
			featuresSkip = fmt.Sprintf("`%s features`: %v", runtimeBin, err)
			return
		}
		var f features.Features
		if err := json.Unmarshal(out, &f); err != nil {
			featuresSkip = fmt.Sprintf("`%s features` output does not decode: %v", runtimeBin, err)
			return
		}
		featuresDoc = &f
	})
	if featuresSkip != "" {
		t.Skip(featuresSkip)
	}
	return featuresDoc
}

// needProcAttrs skips the test unless `<runtime> features` reports
// linux.memoryPolicy, which husk lists once its stages apply the process
// attributes (libcontainer/procattr).
func needProcAttrs(t *testing.T) *features.MemoryPolicy {
	t.Helper()
	f := runtimeFeatures(t)
	if f.Linux == nil || f.Linux.MemoryPolicy == nil {
		t.Skip("the runtime does not apply the process attributes yet (`features`: no linux.memoryPolicy)")
	}
	return f.Linux.MemoryPolicy
}

// fields parses the helper's "key=value key=value" lines.
func fields(out string) map[string]string {
	m := map[string]string{}
	for _, f := range strings.Fields(out) {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = v
		}
	}
	return m
}

// mustHave fails unless the helper's output has every key=value of want.
func mustHave(t *testing.T, out string, want map[string]string, what string) {
	t.Helper()
	got := fields(out)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s=%q, want %q (output: %q)", what, k, got[k], v, strings.TrimSpace(out))
		}
	}
}

// firstNode is the lowest online memory node of the host.
func firstNode(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("/sys/devices/system/node/online")
	if err != nil {
		t.Skipf("no NUMA information: %v", err)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(data)), ",")
	first, _, _ = strings.Cut(first, "-")
	return first
}

// execProcess runs `exec --process` with p, args replaced.
func (b *bundle) execProcess(p specs.Process, args ...string) *result {
	b.t.Helper()
	p.Args = args
	if p.Env == nil {
		p.Env = []string{"PATH=/bin"}
	}
	if p.Cwd == "" {
		p.Cwd = "/"
	}
	data, err := json.Marshal(p)
	if err != nil {
		b.t.Fatal(err)
	}
	path := filepath.Join(b.t.TempDir(), "process.json")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return b.execIn([]string{"--process", path})
}

func TestProcAttrFeatures(t *testing.T) {
	mp := needProcAttrs(t)
	modes := []string{
		"MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
		"MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL",
	}
	for _, m := range modes {
		if !slices.Contains(mp.Modes, m) {
			t.Errorf("features linux.memoryPolicy.modes lacks %s: %v", m, mp.Modes)
		}
	}
	for _, f := range []string{"MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"} {
		if !slices.Contains(mp.Flags, f) {
			t.Errorf("features linux.memoryPolicy.flags lacks %s: %v", f, mp.Flags)
		}
	}
}

func TestProcAttrScheduler(t *testing.T) {
	needProcAttrs(t)
	t.Parallel()
	for _, tc := range []struct {
		name  string
		sched specs.Scheduler
		user  specs.User
		want  map[string]string
	}{
		{"batch", specs.Scheduler{Policy: specs.SchedBatch, Nice: 7}, specs.User{}, map[string]string{"policy": "SCHED_BATCH", "nice": "7"}},
		{"idle", specs.Scheduler{Policy: specs.SchedIdle}, specs.User{}, map[string]string{"policy": "SCHED_IDLE"}},
		{
			"reset on fork", specs.Scheduler{Policy: specs.SchedOther, Nice: 2, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}},
			specs.User{}, map[string]string{"policy": "SCHED_OTHER", "nice": "2", "flags": "0x1"},
		},
		// A negative nice value takes CAP_SYS_NICE, which neither the
		// default capabilities nor uid 1000 have: the runtime sets it
		// before it drops them.
		{"negative nice", specs.Scheduler{Policy: specs.SchedOther, Nice: -5}, specs.User{}, map[string]string{"policy": "SCHED_OTHER", "nice": "-5"}},
		{"negative nice as uid 1000", specs.Scheduler{Policy: specs.SchedOther, Nice: -5}, specs.User{UID: 1000, GID: 1000}, map[string]string{"nice": "-5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/helper", "sched")
			b.spec.Process.Scheduler = &tc.sched
			b.spec.Process.User = tc.user
			mustHave(t, b.mustRun(), tc.want, "process.scheduler "+tc.name)
		})
	}
}

// giveRealtimeBudget lets the container's cgroup have a realtime budget on
// cgroup v1 kernels with CONFIG_RT_GROUP_SCHED, where a cgroup without one
// cannot run realtime tasks, and asks for one in the spec.
func giveRealtimeBudget(t *testing.T, b *bundle) {
	t.Helper()
	parent := filepath.Join("/sys/fs/cgroup/cpu", cgroupParent)
	if _, err := os.Stat("/sys/fs/cgroup/cpu/cpu.rt_runtime_us"); err != nil {
		return
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	// Children's budgets must fit in their parent's.
	if err := os.WriteFile(filepath.Join(parent, "cpu.rt_runtime_us"), []byte("100000"), 0o644); err != nil {
		t.Skipf("cannot give %s a realtime budget: %v", parent, err)
	}
	if b.spec.Linux.Resources == nil {
		b.spec.Linux.Resources = &specs.LinuxResources{}
	}
	b.spec.Linux.Resources.CPU = &specs.LinuxCPU{RealtimeRuntime: ptr(int64(10000)), RealtimePeriod: ptr(uint64(1000000))}
}

func TestProcAttrSchedulerRealtime(t *testing.T) {
	needProcAttrs(t)
	t.Parallel()
	b := newBundle(t, "/helper", "sched")
	giveRealtimeBudget(t, b)
	b.spec.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedRR, Priority: 5}
	mustHave(t, b.mustRun(), map[string]string{"policy": "SCHED_RR", "priority": "5"}, "process.scheduler SCHED_RR")
}

func TestProcAttrIOPriority(t *testing.T) {
	needProcAttrs(t)
	t.Parallel()
	for _, prio := range []specs.LinuxIOPriority{
		{Class: specs.IOPRIO_CLASS_BE, Priority: 6},
		{Class: specs.IOPRIO_CLASS_IDLE, Priority: 0},
		// The realtime class takes CAP_SYS_ADMIN or CAP_SYS_NICE.
		{Class: specs.IOPRIO_CLASS_RT, Priority: 3},
	} {
		t.Run(string(prio.Class), func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/helper", "ioprio")
			b.spec.Process.IOPriority = &prio
			want := map[string]string{"class": string(prio.Class), "priority": strconv.Itoa(prio.Priority)}
			mustHave(t, b.mustRun(), want, "process.ioPriority")
		})
	}
}

func TestProcAttrPersonality(t *testing.T) {
	needProcAttrs(t)
	t.Parallel()
	if runtime.GOARCH != "amd64" {
		t.Skip("LINUX32 is checked on amd64, where uname then reports i686")
	}
	b := newBundle(t, "/helper", "personality")
	b.spec.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
	mustHave(t, b.mustRun(), map[string]string{"persona": "0x8", "machine": "i686"}, "linux.personality LINUX32")
}

func TestProcAttrMemoryPolicy(t *testing.T) {
	needProcAttrs(t)
	t.Parallel()
	node := firstNode(t)
	for _, tc := range []struct {
		policy specs.LinuxMemoryPolicy
		want   map[string]string
	}{
		{
			specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: node, Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}},
			map[string]string{"mode": "MPOL_BIND", "flags": "MPOL_F_STATIC_NODES", "nodes": node},
		},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: node}, map[string]string{"mode": "MPOL_INTERLEAVE", "flags": "", "nodes": node}},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolLocal}, map[string]string{"mode": "MPOL_LOCAL", "nodes": ""}},
	} {
		t.Run(string(tc.policy.Mode), func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/helper", "mempolicy")
			b.spec.Linux.MemoryPolicy = &tc.policy
			mustHave(t, b.mustRun(), tc.want, "linux.memoryPolicy")
		})
	}
}

// execCPUAffinity is for exec'd processes: the init keeps the runtime's
// mask, an exec gets the final one, from config.json or its own process.
func TestProcAttrExecCPUAffinity(t *testing.T) {
	needProcAttrs(t)
	t.Parallel()
	cpus := testutil.AllowedCPUs(t)
	if len(cpus) < 2 {
		t.Skip("needs two CPUs")
	}
	first, last := strconv.Itoa(cpus[0]), strconv.Itoa(cpus[len(cpus)-1])
	b := newBundle(t)
	b.spec.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: first, Final: last}
	st := b.startContainer()

	var initSet unix.CPUSet
	if err := unix.SchedGetaffinity(st.Pid, &initSet); err != nil {
		t.Fatal(err)
	}
	if initSet.Count() != len(cpus) {
		t.Errorf("the init runs on %d CPUs, want the runtime's %d: execCPUAffinity is not for the init", initSet.Count(), len(cpus))
	}
	if got := strings.TrimSpace(b.mustExec(nil, "/helper", "affinity")); got != last {
		t.Errorf("exec inheriting config.json's execCPUAffinity: affinity %q, want %q", got, last)
	}
	p := specs.Process{ExecCPUAffinity: &specs.CPUAffinity{Initial: last, Final: first}}
	r := b.execProcess(p, "/helper", "affinity")
	if r.Code != 0 {
		t.Fatalf("exec --process with execCPUAffinity: %s", r)
	}
	if got := strings.TrimSpace(r.Stdout); got != first {
		t.Errorf("exec --process with final %s: affinity %q", first, got)
	}
}

// An exec'd process gets its own scheduler and I/O priority, and the
// container's personality and memory policy.
func TestProcAttrExec(t *testing.T) {
	needProcAttrs(t)
	t.Parallel()
	node := firstNode(t)
	b := newBundle(t)
	b.spec.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: node}
	if runtime.GOARCH == "amd64" {
		b.spec.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
	}
	b.startContainer()
	p := specs.Process{
		Scheduler:  &specs.Scheduler{Policy: specs.SchedBatch, Nice: -3},
		IOPriority: &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 1},
	}
	r := b.execProcess(p, "/bin/sh", "-c", "/helper sched; /helper ioprio; /helper mempolicy; /helper personality")
	if r.Code != 0 {
		t.Fatalf("exec: %s", r)
	}
	out := lines(r.Stdout)
	if len(out) != 4 {
		t.Fatalf("exec output: %q", out)
	}
	mustHave(t, out[0], map[string]string{"policy": "SCHED_BATCH", "nice": "-3"}, "exec process.scheduler")
	mustHave(t, out[1], map[string]string{"class": "IOPRIO_CLASS_BE", "priority": "1"}, "exec process.ioPriority")
	mustHave(t, out[2], map[string]string{"mode": "MPOL_BIND", "nodes": node}, "exec linux.memoryPolicy")
	if runtime.GOARCH == "amd64" {
		mustHave(t, out[3], map[string]string{"persona": "0x8", "machine": "i686"}, "exec linux.personality")
	}
}

// Bad values fail create (or exec) naming the field, before anything runs.
func TestProcAttrInvalid(t *testing.T) {
	needProcAttrs(t)
	t.Parallel()
	for _, tc := range []struct {
		field string
		spoil func(*specs.Spec)
	}{
		{"process.scheduler", func(s *specs.Spec) { s.Process.Scheduler = &specs.Scheduler{Policy: specs.SchedFIFO} }},
		{"process.ioPriority", func(s *specs.Spec) { s.Process.IOPriority = &specs.LinuxIOPriority{Class: "IOPRIO_CLASS_X"} }},
		{"process.execCPUAffinity", func(s *specs.Spec) { s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "1-"} }},
		{"linux.personality", func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: "LINUX64"} }},
		{"linux.memoryPolicy", func(s *specs.Spec) { s.Linux.MemoryPolicy = &specs.LinuxMemoryPolicy{Mode: specs.MpolBind} }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t)
			tc.spoil(b.spec)
			r := b.create()
			checkCreateFailedClean(t, b, r)
			if !isRunc() {
				mustContain(t, r.Stderr, tc.field, "create error")
			}
		})
	}
	t.Run("exec", func(t *testing.T) {
		t.Parallel()
		b := newBundle(t)
		b.startContainer()
		r := b.execProcess(specs.Process{Scheduler: &specs.Scheduler{Policy: specs.SchedOther, Nice: 20}}, "/helper", "sched")
		if r.Code == 0 {
			t.Fatalf("exec with nice 20 should fail: %s", r)
		}
		if !isRunc() {
			mustContain(t, r.Stderr, "process.scheduler", "exec error")
		}
	})
}

// needLSMSupport skips the test unless `<runtime> features` reports
// support for the LSM compiled in (linux.apparmor or linux.selinux), and
// unless the host lacks that LSM: these tests check the refusal.
func needLSMSupport(t *testing.T, name string) {
	t.Helper()
	f := runtimeFeatures(t)
	var enabled *bool
	if f.Linux != nil && name == "AppArmor" && f.Linux.Apparmor != nil {
		enabled = f.Linux.Apparmor.Enabled
	}
	if f.Linux != nil && name == "SELinux" && f.Linux.Selinux != nil {
		enabled = f.Linux.Selinux.Enabled
	}
	if enabled == nil || !*enabled {
		t.Skipf("the runtime does not support %s yet (`features`)", name)
	}
	if isRunc() {
		t.Skip("checks husk's refusal of a label the host cannot apply")
	}
	if hostHasLSM(name) {
		t.Skipf("%s is active on this host: this test needs a host without it", name)
	}
}

func hostHasLSM(name string) bool {
	if name == "AppArmor" {
		data, _ := os.ReadFile("/sys/module/apparmor/parameters/enabled")
		return strings.TrimSpace(string(data)) == "Y"
	}
	_, err := os.Stat("/sys/fs/selinux/enforce")
	return err == nil
}

const testSELinuxLabel = "system_u:system_r:container_t:s0:c1,c2"

// A profile or label the host cannot apply fails create, naming the field,
// rather than running the container unconfined.
func TestLSMWithoutHostSupport(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lsm   string
		spoil func(*specs.Spec)
		want  string
	}{
		{"AppArmor", func(s *specs.Spec) { s.Process.ApparmorProfile = "husk-test" }, "process.apparmorProfile: AppArmor is not enabled on this host"},
		{"SELinux", func(s *specs.Spec) { s.Process.SelinuxLabel = testSELinuxLabel }, "process.selinuxLabel: SELinux is not enabled on this host"},
		{"SELinux", func(s *specs.Spec) { s.Linux.MountLabel = testSELinuxLabel }, "linux.mountLabel: SELinux is not enabled on this host"},
	} {
		t.Run(tc.want[:strings.Index(tc.want, ":")], func(t *testing.T) {
			needLSMSupport(t, tc.lsm)
			t.Parallel()
			b := newBundle(t)
			tc.spoil(b.spec)
			r := b.create()
			checkCreateFailedClean(t, b, r)
			mustContain(t, r.Stderr, tc.want, "create error")
		})
	}
}

func TestLSMExecWithoutHostSupport(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		lsm, flag, want string
	}{
		{"AppArmor", "--apparmor=husk-test", "process.apparmorProfile: AppArmor is not enabled on this host"},
		{"SELinux", "--process-label=" + testSELinuxLabel, "process.selinuxLabel: SELinux is not enabled on this host"},
	} {
		t.Run(tc.lsm, func(t *testing.T) {
			needLSMSupport(t, tc.lsm)
			t.Parallel()
			b := newBundle(t)
			b.startContainer()
			r := b.execIn([]string{tc.flag}, "/helper", "pid")
			if r.Code == 0 {
				t.Fatalf("exec %s should fail on a host without %s: %s", tc.flag, tc.lsm, r)
			}
			mustContain(t, r.Stderr, tc.want, "exec error")
		})
	}
}
