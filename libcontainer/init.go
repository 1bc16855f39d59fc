package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/hooks"
	"github.com/husk-runtime/husk/libcontainer/rootfs"
	"github.com/husk-runtime/husk/spec/vocab"
)

// StageMain is the Go half of the init ("init") and exec ("exec") stages,
// entered by main after the C preamble put this process in the container's
// namespaces. It never returns: it execs the user process or exits.
func StageMain(mode string) {
	// Credentials, capabilities, no_new_privs and seccomp are per thread
	// until execve: do all of it, and the execve, on this one thread.
	runtime.LockOSThread()
	conn, cfg, err := readConfig()
	if conn != nil {
		// Warnings (capabilities left out, ...) go to husk, which logs
		// them: the stage's stderr is the container's.
		Warn = func(msg string) {
			if conn.send(&syncMsg{Type: msgWarn, Msg: msg}) != nil {
				fmt.Fprintln(os.Stderr, msg)
			}
		}
	}
	if err == nil && cfg.Debug && conn != nil {
		Debug = func(msg string) { _ = conn.send(&syncMsg{Type: msgDebug, Msg: msg}) }
	}
	if err == nil {
		debugf("%s stage: in the container's namespaces (pid %d there, %d on the host), config received", mode, os.Getpid(), cfg.HostPid)
		if mode == "exec" {
			err = execStage(cfg)
		} else {
			err = initStage(conn, cfg)
		}
	}
	var herr *hookError
	if conn != nil && conn.send(&syncMsg{Type: msgError, Msg: err.Error(), Hook: errors.As(err, &herr)}) == nil {
		os.Exit(1)
	}
	// Nobody listens any more (after create returned): stderr is all we
	// have, and the error goes there bare, as runc's does (`exec /run.sh:
	// no such file or directory`), with runc's exit status for a process
	// that never ran.
	fmt.Fprintln(os.Stderr, err.Error())
	os.Exit(255)
}

// stageConn is the stage's end of the sync socket.
type stageConn struct {
	f   *os.File
	dec *json.Decoder
}

func (c *stageConn) send(m *syncMsg) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = c.f.Write(append(data, '\n'))
	return err
}

func (c *stageConn) recv(typ string) (*syncMsg, error) {
	var m syncMsg
	if err := c.dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("wait for %s from husk: %w", typ, err)
	}
	if m.Type != typ {
		return nil, fmt.Errorf("husk sent %q, expected %q", m.Type, typ)
	}
	return &m, nil
}

// readConfig takes the sync socket and the stage's config. Every fd past the
// preserved ones is husk's own and must not survive the final execve.
func readConfig() (*stageConn, *stageConfig, error) {
	fd, err := strconv.Atoi(os.Getenv("_HUSK_SYNCFD"))
	if err != nil {
		return nil, nil, fmt.Errorf("bad _HUSK_SYNCFD: %w", err)
	}
	f := os.NewFile(uintptr(fd), "sync")
	conn := &stageConn{f: f, dec: json.NewDecoder(f)}
	if err := closeExecFrom(fd); err != nil {
		return conn, nil, err
	}
	m, err := conn.recv(msgConfig)
	if err != nil {
		return conn, nil, err
	}
	return conn, m.Config, nil
}

// initStage builds the container (mounts, pivot_root, console, hostname),
// prepares the process, reports ready, waits on the exec fifo and execs.
func initStage(conn *stageConn, cfg *stageConfig) error {
	s := cfg.Spec
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	rc := &rootfs.Config{
		Spec:          s,
		NoPivot:       cfg.NoPivot,
		CgroupPaths:   cfg.CgroupPaths,
		CgroupNS:      vocab.HasNewNamespace(s, specs.CgroupNamespace),
		SharedMountNS: !vocab.HasNamespace(s, specs.MountNamespace),
		IDMapped:      idmappedFiles(cfg.IDMappedFDs),
		Procfs:        new(rootfs.Procfs),
	}
	debugf("init: preparing the root filesystem %s (%d mounts)", s.Root.Path, len(s.Mounts))
	err := rootfs.Prepare(rc)
	// The idmapped mounts are in place (or create failed): their handles
	// reach host directories and have no business staying open.
	for _, f := range rc.IDMapped {
		f.Close()
	}
	if err != nil {
		return err
	}
	if err := runCreateHooks(conn, s); err != nil {
		return err
	}
	if err := rootfs.Pivot(rc); err != nil {
		return err
	}
	debugf("init: root filesystem in place (no_pivot=%v)", cfg.NoPivot)
	if cfg.Process.Terminal {
		if err := setupConsole(cfg.ConsoleFD, true, cfg.Process.ConsoleSize); err != nil {
			return err
		}
	}
	if err := rootfs.Finalize(rc); err != nil {
		return err
	}
	if err := setHostname(s); err != nil {
		return err
	}
	if !cfg.NoNewKeyring {
		if _, err := unix.KeyctlJoinSessionKeyring("_ses." + cfg.ID); err != nil && !errors.Is(err, unix.ENOSYS) {
			return fmt.Errorf("join session keyring: %w", err)
		}
	}
	debugf("init: hostname, keyring and console set; preparing process %q", cfg.Process.Args)
	p, err := prepareProcess(cfg)
	if err != nil {
		return err
	}
	rc.Procfs.Close()
	debugf("init: process %s ready; waiting on the exec fifo for start", p.path)
	// husk stops reading the sync socket once the init is ready.
	Debug = nil
	if err := conn.send(&syncMsg{Type: msgReady}); err != nil {
		return err
	}
	// From here husk's create has returned: errors go to stderr, or to
	// start through the fifo.
	fifo, err := awaitStart(cfg, s, p.env)
	// start was killed between opening the fifo and reading it: the
	// container stays created, for the next start.
	for errors.Is(err, unix.EPIPE) {
		fifo, err = awaitStart(cfg, s, p.env)
	}
	if err != nil {
		return err
	}
	// The fifo's write end stays open until the execve closes it (it is
	// close-on-exec): start returns at that EOF, so once it has, the
	// user's process runs, under its exec labels.
	err = p.exec()
	runtime.KeepAlive(fifo)
	return err
}

// awaitStart waits for start to open the exec fifo, runs the
// startContainer hooks and tells start, through the fifo, that the process
// is about to be exec'd ("0") or why it is not. Hooks without an env of
// their own get env, the process's environment, as in runc. On success it
// returns the fifo's write end, for the caller to keep open until execve.
func awaitStart(cfg *stageConfig, s *specs.Spec, env []string) (*os.File, error) {
	fifo, err := os.OpenFile("/proc/self/fd/"+strconv.Itoa(cfg.FifoFD), unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open exec fifo: %w", err)
	}
	if h := s.Hooks; h != nil && len(h.StartContainer) > 0 {
		state := &specs.State{Version: specs.Version, ID: cfg.ID, Status: "created", Pid: 1, Annotations: s.Annotations}
		if err := hooks.Run("startContainer", hooks.WithDefaultEnv(h.StartContainer, env), state); err != nil {
			_, _ = fifo.WriteString(err.Error())
			fifo.Close()
			return nil, err
		}
	}
	if _, err := fifo.WriteString("0"); err != nil {
		fifo.Close()
		return nil, fmt.Errorf("write exec fifo: %w", err)
	}
	return fifo, nil
}

// runCreateHooks has husk run prestart and createRuntime hooks in the
// runtime namespace, then runs createContainer hooks here, in the
// container's namespaces before pivot_root, as the spec orders.
func runCreateHooks(conn *stageConn, s *specs.Spec) error {
	h := s.Hooks
	//nolint:staticcheck // prestart is deprecated but still honoured
	if h == nil || len(h.Prestart)+len(h.CreateRuntime)+len(h.CreateContainer) == 0 {
		return nil
	}
	if err := conn.send(&syncMsg{Type: msgHooks}); err != nil {
		return err
	}
	m, err := conn.recv(msgHooked)
	if err != nil {
		return err
	}
	if err := hooks.Run("createContainer", h.CreateContainer, m.State); err != nil {
		return &hookError{err}
	}
	return nil
}

func setHostname(s *specs.Spec) error {
	if s.Hostname != "" {
		if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
			return fmt.Errorf("sethostname %q: %w", s.Hostname, err)
		}
	}
	if s.Domainname != "" {
		if err := unix.Setdomainname([]byte(s.Domainname)); err != nil {
			return fmt.Errorf("setdomainname %q: %w", s.Domainname, err)
		}
	}
	return nil
}

// execStage runs a new process in a running container: the preamble joined
// its namespaces; what is left is the process's own settings.
func execStage(cfg *stageConfig) error {
	if cfg.Process.Terminal {
		if _, err := unix.Setsid(); err != nil {
			return fmt.Errorf("setsid: %w", err)
		}
		if err := setupConsole(cfg.ConsoleFD, false, cfg.Process.ConsoleSize); err != nil {
			return err
		}
	}
	debugf("exec stage: preparing process %q", cfg.Process.Args)
	p, err := prepareProcess(cfg)
	if err != nil {
		return err
	}
	debugf("exec stage: executing %s", p.path)
	return p.exec()
}

// closeExecFrom marks every fd from first up close-on-exec, so nothing of
// husk's (sockets, the fifo, its binary, fds it inherited from a client)
// reaches the container (CVE-2024-21626).
func closeExecFrom(first int) error {
	// One syscall since Linux 5.11; listing /proc/self/fd otherwise.
	if unix.CloseRange(uint(first), ^uint(0), unix.CLOSE_RANGE_CLOEXEC) == nil {
		return nil
	}
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list fds: %w", err)
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < first {
			continue
		}
		unix.CloseOnExec(fd)
	}
	return nil
}

// dedupEnv keeps one entry per name, the last one given, at the place of
// that last one (as runc: `ONE=two`, `ONE=three` reaches the process once).
func dedupEnv(env []string) []string {
	seen := make(map[string]bool, len(env))
	keep := make([]bool, len(env))
	n := 0
	for i := len(env) - 1; i >= 0; i-- {
		k, _, _ := strings.Cut(env[i], "=")
		if !seen[k] {
			seen[k] = true
			keep[i] = true
			n++
		}
	}
	if n == len(env) {
		return env
	}
	out := make([]string, 0, n)
	for i, kv := range env {
		if keep[i] {
			out = append(out, kv)
		}
	}
	return out
}

// setEnv sets key to val in a deduplicated env: in place when it is there,
// appended when not.
func setEnv(env []string, key, val string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			env[i] = key + "=" + val
			return env
		}
	}
	return append(env, key+"="+val)
}

func envValue(env []string, key string) (string, bool) {
	for i := len(env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}
