package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// mountPoints parses mountinfo into mount point -> fstype.
func mountPoints(mountinfo string) map[string]string {
	m := map[string]string{}
	for _, l := range lines(mountinfo) {
		pre, post, ok := strings.Cut(l, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 1 {
			continue
		}
		m[f[4]] = g[0]
	}
	return m
}

// mountOptions returns the per-mount options of mount point mp.
func mountOptions(mountinfo, mp string) string {
	for _, l := range lines(mountinfo) {
		f := strings.Fields(l)
		if len(f) > 5 && f[4] == mp {
			return f[5]
		}
	}
	return ""
}

func TestRootfsDefaultMounts(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "mounts")
	out := b.mustRun()
	mps := mountPoints(out)
	for mp, fstype := range map[string]string{
		"/proc": "proc", "/dev": "tmpfs", "/dev/pts": "devpts", "/dev/shm": "tmpfs",
		"/dev/mqueue": "mqueue", "/sys": "sysfs",
	} {
		if mps[mp] != fstype {
			t.Errorf("mount %s: want fstype %s, got %q", mp, fstype, mps[mp])
		}
	}
	if _, ok := mps["/"]; !ok {
		t.Errorf("no / in the container's mountinfo")
	}
	// Nothing of the host's mount table beyond what the spec asked for.
	for mp := range mps {
		if strings.HasPrefix(mp, "/tmp/") || strings.HasPrefix(mp, "/work") {
			t.Errorf("host mount %s visible in the container:\n%s", mp, out)
		}
	}
}

func TestRootfsReadonly(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.spec.Root.Readonly = true
	b.shell("/helper write /newfile x; /helper write /dev/shm/ok x && echo shm-writable")
	r := b.run()
	mustContain(t, r.Stdout, "read-only file system", "write to / of a read-only root")
	mustContain(t, r.Stdout, "shm-writable", "/dev/shm stays writable")
	if _, err := os.Stat(filepath.Join(b.rootfs, "newfile")); err == nil {
		t.Fatalf("a file was written through a read-only root")
	}
}

// procFile returns the first of the /proc files that this kernel has.
func procFile(names ...string) string {
	for _, n := range names {
		if _, err := os.Stat(n); err == nil {
			return n
		}
	}
	return ""
}

func TestRootfsMaskedPaths(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	// Some kernels (this VM's) lack /proc/kcore: mask what exists.
	procMasked := procFile("/proc/kcore", "/proc/timer_list", "/proc/keys")
	b.spec.Linux.MaskedPaths = []string{procMasked, "/proc/scsi", "/etc/masked-dir", "/etc/masked-file"}
	if err := os.MkdirAll(filepath.Join(b.rootfs, "etc/masked-dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(b.rootfs, "etc/masked-dir/secret"), "secret", 0o644)
	writeFile(t, filepath.Join(b.rootfs, "etc/masked-file"), "secret-file", 0o644)
	b.shell("echo proc:$(/helper cat " + procMasked + " | wc -c); echo file:$(/helper cat /etc/masked-file | wc -c); /helper ls /etc/masked-dir; echo end")
	out := b.mustRun()
	mustContain(t, out, "proc:0\n", "masked "+procMasked+" reads empty")
	mustContain(t, out, "file:0\n", "masked /etc/masked-file reads empty")
	if strings.Contains(out, "secret") {
		t.Fatalf("a masked directory shows its content:\n%s", out)
	}
}

func TestRootfsReadonlyPaths(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.spec.Linux.ReadonlyPaths = []string{"/proc/sysrq-trigger", "/proc/sys"}
	script := "/helper write /proc/sys/kernel/hostname evil; /helper hostname"
	sysrq := procFile("/proc/sysrq-trigger") != ""
	if sysrq {
		script += "; /helper write /proc/sysrq-trigger h"
	}
	b.shell(script)
	out := lines(b.mustRun())
	if len(out) < 2 || !strings.Contains(out[0], "read-only file system") || out[1] != b.spec.Hostname {
		t.Fatalf("write to /proc/sys/kernel/hostname under a read-only /proc/sys: want EROFS and an unchanged hostname, got %q", out)
	}
	if sysrq && (len(out) < 3 || !strings.Contains(out[2], "read-only file system")) {
		t.Fatalf("write /proc/sysrq-trigger: want EROFS, got %q", out)
	}
}

func TestRootfsBindMount(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "hello.txt"), "from the host\n", 0o644)
	b.spec.Mounts = append(b.spec.Mounts,
		specs.Mount{Destination: "/data-rw", Type: "bind", Source: src, Options: []string{"rbind", "rw"}},
		specs.Mount{Destination: "/data-ro", Type: "bind", Source: src, Options: []string{"rbind", "ro"}},
	)
	b.shell("/helper cat /data-ro/hello.txt; /helper write /data-ro/x no; /helper write /data-rw/written yes && echo rw-ok")
	out := b.mustRun()
	mustContain(t, out, "from the host\n", "bind mount content")
	mustContain(t, out, "read-only file system", "write to a ro bind mount")
	mustContain(t, out, "rw-ok", "write to a rw bind mount")
	if _, err := os.Stat(filepath.Join(src, "x")); err == nil {
		t.Fatalf("a write through the ro bind mount reached the host")
	}
	if data, _ := os.ReadFile(filepath.Join(src, "written")); string(data) != "yes" {
		t.Fatalf("a write through the rw bind mount did not reach the host: %q", data)
	}
}

func TestRootfsBindMountFile(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "cat", "/etc/bound-file")
	src := filepath.Join(t.TempDir(), "f")
	writeFile(t, src, "file bind\n", 0o644)
	b.spec.Mounts = append(b.spec.Mounts,
		specs.Mount{Destination: "/etc/bound-file", Type: "bind", Source: src, Options: []string{"bind", "ro"}})
	if out := b.mustRun(); out != "file bind\n" {
		t.Fatalf("a file bind mount: got %q", out)
	}
}

func TestRootfsTmpfsMount(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.spec.Mounts = append(b.spec.Mounts,
		specs.Mount{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=1777", "size=1m"}})
	b.shell("/helper stat /scratch; /helper mounts")
	out := b.mustRun()
	mustContain(t, out, "type=dir mode=1777", "tmpfs mount mode")
	if fs := mountPoints(out)["/scratch"]; fs != "tmpfs" {
		t.Fatalf("/scratch: want tmpfs, got %q", fs)
	}
	opts := mountOptions(out, "/scratch")
	if !strings.Contains(opts, "nosuid") || !strings.Contains(opts, "nodev") {
		t.Fatalf("/scratch mount options: want nosuid,nodev, got %q", opts)
	}
}

func TestRootfsDefaultDevices(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	devs := map[string]string{
		"/dev/null": "1:3", "/dev/zero": "1:5", "/dev/full": "1:7",
		"/dev/random": "1:8", "/dev/urandom": "1:9", "/dev/tty": "5:0",
	}
	var script []string
	for d := range devs {
		script = append(script, "echo "+d+" $(/helper stat "+d+")")
	}
	script = append(script, "echo ptmx $(/helper stat /dev/ptmx)", "echo x > /dev/null && echo null-writable")
	b.shell(strings.Join(script, "; "))
	out := b.mustRun()
	for d, dev := range devs {
		mustContain(t, out, d+" type=char mode=0666 dev="+dev+" ", "default device "+d)
	}
	mustContain(t, out, "null-writable", "/dev/null is usable")
	for _, l := range lines(out) {
		if strings.HasPrefix(l, "ptmx ") && !strings.Contains(l, "type=symlink") && !strings.Contains(l, "dev=5:2") {
			t.Errorf("/dev/ptmx should link to pts/ptmx or be the 5:2 device: %q", l)
		}
	}
}

func TestRootfsDevSymlinks(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.shell("for l in /dev/fd /dev/stdin /dev/stdout /dev/stderr; do echo $l $(readlink $l); done")
	out := b.mustRun()
	for _, want := range []string{"/dev/fd /proc/self/fd", "/dev/stdin /proc/self/fd/0", "/dev/stdout /proc/self/fd/1", "/dev/stderr /proc/self/fd/2"} {
		mustContain(t, out, want, "/dev symlinks")
	}
}

func TestRootfsLinuxDevices(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "stat", "/dev/husk-full")
	b.spec.Linux.Devices = append(b.spec.Linux.Devices, specs.LinuxDevice{
		Path: "/dev/husk-full", Type: "c", Major: 1, Minor: 7,
		FileMode: ptr(os.FileMode(0o640)), UID: ptr(uint32(1000)), GID: ptr(uint32(2000)),
	})
	out := strings.TrimSpace(b.mustRun())
	if out != "type=char mode=0640 dev=1:7 uid=1000 gid=2000" {
		t.Fatalf("linux.devices node: got %q", out)
	}
}

func TestRootfsSysctl(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "cat", "/proc/sys/net/ipv4/ip_forward")
	setNamespace(b, "network", "")
	b.spec.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
	if out := strings.TrimSpace(b.mustRun()); out != "1" {
		t.Fatalf("sysctl net.ipv4.ip_forward=1 in a new net ns: read back %q", out)
	}
	host, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	t.Logf("host ip_forward is %s (untouched by the container's sysctl)", strings.TrimSpace(string(host)))
}

func TestRootfsNoPivot(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.shell("/helper cat /etc/group; /helper pid")
	out := b.mustRun("--no-pivot")
	mustContain(t, out, "extra:x:2000:test", "--no-pivot rootfs content")
	if ls := lines(out); ls[len(ls)-1] != "1" {
		t.Fatalf("--no-pivot: want pid 1, got %q", out)
	}
}

func TestRootfsPropagationPrivate(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.spec.Linux.RootfsPropagation = "private"
	b.shell("/helper mounts")
	out := b.mustRun()
	for _, l := range lines(out) {
		f := strings.Fields(l)
		if len(f) > 6 && f[4] == "/" && strings.Contains(l, "shared:") {
			t.Fatalf("rootfsPropagation private: / is shared: %s", l)
		}
	}
}
