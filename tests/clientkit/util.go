package clientkit

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"
)

// Result is one finished command.
type Result struct {
	Cmd    string // how to show the command
	Stdout string
	Stderr string
	Code   int // exit status; -1 when killed or not started
	Err    error
	Took   time.Duration
}

func (r *Result) String() string {
	return fmt.Sprintf("`%s` exit=%d (%v, %s)\n--- stdout:\n%s--- stderr:\n%s",
		r.Cmd, r.Code, r.Err, r.Took.Round(time.Millisecond), r.Stdout, r.Stderr)
}

// Eventually polls f every 100ms until it returns nil or ctx or limit
// expire, and returns the last error.
func Eventually(ctx context.Context, limit time.Duration, f func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Uniq returns a short random suffix, for names that must not collide
// with those of an earlier or concurrent run.
func Uniq() string {
	b := make([]byte, 4)
	if f, err := os.Open("/dev/urandom"); err == nil {
		io.ReadFull(f, b)
		f.Close()
	}
	return fmt.Sprintf("%x", b)
}

// Exists tells whether p exists.
func Exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// SortedKeys returns m's keys in order, so that what is built from a map
// (an image layer) comes out the same every run.
func SortedKeys[V any](m map[string]V) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}

// Tail is the last n lines of s, for a log in a failure message.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
