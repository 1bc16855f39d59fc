package stage

import (
	"fmt"
	"os"
	"runtime"
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
	n, err := strconv.Atoi(os.Getenv(envNFDs))
	if err != nil || n < 3 {
		return -1 // never stdio, whatever the environment says
	}
	return n
}

// execWaiter hands the created container's wait to husk's binary started
// anew, without a Go runtime (nsenter's waitproc.c): it execs the binary
// through selfFD with cfg's process spelled as for a direct exec, the sync
// socket and the exec fifo left open for it. The waiter sets the process
// up, reports ready, waits for start and execs the process, as the rest of
// initStage would have. It returns an error the Go init would have met
// too, or nil when the settings don't fit in an execve or the execve
// failed: the Go init then waits itself, its fds close-on-exec again.
func (c *conn) execWaiter(cfg *Config) error {
	set, warnings, err := directSettings(cfg)
	if err != nil {
		return err
	}
	sync := int(c.f.Fd())
	env := append(set, envWait+"="+strconv.Itoa(sync), envWaitFifo+"="+strconv.Itoa(cfg.FifoFD),
		envNFDs+"="+strconv.Itoa(cfg.FifoFD+1))
	if !fitsExecve(env) {
		return nil
	}
	envp, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return nil // a NUL, which plainProcess refuses already
	}
	argv, _ := syscall.SlicePtrFromStrings([]string{"husk", "wait"})
	empty, _ := syscall.BytePtrFromString("")
	// The warnings are the Go init's: sent once the exec is all but
	// certain, since the Go init sends them again if it waits after all.
	for _, w := range warnings {
		c.warnf("%s", w)
	}
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
	// The process gets the open-files limit husk gave the init, as it
	// does from a Go init, whose exec lowers it again.
	cur, hard := nsenter.StartNofile()
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: cur, Max: hard}); err != nil {
		return fmt.Errorf("restore RLIMIT_NOFILE: %w", err)
	}
	_, _, e := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(selfFD()), uintptr(unsafe.Pointer(empty)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envp[0])), unix.AT_EMPTY_PATH, 0)
	runtime.KeepAlive(empty)
	runtime.KeepAlive(argv)
	runtime.KeepAlive(envp)
	c.warnf("exec husk's binary to wait for start: %v; the init waits in Go", e)
	return nil
}

// fitsExecve tells whether execve takes env: no string over
// MAX_ARG_STRLEN (32 pages, its NUL included), and all of them, with
// their pointers, within a quarter of the stack limit (at most 6 MiB).
func fitsExecve(env []string) bool {
	var stack unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_STACK, &stack); err != nil {
		return false
	}
	limit := min(stack.Cur/4, 6<<20)
	total := uint64(0)
	for _, kv := range env {
		if len(kv)+1 > 32*4096 {
			return false
		}
		total += uint64(len(kv)) + 1 + 8
	}
	return total <= limit
}
