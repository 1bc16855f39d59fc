package main

// Subcommands that print the process attributes of the runtime spec's
// process.scheduler, process.ioPriority, process.execCPUAffinity,
// linux.personality and linux.memoryPolicy. Per-thread attributes are read
// for the process's pid, that is its main thread, the one that execve
// started: the Go runtime's threads only inherit them.

import (
	"fmt"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

var schedPolicyNames = map[uint32]string{
	unix.SCHED_NORMAL: "SCHED_OTHER", unix.SCHED_FIFO: "SCHED_FIFO", unix.SCHED_RR: "SCHED_RR",
	unix.SCHED_BATCH: "SCHED_BATCH", unix.SCHED_IDLE: "SCHED_IDLE", unix.SCHED_DEADLINE: "SCHED_DEADLINE",
}

func cmdSched([]string) error {
	a, err := unix.SchedGetAttr(os.Getpid(), 0)
	if err != nil {
		return fmt.Errorf("sched_getattr: %w", err)
	}
	name, ok := schedPolicyNames[a.Policy]
	if !ok {
		name = strconv.Itoa(int(a.Policy))
	}
	fmt.Printf("policy=%s nice=%d priority=%d flags=%#x runtime=%d deadline=%d period=%d\n",
		name, a.Nice, a.Priority, a.Flags, a.Runtime, a.Deadline, a.Period)
	return nil
}

var ioprioClassNames = []string{"IOPRIO_CLASS_NONE", "IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE"}

func cmdIOPrio([]string) error {
	const whoProcess, classShift, levelMask = 1, 13, 7
	v, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, whoProcess, uintptr(os.Getpid()), 0)
	if errno != 0 {
		return fmt.Errorf("ioprio_get: %w", errno)
	}
	class := strconv.Itoa(int(v >> classShift))
	if c := int(v >> classShift); c < len(ioprioClassNames) {
		class = ioprioClassNames[c]
	}
	fmt.Printf("class=%s priority=%d\n", class, v&levelMask)
	return nil
}

// formatList prints the set bits of a kernel bitmap as "0-3,7".
func formatList(words []uint) string {
	var parts []string
	n := len(words) * bits.UintSize
	isSet := func(i int) bool { return i < n && words[i/bits.UintSize]&(1<<(i%bits.UintSize)) != 0 }
	for i := 0; i < n; i++ {
		if !isSet(i) {
			continue
		}
		j := i
		for isSet(j + 1) {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(i))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", i, j))
		}
		i = j
	}
	return strings.Join(parts, ",")
}

// maxBits is room for every CPU or node a kernel may have.
const maxBits = 8192

func cmdAffinity([]string) error {
	words := make([]uint, maxBits/bits.UintSize)
	size := uintptr(len(words)) * unsafe.Sizeof(words[0])
	if _, _, errno := unix.Syscall(unix.SYS_SCHED_GETAFFINITY, uintptr(os.Getpid()), size, uintptr(unsafe.Pointer(&words[0]))); errno != 0 {
		return fmt.Errorf("sched_getaffinity: %w", errno)
	}
	fmt.Println(formatList(words))
	return nil
}

func cmdPersonality([]string) error {
	v, _, errno := unix.Syscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)
	if errno != 0 {
		return fmt.Errorf("personality: %w", errno)
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return err
	}
	fmt.Printf("persona=%#x machine=%s\n", v, unix.ByteSliceToString(u.Machine[:]))
	return nil
}

var (
	mempolicyModeNames = []string{
		"MPOL_DEFAULT", "MPOL_PREFERRED", "MPOL_BIND", "MPOL_INTERLEAVE",
		"MPOL_LOCAL", "MPOL_PREFERRED_MANY", "MPOL_WEIGHTED_INTERLEAVE",
	}
	mempolicyFlagNames = []struct {
		bit  int
		name string
	}{
		{unix.MPOL_F_NUMA_BALANCING, "MPOL_F_NUMA_BALANCING"},
		{unix.MPOL_F_RELATIVE_NODES, "MPOL_F_RELATIVE_NODES"},
		{unix.MPOL_F_STATIC_NODES, "MPOL_F_STATIC_NODES"},
	}
)

// cmdMempolicy prints the calling thread's policy, which every thread of
// the process inherited from the one that execve started.
func cmdMempolicy([]string) error {
	var mode int32
	words := make([]uint, maxBits/bits.UintSize)
	// The kernel copies maxnode-1 bits.
	maxnode := len(words)*bits.UintSize + 1
	if _, _, errno := unix.Syscall6(unix.SYS_GET_MEMPOLICY, uintptr(unsafe.Pointer(&mode)),
		uintptr(unsafe.Pointer(&words[0])), uintptr(maxnode), 0, 0, 0); errno != 0 {
		return fmt.Errorf("get_mempolicy: %w", errno)
	}
	flags := []string{}
	for _, f := range mempolicyFlagNames {
		if int(mode)&f.bit != 0 {
			flags = append(flags, f.name)
		}
	}
	m := int(mode) &^ unix.MPOL_MODE_FLAGS
	name := strconv.Itoa(m)
	if m < len(mempolicyModeNames) {
		name = mempolicyModeNames[m]
	}
	fmt.Printf("mode=%s flags=%s nodes=%s\n", name, strings.Join(flags, ","), formatList(words))
	return nil
}
