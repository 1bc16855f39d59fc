package rootfs

import (
	"errors"
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/spec/vocab"
)

// refuseSymlinkedProcSys fails for a rootfs whose /proc or /sys is a
// symlink. The LSM setup, masking and read-only steps all address files
// under these two by path; a symlink would quietly point them somewhere
// else (CVE-2023-27561, CVE-2023-28642).
func (r *rootDir) refuseSymlinkedProcSys() error {
	for _, name := range []string{"proc", "sys"} {
		var st unix.Stat_t
		err := unix.Fstatat(int(r.f.Fd()), name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return fmt.Errorf("stat rootfs /%s: %w", name, err)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return fmt.Errorf("rootfs /%s is a symlink: %s must be mounted on ordinary directory", name, name)
		}
	}
	return nil
}

// procOvermountable are the only paths below /proc a mount may cover, the
// files tools like lxcfs emulate so that top and free see the container's
// share; runc allows the same list. Anything else below /proc could hide
// or stand in for a file the runtime writes to (sysctls, LSM labels,
// oom_score_adj) or the container reads its view from (CVE-2019-16884,
// CVE-2019-19921, CVE-2025-52881), and that holds for procfs sources too:
// /proc/self/comm or another process's /proc/<pid>/comm bound over
// /proc/sys/kernel/domainname takes writes meant for the sysctl.
var procOvermountable = map[string]bool{
	"/proc/cpuinfo":                 true,
	"/proc/diskstats":               true,
	"/proc/meminfo":                 true,
	"/proc/stat":                    true,
	"/proc/swaps":                   true,
	"/proc/uptime":                  true,
	"/proc/loadavg":                 true,
	"/proc/slabinfo":                true,
	"/proc/net/dev":                 true,
	"/proc/sys/kernel/ns_last_pid":  true,
	"/proc/sys/crypto/fips_enabled": true,
}

// checkProcDest enforces the /proc rules for a mount landing on rel (a
// path relative to the container root, symlinks already followed), as
// runc does: /proc itself takes only procfs, a new instance or a bind
// whose source is on procfs (procfsSource, read from the source's open
// handle); below /proc only procOvermountable may be covered, whatever
// the source.
func checkProcDest(rel string, procfsSource bool) error {
	switch {
	case rel == "/proc":
		if !procfsSource {
			return errors.New("only procfs may be mounted on /proc")
		}
	case strings.HasPrefix(rel, "/proc/"):
		if !procOvermountable[rel] {
			return fmt.Errorf("%s is inside /proc, where only the files lxcfs emulates (/proc/cpuinfo, /proc/meminfo, ...) may be mounted over", rel)
		}
	}
	return nil
}

// landsExactly reports whether a filesystem must be mounted exactly where
// the spec says, not wherever a symlink in the image points: the runtime
// itself relies on what it finds there.
func landsExactly(fstype string) bool { return fstype == "proc" || fstype == "sysfs" }

func isProcfs(f *os.File) bool {
	var st unix.Statfs_t
	return unix.Fstatfs(int(f.Fd()), &st) == nil && st.Type == unix.PROC_SUPER_MAGIC
}

// mountSysfs mounts sysfs, or binds the host's /sys when the kernel
// refuses: sysfs needs a network namespace owned by the container's user
// namespace, and a rootless container often shares the host's network.
func (r *rootDir) mountSysfs(m specs.Mount, dest string, o vocab.MountOptions) error {
	err := r.mountFS(m.Source, m.Type, dest, o)
	if !errors.Is(err, unix.EPERM) {
		return err
	}
	// The host's /sys comes with its submounts (cgroups, debugfs, ...): the
	// restrictions asked for the mount must hold for them as well.
	attrs := mountAttrs(o.Flags)
	o.RecAttrSet |= attrs
	o.RecAttrClr &^= attrs
	return r.bindMount("/sys", dest, asBind(o))
}
