package stage

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/hooks"
	"github.com/husk-runtime/husk/libcontainer/rootfs"
	"github.com/husk-runtime/husk/spec/vocab"
)

// initStage builds the container (mounts, pivot_root, console, hostname),
// prepares the process, reports ready, waits on the exec fifo and execs.
func (c *conn) initStage(cfg *Config) error {
	s := cfg.Spec
	if _, err := unix.Setsid(); err != nil {
		return fmt.Errorf("setsid: %w", err)
	}
	rc := &rootfs.Config{
		Spec:              s,
		NoPivot:           cfg.NoPivot,
		CgroupPaths:       cfg.CgroupPaths,
		CgroupMountpoints: cfg.CgroupMountpoints,
		CgroupNS:          vocab.HasNewNamespace(s, specs.CgroupNamespace),
		SharedMountNS:     !vocab.HasNamespace(s, specs.MountNamespace),
		Procfs:            new(rootfs.Procfs),
	}
	var sources *os.File
	if cfg.SourceFD > 0 {
		sources = os.NewFile(uintptr(cfg.SourceFD), "mount-sources")
		rc.HostSource = func(i int) (*os.File, error) { return askSource(sources, i) }
	}
	c.debugf("init: preparing the root filesystem %s (%d mounts, sources from husk: %v)", s.Root.Path, len(s.Mounts), sources != nil)
	err := rootfs.Prepare(rc)
	if sources != nil {
		// The mounts are made: husk's thread in this mount namespace ends.
		sources.Close()
	}
	if err != nil {
		return err
	}
	if err := c.runCreateHooks(s); err != nil {
		return err
	}
	if err := rootfs.Pivot(rc); err != nil {
		return err
	}
	c.debugf("init: root filesystem in place (no_pivot=%v)", cfg.NoPivot)
	if cfg.Process.Terminal {
		if err := c.setupConsole(cfg.ConsoleFD, true, cfg.Process.ConsoleSize); err != nil {
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
	c.debugf("init: hostname, keyring and console set; preparing process %q", cfg.Process.Args)
	p, err := c.prepareProcess(cfg)
	if err != nil {
		return err
	}
	rc.Procfs.Close()
	c.debugf("init: process %s ready; waiting on the exec fifo for start", p.path)
	// husk stops reading the sync socket once the init is ready.
	c.debug = false
	if err := c.send(&syncMsg{Type: msgReady}); err != nil {
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
func awaitStart(cfg *Config, s *specs.Spec, env []string) (*os.File, error) {
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
func (c *conn) runCreateHooks(s *specs.Spec) error {
	h := s.Hooks
	//nolint:staticcheck // prestart is deprecated but still honoured
	if h == nil || len(h.Prestart)+len(h.CreateRuntime)+len(h.CreateContainer) == 0 {
		return nil
	}
	if err := c.send(&syncMsg{Type: msgHooks}); err != nil {
		return err
	}
	m, err := c.recv(msgHooked)
	if err != nil {
		return err
	}
	if err := hooks.Run("createContainer", h.CreateContainer, m.State); err != nil {
		return &HookError{err}
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
