package integration

// Process behaviours where today's runc (1.5) is the reference: capability
// sets as `runc spec` writes them, unknown capability names, exec --cap,
// the terminal modes of a pty husk serves itself, how a process that can't
// be executed fails, and configs straight from `runc spec`.

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// runcSpecCaps are the capabilities `runc spec` gives the process (both
// 1.1 and 1.5): CAP_AUDIT_WRITE (29), CAP_KILL (5), CAP_NET_BIND_SERVICE
// (10), bit mask 0x20000420.
var runcSpecCaps = []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}

// capLines returns the Cap* lines of /proc/self/status output as
// "CapEff: 0000000020000420" (tabs folded into one space).
func capLines(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(strings.ReplaceAll(out, "\r", ""), "\n") {
		f := strings.Fields(l)
		if len(f) == 2 && strings.HasPrefix(f[0], "Cap") && strings.HasSuffix(f[0], ":") {
			m[strings.TrimSuffix(f[0], ":")] = f[1]
		}
	}
	return m
}

// wantCaps fails unless the container's capability sets are as given.
func wantCaps(t *testing.T, out string, want map[string]string, what string) {
	t.Helper()
	got := capLines(out)
	for set, v := range want {
		if got[set] != v {
			t.Errorf("%s: %s = %q, want %s\n%s", what, set, got[set], v, out)
		}
	}
}

// A `runc spec` config lists ambient capabilities its inheritable set
// lacks. The kernel can't raise them, and runc runs the process without
// them, with a warning each; husk used to fail the create with "set
// capabilities: operation not permitted".
func TestRunc15AmbientNotInheritable(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/cat", "/proc/self/status")
	b.spec.Process.User = specs.User{UID: 0, GID: 0}
	b.spec.Process.NoNewPrivileges = true
	b.spec.Process.Capabilities = &specs.LinuxCapabilities{
		Bounding: runcSpecCaps, Effective: runcSpecCaps, Permitted: runcSpecCaps, Ambient: runcSpecCaps,
	}
	r := b.run()
	if r.Code != 0 {
		t.Fatalf("a runc-spec capability config should run: %s", r)
	}
	// What runc gives: nothing ambient or inheritable; root's execve fills
	// permitted and effective from the bounding set (no_new_privs keeps
	// them within the permitted set husk set).
	wantCaps(t, r.Stdout, map[string]string{
		"CapInh": "0000000000000000", "CapPrm": "0000000020000420", "CapEff": "0000000020000420",
		"CapBnd": "0000000020000420", "CapAmb": "0000000000000000",
	}, "ambient caps without inheritable")
	for _, c := range runcSpecCaps {
		mustContain(t, r.Stderr, "can't raise ambient capability "+c+": operation not permitted", "warnings")
	}
	if strings.Contains(r.Stdout, "ambient") {
		t.Errorf("a warning reached the container's stdout: %s", r)
	}
}

// The ambient capabilities that are inheritable and permitted are raised,
// the others are warned about (runc's capabilities.bats case).
func TestRunc15AmbientPartly(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/cat", "/proc/self/status")
	b.spec.Process.NoNewPrivileges = true
	b.spec.Process.Capabilities = &specs.LinuxCapabilities{
		Bounding: runcSpecCaps, Effective: runcSpecCaps, Permitted: runcSpecCaps,
		Inheritable: []string{"CAP_KILL"}, Ambient: []string{"CAP_KILL", "CAP_CHOWN"},
	}
	r := b.run()
	if r.Code != 0 {
		t.Fatalf("run: %s", r)
	}
	wantCaps(t, r.Stdout, map[string]string{"CapAmb": "0000000000000020", "CapInh": "0000000000000020"}, "CAP_KILL ambient")
	mustContain(t, r.Stderr, "can't raise ambient capability CAP_CHOWN: ", "warning for CAP_CHOWN")
	if strings.Contains(r.Stderr, "capability CAP_KILL") {
		t.Errorf("CAP_KILL was raised, yet warned about: %s", r)
	}
}

// Unknown capability names are left out with a warning (runc 1.5), not an
// error: the container runs with the known ones.
func TestRunc15UnknownCapability(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/cat", "/proc/self/status")
	b.spec.Process.NoNewPrivileges = true
	b.spec.Process.Capabilities = &specs.LinuxCapabilities{
		Bounding:  []string{"CAP_KILL", "CAP_UNKNOWN", "UNKNOWN_CAP"},
		Effective: []string{"CAP_KILL", "cap_kill"},
		Permitted: []string{"CAP_KILL"},
	}
	r := b.run()
	if r.Code != 0 {
		t.Fatalf("unknown capability names should not stop the container: %s", r)
	}
	wantCaps(t, r.Stdout, map[string]string{
		"CapBnd": "0000000000000020", "CapEff": "0000000000000020", "CapAmb": "0000000000000000",
	}, "known capabilities kept")
	for _, name := range []string{"CAP_UNKNOWN", "UNKNOWN_CAP", "cap_kill"} {
		mustContain(t, r.Stderr, name, "warning naming the unknown capabilities")
	}
}

// exec --cap adds to bounding, effective and permitted, and to ambient when
// the config has an inheritable set (runc's rule: ambient can't be raised
// without it). The second case is runc's "ambient is set from spec".
func TestRunc15ExecCap(t *testing.T) {
	t.Parallel()
	t.Run("no inheritable", func(t *testing.T) {
		t.Parallel()
		b := newBundle(t)
		b.spec.Process.NoNewPrivileges = true
		b.spec.Process.Capabilities = &specs.LinuxCapabilities{}
		b.startContainer()
		wantCaps(t, b.mustExec(nil, "/bin/cat", "/proc/self/status"), map[string]string{
			"CapInh": "0000000000000000", "CapPrm": "0000000000000000", "CapEff": "0000000000000000",
			"CapBnd": "0000000000000000", "CapAmb": "0000000000000000",
		}, "exec without --cap")
		// CAP_KILL 0x20, CAP_AUDIT_WRITE 0x20000000.
		wantCaps(t, b.mustExec([]string{"--cap", "CAP_KILL", "--cap", "CAP_AUDIT_WRITE"}, "/bin/cat", "/proc/self/status"), map[string]string{
			"CapInh": "0000000000000000", "CapPrm": "0000000020000020", "CapEff": "0000000020000020",
			"CapBnd": "0000000020000020", "CapAmb": "0000000000000000",
		}, "exec --cap without an inheritable set")
	})
	t.Run("inheritable", func(t *testing.T) {
		t.Parallel()
		b := newBundle(t)
		b.spec.Process.NoNewPrivileges = true
		b.spec.Process.Capabilities = &specs.LinuxCapabilities{
			Inheritable: []string{"CAP_CHOWN", "CAP_SYSLOG"},
			Permitted:   []string{"CAP_KILL", "CAP_CHOWN"},
			Effective:   []string{"CAP_KILL"},
			Bounding:    []string{"CAP_KILL", "CAP_CHOWN", "CAP_SYSLOG"},
			Ambient:     []string{"CAP_CHOWN"},
		}
		b.startContainer()
		// CAP_CHOWN 0x1, CAP_KILL 0x20, CAP_SYSLOG 0x400000000.
		wantCaps(t, b.mustExec(nil, "/bin/cat", "/proc/self/status"), map[string]string{
			"CapInh": "0000000400000001", "CapPrm": "0000000000000021", "CapEff": "0000000000000021",
			"CapBnd": "0000000400000021", "CapAmb": "0000000000000001",
		}, "exec with the config's sets")
		wantCaps(t, b.mustExec([]string{"--cap", "CAP_SYSLOG"}, "/bin/cat", "/proc/self/status"), map[string]string{
			"CapInh": "0000000400000001", "CapPrm": "0000000400000021", "CapEff": "0000000400000021",
			"CapBnd": "0000000400000021", "CapAmb": "0000000400000001",
		}, "exec --cap CAP_SYSLOG with an inheritable set")
	})
}

// When husk serves the terminal itself (run and exec -t in the
// foreground), the pty doesn't turn "\n" into "\r\n", as runc's doesn't: a
// caller reading husk's stdout gets the program's bytes. A pty sent to a
// --console-socket keeps the kernel's default modes, as runc's does
// (measured with runc 1.1.5; runc 1.5 sets no modes there either): its
// receiver chooses, and an interactive client whose own terminal is raw
// depends on ONLCR for its carriage returns.
func TestRunc15TerminalNewlines(t *testing.T) {
	t.Parallel()
	if isRunc() {
		t.Skip("runc serves a terminal in the foreground only with a controlling terminal of its own (/dev/tty)")
	}
	t.Run("run", func(t *testing.T) {
		t.Parallel()
		b := newBundle(t)
		b.spec.Process.Terminal = true
		b.shell("/helper isatty 1; printf 'one\\ntwo\\n'")
		r := b.run()
		if r.Code != 0 {
			t.Fatalf("run with a terminal: %s", r)
		}
		if r.Stdout != "yes\none\ntwo\n" {
			t.Fatalf("run with a terminal: want %q on stdout, got %q", "yes\none\ntwo\n", r.Stdout)
		}
	})
	t.Run("exec", func(t *testing.T) {
		t.Parallel()
		b := newBundle(t)
		b.startContainer()
		// The first line is written right at the start: the pty's modes
		// are set before the process runs, not after husk receives it.
		out := b.mustExec([]string{"-t"}, "/bin/sh", "-c", "printf 'one\\n'; /helper isatty 1; printf 'two\\n'")
		if out != "one\nyes\ntwo\n" {
			t.Fatalf("exec -t: want %q on stdout, got %q", "one\nyes\ntwo\n", out)
		}
	})
	t.Run("console-socket", func(t *testing.T) {
		t.Parallel()
		b := newBundle(t)
		b.spec.Process.Terminal = true
		b.shell("printf 'one\\ntwo\\n'; echo tty-done; /helper sleep 600")
		cs := newConsoleSocket(t)
		b.mustCreate("--console-socket", cs.path)
		master := cs.wait(t)
		b.mustRT("start", b.id)
		out := readUntil(master, "tty-done", 10*time.Second)
		if !strings.HasPrefix(out, "one\r\ntwo\r\n") {
			t.Fatalf("pty sent to a console socket: want the kernel's default \\r\\n, got %q", out)
		}
	})
}

// A directory, or a file the process may not execute, fails as execve(2)
// fails: "permission denied", which engines map to exit code 126 (podman's
// `podman run IMAGE /etc`). It fails create, with runc's text.
func TestRunc15ExecPermissionDenied(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"/etc", "/etc/passwd"} {
		t.Run(strings.Trim(path, "/"), func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, path)
			r := b.create()
			checkCreateFailedClean(t, b, r)
			if r.Code != 1 {
				t.Errorf("create of %s: exit %d, want 1 as runc", path, r.Code)
			}
			wantExecDenied(t, r, path, "create's error")
		})
	}
	t.Run("exec", func(t *testing.T) {
		t.Parallel()
		b := newBundle(t)
		b.startContainer()
		r := b.execIn(nil, "/etc")
		if r.Code != 255 {
			t.Errorf("exec of a directory: exit %d, want 255 as runc", r.Code)
		}
		wantExecDenied(t, r, "/etc", "exec's error")
	})
}

// wantExecDenied checks for runc's `exec: "PATH": permission denied` (in
// runc's text log the quotes are escaped).
func wantExecDenied(t *testing.T, r *result, path, what string) {
	t.Helper()
	msg := strings.ReplaceAll(r.Stderr, `\"`, `"`)
	mustContain(t, msg, `exec: "`+path+`": permission denied`, what)
}

// A process with CAP_DAC_OVERRIDE runs a file its ids give it no execute
// permission on (one execute bit is enough), as execve(2) does: husk's own
// lookup used to judge by the real uid, without the capability.
func TestRunc15ExecDacOverride(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/root-only", "id")
	copyFile(t, helperBin, filepath.Join(b.rootfs, "root-only"), 0o700)
	b.spec.Process.User = specs.User{UID: 1000, GID: 1000}
	b.spec.Process.NoNewPrivileges = true
	caps := []string{"CAP_DAC_OVERRIDE"}
	b.spec.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
	out := strings.TrimSpace(b.mustRun())
	if !strings.HasPrefix(out, "uid=1000 gid=1000") {
		t.Fatalf("uid 1000 with CAP_DAC_OVERRIDE running a 0700 root file: got %q", out)
	}
	// Without the capability, execve refuses, and so does husk, at create.
	b2 := newBundle(t, "/root-only", "id")
	copyFile(t, helperBin, filepath.Join(b2.rootfs, "root-only"), 0o700)
	b2.spec.Process.User = specs.User{UID: 1000, GID: 1000}
	b2.spec.Process.Capabilities = &specs.LinuxCapabilities{}
	r := b2.create()
	checkCreateFailedClean(t, b2, r)
	wantExecDenied(t, r, "/root-only", "create's error without CAP_DAC_OVERRIDE")
}

// An execve that fails after the lookup (here: a script whose interpreter
// doesn't exist) says so in runc's words, `exec /run.sh: no such file or
// directory`, one line without a "husk:" prefix; run exits 255 as runc.
func TestRunc15ExecveError(t *testing.T) {
	t.Parallel()
	const script = "#!/mmnnttbb foo bar\nsh\n"
	t.Run("run", func(t *testing.T) {
		t.Parallel()
		b := newBundle(t, "/run.sh")
		writeFile(t, filepath.Join(b.rootfs, "run.sh"), script, 0o755)
		r := b.run()
		if r.Code != 255 {
			t.Errorf("run: exit %d, want 255", r.Code)
		}
		if got := lines(r.Stderr); len(got) != 1 || got[0] != "exec /run.sh: no such file or directory" {
			t.Fatalf("run: want the one line %q on stderr: %s", "exec /run.sh: no such file or directory", r)
		}
	})
	t.Run("exec", func(t *testing.T) {
		t.Parallel()
		b := newBundle(t)
		writeFile(t, filepath.Join(b.rootfs, "run.sh"), script, 0o755)
		b.startContainer()
		r := b.execIn(nil, "/run.sh")
		if r.Code == 0 {
			t.Fatalf("exec of a script without its interpreter should fail: %s", r)
		}
		if got := lines(r.Stderr); len(got) != 1 || !strings.Contains(got[0], "exec /run.sh: no such file or directory") {
			t.Fatalf("exec: want one line with %q on stderr: %s", "exec /run.sh: no such file or directory", r)
		}
	})
}

// runc115Spec is what `runc spec` of runc 1.1.5 writes.
const runc115Spec = `{
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": {"uid": 0, "gid": 0},
		"args": ["sh"],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
		},
		"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
		"noNewPrivileges": true
	},
	"root": {"path": "rootfs", "readonly": true},
	"hostname": "runc",
	"mounts": ` + runcSpecMounts + `,
	"linux": {
		"resources": {"devices": [{"allow": false, "access": "rwm"}]},
		"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}],
		"maskedPaths": ` + runcSpecMasked + `,
		"readonlyPaths": ` + runcSpecReadonly + `
	}
}`

// runc15Spec is runc 1.5's example spec (its `runc spec`): runtime-spec
// 1.3.0, no ambient set, and a cgroup namespace on a cgroup v2 host only
// (CGROUPNS is replaced).
const runc15Spec = `{
	"ociVersion": "1.3.0",
	"process": {
		"terminal": true,
		"user": {"uid": 0, "gid": 0},
		"args": ["sh"],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
		},
		"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
		"noNewPrivileges": true
	},
	"root": {"path": "rootfs", "readonly": true},
	"hostname": "runc",
	"mounts": ` + runcSpecMounts + `,
	"linux": {
		"resources": {"devices": [{"allow": false, "access": "rwm"}]},
		"namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}CGROUPNS],
		"maskedPaths": ` + runcSpecMasked + `,
		"readonlyPaths": ` + runcSpecReadonly + `
	}
}`

const runcSpecMounts = `[
		{"destination": "/proc", "type": "proc", "source": "proc"},
		{"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
		{"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
		{"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
		{"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
		{"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
		{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
	]`

const runcSpecMasked = `["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"]`

const runcSpecReadonly = `["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]`

// runcSpecConfig is the template with process.args replaced: the only
// change to what runc writes.
func runcSpecConfig(t *testing.T, template string, args []string) []byte {
	t.Helper()
	cgroupNS := ""
	if cgroupSubsystems[0] == "" { // a cgroup v2 host
		cgroupNS = `, {"type": "cgroup"}`
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(strings.Replace(template, "CGROUPNS", cgroupNS, 1)), &cfg); err != nil {
		t.Fatalf("spec template: %v", err)
	}
	cfg["process"].(map[string]any)["args"] = args
	data, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// The runc 1.1.5 template is what runc 1.1.5 writes, where it is installed.
func TestRunc15RuncSpecTemplate(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("/usr/sbin/runc", "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "runc version 1.1.5") {
		t.Skip("needs runc 1.1.5 at /usr/sbin/runc")
	}
	dir := t.TempDir()
	cmd := exec.Command("/usr/sbin/runc", "spec")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v\n%s", err, out)
	}
	written, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal(written, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(runcSpecConfig(t, runc115Spec, []string{"sh"}), &want); err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("runc 1.1.5's spec differs from the test's template:\nrunc: %s\ntest: %s", g, w)
	}
}

// A config exactly as `runc spec` writes it, args aside, runs unchanged:
// terminal, read-only rootfs, no cgroupsPath, ambient capabilities that
// can't be raised (1.1.5), runtime-spec 1.3.0 (1.5).
func TestRunc15RuncSpecConfigs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, template string
		warn           bool // ambient capabilities that can't be raised
	}{
		{"runc-1.1.5", runc115Spec, true},
		{"runc-1.5", runc15Spec, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t)
			b.noSave = true
			if !isRunc() {
				b.cgroup = "/husk/" + b.id // husk's cgroup without a cgroupsPath
			}
			cfg := runcSpecConfig(t, tc.template, []string{"sh", "-c",
				"cat /proc/self/status; hostname; touch /ro 2>/dev/null || echo read-only; echo spec-done"})
			writeFile(t, filepath.Join(b.dir, "config.json"), string(cfg), 0o644)
			cs := newConsoleSocket(t)
			r := b.create("--console-socket", cs.path)
			if r.Code != 0 {
				t.Fatalf("create from %s's spec: %s", tc.name, r)
			}
			master := cs.wait(t)
			b.mustRT("start", b.id)
			out := strings.ReplaceAll(readUntil(master, "spec-done", outputTimeout), "\r", "")
			mustContain(t, out, "spec-done", "container output")
			wantCaps(t, out, map[string]string{
				"CapInh": "0000000000000000", "CapPrm": "0000000020000420", "CapEff": "0000000020000420",
				"CapBnd": "0000000020000420", "CapAmb": "0000000000000000",
			}, tc.name+" spec")
			mustContain(t, out, "\nrunc\n", "hostname")
			mustContain(t, out, "\nread-only\n", "read-only rootfs")
			mustContain(t, out, "NoNewPrivs:\t1", "no_new_privs")
			if got := strings.Contains(r.Stderr, "can't raise ambient capability"); got != tc.warn {
				t.Errorf("warnings about ambient capabilities: %v, want %v: %s", got, tc.warn, r)
			}
			b.waitStatus("stopped")
			if tc.warn {
				return
			}
			if strings.TrimSpace(r.Stderr) != "" {
				t.Errorf("create of runc 1.5's spec should be quiet: %s", r)
			}
		})
	}
}
