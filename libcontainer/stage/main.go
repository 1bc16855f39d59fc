package stage

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// Requested tells whether this process was started as a stage (husk set
// its sync fd), and as which.
func Requested(args []string) (Mode, bool) {
	if len(args) < 2 || os.Getenv(envSyncFD) == "" {
		return "", false
	}
	return Mode(args[1]), true
}

// Main is the Go half of the init and exec stages, entered by husk's main
// after the C preamble put this process in the container's namespaces. It
// never returns: it execs the user process or exits.
func Main(mode Mode) {
	// Credentials, capabilities, no_new_privs and seccomp are per thread
	// until execve: do all of it, and the execve, on this one thread.
	runtime.LockOSThread()
	c, cfg, err := readConfig()
	if err == nil {
		c.debug = cfg.Debug
		c.debugf("%s stage: in the container's namespaces (pid %d there, %d on the host), config received", mode, os.Getpid(), cfg.HostPid)
		switch mode {
		case ModeInit:
			err = c.initStage(cfg)
		case ModeExec:
			err = c.execStage(cfg)
		default:
			err = fmt.Errorf("unknown stage %q", mode)
		}
	}
	var herr *HookError
	if c != nil && c.send(&syncMsg{Type: msgError, Msg: err.Error(), Hook: errors.As(err, &herr)}) == nil {
		os.Exit(1)
	}
	// Nobody listens any more (after create returned): stderr is all we
	// have, and the error goes there bare, as runc's does (`exec /run.sh:
	// no such file or directory`), with runc's exit status for a process
	// that never ran.
	fmt.Fprintln(os.Stderr, err.Error())
	os.Exit(255)
}

// conn is the stage's end of the sync socket. Its warnings (capabilities
// left out, ...) and debug lines go to husk, which logs them: the stage's
// stderr is the container's.
type conn struct {
	f     *os.File
	dec   *json.Decoder
	debug bool // husk logs at debug level and reads the socket
}

func (c *conn) send(m *syncMsg) error { return writeMsg(c.f, m) }

func (c *conn) recv(typ string) (*syncMsg, error) {
	var m syncMsg
	if err := c.dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("wait for %s from husk: %w", typ, err)
	}
	if m.Type != typ {
		return nil, fmt.Errorf("husk sent %q, expected %q", m.Type, typ)
	}
	return &m, nil
}

func (c *conn) warnf(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	if c.send(&syncMsg{Type: msgWarn, Msg: msg}) != nil {
		fmt.Fprintln(os.Stderr, msg)
	}
}

func (c *conn) debugf(format string, a ...any) {
	if c.debug {
		_ = c.send(&syncMsg{Type: msgDebug, Msg: fmt.Sprintf(format, a...)})
	}
}

// readConfig takes the sync socket and the stage's config. Every fd past the
// preserved ones is husk's own and must not survive the final execve.
func readConfig() (*conn, *Config, error) {
	fd, err := strconv.Atoi(os.Getenv(envSyncFD))
	if err != nil {
		return nil, nil, fmt.Errorf("bad %s: %w", envSyncFD, err)
	}
	f := os.NewFile(uintptr(fd), "sync")
	c := &conn{f: f, dec: json.NewDecoder(f)}
	if err := closeExecFrom(fd); err != nil {
		return c, nil, err
	}
	cfg, err := recvConfig(f, c.dec)
	return c, cfg, err
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
