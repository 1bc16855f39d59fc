package seccomp

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Actions lists the spec actions that libseccomp and the kernel here both
// support, for `husk features` (seccomp.actions).
func Actions() []string {
	level := apiLevel()
	var out []string
	for _, a := range actionNames {
		if level >= a.api {
			out = append(out, string(a.name))
		}
	}
	return out
}

// Operators lists the spec's argument operators; libseccomp has had all of
// them since before the oldest version libseccomp-golang accepts.
func Operators() []string {
	out := make([]string, len(operatorNames))
	for i, o := range operatorNames {
		out[i] = string(o.name)
	}
	return out
}

// Archs lists the spec architectures the linked libseccomp knows
// (seccomp.archs). Architectures of the other byte order are listed too:
// husk accepts them and leaves them out of the filter.
func Archs() []string { return slices.Clone(archProbe().known) }

// otherByteOrder tells whether libseccomp refuses to put arch in a filter
// for this machine because its byte order differs.
func otherByteOrder(arch specs.Arch) bool { return archProbe().foreign[arch] }

// archProbe asks libseccomp which architectures it knows: it refuses one
// it was built without with a plain error, one of the other byte order than
// the native one with EDOM.
var archProbe = sync.OnceValue(func() (r struct {
	known   []string
	foreign map[specs.Arch]bool
}) {
	r.foreign = map[specs.Arch]bool{}
	probe, err := libseccomp.NewFilter(libseccomp.ActAllow)
	if err != nil {
		return r
	}
	defer probe.Release()
	for _, a := range archNames {
		err := probe.AddArch(a.arch)
		if errors.Is(err, syscall.EDOM) {
			r.foreign[a.name] = true
		}
		if err == nil || r.foreign[a.name] {
			r.known = append(r.known, string(a.name))
		}
	}
	return r
})

// KnownFlags lists every flag of the spec husk recognizes
// (seccomp.knownFlags).
func KnownFlags() []string {
	out := make([]string, len(flagNames))
	for i, f := range flagNames {
		out[i] = string(f.name)
	}
	return out
}

// Flags lists the flags this kernel supports (seccomp.supportedFlags).
func Flags() []string { return slices.Clone(supportedFlags()) }

var supportedFlags = sync.OnceValue(func() []string {
	var out []string
	for _, f := range flagNames {
		if kernelHasFlag(f.bit) {
			out = append(out, string(f.name))
		}
	}
	return out
})

// apiLevel is libseccomp's API level, which folds in what the running
// kernel supports; libseccomp before 2.4 has none and counts as 0.
func apiLevel() uint {
	level, err := libseccomp.GetAPI()
	if err != nil {
		return 0
	}
	return level
}

// kernelHasFlag asks the kernel whether it knows a seccomp(2) filter flag:
// it checks flags before reading the program, so a NULL program fails
// with EFAULT for a known flag and EINVAL for an unknown one.
func kernelHasFlag(bit uint) bool {
	// WAIT_KILLABLE_RECV is refused without NEW_LISTENER whatever the
	// kernel.
	if bit&unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV != 0 {
		bit |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	}
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(bit), 0)
	return errno == unix.EFAULT
}

// LibraryVersion is the version of the libseccomp husk is linked with, for
// `husk --version`.
func LibraryVersion() string {
	major, minor, micro := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", major, minor, micro)
}
