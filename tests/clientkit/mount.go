package clientkit

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Mount is one line of /proc/self/mountinfo.
type Mount struct {
	Point  string // mount point, unescaped
	FSType string
	Super  string // superblock options (a v1 cgroup's controllers)
}

// MountInfo lists this process's mounts (its mount namespace's).
func MountInfo() []Mount {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	// Spaces and the like in a mount point are octal escapes.
	unescape := strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`)
	var ms []Mount
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent maj:min root mountpoint opts [optional...] - fstype source superopts
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || len(fields) < sep+3 {
			continue
		}
		m := Mount{Point: unescape.Replace(fields[4]), FSType: fields[sep+1]}
		if sep+3 < len(fields) {
			m.Super = fields[sep+3]
		}
		ms = append(ms, m)
	}
	return ms
}

// PidsIn lists the processes in cgroup directory cg.
func PidsIn(cg string) []int {
	b, err := os.ReadFile(filepath.Join(cg, "cgroup.procs"))
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids
}

// RemoveCgroup kills the processes in cgroup directory dir and removes
// it, retrying while they exit (rmdir fails with EBUSY until then). It
// returns what it killed, "pid N (comm)".
func RemoveCgroup(dir string) (killed []string) {
	for _, pid := range PidsIn(dir) {
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		killed = append(killed, fmt.Sprintf("pid %d (%s)", pid, strings.TrimSpace(string(comm))))
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for i := 0; i < 50; i++ {
		if err := syscall.Rmdir(dir); err == nil || errors.Is(err, syscall.ENOENT) {
			return killed
		}
		time.Sleep(100 * time.Millisecond)
	}
	return killed
}
