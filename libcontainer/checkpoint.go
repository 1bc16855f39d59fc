package libcontainer

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	criu "github.com/checkpoint-restore/go-criu/v8"
	"github.com/checkpoint-restore/go-criu/v8/rpc"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/nsenter"
	"github.com/husk-runtime/husk/spec/vocab"
)

// CRIUOpts are the options checkpoint and restore share, runc's flags of
// both.
type CRIUOpts struct {
	// ImagePath holds the images: checkpoint writes them (making it if
	// missing), restore reads those of a husk (or runc) checkpoint.
	ImagePath string
	// WorkPath is where CRIU writes its log (default: ImagePath).
	WorkPath        string
	TCPEstablished  bool
	TCPSkipInFlight bool
	ExtUnixSk       bool
	ShellJob        bool
	FileLocks       bool
	LinkRemap       bool
	AutoDedup       bool
	// ManageCgroupsMode is soft, full, strict or ignore; "" is CRIU's
	// default (soft).
	ManageCgroupsMode string
	// EmptyNs names namespaces CRIU makes without their contents on
	// restore (runc takes "network").
	EmptyNs []string
}

// CheckpointOpts is what checkpoint is asked, runc's flags.
type CheckpointOpts struct {
	CRIUOpts
	// ParentPath is a pre-dump's images, relative to ImagePath or absolute:
	// this dump writes only the memory changed since.
	ParentPath   string
	LeaveRunning bool
	// PreDump dumps the memory only and leaves the container running.
	PreDump bool
}

// criuMinVersion is the oldest CRIU husk drives: 3.15 has the RPC
// options used here (external files, cgroup v2 freezing, config files).
const criuMinVersion = 31500

// criuConfigAnnotation names a CRIU configuration file for the container
// ("" for none), as with runc; without it CRIU reads criuDefaultConfig, the
// file runc's users already configure.
const (
	criuConfigAnnotation = "org.criu.config"
	criuDefaultConfig    = "/etc/criu/runc.conf"
)

// criuConfigFile is the CRIU configuration file for a container with spec
// s: its org.criu.config annotation (none when that is empty), else
// runc's default file.
func criuConfigFile(s *specs.Spec) *string {
	file, ok := s.Annotations[criuConfigAnnotation]
	switch {
	case !ok:
		return ptr(criuDefaultConfig)
	case file == "":
		return nil
	}
	return ptr(file)
}

// descriptorsFile lists what the init's stdin, stdout and stderr were at
// checkpoint (their /proc/PID/fd links), as runc writes it; stdioKeysFile
// the keys CRIU dumped those of them that are files outside the container
// under ("" for the others), which restore hands the new stdio in for.
const (
	descriptorsFile = "descriptors.json"
	stdioKeysFile   = "husk-stdio-keys.json"
)

// stdioFiles is what the init's fds 0-2 are: their links and, for files
// outside the container, CRIU's keys.
type stdioFiles struct {
	Links []string
	Keys  []string
}

// Checkpoint dumps the running container id with CRIU into o.ImagePath.
// Unless o.LeaveRunning or o.PreDump, CRIU kills the container's processes
// and the container is deleted, as runc does.
func (r *Runtime) Checkpoint(id string, o *CheckpointOpts) error {
	return r.withLock(id, false, func(c *Container) error { return c.checkpoint(o) })
}

func (c *Container) checkpoint(o *CheckpointOpts) error {
	if o.ImagePath == "" {
		return errors.New("checkpoint: no image path")
	}
	if st := c.Status(); st != Running {
		if st == Paused {
			return fmt.Errorf("container %s is paused: resume it before checkpoint", c.State.ID)
		}
		return fmt.Errorf("cannot checkpoint container %s: it is %s, not running", c.State.ID, st)
	}
	s, err := c.State.Spec()
	if err != nil {
		return err
	}
	if err := o.check(); err != nil {
		return err
	}
	cr, err := newCriu()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.ImagePath, 0o700); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	images, err := os.Open(o.ImagePath)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer images.Close()
	logFile := "dump.log"
	if o.PreDump {
		logFile = "pre-dump.log"
	}
	opts, logPath, work, err := o.rpcOpts("checkpoint", s, images, c.State.Rootfs, logFile)
	if err != nil {
		return err
	}
	defer work.Close()
	pid := c.State.Pid
	opts.Pid = ptr(int32(pid))
	opts.LeaveRunning = ptr(o.LeaveRunning)
	if o.ParentPath != "" || o.PreDump {
		opts.TrackMem = ptr(true)
	}
	if o.ParentPath != "" {
		opts.ParentImg = ptr(o.ParentPath)
	}
	// CRIU freezes the processes through the cgroup freezer when it has
	// one (no process escapes by forking meanwhile), else with ptrace.
	if c.State.CgroupPaths != nil {
		if dir := c.cgroup().Path("freezer"); dir != "" {
			opts.FreezeCgroup = ptr(dir)
		} else if dir := c.cgroup().Path(""); dir != "" && len(c.State.CgroupPaths) == 1 {
			opts.FreezeCgroup = ptr(dir)
		}
	}
	// Namespaces the container joined by path are not its own: CRIU leaves
	// them out, under a key restore gives them back by.
	var namespaces []specs.LinuxNamespace
	if s.Linux != nil {
		namespaces = s.Linux.Namespaces
	}
	for _, ns := range namespaces {
		if ns.Path == "" || (ns.Type != specs.NetworkNamespace && ns.Type != specs.PIDNamespace) {
			continue
		}
		var st unix.Stat_t
		if err := unix.Stat(ns.Path, &st); err != nil {
			return fmt.Errorf("checkpoint: %s namespace: %w", ns.Type, err)
		}
		name := criuNsName(ns.Type)
		opts.External = append(opts.External, fmt.Sprintf("%s[%d]:%s", name, st.Ino, criuNsKey(name)))
	}
	if !o.PreDump {
		mounts, err := readMountIDs(pid)
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		opts.ExtMnt = externalMounts(s, mounts)
		files, stdio, err := externalFiles(pid, mounts)
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		opts.External = append(opts.External, files...)
		for name, v := range map[string]any{descriptorsFile: stdio.Links, stdioKeysFile: stdio.Keys} {
			data, err := json.Marshal(v)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(o.ImagePath, name), data, 0o600); err != nil {
				return fmt.Errorf("checkpoint: %w", err)
			}
		}
	}
	c.rt.debugf("criu: %s of pid %d into %s", map[bool]string{true: "pre-dump", false: "dump"}[o.PreDump], pid, o.ImagePath)
	// One criu swrk for the request, ended here: after a pre-dump it waits
	// for the next request (a dump on top of it) and exits with an error
	// when the socket closes instead, which is no failure of the pre-dump.
	if err := cr.Prepare(); err != nil {
		return fmt.Errorf("checkpoint: start criu swrk: %w", err)
	}
	if o.PreDump {
		err = cr.PreDump(opts, criu.NoNotify{})
	} else {
		err = cr.Dump(opts, criu.NoNotify{})
	}
	if cerr := cr.Cleanup(); err == nil && !o.PreDump {
		err = cerr
	}
	if err != nil {
		return criuError(map[bool]string{true: "pre-dump", false: "dump"}[o.PreDump], err, logPath)
	}
	if o.LeaveRunning || o.PreDump {
		return nil
	}
	// CRIU killed the processes; the container goes, as with runc.
	return c.delete(true)
}

// rpcOpts is the request for CRIU that o makes, checkpoint's and restore's
// alike: the images in images, root the container's root, CRIU's config
// file the one s names, errors prefixed with op. It opens the work path,
// which CRIU needs open until it is done: work is nil without one (Close
// on nil does nothing). logPath is where CRIU writes logFile.
// check refuses bad values of the flags before anything else: a mistake
// in them is the caller's, whether or not CRIU is there to run.
func (o *CRIUOpts) check() error {
	if o.ManageCgroupsMode != "" {
		if _, err := criuCgMode(o.ManageCgroupsMode); err != nil {
			return err
		}
	}
	_, err := criuEmptyNs(o.EmptyNs)
	return err
}

func (o *CRIUOpts) rpcOpts(op string, s *specs.Spec, images *os.File, root, logFile string) (opts *rpc.CriuOpts, logPath string, work *os.File, err error) {
	opts = &rpc.CriuOpts{
		ImagesDirFd:     ptr(int32(images.Fd())),
		LogLevel:        ptr(int32(4)),
		LogFile:         ptr(logFile),
		Root:            ptr(root),
		ManageCgroups:   ptr(true),
		OrphanPtsMaster: ptr(true),
		ShellJob:        ptr(o.ShellJob),
		TcpEstablished:  ptr(o.TCPEstablished),
		TcpSkipInFlight: ptr(o.TCPSkipInFlight),
		ExtUnixSk:       ptr(o.ExtUnixSk),
		FileLocks:       ptr(o.FileLocks),
		LinkRemap:       ptr(o.LinkRemap),
		AutoDedup:       ptr(o.AutoDedup),
		ConfigFile:      criuConfigFile(s),
	}
	logDir := o.ImagePath
	if o.WorkPath != "" {
		if err := os.MkdirAll(o.WorkPath, 0o700); err != nil {
			return nil, "", nil, fmt.Errorf("%s: %w", op, err)
		}
		if work, err = os.Open(o.WorkPath); err != nil {
			return nil, "", nil, fmt.Errorf("%s: %w", op, err)
		}
		opts.WorkDirFd = ptr(int32(work.Fd()))
		logDir = o.WorkPath
	}
	if o.ManageCgroupsMode != "" {
		mode, err := criuCgMode(o.ManageCgroupsMode)
		if err != nil {
			work.Close()
			return nil, "", nil, err
		}
		opts.ManageCgroupsMode = &mode
	}
	if len(o.EmptyNs) > 0 {
		ns, err := criuEmptyNs(o.EmptyNs)
		if err != nil {
			work.Close()
			return nil, "", nil, err
		}
		opts.EmptyNs = ptr(ns)
	}
	return opts, filepath.Join(logDir, logFile), work, nil
}

// newCriu finds criu and checks that it is recent enough.
func newCriu() (*criu.Criu, error) {
	cr, _, err := findCriu()
	return cr, err
}

// findCriu is newCriu, also returning criu's path.
func findCriu() (*criu.Criu, string, error) {
	path, err := exec.LookPath("criu")
	if err != nil {
		return nil, "", fmt.Errorf("checkpoint/restore needs CRIU (%d.%d or newer): %w", criuMinVersion/10000, criuMinVersion/100%100, err)
	}
	cr := criu.MakeCriu()
	cr.SetCriuPath(path)
	v, err := cr.GetCriuVersion()
	if err != nil {
		return nil, "", fmt.Errorf("%s: cannot get its version: %w", path, err)
	}
	if v < criuMinVersion {
		return nil, "", fmt.Errorf("%s is CRIU %d.%d.%d; husk needs %d.%d or newer", path,
			v/10000, v/100%100, v%100, criuMinVersion/10000, criuMinVersion/100%100)
	}
	return cr, path, nil
}

// swrk runs one request through `criu swrk`: go-criu's client drops the
// fds CRIU sends with a notification (a restored terminal's pty master,
// orphan-pts-master), which restore needs.
type swrk struct {
	path  string
	files []*os.File // handed to criu from fd 4 on
}

// inherit hands f to criu as the file of key (--inherit-fd).
func (w *swrk) inherit(opts *rpc.CriuOpts, key string, f *os.File) {
	opts.InheritFd = append(opts.InheritFd, &rpc.InheritFd{Key: ptr(key), Fd: ptr(int32(4 + len(w.files)))})
	w.files = append(w.files, f)
}

// run sends the request and serves CRIU's notifications (the script's
// name, the pid it names, the fds that came with it, closed after notify
// returns) until the answer.
func (w *swrk) run(t rpc.CriuReqType, opts *rpc.CriuOpts, notify func(script string, pid int32, fds []int) error) error {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	client, server := os.NewFile(uintptr(fds[0]), "criu-client"), os.NewFile(uintptr(fds[1]), "criu-server")
	defer client.Close()
	opts.NotifyScripts = ptr(true)
	cmd := exec.Command(w.path, "swrk", "3")
	cmd.ExtraFiles = append([]*os.File{server}, w.files...)
	err = nsenter.WithCallerSlack(cmd.Start)
	server.Close()
	if err != nil {
		return fmt.Errorf("start criu swrk: %w", err)
	}
	err = w.serve(client, &rpc.CriuReq{Type: &t, Opts: opts}, notify)
	client.Close() // criu ends on EOF if it still waits for a request
	if werr := cmd.Wait(); err == nil && werr != nil {
		err = fmt.Errorf("criu swrk: %w", werr)
	}
	return err
}

func (w *swrk) serve(conn *os.File, req *rpc.CriuReq, notify func(string, int32, []int) error) error {
	buf := make([]byte, 1<<20)
	oob := make([]byte, unix.CmsgSpace(4*16))
	for {
		data, err := req.MarshalVT()
		if err != nil {
			return err
		}
		if _, err := unix.Write(int(conn.Fd()), data); err != nil {
			return fmt.Errorf("send to criu: %w", err)
		}
		n, oobn, _, _, err := unix.Recvmsg(int(conn.Fd()), buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err != nil {
			return fmt.Errorf("read from criu: %w", err)
		}
		if n == 0 {
			return errors.New("criu closed its socket without an answer")
		}
		var received []int
		if oobn > 0 {
			if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
				for i := range msgs {
					if rights, err := unix.ParseUnixRights(&msgs[i]); err == nil {
						received = append(received, rights...)
					}
				}
			}
		}
		resp := &rpc.CriuResp{}
		err = resp.UnmarshalVT(buf[:n])
		if err == nil && !resp.GetSuccess() {
			err = fmt.Errorf("operation failed (msg: %s, errno %d)", resp.GetCrErrmsg(), resp.GetCrErrno())
		}
		if err == nil && resp.GetType() == rpc.CriuReqType_NOTIFY {
			err = notify(resp.GetNotify().GetScript(), resp.GetNotify().GetPid(), received)
		}
		for _, fd := range received {
			unix.Close(fd)
		}
		if err != nil {
			return err
		}
		if resp.GetType() != rpc.CriuReqType_NOTIFY {
			if resp.GetType() != req.GetType() && req.GetType() != rpc.CriuReqType_NOTIFY {
				return fmt.Errorf("criu answered %s to %s", resp.GetType(), req.GetType())
			}
			return nil
		}
		t := rpc.CriuReqType_NOTIFY
		req = &rpc.CriuReq{Type: &t, NotifySuccess: ptr(true)}
	}
}

// criuError is CRIU's failure with its reason: the message CRIU returns
// and the last errors in its log.
func criuError(op string, err error, log string) error {
	var lines []string
	if f, ferr := os.Open(log); ferr == nil {
		s := bufio.NewScanner(f)
		s.Buffer(make([]byte, 64*1024), 1024*1024)
		for s.Scan() {
			if strings.Contains(s.Text(), "Error") {
				lines = append(lines, strings.TrimSpace(s.Text()))
			}
		}
		f.Close()
	}
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	if len(lines) == 0 {
		return fmt.Errorf("criu %s failed: %w (log: %s)", op, err, log)
	}
	// The log says why; go-criu's error adds nothing but an empty
	// message and errno when CRIU gave none.
	return fmt.Errorf("criu %s failed: %s (log: %s)", op, strings.Join(lines, "; "), log)
}

func criuCgMode(mode string) (rpc.CriuCgMode, error) {
	switch mode {
	case "soft":
		return rpc.CriuCgMode_SOFT, nil
	case "full":
		return rpc.CriuCgMode_FULL, nil
	case "strict":
		return rpc.CriuCgMode_STRICT, nil
	case "ignore":
		return rpc.CriuCgMode_IGNORE, nil
	}
	return 0, fmt.Errorf("invalid --manage-cgroups-mode %q: want soft, full, strict or ignore", mode)
}

// criuEmptyNs is the CLONE_ flags of namespaces CRIU restores empty; as
// with runc, only the network namespace may be.
func criuEmptyNs(names []string) (uint32, error) {
	var flags uint32
	for _, n := range names {
		switch n {
		case "network", "net":
			flags |= unix.CLONE_NEWNET
		default:
			return 0, fmt.Errorf("invalid --empty-ns %q: only network is supported", n)
		}
	}
	return flags, nil
}

// criuNsName is CRIU's name of a namespace type.
func criuNsName(t specs.LinuxNamespaceType) string {
	if t == specs.NetworkNamespace {
		return "net"
	}
	return string(t)
}

// criuNsKey is the key an external namespace is dumped under and found
// by on restore (runc's, so images move between the two).
func criuNsKey(name string) string {
	return "extRoot" + strings.ToUpper(name[:1]) + name[1:] + "NS"
}

// readMountIDs reads the mounts of pid's mount namespace, as it sees them:
// mount id to mount point.
func readMountIDs(pid int) (map[int]string, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[int]string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 5 {
			continue
		}
		id, err := strconv.Atoi(fields[0])
		if err != nil {
			continue
		}
		out[id] = unescapeMountPath(fields[4])
	}
	return out, s.Err()
}

func unescapeMountPath(p string) string {
	if !strings.Contains(p, `\`) {
		return p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' && i+3 < len(p) {
			if v, err := strconv.ParseUint(p[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(p[i])
	}
	return b.String()
}

// externalMounts are the container's mounts of host files and directories
// (bind mounts, device nodes bound from the host, cgroup v1 hierarchies
// bound in without a cgroup namespace): CRIU saves them by their mount
// point as key and restore binds them again from the host.
func externalMounts(s *specs.Spec, mounts map[int]string) []*rpc.ExtMountMap {
	points := map[string]bool{}
	for _, p := range mounts {
		points[p] = true
	}
	seen := map[string]bool{}
	var out []*rpc.ExtMountMap
	add := func(dest string) {
		dest = filepath.Clean("/" + dest)
		if !points[dest] || seen[dest] {
			return
		}
		seen[dest] = true
		out = append(out, &rpc.ExtMountMap{Key: ptr(dest), Val: ptr(dest)})
	}
	for _, m := range s.Mounts {
		if m.Type == "bind" || vocab.ParseMountOptions(m.Options).Bind {
			add(m.Destination)
		}
	}
	if s.Linux != nil {
		for _, d := range s.Linux.Devices {
			add(d.Path)
		}
	}
	return out
}

// externalFiles finds the init's open files that live outside the
// container's mounts (its stdio from the caller: a host /dev/null, a log
// file): CRIU can't reopen them by path, so they are dumped as external,
// keyed file[MNT_ID:INODE], which restore is to hand in (--inherit-fd).
// It also returns what fds 0-2 are.
func externalFiles(pid int, mounts map[int]string) (external []string, stdio stdioFiles, err error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	fds, err := os.ReadDir(dir)
	if err != nil {
		return nil, stdio, err
	}
	stdio = stdioFiles{Links: make([]string, 3), Keys: make([]string, 3)}
	seen := map[string]bool{}
	for _, e := range fds {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		link, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // closed meanwhile
		}
		if fd < 3 {
			stdio.Links[fd] = link
		}
		if !strings.HasPrefix(link, "/") {
			continue // pipe:, socket:, anon_inode: are not files on a mount
		}
		mnt, err := fdMountID(pid, fd)
		if err != nil {
			continue
		}
		if _, ok := mounts[mnt]; ok {
			continue
		}
		var st unix.Stat_t
		if err := unix.Stat(filepath.Join(dir, e.Name()), &st); err != nil {
			continue
		}
		key := fmt.Sprintf("file[%x:%x]", mnt, st.Ino)
		if fd < 3 {
			stdio.Keys[fd] = key
		}
		if !seen[key] {
			seen[key] = true
			external = append(external, key)
		}
	}
	return external, stdio, nil
}

func fdMountID(pid, fd int) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/fdinfo/%d", pid, fd))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "mnt_id:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, errors.New("no mnt_id in fdinfo")
}

func ptr[T any](v T) *T { return &v }
