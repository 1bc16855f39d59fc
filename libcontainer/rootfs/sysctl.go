package rootfs

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	pathrs "github.com/cyphar/filepath-securejoin/pathrs-lite"
	"github.com/cyphar/filepath-securejoin/pathrs-lite/procfs"
	"golang.org/x/sys/unix"
)

// writeSysctls applies linux.sysctl. The files are reached through
// pathrs-lite's private procfs handle, not the container's /proc, which
// the image and the spec's mounts can influence (CVE-2025-52881), and
// every file is checked to be on procfs before it is written.
func writeSysctls(sysctl map[string]string) error {
	if len(sysctl) == 0 {
		return nil
	}
	proc, err := procfs.OpenProcRoot()
	if err != nil {
		return fmt.Errorf("open procfs: %w", err)
	}
	defer proc.Close()
	keys := make([]string, 0, len(sysctl))
	for k := range sysctl {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		err := writeSysctl(proc, k, sysctl[k])
		// A namespaced sysctl whose file the kernel keeps for the host's
		// root (the UTS ones, say): refused to a user namespace's root,
		// so to any rootless container.
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			return fmt.Errorf("linux.sysctl[%q]: %w: only the host's root may set it, not the root of a user namespace", k, err)
		}
		if err != nil {
			return fmt.Errorf("sysctl %s: %w", k, err)
		}
	}
	return nil
}

func writeSysctl(proc *procfs.Handle, key, value string) error {
	rel, err := sysctlPath(key)
	if err != nil {
		return err
	}
	h, err := proc.OpenRoot("sys/" + rel)
	if err != nil {
		return err
	}
	defer h.Close()
	f, err := pathrs.Reopen(h, unix.O_WRONLY)
	if err != nil {
		return err
	}
	defer f.Close()
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("statfs: %w", err)
	}
	if st.Type != unix.PROC_SUPER_MAGIC {
		return errors.New("not a procfs file")
	}
	_, err = f.WriteString(value)
	return err
}

// sysctlPath turns a sysctl key into a path under /proc/sys the way
// sysctl(8) reads it: "net.ipv4.ip_forward" is dotted, and a '/' in a
// dotted key stands for a literal dot ("net.ipv4.conf.eth0/100.rp_filter"
// names interface eth0.100); a key whose first separator is '/' is a path
// as it is ("net/ipv4/conf/eth0.100/rp_filter").
func sysctlPath(key string) (string, error) {
	p := key
	if i := strings.IndexAny(key, "./"); i >= 0 && key[i] == '.' {
		p = strings.Map(func(c rune) rune {
			switch c {
			case '.':
				return '/'
			case '/':
				return '.'
			}
			return c
		}, key)
	}
	if p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p || slices.Contains(strings.Split(p, "/"), "..") {
		return "", fmt.Errorf("invalid sysctl key %q", key)
	}
	return p, nil
}
