package lsm

import (
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

const apparmorField = "process.apparmorProfile"

// appArmorExecAttrs are the files that take "exec PROFILE", the first that
// exists wins: kernels since 5.8 have one per LSM, older ones only the
// shared attr/exec.
var appArmorExecAttrs = []string{"attr/apparmor/exec", "attr/exec"}

// appArmorEnabled wants the module enabled and its securityfs directory
// present: the parameter alone is "Y" on kernels that built AppArmor in
// but boot another LSM.
func (h *Host) appArmorEnabled() bool {
	data, err := os.ReadFile(h.appArmorParam)
	if err != nil || strings.TrimSpace(string(data)) != "Y" {
		return false
	}
	if fi, err := os.Stat(h.appArmorFS); err != nil || !fi.IsDir() {
		return false
	}
	magic, err := h.fsType(h.appArmorFS)
	return err == nil && magic == unix.SECURITYFS_MAGIC
}

func validateProfile(profile string) error { return validText(profile) }
