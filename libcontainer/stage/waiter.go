package stage

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/nsenter"
)

// selfFD is the init's handle on husk's binary, the sealed one it was
// started from (spawn passes it last, and the preamble keeps it for an
// init, close-on-exec).
func selfFD() int {
	n, _ := strconv.Atoi(os.Getenv(envNFDs))
	return n
}

// execWaiter hands the created container's wait to husk's binary started
// anew, without a Go runtime (nsenter's waitproc.c): it execs the binary
// through selfFD with cfg's process spelled as for a direct exec, the sync
// socket and the exec fifo left open for it. The waiter sets the process
// up, reports ready, waits for start and execs the process, as the rest of
// initStage would have. It returns only if the exec failed, with E2BIG for
// settings past what execve takes (MAX_ARG_STRLEN, 128 KiB a string on
// Linux), which the Go init can still wait with.
func (c *conn) execWaiter(cfg *Config) (err error) {
	set, warnings, err := directSettings(cfg)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		c.warnf("%s", w)
	}
	sync := int(c.f.Fd())
	pass := []int{sync, cfg.FifoFD}
	defer func() {
		for _, fd := range pass {
			unix.CloseOnExec(fd)
		}
	}()
	for _, fd := range pass {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			return fmt.Errorf("pass fd %d to the waiter: %w", fd, err)
		}
	}
	env := append(set, envWait+"="+strconv.Itoa(sync), envWaitFifo+"="+strconv.Itoa(cfg.FifoFD),
		envNFDs+"="+strconv.Itoa(cfg.FifoFD+1))
	// The process gets the open-files limit husk gave the init, as it
	// does from a Go init, whose exec lowers it again.
	cur, hard := nsenter.StartNofile()
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: cur, Max: hard}); err != nil {
		return fmt.Errorf("restore RLIMIT_NOFILE: %w", err)
	}
	empty, err := syscall.BytePtrFromString("")
	if err != nil {
		return err
	}
	argv, err := syscall.SlicePtrFromStrings([]string{"husk", "wait"})
	if err != nil {
		return err
	}
	envp, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return err
	}
	_, _, e := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(selfFD()), uintptr(unsafe.Pointer(empty)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envp[0])), unix.AT_EMPTY_PATH, 0)
	if e == unix.E2BIG {
		return e
	}
	return fmt.Errorf("exec husk's binary to wait for start: %w", e)
}
