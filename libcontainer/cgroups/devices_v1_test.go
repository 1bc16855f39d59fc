package cgroups

import (
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestDeviceRule(t *testing.T) {
	for _, tc := range []struct {
		rule specs.LinuxDeviceCgroup
		want string
	}{
		{specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: new(int64(1)), Minor: new(int64(3)), Access: "rwm"}, "c 1:3 rwm"},
		{specs.LinuxDeviceCgroup{Access: "rwm"}, "a *:* rwm"},
		{specs.LinuxDeviceCgroup{Type: "a"}, "a *:* rwm"},
		{specs.LinuxDeviceCgroup{Type: "b", Major: new(int64(8)), Minor: new(int64(-1)), Access: "r"}, "b 8:* r"},
		{specs.LinuxDeviceCgroup{Type: "c", Major: new(int64(-1)), Access: "m"}, "c *:* m"},
		{specs.LinuxDeviceCgroup{Type: "c", Major: new(int64(136)), Access: "rw"}, "c 136:* rw"},
		// As runc: unknown letters are ignored.
		{specs.LinuxDeviceCgroup{Type: "c", Major: new(int64(1)), Minor: new(int64(11)), Access: "rwa"}, "c 1:11 rw"},
		{specs.LinuxDeviceCgroup{Type: "c", Major: new(int64(1)), Minor: new(int64(11)), Access: "rw m"}, "c 1:11 rwm"},
	} {
		got, err := deviceRule(tc.rule)
		if err != nil || got != tc.want {
			t.Errorf("deviceRule(%+v) = %q, %v; want %q", tc.rule, got, err, tc.want)
		}
	}
	for _, bad := range []specs.LinuxDeviceCgroup{
		{Type: "p"},
		{Type: "c", Access: "x"},
	} {
		if got, err := deviceRule(bad); err == nil {
			t.Errorf("deviceRule(%+v) = %q, want an error", bad, got)
		}
	}
}

func TestDefaultAllowedDevices(t *testing.T) {
	var got []string
	for _, d := range DefaultAllowedDevices() {
		if !d.Allow {
			t.Errorf("default rule %+v is not an allow rule", d)
		}
		s, err := deviceRule(d)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	want := []string{
		"c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
		"c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm",
		"c *:* m", "b *:* m",
	}
	if !slices.Equal(got, want) {
		t.Errorf("defaults:\n got  %q\n want %q", got, want)
	}
}
