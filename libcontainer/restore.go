package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/checkpoint-restore/go-criu/v8/rpc"
	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/cgroups"
	"github.com/husk-runtime/husk/libcontainer/seccomp"
	hspec "github.com/husk-runtime/husk/spec"
	"github.com/husk-runtime/husk/spec/vocab"
)

// RestoreOpts are the inputs of restore: the container to make (id,
// bundle, spec, as create's) and the checkpoint to bring into it.
type RestoreOpts struct {
	ID     string
	Bundle string // absolute
	Spec   *specs.Spec
	// Seccomp is linux.seccomp as JSON (CreateOpts.Seccomp): CRIU
	// restores the filter itself, an exec compiles it.
	Seccomp seccomp.Profile
	CRIUOpts
	// Stdio becomes the restored init's stdin, stdout and stderr where
	// they were pipes or files outside the container at checkpoint.
	Stdio [3]*os.File
	// Console receives the restored terminal's pty master when
	// process.terminal is set: a connection to --console-socket, or the
	// foreground restore's own socketpair end.
	Console *os.File
}

// Restore makes container o.ID from a checkpoint: its state dir and
// cgroup as create would, then CRIU restores the processes into them.
// The container is running when it returns, locked (Release it). Any
// failure undoes every step: no state dir, cgroup or process is left.
//
// Not yet (refused by restorable): hooks other than poststop, the systemd
// cgroup driver, cgroup v1, rootless.
func (r *Runtime) Restore(o *RestoreOpts) (c *Container, err error) {
	if err := ValidateID(o.ID); err != nil {
		return nil, err
	}
	s, profile, err := hspec.SplitProfile(o.Spec, o.Seccomp)
	if err != nil {
		return nil, err
	}
	if err := restorable(r, s); err != nil {
		return nil, err
	}
	if s.Process != nil && s.Process.Terminal && o.Console == nil {
		return nil, errors.New("process.terminal is set: a --console-socket is required (or restore in the foreground)")
	}
	images, err := os.Open(o.ImagePath)
	if err != nil {
		return nil, fmt.Errorf("restore: image path: %w", err)
	}
	defer images.Close()
	if _, err := os.Stat(filepath.Join(o.ImagePath, "inventory.img")); err != nil {
		return nil, fmt.Errorf("restore: %s holds no checkpoint: %w", o.ImagePath, err)
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	_, criuPath, err := findCriu()
	if err != nil {
		return nil, err
	}
	if c, err = r.newStateDir(&CreateOpts{ID: o.ID, Bundle: o.Bundle, Spec: s, Seccomp: profile}, false); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = c.destroy()
			c.Release()
			c = nil
		}
	}()
	cg, err := c.newCgroup(&CreateOpts{ID: o.ID, Spec: s})
	if err != nil {
		return c, err
	}
	if err := cg.Set(resources(s)); err != nil {
		return c, fmt.Errorf("set cgroup limits: %w", err)
	}
	rel, err := filepath.Rel("/sys/fs/cgroup", cg.Path(""))
	if err != nil || strings.HasPrefix(rel, "..") {
		return c, fmt.Errorf("restore: cgroup %s is not below /sys/fs/cgroup", cg.Path(""))
	}

	// CRIU wants the root a mount point whose parent is not overmounted:
	// the rootfs bound in the state dir, for as long as it restores.
	root := filepath.Join(c.dir, "criu-root")
	if err := os.Mkdir(root, 0o755); err != nil {
		return c, fmt.Errorf("restore: %w", err)
	}
	defer os.Remove(root)
	if err := unix.Mount(s.Root.Path, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return c, fmt.Errorf("restore: bind the rootfs: %w", err)
	}
	defer unix.Unmount(root, unix.MNT_DETACH) //nolint:errcheck

	opts, logPath, work, err := o.rpcOpts("restore", s, images, root, "restore.log")
	if err != nil {
		return c, err
	}
	defer work.Close()
	opts.CgRoot = []*rpc.CgroupRoot{{Path: ptr("/" + rel)}}
	opts.RstSibling = ptr(true)
	opts.EvasiveDevices = ptr(true)
	sw := &swrk{path: criuPath}
	files, err := restoreNamespaces(sw, opts, s)
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	if err != nil {
		return c, err
	}
	if err := restoreMounts(opts, s); err != nil {
		return c, err
	}
	if err := restoreStdio(sw, opts, o); err != nil {
		return c, err
	}

	pid := 0
	notify := func(script string, npid int32, fds []int) error {
		switch script {
		case "post-restore":
			pid = int(npid)
		case "orphan-pts-master":
			// The restored terminal's master, for the console socket.
			if len(fds) == 0 {
				return errors.New("orphan-pts-master: no fd")
			}
			if o.Console == nil {
				return errors.New("the checkpoint has a terminal: a --console-socket is required (or restore in the foreground)")
			}
			if err := unix.Sendmsg(int(o.Console.Fd()), []byte("/dev/pts/0"), unix.UnixRights(fds[0]), nil, 0); err != nil {
				return fmt.Errorf("send the restored pty master over the console socket: %w", err)
			}
		}
		return nil
	}
	r.debugf("restore %s: criu restore from %s into cgroup /%s", o.ID, o.ImagePath, rel)
	if err := sw.run(rpc.CriuReqType_RESTORE, opts, notify); err != nil {
		return c, criuError("restore", err, logPath)
	}
	if pid <= 0 {
		return c, errors.New("criu restore: no pid of the restored init")
	}
	if err := c.record(func(st *State) (err error) {
		st.Pid = pid
		p, err := procStat(pid)
		st.PidStart = p.start
		return err
	}); err != nil {
		return c, fmt.Errorf("restored init: %w", err)
	}
	c.State.Creating, c.State.Creator, c.State.CreatorStart = false, 0, 0
	if err := c.State.save(c.dir); err != nil {
		return c, err
	}
	if err := c.State.saveRecord(c.dir); err != nil {
		return c, err
	}
	r.debugf("restore %s: init is pid %d", o.ID, pid)
	return c, nil
}

// restorable refuses what restore can't do yet, before it touches
// anything.
func restorable(r *Runtime, s *specs.Spec) error {
	switch {
	case r.SystemdCgroup:
		return errors.New("restore: the systemd cgroup driver is not supported by husk yet")
	case r.Rootless || os.Geteuid() != 0:
		return errors.New("restore: needs root (rootless restore is not supported)")
	case !cgroups.IsV2():
		return errors.New("restore: only cgroup v2 hosts are supported by husk yet")
	case !vocab.HasNamespace(s, specs.MountNamespace):
		return errors.New("restore: a container without a mount namespace is not supported")
	}
	if h := s.Hooks; h != nil && (len(h.Prestart) > 0 || len(h.CreateRuntime) > 0 || //nolint:staticcheck // prestart is deprecated, still honoured
		len(h.CreateContainer) > 0 || len(h.StartContainer) > 0 || len(h.Poststart) > 0) {
		return errors.New("restore: hooks other than poststop are not run on restore by husk yet; refusing a config that has them")
	}
	return nil
}

// restoreNamespaces hands CRIU the namespaces the config joins by path:
// network and PID ones by the key checkpoint dumped them under, the
// others to join.
func restoreNamespaces(sw *swrk, opts *rpc.CriuOpts, s *specs.Spec) ([]*os.File, error) {
	var files []*os.File
	for _, ns := range s.Linux.Namespaces {
		if ns.Path == "" {
			continue
		}
		switch ns.Type {
		case specs.NetworkNamespace, specs.PIDNamespace:
			f, err := os.Open(ns.Path)
			if err != nil {
				return files, fmt.Errorf("restore: %s namespace: %w", ns.Type, err)
			}
			files = append(files, f)
			sw.inherit(opts, criuNsKey(criuNsName(ns.Type)), f)
		case specs.CgroupNamespace:
			return files, errors.New("restore: joining a cgroup namespace by path is not supported (CRIU can't)")
		default:
			opts.JoinNs = append(opts.JoinNs, &rpc.JoinNamespace{
				Ns:     ptr(criuNsName(ns.Type)),
				NsFile: ptr(ns.Path),
			})
		}
	}
	return files, nil
}

// restoreMounts makes the mount points CRIU mounts on in the rootfs (a
// rootfs other than the checkpointed one, such as podman's for a restore
// from an exported checkpoint, may lack them) and tells CRIU where the
// host's mounts the checkpoint saved as external come from now: bind
// mounts by their source, device nodes by their path.
func restoreMounts(opts *rpc.CriuOpts, s *specs.Spec) error {
	// Mount points on a tmpfs come back with the tmpfs's contents.
	var tmpfs []string
	for _, m := range s.Mounts {
		if m.Type == "tmpfs" {
			tmpfs = append(tmpfs, filepath.Clean("/"+m.Destination))
		}
	}
	onTmpfs := func(dest string) bool {
		for _, t := range tmpfs {
			if strings.HasPrefix(dest, t+"/") {
				return true
			}
		}
		return false
	}
	for _, m := range s.Mounts {
		dest := filepath.Clean("/" + m.Destination)
		bind := m.Type == "bind" || vocab.ParseMountOptions(m.Options).Bind
		// cgroup2 appears with /sys; a v1 cgroup mount is CRIU's own tmpfs.
		if m.Type != "cgroup" && m.Type != "cgroup2" && !onTmpfs(dest) {
			src := ""
			if bind {
				src = m.Source
			}
			if err := makeMountPoint(s.Root.Path, dest, src); err != nil {
				return fmt.Errorf("restore: mount %s: %w", m.Destination, err)
			}
		}
		if bind {
			opts.ExtMnt = append(opts.ExtMnt, &rpc.ExtMountMap{Key: ptr(dest), Val: ptr(m.Source)})
		}
	}
	for _, d := range s.Linux.Devices {
		opts.ExtMnt = append(opts.ExtMnt, &rpc.ExtMountMap{Key: ptr(filepath.Clean(d.Path)), Val: ptr(d.Path)})
	}
	return nil
}

// makeMountPoint makes dest in rootfs if missing: a file when src, a bind
// mount's source, is one, else a directory.
func makeMountPoint(rootfs, dest, src string) error {
	target, err := securejoin.SecureJoin(rootfs, dest)
	if err != nil {
		return err
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if src != "" {
		if fi, err := os.Stat(src); err == nil && !fi.IsDir() {
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
	}
	return os.MkdirAll(target, 0o755)
}

// restoreStdio hands CRIU the new stdio for what the init's was at
// checkpoint: pipes (runc's descriptors.json) and files outside the
// container (husk's keys).
func restoreStdio(sw *swrk, opts *rpc.CriuOpts, o *RestoreOpts) error {
	var links, keys []string
	for name, v := range map[string]*[]string{descriptorsFile: &links, stdioKeysFile: &keys} {
		data, err := os.ReadFile(filepath.Join(o.ImagePath, name))
		if errors.Is(err, os.ErrNotExist) && name == stdioKeysFile {
			continue // runc's checkpoint
		}
		if err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		if err := json.Unmarshal(data, v); err != nil {
			return fmt.Errorf("restore: %s: %w", name, err)
		}
	}
	seen := map[string]bool{}
	for i := 0; i < 3; i++ {
		key := ""
		if i < len(keys) && keys[i] != "" {
			key = keys[i]
		} else if i < len(links) && strings.HasPrefix(links[i], "pipe:") {
			key = links[i]
		}
		if key == "" || seen[key] || o.Stdio[i] == nil {
			continue
		}
		seen[key] = true
		sw.inherit(opts, key, o.Stdio[i])
	}
	return nil
}
