package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The runtime under a seccomp filter that fails syscalls with ENOSYS, as a
// kernel without them would (tests/helper enosys): each takes husk down a
// fallback that this kernel never needs, so no other test reaches it.
//
//   - clone3: the preamble forks the container's process with plain clone
//     (and the process then joins its cgroup v2 itself);
//   - openat2: in-root path lookups go through pathrs-lite's own resolver;
//   - close_range: the preamble closes, and the init stage marks
//     close-on-exec, the fds they find in /proc/self/fd;
//   - fsopen: the stages run from a sealed memfd copy of husk, not from its
//     lower-only overlay view.
var fallbacks = []struct{ name, syscalls string }{
	{"clone3", "clone3"},
	{"openat2", "openat2"},
	{"close_range", "close_range"},
	{"fsopen", "fsopen"},
	{"all", "clone3,openat2,close_range,fsopen"},
}

func TestFallback(t *testing.T) {
	for _, f := range fallbacks {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			fallbackRun(t, f.syscalls)
		})
	}
	// The same run without the filter: the observations that tell a
	// fallback from the usual path must tell them apart here too.
	t.Run("none", func(t *testing.T) {
		t.Parallel()
		fallbackRun(t, "")
	})
}

// fallbackRun runs a container with the runtime under enosys (none when
// syscalls is "") and checks what the container saw.
func fallbackRun(t *testing.T, syscalls string) {
	t.Helper()
	b := newBundle(t)
	b.shell("/helper ns; echo ---; /helper fds; echo ---; /helper cgroup; echo ---; " +
		"/helper cat /srv/data/hello; echo; echo ---; /helper pid")

	// A bind mount whose destination goes through an absolute symlink in
	// the rootfs: only an in-root lookup puts it at /srv/data.
	hostDir := filepath.Join(t.TempDir(), "data")
	writeFile(t, filepath.Join(hostDir, "hello"), "hello through the link", 0o644)
	if err := os.MkdirAll(filepath.Join(b.rootfs, "srv"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/srv", filepath.Join(b.rootfs, "mnt/link")); err != nil {
		t.Fatal(err)
	}
	b.spec.Mounts = append(b.spec.Mounts, specs.Mount{
		Destination: "/mnt/link/data", Type: "bind", Source: hostDir, Options: []string{"rbind", "ro"},
	})

	// The init stage's executable, as a createRuntime hook on the host
	// sees it while the stage waits.
	exeLog := filepath.Join(b.dir, "stage-exe")
	script := `pid=$(sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'); readlink /proc/$pid/exe > ` + exeLog
	b.spec.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{
		{Path: busyboxPath, Args: []string{"sh", "-c", script}, Timeout: ptr(10)},
	}}

	// Fds the caller leaks to the runtime (no close-on-exec), numbered
	// above those husk gives its stages.
	var leaked []*os.File
	for range 12 {
		f, err := os.Open(filepath.Join(hostDir, "hello"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		leaked = append(leaked, f)
	}
	// No cgroup namespace (a cgroup v2 host's default spec has one): the
	// container reads its cgroups by the host's paths.
	b.spec.Linux.Namespaces = slices.DeleteFunc(b.spec.Linux.Namespaces, func(n specs.LinuxNamespace) bool {
		return n.Type == specs.CgroupNamespace
	})
	o := opts{extraFiles: leaked}
	if syscalls != "" {
		o.wrap = []string{helperBin, "enosys", syscalls}
	}
	r := b.runOpts(o)
	if r.Code != 0 || r.Err != nil {
		t.Fatalf("run under enosys %s: %s", syscalls, r)
	}
	parts := strings.Split(r.Stdout, "---\n")
	if len(parts) != 5 {
		t.Fatalf("the container did not run its program to the end:\n%s", r)
	}
	nsOut, fdsOut, cgOut, hello, pid := parts[0], parts[1], parts[2], parts[3], parts[4]

	// Its program ran, in new PID and mount namespaces.
	if strings.TrimSpace(pid) != "1" {
		t.Errorf("pid %q in the container, want 1", strings.TrimSpace(pid))
	}
	ns := map[string]string{}
	for _, l := range lines(nsOut) {
		if k, v, ok := strings.Cut(l, " "); ok {
			ns[k] = v
		}
	}
	for _, n := range []string{"pid", "mnt"} {
		host, err := os.Readlink("/proc/self/ns/" + n)
		if err != nil {
			t.Fatal(err)
		}
		if ns[n] == "" || ns[n] == host {
			t.Errorf("%s namespace %q in the container, want a new one (the host's is %s)", n, ns[n], host)
		}
	}

	// None of husk's fds (its sockets, binary, the leaked ones) reached it.
	for fd, v := range fdLines(fdsOut) {
		if fd != "0" && fd != "1" && fd != "2" {
			t.Errorf("fd %s (%s) leaked into the container; all fds:\n%s", fd, v, fdsOut)
		}
	}

	// The bind mount went through the symlink, inside the rootfs.
	if strings.TrimSpace(hello) != "hello through the link" {
		t.Errorf("/srv/data/hello in the container: %q", hello)
	}

	// It is in its cgroup in every hierarchy the test is in, the v2 one
	// included (clone3 put it there, or without clone3 the process itself).
	own, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines(string(own)) {
		hier, _, ok := strings.Cut(l, ":/")
		if !ok {
			continue
		}
		if want := hier + ":" + b.cgroup; !slices.Contains(lines(cgOut), want) {
			t.Errorf("/proc/self/cgroup in the container has no %q:\n%s", want, cgOut)
		}
	}

	// The stage ran from a memfd copy exactly when fsopen was taken away.
	if isRunc() {
		return
	}
	data, err := os.ReadFile(exeLog)
	if err != nil {
		t.Fatalf("the createRuntime hook left no record of the stage's executable: %v", err)
	}
	exe := strings.TrimSpace(string(data))
	memfd := strings.HasPrefix(exe, "/memfd:husk")
	if want := strings.Contains(syscalls, "fsopen"); memfd != want {
		t.Errorf("the init stage ran from %q; want a memfd copy: %v", exe, want)
	}
}
