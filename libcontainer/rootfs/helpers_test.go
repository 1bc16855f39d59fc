package rootfs

import (
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/moby/sys/mountinfo"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/spec/vocab"
)

func TestCleanPath(t *testing.T) {
	for in, want := range map[string]string{
		"dev/shm":          "/dev/shm",
		"/proc":            "/proc",
		"/a/../../../etc":  "/etc",
		"../../x":          "/x",
		"/mnt//host/./dir": "/mnt/host/dir",
		"":                 "/",
	} {
		if got := cleanPath(in); got != want {
			t.Errorf("cleanPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWithin(t *testing.T) {
	for _, c := range []struct {
		root, p, rel string
		ok           bool
	}{
		{"/r", "/r", "/", true},
		{"/r", "/r/a/b", "/a/b", true},
		{"/r", "/rx/a", "", false},
		{"/r", "/", "", false},
		{"/r", "/r/a (deleted)", "/a (deleted)", true},
		{"/", "/proc/sys", "/proc/sys", true},
		{"/", "/", "/", true},
		{"/", "anon_inode:[x]", "", false},
	} {
		rel, ok := within(c.root, c.p)
		if rel != c.rel || ok != c.ok {
			t.Errorf("within(%q, %q) = %q, %v; want %q, %v", c.root, c.p, rel, ok, c.rel, c.ok)
		}
	}
}

func TestRemountFlags(t *testing.T) {
	base := uintptr(unix.MS_REMOUNT | unix.MS_BIND)
	for _, c := range []struct {
		name       string
		st         int64
		set, clear uintptr
		want       uintptr
	}{
		{"plain ro", 0, unix.MS_RDONLY, 0, base | unix.MS_RDONLY},
		{"creation flags dropped", 0, unix.MS_BIND | unix.MS_REC | unix.MS_NOEXEC, 0, base | unix.MS_NOEXEC},
		{"locked flags kept", unix.ST_NOSUID | unix.ST_NODEV | unix.ST_NOEXEC, unix.MS_RDONLY, 0,
			base | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{"source ro kept", unix.ST_RDONLY, unix.MS_NOSUID, 0, base | unix.MS_NOSUID | unix.MS_RDONLY},
		{"explicit rw wins", unix.ST_RDONLY, unix.MS_NOSUID, unix.MS_RDONLY, base | unix.MS_NOSUID},
		{"atime left to kernel", unix.ST_NOATIME | unix.ST_RELATIME, unix.MS_RDONLY, 0, base | unix.MS_RDONLY},
	} {
		if got := remountFlags(c.st, c.set, c.clear); got != c.want {
			t.Errorf("%s: remountFlags = %#x, want %#x", c.name, got, c.want)
		}
	}
}

func TestLockableFlags(t *testing.T) {
	for _, c := range []struct {
		st   int64
		want uintptr
		name string
	}{
		{0, unix.MS_STRICTATIME, "strictatime"},
		{unix.ST_RDONLY | unix.ST_NOSUID | unix.ST_RELATIME, unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_RELATIME, "ro,nosuid,relatime"},
		{unix.ST_NODEV | unix.ST_NOEXEC | unix.ST_NOATIME | unix.ST_NODIRATIME, unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOATIME | unix.MS_NODIRATIME, "nodev,noexec,noatime,nodiratime"},
		{unix.ST_NODIRATIME | unix.ST_SYNCHRONOUS, unix.MS_NODIRATIME | unix.MS_STRICTATIME, "strictatime,nodiratime"},
	} {
		got := lockableFlags(c.st)
		if got != c.want {
			t.Errorf("lockableFlags(%#x) = %#x, want %#x", c.st, got, c.want)
		}
		if n := flagNames(got); n != c.name {
			t.Errorf("flagNames(%#x) = %q, want %q", got, n, c.name)
		}
	}
}

func TestMountAttrs(t *testing.T) {
	got := mountAttrs(unix.MS_RDONLY | unix.MS_NODEV | unix.MS_BIND | unix.MS_REC | unix.MS_RELATIME)
	if want := uint64(unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NODEV); got != want {
		t.Errorf("mountAttrs = %#x, want %#x", got, want)
	}
}

func TestNeedsRemount(t *testing.T) {
	for opts, want := range map[string]bool{
		"bind":             false,
		"rbind":            false,
		"rbind,rprivate":   false,
		"rbind,ro":         true,
		"bind,nosuid":      true,
		"bind,rw":          true, // rw asks the source's ro off
		"bind,dev,suid":    true,
		"bind,rprivate":    false,
		"rbind,rro,rslave": false,
	} {
		o := vocab.ParseMountOptions(strings.Split(opts, ","))
		if got := needsRemount(o); got != want {
			t.Errorf("needsRemount(%s) = %v, want %v", opts, got, want)
		}
		if got := hasAfterSteps(o, needsRemount(o)); got != (want || len(o.PropagationFlags) > 0 || o.RecAttrSet|o.RecAttrClr != 0) {
			t.Errorf("hasAfterSteps(%s) = %v", opts, got)
		}
	}
}

func TestRootPropagation(t *testing.T) {
	for value, want := range map[string]uintptr{
		"rslave":     unix.MS_SLAVE | unix.MS_REC,
		"private":    unix.MS_PRIVATE,
		"rshared":    unix.MS_SHARED | unix.MS_REC,
		"unbindable": unix.MS_UNBINDABLE,
	} {
		flag, ok, err := rootPropagation(&specs.Spec{Linux: &specs.Linux{RootfsPropagation: value}})
		if err != nil || !ok || flag != want {
			t.Errorf("rootPropagation(%q) = %#x, %v, %v; want %#x", value, flag, ok, err, want)
		}
	}
	if _, ok, err := rootPropagation(&specs.Spec{}); ok || err != nil {
		t.Errorf("unset rootfsPropagation: ok=%v err=%v", ok, err)
	}
	for _, bad := range []string{"ro", "shared,slave", "sideways"} {
		if _, _, err := rootPropagation(&specs.Spec{Linux: &specs.Linux{RootfsPropagation: bad}}); err == nil {
			t.Errorf("rootPropagation(%q) accepted", bad)
		}
	}
}

func TestCheckProcDest(t *testing.T) {
	for _, c := range []struct {
		rel    string
		procfs bool
		ok     bool
	}{
		{"/proc", true, true},
		{"/proc", false, false},
		{"/proc/self", false, false},
		{"/proc/sys/kernel", false, false},
		{"/proc/cpuinfo", false, true},
		{"/proc/sys/kernel/ns_last_pid", false, true},
		{"/proc/sys/crypto/fips_enabled", false, true},
		// runc's list does not ask what the source is.
		{"/proc/meminfo", true, true},
		// A procfs source below /proc is no better than any other
		// (CVE-2025-52881): /proc/self/comm over a sysctl takes its writes.
		{"/proc/sys/kernel/domainname", true, false},
		{"/proc/sys/kernel", true, false},
		{"/proc/self/attr/exec", true, false},
		{"/proc/1/oom_score_adj", true, false},
		{"/proc/cpuinfo/x", false, false},
		{"/procfs", false, true},
		{"/procfs/sys", true, true},
		{"/dev/proc", false, true},
		{"/", false, true},
	} {
		err := checkProcDest(c.rel, c.procfs)
		if (err == nil) != c.ok {
			t.Errorf("checkProcDest(%q, %v) = %v", c.rel, c.procfs, err)
		}
		if err != nil && (strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), c.rel)) {
			t.Errorf("checkProcDest(%q, %v): the error should be one line naming the path: %q", c.rel, c.procfs, err)
		}
	}
}

func TestSysctlPath(t *testing.T) {
	for key, want := range map[string]string{
		"net.ipv4.ip_forward":              "net/ipv4/ip_forward",
		"kernel/shmmax":                    "kernel/shmmax",
		"net.ipv4.conf.eth0/100.rp_filter": "net/ipv4/conf/eth0.100/rp_filter",
		"net/ipv4/conf/eth0.100/rp_filter": "net/ipv4/conf/eth0.100/rp_filter",
		"kernel.msgmax":                    "kernel/msgmax",
		"fs.mqueue.queues_max":             "fs/mqueue/queues_max",
	} {
		got, err := sysctlPath(key)
		if err != nil || got != want {
			t.Errorf("sysctlPath(%q) = %q, %v; want %q", key, got, err, want)
		}
	}
	for _, bad := range []string{"", "/kernel/x", "kernel/../../etc", "..", "kernel..x", "kernel/", "kernel.", "a//b", "../x"} {
		if got, err := sysctlPath(bad); err == nil {
			t.Errorf("sysctlPath(%q) = %q, want an error", bad, got)
		}
	}
}

func TestDeviceMode(t *testing.T) {
	mode0600 := os.FileMode(0o600)
	withType := os.FileMode(0o20640)
	for _, c := range []struct {
		d    specs.LinuxDevice
		mode uint32
		dev  int
	}{
		{specs.LinuxDevice{Path: "/dev/null", Type: "c", Major: 1, Minor: 3}, unix.S_IFCHR | 0o666, int(unix.Mkdev(1, 3))},
		{specs.LinuxDevice{Path: "/dev/x", Type: "u", Major: 10, Minor: 200, FileMode: &mode0600}, unix.S_IFCHR | 0o600, int(unix.Mkdev(10, 200))},
		{specs.LinuxDevice{Path: "/dev/sda", Type: "b", Major: 8, Minor: 0, FileMode: &withType}, unix.S_IFBLK | 0o640, int(unix.Mkdev(8, 0))},
		{specs.LinuxDevice{Path: "/dev/fifo", Type: "p", Major: 9, Minor: 9}, unix.S_IFIFO | 0o666, 0},
	} {
		mode, dev, err := deviceMode(c.d)
		if err != nil || mode != c.mode || dev != c.dev {
			t.Errorf("deviceMode(%+v) = %#o, %#x, %v; want %#o, %#x", c.d, mode, dev, err, c.mode, c.dev)
		}
	}
	if _, _, err := deviceMode(specs.LinuxDevice{Path: "/dev/x", Type: "s"}); err == nil {
		t.Error("deviceMode accepted type s")
	}
}

func TestHostDev(t *testing.T) {
	if hostDev([]specs.Mount{{Destination: "/dev", Type: "tmpfs", Source: "tmpfs"}}) {
		t.Error("tmpfs /dev taken for the host's")
	}
	if !hostDev([]specs.Mount{{Destination: "/dev", Source: "/dev", Options: []string{"rbind"}}}) {
		t.Error("rbind of /dev not seen")
	}
	if !hostDev([]specs.Mount{{Destination: "dev/", Type: "bind", Source: "/dev"}}) {
		t.Error("type bind on dev/ not seen")
	}
	if hostDev([]specs.Mount{{Destination: "/dev/shm", Type: "bind", Source: "/dev/shm"}}) {
		t.Error("/dev/shm bind taken for /dev")
	}
}

// hybridCgroupPaths are a container's cgroup directories on a hybrid host
// (cpu and cpuacct co-mounted), keyed as the cgroup manager keys them, and
// hybridCgroupHiers the hierarchies its /sys/fs/cgroup gets from them.
func hybridCgroupPaths() map[string]string {
	return map[string]string{
		"cpuacct":      "/sys/fs/cgroup/cpu,cpuacct/ctr",
		"cpu":          "/sys/fs/cgroup/cpu,cpuacct/ctr",
		"memory":       "/sys/fs/cgroup/memory/ctr",
		"name=systemd": "/sys/fs/cgroup/systemd/ctr",
		"":             "/sys/fs/cgroup/unified/ctr",
	}
}

func hybridCgroupHiers() []cgroupHier {
	return []cgroupHier{
		{"cpu,cpuacct", "cgroup", "cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct/ctr"},
		{"memory", "cgroup", "memory", "/sys/fs/cgroup/memory/ctr"},
		{"systemd", "cgroup", "name=systemd", "/sys/fs/cgroup/systemd/ctr"},
		{"unified", "cgroup2", "", "/sys/fs/cgroup/unified/ctr"},
	}
}

func TestCgroupLayout(t *testing.T) {
	mounts := []*mountinfo.Info{
		{Mountpoint: "/sys/fs/cgroup/cpu,cpuacct", FSType: "cgroup", VFSOptions: "rw,cpu,cpuacct"},
		{Mountpoint: "/sys/fs/cgroup/memory", FSType: "cgroup", VFSOptions: "rw,memory"},
		{Mountpoint: "/sys/fs/cgroup/systemd", FSType: "cgroup", VFSOptions: "rw,xattr,release_agent=/lib/systemd/agent,name=systemd"},
		{Mountpoint: "/sys/fs/cgroup/pids", FSType: "cgroup", VFSOptions: "rw,pids"},
		{Mountpoint: "/sys/fs/cgroup/unified", FSType: "cgroup2", VFSOptions: "rw,nsdelegate"},
		{Mountpoint: "/run/other/cpu", FSType: "cgroup", VFSOptions: "rw,cpu"},
		{Mountpoint: "/sys/fs/cgroup/memory", FSType: "cgroup", VFSOptions: "rw,memory"},
	}
	controllers := map[string]bool{"cpu": true, "cpuacct": true, "memory": true, "pids": true}
	paths := hybridCgroupPaths()
	want := hybridCgroupHiers()
	if got := cgroupLayout(mounts, controllers, paths); !slices.Equal(got, want) {
		t.Errorf("cgroupLayout:\n got %+v\nwant %+v", got, want)
	}
	// A "systemd" key works as well as "name=systemd".
	got := cgroupLayout(mounts[2:3], controllers, map[string]string{"systemd": "/x"})
	if len(got) != 1 || got[0].dir != "/x" {
		t.Errorf("systemd key: %+v", got)
	}
}

// The cgroup manager's mountpoints give the layout that mountinfo gives,
// or none at all when one of them is not where the container's tmpfs can
// mirror it.
func TestKnownCgroupLayout(t *testing.T) {
	paths := hybridCgroupPaths()
	mountpoints := map[string]string{
		"cpuacct":      "/sys/fs/cgroup/cpu,cpuacct",
		"cpu":          "/sys/fs/cgroup/cpu,cpuacct",
		"memory":       "/sys/fs/cgroup/memory",
		"name=systemd": "/sys/fs/cgroup/systemd",
		"":             "/sys/fs/cgroup/unified",
		"pids":         "/sys/fs/cgroup/pids", // no directory of the container's: left out
	}
	want := hybridCgroupHiers()
	if got, ok := knownCgroupLayout(paths, mountpoints); !ok || !slices.Equal(got, want) {
		t.Errorf("knownCgroupLayout:\n got %+v (%v)\nwant %+v", got, ok, want)
	}
	if _, ok := knownCgroupLayout(paths, nil); ok {
		t.Error("a layout without mountpoints")
	}
	elsewhere := maps.Clone(mountpoints)
	elsewhere["memory"] = "/run/other/memory"
	if _, ok := knownCgroupLayout(paths, elsewhere); ok {
		t.Error("a layout with a hierarchy outside /sys/fs/cgroup")
	}
	missing := maps.Clone(mountpoints)
	delete(missing, "name=systemd")
	if _, ok := knownCgroupLayout(paths, missing); ok {
		t.Error("a layout without the mountpoint of one of the container's hierarchies")
	}
}

func TestOutsideMounts(t *testing.T) {
	points := []string{"/", "/proc", "/sys", "/sys/fs/cgroup", "/var", "/var/lib", "/var/lib/c/rootfs",
		"/var/lib/c/rootfs/proc", "/var/lib/other", "/var/lib/other/x", "/dev", "/dev/pts", "/dev/pts", "/var/lib/c-2"}
	want := []string{"/dev", "/proc", "/sys", "/var/lib/c-2", "/var/lib/other"}
	if got := outsideMounts(points, "/var/lib/c/rootfs"); !slices.Equal(got, want) {
		t.Errorf("outsideMounts = %v, want %v", got, want)
	}
}
