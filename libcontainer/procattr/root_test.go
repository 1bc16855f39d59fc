package procattr

// Kernel tests: each applies attributes in a child (this test binary run
// again, see TestMain) on a locked thread, as the stages do, and reads them
// back with the kernel's own getters. The test process itself keeps its
// scheduling, memory policy and personality.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/internal/testutil"
)

const childEnv = "HUSK_PROCATTR_TEST_CHILD" // a childRequest as JSON

// childRequest is what a child applies; Report only reads.
type childRequest struct {
	Process *specs.Process
	Linux   *specs.Linux
	UID     int    // switch to this uid first (0: stay root)
	Steps   string // "apply", "final", "initial-fork" or "report"
}

// observed is what the kernel reports for the child's thread.
type observed struct {
	Error    string // Apply's error, if any
	Policy   uint32
	Flags    uint64
	Nice     int32
	Priority uint32
	Runtime  uint64
	Deadline uint64
	Period   uint64
	IOPrio   int
	CPUs     []int
	Persona  int
	Machine  string
	MemMode  int
	MemNodes []int
}

func TestMain(m *testing.M) {
	if req := os.Getenv(childEnv); req != "" {
		os.Exit(childMain(req))
	}
	os.Exit(m.Run())
}

func childMain(reqJSON string) int {
	runtime.LockOSThread()
	var req childRequest
	if err := json.Unmarshal([]byte(reqJSON), &req); err != nil {
		fmt.Println("bad request:", err)
		return 2
	}
	var obs *observed
	var err error
	if req.UID != 0 {
		err = unix.Setresuid(req.UID, req.UID, req.UID)
	}
	if err == nil {
		switch req.Steps {
		case "apply":
			err = Apply(req.Process, req.Linux)
		case "final":
			err = ApplyFinalAffinity(req.Process)
		case "initial-fork":
			// What the child of a thread with the initial mask sees.
			if err = ApplyInitialAffinity(req.Process); err == nil {
				obs, err = reportFromChild()
			}
		}
	}
	if obs == nil {
		obs = observe()
	}
	if err != nil {
		obs.Error = err.Error()
	}
	if err := json.NewEncoder(os.Stdout).Encode(obs); err != nil {
		return 2
	}
	return 0
}

// reportFromChild runs a grandchild that only reports; os/exec forks from
// the calling, locked thread.
func reportFromChild() (*observed, error) {
	req, _ := json.Marshal(childRequest{Steps: "report"})
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), childEnv+"="+string(req))
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var obs observed
	return &obs, json.Unmarshal(out, &obs)
}

// observe reads every attribute of the calling thread.
func observe() *observed {
	var obs observed
	if a, err := unix.SchedGetAttr(0, 0); err == nil {
		obs.Policy, obs.Flags, obs.Nice, obs.Priority = a.Policy, a.Flags, a.Nice, a.Priority
		obs.Runtime, obs.Deadline, obs.Period = a.Runtime, a.Deadline, a.Period
	}
	if v, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoProcess, 0, 0); errno == 0 {
		obs.IOPrio = int(v)
	}
	var cpus unix.CPUSet
	if unix.SchedGetaffinity(0, &cpus) == nil {
		for i := range len(cpus) * 64 {
			if cpus.IsSet(i) {
				obs.CPUs = append(obs.CPUs, i)
			}
		}
	}
	if v, _, errno := unix.Syscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0); errno == 0 {
		obs.Persona = int(v)
	}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		obs.Machine = unix.ByteSliceToString(u.Machine[:])
	}
	// get_mempolicy wants room for every possible node.
	nodes := make(bitmask, 1024/bits.UintSize)
	var mode int32
	if _, _, errno := unix.Syscall6(unix.SYS_GET_MEMPOLICY, uintptr(unsafe.Pointer(&mode)),
		uintptr(unsafe.Pointer(&nodes[0])), uintptr(nodes.nbits()+1), 0, 0, 0); errno == 0 {
		obs.MemMode = int(mode)
		obs.MemNodes = members(nodes)
	}
	return &obs
}

// inChild applies req in a fresh child and returns what it observed.
func inChild(t *testing.T, req childRequest) *observed {
	t.Helper()
	testutil.RequireRoot(t)
	if req.Steps == "" {
		req.Steps = "apply"
	}
	data, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(data))
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("child: %v\n%s%s", err, out, ee.Stderr)
		}
		t.Fatal(err)
	}
	var obs observed
	if err := json.Unmarshal(out, &obs); err != nil {
		t.Fatalf("child output: %v\n%s", err, out)
	}
	return &obs
}

// mustApply runs req in a child and fails on Apply's error; a realtime or
// deadline policy refused for want of a cgroup budget or of a full CPU
// mask skips instead: the host, not the code, lacks it.
func mustApply(t *testing.T, req childRequest) *observed {
	t.Helper()
	obs := inChild(t, req)
	if obs.Error != "" {
		if s := req.Process; s != nil && s.Scheduler != nil && strings.Contains(obs.Error, "operation not permitted") &&
			slices.Contains([]specs.LinuxSchedulerPolicy{specs.SchedFIFO, specs.SchedRR, specs.SchedDeadline}, s.Scheduler.Policy) {
			t.Skipf("%s refused to root here (RT group budget or CPU mask): %s", s.Scheduler.Policy, obs.Error)
		}
		t.Fatalf("apply: %s", obs.Error)
	}
	return obs
}

func TestKernelScheduler(t *testing.T) {
	for _, tc := range []struct {
		in   specs.Scheduler
		want unix.SchedAttr
	}{
		{specs.Scheduler{Policy: specs.SchedOther, Nice: 5}, unix.SchedAttr{Policy: unix.SCHED_NORMAL, Nice: 5}},
		{specs.Scheduler{Policy: specs.SchedOther, Nice: -7}, unix.SchedAttr{Policy: unix.SCHED_NORMAL, Nice: -7}},
		{specs.Scheduler{Policy: specs.SchedBatch, Nice: 10}, unix.SchedAttr{Policy: unix.SCHED_BATCH, Nice: 10}},
		{specs.Scheduler{Policy: specs.SchedIdle}, unix.SchedAttr{Policy: unix.SCHED_IDLE}},
		{specs.Scheduler{Policy: specs.SchedFIFO, Priority: 10}, unix.SchedAttr{Policy: unix.SCHED_FIFO, Priority: 10}},
		{
			specs.Scheduler{Policy: specs.SchedRR, Priority: 20, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagResetOnFork}},
			unix.SchedAttr{Policy: unix.SCHED_RR, Priority: 20, Flags: unix.SCHED_FLAG_RESET_ON_FORK},
		},
		{
			specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 1_000_000, Deadline: 5_000_000, Period: 100_000_000},
			unix.SchedAttr{Policy: unix.SCHED_DEADLINE, Runtime: 1_000_000, Deadline: 5_000_000, Period: 100_000_000},
		},
	} {
		t.Run(string(tc.in.Policy), func(t *testing.T) {
			obs := mustApply(t, childRequest{Process: &specs.Process{Scheduler: &tc.in}})
			got := unix.SchedAttr{
				Policy: obs.Policy, Flags: obs.Flags, Nice: obs.Nice, Priority: obs.Priority,
				Runtime: obs.Runtime, Deadline: obs.Deadline, Period: obs.Period,
			}
			// Since Linux 6.12 the runtime of a fair policy is its time
			// slice, reported even when left at the default.
			if got.Policy != unix.SCHED_DEADLINE {
				got.Runtime = 0
			}
			if got != tc.want {
				t.Errorf("sched_getattr after %+v: got %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}

// A user without CAP_SYS_NICE gets the kernel's refusal, naming the field.
func TestKernelSchedulerRefused(t *testing.T) {
	obs := inChild(t, childRequest{
		Process: &specs.Process{Scheduler: &specs.Scheduler{Policy: specs.SchedFIFO, Priority: 10}},
		UID:     65534,
	})
	want := "process.scheduler: sched_setattr SCHED_FIFO priority 10: operation not permitted"
	if obs.Error != want {
		t.Fatalf("error = %q, want %q", obs.Error, want)
	}
}

func TestKernelIOPriority(t *testing.T) {
	for _, tc := range []struct {
		in   specs.LinuxIOPriority
		want int
	}{
		{specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_RT, Priority: 2}, 1<<13 | 2},
		{specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 6}, 2<<13 | 6},
		{specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_IDLE, Priority: 0}, 3 << 13},
	} {
		t.Run(string(tc.in.Class), func(t *testing.T) {
			obs := mustApply(t, childRequest{Process: &specs.Process{IOPriority: &tc.in}})
			if obs.IOPrio != tc.want {
				t.Errorf("ioprio_get after %+v: got %#x, want %#x", tc.in, obs.IOPrio, tc.want)
			}
		})
	}
	obs := inChild(t, childRequest{
		Process: &specs.Process{IOPriority: &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_RT, Priority: 1}},
		UID:     65534,
	})
	if want := "process.ioPriority: ioprio_set IOPRIO_CLASS_RT priority 1: operation not permitted"; obs.Error != want {
		t.Errorf("RT class without privilege: error = %q, want %q", obs.Error, want)
	}
}

func TestKernelPersonality(t *testing.T) {
	obs := mustApply(t, childRequest{Linux: &specs.Linux{Personality: &specs.LinuxPersonality{Domain: specs.PerLinux32}}})
	if obs.Persona != 0x0008 {
		t.Errorf("personality after LINUX32: got %#x, want 0x8", obs.Persona)
	}
	if runtime.GOARCH == "amd64" && obs.Machine != "i686" {
		t.Errorf("uname machine under LINUX32: got %q, want i686", obs.Machine)
	}
	obs = mustApply(t, childRequest{Linux: &specs.Linux{Personality: &specs.LinuxPersonality{Domain: specs.PerLinux}}})
	if obs.Persona != 0 {
		t.Errorf("personality after LINUX: got %#x, want 0", obs.Persona)
	}
}

// onlineNodes are the memory nodes the kernel reports online.
func onlineNodes(t *testing.T) []int {
	t.Helper()
	data, err := os.ReadFile("/sys/devices/system/node/online")
	if err != nil {
		t.Skipf("no NUMA information: %v", err)
	}
	m, err := parseList(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	return members(m)
}

func TestKernelMemoryPolicy(t *testing.T) {
	node := fmt.Sprint(onlineNodes(t)[0])
	nodeSet := []int{onlineNodes(t)[0]}
	for _, tc := range []struct {
		in    specs.LinuxMemoryPolicy
		mode  int // with the flags the kernel reports
		nodes []int
	}{
		{specs.LinuxMemoryPolicy{Mode: specs.MpolDefault}, unix.MPOL_DEFAULT, nil},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolLocal}, unix.MPOL_LOCAL, nil},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolPreferred, Nodes: node}, unix.MPOL_PREFERRED, nodeSet},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: node}, unix.MPOL_BIND, nodeSet},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: node}, unix.MPOL_INTERLEAVE, nodeSet},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolPreferredMany, Nodes: node}, unix.MPOL_PREFERRED_MANY, nodeSet},
		{specs.LinuxMemoryPolicy{Mode: specs.MpolWeightedInterleave, Nodes: node}, unix.MPOL_WEIGHTED_INTERLEAVE, nodeSet},
		{
			specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: node, Flags: []specs.MemoryPolicyFlagType{specs.MpolFStaticNodes}},
			unix.MPOL_BIND | unix.MPOL_F_STATIC_NODES, nodeSet,
		},
		{
			specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: node, Flags: []specs.MemoryPolicyFlagType{specs.MpolFRelativeNodes}},
			unix.MPOL_INTERLEAVE | unix.MPOL_F_RELATIVE_NODES, nodeSet,
		},
		{
			specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: node, Flags: []specs.MemoryPolicyFlagType{specs.MpolFNumaBalancing}},
			unix.MPOL_BIND | unix.MPOL_F_NUMA_BALANCING, nodeSet,
		},
	} {
		t.Run(fmt.Sprint(tc.in.Mode, tc.in.Flags), func(t *testing.T) {
			obs := mustApply(t, childRequest{Linux: &specs.Linux{MemoryPolicy: &tc.in}})
			if obs.MemMode != tc.mode || !slices.Equal(obs.MemNodes, tc.nodes) {
				t.Errorf("get_mempolicy after %+v: got mode %#x nodes %v, want %#x %v",
					tc.in, obs.MemMode, obs.MemNodes, tc.mode, tc.nodes)
			}
		})
	}
}

// A node the host lacks is the kernel's to refuse, with the field named.
func TestKernelMemoryPolicyMissingNode(t *testing.T) {
	obs := inChild(t, childRequest{Linux: &specs.Linux{
		MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: "1023"},
	}})
	want := `linux.memoryPolicy: set_mempolicy MPOL_BIND nodes "1023" flags []: invalid argument`
	if obs.Error != want {
		t.Fatalf("error = %q, want %q", obs.Error, want)
	}
}

func TestKernelFinalAffinity(t *testing.T) {
	cpus := testutil.AllowedCPUs(t)
	last := cpus[len(cpus)-1]
	list := fmt.Sprint(last)
	if len(cpus) > 1 {
		list = fmt.Sprintf("%d,%d", cpus[0], last)
	}
	p := &specs.Process{ExecCPUAffinity: &specs.CPUAffinity{Initial: "0-4095", Final: list}}
	obs := mustApply(t, childRequest{Process: p, Steps: "final"})
	want := []int{cpus[0], last}
	if len(cpus) == 1 {
		want = cpus
	}
	if !slices.Equal(obs.CPUs, want) {
		t.Errorf("affinity after final %q: got %v, want %v", list, obs.CPUs, want)
	}
	// An empty final leaves the mask alone.
	p.ExecCPUAffinity.Final = ""
	if obs := mustApply(t, childRequest{Process: p, Steps: "final"}); !slices.Equal(obs.CPUs, cpus) {
		t.Errorf("affinity after an empty final: got %v, want %v", obs.CPUs, cpus)
	}
}

// The initial mask is set on the thread that forks the stage; the stage
// inherits it.
func TestKernelInitialAffinityInherited(t *testing.T) {
	cpus := testutil.AllowedCPUs(t)
	last := cpus[len(cpus)-1]
	p := &specs.Process{ExecCPUAffinity: &specs.CPUAffinity{Initial: fmt.Sprint(last)}}
	obs := mustApply(t, childRequest{Process: p, Steps: "initial-fork"})
	if !slices.Equal(obs.CPUs, []int{last}) {
		t.Errorf("affinity of a child forked after initial %d: got %v", last, obs.CPUs)
	}
}

func TestKernelAffinityRefused(t *testing.T) {
	p := &specs.Process{ExecCPUAffinity: &specs.CPUAffinity{Final: "65535"}}
	obs := inChild(t, childRequest{Process: p, Steps: "final"})
	want := "process.execCPUAffinity.final: sched_setaffinity 65535: invalid argument"
	if obs.Error != want {
		t.Fatalf("error = %q, want %q", obs.Error, want)
	}
}

// Everything at once, as the init stage does it.
func TestKernelApplyAll(t *testing.T) {
	node := onlineNodes(t)[0]
	obs := mustApply(t, childRequest{
		Process: &specs.Process{
			Scheduler:  &specs.Scheduler{Policy: specs.SchedBatch, Nice: 3},
			IOPriority: &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 7},
		},
		Linux: &specs.Linux{
			Personality:  &specs.LinuxPersonality{Domain: specs.PerLinux32},
			MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolBind, Nodes: fmt.Sprint(node)},
		},
	})
	if obs.Policy != unix.SCHED_BATCH || obs.Nice != 3 || obs.IOPrio != 2<<13|7 || obs.Persona != 8 ||
		obs.MemMode != unix.MPOL_BIND || !slices.Equal(obs.MemNodes, []int{node}) {
		t.Errorf("after Apply: %+v", obs)
	}
}
