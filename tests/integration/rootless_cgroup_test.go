package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Rootless containers with a cgroup: the user's systemd instance
// (--systemd-cgroup) and a cgroup v2 subtree delegated to the user
// (cgroupfs). Both need cgroup v2, and the first systemd as PID 1: they
// skip on this host (hybrid, no user systemd) and run in the v2 guest:
//
//	make v2vm-test V2VM_FLAGS=--systemd V2VM_RUN='Rootless(Systemd|Cgroup)'

// requireV2 skips unless the host has the unified hierarchy alone.
func requireV2(t *testing.T) {
	t.Helper()
	if len(cgroupSubsystems) != 1 || cgroupSubsystems[0] != "" {
		t.Skip("needs cgroup v2 alone (unified hierarchy); this host has v1 controllers: run it in the v2 guest (tests/v2vm)")
	}
}

// startUserSystemd starts u's systemd instance, user@UID.service (as a
// login or `loginctl enable-linger` would), which makes /run/user/UID
// with the user's session bus, and becomes u's XDG_RUNTIME_DIR. At the
// end the user's slice is stopped: its manager, its units and their
// processes, its runtime directory and its cgroups.
func startUserSystemd(t *testing.T, u *testUser) {
	t.Helper()
	requireSystemd(t)
	unit := fmt.Sprintf("user@%d.service", u.uid)
	slice := fmt.Sprintf("user-%d.slice", u.uid)
	t.Cleanup(func() {
		systemctl(t, "stop", slice)
		dir := "/sys/fs/cgroup/user.slice/" + slice
		if !waitFor(10*time.Second, func() bool { _, err := os.Stat(dir); return err != nil }) {
			t.Errorf("the user's cgroup %s remains after stopping %s", dir, slice)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "systemctl", "start", unit).CombinedOutput(); err != nil {
		t.Fatalf("systemctl start %s: %v\n%s\n%s", unit, err, out, systemctl(t, "status", "--no-pager", unit))
	}
	u.xdg = fmt.Sprintf("/run/user/%d", u.uid)
	if _, err := os.Stat(filepath.Join(u.xdg, "bus")); err != nil {
		t.Fatalf("the user's session bus: %v (dbus-user-session installed?)", err)
	}
}

// userSystemctl runs `systemctl --user` as u, against its instance.
func userSystemctl(t *testing.T, u *testUser, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "systemctl", append([]string{"--user"}, args...)...)
	cmd.Env = os.Environ()
	u.apply(cmd)
	out, _ := cmd.CombinedOutput()
	return strings.TrimSpace(string(out))
}

// initCgroup is the container's cgroup v2 directory, from its init's
// /proc/PID/cgroup as the host sees it.
func initCgroup(t *testing.T, b *bundle) string {
	t.Helper()
	st := b.state()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", st.Pid))
	if err != nil {
		t.Fatal(err)
	}
	cg, ok := strings.CutPrefix(strings.TrimSpace(string(data)), "0::")
	if !ok {
		t.Fatalf("/proc/%d/cgroup: %q", st.Pid, data)
	}
	return "/sys/fs/cgroup" + cg
}

// wantCgroupFiles checks values in the container's cgroup directory.
func wantCgroupFiles(t *testing.T, dir string, want map[string]string) {
	t.Helper()
	for file, v := range want {
		got, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil || strings.TrimSpace(string(got)) != v {
			t.Errorf("%s/%s = %q (%v), want %q", dir, file, got, err, v)
		}
	}
}

// rootlessLimits are what the tests ask: memory without swap, pids, CPU
// quota, and a device rule (left out for a rootless container, as runc
// does: only the host's root may attach a device filter).
func rootlessLimits() *specs.LinuxResources {
	return &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: ptr(int64(32 << 20)), Swap: ptr(int64(32 << 20))},
		Pids:    &specs.LinuxPids{Limit: ptr(int64(16))},
		CPU:     &specs.LinuxCPU{Quota: ptr(int64(20000)), Period: ptr(uint64(100000))},
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
	}
}

var rootlessLimitFiles = map[string]string{
	"memory.max": "33554432", "memory.swap.max": "0", "pids.max": "16", "cpu.max": "20000 100000",
}

// checkCgroupCommands drives a running container (its init
// `/helper sleep 600`) with a cgroup in dir through what needs one, as
// its user: update, pause and resume, events --stats, ps, then a fork
// bomb that pids.max stops, and kill --all.
func checkCgroupCommands(t *testing.T, b *bundle, dir string) {
	t.Helper()
	b.mustRT("update", "--memory", "48M", "--memory-swap", "48M", "--pids-limit", "20", b.id)
	wantCgroupFiles(t, dir, map[string]string{"memory.max": "50331648", "pids.max": "20"})

	b.mustRT("pause", b.id)
	if st := b.state(); st.Status != "paused" {
		t.Errorf("after pause: %s", st.Status)
	}
	wantCgroupFiles(t, dir, map[string]string{"cgroup.freeze": "1"})
	b.mustRT("resume", b.id)
	if st := b.state(); st.Status != specs.StateRunning {
		t.Errorf("after resume: %s", st.Status)
	}

	ev := b.mustRT("events", "--stats", b.id)
	var stats struct {
		Data struct {
			Memory struct{ Usage struct{ Usage, Limit uint64 } }
			Pids   struct{ Current, Limit uint64 }
		}
	}
	if err := json.Unmarshal([]byte(ev.Stdout), &stats); err != nil || stats.Data.Memory.Usage.Usage == 0 ||
		stats.Data.Memory.Usage.Limit != 48<<20 || stats.Data.Pids.Current == 0 || stats.Data.Pids.Limit != 20 {
		t.Errorf("events --stats: want memory usage, its limit 48M, pids and their limit 20: %v\n%s", err, ev.Stdout)
	}

	st := b.state()
	mustContain(t, b.mustRT("ps", b.id).Stdout, strconv.Itoa(st.Pid), "ps")
	// exec joins the container's cgroup: the root of its cgroup
	// namespace, even when the user's husk runs outside the user's
	// subtree (the systemd driver then has systemd move it).
	if got := strings.TrimSpace(b.mustExec(nil, "/helper", "cgroup")); got != "0::/" {
		t.Errorf("exec'd process's /proc/self/cgroup = %q, want 0::/ (the container's cgroup)", got)
	}

	// busybox sh gives up at the first fork the kernel refuses; the
	// count of sleeps it made is left in the rootfs, read here. The
	// container's cgroup has room for 20 tasks: the init, the exec'd
	// shell and 18 sleeps.
	os.Remove(filepath.Join(b.rootfs, "tmp/forked"))
	r := b.rt("exec", b.id, "/bin/sh", "-c", "i=0; while [ $i -lt 100 ]; do /helper sleep 600 & i=$((i+1)); echo $i > /tmp/forked; done")
	data, _ := os.ReadFile(filepath.Join(b.rootfs, "tmp/forked"))
	n, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	if r.Code == 0 || !strings.Contains(r.Stderr, "can't fork") || n < 1 || n > 18 {
		t.Errorf("a fork bomb under pids.max 20: want it stopped by a failed fork after at most 18 forks, got %d forks and %s", n, r)
	}
	// The kernel counts the forks pids.max refused.
	if ev, err := os.ReadFile(filepath.Join(dir, "pids.events")); err != nil || strings.Contains(string(ev), "max 0") {
		t.Errorf("%s/pids.events: want refused forks counted, got %q (%v)", dir, ev, err)
	}
	t.Logf("fork bomb: %d forks, then %q", n, lastLine(r.Stderr))

	pids, err := cgroupProcs(dir)
	if err != nil || len(pids) < 3 {
		t.Fatalf("the container's processes: %v, %v", pids, err)
	}
	b.mustRT("kill", "--all", b.id, "KILL")
	b.waitStatus(specs.StateStopped)
	for _, pid := range pids {
		if !waitFor(5*time.Second, func() bool { return !pidAlive(pid) }) {
			t.Errorf("pid %d outlived kill --all KILL", pid)
		}
	}
}

func cgroupProcs(dir string) ([]int, error) {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(data)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids, nil
}

func lastLine(s string) string {
	ls := lines(s)
	if len(ls) == 0 {
		return ""
	}
	return ls[len(ls)-1]
}

// checkOOM runs a container that allocates more than its memory limit of
// 32M (no swap): the allocation is OOM-killed, and the container says so.
func checkOOM(t *testing.T, b *bundle, o opts) {
	t.Helper()
	b.spec.Process.Args = []string{"/bin/sh", "-c", "dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo dd-exit=$?"}
	b.spec.Linux.Resources = rootlessLimits()
	r := b.runOpts(o)
	if !strings.Contains(r.Stdout, "dd-exit=137") {
		t.Errorf("dd of 64M under memory.max 32M: want it OOM-killed (dd-exit=137), got %s", r)
	}
}

func TestRootlessSystemdCgroup(t *testing.T) {
	requireV2(t)
	requireSystemd(t)
	u := newTestUser(t)
	startUserSystemd(t, u)
	// The user's manager's cgroup, where its user.slice is.
	manager := fmt.Sprintf("/sys/fs/cgroup/user.slice/user-%d.slice/user@%d.service", u.uid, u.uid)

	t.Run("Limits", func(t *testing.T) {
		b := rootlessBundle(t, u, "/helper", "sleep", "600")
		b.spec.Linux.CgroupsPath = "user.slice:husk-it:" + b.id
		b.spec.Linux.Resources = rootlessLimits()
		unit := "husk-it-" + b.id + ".scope"
		dir := manager + "/user.slice/" + unit
		t.Cleanup(func() { checkUserUnitGone(t, u, unit, dir) })
		b.createOpts(systemdFlag).mustOK(t, "create --systemd-cgroup as "+u.name)
		b.mustRT("start", b.id)
		if got := initCgroup(t, b); got != dir {
			t.Fatalf("the init's cgroup: %s, want the user's scope %s", got, dir)
		}
		wantCgroupFiles(t, dir, rootlessLimitFiles)
		// systemd has them as the scope's properties, so that it keeps them.
		props := userSystemctl(t, u, "show", unit, "-p", "MemoryMax", "-p", "TasksMax", "-p", "Delegate", "-p", "ActiveState")
		for _, want := range []string{"MemoryMax=33554432", "TasksMax=16", "Delegate=yes", "ActiveState=active"} {
			mustContain(t, props, want, "the user's scope's properties")
		}
		// Delegate=yes: the scope is the user's to write.
		fi, err := os.Stat(filepath.Join(dir, "cgroup.procs"))
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; int(uid) != u.uid {
			t.Errorf("%s/cgroup.procs is owned by uid %d, want the user's %d", dir, uid, u.uid)
		}
		checkCgroupCommands(t, b, dir)
		b.mustRT("delete", b.id)
		checkUserUnitGone(t, u, unit, dir)
	})

	t.Run("DefaultPath", func(t *testing.T) {
		// No cgroupsPath: husk-ID.scope in the user's user.slice, as runc
		// puts runc-ID.scope there.
		b := rootlessBundle(t, u, "/helper", "sleep", "600")
		b.spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(30))}}
		unit := "husk-" + b.id + ".scope"
		dir := manager + "/user.slice/" + unit
		t.Cleanup(func() { checkUserUnitGone(t, u, unit, dir) })
		b.createOpts(systemdFlag).mustOK(t, "create --systemd-cgroup")
		if got := initCgroup(t, b); got != dir {
			t.Fatalf("the init's cgroup: %s, want %s", got, dir)
		}
		wantCgroupFiles(t, dir, map[string]string{"pids.max": "30"})
		// delete needs no --systemd-cgroup: the state tells whose unit it is.
		b.mustRT("delete", "--force", b.id)
		checkUserUnitGone(t, u, unit, dir)
	})

	t.Run("OOM", func(t *testing.T) {
		b := rootlessBundle(t, u)
		b.spec.Linux.CgroupsPath = "user.slice:husk-it:" + b.id
		unit := "husk-it-" + b.id + ".scope"
		t.Cleanup(func() { checkUserUnitGone(t, u, unit, manager+"/user.slice/"+unit) })
		checkOOM(t, b, systemdFlag)
	})

	t.Run("CgroupfsInUserScope", func(t *testing.T) {
		// cgroupfs, husk run in a scope of the user's systemd
		// (systemd-run --user --scope): the container's cgroup goes
		// beside that scope, in the user's app.slice, which the user
		// owns.
		b := rootlessBundle(t, u, "/helper", "sleep", "600")
		b.spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(12))}}
		dir := manager + "/app.slice/" + b.id
		t.Cleanup(func() {
			if _, err := os.Stat(dir); err == nil {
				t.Errorf("cgroup %s remains", dir)
				removeCgroup(dir)
			}
		})
		b.createOpts(opts{wrap: []string{"systemd-run", "--user", "--scope", "--quiet", "--"}}).mustOK(t, "create in systemd-run --user --scope")
		if got := initCgroup(t, b); got != dir {
			t.Fatalf("the init's cgroup: %s, want %s", got, dir)
		}
		wantCgroupFiles(t, dir, map[string]string{"pids.max": "12"})
		b.mustRT("delete", "--force", b.id)
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("cgroup %s after delete: %v", dir, err)
		}
	})

	t.Run("NoUserBus", func(t *testing.T) {
		if isRunc() {
			t.Skip("husk's error text")
		}
		b := rootlessBundle(t, u, "/bin/true")
		xdg := u.xdg
		u.xdg = filepath.Join(u.dir, "xdg") // no bus there
		defer func() { u.xdg = xdg }()
		r := b.runOpts(systemdFlag)
		mustFail(t, r, "systemd cgroup driver (rootless): DBUS_SESSION_BUS_ADDRESS is unset and the session bus socket $XDG_RUNTIME_DIR/bus is missing: ")
		mustContain(t, r.Stderr, fmt.Sprintf("`systemctl start user@%d.service` or `loginctl enable-linger`", u.uid), "error")
	})
}

// checkUserUnitGone fails (and cleans up) when the user's systemd still
// has the unit, or its cgroup remains.
func checkUserUnitGone(t *testing.T, u *testUser, unit, dir string) {
	t.Helper()
	var state string
	if !waitFor(5*time.Second, func() bool {
		state = userSystemctl(t, u, "show", unit, "-p", "LoadState", "-p", "ActiveState")
		return strings.Contains(state, "LoadState=not-found") && strings.Contains(state, "ActiveState=inactive")
	}) {
		t.Errorf("the user's unit %s remains: %q", unit, state)
		userSystemctl(t, u, "stop", unit)
		userSystemctl(t, u, "reset-failed", unit)
	}
	if !waitFor(2*time.Second, func() bool { _, err := os.Stat(dir); return err != nil }) {
		t.Errorf("cgroup %s remains", dir)
		removeCgroup(dir)
	}
}

// delegateCgroup makes a cgroup v2 directory for u as an admin delegates
// one (cgroups(7), "Delegation"): owned by u, with the files the kernel
// lists in /sys/kernel/cgroup/delegate, and u's runtime calls start in a
// child of it, so that the user may move processes within it. The
// controllers of the root are enabled for it. It is removed at the end,
// with whatever is left in it.
func delegateCgroup(t *testing.T, u *testUser) string {
	t.Helper()
	dir := "/sys/fs/cgroup/husk-it-rl-" + randHex(4)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Kills what is left in the subtree (cgroup.kill), then
		// removes it from the bottom up.
		os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0o644)
		var dirs []string
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if dirs[i] != dir && dirs[i] != u.cgroup {
				t.Errorf("cgroup %s remains", dirs[i])
			}
			removeCgroup(dirs[i])
		}
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("could not remove the delegated cgroup %s", dir)
		}
	})
	files := []string{"cgroup.procs", "cgroup.subtree_control", "cgroup.threads"}
	if data, err := os.ReadFile("/sys/kernel/cgroup/delegate"); err == nil {
		files = lines(string(data))
	}
	chown := func(d string) {
		for _, f := range append([]string{""}, files...) {
			if err := os.Chown(filepath.Join(d, f), u.uid, u.gid); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		}
	}
	chown(dir)
	caller := filepath.Join(dir, "caller")
	if err := os.Mkdir(caller, 0o755); err != nil {
		t.Fatal(err)
	}
	chown(caller)
	u.cgroup = caller
	return dir
}

func TestRootlessCgroupDelegated(t *testing.T) {
	requireV2(t)
	u := newTestUser(t)
	deleg := delegateCgroup(t, u)

	t.Run("DefaultPath", func(t *testing.T) {
		// No cgroupsPath: the container id next to the caller's own
		// cgroup, as runc's rootless driver places it: in the subtree.
		b := rootlessBundle(t, u, "/helper", "sleep", "600")
		b.spec.Linux.Resources = rootlessLimits()
		dir := filepath.Join(deleg, b.id)
		r := b.create()
		r.mustOK(t, "create as "+u.name+" in a delegated cgroup")
		if strings.Contains(r.Stderr, "without a cgroup") {
			t.Errorf("create warned: %s", r.Stderr)
		}
		b.mustRT("start", b.id)
		if got := initCgroup(t, b); got != dir {
			t.Fatalf("the init's cgroup: %s, want %s", got, dir)
		}
		wantCgroupFiles(t, dir, rootlessLimitFiles)
		checkCgroupCommands(t, b, dir)
		b.mustRT("delete", b.id)
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("cgroup %s after delete: %v", dir, err)
		}
	})

	t.Run("Path", func(t *testing.T) {
		b := rootlessBundle(t, u, "/helper", "sleep", "600")
		b.spec.Linux.CgroupsPath = strings.TrimPrefix(deleg, "/sys/fs/cgroup") + "/sub/" + b.id
		b.spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(5))}}
		dir := "/sys/fs/cgroup" + b.spec.Linux.CgroupsPath
		// husk makes the parents it needs, and leaves them, as runc.
		t.Cleanup(func() { os.Remove(filepath.Dir(dir)) })
		b.startContainer()
		if got := initCgroup(t, b); got != dir {
			t.Fatalf("the init's cgroup: %s, want %s", got, dir)
		}
		wantCgroupFiles(t, dir, map[string]string{"pids.max": "5"})
		b.mustRT("delete", "--force", b.id)
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("cgroup %s after delete: %v", dir, err)
		}
	})

	t.Run("OOM", func(t *testing.T) {
		checkOOM(t, rootlessBundle(t, u), opts{})
	})

	t.Run("Outside", func(t *testing.T) {
		if isRunc() {
			t.Skip("husk's error text")
		}
		// A path outside the subtree is the user's error, as in runc.
		b := rootlessBundle(t, u, "/bin/true")
		b.spec.Linux.CgroupsPath = "/husk-it-not-delegated/" + b.id
		mustFail(t, b.run(), "create cgroup: mkdir /sys/fs/cgroup/husk-it-not-delegated: permission denied")
	})
}
