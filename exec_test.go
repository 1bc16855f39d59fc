package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// execContext is the context exec's action gets for the command line
// `husk --root root exec args...`.
func execContext(t *testing.T, root string, args ...string) *cli.Context {
	t.Helper()
	app := newApp()
	global := flag.NewFlagSet("husk", flag.ContinueOnError)
	for _, fl := range app.Flags {
		if err := fl.Apply(global); err != nil {
			t.Fatal(err)
		}
	}
	if err := global.Parse([]string{"--root", root}); err != nil {
		t.Fatal(err)
	}
	set := flag.NewFlagSet("exec", flag.ContinueOnError)
	for _, fl := range execCommand.Flags {
		if err := fl.Apply(set); err != nil {
			t.Fatal(err)
		}
	}
	if err := set.Parse(args); err != nil {
		t.Fatal(err)
	}
	return cli.NewContext(app, set, cli.NewContext(app, global, nil))
}

// A damaged state.json can hold a spec without a process: exec then needs
// --process, and says so instead of panicking.
func TestExecSpecWithoutSavedProcess(t *testing.T) {
	_, _, err := execSpec(execContext(t, t.TempDir(), "c1", "true"), nil)
	if err == nil || !strings.Contains(err.Error(), "--process") {
		t.Fatalf("err = %v, want one that points at --process", err)
	}
}

// A directory under the root with nothing of husk's in it is no
// container: exec says so, rather than failing to parse a state.
func TestExecWithoutStateFile(t *testing.T) {
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "c1"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := execProcess(execContext(t, root, "c1", "true"))
	if err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("err = %v, want the container said not to exist", err)
	}
}
