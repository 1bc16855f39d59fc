package rootfs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/internal/testutil"
)

// The integration tests re-exec the test binary into fresh namespaces; the
// child does the work and prints a childReport as JSON on stdout.
const childEnv = "HUSK_ROOTFS_TEST_CHILD"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		runtime.LockOSThread()
		os.Exit(childMain(cfg))
	}
	os.Exit(m.Run())
}

type childConfig struct {
	Scenario    string
	Spec        *specs.Spec
	NoPivot     bool
	CgroupNS    bool
	CgroupPaths map[string]string
	Probe       []string // paths the "probe" scenario looks up after Prepare
}

type mountRec struct {
	Mountpoint, FSType, Options, Source, Optional string
}

type childReport struct {
	Err    string            // the first failing step
	Mounts []mountRec        // the child's own mount table at the end
	Checks map[string]string // probe name -> what the child saw
}

func childMain(raw string) int {
	var cfg childConfig
	rep := childReport{Checks: map[string]string{}}
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		rep.Err = err.Error()
	} else if err := scenarios[cfg.Scenario](&cfg, &rep); err != nil {
		rep.Err = err.Error()
	}
	if mounts, err := mountinfo.GetMounts(nil); err == nil {
		for _, m := range mounts {
			rep.Mounts = append(rep.Mounts, mountRec{m.Mountpoint, m.FSType, m.Options, m.Source, m.Optional})
		}
	}
	if err := json.NewEncoder(os.Stdout).Encode(rep); err != nil {
		return 1
	}
	return 0
}

var scenarios = map[string]func(*childConfig, *childReport) error{
	"full":        scenarioFull,
	"build":       scenarioBuild,
	"prepare":     scenarioPrepare,
	"devnullswap": scenarioDevNullSwap,
	"probe":       scenarioProbe,
}

// scenarioProbe runs Prepare, then reports what each of cfg.Probe is, as
// the path shows it: "dir", "file", or the lookup's error.
func scenarioProbe(cfg *childConfig, rep *childReport) error {
	if err := Prepare(cfg.config()); err != nil {
		return err
	}
	for _, p := range cfg.Probe {
		switch st, err := os.Lstat(p); {
		case err != nil:
			rep.Checks[p] = err.Error()
		case st.IsDir():
			rep.Checks[p] = "dir"
		default:
			rep.Checks[p] = "file"
		}
	}
	return nil
}

func (cfg *childConfig) config() *Config {
	return &Config{Spec: cfg.Spec, NoPivot: cfg.NoPivot, CgroupNS: cfg.CgroupNS, CgroupPaths: cfg.CgroupPaths}
}

// scenarioPrepare only runs Prepare, for the attack tests: the report's
// mount table shows where things landed.
func scenarioPrepare(cfg *childConfig, _ *childReport) error {
	return Prepare(cfg.config())
}

// scenarioBuild runs the three steps and nothing else.
func scenarioBuild(cfg *childConfig, _ *childReport) error {
	c := cfg.config()
	if err := Prepare(c); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if err := Pivot(c); err != nil {
		return fmt.Errorf("pivot: %w", err)
	}
	return Finalize(c)
}

// scenarioFull builds a whole container the way the init stage does and
// probes the result from inside.
func scenarioFull(cfg *childConfig, rep *childReport) error {
	c := cfg.config()
	if err := Prepare(c); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if err := Pivot(c); err != nil {
		return fmt.Errorf("pivot: %w", err)
	}
	if err := attachConsole(rep); err != nil {
		return fmt.Errorf("console: %w", err)
	}
	if err := Finalize(c); err != nil {
		return fmt.Errorf("finalize: %w", err)
	}
	probe(rep)
	return nil
}

// attachConsole opens a pty in the container's devpts the way the init
// stage gets its console and records which device it is.
func attachConsole(rep *childReport) error {
	master, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return err
	}
	fd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		return errno
	}
	slave := os.NewFile(fd, "pty-slave")
	defer slave.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(fd), &st); err != nil {
		return err
	}
	rep.Checks["pty"] = devString(st)
	return MountConsole(slave)
}

func devString(st unix.Stat_t) string {
	kind := map[uint32]string{unix.S_IFCHR: "c", unix.S_IFBLK: "b", unix.S_IFREG: "f", unix.S_IFLNK: "l", unix.S_IFDIR: "d"}[st.Mode&unix.S_IFMT]
	return fmt.Sprintf("%s %d:%d %#o uid=%d", kind, unix.Major(st.Rdev), unix.Minor(st.Rdev), st.Mode&0o7777, st.Uid)
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

func readString(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "error: " + errString(err)
	}
	return string(b)
}

func writeFile(path string) string {
	return errString(os.WriteFile(path, []byte("x"), 0o644))
}

func probe(rep *childReport) {
	ck := rep.Checks
	for _, p := range []string{"/dev/null", "/dev/zero", "/dev/tty", "/dev/full", "/dev/nested/zero", "/dev/console"} {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			ck[p] = errString(err)
		} else {
			ck[p] = devString(st)
		}
	}
	for _, l := range []string{"/dev/ptmx", "/dev/fd", "/dev/stdin", "/dev/stderr"} {
		target, err := os.Readlink(l)
		if err != nil {
			target = errString(err)
		}
		ck[l] = target
	}
	ck["null-write"] = writeFile("/dev/null")
	ck["masked-file"] = readString("/secret")
	ck["masked-keys"] = readString("/proc/keys")
	entries, err := os.ReadDir("/masked-dir")
	ck["masked-dir"] = fmt.Sprint(len(entries), " ", errString(err))
	ck["masked-dir-write"] = writeFile("/masked-dir/new")
	ck["readonly-dir-write"] = writeFile("/ro-dir/file")
	ck["readonly-dir-read"] = readString("/ro-dir/file")
	ck["proc-sys-write"] = writeFile("/proc/sys/kernel/shmmax")
	ck["root-write"] = writeFile("/newfile")
	ck["tmp-write"] = writeFile("/tmp/newfile")
	ck["shm-write"] = writeFile("/dev/shm/newfile")
	ck["sys-write"] = errString(os.Mkdir("/sys/kernel/husk", 0o755))
	ck["bind-read"] = readString("/mnt/host/hello.txt")
	ck["bind-write"] = writeFile("/mnt/host/hello.txt")
	ck["bindfile-read"] = readString("/etc/hostfile")
	ck["shmmax"] = strings.TrimSpace(readString("/proc/sys/kernel/shmmax"))
	var uts unix.Utsname
	if err := unix.Uname(&uts); err == nil {
		ck["hostname"] = unix.ByteSliceToString(uts.Nodename[:])
	}
	if wd, err := os.Getwd(); err == nil {
		ck["cwd"] = wd
	}
	out, err := exec.Command("/bin/busybox", "cat", "/mnt/host/hello.txt").Output()
	ck["busybox-cat"] = string(out) + errString(err)
	var names []string
	dirents, _ := os.ReadDir("/sys/fs/cgroup")
	for _, d := range dirents {
		var sfs unix.Statfs_t
		if d.Type()&os.ModeSymlink != 0 || unix.Statfs("/sys/fs/cgroup/"+d.Name(), &sfs) != nil {
			continue
		}
		if sfs.Type == unix.CGROUP_SUPER_MAGIC || sfs.Type == unix.CGROUP2_SUPER_MAGIC {
			names = append(names, d.Name())
		}
	}
	ck["cgroups"] = strings.Join(names, " ")
	var sfs unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &sfs) == nil && sfs.Type == unix.CGROUP2_SUPER_MAGIC {
		ck["cgroups"] = "cgroup2"
	}
	ck["cgroup-write"] = errString(os.Mkdir("/sys/fs/cgroup/husk-test", 0o755))
}

// scenarioDevNullSwap replaces the container's /dev/null after Pivot, as a
// hostile process sharing the rootfs could, and checks masking refuses to
// use it.
func scenarioDevNullSwap(cfg *childConfig, rep *childReport) error {
	c := cfg.config()
	if err := Prepare(c); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if err := Pivot(c); err != nil {
		return fmt.Errorf("pivot: %w", err)
	}
	if err := os.Remove("/dev/null"); err != nil {
		return err
	}
	if err := os.Symlink("/victim", "/dev/null"); err != nil {
		return err
	}
	rep.Checks["symlink"] = errString(Finalize(c))
	rep.Checks["symlink-secret"] = readString("/secret")
	if err := os.Remove("/dev/null"); err != nil {
		return err
	}
	if err := os.WriteFile("/dev/null", nil, 0o666); err != nil {
		return err
	}
	rep.Checks["file"] = errString(Finalize(c))
	rep.Checks["file-secret"] = readString("/secret")
	return nil
}

// --- parent side ---

// buildRootfs makes a small rootfs with busybox and the files the probes
// look at, and returns it with a host directory and file to bind in.
func buildRootfs(t *testing.T) (root, hostDir, hostFile string) {
	t.Helper()
	base := t.TempDir()
	root = filepath.Join(base, "rootfs")
	for _, d := range []string{"bin", "proc", "sys", "dev", "tmp", "etc", "ro-dir", "masked-dir"} {
		must(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	bb, err := os.ReadFile(testutil.BusyboxPath)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(root, "bin/busybox"), bb, 0o755))
	must(t, os.WriteFile(filepath.Join(root, "secret"), []byte("top-secret"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "victim"), []byte("victim-content"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "masked-dir/file"), []byte("hidden"), 0o644))
	must(t, os.WriteFile(filepath.Join(root, "ro-dir/file"), []byte("keep"), 0o644))
	hostDir = filepath.Join(base, "host")
	must(t, os.MkdirAll(hostDir, 0o755))
	must(t, os.WriteFile(filepath.Join(hostDir, "hello.txt"), []byte("hello from the host"), 0o644))
	hostFile = filepath.Join(base, "hostfile")
	must(t, os.WriteFile(hostFile, []byte("a host file"), 0o644))
	return root, hostDir, hostFile
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func fullSpec(root, hostDir, hostFile string, userns bool) *specs.Spec {
	mode0600 := os.FileMode(0o600)
	uid, gid := uint32(1000), uint32(1000)
	devices := []specs.LinuxDevice{{Path: "/dev/full", Type: "c", Major: 1, Minor: 7, FileMode: &mode0600, UID: &uid, GID: &gid}}
	if !userns {
		devices = append(devices, specs.LinuxDevice{Path: "/dev/nested/zero", Type: "c", Major: 1, Minor: 5, FileMode: &mode0600})
	}
	return &specs.Spec{
		Root: &specs.Root{Path: root, Readonly: true},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
			{Destination: "tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev"}},
			{Destination: "/mnt/host", Type: "bind", Source: filepath.Base(hostDir), Options: []string{"rbind", "ro", "nosuid", "rprivate"}},
			{Destination: "/etc/hostfile", Source: hostFile, Options: []string{"bind"}},
		},
		Linux: &specs.Linux{
			Sysctl:        map[string]string{"kernel.shmmax": "12345678", "kernel/hostname": "husk-sysctl"},
			ReadonlyPaths: []string{"/proc/sys", "/ro-dir", "/does-not-exist"},
			MaskedPaths:   []string{"/proc/kcore", "/proc/keys", "/secret", "/masked-dir", "/missing/file"},
			Devices:       devices,
		},
	}
}

// hostCgroupPaths hands the container the host's hierarchy roots: bound
// read-only in a private namespace they are harmless.
func hostCgroupPaths(t *testing.T) (map[string]string, []string) {
	t.Helper()
	var sfs unix.Statfs_t
	must(t, unix.Statfs(hostCgroupRoot, &sfs))
	if sfs.Type == unix.CGROUP2_SUPER_MAGIC {
		return map[string]string{"": hostCgroupRoot}, []string{"cgroup2"}
	}
	mounts, err := mountinfo.GetMounts(mountinfo.FSTypeFilter("cgroup", "cgroup2"))
	must(t, err)
	controllers, err := readControllers()
	must(t, err)
	paths := map[string]string{}
	var names []string
	for _, m := range mounts {
		if filepath.Dir(m.Mountpoint) != hostCgroupRoot || slices.Contains(names, filepath.Base(m.Mountpoint)) {
			continue
		}
		names = append(names, filepath.Base(m.Mountpoint))
		if m.FSType == "cgroup2" {
			paths[""] = m.Mountpoint
			continue
		}
		for _, opt := range strings.Split(m.VFSOptions, ",") {
			if controllers[opt] || strings.HasPrefix(opt, "name=") {
				paths[opt] = m.Mountpoint
			}
		}
	}
	slices.Sort(names)
	return paths, names
}

// hostMounts is the test process's mount table, as a set.
func hostMounts(t *testing.T) map[string]bool {
	t.Helper()
	mounts, err := mountinfo.GetMounts(nil)
	must(t, err)
	set := map[string]bool{}
	for _, m := range mounts {
		set[fmt.Sprintf("%d %s %s %s", m.ID, m.Mountpoint, m.FSType, m.Options)] = true
	}
	return set
}

type childOpts struct {
	userns bool
	flags  uintptr // extra clone flags
}

// runChild runs cfg in a child in new mount and pid namespaces (plus
// o.flags) and checks that the host's mount table did not change.
func runChild(t *testing.T, cfg childConfig, o childOpts) childReport {
	t.Helper()
	before := hostMounts(t)
	raw, err := json.Marshal(cfg)
	must(t, err)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	// The init stage runs in the bundle, which holds the rootfs.
	cmd.Dir = filepath.Dir(cfg.Spec.Root.Path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | o.flags}
	if o.userns {
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\nstderr: %s", err, stderr.String())
	}
	var rep childReport
	if err := json.NewDecoder(&stdout).Decode(&rep); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("child report: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	after := hostMounts(t)
	for m := range after {
		if !before[m] {
			t.Errorf("host mount table gained %q", m)
		}
	}
	for m := range before {
		if !after[m] {
			t.Errorf("host mount table lost %q", m)
		}
	}
	return rep
}

func findMount(rep childReport, mountpoint string) (mountRec, bool) {
	var found mountRec
	ok := false
	for _, m := range rep.Mounts {
		if m.Mountpoint == mountpoint {
			found, ok = m, true // the last one is on top
		}
	}
	return found, ok
}

func hasOpt(m mountRec, opt string) bool { return slices.Contains(strings.Split(m.Options, ","), opt) }

func TestContainer(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBusybox(t)
	for _, c := range []struct {
		name    string
		userns  bool
		noPivot bool
	}{
		{name: "pivot"},
		{name: "nopivot", noPivot: true},
		{name: "userns", userns: true},
		{name: "userns-nopivot", userns: true, noPivot: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			root, hostDir, hostFile := buildRootfs(t)
			paths, cgroupNames := hostCgroupPaths(t)
			cfg := childConfig{Scenario: "full", Spec: fullSpec(root, hostDir, hostFile, c.userns), NoPivot: c.noPivot, CgroupPaths: paths}
			flags := uintptr(syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC)
			if c.userns {
				// No network namespace: sysfs must fall back to binding the
				// host's /sys. A cgroup namespace: real cgroup mounts.
				flags |= syscall.CLONE_NEWCGROUP
				cfg.CgroupNS = true
			} else {
				flags |= syscall.CLONE_NEWNET
			}
			rep := runChild(t, cfg, childOpts{userns: c.userns, flags: flags})
			if rep.Err != "" {
				t.Fatalf("child failed: %s", rep.Err)
			}
			checkContainer(t, rep, c.userns, strings.Join(cgroupNames, " "))
			if h, _ := os.ReadFile("/proc/sys/kernel/hostname"); strings.TrimSpace(string(h)) == "husk-sysctl" {
				t.Error("the sysctl changed the host's hostname")
			}
		})
	}
}

// TestRootfsPropagation: a shared rootfsPropagation survives pivot_root
// (whose parent must not be shared) and ends up on the container's "/".
func TestRootfsPropagation(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBusybox(t)
	for _, noPivot := range []bool{false, true} {
		root, _, _ := buildRootfs(t)
		s := &specs.Spec{
			Root:   &specs.Root{Path: root},
			Mounts: []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}},
			Linux:  &specs.Linux{RootfsPropagation: "rshared"},
		}
		rep := runChild(t, childConfig{Scenario: "build", Spec: s, NoPivot: noPivot}, childOpts{flags: syscall.CLONE_NEWNET})
		if rep.Err != "" {
			t.Fatalf("nopivot=%v: %s", noPivot, rep.Err)
		}
		if m, _ := findMount(rep, "/"); !strings.Contains(m.Optional, "shared:") {
			t.Errorf("nopivot=%v: / is %+v, want shared", noPivot, m)
		}
	}
}

func checkContainer(t *testing.T, rep childReport, userns bool, cgroups string) {
	want := map[string]string{
		"/dev/null":          "c 1:3 0666 uid=0",
		"/dev/zero":          "c 1:5 0666 uid=0",
		"/dev/tty":           "c 5:0 0666 uid=0",
		"/dev/full":          "c 1:7 0600 uid=1000",
		"/dev/nested/zero":   "c 1:5 0600 uid=0",
		"/dev/ptmx":          "pts/ptmx",
		"/dev/fd":            "/proc/self/fd",
		"/dev/stdin":         "/proc/self/fd/0",
		"/dev/stderr":        "/proc/self/fd/2",
		"/dev/console":       rep.Checks["pty"],
		"null-write":         "ok",
		"masked-file":        "",
		"masked-keys":        "",
		"masked-dir":         "0 ok",
		"masked-dir-write":   "EROFS",
		"readonly-dir-write": "EROFS",
		"readonly-dir-read":  "keep",
		"proc-sys-write":     "EROFS",
		"root-write":         "EROFS",
		"tmp-write":          "ok",
		"shm-write":          "ok",
		"sys-write":          "EROFS",
		"bind-read":          "hello from the host",
		"bind-write":         "EROFS",
		"bindfile-read":      "a host file",
		"shmmax":             "12345678",
		"hostname":           "husk-sysctl",
		"cwd":                "/",
		"busybox-cat":        "hello from the hostok",
		"cgroups":            cgroups,
		"cgroup-write":       "EROFS",
	}
	if userns {
		// mknod is refused in a user namespace: the host's nodes are bound
		// in, with their own owner and mode.
		want["/dev/full"] = "c 1:7 0666 uid=0"
		want["/dev/nested/zero"] = "ENOENT"
	}
	if !strings.HasPrefix(rep.Checks["pty"], "c 136:") {
		t.Errorf("pty = %q", rep.Checks["pty"])
	}
	for k, v := range want {
		if got := rep.Checks[k]; got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	for mp, fstype := range map[string]string{
		"/": "", "/proc": "proc", "/dev": "tmpfs", "/dev/pts": "devpts", "/dev/shm": "tmpfs", "/dev/mqueue": "mqueue",
		"/sys": "sysfs", "/tmp": "tmpfs", "/mnt/host": "", "/etc/hostfile": "", "/proc/sys": "proc", "/ro-dir": "",
		"/proc/keys": "", "/secret": "", "/masked-dir": "tmpfs", "/dev/console": "devpts",
	} {
		m, ok := findMount(rep, mp)
		if !ok {
			t.Errorf("no mount on %s", mp)
			continue
		}
		if fstype != "" && m.FSType != fstype {
			t.Errorf("%s is %s, want %s", mp, m.FSType, fstype)
		}
	}
	for _, mp := range []string{"/", "/sys", "/proc/sys", "/ro-dir", "/mnt/host", "/masked-dir", "/sys/fs/cgroup"} {
		if m, _ := findMount(rep, mp); !hasOpt(m, "ro") {
			t.Errorf("%s is not read-only: %+v", mp, m)
		}
	}
	for _, m := range rep.Mounts {
		if strings.HasPrefix(m.Mountpoint, "/sys/") && !hasOpt(m, "ro") {
			t.Errorf("%s under the read-only /sys is writable: %+v", m.Mountpoint, m)
		}
	}
	if m, _ := findMount(rep, "/mnt/host"); !hasOpt(m, "nosuid") {
		t.Errorf("/mnt/host lost nosuid: %+v", m)
	}
	if userns {
		if m, _ := findMount(rep, "/dev/null"); m.Mountpoint == "" {
			t.Error("/dev/null is not a bind of the host node")
		}
	}
	for _, m := range rep.Mounts {
		if strings.HasPrefix(m.Mountpoint, "/tmp/Test") {
			t.Errorf("host path visible in the container: %+v", m)
		}
	}
}

// TestSymlinkDestination: a mount destination that is a symlink climbing
// out with "../" or pointing at "/" never leaves the rootfs.
func TestSymlinkDestination(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBusybox(t)
	root, _, hostFile := buildRootfs(t)
	escape := filepath.Join("/tmp", fmt.Sprintf("husk-escape-%d", os.Getpid()))
	must(t, os.Symlink("../../../../../../../../.."+escape, filepath.Join(root, "evil-dir")))
	must(t, os.Symlink("/../../.."+escape+"-file", filepath.Join(root, "evil-file")))
	s := &specs.Spec{
		Root: &specs.Root{Path: root},
		Mounts: []specs.Mount{
			{Destination: "/evil-dir", Type: "tmpfs", Source: "tmpfs"},
			{Destination: "/evil-file", Source: hostFile, Options: []string{"bind"}},
		},
	}
	rep := runChild(t, childConfig{Scenario: "prepare", Spec: s}, childOpts{})
	if rep.Err != "" {
		t.Fatalf("prepare: %s", rep.Err)
	}
	for _, p := range []string{escape, escape + "-file"} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			os.RemoveAll(p)
			t.Errorf("%s was created on the host: %v", p, err)
		}
		if _, ok := findMount(rep, p); ok {
			t.Errorf("a mount landed on the host's %s", p)
		}
		if _, ok := findMount(rep, root+p); !ok {
			t.Errorf("no mount on %s inside the rootfs", root+p)
		}
	}

	for _, target := range []string{"/", "../../../../../../../../.."} {
		root, _, _ := buildRootfs(t)
		must(t, os.Symlink(target, filepath.Join(root, "evil")))
		s := &specs.Spec{Root: &specs.Root{Path: root}, Mounts: []specs.Mount{{Destination: "/evil", Type: "tmpfs", Source: "husk-evil"}}}
		rep := runChild(t, childConfig{Scenario: "prepare", Spec: s}, childOpts{})
		if !strings.Contains(rep.Err, "resolves to the container root") {
			t.Errorf("symlink to %q: err = %q", target, rep.Err)
		}
		for _, m := range rep.Mounts {
			if m.Source == "husk-evil" {
				t.Errorf("symlink to %q: the refused tmpfs landed on %s", target, m.Mountpoint)
			}
		}
	}
}

// TestFreshTmpfs: targets in a tmpfs husk has just mounted are made in it
// directly (fresh.go), and only while no mount covers it, on its path or
// above: a target made after that must be where the path now leads, not
// in the hidden tmpfs.
func TestFreshTmpfs(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBusybox(t)
	root, hostDir, hostFile := buildRootfs(t)
	must(t, os.Symlink("fresh", filepath.Join(root, "link")))
	s := &specs.Spec{
		Root: &specs.Root{Path: root},
		Mounts: []specs.Mount{
			{Destination: "/fresh", Type: "tmpfs", Source: "t1"},
			{Destination: "/fresh/a", Type: "tmpfs", Source: "t2"},
			{Destination: "/fresh/f", Source: hostFile, Options: []string{"bind"}},
			{Destination: "/fresh", Source: hostDir, Options: []string{"bind"}},
			{Destination: "/fresh/b", Type: "tmpfs", Source: "t3"},
			{Destination: "/link/c", Type: "tmpfs", Source: "t4"},
			{Destination: "/up/down", Type: "tmpfs", Source: "t5"},
			{Destination: "/up/down/x", Type: "tmpfs", Source: "t6"},
			{Destination: "/up", Type: "tmpfs", Source: "t7"},
			{Destination: "/up/down/y", Type: "tmpfs", Source: "t8"},
			{Destination: "/dev", Type: "tmpfs", Source: "t9"},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts"},
		},
	}
	p := func(rel string) string { return filepath.Join(root, rel) }
	gone := func(rel string) string { return "lstat " + p(rel) + ": no such file or directory" }
	rep := runChild(t, childConfig{Scenario: "probe", Spec: s, Probe: []string{
		p("fresh/a"), p("fresh/f"), p("fresh/b"), p("fresh/c"), p("up/down/x"), p("up/down/y"), p("dev/pts"),
	}}, childOpts{})
	if rep.Err != "" {
		t.Fatalf("prepare: %s", rep.Err)
	}
	for path, want := range map[string]string{
		p("fresh/b"): "dir", p("fresh/c"): "dir", p("up/down/y"): "dir", p("dev/pts"): "dir",
		// in t1 and t5, hidden
		p("fresh/a"): gone("fresh/a"), p("fresh/f"): gone("fresh/f"), p("up/down/x"): gone("up/down/x"),
	} {
		if got := rep.Checks[path]; got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
	for dest, source := range map[string]string{"fresh/b": "t3", "fresh/c": "t4", "up/down/y": "t8", "dev/pts": "devpts"} {
		if m, ok := findMount(rep, p(dest)); !ok || m.Source != source {
			t.Errorf("mount on %s: %+v (%v), want source %s", dest, m, ok, source)
		}
	}
	// b and c went into the bound directory.
	for _, name := range []string{"b", "c"} {
		if st, err := os.Lstat(filepath.Join(hostDir, name)); err != nil || !st.IsDir() {
			t.Errorf("%s/%s: %v", hostDir, name, err)
		}
	}
}

// TestProcRules: a rootfs whose /proc or /sys is a symlink is refused, and
// nothing but procfs may cover /proc, directly or through a symlink.
func TestProcRules(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBusybox(t)
	for _, name := range []string{"proc", "sys"} {
		root, _, _ := buildRootfs(t)
		must(t, os.Remove(filepath.Join(root, name)))
		must(t, os.Symlink("/tmp", filepath.Join(root, name)))
		s := &specs.Spec{Root: &specs.Root{Path: root}, Mounts: []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}}}
		rep := runChild(t, childConfig{Scenario: "prepare", Spec: s}, childOpts{flags: syscall.CLONE_NEWNET})
		if !strings.Contains(rep.Err, "rootfs /"+name+" is a symlink") {
			t.Errorf("/%s symlink: err = %q", name, rep.Err)
		}
	}

	root, _, hostFile := buildRootfs(t)
	must(t, os.Symlink("proc", filepath.Join(root, "fakeproc")))
	procMount := specs.Mount{Destination: "/proc", Type: "proc", Source: "proc"}
	inside := "is inside /proc, where only the files lxcfs emulates"
	for _, c := range []struct {
		m   specs.Mount
		err string
	}{
		{specs.Mount{Destination: "/proc", Type: "tmpfs", Source: "tmpfs"}, "only procfs may be mounted on /proc"},
		{specs.Mount{Destination: "/proc/sys/kernel", Type: "tmpfs", Source: "tmpfs"}, "/proc/sys/kernel " + inside},
		{specs.Mount{Destination: "/fakeproc/sys", Type: "tmpfs", Source: "tmpfs"}, "/proc/sys " + inside},
		{specs.Mount{Destination: "/fakeproc", Type: "proc", Source: "proc"}, "resolves to /proc through a symlink"},
		{specs.Mount{Destination: "/proc/uptime", Source: hostFile, Options: []string{"bind"}}, ""},
		// procfs sources: the host's /proc on /proc is fine, a procfs file
		// or a new instance below /proc is not (CVE-2025-52881).
		{specs.Mount{Destination: "/proc", Source: "/proc", Options: []string{"rbind"}}, ""},
		{specs.Mount{Destination: "/proc/sys/kernel/domainname", Source: "/proc/self/comm", Options: []string{"bind"}}, "/proc/sys/kernel/domainname " + inside},
		{specs.Mount{Destination: "/proc/sys/kernel/domainname", Source: "/proc/1/comm", Options: []string{"bind"}}, "/proc/sys/kernel/domainname " + inside},
		{specs.Mount{Destination: "/fakeproc/self/oom_score_adj", Source: "/proc/self/sched", Options: []string{"bind"}}, "/oom_score_adj " + inside},
		{specs.Mount{Destination: "/proc/sys", Type: "proc", Source: "proc"}, "/proc/sys " + inside},
	} {
		s := &specs.Spec{Root: &specs.Root{Path: root}, Mounts: []specs.Mount{procMount, c.m}}
		rep := runChild(t, childConfig{Scenario: "prepare", Spec: s}, childOpts{flags: syscall.CLONE_NEWNET})
		if c.err == "" && rep.Err != "" || !strings.Contains(rep.Err, c.err) {
			t.Errorf("%s %s on %s: err = %q, want %q", c.m.Type, c.m.Source, c.m.Destination, rep.Err, c.err)
		}
		if c.err != "" {
			if m, ok := findMount(rep, filepath.Join(root, c.m.Destination)); ok && m.FSType != "proc" {
				t.Errorf("%s on %s: refused, yet mounted: %+v", c.m.Source, c.m.Destination, m)
			}
		}
	}

	// Refused before /proc is mounted, the target would be created in the
	// image's /proc directory: the rule comes first, nothing is made.
	s := &specs.Spec{Root: &specs.Root{Path: root}, Mounts: []specs.Mount{
		{Destination: "/proc/sys/kernel/domainname", Source: "/proc/self/comm", Options: []string{"bind"}},
	}}
	rep := runChild(t, childConfig{Scenario: "prepare", Spec: s}, childOpts{flags: syscall.CLONE_NEWNET})
	if !strings.Contains(rep.Err, inside) {
		t.Errorf("procfs file on an unmounted /proc: err = %q", rep.Err)
	}
	if ents, _ := os.ReadDir(filepath.Join(root, "proc")); len(ents) != 0 {
		t.Errorf("a refused mount left %d entries in the rootfs's /proc", len(ents))
	}

	// Nor is the directory a procfs mount would have been led to through
	// a symlink made before it is refused.
	must(t, os.Symlink("elsewhere/proc", filepath.Join(root, "linkedproc")))
	s = &specs.Spec{Root: &specs.Root{Path: root}, Mounts: []specs.Mount{{Destination: "/linkedproc", Type: "proc", Source: "proc"}}}
	rep = runChild(t, childConfig{Scenario: "prepare", Spec: s}, childOpts{flags: syscall.CLONE_NEWNET})
	if !strings.Contains(rep.Err, "resolves to /elsewhere/proc through a symlink") {
		t.Errorf("proc through a symlink to a missing directory: err = %q", rep.Err)
	}
	if _, err := os.Lstat(filepath.Join(root, "elsewhere")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused procfs mount created its symlink's target: %v", err)
	}
}

// TestDevNullSwap: masking refuses a /dev/null that is not the null device
// (CVE-2025-31133) and the masked file keeps its content.
func TestDevNullSwap(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireBusybox(t)
	root, _, _ := buildRootfs(t)
	s := &specs.Spec{
		Root: &specs.Root{Path: root},
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs"},
		},
		Linux: &specs.Linux{MaskedPaths: []string{"/secret"}},
	}
	rep := runChild(t, childConfig{Scenario: "devnullswap", Spec: s}, childOpts{})
	if rep.Err != "" {
		t.Fatalf("child: %s", rep.Err)
	}
	for _, k := range []string{"symlink", "file"} {
		if !strings.Contains(rep.Checks[k], "/dev/null is not the null device") {
			t.Errorf("%s: Finalize = %q", k, rep.Checks[k])
		}
		if got := rep.Checks[k+"-secret"]; got != "top-secret" {
			t.Errorf("%s: /secret reads %q", k, got)
		}
	}
}
