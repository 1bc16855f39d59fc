package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/seccomp"
)

// syncMsg is one line on the socket between husk and its init or exec stage.
type syncMsg struct {
	Type   string       `json:"type"`
	Pid    int          `json:"pid,omitempty"`
	Msg    string       `json:"msg,omitempty"`
	Hook   bool         `json:"hook,omitempty"` // the error is a failed hook's
	State  *specs.State `json:"state,omitempty"`
	Config *stageConfig `json:"config,omitempty"`
}

const (
	msgSetup  = "setup"  // stage -> husk: place me in the cgroup, write my id maps
	msgAck    = "ack"    // husk -> stage
	msgPid    = "pid"    // stage -> husk: the final process's pid
	msgConfig = "config" // husk -> stage
	msgHooks  = "hooks"  // init -> husk: mounts are done, run prestart/createRuntime
	msgHooked = "hooked" // husk -> init, with the state for createContainer hooks
	msgReady  = "ready"  // init -> husk: waiting for start
	msgError  = "error"  // stage -> husk
	msgWarn   = "warn"   // stage -> husk: a warning for husk's log; the stage goes on
	msgDebug  = "debug"  // stage -> husk: a step, for husk's --debug log
)

// stageConfig is everything the init or exec stage needs, sent once the
// stage is in its namespaces.
type stageConfig struct {
	Exec         bool              `json:"exec,omitempty"`
	ID           string            `json:"id"`
	Spec         *specs.Spec       `json:"spec"`
	Process      *specs.Process    `json:"process"`
	User         string            `json:"user,omitempty"` // exec --user name[:group], resolved in the container
	NoPivot      bool              `json:"no_pivot,omitempty"`
	NoNewKeyring bool              `json:"no_new_keyring,omitempty"`
	CgroupPaths  map[string]string `json:"cgroup_paths,omitempty"`
	PreserveFDs  int               `json:"preserve_fds,omitempty"`
	ExtraEnv     []string          `json:"extra_env,omitempty"`
	FifoFD       int               `json:"fifo_fd,omitempty"`
	ConsoleFD    int               `json:"console_fd,omitempty"`
	IDMappedFDs  map[int]int       `json:"idmapped_fds,omitempty"` // mounts index -> fd of its prepared idmapped mount
	// Seccomp is linux.seccomp, compiled by husk for the stage to load.
	Seccomp *seccomp.Filter `json:"seccomp,omitempty"`
	// SeccompFD is husk's connection to linux.seccomp.listenerPath: the
	// stage sends its notify fd there, with State, whose pid is the
	// stage's HostPid when 0.
	SeccompFD int          `json:"seccomp_fd,omitempty"`
	State     *specs.State `json:"state,omitempty"`
	HostPid   int          `json:"host_pid,omitempty"` // the stage's pid as husk sees it
	// Debug: husk logs at debug level; the stage sends its steps.
	Debug bool `json:"debug,omitempty"`
}

// errExited: the stage closed its end of the socket without a message.
var errExited = errors.New("container process exited")

// stageOpts describes a stage to start.
type stageOpts struct {
	Mode  string   // "init" or "exec"
	Dir   string   // working directory (the bundle for init)
	Env   []string // _HUSK_* settings for the C preamble
	Stdio [3]*os.File
	// Preserved become fds 3..3+len-1 in the stage; Internal follow them.
	Preserved []*os.File
	Internal  []*os.File
	// Setup, if set, runs when the stage is in its user namespace, before
	// it creates the others: it gets the pid of the preamble process.
	Setup func(pid int) error
	// Limits, if set, runs while the preamble joins the cgroup and forks:
	// writing the cgroup's limits overlaps with that, and the process
	// does nothing of the container's before it has its config.
	Limits func() error
}

// stage is a started init or exec stage, as husk sees it.
type stage struct {
	preamble int // the preamble's first process, until reaped
	pid      int // the final process, once known
	sock     *os.File
	dec      *json.Decoder
}

// internalFD is the fd number the i-th internal file has in the stage.
func (o *stageOpts) internalFD(i int) int { return 3 + len(o.Preserved) + 1 + i }

// startStage starts a stage and carries it through the namespace preamble.
func startStage(o *stageOpts, cfg *stageConfig) (*stage, error) {
	s, err := spawnStage(o)
	if err != nil {
		return nil, err
	}
	if err := s.configure(o, cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// spawnStage starts husk's own binary, from its read-only copy, as an init
// or exec stage. Its preamble waits for its settings (configure), so husk
// can prepare the rest (the cgroup) while the binary is exec'd.
func spawnStage(o *stageOpts) (*stage, error) {
	self, err := sealedSelf()
	if err != nil {
		return nil, err
	}
	defer self.Close()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	parent, child := os.NewFile(uintptr(fds[0]), "sync"), os.NewFile(uintptr(fds[1]), "sync-child")
	defer child.Close()

	// Fd layout in the stage: stdio, preserved fds, the sync socket, the
	// internal files, and last our binary (exec'd via /proc/self/fd). The
	// preamble closes the binary's fd and any above it (_HUSK_NFDS): fds
	// husk's caller leaked to it without close-on-exec are open there too.
	extra := append(append(append([]*os.File{}, o.Preserved...), child), o.Internal...)
	extra = append(extra, self)
	selfFD := 3 + len(extra) - 1
	files := make([]uintptr, 0, 3+len(extra))
	for _, f := range append(o.Stdio[:], extra...) {
		files = append(files, f.Fd())
	}
	// syscall.ForkExec rather than os/exec: the os package probes pidfd
	// support with a throw-away clone before its first start, a cost on
	// every create and exec.
	pid, err := syscall.ForkExec("/proc/self/fd/"+strconv.Itoa(selfFD), []string{"husk", o.Mode}, &syscall.ProcAttr{
		Dir: o.Dir,
		// One P: the stage runs on one locked thread, and every extra
		// thread the runtime starts is one more for execve to stop.
		Env: []string{"GOMAXPROCS=1", "_HUSK_SYNCFD=" + strconv.Itoa(3+len(o.Preserved)),
			"_HUSK_NFDS=" + strconv.Itoa(selfFD)},
		Files: files,
	})
	if err != nil {
		parent.Close()
		return nil, fmt.Errorf("start %s stage: %w", o.Mode, err)
	}
	return &stage{preamble: pid, sock: parent, dec: json.NewDecoder(parent)}, nil
}

// waitPreamble reaps the preamble's first process, which exits once it has
// forked the final one.
func (s *stage) waitPreamble() error {
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

// configure sends the preamble its settings (o.Env, sent now so they can
// depend on what husk did after spawnStage) and carries it through its
// handshake. On success the stage is in all its namespaces, its pid is
// known, and it has cfg. On failure it is killed.
func (s *stage) configure(o *stageOpts, cfg *stageConfig) error {
	env := o.Env
	if o.Setup != nil {
		env = append(append([]string{}, env...), "_HUSK_SETUP=1")
	}
	if err := sendSettings(s.sock, env); err != nil {
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
	if err := s.waitPreamble(); err != nil {
		return s.fail(fmt.Errorf("namespace preamble: %w", err))
	}
	if err := s.send(&syncMsg{Type: msgConfig, Config: cfg}); err != nil {
		return s.fail(err)
	}
	return nil
}

// sendSettings sends a preamble its settings: their length as 8 hex
// digits, then NUL-terminated KEY=VALUE strings (values may hold newlines).
func sendSettings(w io.Writer, env []string) error {
	var b strings.Builder
	for _, e := range env {
		b.WriteString(e)
		b.WriteByte(0)
	}
	if _, err := fmt.Fprintf(w, "%08x%s", b.Len(), b.String()); err != nil {
		return fmt.Errorf("send settings to the container process: %w", err)
	}
	return nil
}

// fail kills the stage (preamble and final process) and closes husk's end.
func (s *stage) fail(err error) error {
	s.kill()
	s.close()
	return err
}

func (s *stage) send(m *syncMsg) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := s.sock.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("send %s to the container process: %w", m.Type, err)
	}
	return nil
}

// next reads the stage's next message. An error message from the stage
// becomes the returned error, so the user sees the cause inside the
// container, not a broken pipe.
func (s *stage) next() (*syncMsg, error) {
	var m syncMsg
	err := s.dec.Decode(&m)
	for err == nil && (m.Type == msgWarn || m.Type == msgDebug) {
		if m.Type == msgWarn {
			warnf("%s", m.Msg)
		} else {
			debugf("%s", m.Msg)
		}
		m = syncMsg{}
		err = s.dec.Decode(&m)
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
			return nil, &hookError{errors.New(m.Msg)}
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

func (s *stage) expect(typ string) (*syncMsg, error) {
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

// kill ends the processes of a stage that failed and reaps them (the
// final one is our child too, through CLONE_PARENT).
func (s *stage) kill() {
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
func (s *stage) exitCause() string {
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

// close drops husk's end of the sync socket.
func (s *stage) close() { s.sock.Close() }
