// The created container's wait for `husk start`, without a Go runtime.
//
// A created container's init only waits, but as a Go process it held about
// 1.2 MB of anonymous memory and four threads while it did (docs/design.md,
// "The created container's wait in C"). Once the Go init has built the
// container (mounts, pivot_root, hostname), it execs husk's binary again,
// from the sealed handle the init stage was started from, with its
// process's settings in the form an exec stage gets them (direct.go); the
// constructor below sets the process up as exec_process does, reports
// ready, waits on the exec fifo and execs the user's process. What needs
// Go's side at that point keeps the Go wait (stage.waitInC): a terminal,
// hooks, a user namespace, and what a direct exec leaves to Go.
//
// From its first instruction the waiter makes itself non-dumpable again
// (execve reset it): only a tracer holding every capability of the host's
// user namespace could reach it before, and no process of the container
// exists until it has reported ready (docs/security.md).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nsenter.h"

// on_signal gives the waiter the Go init's answers to signals. A PID
// namespace's init gets only the signals it has a handler for, and Go's
// runtime has one for nearly all: it dies of SIGHUP, SIGINT and SIGTERM (as
// pid 1 the default action it raises is ignored, and it exits 2), exits 2
// on those it would print a traceback for and on a fault of its own, and
// ignores the rest, a fault's signal sent by another process among them.
static void on_signal(int sig, siginfo_t *info, void *ctx)
{
	sigset_t one;

	(void)ctx;
	switch (sig) {
	case SIGHUP:
	case SIGINT:
	case SIGTERM:
		signal(sig, SIG_DFL);
		sigemptyset(&one);
		sigaddset(&one, sig);
		sigprocmask(SIG_UNBLOCK, &one, NULL);
		raise(sig);
		_exit(2);
	case SIGQUIT:
	case SIGILL:
	case SIGTRAP:
	case SIGABRT:
	case SIGSTKFLT:
	case SIGSYS:
		_exit(2);
	case SIGSEGV:
	case SIGBUS:
	case SIGFPE:
		// Returning from the kernel's would run the faulting
		// instruction again, for ever.
		if (info->si_code > 0)
			_exit(2);
	}
}

// handle_signals installs on_signal where Go's runtime installs its
// handler, so that the user's process starts with the dispositions it would
// get from the Go init: execve resets a handled signal to its default,
// while an ignored one stays ignored. Go leaves alone SIGKILL and SIGSTOP,
// the job control signals, glibc's two real-time signals, and an inherited
// SIG_IGN of SIGHUP or SIGINT (nohup).
static void handle_signals(void)
{
	struct sigaction sa = {.sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_RESTART}, old;

	sigfillset(&sa.sa_mask);
	for (int sig = 1; sig <= SIGRTMAX; sig++) {
		switch (sig) {
		case SIGKILL:
		case SIGSTOP:
		case SIGCONT:
		case SIGTSTP:
		case SIGTTIN:
		case SIGTTOU:
			continue;
		case SIGHUP:
		case SIGINT:
			if (sigaction(sig, NULL, &old) == 0 && old.sa_handler == SIG_IGN)
				continue;
		}
		if (sig >= 32 && sig < SIGRTMIN)
			continue;
		sigaction(sig, &sa, NULL);
	}
}

// await_start is the Go init's awaitStart without hooks: it reports ready,
// waits for start to open the exec fifo and tells it, with "0", that the
// process is about to be exec'd. The fifo's write end stays open until the
// execve closes it (close-on-exec), and start returns at that EOF. From the
// ready on, husk's create has returned: errors go to stderr (send_msg).
static int fifofd = -1;

static void await_start(void)
{
	char path[64];
	int fd;

	ssize_t n = write(syncfd, "{\"type\":\"ready\"}\n", 17);
	int e = errno;

	close(syncfd);
	syncfd = -1;
	if (n != 17) {
		errno = n < 0 ? e : EIO;
		bail("send ready to husk"); // husk is gone, and with it the create
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fifofd);
	for (;;) {
		do
			fd = open(path, O_WRONLY | O_CLOEXEC);
		while (fd < 0 && errno == EINTR);
		if (fd < 0)
			bail("open exec fifo: open %s", path);
		if (write(fd, "0", 1) == 1)
			break;
		// start was killed between its open and its read: the
		// container stays created, for the next start.
		if (errno != EPIPE && errno != EINTR)
			bail("write exec fifo: write %s", path);
		close(fd);
	}
}

void await_process(void)
{
	syncfd = atoi(getenv("_HUSK_WAIT"));
	fifofd = atoi(getenv("_HUSK_WAIT_FIFO") ? getenv("_HUSK_WAIT_FIFO") : "-1");
	if (syncfd < 3 || fifofd <= syncfd) {
		errno = EINVAL;
		bail("malformed settings _HUSK_WAIT, _HUSK_WAIT_FIFO");
	}
	nondumpable();
	handle_signals();
	exec_process(await_start);
	errno = EINVAL;
	bail("the waiter has no process to run");
}
