package stage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/nsenter"
)

// errExited: the stage closed its end of the socket without a message.
var errExited = errors.New("container process exited")

// IsExited tells whether err is a stage that ended without a word.
func IsExited(err error) bool { return errors.Is(err, errExited) }

// Opts describes a stage to start: the files it gets and what husk does
// while its preamble runs. Create and exec fill it alike; Spawn lays the
// files out as the stage's fds and tells the stage their numbers (Config).
type Opts struct {
	Mode  Mode
	Dir   string // working directory (the bundle for init)
	Stdio [3]*os.File
	// PreserveFDs is --preserve-fds: husk's fds 3.. pass on to the
	// container at the same numbers (with systemd's LISTEN_FDS).
	PreserveFDs int
	Fifo        *os.File // init: the exec fifo, O_PATH
	Console     *os.File // a connection to --console-socket, or husk's own pair
	Agent       *os.File // the connection to linux.seccomp.listenerPath
	// Sources, if set, makes the init's bind and idmapped mount sources
	// (see SourceFunc) instead of the init opening them itself.
	Sources SourceFunc
	// Settings go to the preamble once husk knows them: Configure.
	Settings Settings
	// Setup, if set, runs when the stage is in its user namespace, before
	// it creates the others: it gets the pid of the preamble process.
	Setup func(pid int) error
	// Limits, if set, runs while the preamble joins the cgroup and forks:
	// writing the cgroup's limits overlaps with that, and the process
	// does nothing of the container's before it has its config.
	Limits func() error
	// Warn and Debug (nil: no --debug) receive the stage's messages.
	Warn, Debug func(msg string)
	// InitialAffinity, if set, runs on the thread that starts the stage,
	// so the stage is born with that CPU mask (exec's
	// execCPUAffinity.initial).
	InitialAffinity func() error

	preserved  []*os.File
	internal   []*os.File // after the sync socket
	sourceInit *os.File   // the init's end of the mount source socket
	rootfsInit *os.File   // a C init's end of the rootfs socket (cinit.go)
}

// Stage is a started init or exec stage, as husk sees it.
type Stage struct {
	opts     *Opts
	preamble int // the preamble's first process, until reaped
	pid      int // the final process, once known
	sock     *os.File
	dec      *msgReader
	sources  *os.File // husk's end of the mount source socket, until served
	rootfs   *os.File // husk's end of a C init's rootfs socket, until built
	cfg      *Config  // what Configure sent, or would have
}

// Pid is the stage's final process, once Configure has returned.
func (s *Stage) Pid() int { return s.pid }

// Start spawns a stage and carries it through its preamble (Spawn, then
// Configure).
func Start(o *Opts, cfg *Config) (*Stage, error) {
	s, err := Spawn(o, cfg)
	if err != nil {
		return nil, err
	}
	if err := s.Configure(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// Spawn starts husk's own binary, from its read-only copy, as a stage of
// o.Mode, and sets cfg's fd numbers. Its preamble waits for its settings
// (Configure), so husk can prepare the rest (the cgroup) while the binary
// is exec'd.
func Spawn(o *Opts, cfg *Config) (*Stage, error) {
	cfg.Mode = o.Mode
	cfg.Debug = o.Debug != nil
	var sources, rootfsSock *os.File
	var err error
	o.sourceInit, o.rootfsInit = nil, nil
	switch {
	case o.Console == nil && o.Agent == nil && directInit(cfg, &o.Settings):
		// husk's own thread makes the mounts: no sources to serve.
		if rootfsSock, o.rootfsInit, err = newSeqpacket("the container's rootfs"); err != nil {
			return nil, err
		}
		defer o.rootfsInit.Close()
	case o.Sources != nil:
		if sources, o.sourceInit, err = newSeqpacket("mount sources"); err != nil {
			return nil, err
		}
		// The init has its own copy once spawned, or never will.
		defer o.sourceInit.Close()
	}
	o.layout(cfg)
	err = o.directExec(cfg)
	var s *Stage
	if err == nil {
		s, err = spawnOnThread(o)
	}
	if err != nil {
		for _, f := range []*os.File{sources, rootfsSock} {
			if f != nil {
				f.Close()
			}
		}
		return nil, err
	}
	s.sources, s.rootfs = sources, rootfsSock
	return s, nil
}

// directExec has the preamble set up an exec's process, or a C init's,
// itself when it can (direct.go, cinit.go), with the Go stage's warnings
// given here.
func (o *Opts) directExec(cfg *Config) error {
	o.Settings.Exec, o.Settings.Program = nil, nil
	if !direct(cfg) && o.rootfsInit == nil {
		return nil
	}
	set, warnings, err := directSettings(cfg)
	if err != nil {
		return err
	}
	if o.rootfsInit != nil {
		set = append(set, o.initSettings(cfg)...)
	}
	o.Settings.Exec = set
	if cfg.Seccomp != nil {
		o.Settings.Program, _ = cfg.Seccomp.Program()
	}
	for _, w := range warnings {
		if o.Warn != nil {
			o.Warn(w)
		}
	}
	return nil
}

// spawnOnThread spawns the stage, from a thread of its own when it must be
// born with o.InitialAffinity.
func spawnOnThread(o *Opts) (*Stage, error) {
	if o.InitialAffinity == nil {
		return spawn(o)
	}
	// From a thread of its own carrying the mask; the thread is never
	// unlocked: it ends with its goroutine instead of returning to the
	// pool with the mask.
	type started struct {
		s   *Stage
		err error
	}
	ch := make(chan started)
	go func() {
		runtime.LockOSThread()
		if err := o.InitialAffinity(); err != nil {
			ch <- started{nil, err}
			return
		}
		s, err := spawn(o)
		ch <- started{s, err}
	}()
	r := <-ch
	return r.s, r.err
}

// layout places the files: stdio, the preserved fds, the sync socket, then
// the internal ones, whose numbers cfg gets.
func (o *Opts) layout(cfg *Config) {
	n := o.PreserveFDs + listenFDs()
	o.preserved = make([]*os.File, n)
	for i := range o.preserved {
		o.preserved[i] = os.NewFile(uintptr(3+i), "preserved-fd-"+strconv.Itoa(3+i))
	}
	if n := listenFDs(); n > 0 {
		// Socket activation reaches the container's process, where the
		// fds keep their numbers and the process is pid 1.
		cfg.ExtraEnv = append(cfg.ExtraEnv, "LISTEN_FDS="+strconv.Itoa(n), "LISTEN_PID=1")
	}
	o.internal = nil
	add := func(f *os.File) int {
		o.internal = append(o.internal, f)
		return 3 + len(o.preserved) + len(o.internal)
	}
	if o.Fifo != nil {
		cfg.FifoFD = add(o.Fifo)
	}
	if o.Console != nil {
		cfg.ConsoleFD = add(o.Console)
	}
	if o.Agent != nil {
		cfg.SeccompFD = add(o.Agent)
	}
	if o.Settings.JoinPidfd != nil {
		add(o.Settings.JoinPidfd)
	}
	cfg.SourceFD = 0
	if o.sourceInit != nil {
		cfg.SourceFD = add(o.sourceInit)
	}
	if o.rootfsInit != nil {
		add(o.rootfsInit)
	}
}

// fdOf is the number an internal file has in the stage.
func (o *Opts) fdOf(f *os.File) int {
	for i, g := range o.internal {
		if g == f {
			return 3 + len(o.preserved) + 1 + i
		}
	}
	return -1
}

func listenFDs() int {
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func spawn(o *Opts) (*Stage, error) {
	view, err := sealedSelf()
	if err != nil {
		return nil, err
	}
	defer view.close()
	self := view.exe
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	parent, child := os.NewFile(uintptr(fds[0]), "sync"), os.NewFile(uintptr(fds[1]), "sync-child")
	defer child.Close()

	// Our binary comes last (exec'd via /proc/self/fd). The preamble
	// closes its fd and any above it (_HUSK_NFDS): fds husk's caller
	// leaked to it without close-on-exec are open there too.
	extra := append(append(append([]*os.File{}, o.preserved...), child), o.internal...)
	extra = append(extra, self)
	selfFD := 3 + len(extra) - 1
	files := make([]uintptr, 0, 3+len(extra))
	for _, f := range append(o.Stdio[:], extra...) {
		files = append(files, f.Fd())
	}
	// syscall.ForkExec rather than os/exec: the os package probes pidfd
	// support with a throw-away clone before its first start, a cost on
	// every create and exec.
	// One P: the stage runs on one locked thread, and every extra thread
	// the runtime starts is one more for execve to stop.
	env := []string{"GOMAXPROCS=1", envSyncFD + "=" + strconv.Itoa(3+len(o.preserved)),
		envNFDs + "=" + strconv.Itoa(selfFD)}
	// make bench times each husk process's start-up with Go's init trace,
	// the stage's too (on its stderr, the container's); nothing else of
	// husk's environment reaches a stage.
	if strings.Contains(os.Getenv("GODEBUG"), "inittrace=1") {
		env = append(env, "GODEBUG=inittrace=1")
	}
	var pid int
	err = nsenter.WithCallerSlack(func() (err error) {
		pid, err = syscall.ForkExec("/proc/self/fd/"+strconv.Itoa(selfFD), []string{"husk", string(o.Mode)}, &syscall.ProcAttr{
			Dir:   o.Dir,
			Env:   env,
			Files: files,
		})
		return err
	})
	if err != nil {
		parent.Close()
		return nil, fmt.Errorf("start %s stage: %w", o.Mode, err)
	}
	return &Stage{opts: o, preamble: pid, sock: parent, dec: newMsgReader(parent)}, nil
}

// waitPreamble reaps the preamble's first process, which exits once it has
// forked the final one.
func (s *Stage) waitPreamble() error {
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(s.preamble, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		s.preamble = 0
		switch {
		case err != nil:
			return err
		case ws.Signaled():
			return fmt.Errorf("killed by %s", unix.SignalName(ws.Signal()))
		case ws.ExitStatus() != 0:
			return fmt.Errorf("exit status %d", ws.ExitStatus())
		}
		return nil
	}
}

// Configure sends the preamble its settings (sent now so they can depend
// on what husk did after Spawn) and carries it through its handshake. On
// success the stage is in all its namespaces, its pid is known, and it has
// cfg. On failure it is killed.
func (s *Stage) Configure(cfg *Config) error {
	o := s.opts
	set := o.Settings
	set.Setup = o.Setup != nil
	if err := sendSettings(s.sock, set.encode(o.fdOf), set.Program); err != nil {
		return s.fail(err)
	}
	if o.Setup != nil {
		if _, err := s.expect(msgSetup); err != nil {
			return s.fail(err)
		}
		if err := o.Setup(s.preamble); err != nil {
			return s.fail(err)
		}
		if err := s.send(&syncMsg{Type: msgAck}); err != nil {
			return s.fail(err)
		}
	}
	if o.Limits != nil {
		if err := o.Limits(); err != nil {
			return s.fail(err)
		}
	}
	m, err := s.expect(msgPid)
	if err != nil {
		// Say how the preamble ended, when it did without a word.
		if s.preamble > 0 && errors.Is(err, errExited) {
			if werr := s.waitPreamble(); werr != nil {
				err = fmt.Errorf("%w: %v", err, werr)
			}
		}
		return s.fail(err)
	}
	s.pid = m.Pid
	cfg.HostPid = m.Pid
	s.cfg = cfg
	if err := s.waitPreamble(); err != nil {
		return s.fail(fmt.Errorf("namespace preamble: %w", err))
	}
	if set.Exec != nil {
		return nil // the preamble sets the process up itself (and a C init's rootfs comes from AwaitReady)
	}
	if err := sendConfig(s.sock, cfg); err != nil {
		return s.fail(err)
	}
	return nil
}

// AwaitReady serves an init until it waits for start. When its mounts are
// ready it asks for the hooks of the runtime namespace: hooks runs them and
// returns the state the init passes to createContainer hooks.
func (s *Stage) AwaitReady(hooks func() (*specs.State, error)) error {
	if s.rootfs != nil {
		if err := s.buildRootfs(hooks); err != nil {
			return err
		}
	}
	if s.sources != nil {
		defer serveSources(s.sources, s.pid, s.opts.Sources)()
		s.sources = nil
	}
	for {
		m, err := s.next()
		if err == io.EOF {
			return s.gone(errors.New("container init closed its sync socket during setup without an error"))
		}
		if err != nil {
			return err
		}
		switch m.Type {
		case msgReady:
			return nil
		case msgHooks:
			state, err := hooks()
			if err != nil {
				return err
			}
			if err := s.send(&syncMsg{Type: msgHooked, State: state}); err != nil {
				return s.gone(err)
			}
		default:
			return fmt.Errorf("container init sent unexpected %q", m.Type)
		}
	}
}

// AwaitExec waits for an exec stage's execve, which closes its end of the
// socket; anything it sends before that is an error.
func (s *Stage) AwaitExec() error {
	_, err := s.next()
	if err == io.EOF {
		return nil
	}
	s.Kill()
	if err == nil {
		err = errors.New("exec stage sent an unexpected message")
	}
	return err
}

// gone explains a sync socket that broke during setup by how the stage
// ended (a signal, the OOM killer), which is the cause the user needs.
func (s *Stage) gone(err error) error {
	if how := s.exitCause(); how != "" {
		return fmt.Errorf("container init %s during setup", how)
	}
	return err
}

// fail kills the stage (preamble and final process) and closes husk's end.
func (s *Stage) fail(err error) error {
	s.Kill()
	s.Close()
	return err
}

func (s *Stage) send(m *syncMsg) error {
	if err := writeMsg(s.sock, m); err != nil {
		return fmt.Errorf("send %s to the container process: %w", m.Type, err)
	}
	return nil
}

// next reads the stage's next message. An error message from the stage
// becomes the returned error, so the user sees the cause inside the
// container, not a broken pipe.
func (s *Stage) next() (*syncMsg, error) {
	var m syncMsg
	err := s.dec.read(&m)
	for err == nil && (m.Type == msgWarn || m.Type == msgDebug) {
		if m.Type == msgWarn && s.opts.Warn != nil {
			s.opts.Warn(m.Msg)
		} else if m.Type == msgDebug && s.opts.Debug != nil {
			s.opts.Debug(m.Msg)
		}
		m = syncMsg{}
		err = s.dec.read(&m)
	}
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read from the container process: %w", err)
	}
	if m.Type == msgError {
		// An empty message would leave the user with no cause at all.
		if m.Msg == "" {
			m.Msg = "container process reported an error without saying what"
		}
		if m.Hook {
			return nil, &HookError{errors.New(m.Msg)}
		}
		return nil, errors.New(m.Msg)
	}
	// husk signals, waits for and records this pid: 0 or a negative one
	// would reach kill(2) and wait4(2) as a process group or as every
	// process.
	if m.Type == msgPid && m.Pid <= 0 {
		return nil, fmt.Errorf("container process sent an invalid pid %d", m.Pid)
	}
	return &m, nil
}

func (s *Stage) expect(typ string) (*syncMsg, error) {
	m, err := s.next()
	if err == io.EOF {
		return nil, fmt.Errorf("%w before sending %q", errExited, typ)
	}
	if err != nil {
		return nil, err
	}
	if m.Type != typ {
		return nil, fmt.Errorf("container process sent %q, expected %q", m.Type, typ)
	}
	return m, nil
}

// Kill ends the processes of a stage that failed and reaps them (the
// final one is our child too, through CLONE_PARENT).
func (s *Stage) Kill() {
	if s.preamble > 0 {
		_ = unix.Kill(s.preamble, unix.SIGKILL)
		_ = s.waitPreamble()
	}
	if s.pid <= 0 {
		return
	}
	_ = unix.Kill(s.pid, unix.SIGKILL)
	var ws unix.WaitStatus
	_, _ = unix.Wait4(s.pid, &ws, 0, nil)
	s.pid = 0
}

// exitCause says how the stage's final process ended ("killed by
// SIGKILL", "exit status 2") when it closed the socket without a message,
// giving it a second to be gone; "" if it is still alive.
func (s *Stage) exitCause() string {
	if s.pid <= 0 {
		return ""
	}
	var ws unix.WaitStatus
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		pid, err := unix.Wait4(s.pid, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR || (err == nil && pid == 0) {
			continue
		}
		if err != nil {
			return ""
		}
		s.pid = 0
		if ws.Signaled() {
			return "was killed by " + unix.SignalName(ws.Signal())
		}
		return fmt.Sprintf("exited with status %d", ws.ExitStatus())
	}
	return ""
}

// Close drops husk's end of the sync socket (and of the mount source
// socket, if it was never served, or of a C init's rootfs socket).
func (s *Stage) Close() {
	s.sock.Close()
	for _, f := range []**os.File{&s.sources, &s.rootfs} {
		if *f != nil {
			(*f).Close()
			*f = nil
		}
	}
}
