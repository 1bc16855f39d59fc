package spec

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/husk-runtime/husk/libcontainer/lsm"
	"github.com/husk-runtime/husk/libcontainer/procattr"
	"github.com/husk-runtime/husk/spec/vocab"
)

// fieldError reports a problem with one config.json field, so a user can
// find what to fix without reading husk's code.
func fieldError(field, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %s", ConfigName, field, fmt.Sprintf(format, args...))
}

// processError reports a problem with a field of a process, which may come
// from config.json or from exec (--process, or the command line).
func processError(field, format string, args ...any) error {
	return fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...))
}

// Validate checks that s is a configuration husk can run, before anything is
// created, and reports the first problem found, naming the field. It is
// the one place a configuration is checked: what runs later (libcontainer
// and its stages, rootfs, procattr) trusts a spec that passed. Besides the
// spec's own rules it checks what this host must support for it (the LSM
// of a label). linux.seccomp is the exception: Load leaves it as JSON, and
// seccomp.CompileCached checks a profile when it compiles it, before
// create makes anything (a cached filter's profile was checked when the
// filter was made).
// root.path is looked up as given, so a relative one is taken against the
// working directory; Load makes it absolute first.
func Validate(s *specs.Spec) error {
	if s == nil {
		return fmt.Errorf("%s: no configuration", ConfigName)
	}
	for _, check := range []func(*specs.Spec) error{
		validateVersion,
		validateRoot,
		validateProcess,
		validateHooks,
		validateMounts,
		validateLinux,
		validateIDMappedMounts,
		validateProcAttrs,
		validateLSM,
		validateUnprivileged,
	} {
		if err := check(s); err != nil {
			return err
		}
	}
	return nil
}

// ValidateProcess checks a process exec is to start (a --process file, or
// the container's process changed by the command line) in a container whose
// saved spec has linux: what Validate checks of process.*, the attributes
// procattr sets, and that this host supports its AppArmor profile or
// SELinux label. Errors name the process field, without "config.json".
func ValidateProcess(p *specs.Process, linux *specs.Linux) error {
	if p == nil {
		return errors.New("process: must be present")
	}
	if err := checkProcess(p); err != nil {
		return err
	}
	if err := procattr.Validate(p, linux); err != nil {
		return err
	}
	return lsm.NewHost().Check(p.ApparmorProfile, p.SelinuxLabel, "")
}

func validateVersion(s *specs.Spec) error {
	if s.Version == "" {
		return fieldError("ociVersion", "must not be empty")
	}
	if major, _, _ := strings.Cut(s.Version, "."); major != "1" {
		return fieldError("ociVersion", "%q is not a 1.x version", s.Version)
	}
	return nil
}

func validateRoot(s *specs.Spec) error {
	if s.Root == nil {
		return fieldError("root", "must be present")
	}
	if s.Root.Path == "" {
		return fieldError("root.path", "must not be empty")
	}
	fi, err := os.Stat(s.Root.Path)
	if err != nil {
		return fmt.Errorf("%s: root.path: %w", ConfigName, err)
	}
	if !fi.IsDir() {
		return fieldError("root.path", "%s is not a directory", s.Root.Path)
	}
	return nil
}

func validateProcess(s *specs.Spec) error {
	if s.Process == nil {
		return fieldError("process", "must be present")
	}
	if err := checkProcess(s.Process); err != nil {
		return fmt.Errorf("%s: %w", ConfigName, err)
	}
	return nil
}

// checkProcess checks the fields of a process that need no other part of
// the spec.
func checkProcess(p *specs.Process) error {
	if len(p.Args) == 0 {
		return processError("process.args", "must not be empty")
	}
	if p.Args[0] == "" {
		return processError("process.args[0]", "must not be empty")
	}
	if !filepath.IsAbs(p.Cwd) {
		return processError("process.cwd", "must be an absolute path, got %q", p.Cwd)
	}
	for i, e := range p.Env {
		if k, _, ok := strings.Cut(e, "="); !ok || k == "" {
			return processError(fmt.Sprintf("process.env[%d]", i), "%q is not KEY=value", e)
		}
	}
	seen := make(map[string]bool)
	for i, rl := range p.Rlimits {
		field := fmt.Sprintf("process.rlimits[%d]", i)
		if _, ok := vocab.RlimitResource(rl.Type); !ok {
			return processError(field+".type", "unknown resource %q", rl.Type)
		}
		if seen[rl.Type] {
			return processError(field+".type", "duplicate %s", rl.Type)
		}
		seen[rl.Type] = true
		if rl.Soft > rl.Hard {
			return processError(field, "soft limit %d exceeds hard limit %d", rl.Soft, rl.Hard)
		}
	}
	// Capability names are not checked here: one husk or the running
	// kernel doesn't know is left out with a warning when the process
	// starts, as runc 1.5 does (see libcontainer/stage/capabilities.go).
	if adj := p.OOMScoreAdj; adj != nil && (*adj < -1000 || *adj > 1000) {
		return processError("process.oomScoreAdj", "%d is outside -1000..1000", *adj)
	}
	return checkOOMScoreAdj(p)
}

func validateHooks(s *specs.Spec) error {
	if s.Hooks == nil {
		return nil
	}
	for _, kind := range []struct {
		name  string
		hooks []specs.Hook
	}{
		{"prestart", s.Hooks.Prestart},
		{"createRuntime", s.Hooks.CreateRuntime},
		{"createContainer", s.Hooks.CreateContainer},
		{"startContainer", s.Hooks.StartContainer},
		{"poststart", s.Hooks.Poststart},
		{"poststop", s.Hooks.Poststop},
	} {
		for i, h := range kind.hooks {
			field := fmt.Sprintf("hooks.%s[%d]", kind.name, i)
			if !filepath.IsAbs(h.Path) {
				return fieldError(field+".path", "must be an absolute path, got %q", h.Path)
			}
			if h.Timeout != nil && *h.Timeout <= 0 {
				return fieldError(field+".timeout", "must be positive, got %d", *h.Timeout)
			}
		}
	}
	return nil
}

func validateMounts(s *specs.Spec) error {
	for i, m := range s.Mounts {
		field := fmt.Sprintf("mounts[%d]", i)
		// A relative destination is accepted and taken from "/", as
		// configs written for older runtimes rely on.
		if m.Destination == "" {
			return fieldError(field+".destination", "must not be empty")
		}
		for j, o := range m.Options {
			if o == "" {
				return fieldError(fmt.Sprintf("%s.options[%d]", field, j), "must not be empty")
			}
		}
		bind := m.Type == "bind" || vocab.ParseMountOptions(m.Options).Bind
		if bind && m.Source == "" {
			return fieldError(field+".source", "a bind mount needs a source")
		}
		if !bind && m.Type == "" {
			return fieldError(field+".type", "must be set unless the mount is a bind mount")
		}
	}
	return nil
}

func validateLinux(s *specs.Spec) error {
	l := s.Linux
	if l == nil {
		return fieldError("linux", "must be present")
	}
	if l.IntelRdt != nil {
		return fieldError("linux.intelRdt", "Intel RDT (resctrl) is not supported by husk")
	}
	ns, err := validateNamespaces(l.Namespaces)
	if err != nil {
		return err
	}
	if _, hasNet := ns[specs.NetworkNamespace]; len(l.NetDevices) > 0 && !hasNet {
		return fieldError("linux.netDevices", "needs a network namespace")
	}
	_, hasUTS := ns[specs.UTSNamespace]
	if s.Hostname != "" && !hasUTS {
		return fieldError("hostname", "needs a namespace of type uts in linux.namespaces")
	}
	if s.Domainname != "" && !hasUTS {
		return fieldError("domainname", "needs a namespace of type uts in linux.namespaces")
	}
	if err := validateIDMappings(l, ns); err != nil {
		return err
	}
	if err := validateTimeOffsets(l, ns); err != nil {
		return err
	}
	if err := validateSysctl(l.Sysctl, ns); err != nil {
		return err
	}
	if err := validateDevices(l); err != nil {
		return err
	}
	for i, p := range l.MaskedPaths {
		if !filepath.IsAbs(p) {
			return fieldError(fmt.Sprintf("linux.maskedPaths[%d]", i), "must be an absolute path, got %q", p)
		}
	}
	for i, p := range l.ReadonlyPaths {
		if !filepath.IsAbs(p) {
			return fieldError(fmt.Sprintf("linux.readonlyPaths[%d]", i), "must be an absolute path, got %q", p)
		}
	}
	switch l.RootfsPropagation {
	case "", "private", "rprivate", "shared", "rshared", "slave", "rslave", "unbindable", "runbindable":
	default:
		return fieldError("linux.rootfsPropagation", "unknown propagation %q", l.RootfsPropagation)
	}
	return nil
}

func validateNamespaces(list []specs.LinuxNamespace) (map[specs.LinuxNamespaceType]specs.LinuxNamespace, error) {
	ns := make(map[specs.LinuxNamespaceType]specs.LinuxNamespace, len(list))
	known := vocab.NamespaceTypes()
	for i, n := range list {
		field := fmt.Sprintf("linux.namespaces[%d]", i)
		if !slices.Contains(known, n.Type) {
			return nil, fieldError(field+".type", "unknown namespace type %q", n.Type)
		}
		if _, dup := ns[n.Type]; dup {
			return nil, fieldError(field+".type", "duplicate %s namespace", n.Type)
		}
		if n.Path != "" && !filepath.IsAbs(n.Path) {
			return nil, fieldError(field+".path", "must be an absolute path, got %q", n.Path)
		}
		ns[n.Type] = n
	}
	return ns, nil
}

func validateIDMappings(l *specs.Linux, ns map[specs.LinuxNamespaceType]specs.LinuxNamespace) error {
	user, hasUser := ns[specs.UserNamespace]
	for _, m := range []struct {
		field string
		maps  []specs.LinuxIDMapping
	}{
		{"linux.uidMappings", l.UIDMappings},
		{"linux.gidMappings", l.GIDMappings},
	} {
		if len(m.maps) > 0 && !hasUser {
			return fieldError(m.field, "needs a namespace of type user in linux.namespaces")
		}
		// Without mappings every id in a fresh user namespace is the
		// overflow id, and the container could not even set up its rootfs.
		if hasUser && user.Path == "" && len(m.maps) == 0 {
			return fieldError(m.field, "must not be empty when a new user namespace is created")
		}
		for i, idm := range m.maps {
			if idm.Size == 0 {
				return fieldError(fmt.Sprintf("%s[%d].size", m.field, i), "must be positive")
			}
		}
	}
	return nil
}

func validateTimeOffsets(l *specs.Linux, ns map[specs.LinuxNamespaceType]specs.LinuxNamespace) error {
	if len(l.TimeOffsets) == 0 {
		return nil
	}
	timeNS, ok := ns[specs.TimeNamespace]
	if !ok {
		return fieldError("linux.timeOffsets", "needs a namespace of type time in linux.namespaces")
	}
	// The kernel freezes a time namespace's offsets once a process is in it.
	if timeNS.Path != "" {
		return fieldError("linux.timeOffsets", "cannot be applied to the existing time namespace %s", timeNS.Path)
	}
	for _, clock := range slices.Sorted(maps.Keys(l.TimeOffsets)) {
		if clock != "monotonic" && clock != "boottime" {
			return fieldError("linux.timeOffsets", "unknown clock %q (want monotonic or boottime)", clock)
		}
	}
	return nil
}

// ipcSysctl reports whether k is one of the kernel.* sysctls an IPC
// namespace owns; fs.mqueue.* are owned by it as well.
func ipcSysctl(k string) bool {
	switch k {
	case "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.msg_next_id",
		"kernel.sem", "kernel.sem_next_id",
		"kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_next_id", "kernel.shm_rmid_forced":
		return true
	}
	return false
}

// sysctlNamespace returns the namespace whose copy of a sysctl the container
// would write. Sysctls outside any namespace the container can own are
// global, so setting one would reconfigure the host.
func sysctlNamespace(key string) (specs.LinuxNamespaceType, bool) {
	k := strings.ReplaceAll(key, "/", ".")
	switch {
	case strings.HasPrefix(k, "net."):
		return specs.NetworkNamespace, true
	case ipcSysctl(k), strings.HasPrefix(k, "fs.mqueue."):
		return specs.IPCNamespace, true
	case k == "kernel.hostname", k == "kernel.domainname":
		return specs.UTSNamespace, true
	}
	return "", false
}

func validateSysctl(sysctl map[string]string, ns map[specs.LinuxNamespaceType]specs.LinuxNamespace) error {
	for _, key := range slices.Sorted(maps.Keys(sysctl)) {
		field := fmt.Sprintf("linux.sysctl[%q]", key)
		t, ok := sysctlNamespace(key)
		if !ok {
			return fieldError(field, "not isolated by any namespace; setting it would change the host")
		}
		n, ok := ns[t]
		if !ok {
			return fieldError(field, "needs a namespace of type %s in linux.namespaces", t)
		}
		if n.Path != "" && isHostNamespace(t, n.Path) {
			return fieldError(field, "the %s namespace %s is the host's", t, n.Path)
		}
	}
	return nil
}

// isHostNamespace reports whether path is the namespace husk itself runs in.
// When that cannot be told, it answers false and leaves the error to joining
// the namespace.
func isHostNamespace(t specs.LinuxNamespaceType, path string) bool {
	self, err := os.Stat("/proc/self/ns/" + vocab.ProcNamespaceName(t))
	if err != nil {
		return false
	}
	other, err := os.Stat(path)
	if err != nil {
		return false
	}
	return os.SameFile(self, other)
}

// Device numbers are limited by the kernel's dev_t split: 12 bits of major
// and 20 bits of minor.
const (
	maxDeviceMajor = 1<<12 - 1
	maxDeviceMinor = 1<<20 - 1
)

func validateDevices(l *specs.Linux) error {
	seen := make(map[string]bool)
	for i, d := range l.Devices {
		field := fmt.Sprintf("linux.devices[%d]", i)
		p := filepath.Clean(d.Path)
		if !filepath.IsAbs(d.Path) || !strings.HasPrefix(p, "/dev/") {
			return fieldError(field+".path", "must be an absolute path under /dev, got %q", d.Path)
		}
		if seen[p] {
			return fieldError(field+".path", "duplicate device %s", p)
		}
		seen[p] = true
		switch d.Type {
		case "c", "b", "u":
			if d.Major < 0 || d.Major > maxDeviceMajor {
				return fieldError(field+".major", "%d is outside 0..%d", d.Major, maxDeviceMajor)
			}
			if d.Minor < 0 || d.Minor > maxDeviceMinor {
				return fieldError(field+".minor", "%d is outside 0..%d", d.Minor, maxDeviceMinor)
			}
		case "p":
		default:
			return fieldError(field+".type", "unknown device type %q (want c, b, u or p)", d.Type)
		}
	}
	if l.Resources == nil {
		return nil
	}
	for i, r := range l.Resources.Devices {
		field := fmt.Sprintf("linux.resources.devices[%d]", i)
		switch r.Type {
		case "", "a", "b", "c":
		default:
			return fieldError(field+".type", "unknown device type %q (want a, b or c)", r.Type)
		}
		// As runc, letters other than r, w and m are ignored ("rwa" is
		// "rw"); an access with none of them grants or denies nothing.
		if r.Access != "" && !strings.ContainsAny(r.Access, "rwm") {
			return fieldError(field+".access", "%q has none of r, w and m", r.Access)
		}
	}
	return nil
}

// validateProcAttrs checks the process attributes the stages set
// (scheduler, I/O priority, CPU affinity, personality, memory policy).
func validateProcAttrs(s *specs.Spec) error {
	if err := procattr.Validate(s.Process, s.Linux); err != nil {
		return fmt.Errorf("%s: %w", ConfigName, err)
	}
	return nil
}

// validateLSM refuses a profile or label this host cannot apply (see
// lsm.Host.Check).
func validateLSM(s *specs.Spec) error {
	if err := lsm.NewHost().Check(s.Process.ApparmorProfile, s.Process.SelinuxLabel, s.Linux.MountLabel); err != nil {
		return fmt.Errorf("%s: %w", ConfigName, err)
	}
	return nil
}

// validateIDMappedMounts checks the mounts that ask for an idmapped mount
// (mounts[].uidMappings and gidMappings, options idmap and ridmap): only a
// bind mount can be idmapped, its own mappings come in pairs of non-empty
// ranges, and without them the container's user namespace must be there
// to take the mapping from. The errors keep the words of the code that
// makes the mounts ("mounts[N]: idmap: ...").
func validateIDMappedMounts(s *specs.Spec) error {
	hasUser := vocab.HasNamespace(s, specs.UserNamespace)
	for i, m := range s.Mounts {
		if idmapped, _ := vocab.IDMapOf(m); !idmapped {
			continue
		}
		field := fmt.Sprintf("mounts[%d]", i)
		if !vocab.ParseMountOptions(m.Options).Bind && m.Type != "bind" {
			return fieldError(field, "idmap: only bind mounts can be idmapped, not %q", m.Type)
		}
		switch {
		case len(m.UIDMappings) > 0 && len(m.GIDMappings) == 0:
			return fieldError(field+".gidMappings", "idmap: must be given along with uidMappings")
		case len(m.GIDMappings) > 0 && len(m.UIDMappings) == 0:
			return fieldError(field+".uidMappings", "idmap: must be given along with gidMappings")
		case len(m.UIDMappings) > 0:
			for _, idm := range []struct {
				field string
				maps  []specs.LinuxIDMapping
			}{{field + ".uidMappings", m.UIDMappings}, {field + ".gidMappings", m.GIDMappings}} {
				for j, r := range idm.maps {
					// The kernel would only call it an invalid argument.
					if r.Size == 0 {
						return fieldError(fmt.Sprintf("%s[%d].size", idm.field, j), "idmap: must be positive")
					}
				}
			}
		case !hasUser:
			return fieldError(field, "idmap: no uidMappings and gidMappings, and no user namespace in linux.namespaces to take them from")
		}
	}
	return nil
}
