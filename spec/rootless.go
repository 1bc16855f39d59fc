package spec

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/spec/vocab"
)

// An unprivileged caller (euid != 0, whatever --rootless says, as runc
// decides its rootless checks) gets a container only in a user namespace
// of its own, whose maps it may write (its own ids) or have newuidmap and
// newgidmap write (its ranges in /etc/subuid and /etc/subgid). What only
// a real root could do is refused with the config, naming the field that
// asks for it.

// validateUnprivileged refuses, for a caller that is not root, what its
// container could not get.
func validateUnprivileged(s *specs.Spec) error {
	if os.Geteuid() == 0 {
		return nil
	}
	if !vocab.HasNamespace(s, specs.UserNamespace) {
		return fieldError("linux.namespaces", "a rootless container (husk run by uid %d) needs a user namespace: add {\"type\": \"user\"}", os.Geteuid())
	}
	for i, m := range s.Mounts {
		// The kernel idmaps a mount only for CAP_SYS_ADMIN over the user
		// namespace its filesystem belongs to, the host's for a host
		// directory: never an unprivileged caller's.
		if idmapped, _ := vocab.IDMapOf(m); idmapped {
			return fmt.Errorf("%s: mounts[%d] (%s): an idmapped mount (uidMappings, gidMappings or the idmap option) needs the host's root; a rootless container can't have one", ConfigName, i, m.Destination)
		}
	}
	if vocab.HasNewNamespace(s, specs.UserNamespace) {
		if len(s.Linux.UIDMappings) == 0 {
			return fieldError("linux.uidMappings", "a rootless container needs at least one uid mapping")
		}
		if len(s.Linux.GIDMappings) == 0 {
			return fieldError("linux.gidMappings", "a rootless container needs at least one gid mapping")
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
					return fmt.Errorf("%s: mounts[%d] (%s): option %s: %s %d is not mapped in the container's user namespace (linux.%sMappings)", ConfigName, i, m.Destination, o, key, id, key)
				}
			}
		}
	}
	return nil
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
		return processError("process.oomScoreAdj", "%d is below husk's own (%d): only root may lower it, a rootless container may not", *p.OOMScoreAdj, own)
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
