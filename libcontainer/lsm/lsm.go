// Package lsm applies the Linux security module settings of the runtime
// spec: process.apparmorProfile (exec --apparmor), process.selinuxLabel
// (exec --process-label) and linux.mountLabel.
//
// Detection (the methods of Host: Check, MountLabel) reads sysfs,
// securityfs and selinuxfs, which a container's mount namespace does not
// show reliably: call those in husk, on the host, with the Host NewHost
// returns. ApplyExecLabels only needs procfs and runs in the stage.
package lsm

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Host is where an LSM shows whether it is active, and how to tell which
// filesystem a path is on; tests point one at a fake tree.
type Host struct {
	appArmorParam string   // "Y" when AppArmor is enabled
	appArmorFS    string   // on securityfs once AppArmor is active
	selinuxFS     []string // where selinuxfs may be mounted, first found wins
	fsType        func(path string) (int64, error)
}

// NewHost returns the Host of the running system: its sysfs, securityfs and
// selinuxfs at their usual places.
func NewHost() *Host {
	return &Host{
		appArmorParam: "/sys/module/apparmor/parameters/enabled",
		appArmorFS:    "/sys/kernel/security/apparmor",
		selinuxFS:     []string{"/sys/fs/selinux", "/selinux"},
		fsType:        statfsType,
	}
}

func statfsType(path string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return int64(st.Type), nil
}

// Check refuses, naming the field, a profile or label this host cannot
// apply, and one that could not be written correctly. Call it in husk
// before the stage starts, with exec's --apparmor and --process-label
// already in the process (spec.Validate and spec.ValidateProcess do).
func (h *Host) Check(apparmorProfile, selinuxLabel, mountLabel string) error {
	if apparmorProfile != "" {
		if err := validateProfile(apparmorProfile); err != nil {
			return fmt.Errorf("%s: %w", apparmorField, err)
		}
		if !h.appArmorEnabled() {
			return fmt.Errorf("%s: AppArmor is not enabled on this host", apparmorField)
		}
	}
	for _, l := range []struct{ field, label string }{{selinuxField, selinuxLabel}, {mountLabelField, mountLabel}} {
		if l.label == "" {
			continue
		}
		if err := validateLabel(l.label); err != nil {
			return fmt.Errorf("%s: %w", l.field, err)
		}
		if !h.selinuxEnabled() {
			return fmt.Errorf("%s: SELinux is not enabled on this host", l.field)
		}
	}
	return nil
}

// ApplyExecLabels arranges the AppArmor profile and the SELinux label the
// calling thread's next execve enters (processes it forks before then
// inherit the arrangement). Call it in the stage on the thread that execs,
// before no_new_privs, under which both LSMs refuse most transitions, and
// before seccomp. Empty strings ask for nothing: then it does nothing and
// returns nil.
//
// It neither checks the strings nor looks for the LSM, which the stage
// cannot see from inside the container: Host.Check does both in husk,
// before the stage starts (spec.Validate, spec.ValidateProcess). A kernel
// without the LSM refuses the write, and the error says so.
func ApplyExecLabels(apparmorProfile, selinuxLabel string) error {
	if apparmorProfile != "" {
		if err := writeExecAttr(appArmorExecAttrs, "exec "+apparmorProfile); err != nil {
			return fmt.Errorf("%s: set %q for exec: %w (%s)", apparmorField, apparmorProfile, err, appArmorHint(apparmorProfile, err))
		}
	}
	if selinuxLabel != "" {
		if err := writeExecAttr(selinuxExecAttrs, selinuxLabel); err != nil {
			return fmt.Errorf("%s: set %q for exec: %w (is SELinux enabled on this host?)", selinuxField, selinuxLabel, err)
		}
	}
	return nil
}

// appArmorHint guesses the cause of a failed "exec PROFILE" write. AppArmor
// answers ENOENT for a profile it has not loaded, which without a hint
// reads as a missing attr file.
func appArmorHint(profile string, err error) string {
	if refused(err, unix.ENOENT) {
		return fmt.Sprintf("AppArmor has no profile %q loaded; load it with apparmor_parser", profile)
	}
	return "is AppArmor enabled on this host?"
}

// validText refuses control characters: the kernel would cut a label or a
// command at a newline or NUL, and a mount option at a quote.
func validText(s string) error {
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == '"' {
			return fmt.Errorf("%q contains a control character or a quote", s)
		}
	}
	return nil
}
