package lsm

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A handle that is not on procfs (a container's fake /proc, say) is never
// written to.
func TestWriteProcFileRefusesTmpfs(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	path := filepath.Join(dir, "exec")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = writeProcFile(f, "exec unconfined")
	if want := "not on procfs (filesystem magic 0x1021994): refusing to write"; err == nil || err.Error() != want {
		t.Fatalf("writeProcFile on tmpfs = %v, want %q", err, want)
	}
	if data, _ := os.ReadFile(path); len(data) != 0 {
		t.Errorf("the tmpfs file was written: %q", data)
	}
}

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
