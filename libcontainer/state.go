package libcontainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/seccomp"
	hspec "github.com/husk-runtime/husk/spec"
)

const (
	stateFile = "state.json"
	// recordFile is state.json without the spec: what create made, written
	// as it makes it. It is never rewritten after create, so a state.json
	// that was lost or damaged later still leaves what delete --force needs.
	recordFile = "record.json"
	fifoName   = "exec.fifo"
	// tmpPrefix starts the names of state dirs being made or removed:
	// '~' is no id's character, so they never name a container.
	tmpPrefix = "~"
	newPrefix = tmpPrefix + "new-" // a create's, until it is named
)

// stateVersion is the format of state.json and record.json. Version 0
// (no field) is husk 0.1's; 1 added the field; 2 moved the systemd unit
// out of cgroup_paths (legacyUnitKey) into systemd_unit. A node upgrades
// husk while containers run, so a format change must keep reading the
// older ones; a newer format than this husk knows is refused.
const stateVersion = 2

// legacyUnitKey is the cgroup_paths key under which formats 0 and 1 kept
// the systemd unit.
const legacyUnitKey = "systemd:unit"

// ErrNotExist is returned for an id with no state directory; clients match
// its text ("does not exist").
var ErrNotExist = errors.New("container does not exist")

// State is what husk keeps in <root>/<id>/state.json. It holds the spec so
// that later commands (exec, kill --all, delete with its poststop hooks) need
// nothing but the state directory.
//
// The spec stays JSON until a command needs all of it: start, delete, kill
// and state use only its hooks and annotations, and decoding the whole spec
// would cost one of these short-lived processes more than its own work
// (encoding/json builds codecs for every type the spec reaches on first use).
type State struct {
	Version int       `json:"version,omitempty"`
	ID      string    `json:"id"`
	Bundle  string    `json:"bundle"`
	Rootfs  string    `json:"rootfs"`
	Created time.Time `json:"created"`
	Owner   string    `json:"owner"`
	Pid     int       `json:"pid"`
	// PidStart is the init's start time in clock ticks since boot (field 22
	// of /proc/PID/stat): with Pid it names the process, so a recycled pid is
	// never mistaken for the container.
	PidStart    uint64            `json:"pid_start"`
	CgroupPaths map[string]string `json:"cgroup_paths"`
	// SystemdUnit is the container's unit with the systemd cgroup driver.
	SystemdUnit string `json:"systemd_unit,omitempty"`
	// SystemdUser: the unit is the user's systemd instance's (a rootless
	// container), reached on the user's session bus, not the system's.
	SystemdUser bool `json:"systemd_user,omitempty"`
	// SharedRootfs: the container has no mount namespace and husk binds its
	// rootfs onto itself (rootfs.BindShared); delete removes that mount if
	// the rootfs is on another mount than RootfsMountID, the one it was on
	// before, so a create killed before the bind leaves the mount alone.
	SharedRootfs  bool   `json:"shared_rootfs,omitempty"`
	RootfsMountID uint64 `json:"rootfs_mount_id,omitempty"`
	// Creating: create has not finished. It records what it is about to
	// make before making it, so a create killed at any step leaves a state
	// that list shows (as creating while Creator runs, stopped after) and
	// delete --force removes. Creator and CreatorStart name the husk
	// process that creates it.
	Creating     bool   `json:"creating,omitempty"`
	Creator      int    `json:"creator,omitempty"`
	CreatorStart uint64 `json:"creator_start,omitempty"`
	// SharedCgroup: the cgroup held other processes when the container was
	// made; delete kills only the container's init and leaves the cgroup to
	// whoever is still in it. husk 0.1 shared a cgroup in use with a
	// warning, as runc 1.1; later ones refuse it, and honour the mark in
	// the states husk 0.1 wrote.
	SharedCgroup bool `json:"shared_cgroup,omitempty"`
	// Config is the spec create saw (with later updates), as JSON.
	Config json.RawMessage `json:"spec"`

	spec    *specs.Spec     // Config decoded but its linux.seccomp, by Spec or given by setSpec
	seccomp seccomp.Profile // Config's linux.seccomp, with spec
	meta    specMeta
	// broken is why state.json could not be read when the state came from
	// record.json instead (or from nothing at all).
	broken error
}

// specMeta is the part of the spec that lifecycle commands read.
type specMeta struct {
	Annotations map[string]string `json:"annotations,omitempty"`
	Hooks       *specs.Hooks      `json:"hooks,omitempty"`
	Linux       struct {
		Namespaces []specs.LinuxNamespace `json:"namespaces,omitempty"`
	} `json:"linux"`
}

// Spec returns the container's whole spec but its linux.seccomp (Seccomp),
// decoding it on first use.
func (s *State) Spec() (*specs.Spec, error) {
	if s.spec == nil {
		if len(s.Config) == 0 {
			return nil, fmt.Errorf("container %s has no saved spec: its create did not finish", s.ID)
		}
		spec, profile, err := hspec.Unmarshal(s.Config)
		if err != nil {
			return nil, fmt.Errorf("parse saved spec of %s: %w", s.ID, err)
		}
		s.spec, s.seccomp = spec, profile
	}
	return s.spec, nil
}

// Seccomp returns the container's linux.seccomp, as JSON.
func (s *State) Seccomp() (seccomp.Profile, error) {
	_, err := s.Spec()
	return s.seccomp, err
}

// setSpec makes spec, with profile as its linux.seccomp, the container's
// spec; save stores it.
func (s *State) setSpec(spec *specs.Spec, profile seccomp.Profile) {
	s.spec, s.seccomp = spec, profile
	s.meta = specMeta{Annotations: spec.Annotations, Hooks: spec.Hooks}
	if spec.Linux != nil {
		s.meta.Linux.Namespaces = spec.Linux.Namespaces
	}
}

const idChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-."

// ValidateID refuses ids that could escape the state root or confuse clients.
func ValidateID(id string) error {
	if id == "" {
		return errors.New("container id cannot be empty")
	}
	if len(id) > 1024 {
		return fmt.Errorf("invalid container id %.32q...: longer than 1024 bytes", id)
	}
	if strings.Trim(id, idChars) != "" || id == "." || id == ".." {
		return fmt.Errorf("invalid container id %q: only letters, digits, '_', '+', '-' and '.' are allowed", id)
	}
	return nil
}

// stateDir is where one container's files live.
func stateDir(root, id string) string { return filepath.Join(root, id) }

// lockDir takes an exclusive flock on the container's directory so commands on
// one id serialize. The lock goes with the returned file.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotExist
		}
		return nil, fmt.Errorf("open state dir: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return f, nil
}

// save writes state.json.
func (s *State) save(dir string) error {
	if s.spec != nil {
		config, err := hspec.Marshal(s.spec, s.seccomp)
		if err != nil {
			return err
		}
		s.Config = config
	}
	return s.write(dir, stateFile)
}

// saveRecord writes record.json: the state without its spec.
func (s *State) saveRecord(dir string) error {
	r := *s
	r.spec, r.Config = nil, nil
	return r.write(dir, recordFile)
}

// write replaces dir/name with the state at once: a reader, or a husk
// killed half-way, sees the old file or the new one, never a part. It is
// not synced to the disk: the state describes processes and kernel objects
// that end with the machine, and after a crash of the machine a file left
// empty reads as a broken container, which list shows and delete --force
// removes. On a root on disk each sync waits for a journal commit, and a
// create writes four times (docs/design.md, "State").
func (s *State) write(dir, name string) error {
	s.Version = stateVersion
	parts, err := s.encode()
	if err != nil {
		return err
	}
	return replaceFile(dir, name, parts, spareName(name))
}

// spareName is the temporary file a write of the state file name keeps
// for the next one (replaceFile). Only one husk writes a container's state
// at a time: it holds the state dir's lock.
func spareName(name string) string { return ".state-" + name }

// replaceFile replaces dir/name with data, the pieces one after the other,
// at once, by a rename. It works on the fd itself: an *os.File tries the
// netpoller and sets O_NONBLOCK and back, five syscalls more for each of
// create's five writes.
//
// With a spare name, the temporary file is that name, written over in
// place, and kept after an exchange with the old content for the next
// write: a new inode on a disk-backed root costs a search of the inode
// bitmap that, on ext4 without a journal, steps over every inode freed in
// the last minutes, and create writes its record four times. It is written
// over, not truncated to nothing first, which ext4 would take for a file
// being replaced and write out at close. Without one, the temporary file
// has a name of its own, for writers that don't hold the lock.
func replaceFile(dir, name string, data [][]byte, spare string) error {
	var tmp string
	var fd int
	var err error
	if spare == "" {
		tmp, fd, err = createTemp(dir)
	} else {
		tmp = filepath.Join(dir, spare)
		fd, err = unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	size, err := writeAt(fd, data)
	if err == nil && spare != "" {
		err = unix.Ftruncate(fd, size)
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	renamed := false
	if err == nil {
		// Exchanged with the file it replaces rather than renamed over
		// it: ext4 writes a file out at once when it is renamed over
		// another (auto_da_alloc), which took 0.4 ms of each of create's
		// state writes on a disk-backed --root. The old content goes
		// with the temporary name; a first write, or a filesystem
		// without exchanges, renames.
		target := filepath.Join(dir, name)
		err = unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, target, unix.RENAME_EXCHANGE)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
			err = unix.Rename(tmp, target)
			renamed = err == nil
		}
	}
	if (spare == "" || err != nil) && !renamed {
		_ = unix.Unlink(tmp)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// writeAt writes data's pieces from the start of fd, in one pwritev
// unless it writes less, and returns how many bytes that was.
func writeAt(fd int, data [][]byte) (int64, error) {
	var off int64
	for {
		for len(data) > 0 && len(data[0]) == 0 {
			data = data[1:]
		}
		if len(data) == 0 {
			return off, nil
		}
		n, err := unix.Pwritev(fd, data, off)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return off, err
		case n == 0:
			return off, io.ErrShortWrite
		}
		off += int64(n)
		for len(data) > 0 && n >= len(data[0]) {
			n -= len(data[0])
			data = data[1:]
		}
		if n > 0 {
			data = append([][]byte{data[0][n:]}, data[1:]...)
		}
	}
}

// createTemp makes a new file of mode 0600 in dir under a name no one
// else has, as os.CreateTemp does, and returns its name and fd.
func createTemp(dir string) (string, int, error) {
	for range 100 {
		name := filepath.Join(dir, ".state-"+strconv.FormatUint(uint64(rand.Uint32()), 10))
		fd, err := unix.Open(name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
		if err == nil {
			return name, fd, nil
		}
		if err != unix.EEXIST && err != unix.EINTR {
			return "", -1, &os.PathError{Op: "open", Path: name, Err: err}
		}
	}
	return "", -1, fmt.Errorf("no free temporary name in %s", dir)
}

// loadState reads a container's state. When state.json is missing or
// unreadable outside a create, the state comes from record.json (or, with
// no record either but the exec fifo, holds only the id) and is broken:
// list shows it, and delete --force removes what the record names.
func loadState(dir string) (*State, error) {
	s, err := readState(filepath.Join(dir, stateFile))
	if err == nil && (len(s.Config) > 0 || s.Creating) {
		return s, nil
	}
	if err == nil {
		err = fmt.Errorf("%s holds no spec", filepath.Join(dir, stateFile))
	}
	if errors.Is(err, errNewer) {
		return nil, err
	}
	r, rerr := readState(filepath.Join(dir, recordFile))
	switch {
	case rerr == nil && r.Creating && errors.Is(err, ErrNotExist):
		return r, nil // create has not written state.json yet
	case errors.Is(rerr, errNewer):
		return nil, rerr
	case rerr != nil:
		// Neither file: a container only if its exec fifo is there;
		// any other directory under the root is none of husk's.
		if errors.Is(err, ErrNotExist) && errors.Is(rerr, ErrNotExist) {
			if _, serr := os.Lstat(filepath.Join(dir, fifoName)); serr != nil {
				return nil, ErrNotExist
			}
		}
		r = &State{ID: filepath.Base(dir)}
	}
	if errors.Is(err, ErrNotExist) {
		err = fmt.Errorf("%s is missing", filepath.Join(dir, stateFile))
	}
	r.broken = err
	return r, nil
}

// errNewer marks a state written by a newer husk than this one.
var errNewer = errors.New("written by a newer husk")

func readState(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, ErrNotExist
		}
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if s.Version > stateVersion {
		return nil, fmt.Errorf("%s: format %d %w (this one reads up to %d): use that husk", path, s.Version, errNewer, stateVersion)
	}
	if unit, ok := s.CgroupPaths[legacyUnitKey]; ok && s.Version < 2 {
		s.SystemdUnit = unit
		delete(s.CgroupPaths, legacyUnitKey)
	}
	// A create killed before its first full save has no spec yet; nor has
	// a record.
	if len(s.Config) == 0 {
		return &s, nil
	}
	if err := json.Unmarshal(s.Config, &s.meta); err != nil {
		return nil, fmt.Errorf("parse %s: spec: %w", path, err)
	}
	return &s, nil
}
