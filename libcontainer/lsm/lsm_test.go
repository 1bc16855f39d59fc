package lsm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeHost lays out a sysfs/securityfs/selinuxfs tree in a temp dir; magic
// says which filesystem each directory claims to be on.
type fakeHost struct {
	*Host
	root  string
	magic map[string]int64
}

func newFakeHost(t *testing.T) *fakeHost {
	root := t.TempDir()
	f := &fakeHost{root: root, magic: map[string]int64{}}
	f.Host = &Host{
		appArmorParam: filepath.Join(root, "sys/module/apparmor/parameters/enabled"),
		appArmorFS:    filepath.Join(root, "sys/kernel/security/apparmor"),
		selinuxFS:     []string{filepath.Join(root, "sys/fs/selinux"), filepath.Join(root, "selinux")},
		fsType: func(path string) (int64, error) {
			if _, err := os.Stat(path); err != nil {
				return 0, err
			}
			return f.magic[path], nil
		},
	}
	return f
}

func (f *fakeHost) write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *fakeHost) mkdir(t *testing.T, dir string, magic int64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f.magic[dir] = magic
}

// withAppArmor makes the fake host look like an AppArmor one.
func (f *fakeHost) withAppArmor(t *testing.T) *fakeHost {
	f.write(t, f.appArmorParam, "Y\n")
	f.mkdir(t, f.appArmorFS, unix.SECURITYFS_MAGIC)
	return f
}

// withSELinux makes the fake host look like an SELinux one, selinuxfs at
// its i-th place.
func (f *fakeHost) withSELinux(t *testing.T, i int, enforce string) *fakeHost {
	f.mkdir(t, f.selinuxFS[i], unix.SELINUX_MAGIC)
	f.write(t, filepath.Join(f.selinuxFS[i], "enforce"), enforce)
	return f
}

func TestAppArmorEnabled(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*testing.T, *fakeHost)
		want  bool
	}{
		{"nothing", func(*testing.T, *fakeHost) {}, false},
		{"enabled", func(t *testing.T, f *fakeHost) { f.withAppArmor(t) }, true},
		{"param N", func(t *testing.T, f *fakeHost) { f.withAppArmor(t).write(t, f.appArmorParam, "N\n") }, false},
		{"param only", func(t *testing.T, f *fakeHost) { f.write(t, f.appArmorParam, "Y\n") }, false},
		{"not securityfs", func(t *testing.T, f *fakeHost) {
			f.withAppArmor(t).magic[f.appArmorFS] = unix.TMPFS_MAGIC
		}, false},
		{"a file, not a directory", func(t *testing.T, f *fakeHost) {
			f.write(t, f.appArmorParam, "Y\n")
			f.write(t, f.appArmorFS, "")
			f.magic[f.appArmorFS] = unix.SECURITYFS_MAGIC
		}, false},
	} {
		f := newFakeHost(t)
		tc.setup(t, f)
		if got := f.appArmorEnabled(); got != tc.want {
			t.Errorf("%s: appArmorEnabled = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestSELinuxEnabled(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*testing.T, *fakeHost)
		want  bool
	}{
		{"nothing", func(*testing.T, *fakeHost) {}, false},
		{"enforcing", func(t *testing.T, f *fakeHost) { f.withSELinux(t, 0, "1") }, true},
		{"permissive", func(t *testing.T, f *fakeHost) { f.withSELinux(t, 0, "0\n") }, true},
		{"legacy /selinux", func(t *testing.T, f *fakeHost) { f.withSELinux(t, 1, "1") }, true},
		{"odd enforce", func(t *testing.T, f *fakeHost) { f.withSELinux(t, 0, "2") }, false},
		{"no enforce file", func(t *testing.T, f *fakeHost) { f.mkdir(t, f.selinuxFS[0], unix.SELINUX_MAGIC) }, false},
		{"plain directory", func(t *testing.T, f *fakeHost) {
			f.withSELinux(t, 0, "1").magic[f.selinuxFS[0]] = unix.SYSFS_MAGIC
		}, false},
	} {
		f := newFakeHost(t)
		tc.setup(t, f)
		if got := f.selinuxEnabled(); got != tc.want {
			t.Errorf("%s: selinuxEnabled = %v, want %v", tc.name, got, tc.want)
		}
	}
}

const label = "system_u:system_r:container_t:s0:c1,c2"

func TestCheck(t *testing.T) {
	none := newFakeHost(t)
	apparmor := newFakeHost(t).withAppArmor(t)
	selinux := newFakeHost(t).withSELinux(t, 0, "1")
	for _, tc := range []struct {
		name                    string
		h                       *fakeHost
		profile, label, mountLb string
		want                    string // "" for success
	}{
		{"nothing asked, no LSM", none, "", "", "", ""},
		{"profile without AppArmor", none, "p", "", "", "process.apparmorProfile: AppArmor is not enabled on this host"},
		{"profile on SELinux", selinux, "p", "", "", "process.apparmorProfile: AppArmor is not enabled on this host"},
		{"profile with AppArmor", apparmor, "p", "", "", ""},
		{"bad profile", apparmor, "p\nexec unconfined", "", "", `process.apparmorProfile: "p\nexec unconfined" contains a control character`},
		{"label without SELinux", none, "", label, "", "process.selinuxLabel: SELinux is not enabled on this host"},
		{"label on AppArmor", apparmor, "", label, "", "process.selinuxLabel: SELinux is not enabled on this host"},
		{"label with SELinux", selinux, "", label, "", ""},
		{"bad label", selinux, "", "container_t", "", `process.selinuxLabel: "container_t" is not an SELinux context`},
		{"mount label without SELinux", none, "", "", label, "linux.mountLabel: SELinux is not enabled on this host"},
		{"mount label with SELinux", selinux, "", label, label, ""},
		{"bad mount label", selinux, "", "", `a:b:c:s0"`, "linux.mountLabel:"},
	} {
		err := tc.h.Check(tc.profile, tc.label, tc.mountLb)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: check = %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: check = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func TestMountLabel(t *testing.T) {
	selinux := newFakeHost(t).withSELinux(t, 0, "0")
	if opt, err := selinux.MountLabel(label); err != nil || opt != `context="`+label+`"` {
		t.Errorf("mountLabel on SELinux = %q, %v", opt, err)
	}
	if opt, err := selinux.MountLabel(""); err != nil || opt != "" {
		t.Errorf("mountLabel(\"\") = %q, %v; want nothing", opt, err)
	}
	none := newFakeHost(t)
	if opt, err := none.MountLabel(""); err != nil || opt != "" {
		t.Errorf("mountLabel(\"\") without SELinux = %q, %v; want nothing", opt, err)
	}
	_, err := none.MountLabel(label)
	if want := "linux.mountLabel: SELinux is not enabled on this host"; err == nil || err.Error() != want {
		t.Errorf("mountLabel without SELinux = %v, want %q", err, want)
	}
}

func TestValidateLabel(t *testing.T) {
	for _, l := range []string{"u:r:t", "u:r:t:s0", label, "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811", "u:r:t:s0-s0:c0.c1023"} {
		if err := validateLabel(l); err != nil {
			t.Errorf("validateLabel(%q) = %v", l, err)
		}
	}
	for _, l := range []string{"t", "u:r", "u::t", ":r:t", "u:r:", "u:r:t:", "u:r:t\n", "u:r:t\x00", `u:r:t:s0" ro`} {
		if err := validateLabel(l); err == nil {
			t.Errorf("validateLabel(%q) = nil, want an error", l)
		}
	}
}

func TestValidateProfile(t *testing.T) {
	for _, p := range []string{"docker-default", "/usr/bin/foo", "unconfined", "a//hat", "name with space"} {
		if err := validateProfile(p); err != nil {
			t.Errorf("validateProfile(%q) = %v", p, err)
		}
	}
	for _, p := range []string{"p\n", "p\x00", "p\x7f", `p"`} {
		if err := validateProfile(p); err == nil {
			t.Errorf("validateProfile(%q) = nil, want an error", p)
		}
	}
}
