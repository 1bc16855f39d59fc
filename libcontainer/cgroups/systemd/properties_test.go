package systemd

import (
	"fmt"
	"math"
	"strings"
	"testing"

	sddbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func ptr[T any](v T) *T { return &v }

// show renders properties as "Name=sig:value" for comparisons.
func show(props []Property) string {
	var out []string
	for _, p := range props {
		out = append(out, fmt.Sprintf("%s=%s:%v", p.Name, p.Value.Signature(), p.Value.Value()))
	}
	return strings.Join(out, " ")
}

func TestResourceProperties(t *testing.T) {
	max := uint64(math.MaxUint64)
	for _, c := range []struct {
		name string
		r    *specs.LinuxResources
		v2   bool
		want string
	}{
		{"nil", nil, true, ""},
		{"empty", &specs.LinuxResources{}, true, ""},
		{"memory v2", &specs.LinuxResources{Memory: &specs.LinuxMemory{
			Limit: ptr(int64(64 << 20)), Reservation: ptr(int64(32 << 20)), Swap: ptr(int64(96 << 20)),
		}}, true, "MemoryMax=t:67108864 MemoryLow=t:33554432 MemorySwapMax=t:33554432"},
		{"memory unlimited v2", &specs.LinuxResources{Memory: &specs.LinuxMemory{
			Limit: ptr(int64(-1)), Swap: ptr(int64(-1)),
		}}, true, fmt.Sprintf("MemoryMax=t:%d MemorySwapMax=t:%d", max, max)},
		{"swap below limit is left to cgroupfs", &specs.LinuxResources{Memory: &specs.LinuxMemory{
			Limit: ptr(int64(64 << 20)), Swap: ptr(int64(32 << 20)),
		}}, true, "MemoryMax=t:67108864"},
		{"memory v1", &specs.LinuxResources{Memory: &specs.LinuxMemory{
			Limit: ptr(int64(64 << 20)), Reservation: ptr(int64(1)), Swap: ptr(int64(96 << 20)),
		}}, false, "MemoryLimit=t:67108864"},
		{"cpu v2", &specs.LinuxResources{CPU: &specs.LinuxCPU{
			Shares: ptr(uint64(1024)), Quota: ptr(int64(50000)), Period: ptr(uint64(100000)), Cpus: "0-2,4", Mems: "0",
		}}, true, "CPUWeight=t:39 CPUQuotaPerSecUSec=t:500000 CPUQuotaPeriodUSec=t:100000 AllowedCPUs=ay:[23] AllowedMemoryNodes=ay:[1]"},
		{"cpu quota rounds up, default period", &specs.LinuxResources{CPU: &specs.LinuxCPU{
			Quota: ptr(int64(33333)),
		}}, true, "CPUQuotaPerSecUSec=t:333330"},
		{"cpu quota odd period rounds up", &specs.LinuxResources{CPU: &specs.LinuxCPU{
			Quota: ptr(int64(1)), Period: ptr(uint64(300000)),
		}}, true, "CPUQuotaPerSecUSec=t:4 CPUQuotaPeriodUSec=t:300000"},
		{"cpu unlimited", &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr(int64(-1))}}, true,
			fmt.Sprintf("CPUQuotaPerSecUSec=t:%d", max)},
		{"cpu v1", &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: ptr(uint64(512)), Cpus: "1"}}, false, "CPUShares=t:512"},
		{"pids", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(100))}}, true, "TasksMax=t:100"},
		{"pids unlimited", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(-1))}}, true, fmt.Sprintf("TasksMax=t:%d", max)},
		{"pids 0 is 1, as cgroupfs writes it", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(0))}}, true, "TasksMax=t:1"},
		{"io weight v2", &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: ptr(uint16(500))}}, true, "IOWeight=t:4950"},
		{"io weight v1", &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: ptr(uint16(500))}}, false, "BlockIOWeight=t:500"},
		{"unified wins", &specs.LinuxResources{
			Memory:  &specs.LinuxMemory{Limit: ptr(int64(64 << 20))},
			Unified: map[string]string{"memory.max": "max", "memory.high": "1048576", "cpu.max": "20000 50000", "pids.max": "7", "cpu.weight": "300", "io.weight": "default 50", "hugetlb.2MB.max": "0", "cpuset.cpus": "1"},
		}, true, fmt.Sprintf("MemoryMax=t:%d CPUQuotaPeriodUSec=t:50000 CPUQuotaPerSecUSec=t:400000 CPUWeight=t:300 AllowedCPUs=ay:[2] IOWeight=t:50 MemoryHigh=t:1048576 TasksMax=t:7", max)},
		{"unified ignored on v1", &specs.LinuxResources{Unified: map[string]string{"memory.max": "1"}}, false, ""},
	} {
		if got := show(ResourceProperties(c.r, c.v2)); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, c.want)
		}
	}
}

func TestCpusetMask(t *testing.T) {
	for in, want := range map[string][]byte{
		"0":       {1},
		"0-7":     {0xff},
		"8":       {0, 1},
		"0,9-10":  {1, 6},
		" 1 , 3 ": {0x0a},
		"":        {},
		"0-63":    {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"100":     append(make([]byte, 12), 0x10),
		"4-4,5,4": {0x30},
	} {
		got, err := cpusetMask(in)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("cpusetMask(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"a", "3-1", "1-", "-1", "99999"} {
		if got, err := cpusetMask(bad); err == nil {
			t.Errorf("cpusetMask(%q) = %v, want an error", bad, got)
		}
	}
}

func TestAnnotationProperties(t *testing.T) {
	max := uint64(math.MaxUint64)
	for _, c := range []struct {
		value, name, want, err string
	}{
		// GVariant text, as runc takes it.
		{name: "TimeoutStopUSec", value: "uint64 123456789", want: "TimeoutStopUSec=t:123456789"},
		{name: "CollectMode", value: "'inactive-or-failed'", want: "CollectMode=s:inactive-or-failed"},
		{name: "CollectMode", value: "inactive-or-failed", want: "CollectMode=s:inactive-or-failed"},
		{name: "Description", value: `"a 'b' c"`, want: "Description=s:a 'b' c"},
		{name: "CPUWeight", value: "123", want: "CPUWeight=t:123"},
		{name: "CPUWeight", value: "uint64 123", want: "CPUWeight=t:123"},
		{name: "CPUWeight", value: "@t 123", want: "CPUWeight=t:123"},
		{name: "MemoryMax", value: "@t 1048576", want: "MemoryMax=t:1048576"},
		{name: "SendSIGKILL", value: "false", want: "SendSIGKILL=b:false"},
		{name: "KillSignal", value: "9", want: "KillSignal=i:9"},
		{name: "After", value: "['a.service', 'b.service']", want: "After=as:[a.service b.service]"},
		{name: "SomethingNew", value: "5", want: "SomethingNew=i:5"},
		{name: "SomethingNew", value: "uint32 5", want: "SomethingNew=u:5"},
		{name: "SomethingNew", value: "true", want: "SomethingNew=b:true"},
		{name: "SomethingNew", value: "'x'", want: "SomethingNew=s:x"},
		// Time spans.
		{name: "TimeoutStopSec", value: "2", want: "TimeoutStopUSec=t:2000000"},
		{name: "TimeoutStopSec", value: "1.5", want: "TimeoutStopUSec=t:1500000"},
		{name: "TimeoutStopSec", value: "1s", want: "TimeoutStopUSec=t:1000000"},
		{name: "TimeoutStopSec", value: "'1min 30s'", want: "TimeoutStopUSec=t:90000000"},
		{name: "TimeoutStopSec", value: "2m3s", want: "TimeoutStopUSec=t:123000000"},
		{name: "RuntimeMaxSec", value: "500ms", want: "RuntimeMaxUSec=t:500000"},
		{name: "RuntimeMaxSec", value: "infinity", want: fmt.Sprintf("RuntimeMaxUSec=t:%d", max)},
		{name: "RuntimeMaxSec", value: "uint64 3", want: "RuntimeMaxUSec=t:3000000"},
		{name: "TimeoutStopUSec", value: "90000000", want: "TimeoutStopUSec=t:90000000"},
		{name: "TimeoutStopUSec", value: "5s", want: "TimeoutStopUSec=t:5000000"},
		{name: "TimeoutStopUSec", value: "@t 7", want: "TimeoutStopUSec=t:7"},
		{name: "TimerSlackNSec", value: "50us", want: "TimerSlackNSec=t:50000"},
		// Refused.
		{name: "TimeoutStopSec", value: "5 parsecs", err: "unknown time unit"},
		{name: "TimeoutStopSec", value: "-1", err: "not a time span"},
		{name: "TimeoutStopSec", value: "", err: "not a time span"},
		{name: "CPUWeight", value: "'abc'", err: "value"},
		{name: "SomethingNew", value: "[1, 'a']", err: "value"},
		{name: "lowercase", value: "1", err: "not a unit property name"},
		{name: "Bad-Name", value: "1", err: "not a unit property name"},
		{name: "", value: "1", err: "not a unit property name"},
		{name: "PIDs", value: "[@u 1]", err: "cannot be set"},
		{name: "Slice", value: "'x.slice'", err: "cannot be set"},
	} {
		props, err := AnnotationProperties(map[string]string{AnnotationPrefix + c.name: c.value, "other": "x"})
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s=%q: want an error about %q, got %s, %v", c.name, c.value, c.err, show(props), err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s=%q: %v", c.name, c.value, err)
			continue
		}
		if got := show(props); got != c.want {
			t.Errorf("%s=%q: got %s, want %s", c.name, c.value, got, c.want)
		}
	}
}

func TestAnnotationPropertiesDuplicate(t *testing.T) {
	_, err := AnnotationProperties(map[string]string{
		AnnotationPrefix + "TimeoutStopSec":  "1s",
		AnnotationPrefix + "TimeoutStopUSec": "1000000",
	})
	if err == nil || !strings.Contains(err.Error(), "both set") {
		t.Fatalf("want an error for TimeoutStopSec next to TimeoutStopUSec, got %v", err)
	}
	props, err := AnnotationProperties(map[string]string{"org.systemd.propertyX": "1", "io.x": "y"})
	if err != nil || len(props) != 0 {
		t.Fatalf("unrelated annotations: %v, %v", show(props), err)
	}
}

func TestMergeProperties(t *testing.T) {
	base := []Property{prop("A", uint64(1)), prop("B", true)}
	got := mergeProperties(base, []Property{prop("B", false), prop("C", "x")})
	if show(got) != "A=t:1 B=b:false C=s:x" {
		t.Fatalf("mergeProperties = %s", show(got))
	}
	if show(base) != "A=t:1 B=b:true" {
		t.Fatal("mergeProperties changed its argument")
	}
	if !sameValue(dbus.MakeVariant(uint64(1)), dbus.MakeVariant(uint64(1))) ||
		sameValue(dbus.MakeVariant(uint64(1)), dbus.MakeVariant(int64(1))) ||
		!sameValue(dbus.MakeVariant([]byte{1, 2}), dbus.MakeVariant([]byte{1, 2})) {
		t.Fatal("sameValue is wrong")
	}
}

// Apply takes these from go-systemd; systemd refuses a unit whose
// properties come with other D-Bus types than these.
func TestLibraryProperties(t *testing.T) {
	got := show([]Property{sddbus.PropDescription("husk container c1"), sddbus.PropSlice("system.slice"),
		sddbus.PropWants("a.slice"), sddbus.PropPids(7)})
	want := "Description=s:husk container c1 Slice=s:system.slice Wants=as:[a.slice] PIDs=au:[7]"
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}
