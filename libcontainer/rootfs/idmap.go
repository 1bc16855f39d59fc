package rootfs

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/spec/vocab"
)

// attachIDMapped puts mounts[i], idmapped, on dest. husk makes it, as root
// of the host, as a detached mount: setting the idmapping needs privileges
// over the mapping's user namespace that the init, inside the container's
// user namespace, does not have. Attaching it and the options that concern
// an existing mount are done here, through the same fd-pinned target as
// any bind mount.
func (r *rootDir) attachIDMapped(c *Config, i int, dest string, o vocab.MountOptions) error {
	if c.HostSource == nil {
		return errors.New("idmap: husk gives no idmapped mounts to this init")
	}
	mnt, err := c.HostSource(i)
	if err != nil {
		return err
	}
	defer mnt.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(mnt.Fd()), &st); err != nil {
		return fmt.Errorf("idmap: stat the prepared mount: %w", err)
	}
	// procfs refuses idmapping, so the source is never a procfs.
	target, _, err := r.openTarget(dest, st.Mode&unix.S_IFMT != unix.S_IFDIR, procRule(false))
	if err != nil {
		return err
	}
	defer target.Close()
	err = unix.MoveMount(int(mnt.Fd()), "", int(target.Fd()), "",
		unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("idmap: move_mount: %w", err)
	}
	return r.settle(dest, target, o, needsRemount(o))
}
