package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/husk-runtime/husk/libcontainer/seccomp"
)

// kernelLoad is what the kernel alone takes to load a filter: seccomp(2)
// timed in a fresh process, for the program husk makes of the profile and
// for a filter of one instruction. run+seccomp's cost can't go below it
// (and the kernel frees the filter again when the container exits).
type kernelLoad struct {
	Instructions int     `json:"instructions"`
	ProgramMs    float64 `json:"program_ms"`
	OneInsnMs    float64 `json:"one_instruction_ms"`
	N            int     `json:"n"`
}

// measureKernelLoad compiles profile as husk does (seccomp.Compile) and
// times its load n times, each in a new process (self -seccomp-load),
// alternating with the one-instruction filter.
func measureKernelLoad(self, profile, dir string, n int) (*kernelLoad, error) {
	raw, err := os.ReadFile(profile)
	if err != nil {
		return nil, err
	}
	s, err := seccomp.Profile(raw).Decode()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", profile, err)
	}
	f, err := seccomp.Compile(s, nil)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", profile, err)
	}
	prog, flags := f.Program()
	allow := binary.LittleEndian.AppendUint16(nil, unix.BPF_RET|unix.BPF_K)
	allow = append(allow, 0, 0)
	allow = binary.LittleEndian.AppendUint32(allow, unix.SECCOMP_RET_ALLOW)
	files := [2]string{filepath.Join(dir, "filter.bpf"), filepath.Join(dir, "allow.bpf")}
	for i, p := range [][]byte{prog, allow} {
		if err := os.WriteFile(files[i], p, 0o644); err != nil {
			return nil, err
		}
	}
	var times [2][]time.Duration
	for range n {
		for i, file := range files {
			out, err := exec.Command(self, "-seccomp-load", file, "-seccomp-flags", strconv.FormatUint(uint64(flags), 10)).Output()
			if err != nil {
				return nil, fmt.Errorf("load %s: %w", file, err)
			}
			ns, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("load %s: %q: %w", file, out, err)
			}
			times[i] = append(times[i], time.Duration(ns))
		}
	}
	for _, t := range times {
		slices.Sort(t)
	}
	return &kernelLoad{Instructions: len(prog) / int(unsafe.Sizeof(unix.SockFilter{})),
		ProgramMs: msOf(pct(times[0], 50)), OneInsnMs: msOf(pct(times[1], 50)), N: n}, nil
}

// loadFilter is -seccomp-load: it loads the program in file on this
// thread and prints how long seccomp(2) took, in nanoseconds.
func loadFilter(file string, flags uint) {
	goruntime.LockOSThread()
	prog, err := os.ReadFile(file)
	if err != nil {
		fatalf("%v", err)
	}
	insns := unsafe.Slice((*unix.SockFilter)(unsafe.Pointer(unsafe.SliceData(prog))), len(prog)/int(unsafe.Sizeof(unix.SockFilter{})))
	fprog := unix.SockFprog{Len: uint16(len(insns)), Filter: &insns[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fatalf("no_new_privs: %v", err)
	}
	t0 := time.Now()
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flags), uintptr(unsafe.Pointer(&fprog)))
	d := time.Since(t0)
	if errno != 0 {
		fatalf("seccomp: %v", errno)
	}
	fmt.Println(d.Nanoseconds())
	os.Exit(0)
}
