package main

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseSignal(t *testing.T) {
	for in, want := range map[string]unix.Signal{
		"9": unix.SIGKILL, "KILL": unix.SIGKILL, "SIGKILL": unix.SIGKILL, "kill": unix.SIGKILL,
		"15": unix.SIGTERM, "TERM": unix.SIGTERM, "USR1": unix.SIGUSR1, "10": unix.SIGUSR1, "WINCH": unix.SIGWINCH,
	} {
		if got, err := parseSignal(in); err != nil || got != want {
			t.Errorf("parseSignal(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if got, err := parseSignal("0"); err != nil || got != 0 {
		t.Errorf("parseSignal(\"0\") = %v, %v; want 0", got, err)
	}
	for _, in := range []string{"", "-1", "65", "NOPE", "SIG"} {
		if _, err := parseSignal(in); err == nil {
			t.Errorf("parseSignal(%q) accepted", in)
		}
	}
}
