package stage

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// NewUserns makes a user namespace with the given mappings and returns a
// handle on it. A namespace is only made with a process, so this starts
// husk's own binary in a new one (the mappings are written before it
// execs) and takes the namespace from it. The binary never reaches Go: its
// namespace preamble (nsenter.c), asked for a setup handshake, waits for an
// ack that never comes and exits when the socket closes.
func NewUserns(uid, gid []specs.LinuxIDMapping) (*os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	parent, child := os.NewFile(uintptr(fds[0]), "userns-sync"), os.NewFile(uintptr(fds[1]), "userns-sync-child")
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{"husk", string(ModeUserns)},
		Env:        []string{envSyncFD + "=3", envNFDs + "=4"},
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
	err = sendSettings(parent, []string{envSetup + "=1"}, nil)
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
