package integration

// Mount behaviour of runc 1.5 that husk follows (issue 11, the mounts
// class): tmpcopyup, the mode of a tmpfs, masked paths sharing one tmpfs,
// mounts whose source is inside the container, bind mounts through
// dangling symlinks, the flags of a bind mount and rootfsPropagation
// "shared". runc v1.5.1's tests/integration/mounts.bats, run.bats,
// mask.bats, mounts_sshfs.bats and mounts_propagation.bats hold the cases
// these follow.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// superOptions returns the filesystem options (the last mountinfo field)
// of mount point mp, the topmost mount there.
func superOptions(mountinfo, mp string) string {
	var opts string
	for _, l := range lines(mountinfo) {
		pre, post, ok := strings.Cut(l, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if ok && len(f) > 4 && f[4] == mp && len(g) > 2 {
			opts = g[2]
		}
	}
	return opts
}

// mountCount counts the mountinfo lines whose mount point is mp.
func mountCount(mountinfo, mp string) int {
	n := 0
	for _, l := range lines(mountinfo) {
		if f := strings.Fields(l); len(f) > 4 && f[4] == mp {
			n++
		}
	}
	return n
}

// hasOption reports whether a comma-separated option list holds opt.
func hasOption(list, opt string) bool {
	for _, o := range strings.Split(list, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

// mkdirMode makes dir (and its parents) and gives it exactly mode (the
// chmod(2) bits, set-id and sticky included) and owner uid:gid.
func mkdirMode(t *testing.T, dir string, mode uint32, uid, gid int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	chownMode(t, dir, mode, uid, gid)
}

// fileMode writes a file with exactly mode and owner uid:gid.
func fileMode(t *testing.T, p, content string, mode uint32, uid, gid int) {
	t.Helper()
	writeFile(t, p, content, 0o600)
	chownMode(t, p, mode, uid, gid)
}

func chownMode(t *testing.T, p string, mode uint32, uid, gid int) {
	t.Helper()
	if err := os.Chown(p, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// statLines maps each path of statScript's output to what helper stat said.
func statLines(out string) map[string]string {
	m := map[string]string{}
	for _, l := range lines(out) {
		if p, rest, ok := strings.Cut(l, " "); ok && strings.HasPrefix(p, "/") {
			m[p] = rest
		}
	}
	return m
}

// TestRunc15MountTmpcopyup: a tmpfs with "tmpcopyup" starts as a copy of
// what the image has at its destination (files with their content,
// directories, symlinks, fifos, each with its mode and owner), as podman
// asks for every --tmpfs; symlinks are copied as symlinks, never followed
// (an absolute one names a host path while husk copies, before
// pivot_root); the copy is on the tmpfs, so writes don't reach the image.
func TestRunc15MountTmpcopyup(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	host := t.TempDir() // what a followed symlink would reveal
	writeFile(t, filepath.Join(host, "secret"), "host-secret\n", 0o644)
	if err := os.Chmod(host, 0o755); err != nil {
		t.Fatal(err)
	}

	data := filepath.Join(b.rootfs, "data")
	mkdirMode(t, data, 0o750, 1000, 2000)
	// Readable by others: the container's root has no CAP_DAC_OVERRIDE.
	fileMode(t, filepath.Join(data, "file"), "image-content\n", 0o604, 1000, 2000)
	mkdirMode(t, filepath.Join(data, "sub"), 0o777, 0, 0)
	fileMode(t, filepath.Join(data, "sub/deep"), "deep\n", 0o4755, 2000, 1000)
	mkdirMode(t, filepath.Join(data, "sub/sgid"), 0o2775, 1000, 1000)
	mkdirMode(t, filepath.Join(data, "ro-dir"), 0o555, 0, 0)
	fileMode(t, filepath.Join(data, "ro-dir/inside"), "in-ro\n", 0o444, 0, 0)
	if err := os.Symlink("file", filepath.Join(data, "rel")); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(filepath.Join(data, "rel"), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"escape": host, "escape-file": filepath.Join(host, "secret"), "up": "../../../.." + host} {
		if err := os.Symlink(target, filepath.Join(data, name)); err != nil {
			t.Fatal(err)
		}
	}
	// runc's copy fails on a fifo ("lchown ...: no such file or
	// directory"): husk's copies it.
	fifo := !isRunc()
	if fifo {
		if err := syscall.Mkfifo(filepath.Join(data, "fifo"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A read-only copy, and a destination that is a symlink out of the
	// rootfs (resolved inside it: nothing of the host is copied).
	mkdirMode(t, filepath.Join(b.rootfs, "data-ro"), 0o755, 0, 0)
	writeFile(t, filepath.Join(b.rootfs, "data-ro/f"), "ro-copy\n", 0o644)
	if err := os.Symlink(host, filepath.Join(b.rootfs, "esc-link")); err != nil {
		t.Fatal(err)
	}

	b.spec.Mounts = append(b.spec.Mounts,
		specs.Mount{Destination: "/data", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "tmpcopyup"}},
		specs.Mount{Destination: "/data-ro", Type: "tmpfs", Source: "tmpfs", Options: []string{"ro", "tmpcopyup", "size=1m"}},
		specs.Mount{Destination: "/esc-link", Type: "tmpfs", Source: "tmpfs", Options: []string{"tmpcopyup"}},
	)
	paths := []string{"/data", "/data/file", "/data/sub", "/data/sub/deep", "/data/sub/sgid", "/data/ro-dir",
		"/data/ro-dir/inside", "/data/rel", "/data/escape", "/data/escape-file", "/data/up", "/data/fifo"}
	b.shell(statScript(paths...) +
		"echo file: $(/helper cat /data/file); echo rel: $(/helper cat /data/rel); echo deep: $(/helper cat /data/sub/deep); " +
		"echo inside: $(/helper cat /data/ro-dir/inside); " +
		"for l in escape escape-file up; do echo link-$l: $(readlink /data/$l); done; " +
		"echo escfile: $(/helper cat /data/escape-file 2>&1); echo esclink: $(/helper ls /esc-link 2>&1); " +
		"echo ro: $(/helper cat /data-ro/f); /helper write /data-ro/new x; " +
		"/helper write /data/written yes && echo written; /helper mounts")
	out := b.mustRun()
	t.Logf("container output:\n%s", out)
	st := statLines(out)
	for p, want := range map[string]string{
		"/data":               "type=dir mode=0750 ",
		"/data/file":          "type=file mode=0604 dev=0:0 uid=1000 gid=2000",
		"/data/sub":           "type=dir mode=0777 dev=0:0 uid=0 gid=0",
		"/data/sub/deep":      "type=file mode=4755 dev=0:0 uid=2000 gid=1000",
		"/data/sub/sgid":      "type=dir mode=2775 dev=0:0 uid=1000 gid=1000",
		"/data/ro-dir":        "type=dir mode=0555 ",
		"/data/ro-dir/inside": "type=file mode=0444 ",
		"/data/rel":           "type=symlink mode=0777 dev=0:0 uid=1000 gid=1000",
		"/data/escape":        "type=symlink ",
		"/data/escape-file":   "type=symlink ",
		"/data/up":            "type=symlink ",
		"/data/fifo":          "type=fifo mode=0600 ",
	} {
		if p == "/data/fifo" && !fifo {
			continue
		}
		if !strings.HasPrefix(st[p], want) {
			t.Errorf("%s in the tmpcopyup tmpfs: want %q, got %q", p, want, st[p])
		}
	}
	for _, want := range []string{
		"file: image-content\n", "rel: image-content\n", "deep: deep\n", "inside: in-ro\n",
		"link-escape: " + host + "\n", "link-escape-file: " + filepath.Join(host, "secret") + "\n",
		"link-up: ../../../.." + host + "\n", "ro: ro-copy\n", "written\n", "esclink:\n",
	} {
		mustContain(t, out, want, "tmpcopyup content")
	}
	mustContain(t, out, "read-only file system", "write to a read-only tmpcopyup tmpfs")
	if strings.Contains(out, "host-secret") {
		t.Fatalf("the copy followed a symlink out of the rootfs:\n%s", out)
	}
	mps := mountPoints(out)
	for _, mp := range []string{"/data", "/data-ro"} {
		if mps[mp] != "tmpfs" {
			t.Errorf("%s: want a tmpfs, got %q", mp, mps[mp])
		}
	}
	if !hasOption(mountOptions(out, "/data-ro"), "ro") {
		t.Errorf("/data-ro: want a read-only mount, got %q", mountOptions(out, "/data-ro"))
	}
	if _, err := os.Stat(filepath.Join(data, "written")); err == nil {
		t.Errorf("a write to the tmpfs reached the image")
	}
	if ents, _ := os.ReadDir(host); len(ents) != 1 {
		t.Errorf("the host directory a symlink names changed: %v", ents)
	}
}

// TestRunc15MountTmpfsMode: a tmpfs takes mode= when given; without it,
// the mode of the directory the image has there (all 12 bits), and the
// tmpfs default 1777 when husk had to create the target, whose new
// directories stay 0755 (runc 1.5, runc issues 3911, 3952, 4971).
func TestRunc15MountTmpfsMode(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	mkdirMode(t, filepath.Join(b.rootfs, "inherit"), 0o710, 1000, 1000)
	mkdirMode(t, filepath.Join(b.rootfs, "allbits"), 0o7777, 0, 0)
	mkdirMode(t, filepath.Join(b.rootfs, "explicit"), 0o710, 0, 0)
	mkdirMode(t, filepath.Join(b.rootfs, "real/conf"), 0o750, 0, 0)
	if err := os.Symlink("/real/conf", filepath.Join(b.rootfs, "conf")); err != nil {
		t.Fatal(err)
	}
	tmpfs := func(dest string, opts ...string) specs.Mount {
		return specs.Mount{Destination: dest, Type: "tmpfs", Source: "tmpfs", Options: append([]string{"nodev", "nosuid"}, opts...)}
	}
	b.spec.Mounts = append(b.spec.Mounts,
		tmpfs("/inherit", "rw"),
		tmpfs("/allbits"),
		tmpfs("/explicit", "mode=1500"),
		tmpfs("/non-existent/foo/bar/baz"),
		tmpfs("/conf"), // through an absolute symlink: /real/conf's mode
		tmpfs("/ro-inherit", "ro", "size=64k"),
	)
	mkdirMode(t, filepath.Join(b.rootfs, "ro-inherit"), 0o701, 0, 0)
	paths := []string{"/inherit", "/allbits", "/explicit", "/non-existent/foo/bar/baz", "/real/conf", "/ro-inherit"}
	b.shell(statScript(paths...) + "/helper mounts")
	out := b.mustRun()
	st := statLines(out)
	for p, mode := range map[string]string{
		"/inherit": "0710", "/allbits": "7777", "/explicit": "1500",
		"/non-existent/foo/bar/baz": "1777", "/real/conf": "0750", "/ro-inherit": "0701",
	} {
		if !strings.HasPrefix(st[p], "type=dir mode="+mode+" ") {
			t.Errorf("tmpfs %s: want mode %s, got %q", p, mode, st[p])
		}
	}
	for mp, want := range map[string]string{
		"/inherit": "mode=710", "/allbits": "mode=7777", "/explicit": "mode=1500", "/real/conf": "mode=750",
	} {
		if o := superOptions(out, mp); !hasOption(o, want) {
			t.Errorf("tmpfs %s: want %s in its options, got %q", mp, want, o)
		}
	}
	if o := superOptions(out, "/non-existent/foo/bar/baz"); strings.Contains(o, "mode=") {
		t.Errorf("a tmpfs on a created target gets no mode=, got %q", o)
	}
	if mps := mountPoints(out); mps["/ro-inherit"] != "tmpfs" || !hasOption(mountOptions(out, "/ro-inherit"), "ro") {
		t.Errorf("/ro-inherit: want a read-only tmpfs, got %q %q", mps["/ro-inherit"], mountOptions(out, "/ro-inherit"))
	}
	// The image's directories are left as they were, and those husk made
	// are 0755.
	for p, want := range map[string]os.FileMode{
		"explicit": 0o710, "inherit": 0o710, "non-existent": 0o755, "non-existent/foo": 0o755,
		"non-existent/foo/bar": 0o755, "non-existent/foo/bar/baz": 0o755,
	} {
		fi, err := os.Stat(filepath.Join(b.rootfs, p))
		if err != nil {
			t.Error(err)
			continue
		}
		if got := fi.Mode() & (os.ModePerm | os.ModeSticky | os.ModeSetgid | os.ModeSetuid); got != want {
			t.Errorf("rootfs/%s: want mode %v, got %v", p, want, got)
		}
	}
}

// TestRunc15MountMaskedPaths: masked directories share one read-only
// tmpfs (the same st_dev), and a path listed more than once, in any
// spelling, is masked once: one mount there, not a stack.
func TestRunc15MountMaskedPaths(t *testing.T) {
	t.Parallel()
	for _, readonly := range []bool{false, true} {
		t.Run(fmt.Sprintf("readonly-root=%v", readonly), func(t *testing.T) {
			t.Parallel()
			b := newBundle(t)
			b.spec.Root.Readonly = readonly
			for _, d := range []string{"testdir", "testdir2", "testdir3"} {
				writeFile(t, filepath.Join(b.rootfs, d, "secret"), "secret\n", 0o644)
			}
			writeFile(t, filepath.Join(b.rootfs, "testfile"), "Forbidden information!\n", 0o644)
			b.spec.Linux.MaskedPaths = append(b.spec.Linux.MaskedPaths,
				"/testdir", "/testfile", "/testdir2", "/testdir3", "/testdir", "/testfile", "/testdir2/", "//testdir3/.", "/testdir/../testdir")
			b.shell("echo dev: $(stat -c %d /testdir /testdir2 /testdir3); echo ls: $(ls /testdir /testdir2 /testdir3); " +
				"echo file: $(/helper cat /testfile | wc -c); /helper write /testdir2/foo x; /helper mounts")
			out := b.mustRun()
			var devs []string
			for _, l := range lines(out) {
				if rest, ok := strings.CutPrefix(l, "dev: "); ok {
					devs = strings.Fields(rest)
				}
			}
			if len(devs) != 3 || devs[0] != devs[1] || devs[1] != devs[2] {
				t.Errorf("masked directories: want one shared tmpfs (one st_dev), got %q", devs)
			}
			if strings.Contains(out, "secret") || strings.Contains(out, "Forbidden") {
				t.Errorf("a masked path shows its content:\n%s", out)
			}
			mustContain(t, out, "file: 0\n", "masked /testfile reads empty")
			mustContain(t, out, "read-only file system", "write into a masked directory")
			for _, mp := range []string{"/testdir", "/testdir2", "/testdir3", "/testfile"} {
				if n := mountCount(out, mp); n != 1 {
					t.Errorf("masked %s: want one mount there, got %d", mp, n)
				}
			}
			if t.Failed() {
				t.Logf("container output:\n%s", out)
			}
		})
	}
}

// TestRunc15MountOrderContainerSource: a bind mount whose source is a
// path inside the rootfs, below earlier mounts, binds what the container
// has there at that point of the mount list (so mounts are made in
// order), and a destination given as a host path inside the rootfs is
// taken relative to the rootfs (runc's "mount order, container bind-mount
// source" and "container idmap source"). In a user namespace the host
// sources are closed to the container's ids, so they must be opened with
// husk's; idmapped sources inside earlier mounts must be cloned where
// those mounts are, in the container's mount namespace.
func TestRunc15MountOrderContainerSource(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name          string
		userns, idmap bool
	}{{"plain", false, false}, {"userns", true, false}, {"idmap", false, true}, {"userns-idmap", true, true}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if c.idmap {
				needIDMap(t)
			}
			b := newBundle(t, "/helper", "cat", "/final/x/y/z/z/x/y/z/x/file")
			if err := os.MkdirAll(filepath.Join(b.rootfs, "final"), 0o755); err != nil {
				t.Fatal(err)
			}
			src := filepath.Join(b.dir, "bind-src")
			for _, sub := range []string{"a/x", "b/y", "c/z"} {
				writeFile(t, filepath.Join(src, sub, "file"), sub+"\n", 0o644)
				top := filepath.Dir(sub)
				if err := os.Symlink(top, filepath.Join(src, "sym-"+top)); err != nil {
					t.Fatal(err)
				}
			}
			if c.userns {
				userns(t, b)
				// Root of the container is host 100000: neither owner nor group.
				if err := os.Chmod(src, 0o750); err != nil {
					t.Fatal(err)
				}
			}
			bind := func(source, dest string) specs.Mount {
				return specs.Mount{Source: source, Destination: dest, Type: "bind", Options: []string{"rbind", "rprivate"}}
			}
			inner := bind
			if c.idmap {
				inner = func(source, dest string) specs.Mount {
					m := bind(source, dest)
					m.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
					m.GIDMappings = m.UIDMappings
					return m
				}
			}
			rootfs := b.rootfs
			b.spec.Mounts = append(b.spec.Mounts,
				bind(filepath.Join(src, "a"), "/mnt"),
				bind(filepath.Join(src, "sym-b"), "/mnt/x"),
				bind(filepath.Join(src, "c"), "/mnt/x/y"),
				bind(filepath.Join(src, "sym-a"), "/mnt/x/y/z"),
				inner(rootfs+"/mnt/x", rootfs+"/mnt/x/y/z/x"),
				inner(rootfs+"/mnt/x/y", rootfs+"/mnt/x/y/z"),
				inner(rootfs+"/mnt", rootfs+"/final"),
			)
			out := b.mustRun()
			if out != "a/x\n" {
				t.Fatalf("the file at the end of the mount tree: want a/x's, got %q", out)
			}
			// The host-path destinations named the rootfs's own directories.
			if _, err := os.Lstat(filepath.Join(rootfs, rootfs)); err == nil {
				t.Errorf("a destination inside the rootfs was taken as a path below it: %s exists", filepath.Join(rootfs, rootfs))
			}
		})
	}
}

// TestRunc15MountUsernsInaccessibleSource: bind sources in directories
// closed to the container's ids (mode 0700, owned by the host's root) are
// opened by husk, not by the init in the user namespace: the container
// sees them, in its init and in exec (runc's "userns with 2 inaccessible
// mounts" and "+ exec").
func TestRunc15MountUsernsInaccessibleSource(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/helper", "sleep", "600")
	userns(t, b)
	for i := 1; i <= 2; i++ {
		dir := filepath.Join(b.dir, fmt.Sprintf("closed-%d", i))
		writeFile(t, filepath.Join(dir, "dir", "foo"), fmt.Sprintf("closed %d\n", i), 0o644)
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		b.spec.Mounts = append(b.spec.Mounts, specs.Mount{
			Source: fmt.Sprintf("closed-%d/dir", i), Destination: fmt.Sprintf("/mnt/m%d", i), Type: "bind", Options: []string{"bind"}})
	}
	b.startContainer()
	out := b.mustRT("exec", b.id, "/bin/sh", "-c", "/helper cat /mnt/m1/foo; /helper cat /mnt/m2/foo").Stdout
	if out != "closed 1\nclosed 2\n" {
		t.Fatalf("the bind mounts of closed sources: want both files, got %q", out)
	}
}

// TestRunc15MountDanglingSymlink: a bind mount on a destination that is a
// symlink whose target (or one of its components) does not exist yet
// creates the target inside the rootfs and mounts there (runc's "bind
// mount through a dangling symlink component" and "through a trailing
// dangling symlink", for a file and a directory source).
func TestRunc15MountDanglingSymlink(t *testing.T) {
	t.Parallel()
	srcFile := filepath.Join(t.TempDir(), "hosts")
	writeFile(t, srcFile, "bound-file\n", 0o644)
	srcDir := t.TempDir()
	writeFile(t, filepath.Join(srcDir, "inner"), "bound-dir\n", 0o644)
	devIno := func(p string) string {
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	}
	for _, tc := range []struct {
		name, src, realDst string
		links              [][2]string // symlink name in the rootfs -> its target
	}{
		{"component", srcFile, "/tmp/foo/bar/baz/hosts", [][2]string{{"jump", "/tmp/foo/bar"}, {"etc/hosts", "/jump/baz/hosts"}}},
		{"trailing-file", srcFile, "/tmp/hosts", [][2]string{{"etc/hosts", "/tmp/hosts"}}},
		{"trailing-dir", srcDir, "/tmp/hosts", [][2]string{{"etc/hosts", "/tmp/hosts"}}},
		{"relative-up", srcFile, "/tmp/rel/hosts", [][2]string{{"etc/hosts", "../../../../tmp/rel/hosts"}}},
		// runc's own cases: sources relative to the bundle.
		{"bundle-file", "./config.json", "/tmp/hosts", [][2]string{{"etc/hosts", "/tmp/hosts"}}},
		{"bundle-dir", ".", "/tmp/hosts", [][2]string{{"etc/hosts", "/tmp/hosts"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t)
			hostSrc := tc.src
			if !filepath.IsAbs(hostSrc) {
				hostSrc = filepath.Join(b.dir, hostSrc)
				b.save() // config.json exists before its inode is taken
			}
			for _, l := range tc.links {
				if err := os.Symlink(l[1], filepath.Join(b.rootfs, l[0])); err != nil {
					t.Fatal(err)
				}
			}
			b.spec.Mounts = append(b.spec.Mounts, specs.Mount{Source: tc.src, Destination: "/etc/hosts", Options: []string{"bind"}})
			b.shell("stat -c '%n %d:%i' -- " + tc.realDst + "; /helper mounts")
			out := b.mustRun()
			mustContain(t, out, tc.realDst+" "+devIno(hostSrc)+"\n", "the bind mount at the symlink's target")
			if n := mountCount(out, tc.realDst); n != 1 {
				t.Errorf("want one mount on %s, got %d:\n%s", tc.realDst, n, out)
			}
			if _, err := os.Lstat(filepath.Join(b.rootfs, tc.realDst)); err != nil {
				t.Errorf("the target was not made inside the rootfs: %v", err)
			}
		})
	}
}

// TestRunc15MountRootfsPropagationShared: with rootfsPropagation "shared"
// the container's "/" is a shared mount (runc's mounts_propagation.bats),
// and nothing of the container's mounts shows on the host.
func TestRunc15MountRootfsPropagationShared(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	b.spec.Linux.RootfsPropagation = "shared"
	b.spec.Mounts = append(b.spec.Mounts, specs.Mount{Destination: "/mnt/inner", Type: "tmpfs", Source: "tmpfs"})
	b.shell("/helper mounts")
	out := b.mustRun()
	var root string
	for _, l := range lines(out) {
		if f := strings.Fields(l); len(f) > 6 && f[4] == "/" {
			root = l
		}
	}
	pre, _, _ := strings.Cut(root, " - ")
	if !strings.Contains(pre, " shared:") {
		t.Fatalf("rootfsPropagation shared: want / shared, got %q\n%s", root, out)
	}
	for _, l := range mountsUnder(b.dir) {
		t.Errorf("a mount of the container's appeared on the host: %s", l)
	}
}

// TestRunc15MountTmpcopyupUserns: the copy in a user namespace keeps the
// owners as the container sees them (podman's rootless --tmpfs).
func TestRunc15MountTmpcopyupUserns(t *testing.T) {
	t.Parallel()
	b := newBundle(t)
	data := filepath.Join(b.rootfs, "data")
	mkdirMode(t, filepath.Join(data, "sub"), 0o755, 1000, 2000)
	fileMode(t, filepath.Join(data, "sub/file"), "userns-copy\n", 0o644, 1000, 2000)
	if err := os.Symlink("/etc/passwd", filepath.Join(data, "link")); err != nil {
		t.Fatal(err)
	}
	userns(t, b) // shifts the rootfs's owners by 100000
	b.spec.Mounts = append(b.spec.Mounts,
		specs.Mount{Destination: "/data", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "tmpcopyup"}})
	b.shell(statScript("/data/sub", "/data/sub/file", "/data/link") + "echo file: $(/helper cat /data/sub/file); /helper mounts")
	out := b.mustRun()
	st := statLines(out)
	for p, want := range map[string]string{
		"/data/sub":      "type=dir mode=0755 dev=0:0 uid=1000 gid=2000",
		"/data/sub/file": "type=file mode=0644 dev=0:0 uid=1000 gid=2000",
		"/data/link":     "type=symlink mode=0777 dev=0:0 uid=0 gid=0",
	} {
		if st[p] != want {
			t.Errorf("%s: want %q, got %q", p, want, st[p])
		}
	}
	mustContain(t, out, "file: userns-copy\n", "content copied in a user namespace")
	if mountPoints(out)["/data"] != "tmpfs" {
		t.Errorf("/data: want a tmpfs:\n%s", out)
	}
}

// TestRunc15MountBindFlagsAsAsked: a bind mount with flag options gets the
// per-mount flags they set and no others, whatever its source has: over a
// nosuid,nodev,noexec,noatime source, "dev,suid,exec,atime" leaves none
// of the first three (what is there runs), and "ro" alone gives ro only;
// plain "bind" keeps the source's, as mount(8) --bind does, and an atime
// mode the options don't name is kept, as a remount keeps it (runc 1.5,
// mounts_sshfs.bats). In a user namespace the source's flags are locked:
// those not asked off stay, and asking one off fails the container.
func TestRunc15MountBindFlagsAsAsked(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	if err := syscall.Mount("tmpfs", src, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC|syscall.MS_NOATIME, "size=16m,mode=0755"); err != nil {
		t.Fatalf("mount the nosuid,nodev,noexec,noatime source: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(src, syscall.MNT_DETACH) })
	copyFile(t, helperBin, filepath.Join(src, "helper"), 0o755)
	bind := func(b *bundle, dest string, opts ...string) {
		b.spec.Mounts = append(b.spec.Mounts, specs.Mount{Destination: dest, Type: "bind", Source: src, Options: opts})
	}
	check := func(out, mp string, has, lacks []string) {
		t.Helper()
		opts := mountOptions(out, mp)
		for _, o := range has {
			if !hasOption(opts, o) {
				t.Errorf("%s: options %q lack %s", mp, opts, o)
			}
		}
		for _, o := range lacks {
			if hasOption(opts, o) {
				t.Errorf("%s: options %q have %s", mp, opts, o)
			}
		}
	}

	b := newBundle(t)
	bind(b, "/cleared", "bind", "dev", "suid", "exec", "atime")
	bind(b, "/ro", "bind", "ro")
	bind(b, "/plain", "bind")
	bind(b, "/relatime", "bind", "relatime")
	b.shell("/helper mounts; /cleared/helper pid >/dev/null && echo cleared-runs; /plain/helper pid || echo plain-refused")
	out := b.mustRun()
	check(out, "/cleared", []string{"rw", "noatime"}, []string{"nosuid", "nodev", "noexec"})
	check(out, "/ro", []string{"ro", "noatime"}, []string{"nosuid", "nodev", "noexec"})
	check(out, "/plain", []string{"rw", "nosuid", "nodev", "noexec", "noatime"}, nil)
	check(out, "/relatime", []string{"rw", "relatime"}, []string{"noatime", "nosuid", "nodev", "noexec"})
	mustContain(t, out, "cleared-runs", "running a program from the exec bind mount")
	mustContain(t, out, "plain-refused", "running a program from the plain bind of the noexec source")

	u := newBundle(t)
	userns(t, u)
	bind(u, "/ro", "bind", "ro")
	u.shell("/helper mounts")
	out = u.mustRun()
	check(out, "/ro", []string{"ro", "nosuid", "nodev", "noexec", "noatime"}, nil)

	f := newBundle(t, "/bin/true")
	userns(t, f)
	bind(f, "/cleared", "bind", "dev", "suid", "exec", "atime")
	r := f.run()
	if r.Code == 0 {
		t.Fatalf("a bind mount asking locked flags off in a user namespace succeeded: %s", r)
	}
	mustContain(t, r.Stderr, "operation not permitted", "asking locked flags off")
	mustContain(t, r.Stderr, "nosuid", "asking locked flags off")
}
