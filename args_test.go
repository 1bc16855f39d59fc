package main

import (
	"slices"
	"testing"
)

func TestFlagsFirst(t *testing.T) {
	app := newApp()
	for _, tc := range []struct{ in, want []string }{
		{[]string{"husk", "update", "c1", "--cpuset-cpus", "1"}, []string{"husk", "update", "--cpuset-cpus", "1", "c1"}},
		{[]string{"husk", "--root", "/r", "delete", "c1", "--force"}, []string{"husk", "--root", "/r", "delete", "--force", "c1"}},
		{[]string{"husk", "kill", "c1", "KILL", "--all"}, []string{"husk", "kill", "--all", "c1", "KILL"}},
		{[]string{"husk", "update", "c1", "--memory=1M"}, []string{"husk", "update", "--memory=1M", "c1"}},
		// Not a flag of the command: left where it is, for the parser to refuse.
		{[]string{"husk", "kill", "c1", "-9"}, []string{"husk", "kill", "c1", "-9"}},
		// Commands whose arguments run on are left alone.
		{[]string{"husk", "exec", "c1", "ls", "-l"}, []string{"husk", "exec", "c1", "ls", "-l"}},
		{[]string{"husk", "update", "c1", "--", "--pids-limit", "1"}, []string{"husk", "update", "c1", "--", "--pids-limit", "1"}},
	} {
		if got := flagsFirst(app, tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("flagsFirst(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
