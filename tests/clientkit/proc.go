package clientkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ProcsMentioning returns the pids of the processes (not zombies) whose
// command line contains s: with s a path unique to a run, what that run
// started and left behind.
func ProcsMentioning(s string) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue
		}
		if strings.Contains(string(b), s) && !IsZombie(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// IsZombie tells whether pid is a zombie, or gone: either way nothing to
// kill.
func IsZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	// The command name may hold spaces and parentheses; the state follows
	// the last ')'.
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] == 'Z'
}

// Cmdline is pid's command line, arguments separated by spaces, for a
// report.
func Cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
}

// KillGroupOnCancel runs cmd in a process group of its own and has its
// context's end kill the whole group: a client leaves daemons behind
// (conmon, shims) that would otherwise outlive the deadline and hold its
// output open.
func KillGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
}

// KillLeftovers gives the processes whose command line mentions marker up
// to wait to exit (shims, conmon and cleanup commands end shortly after
// their container), then kills (SIGKILL, by pid) those left and reports
// them, "pid N: command line": each is a leak.
func KillLeftovers(ctx context.Context, marker string, wait time.Duration) []string {
	Eventually(ctx, wait, func() error {
		if len(ProcsMentioning(marker)) > 0 {
			return errors.New("busy")
		}
		return nil
	})
	var out []string
	for _, pid := range ProcsMentioning(marker) {
		out = append(out, fmt.Sprintf("pid %d: %s", pid, Cmdline(pid)))
		syscall.Kill(pid, syscall.SIGKILL)
	}
	return out
}
