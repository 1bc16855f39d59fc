package libcontainer

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/libcontainer/nsenter"
	"github.com/husk-runtime/husk/spec/vocab"
)

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
	err = nsenter.WithCallerSlack(cmd.Start)
	if err == nil {
		err = cmd.Wait()
	}
	if err != nil {
		msg := strings.TrimSpace(out.String())
		if msg == "" {
			msg = err.Error()
		}
		return fmt.Errorf("%s: %s %s: %s", field, tool, strings.Join(args, " "), msg)
	}
	return nil
}
