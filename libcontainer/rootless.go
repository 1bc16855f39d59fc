package libcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/spec/vocab"
)

// An unprivileged caller (euid != 0, whatever --rootless says, as runc
// decides its rootless checks) gets a container only in a user namespace
// of its own, whose maps it may write (its own ids) or have newuidmap and
// newgidmap write (its ranges in /etc/subuid and /etc/subgid). What only
// a real root could do is refused here, before anything is made, naming
// the field that asks for it.

// checkUnprivileged refuses, for a caller that is not root, what its
// container could not get.
func checkUnprivileged(s *specs.Spec) error {
	if os.Geteuid() == 0 {
		return nil
	}
	if !vocab.HasNamespace(s, specs.UserNamespace) {
		return fmt.Errorf("linux.namespaces: a rootless container (husk run by uid %d) needs a user namespace: add {\"type\": \"user\"}", os.Geteuid())
	}
	if vocab.HasNewNamespace(s, specs.UserNamespace) {
		if len(s.Linux.UIDMappings) == 0 {
			return errors.New("linux.uidMappings: a rootless container needs at least one uid mapping")
		}
		if len(s.Linux.GIDMappings) == 0 {
			return errors.New("linux.gidMappings: a rootless container needs at least one gid mapping")
		}
		// A uid= or gid= option names an id in the container, which must
		// be mapped for the kernel to take it (runc checks the same).
		for i, m := range s.Mounts {
			for _, o := range m.Options {
				key, val, _ := strings.Cut(o, "=")
				maps := map[string][]specs.LinuxIDMapping{"uid": s.Linux.UIDMappings, "gid": s.Linux.GIDMappings}[key]
				if maps == nil {
					continue
				}
				id, err := strconv.ParseUint(val, 10, 32)
				if err == nil && !mapped(maps, uint32(id)) {
					return fmt.Errorf("mounts[%d] (%s): option %s: %s %d is not mapped in the container's user namespace (linux.%sMappings)", i, m.Destination, o, key, id, key)
				}
			}
		}
	}
	return checkOOMScoreAdj(s.Process)
}

// checkOOMScoreAdj refuses a process.oomScoreAdj below husk's own for an
// unprivileged caller: lowering it takes CAP_SYS_RESOURCE over the host.
func checkOOMScoreAdj(p *specs.Process) error {
	if os.Geteuid() == 0 || p == nil || p.OOMScoreAdj == nil {
		return nil
	}
	data, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return err
	}
	own, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err == nil && *p.OOMScoreAdj < own {
		return fmt.Errorf("process.oomScoreAdj %d is below husk's own (%d): only root may lower it, a rootless container may not", *p.OOMScoreAdj, own)
	}
	return nil
}

func mapped(maps []specs.LinuxIDMapping, id uint32) bool {
	for _, m := range maps {
		if id >= m.ContainerID && uint64(id) < uint64(m.ContainerID)+uint64(m.Size) {
			return true
		}
	}
	return false
}

// ownIDOnly tells whether maps map just id, once: the one mapping an
// unprivileged process may write itself.
func ownIDOnly(maps []specs.LinuxIDMapping, id int) bool {
	return len(maps) == 1 && maps[0].Size == 1 && int64(maps[0].HostID) == int64(id)
}

// writeIDMaps writes the id maps of the stage's new user namespace (pid
// is the preamble, waiting in it). Root writes them itself. An
// unprivileged caller writes a map of its own id alone itself (the gid
// map after denying setgroups, as the kernel requires of it) and has
// newuidmap or newgidmap write any other.
func writeIDMaps(pid int, s *specs.Spec) error {
	if !vocab.HasNewNamespace(s, specs.UserNamespace) {
		return nil
	}
	uids, gids := s.Linux.UIDMappings, s.Linux.GIDMappings
	if os.Geteuid() == 0 {
		if err := writeIDMap(pid, "uid_map", uids); err != nil {
			return err
		}
		return writeIDMap(pid, "gid_map", gids)
	}
	if ownIDOnly(uids, os.Geteuid()) {
		if err := writeIDMap(pid, "uid_map", uids); err != nil {
			return fmt.Errorf("linux.uidMappings: %w", err)
		}
	} else if err := runMapTool("newuidmap", "linux.uidMappings", pid, uids); err != nil {
		return err
	}
	if ownIDOnly(gids, os.Getegid()) {
		path := fmt.Sprintf("/proc/%d/setgroups", pid)
		if err := os.WriteFile(path, []byte("deny"), 0); err != nil {
			return fmt.Errorf("linux.gidMappings: write %s: %w", path, err)
		}
		if err := writeIDMap(pid, "gid_map", gids); err != nil {
			return fmt.Errorf("linux.gidMappings: %w", err)
		}
		return nil
	}
	return runMapTool("newgidmap", "linux.gidMappings", pid, gids)
}

func writeIDMap(pid int, file string, maps []specs.LinuxIDMapping) error {
	var b strings.Builder
	for _, m := range maps {
		fmt.Fprintf(&b, "%d %d %d\n", m.ContainerID, m.HostID, m.Size)
	}
	path := fmt.Sprintf("/proc/%d/%s", pid, file)
	if err := os.WriteFile(path, []byte(b.String()), 0); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// runMapTool runs newuidmap or newgidmap (shadow's setuid helpers, in
// Debian's uidmap package), which write maps within the caller's ranges
// in /etc/subuid or /etc/subgid.
func runMapTool(tool, field string, pid int, maps []specs.LinuxIDMapping) error {
	path, err := exec.LookPath(tool)
	if err != nil {
		return fmt.Errorf("%s: mapping ids other than husk's own (uid %d, gid %d) needs %s (Debian's uidmap package): %w", field, os.Geteuid(), os.Getegid(), tool, err)
	}
	args := []string{strconv.Itoa(pid)}
	for _, m := range maps {
		args = append(args, strconv.FormatUint(uint64(m.ContainerID), 10), strconv.FormatUint(uint64(m.HostID), 10), strconv.FormatUint(uint64(m.Size), 10))
	}
	cmd := exec.Command(path, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%s: %s %s: %s", field, tool, strings.Join(args, " "), msg)
	}
	return nil
}
