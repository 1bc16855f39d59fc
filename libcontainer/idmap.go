package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/spec/vocab"
)

// PrepareIDMappedMounts makes the idmapped mounts of s (mounts[].uidMappings
// and gidMappings, options idmap and ridmap) as detached mounts, for the
// init to attach. It runs as root of the host, before the init exists:
// MOUNT_ATTR_IDMAP needs CAP_SYS_ADMIN over the mapping's user namespace,
// which the init, inside the container's user namespace, lacks. Relative
// sources are taken from bundle, like the init's. files holds one mount per
// idmapped entry; index maps the entry's position in s.Mounts to its
// position in files. The caller closes files.
func PrepareIDMappedMounts(s *specs.Spec, bundle string) (files []*os.File, index map[int]int, err error) {
	nss := usernsSet{}
	defer nss.close()
	defer func() {
		if err != nil {
			closeFiles(files)
			files, index = nil, nil
		}
	}()
	for i, m := range s.Mounts {
		idmapped, ridmap := vocab.IDMapOf(m)
		if !idmapped {
			continue
		}
		field := fmt.Sprintf("mounts[%d]", i)
		o := vocab.ParseMountOptions(m.Options)
		userns, err := nss.forMount(s, m, field)
		if err != nil {
			return files, nil, err
		}
		source := m.Source
		if !filepath.IsAbs(source) {
			source = filepath.Join(bundle, source)
		}
		f, err := idmappedTree(source, userns, o.Recursive, ridmap)
		if err != nil {
			return files, nil, fmt.Errorf("%s: idmap: %w", field, err)
		}
		if err := checkUnlockedFlags(s, f, source); err != nil {
			f.Close()
			return files, nil, fmt.Errorf("%s: idmap: %w", field, err)
		}
		if index == nil {
			index = map[int]int{}
		}
		index[i] = len(files)
		files = append(files, f)
	}
	return files, index, nil
}

// checkUnlockedFlags refuses to hand a user-namespaced container an
// idmapped copy of a host mount that is read-only or nodev: made outside
// the container and moved in, the copy does not get the kernel's locks on
// those flags that the container's own binds of the same source inherit,
// so root in the container could remount it writable, or make the host's
// device nodes in it usable. (Losing nosuid or noexec gives nothing
// beyond what the container's own uids already have.)
func checkUnlockedFlags(s *specs.Spec, mnt *os.File, source string) error {
	if !vocab.HasNamespace(s, specs.UserNamespace) {
		return nil
	}
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(mnt.Fd()), &st); err != nil {
		return fmt.Errorf("statfs %s: %w", source, err)
	}
	if st.Flags&(unix.ST_RDONLY|unix.ST_NODEV) != 0 {
		return fmt.Errorf("%s is on a read-only or nodev mount, whose flags a user-namespaced container could clear on an idmapped copy", source)
	}
	return nil
}

// idmappedTree makes a detached copy of source (with its submounts for
// rbind) and idmaps it through userns (its submounts as well for ridmap).
func idmappedTree(source string, userns *os.File, rbind, ridmap bool) (*os.File, error) {
	flags := unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC
	if rbind {
		flags |= unix.AT_RECURSIVE
	}
	fd, err := unix.OpenTree(unix.AT_FDCWD, source, uint(flags))
	if err != nil {
		return nil, kernelError(fmt.Errorf("open_tree %s: %w", source, err))
	}
	mnt := os.NewFile(uintptr(fd), "idmapped:"+source)
	// A copy of a shared mount joins its peer group, which would carry
	// mounts made in the container back to the host: make the tree a slave,
	// as the init makes the container's "/" before its mounts (rslave).
	prop := unix.MountAttr{Propagation: unix.MS_SLAVE}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, &prop); err != nil {
		mnt.Close()
		return nil, kernelError(fmt.Errorf("make %s a slave mount: %w", source, err))
	}
	at := unix.AT_EMPTY_PATH
	if ridmap {
		at |= unix.AT_RECURSIVE
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(userns.Fd())}
	if err := unix.MountSetattr(fd, "", uint(at), &attr); err != nil {
		mnt.Close()
		if errors.Is(err, unix.EINVAL) {
			return nil, fmt.Errorf("mount_setattr(MOUNT_ATTR_IDMAP) on %s: %w (does its filesystem, or a submount's for ridmap, support idmapped mounts?)", source, err)
		}
		return nil, kernelError(fmt.Errorf("mount_setattr(MOUNT_ATTR_IDMAP) on %s: %w", source, err))
	}
	return mnt, nil
}

// kernelError explains the ENOSYS of kernels older than idmapped mounts.
func kernelError(err error) error {
	if errors.Is(err, unix.ENOSYS) {
		return fmt.Errorf("this kernel has no idmapped mounts (they need Linux 5.12): %w", err)
	}
	return err
}

// usernsSet holds the user namespaces the mounts are idmapped through, one
// per distinct mapping, while the mounts are made.
type usernsSet map[string]*os.File

// forMount returns the user namespace that carries m's mapping: one made
// with its own uidMappings and gidMappings, or else the container's user
// namespace (the runtime-spec lets a runtime use that when the mount has
// none). spec.Validate has checked the mappings.
func (nss usernsSet) forMount(s *specs.Spec, m specs.Mount, field string) (*os.File, error) {
	if len(m.UIDMappings) > 0 {
		f, err := nss.mapped(m.UIDMappings, m.GIDMappings)
		if err != nil {
			return nil, fmt.Errorf("%s: idmap: a user namespace with its uidMappings and gidMappings: %w", field, err)
		}
		return f, nil
	}
	if s.Linux != nil {
		for _, ns := range s.Linux.Namespaces {
			if ns.Type != specs.UserNamespace {
				continue
			}
			if ns.Path != "" {
				return nss.joined(ns.Path, field)
			}
			f, err := nss.mapped(s.Linux.UIDMappings, s.Linux.GIDMappings)
			if err != nil {
				return nil, fmt.Errorf("%s: idmap: a user namespace with linux.uidMappings and linux.gidMappings: %w", field, err)
			}
			return f, nil
		}
	}
	return nil, fmt.Errorf("%s: idmap: no uidMappings and gidMappings, and no user namespace in linux.namespaces to take them from", field)
}

func (nss usernsSet) mapped(uid, gid []specs.LinuxIDMapping) (*os.File, error) {
	key := fmt.Sprint(uid, gid)
	if f := nss[key]; f != nil {
		return f, nil
	}
	f, err := newUserns(uid, gid)
	if err != nil {
		return nil, err
	}
	nss[key] = f
	return f, nil
}

// joined opens the user namespace the container joins (its mappings are
// what they are).
func (nss usernsSet) joined(path, field string) (*os.File, error) {
	key := "path " + path
	if f := nss[key]; f != nil {
		return f, nil
	}
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: idmap: the container's user namespace: %w", field, err)
	}
	if t, err := unix.IoctlRetInt(int(f.Fd()), unix.NS_GET_NSTYPE); err != nil || t != unix.CLONE_NEWUSER {
		f.Close()
		return nil, fmt.Errorf("%s: idmap: the container's user namespace: %s is not a user namespace", field, path)
	}
	nss[key] = f
	return f, nil
}

func (nss usernsSet) close() {
	for _, f := range nss {
		f.Close()
	}
}

// newUserns makes a user namespace with the given mappings and returns a
// handle on it. A namespace is only made with a process, so this starts
// husk's own binary in a new one (the mappings are written before it
// execs) and takes the namespace from it. The binary never reaches Go: its
// namespace preamble (nsenter.c), asked for a setup handshake, waits for an
// ack that never comes and exits when the socket closes.
func newUserns(uid, gid []specs.LinuxIDMapping) (*os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	parent, child := os.NewFile(uintptr(fds[0]), "userns-sync"), os.NewFile(uintptr(fds[1]), "userns-sync-child")
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{"husk", "userns"},
		Env:        []string{"_HUSK_SYNCFD=3", "_HUSK_NFDS=4"},
		ExtraFiles: []*os.File{child},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags:  unix.CLONE_NEWUSER,
			UidMappings: sysIDMaps(uid),
			GidMappings: sysIDMaps(gid),
		},
	}
	err = cmd.Start()
	child.Close()
	if err != nil {
		parent.Close()
		return nil, fmt.Errorf("start a process in a new user namespace: %w", err)
	}
	// Once it asks for setup it is parked, and, being our unreaped child,
	// its pid can't name another process.
	var m syncMsg
	err = sendSettings(parent, []string{"_HUSK_SETUP=1"})
	if err == nil {
		err = json.NewDecoder(parent).Decode(&m)
	}
	switch {
	case err != nil:
		err = fmt.Errorf("its process: %w", err)
	case m.Type == msgError:
		err = errors.New(m.Msg)
	case m.Type != msgSetup:
		err = fmt.Errorf("its process sent %q, expected %q", m.Type, msgSetup)
	}
	var ns *os.File
	if err == nil {
		ns, err = os.Open("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/user")
	}
	parent.Close()
	_ = cmd.Wait() // it exits 1 at EOF on the socket, as it should
	return ns, err
}

func sysIDMaps(maps []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(maps))
	for i, m := range maps {
		out[i] = syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)}
	}
	return out
}

func closeFiles(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

// addInternal passes files to the stage after the internal files already
// there and returns, for each mount index in index, the fd number its file
// has in the stage.
func (o *stageOpts) addInternal(files []*os.File, index map[int]int) map[int]int {
	base := len(o.Internal)
	o.Internal = append(o.Internal, files...)
	fds := make(map[int]int, len(index))
	for i, pos := range index {
		fds[i] = o.internalFD(base + pos)
	}
	return fds
}

// idmappedFiles wraps, in the init, the idmapped mounts husk passed.
func idmappedFiles(fds map[int]int) map[int]*os.File {
	files := make(map[int]*os.File, len(fds))
	for i, fd := range fds {
		files[i] = os.NewFile(uintptr(fd), "idmapped-mount-"+strconv.Itoa(i))
	}
	return files
}
