package procattr

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestPersonalityValue(t *testing.T) {
	for domain, want := range map[specs.LinuxPersonalityDomain]uintptr{specs.PerLinux: 0, specs.PerLinux32: 8} {
		got, err := personalityValue(&specs.LinuxPersonality{Domain: domain})
		if err != nil || got != want {
			t.Errorf("personalityValue(%s) = %#x, %v; want %#x", domain, got, err, want)
		}
	}
}

func TestPersonalityValueErrors(t *testing.T) {
	for _, tc := range []struct {
		in   specs.LinuxPersonality
		want string
	}{
		{specs.LinuxPersonality{}, `linux.personality.domain: unknown domain ""`},
		{specs.LinuxPersonality{Domain: "linux32"}, `unknown domain "linux32"`},
		{specs.LinuxPersonality{Domain: "PER_LINUX"}, `unknown domain "PER_LINUX"`},
		{
			specs.LinuxPersonality{Domain: specs.PerLinux, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}},
			`linux.personality.flags: ["ADDR_NO_RANDOMIZE"]: the runtime spec defines no personality flags`,
		},
	} {
		_, err := personalityValue(&tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("personalityValue(%+v) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}
