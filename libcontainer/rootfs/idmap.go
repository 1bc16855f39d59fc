package rootfs

import (
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/spec"
)

// IDMapOf reports whether a spec mount asks for an idmapped mount, and
// whether the mapping applies to its submounts too ("ridmap"). Mappings
// without either option still ask for one: the spec only recommends the
// option, so that older runtimes fail rather than ignore the mappings.
// Like other options, the later of idmap and ridmap wins.
func IDMapOf(m specs.Mount) (idmapped, recursive bool) {
	for _, o := range m.Options {
		switch o {
		case "idmap":
			idmapped, recursive = true, false
		case "ridmap":
			idmapped, recursive = true, true
		}
	}
	return idmapped || len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0, recursive
}

// attachIDMapped puts an idmapped mount on dest. husk made it beforehand,
// as root of the host, as a detached mount (mnt): setting the idmapping
// needs privileges over the mapping's user namespace that the init, inside
// the container's user namespace, does not have. Attaching it and the
// options that concern an existing mount are done here, through the same
// fd-pinned target as any bind mount.
func (r *rootDir) attachIDMapped(mnt *os.File, dest string, o spec.MountOptions) error {
	if mnt == nil {
		return errors.New("idmap: husk prepared no idmapped mount for it")
	}
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
