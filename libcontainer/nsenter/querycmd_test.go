package nsenter

import (
	"os"
	"regexp"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// querycmd.c prints the runtime-spec version Go's state prints, and takes
// only signal names that Go's kill takes (main.go's parseSignal, through
// unix.SignalNum), each for the signal of its name.
func TestQueryMatchesGo(t *testing.T) {
	src, err := os.ReadFile("querycmd.c")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`#define OCI_VERSION "([^"]*)"`).FindSubmatch(src)
	if m == nil || string(m[1]) != specs.Version {
		t.Errorf("querycmd.c's OCI_VERSION %q, want specs.Version %q", m, specs.Version)
	}
	entries := regexp.MustCompile(`\{"(SIG[A-Z0-9]+)", (SIG[A-Z0-9]+)\}`).FindAllSubmatch(src, -1)
	if len(entries) != 31 {
		t.Errorf("querycmd.c's signal table has %d entries, want the 31 of unix.SignalNum", len(entries))
	}
	for _, e := range entries {
		if string(e[1]) != string(e[2]) || unix.SignalNum(string(e[1])) == 0 {
			t.Errorf("signal table entry {%q, %s}: want a name unix.SignalNum knows, for the signal of that name", e[1], e[2])
		}
	}
}
