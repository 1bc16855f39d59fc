package integration

// AppArmor confinement, on a host (or the v2 guest, see tests/v2vm) where
// AppArmor is enabled and apparmor_parser is installed. Each test loads
// its own profiles under fresh names and unloads them when it ends.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// requireAppArmorEnv, set to 1, turns the skip on a host without AppArmor
// into a failure: the v2 guest boots with AppArmor, so a skip there would
// hide a broken guest.
const requireAppArmorEnv = "HUSK_REQUIRE_APPARMOR"

// parserTimeout is generous: the parser compiles under emulation in the
// guest.
const parserTimeout = 60 * time.Second

func needAppArmor(t *testing.T) {
	t.Helper()
	reason := skipReason
	if reason == "" {
		reason = appArmorMissing()
	}
	if reason == "" {
		return
	}
	if os.Getenv(requireAppArmorEnv) == "1" {
		t.Fatalf("%s=1, but: %s", requireAppArmorEnv, reason)
	}
	t.Skip(reason)
}

func appArmorMissing() string {
	data, err := os.ReadFile("/sys/module/apparmor/parameters/enabled")
	if err != nil || strings.TrimSpace(string(data)) != "Y" {
		return "AppArmor is not enabled on this host (/sys/module/apparmor/parameters/enabled is not Y; boot with apparmor=1 security=apparmor)"
	}
	if _, err := os.Stat("/sys/kernel/security/apparmor/profiles"); err != nil {
		return "AppArmor is enabled but securityfs is not mounted at /sys/kernel/security"
	}
	if _, err := exec.LookPath("apparmor_parser"); err != nil {
		return "apparmor_parser is not installed (apt-get install apparmor)"
	}
	return ""
}

// aaProfile is the test's profiles' shape: everything a busybox container
// and its runtime need, except the paths in deny, which the process can
// neither read nor write, whatever its capabilities. attach_disconnected
// lets it use stdio files from outside its mount namespace.
const aaProfile = `abi <abi/3.0>,
profile %s flags=(attach_disconnected,mediate_deleted) {
  file,
  capability,
  network,
  unix,
  signal,
  ptrace,
  mount,
  umount,
  pivot_root,
%s}
`

// loadProfile loads a fresh profile that denies the given paths and
// returns its name; the profile is unloaded when the test ends.
func loadProfile(t *testing.T, deny ...string) string {
	t.Helper()
	name := "husk-it-" + randHex(6)
	dir, err := os.MkdirTemp("", "husk-aa-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var rules strings.Builder
	for _, p := range deny {
		fmt.Fprintf(&rules, "  deny %s rwklx,\n", p)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(fmt.Sprintf(aaProfile, name, rules.String())), 0o644); err != nil {
		t.Fatal(err)
	}
	// -K: no cache, which would outlive the test.
	if out, err := apparmorParser("-r", "-K", path); err != nil {
		t.Fatalf("apparmor_parser -r %s: %v\n%s", path, err, out)
	}
	t.Cleanup(func() {
		if out, err := apparmorParser("-R", "-K", path); err != nil {
			t.Errorf("apparmor_parser -R %s: %v\n%s", path, err, out)
		}
		if profileLoaded(t, name) {
			t.Errorf("profile %s is still loaded after apparmor_parser -R", name)
		}
	})
	if !profileLoaded(t, name) {
		t.Fatalf("profile %s is not in /sys/kernel/security/apparmor/profiles after apparmor_parser -r", name)
	}
	return name
}

func apparmorParser(args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), parserTimeout)
	defer cancel()
	return exec.CommandContext(ctx, "apparmor_parser", args...).CombinedOutput()
}

func profileLoaded(t *testing.T, name string) bool {
	t.Helper()
	data, err := os.ReadFile("/sys/kernel/security/apparmor/profiles")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, name+" (") {
			return true
		}
	}
	return false
}

// enforced is how attr/current shows a process confined by profile.
func enforced(profile string) string { return profile + " (enforce)" }

// aaFiles puts files in the rootfs under /aa, each holding a random
// secret, and returns name -> secret.
func aaFiles(t *testing.T, b *bundle, names ...string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, n := range names {
		m[n] = n + "-" + randHex(6)
		writeFile(t, filepath.Join(b.rootfs, "aa", n), m[n], 0o644)
	}
	return m
}

// aaProbe prints the shell's own label, then tries to read each file
// under /aa: "NAME=CONTENT" when it could, "NAME refused" when not.
func aaProbe(files map[string]string) string {
	s := `read -r label </proc/self/attr/current; echo "label=$label"`
	for n := range files {
		s += fmt.Sprintf(`; if c=$(cat /aa/%[1]s 2>/tmp/err); then echo "%[1]s=$c"; else echo "%[1]s refused: $(cat /tmp/err)"; fi`, n)
	}
	return s
}

// checkProbe asserts on aaProbe's output: the label is profile's, the
// files in denied were refused (the kernel's EACCES, the container being
// root with DAC in its favour) and the others read.
func checkProbe(t *testing.T, what, out, profile string, files map[string]string, denied ...string) {
	t.Helper()
	if want := "label=" + enforced(profile); !strings.Contains(out, want+"\n") {
		t.Errorf("%s: the process is not confined by %s: want %q in its output:\n%s", what, profile, want, out)
	}
	isDenied := map[string]bool{}
	for _, d := range denied {
		isDenied[d] = true
	}
	for n, secret := range files {
		if isDenied[n] {
			mustContain(t, out, n+" refused: ", what)
			mustContain(t, out, "Permission denied", what)
			if strings.Contains(out, secret) {
				t.Errorf("%s: read /aa/%s, which %s denies:\n%s", what, n, profile, out)
			}
		} else {
			mustContain(t, out, n+"="+secret+"\n", what)
		}
	}
}

// process.apparmorProfile confines the container's process, and exec's
// processes: with --apparmor under that profile, without it under the
// container's, as runc does; husk also when the process comes from
// --process and names no profile. One container for all, to keep the
// test short under emulation.
func TestAppArmorProfile(t *testing.T) {
	needAppArmor(t)
	p := loadProfile(t, "/aa/p-denies")
	q := loadProfile(t, "/aa/q-denies")
	b := newBundle(t)
	files := aaFiles(t, b, "p-denies", "q-denies")
	probe := aaProbe(files)
	b.spec.Process.ApparmorProfile = p
	b.shell(probe + "; echo probed; exec /helper sleep 600")
	b.startContainer()
	checkProbe(t, "the container's process", b.waitOutput("probed"), p, files, "p-denies")

	checkProbe(t, "exec", b.mustExec(nil, "/bin/sh", "-c", probe), p, files, "p-denies")
	checkProbe(t, "exec --apparmor", b.mustExec([]string{"--apparmor", q}, "/bin/sh", "-c", probe), q, files, "q-denies")
	// runc gives such a process the container's SELinux
	// label but no AppArmor profile.
	if !isRunc() {
		r := b.execProcess(specs.Process{}, "/bin/sh", "-c", probe)
		if r.Code != 0 {
			t.Fatalf("exec --process: %s", r)
		}
		checkProbe(t, "exec --process without apparmorProfile", r.Stdout, p, files, "p-denies")
	}

	missing := "husk-it-missing-" + randHex(6)
	r := b.execIn([]string{"--apparmor", missing}, "/helper", "pid")
	if r.Code == 0 {
		t.Fatalf("exec --apparmor with a profile that is not loaded should fail: %s", r)
	}
	if !isRunc() {
		mustContain(t, r.Stderr, "process.apparmorProfile", "exec error")
		mustContain(t, r.Stderr, `no profile "`+missing+`" loaded`, "exec error")
	}
	t.Logf("exec --apparmor %s: %s", missing, strings.TrimSpace(r.Stderr))
}

// A profile that is not loaded fails create, naming the field, and leaves
// nothing behind.
func TestAppArmorMissingProfile(t *testing.T) {
	needAppArmor(t)
	b := newBundle(t)
	missing := "husk-it-missing-" + randHex(6)
	b.spec.Process.ApparmorProfile = missing
	r := b.create()
	checkCreateFailedClean(t, b, r)
	if !isRunc() {
		mustContain(t, r.Stderr, "process.apparmorProfile", "create error")
		mustContain(t, r.Stderr, `no profile "`+missing+`" loaded`, "create error")
	}
	t.Logf("create with %s: %s", missing, strings.TrimSpace(r.Stderr))
}

// attrPaths are the attr directories the stage's writes could reach by
// path, as the mounts resolve them (the stage being pid 1 of the
// container).
var attrPaths = []string{"/proc/self/attr", "/proc/thread-self/attr", "/proc/1/attr", "/proc/1/task/1/attr"}

// fakeProcTree fills dir with what a /proc looks like to a runtime that
// writes "exec PROFILE" by path: attr files of self, thread-self and pid 1
// that accept the write and say "unconfined".
func fakeProcTree(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{"self", "thread-self", "1", "1/task/1"} {
		fakeAttrDir(t, filepath.Join(dir, d, "attr"))
	}
}

func fakeAttrDir(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{"current", "exec", "apparmor/current", "apparmor/exec"} {
		writeFile(t, filepath.Join(dir, f), "unconfined\n", 0o666)
	}
}

// withoutProcMount drops the spec's /proc mount and the masked and
// read-only paths under it, so that what the test puts at /proc is all
// the container has there.
func withoutProcMount(b *bundle) {
	var ms []specs.Mount
	for _, m := range b.spec.Mounts {
		if m.Destination != "/proc" {
			ms = append(ms, m)
		}
	}
	b.spec.Mounts = ms
	keep := func(paths []string) []string {
		var out []string
		for _, p := range paths {
			if !strings.HasPrefix(p, "/proc/") {
				out = append(out, p)
			}
		}
		return out
	}
	b.spec.Linux.MaskedPaths = keep(b.spec.Linux.MaskedPaths)
	b.spec.Linux.ReadonlyPaths = keep(b.spec.Linux.ReadonlyPaths)
}

// hostLabel is the AppArmor label of a host pid, read from the host's
// /proc, which nothing in the container can fake.
func hostLabel(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/attr/current", pid))
	if err != nil {
		t.Fatalf("label of pid %d: %v", pid, err)
	}
	return strings.TrimSpace(string(data))
}

func readPidFile(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	return atoi(t, string(data))
}

// The label can't be lost to a /proc the rootfs or the config fakes
// (CVE-2019-16884, CVE-2025-52881): the runtime either refuses the
// container or its process runs confined. The label is read from the
// host's /proc.
func TestAppArmorLabelNotRedirected(t *testing.T) {
	needAppArmor(t)
	profile := loadProfile(t)
	bind := func(b *bundle, dst string) {
		src := b.t.TempDir()
		fakeProcTree(b.t, src)
		if dst != "/proc" {
			src = filepath.Join(src, "self", "attr")
		}
		b.spec.Mounts = append(b.spec.Mounts, specs.Mount{Destination: dst, Type: "bind", Source: src, Options: []string{"rbind", "rw"}})
	}
	for _, tc := range []struct {
		name  string
		spoil func(*bundle)
	}{
		{"rootfs /proc is a plain directory", func(b *bundle) {
			withoutProcMount(b)
			fakeProcTree(b.t, filepath.Join(b.rootfs, "proc"))
		}},
		{"tmpfs at /proc", func(b *bundle) {
			withoutProcMount(b)
			b.spec.Mounts = append(b.spec.Mounts, specs.Mount{Destination: "/proc", Type: "tmpfs", Source: "tmpfs"})
		}},
		{"host directory at /proc", func(b *bundle) {
			withoutProcMount(b)
			bind(b, "/proc")
		}},
		{"bind over /proc/self/attr", func(b *bundle) { bind(b, "/proc/self/attr") }},
		// /dev/null over the files that take "exec PROFILE": a write by
		// path would succeed and change nothing.
		{"maskedPaths over the exec attr files", func(b *bundle) {
			for _, p := range attrPaths {
				b.spec.Linux.MaskedPaths = append(b.spec.Linux.MaskedPaths, p+"/exec", p+"/apparmor/exec")
			}
		}},
		{"readonlyPaths over the attr directories", func(b *bundle) {
			b.spec.Linux.ReadonlyPaths = append(b.spec.Linux.ReadonlyPaths, attrPaths...)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The process leaves a mark, to tell whether it ran when
			// the runtime reports a failure.
			b := newBundle(t, "/bin/sh", "-c", "echo ran > /ran; exec /helper sleep 600")
			b.spec.Process.ApparmorProfile = profile
			tc.spoil(b)
			pidFile := filepath.Join(t.TempDir(), "pid")
			r := b.run("--detach", "--pid-file", pidFile)
			if r.Code != 0 {
				checkCreateFailedClean(t, b, r)
				if _, err := os.Stat(filepath.Join(b.rootfs, "ran")); err == nil {
					t.Errorf("the container's process ran although run failed: %s", r)
				}
				t.Logf("refused: %s", strings.TrimSpace(r.Stderr))
				return
			}
			pid := readPidFile(t, pidFile)
			if got := hostLabel(t, pid); got != enforced(profile) {
				t.Fatalf("the container's process (pid %d) runs as %q, want %q", pid, got, enforced(profile))
			}
			t.Logf("runs confined: %s", enforced(profile))
		})
	}

	// The container's own process overmounts /proc with fake files
	// before the exec: the exec'd process is refused or confined.
	t.Run("exec after the container overmounts /proc", func(t *testing.T) {
		b := newBundle(t)
		for _, set := range []*[]string{&b.spec.Process.Capabilities.Bounding, &b.spec.Process.Capabilities.Effective, &b.spec.Process.Capabilities.Permitted} {
			*set = append(*set, "CAP_SYS_ADMIN")
		}
		var fake strings.Builder
		for _, d := range []string{"self", "thread-self", "1"} {
			fmt.Fprintf(&fake, "mkdir -p /proc/%[1]s/attr/apparmor; for f in current exec apparmor/current apparmor/exec; do echo unconfined > /proc/%[1]s/attr/$f; done; ", d)
		}
		b.shell("mount -t tmpfs tmpfs /proc && " + fake.String() + "echo ready; exec /helper sleep 600")
		b.startContainer()
		b.waitOutput("ready")
		pidFile := filepath.Join(t.TempDir(), "pid")
		r := b.execIn([]string{"--detach", "--pid-file", pidFile, "--apparmor", profile}, "/helper", "sleep", "600")
		if r.Code != 0 {
			if strings.TrimSpace(r.Stderr) == "" {
				t.Errorf("a failed exec should say why on stderr: %s", r)
			}
			t.Logf("refused: %s", strings.TrimSpace(r.Stderr))
			return
		}
		pid := readPidFile(t, pidFile)
		if got := hostLabel(t, pid); got != enforced(profile) {
			t.Fatalf("the exec'd process (pid %d) runs as %q, want %q", pid, got, enforced(profile))
		}
		t.Logf("runs confined: %s", enforced(profile))
	})
}
