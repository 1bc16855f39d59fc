package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// In a mount's uidMappings and gidMappings, containerID is the id on the
// source filesystem and hostID the id the idmapped mount shows for it,
// seen from the host (a line of uid_map: inside, outside, size). A
// container in a user namespace then sees that host id through its own
// mapping.

// needIDMap skips the test unless `<runtime> features` reports
// linux.mountExtensions.idmap.enabled.
func needIDMap(t *testing.T) {
	t.Helper()
	f := runtimeFeatures(t)
	if l := f.Linux; l == nil || l.MountExtensions == nil || l.MountExtensions.IDMap == nil ||
		l.MountExtensions.IDMap.Enabled == nil || !*l.MountExtensions.IDMap.Enabled {
		t.Skip("the runtime does not do idmapped mounts (`features`: linux.mountExtensions.idmap.enabled is not true)")
	}
}

// idmapSource makes a host directory (mode 0755, owned by 0:0) holding a
// file per owner given, named after it ("0", "2000", ...).
func idmapSource(t *testing.T, owners ...int) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, id := range owners {
		p := filepath.Join(dir, fmt.Sprint(id))
		writeFile(t, p, "", 0o644)
		if err := os.Chown(p, id, id); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// userns puts the container in a user namespace whose root is host 100000.
func userns(t *testing.T, b *bundle) []specs.LinuxIDMapping {
	t.Helper()
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	setNamespace(b, "user", "")
	b.spec.Linux.UIDMappings = m
	b.spec.Linux.GIDMappings = m
	if err := chownTree(b.rootfs, 100000); err != nil {
		t.Fatal(err)
	}
	return m
}

// ownerOnHost returns uid:gid of a host file.
func ownerOnHost(t *testing.T, p string) string {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d:%d", st.Uid, st.Gid)
}

// statScript is a shell script that prints each path with what `helper
// stat` says of it.
func statScript(paths ...string) string {
	var b strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&b, "echo %s $(/helper stat %s 2>&1); ", p, p)
	}
	return b.String()
}

// owners parses statScript's output: path -> "uid:gid", or the error the
// helper printed.
func owners(out string) map[string]string {
	m := map[string]string{}
	for _, l := range lines(out) {
		path, rest, _ := strings.Cut(l, " ")
		var uid, gid string
		for _, f := range strings.Fields(rest) {
			if v, ok := strings.CutPrefix(f, "uid="); ok {
				uid = v
			}
			if v, ok := strings.CutPrefix(f, "gid="); ok {
				gid = v
			}
		}
		if uid == "" {
			m[path] = rest
		} else {
			m[path] = uid + ":" + gid
		}
	}
	return m
}

func expectOwners(t *testing.T, got, want map[string]string) {
	t.Helper()
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s inside the container: want %s, got %q", p, w, got[p])
		}
	}
}

// TestIDMapUserns: with the container's own mapping on the mount, files of
// host root are the container root's, and what the container root creates
// belongs to host root, as if there were no user namespace.
func TestIDMapUserns(t *testing.T) {
	t.Parallel()
	needIDMap(t)
	b := newBundle(t)
	m := userns(t, b)
	src := idmapSource(t, 0, 1)
	b.spec.Mounts = append(b.spec.Mounts,
		specs.Mount{Destination: "/explicit", Type: "bind", Source: src, Options: []string{"bind", "idmap"},
			UIDMappings: m, GIDMappings: m},
		// No mappings: the container's user namespace's.
		specs.Mount{Destination: "/implicit", Type: "bind", Source: src, Options: []string{"rbind", "idmap"}},
		specs.Mount{Destination: "/ro", Type: "bind", Source: src, Options: []string{"bind", "idmap", "ro"}},
		specs.Mount{Destination: "/plain", Type: "bind", Source: src, Options: []string{"bind"}},
	)
	b.shell("touch /explicit/made-explicit /implicit/made-implicit; mkdir /explicit/dir-explicit; " +
		"touch /ro/made-ro 2>/dev/null || echo ro-refused; " +
		statScript("/explicit/0", "/explicit/1", "/implicit/0", "/ro/1", "/plain/0", "/explicit/made-explicit"))
	out := b.mustRun()
	expectOwners(t, owners(out), map[string]string{
		"/explicit/0": "0:0", "/explicit/1": "1:1", "/implicit/0": "0:0", "/ro/1": "1:1",
		// Host root is unmapped in the container: the overflow id.
		"/plain/0":                "65534:65534",
		"/explicit/made-explicit": "0:0",
	})
	mustContain(t, out, "ro-refused", "a write through a read-only idmapped mount")
	if _, err := os.Stat(filepath.Join(src, "made-ro")); err == nil {
		t.Errorf("a write through the read-only idmapped mount reached the host")
	}
	for _, name := range []string{"made-explicit", "made-implicit", "dir-explicit"} {
		if got := ownerOnHost(t, filepath.Join(src, name)); got != "0:0" {
			t.Errorf("%s, made by the container's root (host 100000), is %s on the host, want 0:0", name, got)
		}
	}
}

// TestIDMapNoUserns: without a user namespace the mount alone maps: host
// files of 2000 show as 1000, and what uid 1000 creates is 2000's on the
// host.
func TestIDMapNoUserns(t *testing.T) {
	t.Parallel()
	needIDMap(t)
	b := newBundle(t)
	src := idmapSource(t, 0, 2000)
	if err := os.Chown(src, 2000, 2000); err != nil {
		t.Fatal(err)
	}
	b.spec.Mounts = append(b.spec.Mounts, specs.Mount{
		Destination: "/data", Type: "bind", Source: src, Options: []string{"bind", "idmap"},
		UIDMappings: []specs.LinuxIDMapping{{ContainerID: 2000, HostID: 1000, Size: 1}},
		GIDMappings: []specs.LinuxIDMapping{{ContainerID: 2000, HostID: 1000, Size: 1}},
	})
	b.spec.Process.User = specs.User{UID: 1000, GID: 1000}
	b.shell("touch /data/made && " + statScript("/data", "/data/2000", "/data/0", "/data/made"))
	out := b.mustRun()
	expectOwners(t, owners(out), map[string]string{
		"/data": "1000:1000", "/data/2000": "1000:1000", "/data/made": "1000:1000",
		// Outside the mount's mapping.
		"/data/0": "65534:65534",
	})
	if got := ownerOnHost(t, filepath.Join(src, "made")); got != "2000:2000" {
		t.Errorf("a file made by uid 1000 through the mount is %s on the host, want 2000:2000", got)
	}
}

// TestIDMapRecursive: ridmap maps the submounts of an rbind too, idmap only
// its top.
func TestIDMapRecursive(t *testing.T) {
	t.Parallel()
	needIDMap(t)
	b := newBundle(t)
	m := userns(t, b)
	src := idmapSource(t, 0)
	sub := filepath.Join(src, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", sub, "tmpfs", 0, "mode=755"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Unmount(sub, syscall.MNT_DETACH) })
	writeFile(t, filepath.Join(sub, "0"), "", 0o644)
	b.spec.Mounts = append(b.spec.Mounts,
		specs.Mount{Destination: "/r", Type: "bind", Source: src, Options: []string{"rbind", "ridmap"},
			UIDMappings: m, GIDMappings: m},
		specs.Mount{Destination: "/n", Type: "bind", Source: src, Options: []string{"rbind", "idmap"},
			UIDMappings: m, GIDMappings: m},
	)
	b.shell(statScript("/r/0", "/r/sub/0", "/n/0", "/n/sub/0"))
	expectOwners(t, owners(b.mustRun()), map[string]string{
		"/r/0": "0:0", "/r/sub/0": "0:0", "/n/0": "0:0", "/n/sub/0": "65534:65534",
	})
}

// TestIDMapPropagation: an idmapped mount of a shared host mount is, like
// a plain bind mount of it under the default rslave, a slave: host mounts
// below the source reach the container, and it is no peer of the host's
// mount, which would carry the container's mounts back to the host.
func TestIDMapPropagation(t *testing.T) {
	t.Parallel()
	needIDMap(t)
	b := newBundle(t)
	m := userns(t, b)
	src := idmapSource(t)
	if err := syscall.Mount(src, src, "", syscall.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Unmount(src, syscall.MNT_DETACH) })
	if err := syscall.Mount("", src, "", syscall.MS_SHARED, ""); err != nil {
		t.Fatal(err)
	}
	b.spec.Mounts = append(b.spec.Mounts,
		specs.Mount{Destination: "/data", Type: "bind", Source: src, Options: []string{"rbind", "idmap"},
			UIDMappings: m, GIDMappings: m},
		specs.Mount{Destination: "/plain", Type: "bind", Source: src, Options: []string{"rbind"}})
	b.shell("/helper mounts; /helper sleep 600")
	b.startContainer()
	for _, l := range lines(b.waitOutput(" /plain ")) {
		f := strings.Fields(l)
		if len(f) > 6 && (f[4] == "/data" || f[4] == "/plain") && (strings.Contains(l, "shared:") || !strings.Contains(l, "master:")) {
			t.Errorf("%s: want a slave of the host's mount, no peer: %s", f[4], l)
		}
	}
	later := filepath.Join(src, "later")
	if err := os.Mkdir(later, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", later, "tmpfs", 0, "mode=755"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Unmount(later, syscall.MNT_DETACH) })
	r := b.rt("exec", b.id, "/helper", "mounts")
	for _, mp := range []string{"/data/later", "/plain/later"} {
		if mountPoints(r.Stdout)[mp] != "tmpfs" {
			t.Errorf("a host mount under the source did not reach %s: %s", mp, r)
		}
	}
}

// TestIDMapNeedsMapping: idmap without mappings needs the container's user
// namespace to take them from.
func TestIDMapNeedsMapping(t *testing.T) {
	t.Parallel()
	needIDMap(t)
	b := newBundle(t)
	b.spec.Mounts = append(b.spec.Mounts, specs.Mount{Destination: "/data", Type: "bind",
		Source: idmapSource(t), Options: []string{"bind", "idmap"}})
	r := b.run()
	if r.Code == 0 {
		t.Fatalf("idmap without mappings or user namespace must fail: %s", r)
	}
	if !isRunc() {
		mustContain(t, r.Out(), fmt.Sprintf("mounts[%d]: idmap:", len(b.spec.Mounts)-1), "the error")
	}
}

// TestIDMapReadonlySourceRefused: an idmapped copy made outside the
// container would not carry the kernel's lock on a read-only host mount,
// so a user-namespaced container could remount it writable: refused.
func TestIDMapReadonlySourceRefused(t *testing.T) {
	t.Parallel()
	needIDMap(t)
	src := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", src, "tmpfs", syscall.MS_RDONLY, "size=64k"); err != nil {
		t.Fatalf("mount a read-only tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(src, syscall.MNT_DETACH) })
	b := newBundle(t, "/bin/true")
	userns(t, b)
	b.spec.Mounts = append(b.spec.Mounts, specs.Mount{Destination: "/data", Type: "bind", Source: src, Options: []string{"bind", "idmap"}})
	r := b.create()
	if r.Code == 0 || !strings.Contains(r.Stderr, "read-only") {
		t.Fatalf("an idmapped copy of a read-only host mount in a user namespace should be refused: %s", r)
	}
}
