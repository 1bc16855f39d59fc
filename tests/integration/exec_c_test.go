package integration

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// After a first exec into a container, which Go does and which saves the
// settings of an exec of the container's own process (exec.env), a plain
// `husk exec` is done in C (libcontainer/nsenter/execcmd.c) without a Go
// runtime: the same process, set up by the same stage, as Go's exec sets
// up, flags included.
func TestExecWithoutGoRuntime(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "sleep", "600")
	b.spec.Process.Env = []string{"PATH=/bin", "A=1", "KEEP=yes"}
	// exec's own --tty decides: a container made with a terminal is
	// exec'd into without one all the same.
	b.spec.Process.Terminal = true
	cs := newConsoleSocket(t)
	b.mustCreate("--console-socket", cs.path)
	cs.wait(t)
	b.mustRT("start", b.id)
	saved := filepath.Join(b.root, b.id, "exec.env")
	if _, err := os.Lstat(saved); !os.IsNotExist(err) {
		t.Fatalf("exec.env before any exec: %v", err)
	}
	r := b.rtOpts(opts{env: inittrace}, "exec", b.id, "/bin/true")
	if r.Code != 0 || !goRuntimeStarted(r) {
		t.Fatalf("first exec: want Go's exec, and success: %s", r)
	}
	if fi, err := os.Lstat(saved); err != nil || fi.Mode() != 0o600 {
		t.Fatalf("exec.env after the first exec: %v, %v; want a file of mode 0600", fi, err)
	}

	probe := []string{"/bin/sh", "-c", `echo "A=$A B=$B KEEP=$KEEP"; pwd; id -u; id -g; env | sort`}
	flags := []string{"--env", "A=2", "--env=B=3", "--cwd", "/tmp", "-u", "1000:1001"}
	r = b.rtOpts(opts{env: inittrace}, append(append([]string{"exec"}, flags...), append([]string{b.id}, probe...)...)...)
	if r.Code != 0 || goRuntimeStarted(r) {
		t.Fatalf("exec with flags: want it done without Go, and success: %s", r)
	}
	mustContain(t, r.Stdout, "A=2 B=3 KEEP=yes\n/tmp\n1000\n1001\n", "what the process saw")
	if n := strings.Count(r.Stdout, "\nA="); n != 1 {
		t.Errorf("A in the environment %d times, want once:\n%s", n, r.Stdout)
	}
	viaGo := b.rt(append(append([]string{"--debug", "--log", filepath.Join(t.TempDir(), "log"), "exec"}, flags...), append([]string{b.id}, probe...)...)...)
	if viaGo.Code != 0 || viaGo.Stdout != r.Stdout {
		t.Errorf("the process saw, exec'd in C:\n%s\nand by Go's exec:\n%s", r.Stdout, viaGo)
	}

	// The exit code, a signal's too.
	if r = b.rtOpts(opts{env: inittrace}, "exec", b.id, "/bin/sh", "-c", "exit 7"); r.Code != 7 || goRuntimeStarted(r) {
		t.Errorf("exec of exit 7: want code 7 without Go: %s", r)
	}
	if r = b.rtOpts(opts{env: inittrace}, "exec", b.id, "/bin/sh", "-c", "kill -KILL $$"); r.Code != 128+9 || goRuntimeStarted(r) {
		t.Errorf("exec of a process killed by SIGKILL: want code 137 without Go: %s", r)
	}

	// Detached, with a pid file: the process runs on after husk.
	pidFile := filepath.Join(t.TempDir(), "pid")
	if r = b.rtOpts(opts{env: inittrace}, "exec", "-d", "--pid-file", pidFile, b.id, "/helper", "sleep", "600"); r.Code != 0 || goRuntimeStarted(r) {
		t.Fatalf("exec -d --pid-file: want it done without Go: %s", r)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid := atoi(t, string(data))
	// exec returns at the process's execve, which sets the new command
	// line a moment later.
	var cmdline []byte
	if !waitFor(5*time.Second, func() bool {
		cmdline, _ = os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		return string(cmdline) == "/helper\x00sleep\x00600\x00"
	}) {
		t.Errorf("pid file names %d, whose command line is %q", pid, cmdline)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(pidFile), ".pid.tmp")); !os.IsNotExist(err) {
		t.Errorf("the pid file's temporary file is left: %v", err)
	}

	// What fails is Go's to report, as if C had never tried.
	r = b.rtOpts(opts{env: inittrace}, "exec", b.id, "nosuch")
	if r.Code != 255 || !goRuntimeStarted(r) {
		t.Errorf("exec of a missing command: want Go's exec and code 255: %s", r)
	}
	mustContain(t, lastLine(r.Stderr), `exec: "nosuch": executable file not found in $PATH`, "the error")

	// A pid file that can't be written fails the command once the process
	// runs, as Go's exec does.
	marker := "/tmp/ran-" + randHex(4)
	r = b.rtOpts(opts{env: inittrace}, "exec", "-d", "--pid-file", "/nonexistent/pid", b.id, "/bin/sh", "-c", "echo yes > "+marker)
	if r.Code != 255 {
		t.Errorf("exec with a pid file in a missing dir: want code 255: %s", r)
	}
	mustContain(t, r.Stderr, "write pid file: open /nonexistent/.pid.tmp: no such file or directory", "the error")
	if !waitFor(5*time.Second, func() bool { _, err := os.Stat(filepath.Join(b.rootfs, marker)); return err == nil }) {
		t.Errorf("the process did not run")
	}

	// A paused container is Go's to refuse.
	b.mustRT("pause", b.id)
	r = b.rtOpts(opts{env: inittrace}, "exec", b.id, "/bin/true")
	b.mustRT("resume", b.id)
	if r.Code != 255 || !goRuntimeStarted(r) {
		t.Errorf("exec into a paused container: want Go's refusal: %s", r)
	}
	mustContain(t, r.Stderr, "cannot exec in a paused container", "the error")

	// Settings saved by another husk binary (the one before an upgrade)
	// are that binary's: this one's first exec takes Go and saves its own.
	other := newBinCopy(t)
	for i, wantGo := range []bool{true, false, false} {
		r := b.rtOpts(opts{env: inittrace, binary: other.path}, "exec", b.id, "/bin/true")
		if r.Code != 0 || goRuntimeStarted(r) != wantGo {
			t.Errorf("exec %d by another binary: want success, Go's exec %v: %s", i, wantGo, r)
		}
	}

	// Flags the C exec doesn't take go to Go.
	for _, args := range [][]string{
		{"exec", "--cap", "CAP_SYS_ADMIN", b.id, "/bin/true"},
		{"exec", "-t=false", b.id, "/bin/true"},
		{"exec", "--user", "nobody", b.id, "/bin/true"},
		{"exec", "--env", "NOVALUE", b.id, "/bin/true"},
		{"--debug", "exec", b.id, "/bin/true"},
		{"exec", "-e", "A=1", "--env", "B=2", b.id, "/bin/true"}, // refused by Go: both forms of a flag
	} {
		r := b.rtOpts(opts{env: inittrace}, args...)
		if !goRuntimeStarted(r) {
			t.Errorf("%q: want Go's exec: %s", args, r)
		}
	}
}

// The C exec forwards the signals husk gets to the process, as Go's
// foreground does, and exits with the process's code.
func TestExecWithoutGoForwardsSignals(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "sleep", "600")
	b.startContainer()
	b.mustExec(nil, "/bin/true") // Go's exec saves exec.env

	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, runtimeBin, "--root", b.root, "exec", b.id, "/bin/sh", "-c",
		`trap "echo caught USR1; exit 9" USR1; echo ready; while :; do sleep 0.1; done`)
	cmd.Env = append(os.Environ(), inittrace...)
	out, stderr := startPiped(t, cmd)
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("the process never got ready: %q, %v", lines.Text(), lines.Err())
	}
	if err := cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if !lines.Scan() || lines.Text() != "caught USR1" {
		t.Errorf("after SIGUSR1 to husk the process said %q, want %q", lines.Text(), "caught USR1")
	}
	err := cmd.Wait()
	if cmd.ProcessState.ExitCode() != 9 {
		t.Errorf("husk exited with %v, want the process's code 9; stderr: %s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "init runtime @") {
		t.Errorf("the exec started a Go runtime: %s", stderr.String())
	}
}

// In a user namespace clone3 may not put the stage into the container's
// cgroup from inside: the C exec moves it there when its preamble asks,
// as Go's exec does.
func TestExecUsernsWithoutGoRuntime(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "sleep", "600")
	userns(t, b)
	st := b.startContainer()
	b.mustExec(nil, "/bin/true")
	probe := []string{"/bin/sh", "-c", "cat /proc/self/uid_map /proc/self/cgroup; id -u"}
	r := b.rtOpts(opts{env: inittrace}, append([]string{"exec", b.id}, probe...)...)
	if r.Code != 0 || goRuntimeStarted(r) {
		t.Fatalf("second exec into a container with a user namespace: want it done without Go: %s", r)
	}
	viaGo := b.rt(append([]string{"--debug", "--log", filepath.Join(t.TempDir(), "log"), "exec", b.id}, probe...)...)
	if viaGo.Code != 0 || viaGo.Stdout != r.Stdout {
		t.Errorf("the process saw, exec'd in C:\n%s\nand by Go's exec:\n%s", r.Stdout, viaGo)
	}
	mustContain(t, r.Stdout, "100000", "the process's uid map")
	initCgroup, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", st.Pid))
	if err != nil {
		t.Fatal(err)
	}
	// From the host: the process is in every cgroup of the init's.
	pidFile := filepath.Join(t.TempDir(), "pid")
	if r := b.rtOpts(opts{env: inittrace}, "exec", "-d", "--pid-file", pidFile, b.id, "/helper", "sleep", "600"); r.Code != 0 || goRuntimeStarted(r) {
		t.Fatalf("exec -d: want it done without Go: %s", r)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	cgroup, err := os.ReadFile("/proc/" + strings.TrimSpace(string(data)) + "/cgroup")
	if err != nil || string(cgroup) != string(initCgroup) {
		t.Errorf("the exec'd process's cgroups:\n%s(%v)\nthe init's:\n%s", cgroup, err, initCgroup)
	}
}

// containerd and podman exec with --process FILE --detach --pid-file, the
// same file content for each run of a probe: the settings of the first
// such exec are saved by its content, and the next exec of the same
// content is done in C. Another content is Go's, and saved up to a bound.
func TestExecProcessFileWithoutGoRuntime(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "sleep", "600")
	b.startContainer()
	process := func(args ...string) string {
		data, err := json.Marshal(&specs.Process{Args: args, Env: []string{"PATH=/bin", "P=<&>"}, Cwd: "/tmp", User: specs.User{UID: 1000, GID: 1000}})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "process.json")
		writeFile(t, path, string(data), 0o644)
		return path
	}
	logPath := filepath.Join(t.TempDir(), "log.json")
	global := []string{"--log", logPath, "--log-format=json"}
	probe := []string{"/bin/sh", "-c", `echo "P=$P $(id -u) $(pwd)" > /tmp/probe-$1`, "sh"}
	for i, wantGo := range []bool{true, false, false} {
		pidFile := filepath.Join(t.TempDir(), "pid")
		// A new file each time, as the shim writes one per exec.
		path := process(append(probe, "out")...)
		r := b.rtOpts(opts{env: inittrace, global: global}, "exec", "--process", path, "--detach", "--pid-file", pidFile, b.id)
		if r.Code != 0 || goRuntimeStarted(r) != wantGo {
			t.Fatalf("exec %d of the same process: want success, Go's exec %v: %s", i, wantGo, r)
		}
		if _, err := os.Stat(pidFile); err != nil {
			t.Errorf("exec %d: no pid file: %v", i, err)
		}
		out := filepath.Join(b.rootfs, "tmp", "probe-out")
		if !waitFor(5*time.Second, func() bool { data, _ := os.ReadFile(out); return string(data) == "P=<&> 1000 /tmp\n" }) {
			data, _ := os.ReadFile(out)
			t.Fatalf("exec %d: the process wrote %q", i, data)
		}
		os.Remove(out)
	}
	if data, _ := os.ReadFile(logPath); len(data) != 0 {
		t.Errorf("log lines after execs that worked: %s", data)
	}
	// Another content: Go's, the first time.
	if r := b.rtOpts(opts{env: inittrace}, "exec", "--process", process(append(probe, "other")...), "-d", b.id); r.Code != 0 || !goRuntimeStarted(r) {
		t.Errorf("exec of another process: want Go's exec: %s", r)
	}
	// No more than maxProcessFiles contents are kept.
	for i := range 10 {
		b.mustExec([]string{"--process", process("/bin/true", strconv.Itoa(i))})
	}
	if saved, _ := filepath.Glob(filepath.Join(b.root, b.id, "exec-*.env")); len(saved) != 8 {
		t.Errorf("%d saved process files, want 8", len(saved))
	}
}

// The stage's warnings reach husk's log from the C exec as from Go's: an
// ambient capability that isn't inheritable can't be raised, and the
// process runs without it.
func TestExecWithoutGoWarns(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "sleep", "600")
	caps := []string{"CAP_NET_BIND_SERVICE", "CAP_KILL"}
	b.spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps, Ambient: caps[:1]}
	b.spec.Process.User = specs.User{UID: 1000, GID: 1000}
	b.startContainer()
	b.mustExec(nil, "/bin/true")
	want := "can't raise ambient capability CAP_NET_BIND_SERVICE: operation not permitted"
	for _, format := range []string{"text", "json"} {
		logs := map[bool]string{}
		for _, viaGo := range []bool{false, true} {
			logPath := filepath.Join(t.TempDir(), "log")
			global := []string{"--log", logPath, "--log-format", format}
			if viaGo {
				global = append(global, "--debug")
			}
			r := b.rtOpts(opts{env: inittrace, global: global}, "exec", b.id, "/bin/true")
			if r.Code != 0 || goRuntimeStarted(r) != viaGo {
				t.Fatalf("exec (Go: %v): %s", viaGo, r)
			}
			data, _ := os.ReadFile(logPath)
			for _, l := range lines(string(data)) {
				if strings.Contains(l, "level") && strings.Contains(l, "warning") {
					logs[viaGo] = l
				}
			}
		}
		mustContain(t, logs[false], want, format+" warning of the C exec")
		// The same line but for its time.
		stamp := regexp.MustCompile(`time="[^"]*"|"time":"[^"]*"`)
		if c, g := stamp.ReplaceAllString(logs[false], "T"), stamp.ReplaceAllString(logs[true], "T"); c != g {
			t.Errorf("%s warning of the C exec:\n%s\nof Go's:\n%s", format, c, g)
		}
	}
}

// A filter loaded before the executable's lookup (no no_new_privs) that
// refuses faccessat2, as runtime-tools' default profile does by not
// listing it: the C exec's lookup judges from the mode bits, as Go's x/sys
// does, and finds what Go's finds.
func TestExecLookupWithoutFaccessat2(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "sleep", "600")
	b.spec.Process.NoNewPrivileges = false
	b.spec.Process.Env = []string{"PATH=/usr/bin:/bin"}
	b.spec.Linux.Seccomp = &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls:      []specs.LinuxSyscall{{Names: []string{"faccessat2"}, Action: specs.ActErrno}},
	}
	writeFile(t, b.rootfs+"/noexec", "#!/bin/sh\n", 0o644)
	// Executable by its group only, which a user holds as the 300th of
	// its supplementary groups: the lookup must read them all.
	writeFile(t, b.rootfs+"/grpexec", "#!/bin/sh\necho group\n", 0o750)
	if err := os.Chown(b.rootfs+"/grpexec", 0, 300); err != nil {
		t.Fatal(err)
	}
	b.startContainer()
	for i, inGo := range []bool{true, false} {
		r := b.rtOpts(opts{env: inittrace}, "exec", b.id, "sh", "-c", "echo exec")
		if r.Code != 0 || r.Stdout != "exec\n" || goRuntimeStarted(r) != inGo {
			t.Errorf("exec %d: want output exec, in Go %v: %s", i+1, inGo, r)
		}
	}
	// The C exec's stage refuses it; Go only reports the failure.
	r := b.rt("exec", b.id, "/noexec")
	if r.Code == 0 {
		t.Fatalf("exec of a file without execute bits succeeded: %s", r)
	}
	mustContain(t, r.Stderr, `exec: "/noexec": permission denied`, "exec's error")

	args := []string{"exec", "--user", "1000:1000"}
	for g := 1; g <= 300; g++ {
		args = append(args, "-g", strconv.Itoa(g))
	}
	r = b.rt(append(args, b.id, "/grpexec")...)
	if r.Code != 0 || r.Stdout != "group\n" {
		t.Errorf("exec of a file executable by the user's 300th group: %s", r)
	}
}
