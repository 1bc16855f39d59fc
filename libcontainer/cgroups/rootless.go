package cgroups

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ApplyRootless is Apply(-1) for a caller that may not own the cgroup
// tree, as runc's rootless cgroup manager: a directory it is refused
// (EACCES, EPERM, EROFS), or that exists but whose cgroup.procs it may not
// write, is left out rather than failing. It returns the manager of the
// directories not left out (nil when all were) and, for each key of Paths
// left out, why; on another error, the manager still names what may have
// been made, for the caller to remove.
func ApplyRootless(m Manager) (Manager, map[string]error, error) {
	paths := m.Paths()
	skipped := map[string]error{}
	done := map[string]error{}
	var failed error
	for key, dir := range paths {
		err, seen := done[dir]
		if !seen && failed == nil {
			err = makeOwnDir(dir, dir == paths["cpuset"] && key != "")
			done[dir] = err
		}
		switch {
		case err == nil:
		case permissionError(err):
			skipped[key] = err
		case failed == nil:
			failed = err
		}
	}
	if len(skipped) == 0 {
		return m, nil, failed
	}
	kept := map[string]string{}
	for key, dir := range paths {
		if skipped[key] == nil {
			kept[key] = dir
		}
	}
	if len(kept) == 0 {
		return nil, skipped, failed
	}
	return Load(kept), skipped, failed
}

func makeOwnDir(dir string, cpuset bool) error {
	if err := createDir(dir); err != nil {
		return err
	}
	if cpuset {
		if err := fillCpuset(dir); err != nil {
			return err
		}
	}
	procs := filepath.Join(dir, "cgroup.procs")
	if err := unix.Access(procs, unix.W_OK); err != nil {
		return fmt.Errorf("%s: %w", procs, err)
	}
	return nil
}

func permissionError(err error) bool {
	return errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EROFS)
}

// NeedsCgroup names the first limit in r (as "linux.resources.memory.limit")
// whose controller has no directory in paths, with the key of that
// controller; "" when every limit has one. v2 tells a unified host, where
// the one directory (key "") holds every controller. Device rules never
// need one: without a writable devices cgroup there is nothing a rootless
// container could be allowed beyond what its user namespace already
// allows, and runc's rootless manager ignores them too.
func NeedsCgroup(r *specs.LinuxResources, paths map[string]string, v2 bool) (field, key string) {
	if r == nil {
		return "", ""
	}
	check := func(name string, value any, keys ...string) bool {
		f, set := firstSet(value)
		if !set {
			return false
		}
		if v2 {
			keys = []string{""}
		}
		for _, k := range keys {
			if paths[k] == "" {
				field, key = "linux.resources."+name+f, k
				return true
			}
		}
		return false
	}
	cpu := r.CPU
	var cpuset *specs.LinuxCPU
	if cpu != nil && (cpu.Cpus != "" || cpu.Mems != "") {
		c := *cpu
		cpuset = &specs.LinuxCPU{Cpus: c.Cpus, Mems: c.Mems}
		c.Cpus, c.Mems = "", ""
		cpu = &c
	}
	var classID, prio any
	if r.Network != nil {
		classID, prio = r.Network.ClassID, r.Network.Priorities
	}
	switch {
	case check("memory", r.Memory, "memory"),
		check("cpu", cpu, "cpu"),
		check("cpu", cpuset, "cpuset"),
		check("pids", r.Pids, "pids"),
		check("blockIO", r.BlockIO, "blkio"),
		check("hugepageLimits", r.HugepageLimits, "hugetlb"),
		check("network.classID", classID, "net_cls"),
		check("network.priorities", prio, "net_prio"),
		check("rdma", r.Rdma, "rdma"),
		check("unified", r.Unified, ""):
	}
	return field, key
}

// firstSet tells whether value (a pointer to a struct, a slice, a map or
// a scalar) sets anything and, for a struct, names its first set field by
// its JSON name (".limit").
func firstSet(value any) (string, bool) {
	v := reflect.ValueOf(value)
	if !v.IsValid() || v.IsZero() {
		return "", false
	}
	switch v.Kind() {
	case reflect.Pointer:
		v = v.Elem()
	case reflect.Slice, reflect.Map:
		return "", v.Len() > 0
	}
	if v.Kind() != reflect.Struct {
		return "", true
	}
	for i := range v.NumField() {
		f := v.Field(i)
		if f.IsZero() || (f.Kind() == reflect.Slice && f.Len() == 0) {
			continue
		}
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		return "." + name, true
	}
	return "", false
}

// RootlessPath is where a rootless container's cgroup goes on a cgroup v2
// host when linux.cgroupsPath is not absolute, as runc's rootless
// cgroupfs driver places it: below the parent of the caller's own cgroup,
// as cgroupsPath, or the container id when it is empty. The caller's own
// cgroup holds processes (husk's, its shell's), so it can pass no
// controller on to a child; its parent is the subtree a user may own:
// delegated by the user's systemd (user@UID.service/app.slice when husk
// runs in a scope of the user's), or chowned to the user by an admin
// (cgroup.procs, cgroup.subtree_control and cgroup.threads too).
// ok is false on a v1 or hybrid host, and for an absolute cgroupsPath,
// which stay as they are.
func RootlessPath(cgroupsPath, id string) (path string, ok bool) {
	if filepath.IsAbs(cgroupsPath) {
		return "", false
	}
	l, err := readLayout()
	if err != nil {
		return "", false
	}
	return rootlessPath(l, cgroupsPath, id)
}

func rootlessPath(l *layout, cgroupsPath, id string) (string, bool) {
	if filepath.IsAbs(cgroupsPath) || !l.isV2() {
		return "", false
	}
	own, in := trimPathPrefix(l.unified.current, l.unified.root)
	if !in {
		own = l.unified.current
	}
	if cgroupsPath == "" {
		cgroupsPath = id
	}
	return filepath.Join(filepath.Dir(own), filepath.Clean("/"+cgroupsPath)), true
}
