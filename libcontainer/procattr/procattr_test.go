package procattr

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestValidate(t *testing.T) {
	good := func() (*specs.Process, *specs.Linux) {
		return &specs.Process{
				Scheduler:       &specs.Scheduler{Policy: specs.SchedFIFO, Priority: 10},
				IOPriority:      &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 4},
				ExecCPUAffinity: &specs.CPUAffinity{Initial: "0", Final: "0-3,7"},
			}, &specs.Linux{
				Personality:  &specs.LinuxPersonality{Domain: specs.PerLinux32},
				MemoryPolicy: &specs.LinuxMemoryPolicy{Mode: specs.MpolInterleave, Nodes: "0-1"},
			}
	}
	if err := Validate(good()); err != nil {
		t.Fatalf("Validate(good) = %v", err)
	}
	if err := Validate(nil, nil); err != nil {
		t.Fatalf("Validate(nil, nil) = %v", err)
	}
	if err := Validate(&specs.Process{}, &specs.Linux{}); err != nil {
		t.Fatalf("Validate(empty) = %v", err)
	}
	for _, tc := range []struct {
		name  string
		spoil func(*specs.Process, *specs.Linux)
		want  string
	}{
		{"scheduler", func(p *specs.Process, _ *specs.Linux) { p.Scheduler.Priority = 0 }, "process.scheduler.priority"},
		{"ioPriority", func(p *specs.Process, _ *specs.Linux) { p.IOPriority.Class = "x" }, "process.ioPriority.class"},
		{"initial", func(p *specs.Process, _ *specs.Linux) { p.ExecCPUAffinity.Initial = "0-" }, `process.execCPUAffinity.initial: "0-"`},
		{"final", func(p *specs.Process, _ *specs.Linux) { p.ExecCPUAffinity.Final = "a" }, `process.execCPUAffinity.final: "a"`},
		{"personality", func(_ *specs.Process, l *specs.Linux) { l.Personality.Domain = "x" }, "linux.personality.domain"},
		{"memoryPolicy", func(_ *specs.Process, l *specs.Linux) { l.MemoryPolicy.Nodes = "" }, "linux.memoryPolicy.nodes"},
	} {
		p, l := good()
		tc.spoil(p, l)
		if err := Validate(p, l); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// Empty affinity lists are valid and mean "leave it to the kernel".
func TestValidateEmptyAffinity(t *testing.T) {
	if err := Validate(&specs.Process{ExecCPUAffinity: &specs.CPUAffinity{}}, nil); err != nil {
		t.Fatal(err)
	}
}
