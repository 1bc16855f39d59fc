package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// script writes an executable /bin/sh script into dir and returns its path.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func testState() *specs.State {
	return &specs.State{
		Version:     specs.Version,
		ID:          "ctr-1",
		Status:      specs.StateCreated,
		Pid:         4242,
		Bundle:      "/run/bundle",
		Annotations: map[string]string{"a": "b"},
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunPassesStateOnStdin(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "state.json")
	hook := script(t, dir, "hook", `cat > "$1"`)

	want := testState()
	if err := Run("prestart", []specs.Hook{{Path: hook, Args: []string{hook, out}}}, want); err != nil {
		t.Fatal(err)
	}
	var got specs.State
	if err := json.Unmarshal([]byte(readFile(t, out)), &got); err != nil {
		t.Fatalf("hook did not receive JSON: %v", err)
	}
	if got.ID != want.ID || got.Pid != want.Pid || got.Bundle != want.Bundle ||
		got.Status != want.Status || got.Version != want.Version || got.Annotations["a"] != "b" {
		t.Errorf("hook got state %+v, want %+v", got, *want)
	}
}

func TestRunPassesArgsAndExactEnv(t *testing.T) {
	t.Setenv("HUSK_TEST_LEAK", "parent")
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	// The shell's own /proc entry shows the argv it was started with,
	// argv[0] included.
	cmd := `tr '\0' ' ' < /proc/$$/cmdline > "$1"; echo >> "$1"; env >> "$1"`
	err := Run("createRuntime", []specs.Hook{{
		Path: "/bin/sh",
		Args: []string{"my-argv0", "-c", cmd, "dollar-zero", out},
		Env:  []string{"FOO=bar", "BAZ=qux quux"},
	}}, testState())
	if err != nil {
		t.Fatal(err)
	}
	got := readFile(t, out)
	argv, env, _ := strings.Cut(got, "\n")
	if !strings.HasPrefix(argv, "my-argv0 -c ") || !strings.HasSuffix(strings.TrimSpace(argv), out) {
		t.Errorf("argv = %q, want my-argv0 -c <cmd> dollar-zero %s", argv, out)
	}
	for _, want := range []string{"FOO=bar\n", "BAZ=qux quux\n"} {
		if !strings.Contains(env, want) {
			t.Errorf("env %q lacks %q", env, want)
		}
	}
	if strings.Contains(env, "HUSK_TEST_LEAK") {
		t.Errorf("hook inherited husk's environment: %q", env)
	}
}

func TestRunArgv0DefaultsToPathAndEnvToEmpty(t *testing.T) {
	t.Setenv("HUSK_TEST_LEAK", "parent")
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	hook := script(t, dir, "hook", `echo "$0" > `+out+`; env >> `+out)
	if err := Run("poststart", []specs.Hook{{Path: hook}}, testState()); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, out)
	if !strings.HasPrefix(got, hook+"\n") {
		t.Errorf("output %q does not start with the hook path", got)
	}
	if strings.Contains(got, "HUSK_TEST_LEAK") {
		t.Errorf("hook without env inherited husk's environment: %q", got)
	}
}

func TestRunFailureIncludesOutput(t *testing.T) {
	dir := t.TempDir()
	ok := script(t, dir, "ok", "exit 0")
	bad := script(t, dir, "bad", "echo progress\necho 'cannot frobnicate' >&2\nexit 3")

	err := Run("createContainer", []specs.Hook{{Path: ok}, {Path: bad}}, testState())
	if err == nil {
		t.Fatal("want an error from a hook exiting 3")
	}
	msg := err.Error()
	for _, want := range []string{"error running createContainer hook #1: " + bad + ": exit status 3", "exit status 3", "progress; cannot frobnicate"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	var exitErr interface{ ExitCode() int }
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 3 {
		t.Errorf("error %v does not unwrap to the exit status", err)
	}
}

func TestRunBoundsOutput(t *testing.T) {
	dir := t.TempDir()
	hook := script(t, dir, "hook", `i=0; while [ $i -lt 2000 ]; do echo "line $i of noise"; i=$((i+1)); done; echo last words >&2; exit 1`)
	err := Run("poststop", []specs.Hook{{Path: hook}}, testState())
	if err == nil {
		t.Fatal("want an error")
	}
	if len(err.Error()) > maxOutput+512 {
		t.Errorf("error is %d bytes, want the output bounded near %d", len(err.Error()), maxOutput)
	}
	if !strings.HasSuffix(err.Error(), "last words") {
		t.Errorf("error does not end with the hook's last output: ...%q", err.Error()[len(err.Error())-40:])
	}
}

func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

func TestRunTimeoutKillsHook(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	hook := script(t, dir, "hook", `echo $$ > `+pidFile+`; exec sleep 100`)
	timeout := 1

	start := time.Now()
	err := Run("startContainer", []specs.Hook{{Path: hook, Timeout: &timeout}}, testState())
	elapsed := time.Since(start)

	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want a timeout", err)
	}
	if !strings.Contains(err.Error(), "error running startContainer hook #0: ") {
		t.Errorf("error %q does not name the hook", err)
	}
	if elapsed < time.Second || elapsed > 2*time.Second {
		t.Errorf("Run returned after %v, want about 1s", elapsed)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
	if err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("hook process %d survived its timeout", pid)
	}
}

// A hook that leaves a child holding its output open must not block Run
// past the timeout, nor forever when it succeeds.
func TestRunDoesNotWaitForLeftoverChildren(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		timeout int
		wantErr bool
	}{
		{"succeeds", "sleep 100 &\necho $! > %s\nexit 0", 0, false},
		{"times out", "sleep 100 &\necho $! > %s\nwait", 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			pidFile := filepath.Join(dir, "child")
			hook := script(t, dir, "hook", strings.Replace(tc.body, "%s", pidFile, 1))
			h := specs.Hook{Path: hook}
			if tc.timeout > 0 {
				h.Timeout = &tc.timeout
			}
			start := time.Now()
			err := Run("prestart", []specs.Hook{h}, testState())
			elapsed := time.Since(start)
			if b, rerr := os.ReadFile(pidFile); rerr == nil {
				if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
			if (err != nil) != tc.wantErr {
				t.Errorf("error = %v, want error: %v", err, tc.wantErr)
			}
			limit := time.Duration(tc.timeout)*time.Second + outputGrace + time.Second
			if elapsed > limit {
				t.Errorf("Run returned after %v, want under %v", elapsed, limit)
			}
		})
	}
}

func TestRunKeepsOrderAndStopsAtFirstFailure(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	var hs []specs.Hook
	for i, code := range []int{0, 0, 0, 7, 0} {
		n := strconv.Itoa(i)
		hs = append(hs, specs.Hook{Path: script(t, dir, "hook"+n, "echo "+n+" >> "+log+"\nexit "+strconv.Itoa(code))})
	}
	err := Run("prestart", hs, testState())
	if err == nil || !strings.Contains(err.Error(), "error running prestart hook #3: ") {
		t.Fatalf("error = %v, want hook #3 to fail", err)
	}
	if got := readFile(t, log); got != "0\n1\n2\n3\n" {
		t.Errorf("hooks ran as %q, want 0..3 in order and nothing after the failure", got)
	}
}

func TestRunRejectsBadHooks(t *testing.T) {
	zero := 0
	for _, tc := range []struct {
		name string
		hook specs.Hook
		want string
	}{
		{"relative path", specs.Hook{Path: "bin/hook"}, "absolute"},
		{"zero timeout", specs.Hook{Path: "/bin/true", Timeout: &zero}, "timeout"},
		{"missing binary", specs.Hook{Path: "/nonexistent/hook"}, "/nonexistent/hook"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Run("poststop", []specs.Hook{tc.hook}, testState())
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "error running poststop hook #0: ") {
				t.Errorf("error = %v, want one naming the hook and %q", err, tc.want)
			}
		})
	}
}

func TestRunNoHooks(t *testing.T) {
	if err := Run("prestart", nil, nil); err != nil {
		t.Fatal(err)
	}
}

// Every kind of hook reads as runc 1.5 words it: the kind before "hook",
// the index counted from 0 in the kind's list.
func TestRunErrorNamesKindAsRunc(t *testing.T) {
	for _, kind := range []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"} {
		err := Run(kind, []specs.Hook{{Path: "/bin/true"}, {Path: "/bin/false"}}, testState())
		want := "error running " + kind + " hook #1: /bin/false: exit status 1"
		if err == nil || err.Error() != want {
			t.Errorf("%s: error = %v, want %q", kind, err, want)
		}
	}
}

func TestRunAtNumbersTheHook(t *testing.T) {
	err := RunAt("poststop", 2, specs.Hook{Path: "/bin/false"}, testState())
	if want := "error running poststop hook #2: /bin/false: exit status 1"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
	if err := RunAt("poststop", 0, specs.Hook{Path: "/bin/true"}, testState()); err != nil {
		t.Errorf("a hook that succeeds: %v", err)
	}
}

func TestWithDefaultEnv(t *testing.T) {
	env := []string{"ONE=two", "HOME=/root"}
	in := []specs.Hook{
		{Path: "/a"},
		{Path: "/b", Env: []string{}},
		{Path: "/c", Env: []string{"OWN=1"}},
	}
	out := WithDefaultEnv(in, env)
	if len(out) != 3 {
		t.Fatalf("got %d hooks, want 3", len(out))
	}
	for i, want := range [][]string{env, env, {"OWN=1"}} {
		if strings.Join(out[i].Env, ",") != strings.Join(want, ",") {
			t.Errorf("hook %s: env %q, want %q", out[i].Path, out[i].Env, want)
		}
	}
	if in[0].Env != nil || len(in[1].Env) != 0 {
		t.Errorf("the caller's hooks were changed: %+v", in)
	}
	out[0].Env[0] = "CHANGED=1"
	if env[0] != "ONE=two" {
		t.Errorf("a hook's env shares the caller's slice")
	}
	// A hook given the env sees it.
	dir := t.TempDir()
	o := filepath.Join(dir, "out")
	hook := script(t, dir, "hook", `echo "$ONE" > `+o)
	if err := Run("startContainer", WithDefaultEnv([]specs.Hook{{Path: hook}}, env), testState()); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, o); got != "two\n" {
		t.Errorf("hook saw ONE=%q, want two", got)
	}
}
