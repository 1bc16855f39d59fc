package stage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/rootfs"
	"github.com/husk-runtime/husk/spec/vocab"
)

// A container's init in C: the preamble's final child starts no Go
// runtime. It makes what must come from inside its PID namespace (each
// procfs) and hands it over; husk, whose runtime is already up, builds the
// rootfs on a thread of its own that has joined the child's mount,
// network, IPC, UTS and cgroup namespaces (all of them per thread), and
// hands back the rootfs; the child pivots into it, sets its process up as
// an exec stage's (execproc.c), reports ready, waits on the exec fifo and
// execs (initproc.c). What needs more keeps the Go init: see directInit.
const (
	envInitSock        = "_HUSK_INIT_SOCK"        // the rootfs socket's fd
	envInitProcfs      = "_HUSK_INIT_PROCFS"      // the procfs to make, by their sources
	envInitFifo        = "_HUSK_INIT_FIFO"        // the exec fifo's fd (O_PATH)
	envInitKeyring     = "_HUSK_INIT_KEYRING"     // the session keyring to join
	envInitPropagation = "_HUSK_INIT_PROPAGATION" // mount(2) flag for "/" once pivoted
)

// maxProcfs is as many procfs as the C init makes (MAX_PROCFS in
// initproc.c).
const maxProcfs = 16

// The messages on the rootfs socket (seqpacket): the child's "procfs" with
// a procfs (its filesystem context) per proc mount of the spec, then
// husk's "rootfs" with the rootfs's directory, or husk closes the socket.
const (
	rootfsProcfs = "procfs"
	rootfsReady  = "rootfs"
)

// directInit tells whether cfg's init can be the C one. It needs a process
// directProcess takes, a new mount namespace and no user namespace (setns into
// one is not per thread), pivot_root, no hook inside the container's
// namespaces, and procfs mounts without filesystem options (the child
// makes them plain).
func directInit(cfg *Config, set *Settings) bool {
	s := cfg.Spec
	if cfg.Mode != ModeInit || !directProcess(cfg) || cfg.NoPivot || s.Linux == nil {
		return false
	}
	if set.CloneFlags&unix.CLONE_NEWNS == 0 || set.CloneFlags&unix.CLONE_NEWUSER != 0 ||
		set.JoinPaths[specs.MountNamespace] != "" || set.JoinPaths[specs.UserNamespace] != "" {
		return false
	}
	if h := s.Hooks; h != nil && len(h.CreateContainer)+len(h.StartContainer) > 0 {
		return false
	}
	if _, err := rootfs.RootPropagation(s); err != nil {
		return false // the Go init names the bad value
	}
	// The child makes each procfs with fsopen (Linux 5.2), which the Go
	// init does not need: one probe, an EFAULT says the call exists.
	if !kernelHas(unix.SYS_FSOPEN) {
		return false
	}
	for _, m := range s.Mounts {
		if m.Type == "proc" && (vocab.ParseMountOptions(m.Options).Data != "" || strings.ContainsRune(m.Source, 0)) {
			return false
		}
	}
	return len(procfsSources(s)) <= maxProcfs
}

// kernelHas tells whether the kernel has system call nr, called with a
// NULL path where it takes one: ENOSYS says it is missing (or a seccomp
// filter of husk's caller refuses it).
func kernelHas(nr uintptr) bool {
	_, _, errno := unix.Syscall(nr, 0, 0, 0)
	return errno != unix.ENOSYS
}

// procfsSources are the sources of the spec's new procfs mounts, which the
// C init makes, in order.
func procfsSources(s *specs.Spec) []string {
	var sources []string
	for _, m := range s.Mounts {
		o := vocab.ParseMountOptions(m.Options)
		if m.Type == "proc" && !o.Bind {
			if idmapped, _ := vocab.IDMapOf(m); !idmapped {
				sources = append(sources, m.Source)
			}
		}
	}
	return sources
}

// initSettings are the C init's settings beside its process's.
func (o *Opts) initSettings(cfg *Config) []string {
	s := cfg.Spec
	set := []string{
		envInitSock + "=" + strconv.Itoa(o.fdOf(o.rootfsInit)),
		envInitProcfs + "=" + lengthPrefixed(procfsSources(s)),
		envInitFifo + "=" + strconv.Itoa(cfg.FifoFD),
	}
	if !cfg.NoNewKeyring {
		set = append(set, envInitKeyring+"=_ses."+cfg.ID)
	}
	if flag, _ := rootfs.RootPropagation(s); flag != 0 {
		set = append(set, envInitPropagation+"="+strconv.FormatUint(uint64(flag), 10))
	}
	return set
}

// buildRootfs does for a C init what the Go init does before it prepares
// its process: the mounts, the runtime namespace's hooks (hooks), the
// sysctls and protected paths, the hostname; then it hands the rootfs to
// the child, which pivots into it.
func (s *Stage) buildRootfs(hooks func() (*specs.State, error)) error {
	sock := s.rootfs
	s.rootfs = nil
	defer sock.Close()
	procfs, err := s.recvProcfs(sock)
	if err != nil {
		return err
	}
	defer func() {
		for _, f := range procfs {
			f.Close()
		}
	}()
	cfg := s.cfg
	rc := &rootfs.Config{
		Spec:              cfg.Spec,
		CgroupPaths:       cfg.CgroupPaths,
		CgroupMountpoints: cfg.CgroupMountpoints,
		CgroupNS:          vocab.HasNewNamespace(cfg.Spec, specs.CgroupNamespace),
		Procfs:            new(rootfs.Procfs),
		NewProcfs: func() (*os.File, error) {
			if len(procfs) == 0 {
				return nil, errors.New("the container's init made fewer procfs than the spec mounts")
			}
			f := procfs[0]
			procfs = procfs[1:]
			return f, nil
		},
	}
	defer rc.Procfs.Close()
	if s.opts.Sources != nil {
		rc.HostSource = s.opts.Sources
	}
	h := cfg.Spec.Hooks
	//nolint:staticcheck // prestart is deprecated but still honoured
	runtimeHooks := h != nil && len(h.Prestart)+len(h.CreateRuntime) > 0

	// The thread joins the container's namespaces and is never given back
	// to the Go runtime: it ends with the goroutine. The hooks run from
	// husk's other threads, in the runtime namespace, between the mounts
	// and the rest, where the Go init asks for them. Without hooks the
	// thread goes on at once: each wait of a locked thread is two thread
	// switches, and on a busy machine as long as a woken thread takes to
	// get a CPU back.
	done := make(chan rootResult, 1)
	var prepared chan struct{}
	var resume chan bool
	if runtimeHooks {
		prepared, resume = make(chan struct{}, 1), make(chan bool, 1)
	}
	go func() {
		runtime.LockOSThread()
		err := joinContainer(s.pid)
		// Relative bind sources are the bundle's, the Go init's working
		// directory.
		if err == nil && s.opts.Dir != "" {
			if err = unix.Chdir(s.opts.Dir); err != nil {
				err = fmt.Errorf("chdir to the bundle: %w", err)
			}
		}
		if err == nil {
			err = rootfs.Prepare(rc)
		}
		if err != nil {
			done <- rootResult{err: err}
			return
		}
		if prepared != nil {
			prepared <- struct{}{}
			if !<-resume {
				return
			}
		}
		done <- finishRootfs(rc)
	}()
	if runtimeHooks {
		select {
		case r := <-done:
			return r.err
		case <-prepared:
		}
		if _, err := hooks(); err != nil {
			resume <- false
			return err
		}
		resume <- true
	}
	r := <-done
	if r.err != nil {
		return r.err
	}
	defer r.root.Close()
	if err := unix.Sendmsg(int(sock.Fd()), []byte(rootfsReady), unix.UnixRights(int(r.root.Fd())), nil, 0); err != nil {
		return s.gone(fmt.Errorf("hand the rootfs to the container's init: %w", err))
	}
	return nil
}

// rootResult is finishRootfs's: the rootfs's directory, or why not.
type rootResult struct {
	root *os.File
	err  error
}

// finishRootfs is the rest of the Go init's steps before pivot_root, and
// the rootfs's directory for the child, opened in its mount namespace.
func finishRootfs(rc *rootfs.Config) rootResult {
	if err := rootfs.FinalizeBeforePivot(rc); err != nil {
		return rootResult{err: err}
	}
	if err := setHostname(rc.Spec); err != nil {
		return rootResult{err: err}
	}
	root, err := os.OpenFile(rc.Spec.Root.Path, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return rootResult{err: fmt.Errorf("open the rootfs: %w", err)}
	}
	return rootResult{root: root}
}

// joinContainer moves the calling thread, alone, into the namespaces of
// the container's init that its rootfs is made in, where they are not
// husk's own: joining one it shares with husk would need privileges over
// its owner, which a husk in a user namespace (rootless podman's) lacks.
// The PID and time namespaces are left out: what needs them (procfs) the
// child makes. The init is husk's child and not yet reaped: its pid names
// it.
func joinContainer(pid int) error {
	// setns refuses a mount namespace to a thread that shares its root
	// and working directory with others.
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare the filesystem attributes of husk's thread: %w", err)
	}
	var fds []int
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	// All opened before the mount namespace changes what /proc is.
	for _, name := range []string{"net", "ipc", "uts", "cgroup", "mnt"} {
		fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/ns/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open the container's %s namespace: %w", name, err)
		}
		var theirs, ours unix.Stat_t
		if err := unix.Fstat(fd, &theirs); err != nil {
			unix.Close(fd)
			return fmt.Errorf("stat the container's %s namespace: %w", name, err)
		}
		if unix.Stat("/proc/thread-self/ns/"+name, &ours) == nil && ours.Dev == theirs.Dev && ours.Ino == theirs.Ino {
			unix.Close(fd)
			continue
		}
		fds = append(fds, fd)
	}
	for _, fd := range fds {
		if err := unix.Setns(fd, 0); err != nil {
			return fmt.Errorf("join the container's namespaces: %w", err)
		}
	}
	return nil
}

// recvProcfs takes the child's procfs. When the child ended instead, its
// error is on the sync socket.
func (s *Stage) recvProcfs(sock *os.File) ([]*os.File, error) {
	want := len(procfsSources(s.cfg.Spec))
	buf := make([]byte, 64)
	oob := make([]byte, unix.CmsgSpace(4*want))
	var n, oobn int
	var err error
	for {
		n, oobn, _, _, err = unix.Recvmsg(int(sock.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	var fds []int
	if err == nil && oobn > 0 {
		if msgs, perr := unix.ParseSocketControlMessage(oob[:oobn]); perr == nil {
			for i := range msgs {
				if got, perr := unix.ParseUnixRights(&msgs[i]); perr == nil {
					fds = append(fds, got...)
				}
			}
		}
	}
	files := make([]*os.File, 0, len(fds))
	for i, fd := range fds {
		files = append(files, os.NewFile(uintptr(fd), "procfs-"+strconv.Itoa(i)))
	}
	fail := func(err error) ([]*os.File, error) {
		for _, f := range files {
			f.Close()
		}
		return nil, err
	}
	switch {
	case err != nil:
		return fail(fmt.Errorf("read from the container's init: %w", err))
	case n == 0:
		// The child ended without a word here: its cause is on the sync
		// socket, or in how it ended.
		_, err := s.next()
		if err == nil || err == io.EOF {
			err = s.gone(errors.New("container init closed its rootfs socket during setup without an error"))
		}
		return fail(err)
	case string(buf[:n]) != rootfsProcfs || len(files) != want:
		return fail(fmt.Errorf("container init sent %q with %d procfs, expected %q with %d", buf[:n], len(files), rootfsProcfs, want))
	}
	return files, nil
}
