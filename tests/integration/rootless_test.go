package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Rootless: the runtime run by an unprivileged user made for the test
// (useradd), on a host where that user has no cgroup it may write (no
// user systemd, cgroupfs owned by root): a user namespace of the
// container's own, id maps written by the runtime (the user's own ids) or
// by newuidmap/newgidmap (a range from /etc/subuid and /etc/subgid), no
// cgroup.

// testUser is an unprivileged user that exists for one test.
type testUser struct {
	name     string
	uid, gid int
	dir      string // the user's: XDG_RUNTIME_DIR, state roots, volumes
	bin      string // the runtime, copied where the user may run it
	subStart int    // its range in /etc/subuid and /etc/subgid, 65536 ids
	// xdg, when set, is its XDG_RUNTIME_DIR instead of dir/xdg: the
	// /run/user/UID of its systemd instance (rootless_cgroup_test.go).
	xdg string
	// cgroup, when set, is the cgroup v2 directory its runtime calls
	// start in (a delegated subtree, rootless_cgroup_test.go).
	cgroup string
}

const subIDCount = 65536

// newTestUser adds a user with a group of its own and subordinate ids,
// all removed when the test ends (its processes killed first), whatever
// the test's outcome.
func newTestUser(t *testing.T) *testUser {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	for _, tool := range []string{"useradd", "userdel", "pkill", "newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("rootless tests need %s (packages passwd, procps, uidmap): %v", tool, err)
		}
	}
	u := &testUser{name: "husk-rl-" + randHex(4)}
	t.Cleanup(func() { removeTestUser(t, u) })
	out, err := exec.Command("useradd", "--no-create-home", "--home-dir", "/nonexistent",
		"--user-group", "--shell", "/bin/sh", u.name).CombinedOutput()
	if err != nil {
		t.Fatalf("useradd %s: %v\n%s", u.name, err, out)
	}
	pw, err := user.Lookup(u.name)
	if err != nil {
		t.Fatal(err)
	}
	u.uid, u.gid = atoi(t, pw.Uid), atoi(t, pw.Gid)
	if u.dir, err = os.MkdirTemp("", "husk-rl-"); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(u.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(u.dir, u.uid, u.gid); err != nil {
		t.Fatal(err)
	}
	u.bin = filepath.Join(u.dir, "husk")
	copyFile(t, runtimeBin, u.bin, 0o755)
	xdg := filepath.Join(u.dir, "xdg")
	if err := os.Mkdir(xdg, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(xdg, u.uid, u.gid); err != nil {
		t.Fatal(err)
	}
	u.subStart = ensureSubIDs(t, u.name)
	return u
}

// ensureSubIDs gives the user a range of 65536 ids in /etc/subuid and
// /etc/subgid (useradd may have allocated one already) and returns its
// start, the same in both files.
func ensureSubIDs(t *testing.T, name string) int {
	t.Helper()
	uidStart, uidEnd := subIDRange(t, "/etc/subuid", name)
	gidStart, gidEnd := subIDRange(t, "/etc/subgid", name)
	if uidStart > 0 && uidStart == gidStart {
		return uidStart
	}
	start := max(100000, uidEnd, gidEnd)
	for _, file := range []string{"/etc/subuid", "/etc/subgid"} {
		removeSubIDs(file, name)
		f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(f, "%s:%d:%d\n", name, start, subIDCount)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return start
}

// subIDRange is name's range start in file (0 if none) and the end of
// the highest range anyone has there.
func subIDRange(t *testing.T, file, name string) (start, end int) {
	data, err := os.ReadFile(file)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, l := range lines(string(data)) {
		f := strings.Split(l, ":")
		if len(f) != 3 {
			continue
		}
		s, err1 := strconv.Atoi(f[1])
		n, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			continue
		}
		end = max(end, s+n)
		if f[0] == name && n >= subIDCount {
			start = s
		}
	}
	return start, end
}

func removeSubIDs(file, name string) {
	data, err := os.ReadFile(file)
	if err != nil {
		return
	}
	var keep []string
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if l != "" && !strings.HasPrefix(l, name+":") {
			keep = append(keep, l)
		}
	}
	if strings.Join(keep, "") != string(data) {
		tmp := file + ".husk-test"
		if os.WriteFile(tmp, []byte(strings.Join(keep, "")), 0o644) == nil {
			os.Rename(tmp, file)
		}
	}
}

// removeTestUser kills the user's processes (only that user's), then
// removes it, its subordinate ids and its directory.
func removeTestUser(t *testing.T, u *testUser) {
	if _, err := user.Lookup(u.name); err == nil {
		exec.Command("pkill", "-KILL", "-u", u.name).Run()
		if !waitFor(5*time.Second, func() bool { return exec.Command("pgrep", "-u", u.name).Run() != nil }) {
			t.Errorf("processes of %s outlived pkill -KILL", u.name)
		}
		if out, err := exec.Command("userdel", u.name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v\n%s", u.name, err, out)
		}
	}
	removeSubIDs("/etc/subuid", u.name)
	removeSubIDs("/etc/subgid", u.name)
	if u.dir != "" {
		os.RemoveAll(u.dir)
	}
}

// apply makes cmd run as the user, with its environment.
func (u *testUser) apply(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{
		Uid: uint32(u.uid), Gid: uint32(u.gid), Groups: []uint32{},
	}}
	var env []string
	for _, e := range cmd.Env {
		k, _, _ := strings.Cut(e, "=")
		switch k {
		case "HOME", "USER", "LOGNAME", "XDG_RUNTIME_DIR", "HUSK_CACHE_DIR", "DBUS_SESSION_BUS_ADDRESS":
			continue
		}
		env = append(env, e)
	}
	xdg := u.xdg
	if xdg == "" {
		xdg = filepath.Join(u.dir, "xdg")
	}
	cmd.Env = append(env, "HOME="+u.dir, "USER="+u.name, "LOGNAME="+u.name, "XDG_RUNTIME_DIR="+xdg)
}

// userDir makes a directory the user owns.
func (u *testUser) userDir(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(u.dir, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, u.uid, u.gid); err != nil {
		t.Fatal(err)
	}
	return dir
}

// rootlessSpec is what `spec --rootless` writes for the user.
func (u *testUser) rootlessSpec(t *testing.T) *specs.Spec {
	t.Helper()
	dir := u.userDir(t, "spec-"+randHex(3))
	cmd := exec.Command(u.bin, "spec", "--rootless")
	cmd.Dir = dir
	cmd.Env = os.Environ()
	u.apply(cmd)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("spec --rootless as %s: %v\n%s", u.name, err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("spec --rootless: %v\n%s", err, data)
	}
	return &s
}

// rootlessBundle is newBundle with the spec `spec --rootless` writes, run
// by u with its state under u's directory and no cgroupsPath (the rootless
// cgroup is skipped only then, as in runc).
func rootlessBundle(t *testing.T, u *testUser, args ...string) *bundle {
	t.Helper()
	b := newBundle(t, args...)
	s := u.rootlessSpec(t)
	s.Process.Terminal = false
	s.Process.Args = b.spec.Process.Args
	s.Root = b.spec.Root
	s.Hostname = b.spec.Hostname
	b.spec, b.cgroup, b.asUser = s, "", u
	b.root = filepath.Join(u.dir, "xdg", "state-"+b.id)
	t.Cleanup(func() { checkNoCgroup(t, b.id) })
	return b
}

// checkNoCgroup fails if the container's default cgroup was made in any
// hierarchy: the user may not, and husk must not have tried as anyone else.
func checkNoCgroup(t *testing.T, id string) {
	t.Helper()
	for _, ss := range cgroupSubsystems {
		dir := filepath.Join("/sys/fs/cgroup", ss, "husk", id)
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("rootless container got a cgroup: %s", dir)
			removeCgroup(dir)
		}
	}
}

func mustFail(t *testing.T, r *result, want string) {
	t.Helper()
	if r.Code == 0 {
		t.Fatalf("want failure with %q, got success: %s", want, r)
	}
	mustContain(t, r.Stderr, want, "error")
}

func TestRootless(t *testing.T) {
	if isRunc() {
		t.Skip("husk's rootless error texts")
	}
	u := newTestUser(t)
	noCgroupWarning := "runs without a cgroup: husk may not create one ("

	t.Run("Spec", func(t *testing.T) {
		s := u.rootlessSpec(t)
		want := []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(u.uid), Size: 1}}
		if fmt.Sprint(s.Linux.UIDMappings) != fmt.Sprint(want) {
			t.Errorf("uidMappings = %v, want %v", s.Linux.UIDMappings, want)
		}
		want[0].HostID = uint32(u.gid)
		if fmt.Sprint(s.Linux.GIDMappings) != fmt.Sprint(want) {
			t.Errorf("gidMappings = %v, want %v", s.Linux.GIDMappings, want)
		}
		var types []string
		for _, ns := range s.Linux.Namespaces {
			types = append(types, string(ns.Type))
		}
		if !strings.Contains(strings.Join(types, ","), "user") || strings.Contains(strings.Join(types, ","), "network") {
			t.Errorf("namespaces = %v: want a user namespace and the host's network", types)
		}
	})

	t.Run("Lifecycle", func(t *testing.T) {
		b := rootlessBundle(t, u, "/bin/sh", "-c", "id -u; cat /proc/self/uid_map; echo ready; exec /helper sleep 600")
		r := b.mustCreate()
		mustContain(t, r.Stderr, noCgroupWarning, "create's warning")
		if st := b.state(); st.Status != "created" || st.Pid <= 0 {
			t.Fatalf("after create: %+v", st)
		}
		fi, err := os.Stat(filepath.Join(b.root, b.id))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != u.uid {
			t.Errorf("state dir owned by uid %d, want the user's %d", st.Uid, u.uid)
		}
		b.mustRT("start", b.id)
		out := b.waitOutput("ready")
		ls := lines(out)
		if len(ls) < 2 || ls[0] != "0" || strings.Join(strings.Fields(ls[1]), " ") != fmt.Sprintf("0 %d 1", u.uid) {
			t.Fatalf("container's id -u and uid_map: want 0 and \"0 %d 1\", got:\n%s", u.uid, out)
		}
		st := b.state()
		if st.Status != "running" {
			t.Fatalf("after start: %+v", st)
		}
		// The container's init runs as the user on the host.
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", st.Pid))
		if err != nil {
			t.Fatal(err)
		}
		mustContain(t, string(data), fmt.Sprintf("\nUid:\t%d\t%d\t%d\t%d\n", u.uid, u.uid, u.uid, u.uid), "the init's host uids")
		if got := b.mustExec(nil, "/bin/sh", "-c", "id -u; cat /proc/self/gid_map /proc/self/setgroups"); strings.Join(strings.Fields(got), " ") != fmt.Sprintf("0 0 %d 1 deny", u.gid) {
			t.Errorf("exec: id -u, gid_map and setgroups: want 0, \"0 %d 1\" and deny, got %q", u.gid, got)
		}
		ps := b.mustRT("ps", b.id)
		mustContain(t, ps.Stdout, strconv.Itoa(st.Pid), "ps without a cgroup")
		b.mustRT("kill", b.id, "KILL")
		b.waitStatus("stopped")
		b.mustRT("delete", b.id)
		if _, err := os.Stat(filepath.Join(b.root, b.id)); !os.IsNotExist(err) {
			t.Errorf("state dir after delete: %v", err)
		}
	})

	t.Run("Run", func(t *testing.T) {
		b := rootlessBundle(t, u, "/bin/sh", "-c", "echo hi-from-$(id -u); exit 3")
		r := b.run()
		if r.Code != 3 || r.Stdout != "hi-from-0\n" {
			t.Fatalf("run: want exit 3 and %q, got %s", "hi-from-0\n", r)
		}
	})

	t.Run("DefaultRoot", func(t *testing.T) {
		b := rootlessBundle(t, u, "/bin/true")
		b.root = filepath.Join(u.dir, "xdg", "husk")
		b.save()
		r := b.rtOpts(opts{noRoot: true}, "run", "--bundle", b.dir, b.id)
		if r.Code != 0 {
			t.Fatalf("run with the default root: %s", r)
		}
		if _, err := os.Stat(b.root); err != nil {
			t.Fatalf("default root for a non-root user: %v", err)
		}
		cmd := exec.Command(u.bin, "list")
		cmd.Env = os.Environ()
		u.apply(cmd)
		cmd.Env = append(cmd.Env, "XDG_RUNTIME_DIR=")
		out, err := cmd.CombinedOutput()
		want := "--root is not set and $XDG_RUNTIME_DIR is unset: a non-root user's containers live in $XDG_RUNTIME_DIR/husk; set one of them\n"
		if err == nil || !strings.HasSuffix(string(out), want) {
			t.Fatalf("list without XDG_RUNTIME_DIR: want %q, got %v: %q", want, err, out)
		}
	})

	t.Run("SubIDRange", func(t *testing.T) {
		b := rootlessBundle(t, u, "/bin/sh", "-c",
			"cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; touch /tmp/owned; chown 1000:1000 /tmp/owned; /helper stat /tmp/owned")
		b.spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(u.uid), Size: 1}, {ContainerID: 1, HostID: uint32(u.subStart), Size: subIDCount}}
		b.spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(u.gid), Size: 1}, {ContainerID: 1, HostID: uint32(u.subStart), Size: subIDCount}}
		c := b.spec.Process.Capabilities
		c.Bounding, c.Effective, c.Permitted = append(c.Bounding, "CAP_CHOWN"), append(c.Effective, "CAP_CHOWN"), append(c.Permitted, "CAP_CHOWN")
		r := b.run()
		if r.Code != 0 {
			t.Fatalf("run with a newuidmap range: %s", r)
		}
		got := strings.Join(strings.Fields(r.Stdout), " ")
		want := fmt.Sprintf("0 %d 1 1 %d %d 0 %d 1 1 %d %d allow type=file mode=0644 dev=0:0 uid=1000 gid=1000",
			u.uid, u.subStart, subIDCount, u.gid, u.subStart, subIDCount)
		if got != want {
			t.Fatalf("maps, setgroups and a file chowned to 1000:\nwant %q\ngot  %q", want, got)
		}
		fi, err := os.Stat(filepath.Join(b.rootfs, "tmp/owned"))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != u.subStart+999 || int(st.Gid) != u.subStart+999 {
			t.Errorf("the container's 1000:1000 on the host: %d:%d, want %d:%d", st.Uid, st.Gid, u.subStart+999, u.subStart+999)
		}
		// A range beyond the user's is newuidmap's to refuse.
		b.id = uniqueID(t)
		b.spec.Linux.UIDMappings[1].Size = subIDCount + 1
		r = b.run()
		mustFail(t, r, "linux.uidMappings: newuidmap ")
		mustContain(t, r.Stderr, "not allowed", "newuidmap's own message")
	})

	t.Run("Terminal", func(t *testing.T) {
		b := rootlessBundle(t, u, "/bin/sh", "-c", "/helper isatty 1; /helper stat /dev/console; echo tty-done")
		b.spec.Process.Terminal = true
		r := b.run()
		if r.Code != 0 {
			t.Fatalf("run with a terminal: %s", r)
		}
		ls := lines(strings.ReplaceAll(r.Stdout, "\r", ""))
		if len(ls) != 3 || ls[0] != "yes" || !strings.HasPrefix(ls[1], "type=char") || ls[2] != "tty-done" {
			t.Fatalf("a terminal: want isatty yes and /dev/console a char device, got %q", r.Stdout)
		}
		b2 := rootlessBundle(t, u)
		b2.startContainer()
		if out := b2.mustExec([]string{"-t"}, "/helper", "isatty", "1"); strings.TrimSpace(out) != "yes" {
			t.Fatalf("exec -t: isatty 1 = %q", out)
		}
	})

	t.Run("ConsoleSocket", func(t *testing.T) {
		b := rootlessBundle(t, u, "/bin/sh", "-c", "/helper isatty 0; id -u; echo tty-done; /helper sleep 600")
		b.spec.Process.Terminal = true
		cs := newConsoleSocket(t)
		for _, p := range []string{filepath.Dir(cs.path), cs.path} {
			if err := os.Chown(p, u.uid, u.gid); err != nil {
				t.Fatal(err)
			}
		}
		b.mustCreate("--console-socket", cs.path)
		master := cs.wait(t)
		b.mustRT("start", b.id)
		out := strings.ReplaceAll(readUntil(master, "tty-done", 10*time.Second), "\r", "")
		if ls := lines(out); len(ls) < 3 || ls[0] != "yes" || ls[1] != "0" || ls[2] != "tty-done" {
			t.Fatalf("the pty sent to the user's console socket: want yes, 0, tty-done, got %q", out)
		}
		b.mustRT("kill", b.id, "KILL")
		b.waitStatus("stopped")
	})

	t.Run("Signals", func(t *testing.T) {
		b := rootlessBundle(t, u, "/bin/sh", "-c", `trap "echo got-usr1" USR1; echo ready; while :; do sleep 0.1; done`)
		b.startContainer()
		b.waitOutput("ready")
		b.mustRT("kill", b.id, "USR1")
		b.waitOutput("got-usr1")
		// kill --all without a cgroup: every process of the PID namespace.
		b.mustExec([]string{"-d"}, "/helper", "sleep", "600")
		var pids []string
		waitFor(5*time.Second, func() bool {
			pids = lines(b.mustRT("ps", "--format", "json", b.id).Stdout)
			return strings.Count(strings.Join(pids, ""), ",") >= 2
		})
		var list []int
		if err := json.Unmarshal([]byte(strings.Join(pids, "")), &list); err != nil || len(list) < 3 {
			t.Fatalf("ps --format json: want the init, its sleep and the exec'd sleep, got %q (%v)", pids, err)
		}
		b.mustRT("kill", "--all", b.id, "KILL")
		b.waitStatus("stopped")
		for _, pid := range list {
			if !waitFor(5*time.Second, func() bool { return !pidAlive(pid) }) {
				t.Errorf("pid %d outlived kill --all KILL", pid)
			}
		}
	})

	t.Run("Volume", func(t *testing.T) {
		vol := u.userDir(t, "vol-"+randHex(3))
		b := rootlessBundle(t, u, "/bin/sh", "-c", "echo written > /mnt/out; ls -n /mnt")
		// On /mnt: the rootfs is root's, no mount point can be made in it.
		b.spec.Mounts = append(b.spec.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: vol, Options: []string{"rbind", "rw"}})
		r := b.run()
		if r.Code != 0 {
			t.Fatalf("run with a volume: %s", r)
		}
		mustContain(t, r.Stdout, " 0        0 ", "the file as the container sees it (ls -n)")
		fi, err := os.Stat(filepath.Join(vol, "out"))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != u.uid || int(st.Gid) != u.gid {
			t.Errorf("file written by the container: owner %d:%d on the host, want the user's %d:%d", st.Uid, st.Gid, u.uid, u.gid)
		}
	})

	t.Run("Devices", func(t *testing.T) {
		b := rootlessBundle(t, u, "/bin/sh", "-c", "/helper stat /dev/null; echo x > /dev/null && echo null-ok; grep -c ' /dev/null ' /proc/self/mountinfo")
		r := b.run()
		if r.Code != 0 {
			t.Fatalf("run: %s", r)
		}
		ls := lines(r.Stdout)
		if len(ls) != 3 || !strings.HasPrefix(ls[0], "type=char mode=0666 dev=1:3") || ls[1] != "null-ok" || ls[2] != "1" {
			t.Fatalf("/dev/null, bound from the host's: got %q", r.Stdout)
		}
		b2 := rootlessBundle(t, u, "/bin/true")
		b2.spec.Linux.Devices = []specs.LinuxDevice{{Path: "/dev/husk-no-such-node", Type: "c", Major: 1, Minor: 3}}
		mustFail(t, b2.run(), "linux.devices[0] /dev/husk-no-such-node: a user namespace may not mknod, and the host has no such node to bind: ")
	})

	t.Run("Errors", func(t *testing.T) {
		b := rootlessBundle(t, u, "/bin/true")
		b.spec.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(64 << 20))}}
		r := b.run()
		mustFail(t, r, "linux.resources.memory.limit: a rootless container can't be limited here: husk may not create its cgroup (")
		mustContain(t, r.Stderr, "permission denied); remove the limit, or give the user a cgroup it may write", "error")

		b = rootlessBundle(t, u, "/bin/true")
		b.spec.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(10))}}
		mustFail(t, b.run(), "linux.resources.pids.limit: a rootless container can't be limited here")

		b = rootlessBundle(t, u, "/bin/true")
		removeNamespace(b, specs.UserNamespace)
		b.spec.Linux.UIDMappings, b.spec.Linux.GIDMappings = nil, nil
		mustFail(t, b.run(), fmt.Sprintf("linux.namespaces: a rootless container (husk run by uid %d) needs a user namespace: add {\"type\": \"user\"}\n", u.uid))

		b = rootlessBundle(t, u, "/bin/true")
		b.spec.Process.OOMScoreAdj = ptr(-1000)
		own, _ := os.ReadFile("/proc/self/oom_score_adj")
		mustFail(t, b.run(), fmt.Sprintf("process.oomScoreAdj: -1000 is below husk's own (%s): only root may lower it, a rootless container may not\n", strings.TrimSpace(string(own))))

		b = rootlessBundle(t, u, "/bin/true")
		for i, m := range b.spec.Mounts {
			if m.Destination == "/dev/pts" {
				b.spec.Mounts[i].Options = append(m.Options, "gid=5")
				mustFail(t, b.run(), fmt.Sprintf("mounts[%d] (/dev/pts): option gid=5: gid 5 is not mapped in the container's user namespace (linux.gidMappings)\n", i))
			}
		}

		b = rootlessBundle(t, u, "/bin/true")
		b.spec.Linux.Sysctl = map[string]string{"kernel.domainname": "rootless"}
		r = b.run()
		mustFail(t, r, `linux.sysctl["kernel.domainname"]: `)
		mustContain(t, r.Stderr, ": only the host's root may set it, not the root of a user namespace\n", "error")

		b = rootlessBundle(t, u, "/bin/true")
		idmap := []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(u.subStart), Size: 1000}}
		b.spec.Mounts = append(b.spec.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: u.userDir(t, "idmap-"+randHex(3)),
			Options: []string{"rbind"}, UIDMappings: idmap, GIDMappings: idmap})
		mustFail(t, b.run(), fmt.Sprintf("mounts[%d] (/mnt): an idmapped mount (uidMappings, gidMappings or the idmap option) needs the host's root; a rootless container can't have one\n", len(b.spec.Mounts)-1))

		b = rootlessBundle(t, u, "/bin/true")
		b.spec.Linux.CgroupsPath = "/husk-it/" + b.id
		mustFail(t, b.run(), "create cgroup: mkdir /sys/fs/cgroup/")

		b = rootlessBundle(t, u)
		b.startContainer()
		mustFail(t, b.rt("pause", b.id), fmt.Sprintf("cannot pause container %s: it has no cgroup (a rootless container husk could not create one for)\n", b.id))
		mustFail(t, b.rt("update", "--memory", "64M", b.id), fmt.Sprintf("cannot update container %s: it has no cgroup", b.id))
		mustFail(t, b.rt("events", "--stats", b.id), fmt.Sprintf("cannot read the stats of container %s: it has no cgroup", b.id))
	})
}
