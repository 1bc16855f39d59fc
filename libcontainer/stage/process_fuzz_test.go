package stage

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// FuzzResolveUser resolves users against fuzzed /etc/passwd and /etc/group
// files, as the init and exec stages do in the container's rootfs (the
// image's files, so untrusted). A user it resolves must carry ids the
// kernel takes as given, and numeric users must resolve to themselves.
func FuzzResolveUser(f *testing.F) {
	const passwd = "root:x:0:0:root:/root:/bin/sh\n" +
		"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n" +
		"alice:x:1000:1000:Alice,,,:/home/alice:/bin/sh\n" +
		"# comment\n\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
	const group = "root:x:0:\n" +
		"wheel:x:10:root,alice\n" +
		"users:x:100:alice\n" +
		"alice:x:1000:\n" +
		"nogroup:x:65534:\n"
	for _, seed := range []struct {
		passwd, group, name string
		uid, gid            uint32
	}{
		{passwd, group, "", 0, 0},
		{passwd, group, "", 1000, 1000},
		{passwd, group, "alice", 0, 0},
		{passwd, group, "alice:wheel", 0, 0},
		{passwd, group, "root:100", 0, 0},
		{passwd, group, "1000:65534", 0, 0},
		{passwd, group, "bob", 0, 0},
		{passwd, group, "", 4242, 4242},
		{"", "", "", 0, 0},
		{"", "", "alice", 0, 0},
		{passwd, group, "", math.MaxUint32, 0},
		// Ids the kernel would not take as written: setresuid(-1) keeps
		// root, and 2^32 is uid 0 once cut to 32 bits.
		{"evil:x:-1:-1::/:/bin/sh\n", group, "evil", 0, 0},
		{"evil:x:4294967296:0::/:/bin/sh\n", group, "evil", 0, 0},
		{passwd, "big:x:4294967296:alice\n", "alice", 0, 0},
		{passwd, "neg:x:-5:alice\n", "", 1000, 1000},
	} {
		f.Add(seed.passwd, seed.group, seed.name, seed.uid, seed.gid)
	}
	dir := f.TempDir()
	passwdFile, groupFile := filepath.Join(dir, "passwd"), filepath.Join(dir, "group")
	f.Fuzz(func(t *testing.T, passwd, group, name string, uid, gid uint32) {
		if err := os.WriteFile(passwdFile, []byte(passwd), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(groupFile, []byte(group), 0o644); err != nil {
			t.Fatal(err)
		}
		p := &specs.Process{User: specs.User{UID: uid, GID: gid}}
		u, err := resolveUser(p, name, passwdFile, groupFile)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "resolve user ") {
				t.Fatalf("error %q does not say what failed", err)
			}
			return
		}
		for _, id := range append([]int{u.Uid, u.Gid}, u.Sgids...) {
			if id < 0 || id > math.MaxUint32-1 {
				t.Fatalf("resolved %+v: id %d is not a valid uid or gid", u, id)
			}
		}
		want := func(spec string) (int, int, bool) {
			us, gs, _ := strings.Cut(spec, ":")
			uid, uerr := strconv.Atoi(us)
			gid, gerr := strconv.Atoi(gs)
			return uid, gid, uerr == nil && gerr == nil
		}
		if name == "" {
			name = strconv.Itoa(int(uid)) + ":" + strconv.Itoa(int(gid))
		}
		if wu, wg, numeric := want(name); numeric && (u.Uid != wu || u.Gid != wg) {
			t.Fatalf("numeric user %q resolved to %d:%d", name, u.Uid, u.Gid)
		}
	})
}
