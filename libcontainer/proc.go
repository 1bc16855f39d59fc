package libcontainer

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// errGone means the recorded process no longer exists (or is a zombie, or
// its pid now belongs to another process).
var errGone = errors.New("process is gone")

// procInfo is what husk reads of a process in /proc/PID/stat.
type procInfo struct {
	state byte   // the state letter (field 3)
	flags uint64 // the kernel's PF_* flags (field 9)
	start uint64 // start time, clock ticks since boot (field 22)
}

// pfExiting is the kernel's PF_EXITING (include/linux/sched.h): the process
// has begun to exit.
const pfExiting = 0x4

// procStat reads pid's state, flags and start time from /proc/PID/stat.
func procStat(pid int) (procInfo, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return procInfo{}, errGone
		}
		return procInfo{}, err
	}
	// The command name may hold spaces and parentheses: fields start after
	// the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return procInfo{}, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	fields := bytes.Fields(data[i+2:])
	// fields[0] is field 3 (state), so field 9 (flags) is fields[6] and
	// field 22 (starttime) is fields[19].
	if len(fields) < 20 {
		return procInfo{}, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(fields))
	}
	p := procInfo{state: fields[0][0]}
	if p.flags, err = strconv.ParseUint(string(fields[6]), 10, 64); err != nil {
		return procInfo{}, fmt.Errorf("parse /proc/%d/stat flags: %w", pid, err)
	}
	if p.start, err = strconv.ParseUint(string(fields[19]), 10, 64); err != nil {
		return procInfo{}, fmt.Errorf("parse /proc/%d/stat starttime: %w", pid, err)
	}
	return p, nil
}

// alive reports whether pid is still the process started at start.
func alive(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	p, err := procStat(pid)
	return err == nil && p.runs(start)
}

// exiting reports whether pid, the process started at start, is gone or on
// its way out. A PID namespace's init drops its namespaces early in its
// exit, then waits there until the namespace's other processes are dead:
// for that while /proc shows it sleeping, not a zombie, yet a setns
// through its pidfd fails with ESRCH.
func exiting(pid int, start uint64) bool {
	if pid <= 0 {
		return true
	}
	p, err := procStat(pid)
	return err != nil || !p.runs(start) || p.flags&pfExiting != 0
}

// runs reports whether p is the process started at start and not a zombie.
func (p procInfo) runs(start uint64) bool {
	return p.start == start && p.state != 'Z' && p.state != 'X'
}

// openPidfd returns a pidfd for pid after checking that it is still the
// process that started at start. Checking after opening closes the race with
// pid reuse: the pidfd pins the process it was opened for.
func openPidfd(pid int, start uint64) (int, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return -1, errGone
		}
		return -1, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	if !alive(pid, start) {
		unix.Close(fd)
		return -1, errGone
	}
	return fd, nil
}

// signalProcess sends sig to the process identified by pid and start time.
func signalProcess(pid int, start uint64, sig unix.Signal) error {
	fd, err := openPidfd(pid, start)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return errGone
		}
		return fmt.Errorf("signal %d: %w", pid, err)
	}
	return nil
}
