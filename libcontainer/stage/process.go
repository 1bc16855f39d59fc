package stage

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/moby/sys/user"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/lsm"
	"github.com/husk-runtime/husk/libcontainer/procattr"
	"github.com/husk-runtime/husk/libcontainer/seccomp"
	"github.com/husk-runtime/husk/spec/vocab"
)

// userProcess is the container's process, ready to exec.
type userProcess struct {
	path    string
	args    []string
	env     []string
	rlimits []specs.POSIXRlimit
}

// prepareProcess applies process settings in the order the kernel demands:
// rlimits and the bounding set while still privileged, then the user switch
// keeping capabilities, then the final capability sets, no_new_privs, cwd,
// and the executable's lookup so a missing binary fails create, not start.
func (c *conn) prepareProcess(cfg *Config) (*userProcess, error) {
	p := cfg.Process
	env := append(append([]string{}, p.Env...), cfg.ExtraEnv...)
	if err := setRlimits(p.Rlimits, false); err != nil {
		return nil, err
	}
	u, err := resolveUser(p, cfg.User, passwdPath, groupPath)
	if err != nil {
		return nil, err
	}
	env = dedupEnv(env)
	if h, ok := envValue(env, "HOME"); (!ok || h == "") && u.Home != "" {
		env = setEnv(env, "HOME", u.Home)
	}
	if p.User.Umask != nil {
		unix.Umask(int(*p.User.Umask))
	}
	// Before seccomp, which may filter these calls, and while the stage
	// still has CAP_SYS_NICE and CAP_SYS_ADMIN.
	if err := procattr.Apply(p, cfg.Spec.Linux); err != nil {
		return nil, err
	}
	// The stage is in the container's cgroup: its process gets that
	// cgroup's cpuset, not husk's own affinity.
	if err := procattr.ResetAffinity(); err != nil {
		c.warnf("%v: the container's process keeps husk's CPU affinity", err)
	}
	if cfg.Mode == ModeExec {
		if err := procattr.ApplyFinalAffinity(p); err != nil {
			return nil, err
		}
	}
	// Before no_new_privs, under which the LSMs refuse most transitions.
	if err := lsm.ApplyExecLabels(p.ApparmorProfile, p.SelinuxLabel); err != nil {
		return nil, err
	}
	// The cwd is entered first while the stage is still privileged, as runc
	// does: a directory the stage may enter and the user may not (a 0700
	// /root for another uid) is no error. Refused now, it is tried again as
	// the user, who may own it.
	inCwd := false
	switch err := enterCwd(p.Cwd); {
	case err == nil:
		inCwd = true
	case !errors.Is(err, unix.EACCES) && !errors.Is(err, unix.EPERM):
		return nil, err
	}
	// Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which
	// the capability sets may be about to drop: load it now. With it, load
	// it last, so it constrains only the user's program.
	// husk compiled the filter (see compileSeccomp).
	if !p.NoNewPrivileges {
		if err := loadSeccomp(cfg); err != nil {
			return nil, err
		}
	}
	caps, err := c.dropBounding(p.Capabilities)
	if err != nil {
		return nil, err
	}
	if err := chownStdio(u.Uid, p.Terminal); err != nil {
		return nil, err
	}
	if err := switchUser(u, p.User.AdditionalGids); err != nil {
		return nil, err
	}
	if err := c.applyCapabilities(caps); err != nil {
		return nil, err
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return nil, fmt.Errorf("set no_new_privs: %w", err)
		}
	}
	if !inCwd {
		if err := enterCwd(p.Cwd); err != nil {
			return nil, err
		}
	}
	if len(p.Args) == 0 {
		return nil, errors.New("process.args must not be empty")
	}
	path, err := lookPath(p.Args[0], env)
	if err != nil {
		return nil, fmt.Errorf("exec: %q: %w", p.Args[0], err)
	}
	if p.NoNewPrivileges {
		if err := loadSeccomp(cfg); err != nil {
			return nil, err
		}
	}
	return &userProcess{path: path, args: p.Args, env: env, rlimits: p.Rlimits}, nil
}

// loadSeccomp loads the filter into this locked thread and, when it
// notifies, hands the listener fd and the state to the agent before this
// thread makes any other syscall: every one it makes from the load on (an
// fcntl of os.NewFile, the close of the fd, the openat of a lookup, the
// final execve) may be one the agent is to answer, and would wait forever
// for an agent that has no fd yet. So the connection is wrapped before the
// load, and the send and the close run on another, unfiltered thread while
// this one waits on a channel (a futex, which a profile can't usefully
// notify).
func loadSeccomp(cfg *Config) error {
	filter := cfg.Seccomp
	if !filter.Notifies() {
		_, err := filter.Load()
		return err
	}
	if cfg.SeccompFD == 0 || cfg.State == nil {
		return errors.New("linux.seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath")
	}
	state := *cfg.State
	if state.Pid == 0 {
		state.Pid = cfg.HostPid
	}
	msg := &specs.ContainerProcessState{Pid: cfg.HostPid, State: state}
	conn := os.NewFile(uintptr(cfg.SeccompFD), "seccomp-listener")
	notify, err := filter.Load()
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		defer notify.Close()
		done <- seccomp.SendState(conn, cfg.Spec.Linux.Seccomp, notify, msg)
	}()
	return <-done
}

func (p *userProcess) exec() error {
	if err := setRlimits(p.rlimits, true); err != nil {
		return err
	}
	if err := unix.Exec(p.path, p.args, p.env); err != nil {
		return fmt.Errorf("exec %s: %w", p.path, err)
	}
	return nil
}

// lateRlimit tells the rlimits that limit memory the stage's Go runtime
// may still need to map: they are set right before execve, once the stage
// has done all its work.
func lateRlimit(typ string) bool { return typ == "RLIMIT_AS" || typ == "RLIMIT_DATA" }

// setRlimits sets process.rlimits: the early pass all but the late ones, while
// privileged, and for those it only raises a hard limit that needs raising
// (which takes CAP_SYS_RESOURCE); the late pass sets them fully.
func setRlimits(rls []specs.POSIXRlimit, late bool) error {
	for _, rl := range rls {
		res, ok := vocab.RlimitResource(rl.Type)
		if !ok {
			return fmt.Errorf("process.rlimits: unknown type %q", rl.Type)
		}
		want := syscall.Rlimit{Cur: rl.Soft, Max: rl.Hard}
		switch {
		case late && !lateRlimit(rl.Type):
			continue
		case !late && lateRlimit(rl.Type):
			var cur syscall.Rlimit
			if err := syscall.Getrlimit(res, &cur); err != nil || cur.Max >= rl.Hard {
				continue
			}
			want.Cur = min(cur.Cur, rl.Hard)
		}
		// syscall.Setrlimit, not x/sys: it also stops the Go runtime from
		// restoring its own RLIMIT_NOFILE at exec.
		if err := syscall.Setrlimit(res, &want); err != nil {
			return fmt.Errorf("set rlimit %s to %d:%d: %w", rl.Type, rl.Soft, rl.Hard, err)
		}
	}
	return nil
}

// resolveUser returns the uid, gid and home of the process. A name given to
// exec --user is looked up in the container's /etc/passwd and /etc/group,
// which this process sees as its own since it is in the container's mounts.
func resolveUser(p *specs.Process, name, passwd, group string) (*user.ExecUser, error) {
	defaults := &user.ExecUser{Uid: int(p.User.UID), Gid: int(p.User.GID), Home: "/"}
	who := name
	if who == "" {
		who = strconv.Itoa(int(p.User.UID)) + ":" + strconv.Itoa(int(p.User.GID))
	}
	u, err := user.GetExecUserPath(who, defaults, passwd, group)
	if err != nil {
		return nil, fmt.Errorf("resolve user %q: %w", who, err)
	}
	// The files are the image's, and their ids are taken as written: -1
	// would make setresuid(2) keep root, and anything past 32 bits would
	// be cut down to another id, 0 among them.
	for _, id := range append([]int{u.Uid, u.Gid}, u.Sgids...) {
		if id < 0 || id > math.MaxUint32-1 {
			return nil, fmt.Errorf("resolve user %q: id %d in the container's %s or %s is not a valid uid or gid", who, id, passwd, group)
		}
	}
	return u, nil
}

// passwdPath and groupPath are the container's user and group files, as
// the stage sees them from inside the container's mounts.
const passwdPath, groupPath = "/etc/passwd", "/etc/group"

// chownStdio gives the process's user its stdio, as runc does: its pty, or
// a pipe or socket from the caller, owned by root and mode 0600 or 0620,
// would otherwise be closed to a non-root user reopening /dev/stdout or its
// tty. Only the uid changes (devpts names the tty group). Unlike runc, a
// device is changed only when it is the container's own pty (tty): a host
// terminal passed as stdio is not handed to a host user of the same uid.
// Files and directories are the host's and stay as they are.
func chownStdio(uid int, tty bool) error {
	for fd := 0; fd <= 2; fd++ {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			if errors.Is(err, unix.EBADF) {
				continue
			}
			return fmt.Errorf("stat fd %d: %w", fd, err)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
			if !tty {
				continue
			}
		case unix.S_IFIFO, unix.S_IFSOCK:
		default:
			continue
		}
		if int(st.Uid) == uid {
			continue
		}
		// EINVAL: the gid isn't mapped in the user namespace; EPERM: the
		// owner isn't; EROFS: a read-only /dev. Then the stdio stays as is.
		if err := unix.Fchown(fd, uid, int(st.Gid)); err != nil &&
			!errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EROFS) {
			return fmt.Errorf("chown fd %d to uid %d: %w", fd, uid, err)
		}
	}
	return nil
}

func switchUser(u *user.ExecUser, extra []uint32) error {
	groups := make([]int, 0, len(extra)+len(u.Sgids))
	for _, g := range extra {
		groups = append(groups, int(g))
	}
	groups = append(groups, u.Sgids...)
	if err := syscall.Setgroups(groups); err != nil && !(errors.Is(err, unix.EPERM) && len(groups) == 0) {
		return fmt.Errorf("setgroups %v: %w", groups, err)
	}
	if err := unix.Setresgid(u.Gid, u.Gid, u.Gid); err != nil {
		return fmt.Errorf("setgid %d: %w", u.Gid, err)
	}
	// Keep the permitted set across the uid change; applyCapabilities then
	// sets exactly the configured sets.
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("set keepcaps: %w", err)
	}
	if err := unix.Setresuid(u.Uid, u.Uid, u.Uid); err != nil {
		return fmt.Errorf("setuid %d: %w", u.Uid, err)
	}
	// The uid and gid changes reset dumpability to fs.suid_dumpable: the
	// stage stays closed to the container's processes until its execve
	// (see libcontainer/nsenter).
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("make the process non-dumpable: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("clear keepcaps: %w", err)
	}
	return nil
}

// enterCwd changes to the process's cwd and makes sure it is inside the
// container's root: a cwd reached through a leaked fd would print as
// "(unreachable)..." (CVE-2024-21626). The error does not say where such a
// cwd led: that would name a host path to whoever reads the error.
func enterCwd(cwd string) error {
	if cwd == "" {
		cwd = "/"
	}
	if err := unix.Chdir(cwd); err != nil {
		return fmt.Errorf("chdir to cwd (%q) set in config.json: %w", cwd, err)
	}
	if wd, err := unix.Getwd(); err != nil || !strings.HasPrefix(wd, "/") {
		return fmt.Errorf("cwd (%q) set in config.json: refused, it leads outside the container's root", cwd)
	}
	return nil
}

// lookPath finds an executable the way execvp would, with the container's
// PATH. Errors keep the texts clients classify ("no such file or directory",
// "executable file not found in $PATH", "permission denied"). It runs with
// the process's final credentials, so it judges as execve(2) will: it must
// never refuse a file execve would run, and what it refuses, execve would.
func lookPath(file string, env []string) (string, error) {
	if strings.Contains(file, "/") {
		return file, checkExecutable(file)
	}
	pathEnv, _ := envValue(env, "PATH")
	for _, dir := range filepath.SplitList(pathEnv) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", errors.New("executable file not found in $PATH")
}

// checkExecutable tells whether execve(2) of path may succeed, as far as
// the file goes: a directory fails with EACCES ("permission denied"), as
// execve does, and so does a file the process may not execute. The check
// is faccessat2 with AT_EACCESS, which, like execve, uses the effective
// ids and capabilities: access(2) would take the real ones, and for a uid
// other than 0 none of its capabilities, refusing a process with
// CAP_DAC_OVERRIDE what the kernel lets it run. (With CAP_DAC_OVERRIDE a
// file still needs one execute bit, for execve and for this check alike.)
func checkExecutable(path string) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return fs.ErrPermission
	}
	// Without faccessat2 (or where a seccomp filter loaded before this
	// point refuses it), x/sys judges by the mode bits and ids itself.
	if err := unix.Faccessat(unix.AT_FDCWD, path, unix.X_OK, unix.AT_EACCESS); err != nil {
		if errors.Is(err, unix.EACCES) {
			return fs.ErrPermission
		}
		return err
	}
	return nil
}
