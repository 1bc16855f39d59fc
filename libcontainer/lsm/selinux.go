package lsm

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

const (
	selinuxField    = "process.selinuxLabel"
	mountLabelField = "linux.mountLabel"
)

var selinuxExecAttrs = []string{"attr/exec"}

// selinuxEnabled wants selinuxfs mounted and reporting a mode: the kernel
// mounts it only once a policy can be loaded.
func (h *Host) selinuxEnabled() bool {
	for _, dir := range h.selinuxFS {
		if magic, err := h.fsType(dir); err != nil || magic != unix.SELINUX_MAGIC {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, "enforce"))
		if err != nil {
			return false
		}
		mode := strings.TrimSpace(string(data))
		return mode == "0" || mode == "1"
	}
	return false
}

// MountLabel returns the mount option that gives a mount the SELinux
// context linux.mountLabel names, for the mounts that take one; "" when no
// label is set. A label on a host without SELinux is an error: a mount
// with the option would fail anyway, less clearly. Call it on the host.
func (h *Host) MountLabel(label string) (string, error) {
	if label == "" {
		return "", nil
	}
	if err := h.Check("", "", label); err != nil {
		return "", err
	}
	// Quoted: the level of an MLS context holds commas ("s0:c1,c2"), and
	// mount options are comma-separated.
	return `context="` + label + `"`, nil
}

// validateLabel checks the shape of an SELinux context,
// user:role:type[:level]; what the names mean is the policy's business.
func validateLabel(label string) error {
	if err := validText(label); err != nil {
		return err
	}
	parts := strings.SplitN(label, ":", 4)
	if len(parts) < 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" || (len(parts) == 4 && parts[3] == "") {
		return fmt.Errorf("%q is not an SELinux context (user:role:type[:level])", label)
	}
	return nil
}
