package stage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// sealedSelf returns an O_PATH handle to husk's own binary that the init and
// exec stages are started from, chosen so that nothing can write to the
// binary through it: a process in the container that gets hold of a stage's
// /proc/PID/exe (it needs CAP_SYS_PTRACE over the host's user namespace to
// get past the stage being non-dumpable) must not be able to overwrite
// husk on the host (CVE-2019-5736).
//
// The handle is the binary as seen through a private overlayfs whose only
// layers are lower ones: the binary's directory and a second one overlayfs
// insists on (devLayer, or emptyLayer). An overlay without an upper layer
// has a read-only superblock that overlayfs refuses to remount read-write,
// so opening the file for writing (or truncating it, or changing its mode)
// fails with EROFS whatever the caller's capabilities, in any user
// namespace. A read-only *mount
// attribute* would not do: anyone with CAP_SYS_ADMIN over their own mount
// namespace may clear MOUNT_ATTR_RDONLY on a detached mount with
// mount_setattr. The overlay is detached too, visible in no mount
// namespace, and the handle is not its root, so mount_setattr and fspick
// on it fail. It costs no memory and little time (docs/design.md); where
// overlayfs can't be mounted (rootless, kernels without the new mount API
// or overlayfs) husk falls back to a sealed memfd copy of itself.
func sealedSelf() (selfView, error) {
	if v, err := overlaySelf(); err == nil {
		return v, nil
	}
	f, err := memfdSelf()
	return selfView{exe: f, mount: -1}, err
}

// selfView is the handle sealedSelf returns and, for the overlay's view,
// the overlay's detached mount, open until close.
type selfView struct {
	exe   *os.File
	mount int // -1 for the memfd copy
}

// close closes the view once the stage has been exec'd from it. Closing
// a detached mount's last fd dissolves the anonymous mount namespace it
// is in, and the kernel then waits for an expedited RCU grace period
// (synchronize_rcu_expedited in namespace_unlock): IPIs and a wake-up,
// 0.8 ms of a quiet machine's `run` in all, and on a busy one as long as
// the woken thread takes to get a CPU back. Nothing needs to wait for it, so
// a goroutine closes the mount. After the stage's execve its close is the
// mount's last (the stage's copy of husk's fd table, taken at the vfork,
// went with the execve), so the stage never waits for the grace period.
func (v selfView) close() {
	v.exe.Close()
	if v.mount >= 0 {
		go unix.Close(v.mount)
	}
}

func overlaySelf() (selfView, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return selfView{}, err
	}
	if strings.HasSuffix(exe, " (deleted)") {
		return selfView{}, errors.New("own binary was removed")
	}
	var want unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &want); err != nil {
		return selfView{}, err
	}
	return readOnlyView(exe, &want)
}

// readOnlyView opens path, which must still be the file want describes,
// through a detached lower-only overlayfs (see sealedSelf).
func readOnlyView(path string, want *unix.Stat_t) (selfView, error) {
	dir, err := unix.Open(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return selfView{}, err
	}
	defer unix.Close(dir)
	// Overlayfs wants two lower layers when it has no upper one: see
	// devLayer and emptyLayer for why these two, in this order.
	mnt, err := overlayOver(dir, devLayer)
	if err != nil {
		mnt, err = overlayOver(dir, emptyLayer)
	}
	if err != nil {
		return selfView{}, err
	}
	fd, err := unix.Openat(mnt, filepath.Base(path), unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(mnt)
		return selfView{}, err
	}
	// The path may name another file by now (husk upgraded in place): run
	// the stage from the very binary this process runs, or not at all.
	var got unix.Stat_t
	if err := unix.Fstat(fd, &got); err != nil || got.Ino != want.Ino || got.Size != want.Size || got.Mtim != want.Mtim {
		unix.Close(fd)
		unix.Close(mnt)
		return selfView{}, errors.New("own binary changed on disk")
	}
	return selfView{exe: os.NewFile(uintptr(fd), "husk-overlay-exe"), mount: mnt}, nil
}

// devLayer is the second layer where it will do: /dev is a directory
// every host has mounted, and never the binary's directory or one of its
// parents (overlayfs refuses layers that nest).
func devLayer() (int, error) {
	return unix.Open("/dev", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// emptyLayer is the second layer where /dev won't do (a /dev whose
// submounts a user namespace locked): an empty detached tmpfs. Kernels take
// it from Linux 6.15 on; before, overlayfs clones each layer's mount and
// refuses a detached one ("failed to clone lowerpath"), and with this layer
// alone every stage ran from a memfd copy of husk there.
func emptyLayer() (int, error) { return detachedMount("tmpfs", nil, unix.MOUNT_ATTR_RDONLY) }

// overlayOver mounts, detached, a read-only overlayfs of the directory dir
// over the layer that second opens.
func overlayOver(dir int, second func() (int, error)) (int, error) {
	layer, err := second()
	if err != nil {
		return -1, err
	}
	defer unix.Close(layer)
	// The string form of lowerdir is the one kernels before 6.8 take.
	lower := "/proc/self/fd/" + strconv.Itoa(dir) + ":/proc/self/fd/" + strconv.Itoa(layer)
	return detachedMount("overlay", map[string]string{"lowerdir": lower},
		unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV)
}

// detachedMount makes a mount of a new fstype superblock that is attached
// nowhere, and returns its fd.
func detachedMount(fstype string, opts map[string]string, attrs int) (int, error) {
	fs, err := unix.Fsopen(fstype, unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, err
	}
	defer unix.Close(fs)
	for k, v := range opts {
		if err := unix.FsconfigSetString(fs, k, v); err != nil {
			return -1, fmt.Errorf("%s option %s: %w", fstype, k, err)
		}
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, fmt.Errorf("create %s: %w", fstype, err)
	}
	return unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, attrs)
}

func memfdSelf() (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("open own binary: %w", err)
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("husk", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	dst := os.NewFile(uintptr(fd), "husk-memfd-exe")
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return nil, fmt.Errorf("copy own binary: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		dst.Close()
		return nil, fmt.Errorf("seal own binary copy: %w", err)
	}
	return dst, nil
}
