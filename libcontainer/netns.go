package libcontainer

import (
	"fmt"
	"os"
	"runtime"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// earlyNetNS is a network namespace husk creates on a thread of its own
// while the init stage is exec'd, for the preamble to join by path. Making
// a network namespace is the slowest of the unshares (every per-network
// subsystem initialises its state) and would otherwise hold up the
// preamble's fork.
type earlyNetNS struct {
	path    string
	ready   chan error
	release chan struct{}
}

// startNetNS begins making the container's network namespace when the spec
// asks for a new one and no user namespace is involved: a namespace made
// here belongs to husk's user namespace, which is only right when the
// container has no user namespace of its own. It returns nil otherwise.
func startNetNS(s *specs.Spec) *earlyNetNS {
	if hasNamespace(s, specs.UserNamespace) || !hasNewNamespace(s, specs.NetworkNamespace) {
		return nil
	}
	n := &earlyNetNS{ready: make(chan error, 1), release: make(chan struct{})}
	go func() {
		// The thread stays locked: when this goroutine returns, the
		// runtime ends the thread and its hold on the namespace with it,
		// rather than handing a thread in another namespace to other
		// goroutines.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			n.ready <- fmt.Errorf("create network namespace: %w", err)
			return
		}
		n.path = fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		n.ready <- nil
		<-n.release
	}()
	return n
}

// wait returns the namespace's path once it exists.
func (n *earlyNetNS) wait() (string, error) {
	if err := <-n.ready; err != nil {
		return "", err
	}
	return n.path, nil
}

// done lets the thread go: by then the container's process has joined the
// namespace, or create failed and the namespace goes with the thread.
func (n *earlyNetNS) done() {
	if n != nil {
		close(n.release)
	}
}
