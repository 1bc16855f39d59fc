package nsenter

// The C preamble (nsenter.c) on its own, without the rest of husk: as
// runc's nsenter tests do, the test binary, which links the preamble as
// this package does, starts itself again with _HUSK_SYNCFD set. The
// constructor runs in that child before the Go runtime; this file plays
// husk's side of the protocol (libcontainer/stage/spawn.go: settings, setup/ack,
// pid), and the final process, in TestMain, reports over the socket what
// it sees from the inside. The tests need root (namespaces, cgroups).

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/internal/testutil"
	"github.com/husk-runtime/husk/internal/testutil/enosys"
)

// timeout bounds each start of the preamble, from exec to the report.
const timeout = 20 * time.Second

// The fd layout of the child: stdio, the sync socket at 3 (_HUSK_SYNCFD),
// _HUSK_NFDS 4, and two fds above it that the preamble must close.
const (
	syncFD = 3
	nfds   = 4
	leaked = 2
)

// report is what the final process saw, sent to the test as one JSON line.
type report struct {
	Type     string            `json:"type"` // "report"
	Pid      int               `json:"pid"`
	PPid     int               `json:"ppid"`
	UID      int               `json:"uid"`
	NS       map[string]string `json:"ns"` // /proc/self/ns/* link targets
	Cgroup   string            `json:"cgroup"`
	OOMScore string            `json:"oom_score_adj"`
	Dumpable int               `json:"dumpable"`
	FDs      []int             `json:"fds"`
	UIDMap   string            `json:"uid_map"`
	Err      string            `json:"err,omitempty"`
}

var nsNames = []string{"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"}

// enosysEnv, in a child, names the syscalls to take away (enosys.Load)
// before it execs itself again as the preamble; syncFDEnv then becomes
// _HUSK_SYNCFD, which the preamble must not see before.
const (
	enosysEnv = "HUSK_NSENTER_TEST_ENOSYS"
	syncFDEnv = "HUSK_NSENTER_TEST_SYNCFD"
)

func TestMain(m *testing.M) {
	if names := os.Getenv(enosysEnv); names != "" {
		os.Exit(enosysMain(names))
	}
	if os.Getenv("_HUSK_SYNCFD") != "" {
		os.Exit(childMain())
	}
	os.Exit(m.Run())
}

// enosysMain loads the filter and execs this binary as the preamble.
func enosysMain(names string) int {
	runtime.LockOSThread()
	if err := enosys.Load(strings.Split(names, ",")...); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	var env []string
	for _, e := range os.Environ() {
		if v, ok := strings.CutPrefix(e, syncFDEnv+"="); ok {
			env = append(env, "_HUSK_SYNCFD="+v)
		} else if !strings.HasPrefix(e, enosysEnv+"=") {
			env = append(env, e)
		}
	}
	err := syscall.Exec("/proc/self/exe", os.Args, env)
	fmt.Fprintln(os.Stderr, "exec:", err)
	return 2
}

// childMain runs in the final process the preamble continued into Go: it
// waits for the test's "config" line, as husk's stages do (so its report
// can't overtake the intermediate's pid message), and reports. Only raw
// syscalls: the Go runtime must not open fds of its own (its poller) that
// the fd listing would count.
func childMain() int {
	line := make([]byte, 0, 64)
	for {
		var c [1]byte
		n, err := unix.Read(syncFD, c[:])
		if err == unix.EINTR {
			continue
		}
		if n <= 0 {
			return 2
		}
		if c[0] == '\n' {
			break
		}
		line = append(line, c[0])
	}
	r := report{Type: "report", Pid: os.Getpid(), PPid: os.Getppid(), UID: os.Getuid(), NS: map[string]string{}}
	for _, n := range nsNames {
		r.NS[n], _ = os.Readlink("/proc/self/ns/" + n)
	}
	r.Cgroup = readFile("/proc/self/cgroup")
	r.OOMScore = strings.TrimSpace(readFile("/proc/self/oom_score_adj"))
	r.UIDMap = strings.Join(strings.Fields(readFile("/proc/self/uid_map")), " ")
	if d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0); err == nil {
		r.Dumpable = d
	} else {
		r.Dumpable = -1
	}
	fds, err := openFDs()
	if err != nil {
		r.Err = err.Error()
	}
	r.FDs = fds
	data, _ := json.Marshal(&r)
	data = append(data, '\n')
	for len(data) > 0 {
		n, err := unix.Write(syncFD, data)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 2
		}
		data = data[n:]
	}
	return 0
}

func readFile(path string) string {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "error: " + err.Error()
	}
	defer unix.Close(fd)
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		if n > 0 {
			out = append(out, buf[:n]...)
		}
		if n <= 0 || err != nil {
			return string(out)
		}
	}
}

// openFDs lists this process's open fds, but for the one it reads them by.
func openFDs() ([]int, error) {
	dir, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dir)
	var fds []int
	buf := make([]byte, 8192)
	for {
		n, err := unix.ReadDirent(dir, buf)
		if err != nil {
			return fds, err
		}
		if n == 0 {
			return fds, nil
		}
		_, _, names := unix.ParseDirent(buf[:n], -1, nil)
		for _, name := range names {
			if fd, err := strconv.Atoi(name); err == nil && fd != dir {
				fds = append(fds, fd)
			}
		}
	}
}

// preamble is one started child, from the test's side.
type preamble struct {
	t    *testing.T
	cmd  *exec.Cmd
	sock *os.File
	rd   *bufio.Reader
	pid  int // the final process, once reported
}

// startPreamble execs the test binary as a stage would be: _HUSK_SYNCFD
// and _HUSK_NFDS in its environment, then two stray fds above NFDS. With
// syscalls, it runs under enosys.Load(syscalls...).
func startPreamble(t *testing.T, syscalls ...string) *preamble {
	t.Helper()
	testutil.RequireRoot(t)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The test's end is non-blocking, so its reads have a deadline.
	if err := unix.SetNonblock(fds[1], false); err != nil {
		t.Fatal(err)
	}
	sock, child := os.NewFile(uintptr(fds[0]), "sync"), os.NewFile(uintptr(fds[1]), "sync-child")
	defer child.Close()
	extra := []*os.File{child}
	for range leaked {
		f, err := os.Open("/dev/null")
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		extra = append(extra, f)
	}
	// A file, not a pipe: the final process keeps the output open, and
	// cmd.Wait would wait for a pipe's copier.
	out, err := os.CreateTemp(t.TempDir(), "output")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	// GOMAXPROCS as husk sets it; containermaxprocs=0, or the Go runtime
	// opens the cgroup's CPU limit files at start and keeps them open (even
	// with GOMAXPROCS set), fds the listing would count.
	cmd.Env = []string{"GOMAXPROCS=1", "GODEBUG=containermaxprocs=0", "_HUSK_SYNCFD=" + strconv.Itoa(syncFD), "_HUSK_NFDS=" + strconv.Itoa(nfds)}
	if len(syscalls) > 0 {
		cmd.Env[2] = syncFDEnv + "=" + strconv.Itoa(syncFD)
		cmd.Env = append(cmd.Env, enosysEnv+"="+strings.Join(syscalls, ","))
	}
	cmd.ExtraFiles = extra
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &preamble{t: t, cmd: cmd, sock: sock, rd: bufio.NewReader(sock)}
	if err := sock.SetDeadline(time.Now().Add(timeout)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sock.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if p.pid > 0 {
			_ = unix.Kill(p.pid, unix.SIGKILL)
			p.reap()
		}
		if data, _ := os.ReadFile(out.Name()); t.Failed() && len(data) > 0 {
			t.Logf("child's output:\n%s", data)
		}
	})
	return p
}

// sendRaw writes b to the preamble.
func (p *preamble) sendRaw(b []byte) {
	p.t.Helper()
	if _, err := p.sock.Write(b); err != nil {
		p.t.Fatalf("write to the preamble: %v", err)
	}
}

// sendSettings sends settings as husk's sendSettings does.
func (p *preamble) sendSettings(env ...string) {
	p.t.Helper()
	var b strings.Builder
	for _, e := range env {
		b.WriteString(e)
		b.WriteByte(0)
	}
	p.sendRaw(fmt.Appendf(nil, "%08x%s", b.Len(), b.String()))
}

// msg is a line from the preamble or the final process.
type msg struct {
	Type string `json:"type"`
	Pid  int    `json:"pid"`
	Msg  string `json:"msg"`
	raw  []byte
}

// next reads the next line; io.EOF when the child closed the socket.
func (p *preamble) next() (*msg, error) {
	line, err := p.rd.ReadBytes('\n')
	if err != nil {
		if errors.Is(err, io.EOF) && len(line) == 0 {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read from the preamble (after %q): %w", line, err)
	}
	m := msg{raw: line}
	if err := json.Unmarshal(line, &m); err != nil {
		return nil, fmt.Errorf("bad line %q: %w", line, err)
	}
	return &m, nil
}

func (p *preamble) expect(typ string) *msg {
	p.t.Helper()
	m, err := p.next()
	if err != nil {
		p.t.Fatalf("waiting for %q: %v", typ, err)
	}
	if m.Type != typ {
		p.t.Fatalf("got %+v, want a %q message", m, typ)
	}
	return m
}

// waitExec waits for the exec'd process (the preamble's first process),
// killing it at the deadline.
func (p *preamble) waitExec() error {
	p.t.Helper()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-done
		p.t.Fatal("the preamble did not exit in time")
		return nil
	}
}

// reap waits for the final process (our child through CLONE_PARENT).
func (p *preamble) reap() {
	pid := p.pid
	p.pid = 0
	done := make(chan struct{})
	go func() {
		var ws unix.WaitStatus
		for {
			if _, err := unix.Wait4(pid, &ws, 0, nil); err != unix.EINTR {
				break
			}
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(timeout):
		_ = unix.Kill(pid, unix.SIGKILL)
		<-done
		p.t.Error("the final process did not exit in time")
	}
}

// finish takes the pid message, lets the final process go on and returns
// its report.
func (p *preamble) finish() *report {
	p.t.Helper()
	m := p.expect("pid")
	if m.Pid <= 0 {
		p.t.Fatalf("pid message with pid %d", m.Pid)
	}
	p.pid = m.Pid
	if err := p.waitExec(); err != nil {
		p.t.Fatalf("the preamble's first process: %v", err)
	}
	p.sendRaw([]byte(`{"type":"config"}` + "\n"))
	m = p.expect("report")
	p.reap()
	var r report
	if err := json.Unmarshal(m.raw, &r); err != nil {
		p.t.Fatal(err)
	}
	if r.Err != "" {
		p.t.Fatalf("the final process: %s", r.Err)
	}
	return &r
}

// run starts a preamble with settings and returns the final process's
// report.
func run(t *testing.T, env ...string) *report {
	t.Helper()
	return runENOSYS(t, nil, env...)
}

// runENOSYS is run with the syscalls taken away.
func runENOSYS(t *testing.T, syscalls []string, env ...string) *report {
	t.Helper()
	p := startPreamble(t, syscalls...)
	p.sendSettings(env...)
	return p.finish()
}

func ownNS(t *testing.T, pid string) map[string]string {
	t.Helper()
	ns := map[string]string{}
	for _, n := range nsNames {
		l, err := os.Readlink("/proc/" + pid + "/ns/" + n)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		ns[n] = l
	}
	return ns
}

// checkCommon: what every final process must show.
func checkCommon(t *testing.T, r *report) {
	t.Helper()
	if r.Dumpable != 0 {
		t.Errorf("the final process is dumpable (%d); the preamble must leave it non-dumpable", r.Dumpable)
	}
	// stdio and the sync socket; the fds above _HUSK_NFDS were closed.
	if want := []int{0, 1, 2, syncFD}; !slices.Equal(r.FDs, want) {
		t.Errorf("open fds %v, want %v (the preamble must close those from _HUSK_NFDS=%d up)", r.FDs, want, nfds)
	}
}

func TestPreambleNoNamespaces(t *testing.T) {
	r := run(t)
	checkCommon(t, r)
	self := ownNS(t, "self")
	for _, n := range nsNames {
		if r.NS[n] != self[n] {
			t.Errorf("%s namespace %s, want the test's %s", n, r.NS[n], self[n])
		}
	}
	// CLONE_PARENT: the final process is the test's child, not the
	// preamble's.
	if r.PPid != os.Getpid() {
		t.Errorf("parent %d, want the test (%d)", r.PPid, os.Getpid())
	}
}

func TestPreambleNewNamespaces(t *testing.T) {
	flags := unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET |
		unix.CLONE_NEWPID | unix.CLONE_NEWCGROUP
	r := run(t, fmt.Sprintf("_HUSK_CLONEFLAGS=%#x", flags))
	checkCommon(t, r)
	self := ownNS(t, "self")
	for _, n := range []string{"cgroup", "ipc", "mnt", "net", "pid", "uts"} {
		if r.NS[n] == "" || r.NS[n] == self[n] {
			t.Errorf("%s namespace %q, want a new one (the test's is %s)", n, r.NS[n], self[n])
		}
	}
	if r.NS["user"] != self["user"] {
		t.Errorf("user namespace %s, want the test's %s", r.NS["user"], self["user"])
	}
	if r.Pid != 1 || r.PPid != 0 {
		t.Errorf("pid %d, parent %d: want 1 and 0, the first process of a new PID namespace", r.Pid, r.PPid)
	}
}

// A new user namespace with the setup handshake: the preamble reports
// "setup" in its user namespace and before any other, the test writes its
// id maps, and only after the ack does it become root there and unshare the rest.
func TestPreambleUserNamespaceSetup(t *testing.T) {
	flags := unix.CLONE_NEWUSER | unix.CLONE_NEWUTS | unix.CLONE_NEWPID
	p := startPreamble(t)
	p.sendSettings(fmt.Sprintf("_HUSK_CLONEFLAGS=%#x", flags), "_HUSK_SETUP=1")
	p.expect("setup")
	self := ownNS(t, "self")
	pid := strconv.Itoa(p.cmd.Process.Pid)
	at := ownNS(t, pid)
	if at["user"] == self["user"] {
		t.Errorf("at setup the preamble is still in the test's user namespace")
	}
	if at["uts"] != self["uts"] {
		t.Errorf("at setup the preamble already has its new UTS namespace; it must wait for the ack")
	}
	for _, f := range []string{"uid_map", "gid_map"} {
		if err := os.WriteFile("/proc/"+pid+"/"+f, []byte("0 100000 65536\n"), 0); err != nil {
			t.Fatalf("write %s: %v", f, err)
		}
	}
	p.sendRaw([]byte(`{"type":"ack"}` + "\n"))
	r := p.finish()
	checkCommon(t, r)
	if r.NS["user"] != at["user"] || r.NS["uts"] == self["uts"] || r.NS["pid"] == self["pid"] {
		t.Errorf("namespaces %v: want the setup's user namespace %s and new UTS and PID ones", r.NS, at["user"])
	}
	if r.UID != 0 || r.UIDMap != "0 100000 65536" {
		t.Errorf("uid %d with map %q: want root of the namespace mapped as written", r.UID, r.UIDMap)
	}
}

// Without the ack (the parent gave up on the setup) the preamble exits
// without going on.
func TestPreambleSetupRefused(t *testing.T) {
	p := startPreamble(t)
	p.sendSettings(fmt.Sprintf("_HUSK_CLONEFLAGS=%#x", unix.CLONE_NEWUSER), "_HUSK_SETUP=1")
	p.expect("setup")
	p.sendRaw([]byte(`{"type":"error"}` + "\n"))
	if m, err := p.next(); err != io.EOF {
		t.Errorf("after a refused setup: %+v, %v; want the socket closed", m, err)
	}
	if err := p.waitExec(); err == nil {
		t.Error("the preamble exited 0 after a refused setup")
	}
}

// Namespaces given by path are joined: those of a process in a new UTS
// and network namespace.
func TestPreambleJoinByPath(t *testing.T) {
	testutil.RequireRoot(t)
	holder := exec.Command("/bin/sleep", "60")
	holder.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWUTS | unix.CLONE_NEWNET}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	hp := strconv.Itoa(holder.Process.Pid)
	want := ownNS(t, hp)
	r := run(t, "_HUSK_NS_UTS=/proc/"+hp+"/ns/uts", "_HUSK_NS_NET=/proc/"+hp+"/ns/net")
	checkCommon(t, r)
	self := ownNS(t, "self")
	for _, n := range []string{"uts", "net"} {
		if r.NS[n] != want[n] || r.NS[n] == self[n] {
			t.Errorf("%s namespace %s, want the holder's %s", n, r.NS[n], want[n])
		}
	}
	if r.NS["ipc"] != self["ipc"] {
		t.Errorf("ipc namespace %s, want the test's %s", r.NS["ipc"], self["ipc"])
	}
}

// A namespace path that does not open fails with an error message.
func TestPreambleJoinMissingPath(t *testing.T) {
	p := startPreamble(t)
	p.sendSettings("_HUSK_NS_NET=/nonexistent/ns/net")
	m := p.expect("error")
	if !strings.Contains(m.Msg, "open namespace /nonexistent/ns/net") {
		t.Errorf("error %q, want it to name the path", m.Msg)
	}
	if err := p.waitExec(); err == nil {
		t.Error("the preamble exited 0")
	}
}

func uniqueName(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "husk-nsenter-test-" + hex.EncodeToString(b)
}

// mkCgroup makes a cgroup in the hierarchy at mnt and removes it at
// cleanup (once the processes in it are gone).
func mkCgroup(t *testing.T, mnt, name string) string {
	t.Helper()
	dir := filepath.Join(mnt, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; ; i++ {
			err := os.Remove(dir)
			if err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
			if i == 100 {
				t.Errorf("remove %s: %v", dir, err)
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
	return dir
}

// The v1 cgroups are joined by writing "0" to their tasks files; the
// oom_score_adj is set.
func TestPreambleCgroupV1AndOOMScore(t *testing.T) {
	testutil.RequireRoot(t)
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup/pids", &st); err != nil || st.Type != unix.CGROUP_SUPER_MAGIC {
		t.Skip("no cgroup v1 pids hierarchy at /sys/fs/cgroup/pids")
	}
	name := uniqueName(t)
	dir := mkCgroup(t, "/sys/fs/cgroup/pids", name)
	r := run(t, "_HUSK_CGROUP_V1="+dir, "_HUSK_OOM_SCORE_ADJ=345")
	checkCommon(t, r)
	if !slices.ContainsFunc(strings.Split(r.Cgroup, "\n"), func(l string) bool {
		return strings.HasSuffix(l, ":pids:/"+name)
	}) {
		t.Errorf("/proc/self/cgroup:\n%s\nwant the pids cgroup /%s", r.Cgroup, name)
	}
	if r.OOMScore != "345" {
		t.Errorf("oom_score_adj %q, want 345", r.OOMScore)
	}
}

// The v2 cgroup is entered by clone3(CLONE_INTO_CGROUP).
func TestPreambleCgroupV2(t *testing.T) { testCgroupV2(t, nil) }

// Without clone3, or close_range, the preamble takes its fallbacks: a
// plain clone, after which the child joins the v2 cgroup itself, and
// closing the fds /proc/self/fd lists. The checks are the same.
func TestPreambleFallbacks(t *testing.T) {
	for _, syscalls := range [][]string{{"clone3"}, {"close_range"}, {"clone3", "close_range"}} {
		t.Run(strings.Join(syscalls, ","), func(t *testing.T) { testCgroupV2(t, syscalls) })
	}
}

func testCgroupV2(t *testing.T, syscalls []string) {
	testutil.RequireRoot(t)
	mnt := ""
	for _, m := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		var st unix.Statfs_t
		if unix.Statfs(m, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			mnt = m
			break
		}
	}
	if mnt == "" {
		t.Skip("no cgroup2 hierarchy")
	}
	name := uniqueName(t)
	dir := mkCgroup(t, mnt, name)
	r := runENOSYS(t, syscalls, "_HUSK_CGROUP_V2="+dir)
	checkCommon(t, r)
	if !slices.Contains(strings.Split(r.Cgroup, "\n"), "0::/"+name) {
		t.Errorf("/proc/self/cgroup:\n%s\nwant 0::/%s", r.Cgroup, name)
	}
}

// Malformed settings end the preamble with an error, or at least an exit,
// never a hang, and nothing goes on into Go.
func TestPreambleMalformedSettings(t *testing.T) {
	for _, c := range []struct {
		name string
		send string
		err  string // the error message it must send; "" for a bare exit
	}{
		{"non-hex length", "xyz12345_HUSK_OOM_SCORE_ADJ=1\x00", "settings length"},
		{"signed length", "-0000001", "settings length"},
		{"huge length", "ffffffff", "settings of 4294967295 bytes"},
		// The length promises more than comes: the preamble must give up
		// when the socket closes, not wait for ever.
		{"truncated", "00000100_HUSK_OOM", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := startPreamble(t)
			p.sendRaw([]byte(c.send))
			if c.err == "" {
				// husk closes its end when it gives up on a stage.
				if err := unix.Shutdown(int(p.sock.Fd()), unix.SHUT_WR); err != nil {
					t.Fatal(err)
				}
			}
			m, err := p.next()
			switch {
			case c.err == "" && err != io.EOF:
				t.Errorf("got %+v, %v; want the socket closed", m, err)
			case c.err != "" && (err != nil || m.Type != "error" || !strings.Contains(m.Msg, c.err)):
				t.Errorf("got %+v, %v; want an error message with %q", m, err, c.err)
			}
			if err := p.waitExec(); err == nil {
				t.Error("the preamble exited 0")
			}
		})
	}
}

// A final entry without its NUL still counts: the preamble terminates the
// buffer itself. An entry without "=" is skipped.
func TestPreambleSettingsWithoutFinalNUL(t *testing.T) {
	p := startPreamble(t)
	body := "no-equals-sign\x00_HUSK_OOM_SCORE_ADJ=123"
	p.sendRaw(fmt.Appendf(nil, "%08x%s", len(body), body))
	r := p.finish()
	checkCommon(t, r)
	if r.OOMScore != "123" {
		t.Errorf("oom_score_adj %q, want 123", r.OOMScore)
	}
}
