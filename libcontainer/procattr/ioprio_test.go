package procattr

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestIOPrioValue(t *testing.T) {
	for _, tc := range []struct {
		in   specs.LinuxIOPriority
		want uintptr
	}{
		{specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_RT, Priority: 0}, 1 << 13},
		{specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_RT, Priority: 7}, 1<<13 | 7},
		{specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 4}, 2<<13 | 4},
		{specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_IDLE, Priority: 0}, 3 << 13},
	} {
		got, err := ioprioValue(&tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ioprioValue(%+v) = %#x, %v; want %#x", tc.in, got, err, tc.want)
		}
	}
}

func TestIOPrioValueErrors(t *testing.T) {
	for _, tc := range []struct {
		in   specs.LinuxIOPriority
		want string
	}{
		{specs.LinuxIOPriority{}, `process.ioPriority.class: unknown class ""`},
		{specs.LinuxIOPriority{Class: "IOPRIO_CLASS_NONE"}, `process.ioPriority.class: unknown class "IOPRIO_CLASS_NONE"`},
		{specs.LinuxIOPriority{Class: "BE", Priority: 1}, `unknown class "BE"`},
		{specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 8}, "process.ioPriority.priority: 8 is out of range 0..7"},
		{specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_IDLE, Priority: -1}, "process.ioPriority.priority: -1 is out of range 0..7"},
	} {
		_, err := ioprioValue(&tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ioprioValue(%+v) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}
