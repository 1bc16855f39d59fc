package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The recursive mount options (rro, rnosuid, rnoexec, rnodev, ...) reach a
// submount of an rbind source; their plain forms leave it alone, as the
// kernel's MS_BIND|MS_REC remount does.
func TestRootfsRecursiveMountOptions(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	sub := filepath.Join(src, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount a tmpfs under the bind source: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(sub, unix.MNT_DETACH) })

	b := newBundle(t)
	b.spec.Mounts = append(b.spec.Mounts,
		specs.Mount{Destination: "/rec", Type: "bind", Source: src, Options: []string{"rbind", "rro", "rnosuid", "rnoexec", "rnodev"}},
		specs.Mount{Destination: "/flat", Type: "bind", Source: src, Options: []string{"rbind", "ro", "nosuid"}},
	)
	b.shell("/helper mounts; /helper write /rec/sub/x no; /helper write /flat/sub/y yes && echo flat-sub-rw")
	out := b.mustRun()
	for _, mp := range []string{"/rec", "/rec/sub"} {
		opts := "," + mountOptions(out, mp) + ","
		for _, want := range []string{",ro,", ",nosuid,", ",noexec,", ",nodev,"} {
			if !strings.Contains(opts, want) {
				t.Errorf("%s: options %s lack %s", mp, opts, strings.Trim(want, ","))
			}
		}
	}
	mustContain(t, out, "read-only file system", "a write under an rro mount")
	if opts := "," + mountOptions(out, "/flat") + ","; !strings.Contains(opts, ",ro,") || !strings.Contains(opts, ",nosuid,") {
		t.Errorf("/flat: options %s, want ro and nosuid", opts)
	}
	if opts := "," + mountOptions(out, "/flat/sub") + ","; strings.Contains(opts, ",ro,") || strings.Contains(opts, ",nosuid,") {
		t.Errorf("/flat/sub: options %s: ro and nosuid without r reached the submount", opts)
	}
	mustContain(t, out, "flat-sub-rw", "a write under a submount of a plain ro rbind")
	if _, err := os.Stat(filepath.Join(sub, "x")); err == nil {
		t.Error("a write through the rro mount reached the host")
	}
}
