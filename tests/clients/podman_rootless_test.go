package clients

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/husk-runtime/husk/tests/clientkit"
)

// Rootless podman: a user made for the test runs podman, which runs the
// runtime as root of the user namespace it made from the user's
// subordinate ids (newuidmap). The runtime must then keep its state in
// $XDG_RUNTIME_DIR, as runc does. The store is vfs in the user's home, the
// network none. On a v1 or hybrid host (CI's) there is no cgroup for the
// user (cgroupfs, limits ignored by podman); on a host with only cgroup v2
// and systemd (the v2 guest, make v2vm-test V2VM_FLAGS=--systemd) the
// user's systemd instance is started, podman uses the systemd cgroup
// manager, and a memory limit must reach the container's cgroup.

type rootlessPodman struct {
	name     string
	uid, gid int
	dir      string // everything of the user's: home, runtime dir, volume
	runtime  string // a copy of the runtime the user may execute
	env      []string
	global   []string
	systemd  bool // the user's systemd manages the cgroups (cgroup v2)
}

func TestPodmanRootless(t *testing.T) {
	requireSuite(t)
	if podmanSkip != "" {
		skipGroup(t, podmanSkip)
	}
	p := setupRootlessPodman(t)

	t.Run("RunRmExitCode", p.testRunRm)
	t.Run("DetachedExecVolumeTopStopRm", p.testDetached)
	t.Run("KeepID", p.testKeepID)
	t.Run("RunTTY", p.testTTY)
	t.Run("Memory", p.testMemory)
}

// userSystemd tells whether the user's systemd can manage its cgroups:
// systemd runs the machine and cgroup v2 is its only hierarchy.
func userSystemd() bool {
	fi, err := os.Stat("/run/systemd/system")
	return err == nil && fi.IsDir() && cgroupV2Only()
}

func setupRootlessPodman(t *testing.T) *rootlessPodman {
	for _, tool := range []string{"useradd", "userdel", "pkill", "newuidmap", "setpriv"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("rootless podman needs %s (packages passwd, procps, uidmap, util-linux): %v", tool, err)
		}
	}
	p := &rootlessPodman{name: "husk-pm-" + clientkit.Uniq()}
	if len(p.name) > 31 {
		p.name = p.name[:31]
	}
	t.Cleanup(func() { p.teardown(t) })
	var err error
	if p.dir, err = os.MkdirTemp("", "husk-cl-rootless-"); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(p.dir, "home")
	out, err := exec.Command("useradd", "--no-create-home", "--home-dir", home,
		"--user-group", "--shell", "/bin/sh", p.name).CombinedOutput()
	if err != nil {
		t.Fatalf("useradd %s: %v\n%s", p.name, err, out)
	}
	u, err := user.Lookup(p.name)
	if err != nil {
		t.Fatal(err)
	}
	p.uid, _ = strconv.Atoi(u.Uid)
	p.gid, _ = strconv.Atoi(u.Gid)
	p.ensureSubIDs(t)
	for _, d := range []string{"home", "xdg", "vol"} {
		dir := filepath.Join(p.dir, d)
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, p.uid, p.gid); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(p.dir, "vol", "f"), []byte("from the volume\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Join(p.dir, "vol", "f"), p.uid, p.gid); err != nil {
		t.Fatal(err)
	}
	p.runtime = filepath.Join(p.dir, filepath.Base(runtimeBin))
	tarball := filepath.Join(p.dir, "rootfs.tar")
	for src, dst := range map[string]string{runtimeBin: p.runtime, rootfsTar: tarball} {
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	xdg, manager := filepath.Join(p.dir, "xdg"), "cgroupfs"
	if p.systemd = userSystemd(); p.systemd {
		xdg, manager = p.startUserSystemd(t), "systemd"
	}
	p.env = []string{"HOME=" + home, "USER=" + p.name, "LOGNAME=" + p.name,
		"XDG_RUNTIME_DIR=" + xdg, "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}
	p.global = []string{"--runtime", p.runtime, "--cgroup-manager=" + manager,
		"--storage-driver=vfs", "--events-backend=file"}

	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	defer cancel()
	expectOK(t, p.podman(ctx, t, "import", tarball, imageName))
	return p
}

// startUserSystemd starts the user's systemd instance (as a login or
// linger would), whose runtime directory, with the session bus, becomes
// the user's XDG_RUNTIME_DIR; the user's slice is stopped at the end.
func (p *rootlessPodman) startUserSystemd(t *testing.T) string {
	slice := fmt.Sprintf("user-%d.slice", p.uid)
	t.Cleanup(func() {
		if out, err := exec.Command("systemctl", "stop", slice).CombinedOutput(); err != nil {
			t.Errorf("systemctl stop %s: %v\n%s", slice, err, out)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), scenarioTimeout)
	defer cancel()
	unit := fmt.Sprintf("user@%d.service", p.uid)
	if out, err := exec.CommandContext(ctx, "systemctl", "start", unit).CombinedOutput(); err != nil {
		t.Fatalf("systemctl start %s: %v\n%s", unit, err, out)
	}
	xdg := fmt.Sprintf("/run/user/%d", p.uid)
	if _, err := os.Stat(filepath.Join(xdg, "bus")); err != nil {
		t.Fatalf("the user's session bus: %v (dbus-user-session installed?)", err)
	}
	return xdg
}

// ensureSubIDs gives the user a range in /etc/subuid and /etc/subgid
// unless useradd did (login.defs' SUB_UID_COUNT).
func (p *rootlessPodman) ensureSubIDs(t *testing.T) {
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		data, _ := os.ReadFile(f)
		if strings.Contains("\n"+string(data), "\n"+p.name+":") {
			continue
		}
		start := 1_000_000_000 + (p.uid%10_000)*65_536
		out, err := exec.Command("usermod", "--add-subuids", fmt.Sprintf("%d-%d", start, start+65535),
			"--add-subgids", fmt.Sprintf("%d-%d", start, start+65535), p.name).CombinedOutput()
		if err != nil {
			t.Fatalf("usermod --add-subuids %s: %v\n%s", p.name, err, out)
		}
		return
	}
}

// podman runs podman as the user.
func (p *rootlessPodman) podman(ctx context.Context, t *testing.T, args ...string) *result {
	t.Helper()
	argv := append([]string{"--reuid", strconv.Itoa(p.uid), "--regid", strconv.Itoa(p.gid), "--init-groups", "podman"}, p.global...)
	return run(ctx, t, cmdSpec{bin: "setpriv", args: append(argv, args...), env: p.env, dir: p.dir,
		label: "podman (as " + p.name + ") " + strings.Join(args, " ")})
}

func (p *rootlessPodman) testRunRm(t *testing.T) {
	ctx := scenario(t)
	r := p.podman(ctx, t, "run", "--rm", "--network=none", imageName, "sh", "-c", "id -u; echo hello; exit 3")
	expectCode(t, r, 3)
	if got := strings.Fields(r.Stdout); strings.Join(got, " ") != "0 hello" {
		t.Errorf("want root of the user namespace and the output, got %q", r.Stdout)
	}
	p.expectNoContainers(t)
}

func (p *rootlessPodman) testDetached(t *testing.T) {
	ctx := scenario(t)
	name := "rl-" + clientkit.Uniq()
	r := p.podman(ctx, t, "run", "-d", "--name", name, "--network=none",
		"-v", filepath.Join(p.dir, "vol")+":/vol", imageName, "sleep", "600")
	expectOK(t, r)
	r = p.podman(ctx, t, "exec", name, "cat", "/vol/f")
	expectOK(t, r)
	expectContains(t, "exec cat of the volume", r.Stdout, "from the volume")
	r = p.podman(ctx, t, "exec", name, "sh", "-c", "id -u; cat /proc/self/uid_map")
	expectOK(t, r)
	if f := strings.Fields(r.Stdout); len(f) < 4 || f[0] != "0" || f[2] != strconv.Itoa(p.uid) {
		t.Errorf("exec: want root in a user namespace mapping 0 to uid %d, got %q", p.uid, r.Stdout)
	}
	r = p.podman(ctx, t, "top", name)
	expectOK(t, r)
	expectContains(t, "podman top", r.Stdout, "sleep 600")
	expectOK(t, p.podman(ctx, t, "stop", "-t", "1", name))
	r = p.podman(ctx, t, "ps", "-a", "--format", "{{.Names}} {{.Status}}")
	expectOK(t, r)
	expectContains(t, "podman ps -a after stop", r.Stdout, name+" Exited")
	expectOK(t, p.podman(ctx, t, "rm", name))
	p.expectNoContainers(t)
}

func (p *rootlessPodman) testKeepID(t *testing.T) {
	ctx := scenario(t)
	r := p.podman(ctx, t, "run", "--rm", "--network=none", "--userns=keep-id", imageName, "id", "-u")
	expectOK(t, r)
	if got := strings.TrimSpace(r.Stdout); got != strconv.Itoa(p.uid) {
		t.Errorf("--userns=keep-id: want the user's uid %d in the container, got %q", p.uid, got)
	}
}

func (p *rootlessPodman) testTTY(t *testing.T) {
	ctx := scenario(t)
	r := p.podman(ctx, t, "run", "--rm", "-t", "--network=none", imageName, "tty")
	expectOK(t, r)
	expectContains(t, "run -t", r.Stdout, "/dev/pts/")
}

// testMemory: with the user's systemd (cgroup v2), --memory reaches the
// container's cgroup, which the container sees as its /sys/fs/cgroup;
// elsewhere podman ignores limits for a rootless container.
func (p *rootlessPodman) testMemory(t *testing.T) {
	if !p.systemd {
		t.Skip("no cgroup for a rootless container here (needs systemd and cgroup v2 alone: the v2 guest with --systemd)")
	}
	ctx := scenario(t)
	r := p.podman(ctx, t, "run", "--rm", "--network=none", "--memory=32m", "--memory-swap=32m", "--pids-limit=20",
		imageName, "cat", "/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/pids.max")
	expectOK(t, r)
	if got := strings.Fields(r.Stdout); strings.Join(got, " ") != "33554432 20" {
		t.Errorf("--memory=32m --pids-limit=20: the container's memory.max and pids.max read %q", r.Stdout)
	}
	p.expectNoContainers(t)
}

// expectNoContainers checks the runtime's state dir under the user's
// $XDG_RUNTIME_DIR holds no container once podman removed them all.
func (p *rootlessPodman) expectNoContainers(t *testing.T) {
	t.Helper()
	xdg := ""
	for _, e := range p.env {
		if v, ok := strings.CutPrefix(e, "XDG_RUNTIME_DIR="); ok {
			xdg = v
		}
	}
	root := filepath.Join(xdg, filepath.Base(runtimeBin))
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Errorf("the runtime kept no state in $XDG_RUNTIME_DIR (%s): %v", root, err)
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			t.Errorf("container state left in %s: %s", root, e.Name())
		}
	}
}

func (p *rootlessPodman) teardown(t *testing.T) {
	if p.uid > 0 {
		// podman's pause process keeps the user namespace; conmon and
		// containers may outlive a failed scenario.
		_ = exec.Command("pkill", "-KILL", "-U", strconv.Itoa(p.uid)).Run()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) && exec.Command("pgrep", "-U", strconv.Itoa(p.uid)).Run() == nil {
			time.Sleep(50 * time.Millisecond)
		}
		if out, err := exec.Command("pgrep", "-a", "-U", strconv.Itoa(p.uid)).Output(); err == nil {
			t.Errorf("processes of %s still alive: %s", p.name, out)
		}
	}
	if p.name != "" {
		if out, err := exec.Command("userdel", p.name).CombinedOutput(); err != nil && p.uid > 0 {
			t.Errorf("userdel %s: %v\n%s", p.name, err, out)
		}
		for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
			if data, _ := os.ReadFile(f); strings.Contains("\n"+string(data), "\n"+p.name+":") {
				t.Errorf("%s still lists %s", f, p.name)
			}
		}
	}
	if p.dir != "" {
		if err := os.RemoveAll(p.dir); err != nil {
			t.Errorf("remove %s: %v", p.dir, err)
		}
	}
}
