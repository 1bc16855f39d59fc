package lsm

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestApplyExecLabelsNothing(t *testing.T) {
	if err := ApplyExecLabels("", ""); err != nil {
		t.Fatalf("ApplyExecLabels with nothing asked = %v", err)
	}
}

// On a host without the LSM the write reaches the kernel through a
// verified procfs handle, and the kernel's refusal names the field.
func TestApplyExecLabelsWithoutLSM(t *testing.T) {
	if h := NewHost(); h.appArmorEnabled() || h.selinuxEnabled() {
		t.Skip("an LSM is active: the write would label this test's next exec")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// Kernels that build AppArmor in have attr/apparmor/exec even when
	// another LSM, or none, is active.
	for _, tc := range []struct{ profile, label, prefix, hint string }{
		{"husk-test", "", `process.apparmorProfile: set "husk-test" for exec: /proc/thread-self/attr/`, "(is AppArmor enabled on this host?)"},
		{"", label, `process.selinuxLabel: set "` + label + `" for exec: /proc/thread-self/attr/exec: write: `, "(is SELinux enabled on this host?)"},
	} {
		err := ApplyExecLabels(tc.profile, tc.label)
		if err == nil || !strings.HasPrefix(err.Error(), tc.prefix) || !strings.HasSuffix(err.Error(), tc.hint) ||
			!strings.Contains(err.Error(), "invalid argument") {
			t.Errorf("ApplyExecLabels(%q, %q) = %v\nwant %s...invalid argument...%s", tc.profile, tc.label, err, tc.prefix, tc.hint)
		}
	}
}

// Only the kernel's ENOENT for the value itself means a profile that is
// not loaded; an ENOENT on the way to the file does not.
func TestAppArmorHint(t *testing.T) {
	notLoaded := `AppArmor has no profile "p" loaded; load it with apparmor_parser`
	for _, tc := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("/proc/thread-self/attr/apparmor/exec: %w", &writeError{unix.ENOENT}), notLoaded},
		{fmt.Errorf("/proc/thread-self/attr/exec: %w", &writeError{unix.EINVAL}), "is AppArmor enabled on this host?"},
		{fmt.Errorf("open procfs: %w", unix.ENOENT), "is AppArmor enabled on this host?"},
	} {
		if got := appArmorHint("p", tc.err); got != tc.want {
			t.Errorf("appArmorHint(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
