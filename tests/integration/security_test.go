package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A rootfs whose /proc is a symlink must be refused: mounting procfs through
// it would put a procfs wherever the link points (CVE-2019-19921 style).
func TestSecurityProcSymlinkRefused(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "mounts")
	hostTarget := filepath.Join(t.TempDir(), "proc-target")
	if err := os.MkdirAll(hostTarget, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(b.rootfs, "proc")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(b.rootfs, "elsewhere"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/elsewhere", filepath.Join(b.rootfs, "proc")); err != nil {
		t.Fatal(err)
	}
	r := b.create()
	checkCreateFailedClean(t, b, r)
	t.Logf("refused with: %s", strings.TrimSpace(r.Stderr))
}

// A mount destination that is a symlink inside the rootfs is resolved
// within the rootfs: absolute and ../../.. targets both land inside.
func TestSecurityMountDestSymlink(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "marker"), "bind-source\n", 0o644)
	// Host paths that must stay untouched: if a runtime followed the links
	// on the host, it would create them.
	hostAbs := filepath.Join(os.TempDir(), "husk-it-escape-abs-"+randHex(4))
	hostRel := filepath.Join(os.TempDir(), "husk-it-escape-rel-"+randHex(4))
	t.Cleanup(func() { os.RemoveAll(hostAbs); os.RemoveAll(hostRel) })
	dots := strings.Repeat("../", 12)
	if err := os.Symlink(hostAbs, filepath.Join(b.rootfs, "evil-abs")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dots+strings.TrimPrefix(hostRel, "/"), filepath.Join(b.rootfs, "evil-rel")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dots, filepath.Join(b.rootfs, "evil-root")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"/evil-abs", "/evil-rel", "/evil-root/mnt/under-root"} {
		b.spec.Mounts = append(b.spec.Mounts, specs.Mount{Destination: d, Type: "bind", Source: src, Options: []string{"bind", "ro"}})
	}
	b.shell(fmt.Sprintf("/helper cat %s/marker; /helper cat %s/marker; /helper cat /mnt/under-root/marker", hostAbs, hostRel))
	r := b.run()
	for _, p := range []string{hostAbs, hostRel, "/mnt/under-root"} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("host path %s was created by following a symlink out of the rootfs", p)
		}
	}
	if r.Code != 0 {
		// Refusing symlinked destinations is also safe.
		t.Logf("the runtime refused symlinked mount destinations: %s", r)
		return
	}
	if n := strings.Count(r.Stdout, "bind-source\n"); n != 3 {
		t.Fatalf("want the bind source visible at all 3 rootfs-relative targets, got %d:\n%s", n, r)
	}
	for _, p := range []string{hostAbs, hostRel} {
		if _, err := os.Stat(filepath.Join(b.rootfs, p)); err != nil {
			t.Errorf("mount target %s should exist inside the rootfs: %v", p, err)
		}
	}
}

// A process.cwd of /proc/self/fd/N must not give the container a working
// directory (or an fd) outside of its root, whatever the runtime had open
// (CVE-2024-21626).
func TestSecurityCwdFdLeak(t *testing.T) {
	t.Parallel()
	for n := 3; n <= 9; n++ {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			b := newBundle(t)
			b.shell("/helper cwd; /helper fds; /helper ls ../../../..")
			b.spec.Process.Cwd = fmt.Sprintf("/proc/self/fd/%d", n)
			r := b.run()
			if strings.TrimSpace(r.Stdout) == "" {
				// Refusing the cwd is fine: nothing ran.
				t.Logf("refused: %s", strings.TrimSpace(r.Stderr))
				return
			}
			for _, l := range lines(r.Stdout) {
				if strings.HasSuffix(l, " outside") && !isStdioLine(l) {
					t.Errorf("fd outside the container's root: %s", l)
				}
				if strings.Contains(l, "getcwd") || strings.Contains(l, "unreachable") {
					t.Errorf("the working directory is outside the container's root: %s", l)
				}
			}
			// The parent of the cwd, walked up, must be the container's /.
			if strings.Contains(r.Stdout, "\nhome\n") || strings.Contains(r.Stdout, "\nusr\n") {
				t.Errorf("walking up from the cwd shows a host directory:\n%s", r.Stdout)
			}
		})
	}
}

// No fd of the runtime reaches the container's init or an exec'd process.
func TestSecurityNoFdLeakExec(t *testing.T) {
	t.Parallel()
	// busybox sleep as init: the helper's Go runtime has fds of its own.
	b := newBundle(t, "/bin/sleep", "600")
	b.startContainer()
	out := b.mustExec(nil, "/helper", "fds")
	// 0-2 are the caller's stdio, passed on by design: they may well be
	// host files; any other fd must not exist.
	for fd, v := range fdLines(out) {
		if fd != "0" && fd != "1" && fd != "2" {
			t.Errorf("fd %s (%s) leaked into the exec'd process", fd, v)
		}
	}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", b.state().Pid))
	for _, e := range fds {
		if e.Name() != "0" && e.Name() != "1" && e.Name() != "2" {
			target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", b.state().Pid, e.Name()))
			t.Errorf("init has fd %s -> %s", e.Name(), target)
		}
	}
}

func sha256File(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// CVE-2019-5736: while the runtime joins a container for exec, a process in
// the container tries to write to the binary behind every /proc/PID/exe it
// can see. The runtime binary on the host must come out unchanged. The test
// runs a copy of the runtime binary, so that a vulnerable runtime damages
// only the copy. With CAP_SYS_PTRACE the attacker also gets past the
// runtime being non-dumpable while it joins; with CAP_SYS_ADMIN it clears
// the read-only flag of the mount the runtime's binary is exec'd from (a
// detached bind mount is the container's to change). The attacker stops
// exec'ing before it ends, so that the binary is no longer busy then.
func TestSecurityExeOverwrite(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		caps []string
	}{
		{"default-caps", nil},
		{"cap-sys-ptrace", []string{"CAP_SYS_PTRACE"}},
		{"cap-sys-admin", []string{"CAP_SYS_ADMIN"}},
		{"cap-sys-admin-ptrace", []string{"CAP_SYS_ADMIN", "CAP_SYS_PTRACE"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			exeAttack(t, c.caps)
		})
	}
}

func exeAttack(t *testing.T, caps []string) {
	b := newBundle(t, "/helper", "exeattack", "4")
	for _, c := range caps {
		addCap(b, c)
	}
	// Its sha256, mtime and ctime are checked: the attacker writes back
	// what it read, so only the times show a write.
	bc := newBinCopy(t)
	bin := bc.path

	b.save()
	if r := b.rtOpts(opts{binary: bin, outFile: b.outPath}, "create", "--bundle", b.dir, b.id); r.Code != 0 {
		t.Fatalf("create: %s", r)
	}
	if r := b.rtOpts(opts{binary: bin}, "start", b.id); r.Code != 0 {
		t.Fatalf("start: %s", r)
	}
	// The last 1.5 s of the attack without execs: a write through a held
	// handle lands only once no runtime process runs the binary.
	deadline := time.Now().Add(2500 * time.Millisecond)
	var wg sync.WaitGroup
	var mu sync.Mutex
	execs, failures := 0, 0
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && !strings.Contains(b.output(), "REMOUNTED-RW ") {
				r := b.rtOpts(opts{binary: bin}, "exec", b.id, "/helper", "pid")
				mu.Lock()
				execs++
				if r.Code != 0 {
					failures++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	b.waitStatus("stopped")
	out := b.output()
	bc.check(t)
	var wrote []string
	for _, l := range lines(out) {
		if strings.HasPrefix(l, "WROTE ") {
			wrote = append(wrote, l)
		}
	}
	if len(wrote) > 0 {
		t.Errorf("the container wrote to a host binary %d times, first: %s", len(wrote), wrote[0])
	}
	mustContain(t, out, "done tries=", "attacker output")
	t.Logf("%d execs (%d failed) during the attack; attacker saw:\n%s", execs, failures, head(out, 20))
	if execs == 0 || failures == execs {
		t.Errorf("no exec succeeded during the attack: the test proved nothing")
	}
}

// The attack of TestSecurityExeOverwrite works against a binary that is not
// protected: a binary entering the container's pid namespace with nsenter
// gets written to (a copy, and the attacker writes back the bytes it read).
// This checks the attacker, not the runtime.
func TestSecurityExeAttackControl(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "exeattack", "4")
	// The victim runs with all capabilities: without CAP_SYS_PTRACE the
	// attacker may not even look at its /proc/PID/exe.
	addCap(b, "CAP_SYS_PTRACE")
	// busybox picks its applet from its name.
	victim := filepath.Join(t.TempDir(), "sleep")
	copyFile(t, busyboxPath, victim, 0o755)
	st := b.startContainer()
	time.Sleep(300 * time.Millisecond) // let the attacker start scanning
	// nsenter itself shows up in the pid namespace before it execs the
	// victim: run a copy of it too, never a host binary.
	nsenter, err := exec.LookPath("nsenter")
	if err != nil {
		t.Skip(err)
	}
	nsenterCopy := filepath.Join(t.TempDir(), "nsenter")
	copyFile(t, nsenter, nsenterCopy, 0o755)
	cmd := exec.Command(nsenterCopy, "-t", fmt.Sprint(st.Pid), "-p", "--", victim, "1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("nsenter into the container's pid namespace: %v\n%s", err, out)
	}
	b.waitStatus("stopped")
	out := b.output()
	if !strings.Contains(out, "WROTE ") {
		t.Fatalf("the attacker failed to write to an unprotected binary that joined the container; its output:\n%s", head(out, 20))
	}
}

// The container cannot see the host's files through /proc/1/root, /proc/1/cwd
// or similar: its pid 1 is its own init.
func TestSecurityProcRootIsContainer(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	marker := "host-marker-" + randHex(4)
	hostFile := filepath.Join(t.TempDir(), marker)
	writeFile(t, hostFile, "secret", 0o644)
	b.shell("/helper cat /proc/1/root" + hostFile + "; /helper ls /proc/1/root/")
	r := b.run()
	if strings.Contains(r.Stdout, "secret") {
		t.Fatalf("the container read a host file through /proc/1/root: %s", r)
	}
	mustContain(t, r.Stdout, "helper\n", "/proc/1/root is the container's root")
}

// addCap adds a capability to the bounding, effective and permitted sets.
func addCap(b *bundle, c string) {
	if b.spec.Process.Capabilities == nil {
		b.spec.Process.Capabilities = &specs.LinuxCapabilities{}
	}
	caps := b.spec.Process.Capabilities
	caps.Bounding = append(caps.Bounding, c)
	caps.Effective = append(caps.Effective, c)
	caps.Permitted = append(caps.Permitted, c)
}

// head returns the first n lines of s.
func head(s string, n int) string {
	ls := strings.SplitAfter(s, "\n")
	if len(ls) <= n {
		return s
	}
	return strings.Join(ls[:n], "") + fmt.Sprintf("... (%d more lines)\n", len(ls)-n)
}

// isStdioLine tells whether a `helper fds` line is about fd 0, 1 or 2: the
// caller's stdio, which the runtime passes on as they are.
func isStdioLine(l string) bool {
	return strings.HasPrefix(l, "0 ") || strings.HasPrefix(l, "1 ") || strings.HasPrefix(l, "2 ")
}
