package integration

// Attack tests for the path and procfs classes of runc's advisories (see
// docs/security.md): each one runs the attack from a real process in a
// real container, or from a hostile bundle prepared the way an image or a
// shared volume would deliver it, and asserts on what the host and the
// victim container got. The racing ones have a second container (the
// attacker, running `helper swap`) share a directory with the victim and
// count its swaps, so that a test that raced nothing fails.

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const (
	// swapSecs is how long an attacker swaps; raceSecs how long the
	// victim's rounds go on, inside that window.
	swapSecs = 5.0
	raceSecs = 4 * time.Second
	// minSwaps is the least an attacker must have done for a race test to
	// count: a swapper that could not rename raced nothing.
	minSwaps = 1000
	// minRounds is the least number of victim containers a race test must
	// have tried.
	minRounds = 4
)

// leaseBreak is the procfs file the /dev/null and /dev/console attacks aim
// at: global to the host (not namespaced), writable by root and harmless
// to change for a moment. Writes from the container would show there.
const leaseBreak = "/proc/sys/fs/lease-break-time"

var (
	leaseBreakOnce sync.Once
	leaseBreakOrig string
	leaseBreakMu   sync.Mutex // guards leaseBreakN and the restore
	leaseBreakN    int
)

// hostSysctlGuard returns a value for the container to try to write to
// leaseBreak, unique to the calling test so that a change is attributed to
// it, and registers a check that the host's value is not that one (and
// puts the original back if it is).
func hostSysctlGuard(t *testing.T) string {
	t.Helper()
	leaseBreakOnce.Do(func() {
		b, err := os.ReadFile(leaseBreak)
		if err == nil {
			leaseBreakOrig = strings.TrimSpace(string(b))
		}
	})
	orig, err := strconv.Atoi(leaseBreakOrig)
	if err != nil {
		t.Skipf("cannot read %s: %q", leaseBreak, leaseBreakOrig)
	}
	leaseBreakMu.Lock()
	leaseBreakN++
	val := strconv.Itoa(orig + 1000 + leaseBreakN)
	leaseBreakMu.Unlock()
	t.Cleanup(func() {
		leaseBreakMu.Lock()
		defer leaseBreakMu.Unlock()
		b, _ := os.ReadFile(leaseBreak)
		if got := strings.TrimSpace(string(b)); got == val {
			t.Errorf("the container wrote %s to the host's %s", val, leaseBreak)
			if err := os.WriteFile(leaseBreak, []byte(leaseBreakOrig), 0o644); err != nil {
				t.Errorf("restore %s: %v", leaseBreak, err)
			}
		}
	})
	return val
}

// tree lists everything under dir (relative names, "/" after
// directories, "name -> target" for symlinks, file contents), for
// before/after comparisons of host directories an attack aims at.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			out = append(out, rel+" -> "+l)
		case d.IsDir():
			out = append(out, rel+"/")
		default:
			b, _ := os.ReadFile(p)
			out = append(out, rel+": "+string(b))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return out
}

// checkTree fails the test if dir's tree changed from before.
func checkTree(t *testing.T, dir string, before []string, what string) {
	t.Helper()
	if after := tree(t, dir); !slices.Equal(before, after) {
		t.Errorf("%s (%s) changed:\nbefore: %q\nafter:  %q", what, dir, before, after)
	}
	if m := mountsUnder(dir); len(m) != 0 {
		t.Errorf("mounts on %s (%s) in the test's namespace: %q", what, dir, m)
	}
}

// withoutMount drops the spec's mount at dest.
func withoutMount(b *bundle, dest string) {
	b.spec.Mounts = slices.DeleteFunc(b.spec.Mounts, func(m specs.Mount) bool { return filepath.Clean(m.Destination) == dest })
}

// replaceMount puts m where the spec's mount at m.Destination was (or at
// the end).
func replaceMount(b *bundle, m specs.Mount) {
	for i := range b.spec.Mounts {
		if filepath.Clean(b.spec.Mounts[i].Destination) == m.Destination {
			b.spec.Mounts[i] = m
			return
		}
	}
	b.spec.Mounts = append(b.spec.Mounts, m)
}

func bindMount(src, dest string) specs.Mount {
	return specs.Mount{Destination: dest, Type: "bind", Source: src, Options: []string{"rbind"}}
}

// startSwapper starts the attacker: a container that shares dir with the
// test (at /shared) and swaps dir/name with a symlink to target for
// swapSecs. It returns once the swapping has begun.
func startSwapper(t *testing.T, dir, name, target string) *bundle {
	t.Helper()
	a := newBundle(t, "/helper", "swap", "/shared", name, target, fmt.Sprint(swapSecs))
	a.spec.Mounts = append(a.spec.Mounts, bindMount(dir, "/shared"))
	a.startContainer()
	a.waitOutput("swapping")
	return a
}

// swapsDone waits for the attacker to finish; the test fails when it made
// too few swaps to have raced anything.
func swapsDone(t *testing.T, a *bundle) {
	t.Helper()
	out := a.waitOutput("swaps=")
	var swaps, repairs int
	for _, l := range lines(out) {
		if _, err := fmt.Sscanf(l, "swaps=%d repairs=%d", &swaps, &repairs); err == nil {
			break
		}
	}
	t.Logf("attacker: %d swaps, %d repairs", swaps, repairs)
	if swaps < minSwaps {
		t.Errorf("the attacker swapped only %d times: the race proved nothing\n%s", swaps, out)
	}
}

// race runs round until raceSecs have passed (or the test failed); too
// few rounds fail the test.
func race(t *testing.T, round func(i int)) {
	t.Helper()
	deadline := time.Now().Add(raceSecs)
	n := 0
	for ; time.Now().Before(deadline) && !t.Failed(); n++ {
		round(n)
	}
	if n < minRounds && !t.Failed() {
		t.Errorf("only %d victim containers during the race", n)
	}
}

// deleteRound removes the victim of one round, so the next can reuse its id.
func deleteRound(t *testing.T, b *bundle) {
	t.Helper()
	if r := b.rt("delete", "--force", b.id); r.Code != 0 {
		// A failed create leaves nothing to delete; anything else must go.
		if s := b.rt("state", b.id); s.Code == 0 {
			t.Fatalf("delete between rounds: %s", r)
		}
	}
}

// fakeProcFiles are what a hostile image or volume puts where the runtime
// expects procfs, so that its writes "succeed" into plain files.
var fakeProcFiles = []string{
	"self/attr/exec", "self/attr/current", "thread-self/attr/exec", "self/oom_score_adj",
	"self/setgroups", "sys/kernel/shmmax", "sys/kernel/domainname", "sys/net/ipv4/ip_forward",
}

func makeFakeProc(t *testing.T, dir string) {
	t.Helper()
	for _, f := range fakeProcFiles {
		writeFile(t, filepath.Join(dir, f), "fake\n", 0o644)
	}
	if err := os.MkdirAll(filepath.Join(dir, "self/fd"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// CVE-2019-16884: a volume mounted at /proc (a directory of fake files, a
// tmpfs, or an overlay claiming /proc as its source) would take the
// runtime's /proc writes and show the container a /proc of the image's
// making. Only procfs may be mounted at /proc: create fails clean and the
// fake files are untouched. The spec has no masked or read-only paths:
// husk's later check that /proc is procfs before masking would refuse the
// fake /proc too, and this test is about the mount rule.
func TestAttackFakeProcMountRefused(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		mount func(fake, fake2 string) specs.Mount
	}{
		{"bind", func(fake, _ string) specs.Mount { return bindMount(fake, "/proc") }},
		{"tmpfs", func(_, _ string) specs.Mount {
			return specs.Mount{Destination: "/proc", Type: "tmpfs", Source: "tmpfs"}
		}},
		// A source path on procfs does not make a mount procfs.
		{"overlay-proc-source", func(fake, fake2 string) specs.Mount {
			return specs.Mount{Destination: "/proc", Type: "overlay", Source: "/proc",
				Options: []string{"lowerdir=" + fake + ":" + fake2}}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/helper", "statfs", "/proc")
			fake, fake2 := t.TempDir(), t.TempDir()
			makeFakeProc(t, fake)
			before := tree(t, fake)
			replaceMount(b, c.mount(fake, fake2))
			b.spec.Linux.MaskedPaths, b.spec.Linux.ReadonlyPaths = nil, nil
			b.spec.Linux.Sysctl = map[string]string{"kernel.shmmax": "12345678"}
			b.spec.Process.OOMScoreAdj = ptr(5)
			r := b.create()
			checkTree(t, fake, before, "the fake /proc")
			checkCreateFailedClean(t, b, r)
			mustContain(t, r.Stderr, "/proc", "the refusal names the mount")
			t.Logf("refused with: %s", strings.TrimSpace(r.Stderr))
		})
	}
}

// CVE-2019-16884, from the image side: a rootfs whose /proc directory is
// full of fake files still gets procfs over it, and linux.sysctl and
// process.oomScoreAdj really apply, read back from inside; the image's
// files are left as they were.
func TestAttackFakeProcDirInImage(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	makeFakeProc(t, filepath.Join(b.rootfs, "proc"))
	before := tree(t, filepath.Join(b.rootfs, "proc"))
	shmmax := strconv.Itoa(20000000 + int(randHex(1)[0]))
	b.spec.Linux.Sysctl = map[string]string{"kernel.shmmax": shmmax}
	b.spec.Process.OOMScoreAdj = ptr(7)
	b.shell("/helper statfs /proc; /helper statfs /proc/sys/kernel/shmmax; /helper cat /proc/sys/kernel/shmmax; /helper oomscoreadj")
	out := lines(b.mustRun())
	if want := []string{"proc", "proc", shmmax, "7"}; !slices.Equal(out, want) {
		t.Errorf("the container saw %q, want %q (procfs at /proc, the sysctl and oom_score_adj applied)", out, want)
	}
	checkTree(t, filepath.Join(b.rootfs, "proc"), before, "the image's /proc directory")
}

// CVE-2023-27561, CVE-2023-28642: a rootfs whose /sys or /proc is a
// symlink would have sysfs or procfs, and everything the runtime does
// under them (masking, read-only remounts, LSM setup), land wherever the
// link points: an absolute or climbing host path, or a directory of a
// volume mounted before. Create fails clean; the host directories the
// links name are untouched (a runtime following them on the host would
// create the missing directory there).
func TestAttackSymlinkedProcSys(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, dir string
		volume    bool // the link points into a volume mounted at /vol
	}{
		{name: "sys-absolute", dir: "sys"},
		{name: "sys-climbing", dir: "sys"},
		{name: "proc-absolute", dir: "proc"},
		{name: "proc-into-volume", dir: "proc", volume: true},
		{name: "sys-into-volume", dir: "sys", volume: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t)
			host := t.TempDir()
			writeFile(t, filepath.Join(host, "marker"), "host\n", 0o644)
			link := filepath.Join(host, "missing")
			switch {
			case c.volume:
				b.spec.Mounts = append([]specs.Mount{bindMount(host, "/vol")}, b.spec.Mounts...)
				link = "/vol/missing"
			case strings.HasSuffix(c.name, "climbing"):
				link = strings.Repeat("../", 16) + strings.TrimPrefix(link, "/")
			}
			before := tree(t, host)
			if err := os.Remove(filepath.Join(b.rootfs, c.dir)); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(link, filepath.Join(b.rootfs, c.dir)); err != nil {
				t.Fatal(err)
			}
			r := b.create()
			checkTree(t, host, before, "the directory the symlink points to")
			checkCreateFailedClean(t, b, r)
			mustContain(t, r.Stderr, "/"+c.dir, "the refusal names the path")
			t.Logf("refused with: %s", strings.TrimSpace(r.Stderr))
		})
	}
}

// mountinfoHook has a createContainer hook copy the mount table of the
// container's mount namespace, as it is after the mounts and before
// pivot_root, to dump: a mount that landed outside the rootfs is there
// and nowhere else (pivot_root drops it from the container's view).
func mountinfoHook(b *bundle, dump string) {
	b.spec.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{
		Path: "/bin/sh", Args: []string{"sh", "-c", "cat /proc/self/mountinfo > " + dump},
	}}}
}

// mountsBySource returns the mount points of mountinfo lines whose source
// is src.
func mountsBySource(mountinfo, src string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(mountinfo))
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if ok && len(f) > 4 && len(g) > 1 && g[1] == src {
			out = append(out, f[4])
		}
	}
	return out
}

// CVE-2021-30465: the victim's mounts go through a directory of a volume
// it shares with a running attacker, which keeps exchanging a path
// component of the mount destination with a symlink to a host directory.
// A runtime that checks the path and then mounts by path can have the
// mount land on the host directory. Every victim mount, as its own mount
// namespace shows it before pivot_root, must be inside its rootfs, and
// the host directory gets nothing.
func TestAttackMountDestSymlinkExchange(t *testing.T) {
	t.Parallel()
	vol, host := t.TempDir(), t.TempDir()
	for _, d := range []string{filepath.Join(vol, "dir", "t"), filepath.Join(host, "t")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(host, "marker"), "host\n", 0o644)
	before := tree(t, host)
	tag := "husk-race-" + randHex(4)
	v := newBundle(t)
	v.spec.Mounts = append(v.spec.Mounts, bindMount(vol, "/vol"),
		specs.Mount{Destination: "/vol/dir/t", Type: "tmpfs", Source: tag, Options: []string{"size=64k"}})
	dump := filepath.Join(t.TempDir(), "mountinfo")
	mountinfoHook(v, dump)

	a := startSwapper(t, vol, "dir", host)
	var created, refused, seen, followed int
	race(t, func(int) {
		os.Remove(dump)
		if r := v.create(); r.Code == 0 {
			created++
		} else {
			refused++
		}
		if mi, err := os.ReadFile(dump); err == nil {
			mps := mountsBySource(string(mi), tag)
			if len(mps) != 1 {
				t.Errorf("want one mount of %s in the victim's table, got %q", tag, mps)
			}
			for _, mp := range mps {
				seen++
				if !strings.HasPrefix(mp, v.rootfs+"/") {
					t.Errorf("the victim's tmpfs landed outside its rootfs, on %s", mp)
				}
				// The symlink met, and followed inside the rootfs.
				if mp == filepath.Join(v.rootfs, host, "t") {
					followed++
				}
			}
		}
		deleteRound(t, v)
	})
	swapsDone(t, a)
	t.Logf("%d creates succeeded, %d refused; %d victim mounts checked, %d of them through the symlink", created, refused, seen, followed)
	if seen == 0 {
		t.Errorf("no victim mount was ever made: the race proved nothing")
	}
	checkTree(t, host, before, "the symlink's host target")
}

// CVE-2024-45310: the same race against the creation of missing mount
// targets (directories several levels deep, and an empty file for a file
// bind): a runtime that creates them by path can be led to create them on
// the host. Nothing appears in the host directory the symlink names.
func TestAttackMkdirAllSymlinkExchange(t *testing.T) {
	t.Parallel()
	vol, host := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(vol, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(host, "marker"), "host\n", 0o644)
	srcFile := filepath.Join(t.TempDir(), "bind-source")
	writeFile(t, srcFile, "bind source\n", 0o644)
	before := tree(t, host)
	v := newBundle(t)
	base := v.spec.Mounts
	a := startSwapper(t, vol, "dir", host)
	var created, refused int
	race(t, func(i int) {
		// New names each round: only a missing target is created.
		r := fmt.Sprintf("/vol/dir/r%d", i)
		v.spec.Mounts = append(slices.Clone(base), bindMount(vol, "/vol"),
			specs.Mount{Destination: r + "/a/b/c", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=64k"}},
			specs.Mount{Destination: r + "-file", Type: "bind", Source: srcFile, Options: []string{"bind"}},
			specs.Mount{Destination: r + "-m", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=64k"}})
		if res := v.create(); res.Code == 0 {
			created++
		} else {
			refused++
		}
		deleteRound(t, v)
	})
	swapsDone(t, a)
	// Where the symlink was met, the targets were made inside the rootfs.
	inRoot, _ := os.ReadDir(filepath.Join(v.rootfs, host))
	t.Logf("%d creates succeeded, %d refused; %d targets made through the symlink, inside the rootfs", created, refused, len(inRoot))
	if created == 0 {
		t.Errorf("no create got through: the race proved nothing")
	}
	checkTree(t, host, before, "the symlink's host target")
}

// maskedProbe is the victim's process for the /dev/null tests: what it
// sees at the masked /secret, then an attempt to write val through it.
func maskedProbe(b *bundle, val string) {
	writeFile(b.t, filepath.Join(b.rootfs, "secret"), "top-secret\n", 0o644)
	b.spec.Linux.MaskedPaths = append(b.spec.Linux.MaskedPaths, "/secret")
	b.shell("/helper stat /secret; /helper cat /secret; echo; echo " + val + " > /secret; echo wrote=$?")
}

// checkMasked checks the probe's output: /secret was the null device.
func checkMasked(t *testing.T, out string) {
	t.Helper()
	ls := lines(out)
	if len(ls) == 0 || !strings.HasPrefix(ls[0], "type=char ") || !strings.Contains(ls[0], " dev=1:3 ") {
		t.Errorf("the masked /secret is not the null device:\n%s", out)
	}
	if strings.Contains(out, "top-secret") {
		t.Errorf("the masked /secret shows its content:\n%s", out)
	}
}

// CVE-2025-31133: the victim's /dev comes from a volume whose null is a
// symlink to a procfs file; masking binds /dev/null over the masked
// paths, so a runtime that follows it binds the procfs file there
// instead. Create fails closed (or masks with the real null device), and
// the host's file keeps its value.
func TestAttackDevNullSymlink(t *testing.T) {
	t.Parallel()
	val := hostSysctlGuard(t)
	b := newBundle(t)
	dev := t.TempDir()
	if err := os.Symlink(leaseBreak, filepath.Join(dev, "null")); err != nil {
		t.Fatal(err)
	}
	replaceMount(b, bindMount(dev, "/dev"))
	maskedProbe(b, val)
	r := b.run()
	if r.Code != 0 {
		mustContain(t, r.Stderr, "/dev/null", "the refusal names /dev/null")
		t.Logf("refused with: %s", strings.TrimSpace(r.Stderr))
		return
	}
	checkMasked(t, r.Stdout)
}

// CVE-2025-31133, raced: the victim's /dev is its image's directory, which
// a running attacker shares and keeps swapping /dev/null in with a symlink
// to a procfs file, between the runtime creating the node and masking
// with it. Every round fails closed or masks with the null device; the
// host's file keeps its value.
func TestAttackDevNullSwapRace(t *testing.T) {
	t.Parallel()
	val := hostSysctlGuard(t)
	v := newBundle(t)
	withoutMount(v, "/dev")
	maskedProbe(v, val)
	a := startSwapper(t, filepath.Join(v.rootfs, "dev"), "null", leaseBreak)
	var masked, refused int
	race(t, func(int) {
		r := v.run()
		if r.Code != 0 {
			refused++
			return
		}
		masked++
		checkMasked(t, r.Stdout)
	})
	swapsDone(t, a)
	t.Logf("%d runs masked, %d refused", masked, refused)
}

// CVE-2025-52565: with process.terminal the runtime bind-mounts the pty
// onto /dev/console. Here the victim's /dev/pts is a volume whose ptmx
// leads to a real devpts instance mounted elsewhere and whose numbered
// entries are symlinks to a procfs file: a runtime binding /dev/pts/N by
// path gives the container that file as its console. Create fails closed,
// or /dev/console is the container's own terminal and what is written to
// it reaches the pty master; the host's file keeps its value.
func TestAttackConsolePtsSymlink(t *testing.T) {
	t.Parallel()
	val := hostSysctlGuard(t)
	b := newBundle(t)
	b.spec.Process.Terminal = true
	pts := t.TempDir()
	if err := os.Symlink("/dev/realpts/ptmx", filepath.Join(pts, "ptmx")); err != nil {
		t.Fatal(err)
	}
	for n := range 64 {
		if err := os.Symlink(leaseBreak, filepath.Join(pts, strconv.Itoa(n))); err != nil {
			t.Fatal(err)
		}
	}
	b.spec.Mounts = append(b.spec.Mounts,
		specs.Mount{Destination: "/dev/realpts", Type: "devpts", Source: "devpts",
			Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
		bindMount(pts, "/dev/pts"))
	b.shell("/helper console; echo " + val + " > /dev/console; echo console-done; /helper sleep 600")
	cs := newConsoleSocket(t)
	if r := b.create("--console-socket", cs.path); r.Code != 0 {
		// Failing closed is safe too; the host's file is checked all the same.
		t.Logf("refused with: %s", strings.TrimSpace(r.Stderr))
		return
	}
	master := cs.wait(t)
	b.mustRT("start", b.id)
	out := strings.ReplaceAll(readUntil(master, "console-done", 10*time.Second), "\r", "")
	mustContain(t, out, "console-done", "the container's output on the pty")
	if !strings.Contains(out, " same\n") {
		t.Errorf("/dev/console is not the container's terminal:\n%s", out)
	}
	if !strings.Contains(out, "\n"+val+"\n") {
		t.Errorf("what the container wrote to /dev/console did not reach the pty master:\n%s", out)
	}
}

// CVE-2025-52881, from the config: a procfs file, of a host process or
// the runtime's own (/proc/self/comm), bound over a sysctl file under the
// container's /proc would take the runtime's sysctl write. Refused with a
// one-line error naming the destination; the host process keeps its name.
func TestAttackProcfsBindOverProc(t *testing.T) {
	t.Parallel()
	sleeper := exec.Command("/bin/sleep", "30")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sleeper.Process.Kill(); sleeper.Wait() })
	comm := fmt.Sprintf("/proc/%d/comm", sleeper.Process.Pid)
	for _, src := range []string{comm, "/proc/self/comm", "/proc/self/attr/current"} {
		t.Run(strings.ReplaceAll(strings.TrimPrefix(src, "/proc/"), "/", "-"), func(t *testing.T) {
			t.Parallel()
			if _, err := os.Stat(src); err != nil {
				t.Skip(err)
			}
			const dest = "/proc/sys/kernel/domainname"
			b := newBundle(t)
			b.spec.Mounts = append(b.spec.Mounts, specs.Mount{Destination: dest, Type: "bind", Source: src, Options: []string{"bind"}})
			b.spec.Linux.Sysctl = map[string]string{"kernel.domainname": "husk-" + randHex(3)}
			before, _ := os.ReadFile(comm)
			r := b.create()
			if after, _ := os.ReadFile(comm); string(after) != string(before) {
				t.Errorf("the host process's comm changed from %q to %q", before, after)
			}
			checkCreateFailedClean(t, b, r)
			msg := lines(r.Stderr)
			if len(msg) != 1 || !strings.Contains(msg[0], dest) {
				t.Errorf("want a one-line error naming %s, got:\n%s", dest, r.Stderr)
			}
			t.Logf("refused with: %s", strings.TrimSpace(r.Stderr))
		})
	}
}

// CVE-2025-52881, through a shared volume: the victim binds a directory of
// dummy files (dummy) at /vol/x/kernel, which looks like no /proc path,
// but /vol is a volume in which x is (or is raced into being) a symlink to
// /proc/sys: the bind would cover /proc/sys/kernel and the runtime's
// kernel.shmmax write land in the dummy file. Create fails, or the
// container reads the value from procfs; the dummy is never written.
func TestAttackSysctlRedirect(t *testing.T) {
	t.Parallel()
	for _, raced := range []bool{false, true} {
		name := "static"
		if raced {
			name = "raced"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			vol, dummy := t.TempDir(), t.TempDir()
			writeFile(t, filepath.Join(dummy, "shmmax"), "dummy\n", 0o644)
			before := tree(t, dummy)
			shmmax := strconv.Itoa(30000000 + int(randHex(1)[0]))
			v := newBundle(t)
			v.spec.Mounts = append(v.spec.Mounts, bindMount(vol, "/vol"), bindMount(dummy, "/vol/x/kernel"))
			v.spec.Linux.Sysctl = map[string]string{"kernel.shmmax": shmmax}
			v.shell("/helper statfs /proc/sys/kernel/shmmax; /helper cat /proc/sys/kernel/shmmax")
			if !raced {
				if err := os.Symlink("/proc/sys", filepath.Join(vol, "x")); err != nil {
					t.Fatal(err)
				}
				r := v.create()
				checkTree(t, dummy, before, "the dummy sysctl directory")
				checkCreateFailedClean(t, v, r)
				mustContain(t, r.Stderr, "/proc/sys/kernel", "the refusal names where the mount would land")
				t.Logf("refused with: %s", strings.TrimSpace(r.Stderr))
				return
			}
			if err := os.MkdirAll(filepath.Join(vol, "x", "kernel"), 0o755); err != nil {
				t.Fatal(err)
			}
			a := startSwapper(t, vol, "x", "/proc/sys")
			var applied, redirected, refused int
			race(t, func(int) {
				r := v.run()
				if r.Code != 0 {
					refused++
					return
				}
				if got := lines(r.Stdout); !slices.Equal(got, []string{"proc", shmmax}) {
					redirected++
					t.Errorf("the container read %q at /proc/sys/kernel/shmmax, want procfs with %s", got, shmmax)
					return
				}
				applied++
			})
			swapsDone(t, a)
			t.Logf("%d runs applied the sysctl, %d were redirected, %d refused", applied, redirected, refused)
			if refused+redirected == 0 {
				t.Errorf("no round ever met the symlink: the race proved nothing")
			}
			checkTree(t, dummy, before, "the dummy sysctl directory")
		})
	}
}
