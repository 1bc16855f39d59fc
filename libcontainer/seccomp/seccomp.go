// Package seccomp implements linux.seccomp of the runtime-spec: it checks a
// profile, compiles it with libseccomp, loads it into the calling thread and
// hands the notification fd of SCMP_ACT_NOTIFY rules to the listener.
package seccomp

import (
	"errors"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Debugf receives what compiling a profile leaves out, which is not an
// error but explains a profile's effect, and what the cache does. The
// caller of Compile and CompileCached passes its debug log; nil discards.
type Debugf func(format string, args ...any)

func (d Debugf) printf(format string, args ...any) {
	if d != nil {
		d(format, args...)
	}
}

// Filter is a compiled profile, ready to load. husk compiles it (see
// CompileCached) and sends it to the stage in its binary form
// (AppendBinary); the stage only loads it, as its last step.
type Filter struct {
	insns  []unix.SockFilter
	flags  uint
	notify bool
	// The profile's listenerPath and listenerMetadata, for the agent's
	// connection: kept with the program, so that a profile found in the
	// cache is not read for them either.
	listenerPath, listenerMetadata string
}

// Compile compiles s, which must have passed Validate (Profile.Decode
// checks every profile it decodes): it is not checked again. What the
// filter leaves out goes to debugf. A nil s gives a nil Filter, which loads
// nothing.
func Compile(s *specs.LinuxSeccomp, debugf Debugf) (*Filter, error) {
	if s == nil {
		return nil, nil
	}
	reportLeftOut(s, debugf)
	return compile(s, debugf)
}

func compile(s *specs.LinuxSeccomp, debugf Debugf) (*Filter, error) {
	insns, err := compileProgram(s, true, debugf)
	if errors.Is(err, errTooLong) {
		// The search is longer than the list: a profile near the
		// kernel's limit still loads as the list.
		insns, err = compileProgram(s, false, debugf)
	}
	if err != nil {
		return nil, err
	}
	insns = compactDispatch(insns)
	flags, err := flagBits(s.Flags)
	if err != nil {
		return nil, err
	}
	// A profile without the field (not an empty list) gets SPEC_ALLOW, as
	// runc gives it (and Docker before it): seccomp would otherwise turn
	// on the speculative store bypass mitigation, slowing the container,
	// on kernels whose default ties it to seccomp.
	if s.Flags == nil && kernelHasFlag(unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW) {
		flags |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
	}
	notify := usesNotify(s)
	if notify {
		flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
		if flags&unix.SECCOMP_FILTER_FLAG_TSYNC != 0 {
			flags |= unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH
		}
	} else {
		// It only changes how notified syscalls wait, and the kernel
		// refuses it without a listener.
		flags &^= unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
	}
	f := &Filter{insns: insns, flags: flags, notify: notify, listenerPath: s.ListenerPath, listenerMetadata: s.ListenerMetadata}
	return f.reported(debugf), nil
}

// compileProgram builds s as a binary search (tree) or a list, with the
// -ENOSYS stub.
func compileProgram(s *specs.LinuxSeccomp, tree bool, debugf Debugf) ([]unix.SockFilter, error) {
	f, err := buildFilter(s, tree)
	if err != nil {
		return nil, err
	}
	defer f.Release()
	insns, err := program(f)
	if err != nil {
		return nil, err
	}
	return withENOSYSStub(s, f, insns, debugf)
}

// reported logs the flags the filter is loaded with, in runc's words: its
// --debug output is what tools check them by.
func (f *Filter) reported(debugf Debugf) *Filter {
	debugf.printf("seccomp filter flags: %d", f.flags)
	return f
}

// Listener is the profile's listenerPath and listenerMetadata alone, what
// the agent's connection needs, or nil when it names no listener.
func (f *Filter) Listener() *specs.LinuxSeccomp {
	if f == nil || (f.listenerPath == "" && f.listenerMetadata == "") {
		return nil
	}
	return &specs.LinuxSeccomp{ListenerPath: f.listenerPath, ListenerMetadata: f.listenerMetadata}
}

// Notifies tells whether a rule uses SCMP_ACT_NOTIFY: Load then returns a
// listener fd for the agent.
func (f *Filter) Notifies() bool { return f != nil && f.notify }

// Load loads the filter into the calling thread, which must be locked
// (runtime.LockOSThread) and be the one that calls execve: the filter is
// per thread and survives execve. Unless the profile has
// SECCOMP_FILTER_FLAG_TSYNC, the process's other threads stay unfiltered,
// so a goroutine can still hand the notification fd over while the locked
// thread's own syscalls wait for the agent. Loading needs no_new_privs or
// CAP_SYS_ADMIN.
//
// When a rule uses SCMP_ACT_NOTIFY, Load returns the notification fd for
// SendState; else nil.
func (f *Filter) Load() (*os.File, error) {
	if f == nil {
		return nil, nil
	}
	fd, err := loadProgram(f.insns, f.flags)
	if err != nil || !f.notify {
		return nil, err
	}
	return notifyFile(fd), nil
}

// notifyFile wraps the listener fd in an *os.File on another thread:
// os.NewFile calls fcntl, and with a profile that notifies fcntl (as
// bypass4netns does) this thread would wait for an agent that cannot have
// the fd yet. Only futex waits remain on this thread, and those an agent can
// answer once another goroutine handed it the fd.
func notifyFile(fd int) *os.File {
	ch := make(chan *os.File)
	go func() { ch <- os.NewFile(uintptr(fd), "seccomp-notify") }()
	return <-ch
}
