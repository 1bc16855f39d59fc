package main

import (
	"flag"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// A damaged state.json can hold a spec without a process: exec then needs
// --process, and says so instead of panicking.
func TestExecSpecWithoutSavedProcess(t *testing.T) {
	set := flag.NewFlagSet("exec", flag.ContinueOnError)
	for _, fl := range execCommand.Flags {
		if err := fl.Apply(set); err != nil {
			t.Fatal(err)
		}
	}
	if err := set.Parse([]string{"c1", "true"}); err != nil {
		t.Fatal(err)
	}
	_, err := execSpec(cli.NewContext(newApp(), set, nil), nil)
	if err == nil || !strings.Contains(err.Error(), "--process") {
		t.Fatalf("err = %v, want one that points at --process", err)
	}
}
