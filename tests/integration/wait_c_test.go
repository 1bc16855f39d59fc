package integration

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
)

// initProc reads what the host sees of a created container's init: its
// command line, a field of its status, its open fds.
type initProc struct {
	t   *testing.T
	pid int
}

func (p initProc) cmdline() string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p.pid))
	return strings.ReplaceAll(strings.TrimRight(string(data), "\x00"), "\x00", " ")
}

func (p initProc) status(field string) string {
	p.t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		p.t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	p.t.Fatalf("no %s in /proc/%d/status", field, p.pid)
	return ""
}

// A created container's init waits for start without a Go runtime: one
// thread and well under the Go init's 1.2 MB, holding only its stdio and
// the exec fifo, non-dumpable as the user it will run as, and caught
// signals as Go's runtime catches them. Once started, the process has the
// settings the Go init would have given it.
func TestCreatedWaitsWithoutGoRuntime(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/sh", "-c", "/helper id; /helper cwd; /helper umask; /helper nnp; grep -E '^(Sig(Blk|Ign|Cgt)|CapEff)' /proc/self/status; ulimit -Sn; exec /helper sleep 600")
	b.spec.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1001}, Umask: ptr(uint32(0o27))}
	b.spec.Process.Cwd = "/tmp"
	b.spec.Process.NoNewPrivileges = true
	b.spec.Process.Rlimits = nil
	b.save()
	// The caller's open-files limit reaches the process as it is: the
	// waiter starts with the limit Go's runtime raised in the Go init.
	// So does an ignored SIGHUP (nohup), as Go's runtime keeps it, and
	// an ignored SIGTERM does not, as Go's runtime handles it.
	wrap := []string{"/bin/sh", "-c", `trap '' HUP TERM; ulimit -Sn 777 && exec "$0" "$@"`}
	if r := b.createOpts(opts{wrap: wrap}); r.Code != 0 {
		t.Fatalf("create: %s", r)
	}
	st := b.state()
	if st.Status != specs.StateCreated {
		t.Fatalf("create: %+v", st)
	}
	p := initProc{t, st.Pid}
	if got := p.cmdline(); got != "husk wait" {
		t.Errorf("the created container's init runs %q, want husk's waiter", got)
	}
	if th := p.status("Threads"); th != "1" {
		t.Errorf("the waiter has %s threads", th)
	}
	if kb, _ := strconv.Atoi(strings.TrimSuffix(p.status("RssAnon"), " kB")); kb == 0 || kb > 512 {
		t.Errorf("the waiter holds %d kB of anonymous memory", kb)
	}
	// Non-dumpable: its /proc files stay root's though it runs as 1000.
	var fi syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d/fd", st.Pid), &fi); err != nil || fi.Uid != 0 {
		t.Errorf("/proc/%d/fd of the waiter, now uid %s: owner %d (%v): the waiter is dumpable", st.Pid, p.status("Uid"), fi.Uid, err)
	}
	// The sync socket goes once husk has read ready, maybe after create
	// returned.
	var held []string
	if !waitFor(5*time.Second, func() bool {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", st.Pid))
		held = nil
		for _, fd := range fds {
			target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", st.Pid, fd.Name()))
			if n, _ := strconv.Atoi(fd.Name()); n > 2 {
				held = append(held, target)
			}
		}
		return len(held) == 1 && strings.HasSuffix(held[0], "/exec.fifo")
	}) {
		t.Errorf("the waiter holds %v beside its stdio, want only the exec fifo", held)
	}
	mask, _ := strconv.ParseUint(p.status("SigCgt"), 16, 64)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1, syscall.SIGCHLD} {
		if mask&(1<<(uint(sig)-1)) == 0 {
			t.Errorf("the waiter does not catch %v (SigCgt %x)", sig, mask)
		}
	}
	if ign, _ := strconv.ParseUint(p.status("SigIgn"), 16, 64); ign&^glibcSignals != 1<<(uint(syscall.SIGHUP)-1) {
		t.Errorf("the waiter ignores %x, want SIGHUP alone, as husk's caller did", ign)
	}
	// Go's runtime ignores SIGUSR1; so does the waiter.
	b.mustRT("kill", b.id, "USR1")
	time.Sleep(100 * time.Millisecond)
	if st := b.state(); st.Status != specs.StateCreated {
		t.Fatalf("after SIGUSR1 the container is %s", st.Status)
	}
	b.mustRT("start", b.id)
	out := b.waitOutput("\n777\n")
	for _, want := range []string{"uid=1000 gid=1000 euid=1000 egid=1000 groups=1001", "\n/tmp\n", "\n0027\n", "\n1\n", "SigBlk:\t0000000000000000", "CapEff:\t0000000000000000"} {
		mustContain(t, out, want, "what the process saw")
	}
	_, ign, _ := strings.Cut(out, "SigIgn:\t")
	if mask, err := strconv.ParseUint(ign[:16], 16, 64); err != nil || mask&^glibcSignals != 1<<(uint(syscall.SIGHUP)-1) {
		t.Errorf("the process ignores %.16s, want SIGHUP alone, as husk's caller did", ign)
	}
}

// glibcSignals are signals 32 and 33, which glibc keeps for itself and Go's
// runtime and the waiter leave as husk's caller left them.
const glibcSignals = 3 << 31

// A SIGTERM or SIGHUP ends a created container's waiter, as it ends a Go
// init, and leaves it stopped, nothing run.
func TestCreatedWaiterDiesOfTerm(t *testing.T) {
	t.Parallel()
	for _, sig := range []string{"TERM", "HUP"} {
		t.Run(sig, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/bin/sh", "-c", "echo ran")
			b.mustCreate()
			b.mustRT("kill", b.id, sig)
			b.waitStatus(specs.StateStopped)
			if out := b.output(); out != "" {
				t.Errorf("the process ran after SIG%s: %q", sig, out)
			}
		})
	}
}

// What needs Go's side after the wait keeps the Go init: a terminal's
// console, startContainer hooks, a user namespace.
func TestCreatedWaitsInGo(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		edit func(*testing.T, *bundle)
		out  string
	}{
		{"startContainer hook", func(_ *testing.T, b *bundle) {
			b.spec.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/true"}}}
		}, "ran"},
		{"user namespace", func(t *testing.T, b *bundle) { userns(t, b) }, "ran"},
		// execve takes no string over 128 KiB, and the waiter gets the
		// environment as one (direct.go's lengthPrefixed).
		{"an environment past execve's limit", func(_ *testing.T, b *bundle) {
			for _, k := range []string{"A", "B", "C"} {
				b.spec.Process.Env = append(b.spec.Process.Env, k+"="+strings.Repeat("x", 50000))
			}
			b.shell(`echo "ran ${#A} ${#B} ${#C}"; exec /helper sleep 600`)
		}, "ran 50000 50000 50000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := newBundle(t, "/bin/sh", "-c", "echo ran; exec /helper sleep 600")
			c.edit(t, b)
			b.save()
			b.mustCreate()
			if got := (initProc{t, b.state().Pid}).cmdline(); got != "husk init" {
				t.Errorf("the created container's init runs %q, want the Go init", got)
			}
			b.mustRT("start", b.id)
			b.waitOutput(c.out)
		})
	}
}

// A process the waiter can't find fails create, with the Go stage's
// message, and leaves nothing behind (the harness checks that).
func TestCreatedWaiterMissingExecutable(t *testing.T) {
	t.Parallel()
	b := newBundle(t, "/bin/nope")
	r := b.create()
	if r.Code == 0 {
		t.Fatalf("create of a missing executable succeeded: %s", r)
	}
	mustContain(t, r.Stderr, `exec: "/bin/nope": stat /bin/nope: no such file or directory`, "create's error")
	if strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 {
		t.Errorf("create's error is not one line: %q", r.Stderr)
	}
}

// A filter loaded before the executable's lookup (no no_new_privs) that
// refuses faccessat2, as runtime-tools' default profile does by not
// listing it: the lookup judges from the mode bits, as Go's x/sys does,
// in the waiter and in a C exec alike.
func TestLookupWithoutFaccessat2(t *testing.T) {
	t.Parallel()
	refuse := func(b *bundle) {
		b.spec.Process.NoNewPrivileges = false
		b.spec.Linux.Seccomp = &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls:      []specs.LinuxSyscall{{Names: []string{"faccessat2"}, Action: specs.ActErrno}},
		}
	}
	b := newBundle(t, "sh", "-c", "echo ran; exec /helper sleep 600")
	refuse(b)
	b.spec.Process.Env = []string{"PATH=/usr/bin:/bin"}
	b.mustCreate()
	if got := (initProc{t, b.state().Pid}).cmdline(); got != "husk wait" {
		t.Errorf("the created container's init runs %q, want husk's waiter", got)
	}
	b.mustRT("start", b.id)
	b.waitOutput("ran")
	for i, inGo := range []bool{true, false} {
		r := b.rtOpts(opts{env: inittrace}, "exec", b.id, "sh", "-c", "echo exec")
		if r.Code != 0 || r.Stdout != "exec\n" || goRuntimeStarted(r) != inGo {
			t.Errorf("exec %d: want output exec, in Go %v: %s", i+1, inGo, r)
		}
	}

	nox := newBundle(t, "/noexec")
	refuse(nox)
	writeFile(t, nox.rootfs+"/noexec", "#!/bin/sh\n", 0o644)
	r := nox.create()
	if r.Code == 0 {
		t.Fatalf("create of a file without execute bits succeeded: %s", r)
	}
	mustContain(t, r.Stderr, `exec: "/noexec": permission denied`, "create's error")
}
