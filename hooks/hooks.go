// Package hooks runs the OCI lifecycle hooks a container's config.json
// declares.
package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/libcontainer/nsenter"
)

// maxOutput bounds how much of a hook's output is kept for the error
// message; a chatty hook must not grow husk's memory without limit.
const maxOutput = 4096

// outputGrace is how long Run waits, once a hook has exited or been killed,
// for processes it left behind to close its stdout and stderr. A hook that
// starts a daemon which keeps them open must not hang the container's
// lifecycle.
const outputGrace = 500 * time.Millisecond

// Run runs hooks in order, each with state as JSON on its standard input,
// and stops at the first that fails. name is the lifecycle stage, such as
// "createRuntime", and appears in the error.
func Run(name string, hooks []specs.Hook, state *specs.State) error {
	if len(hooks) == 0 {
		return nil
	}
	input, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("%s hooks: encode state: %w", name, err)
	}
	for i, h := range hooks {
		if err := runNumbered(name, i, h, input); err != nil {
			return err
		}
	}
	return nil
}

// RunAt runs one hook, the one at index in its stage's list, for callers
// that go on after a failure (poststop): its error numbers it as Run would.
func RunAt(name string, index int, hook specs.Hook, state *specs.State) error {
	input, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("%s hooks: encode state: %w", name, err)
	}
	return runNumbered(name, index, hook, input)
}

// runNumbered runs hook number i of stage name. Its error reads as runc's
// ("error running prestart hook #1: ...", i counted from 0, as runc
// counts), then names the hook's path, why it failed and what it printed.
func runNumbered(name string, i int, h specs.Hook, input []byte) error {
	out, err := run(h, input)
	switch {
	case err == nil:
		return nil
	case out != "":
		return fmt.Errorf("error running %s hook #%d: %s: %w: %s", name, i, h.Path, err, out)
	default:
		return fmt.Errorf("error running %s hook #%d: %s: %w", name, i, h.Path, err)
	}
}

// WithDefaultEnv returns hooks with env as the environment of each one
// that sets none (no env, or an empty one). runc runs its startContainer
// hooks so, with the container process's environment: not in the
// runtime-spec, but what hooks written for runc expect. hooks itself is
// left as it is.
func WithDefaultEnv(hooks []specs.Hook, env []string) []specs.Hook {
	if len(hooks) == 0 {
		return hooks
	}
	out := make([]specs.Hook, len(hooks))
	for i, h := range hooks {
		if len(h.Env) == 0 {
			h.Env = append([]string(nil), env...)
		}
		out[i] = h
	}
	return out
}

// run executes one hook and, when it fails, returns what it printed, on one
// line so the error stays a single line.
func run(h specs.Hook, input []byte) (string, error) {
	// A relative path would be looked up against husk's own working
	// directory or $PATH, neither of which the config's author controls.
	if !filepath.IsAbs(h.Path) {
		return "", errors.New("path must be absolute")
	}
	ctx := context.Background()
	var timeout time.Duration
	if h.Timeout != nil {
		if *h.Timeout <= 0 {
			return "", fmt.Errorf("timeout must be positive, got %d", *h.Timeout)
		}
		timeout = time.Duration(*h.Timeout) * time.Second
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}

	// CommandContext kills the hook with SIGKILL once ctx is done.
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	}
	// A nil Env would make the hook inherit husk's environment; the hook
	// must see only what the config gives it.
	cmd.Env = h.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdin = bytes.NewReader(input)
	out := &tailBuffer{max: maxOutput}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.WaitDelay = outputGrace

	err := nsenter.WithCallerSlack(cmd.Start)
	if err == nil {
		err = cmd.Wait()
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		// The hook itself succeeded; only something it started still holds
		// its output open.
		err = nil
	}
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("killed after %s timeout: %w", timeout, context.DeadlineExceeded)
	}
	if err != nil {
		return oneLine(out.String()), err
	}
	return "", nil
}

// oneLine joins the non-blank lines of s with "; ".
func oneLine(s string) string {
	var lines []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "; ")
}

// tailBuffer keeps the last max bytes written to it, since the end of a
// failing program's output is where it usually says why.
type tailBuffer struct {
	buf       []byte
	max       int
	truncated bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) > b.max {
		p = p[len(p)-b.max:]
		b.truncated = true
	}
	if drop := len(b.buf) + len(p) - b.max; drop > 0 {
		b.buf = append(b.buf[:0], b.buf[drop:]...)
		b.truncated = true
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

func (b *tailBuffer) String() string {
	if b.truncated {
		return "..." + string(b.buf)
	}
	return string(b.buf)
}
