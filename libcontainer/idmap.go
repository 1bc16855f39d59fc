package libcontainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/stage"
	"github.com/husk-runtime/husk/spec/vocab"
)

// mountSources makes the sources of the container's bind and idmapped
// mounts on husk's side (stage.SourceFunc), for an init that can't: one in
// a user namespace, which can't reach host directories closed to its ids,
// and any init with idmapped mounts, which need privileges over the
// mapping's user namespace that the init, inside the container's, lacks.
type mountSources struct {
	spec   *specs.Spec
	bundle string
	userns map[int]*os.File // idmapped mounts by index: the namespace of their mapping
	nss    usernsSet
}

// newMountSources returns the maker of s's mount sources, or nil when the
// init opens them itself: no idmapped mount, and no user namespace made or
// joined by root (a rootless caller's binds are its own directories, and
// it may not join the container's mount namespace). The user namespaces
// of the idmapped mounts are made now, so a bad mapping fails before
// anything else is.
func newMountSources(s *specs.Spec, bundle string) (ms *mountSources, err error) {
	ms = &mountSources{spec: s, bundle: bundle, userns: map[int]*os.File{}, nss: usernsSet{}}
	defer func() {
		if err != nil {
			ms.close()
			ms = nil
		}
	}()
	binds := false
	for i, m := range s.Mounts {
		idmapped, _ := vocab.IDMapOf(m)
		if !idmapped {
			binds = binds || m.Type == "bind" || vocab.ParseMountOptions(m.Options).Bind
			continue
		}
		userns, err := ms.nss.forMount(s, m, fmt.Sprintf("mounts[%d]", i))
		if err != nil {
			return ms, err
		}
		ms.userns[i] = userns
	}
	if len(ms.userns) == 0 && !(binds && os.Geteuid() == 0 && vocab.HasNamespace(s, specs.UserNamespace)) {
		ms.close()
		return nil, nil
	}
	return ms, nil
}

// source makes the source of mounts[i]. It runs on husk's thread in the
// container's mount namespace, when the init has made the mounts before
// it: a source inside one of them is that mount's.
func (ms *mountSources) source(i int) (*os.File, error) {
	if i < 0 || i >= len(ms.spec.Mounts) {
		return nil, fmt.Errorf("no mounts[%d] to give the source of", i)
	}
	source := ms.spec.Mounts[i].Source
	if !filepath.IsAbs(source) {
		source = filepath.Join(ms.bundle, source)
	}
	userns := ms.userns[i]
	if userns == nil {
		return os.OpenFile(source, unix.O_PATH|unix.O_CLOEXEC, 0)
	}
	o := vocab.ParseMountOptions(ms.spec.Mounts[i].Options)
	_, ridmap := vocab.IDMapOf(ms.spec.Mounts[i])
	f, err := idmappedTree(source, userns, o.Recursive, ridmap)
	if err != nil {
		return nil, fmt.Errorf("idmap: %w", err)
	}
	if err := checkUnlockedFlags(ms.spec, f, source); err != nil {
		f.Close()
		return nil, fmt.Errorf("idmap: %w", err)
	}
	return f, nil
}

func (ms *mountSources) close() { ms.nss.close() }

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
	f, err := stage.NewUserns(uid, gid)
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
