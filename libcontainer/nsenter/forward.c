// Handlers for the signals a foreground `husk run` or `husk exec` in Go
// passes on to the container's process.
//
// os/signal enables each signal with a round trip to a goroutine locked to
// a thread of its own (the runtime's ensureSigM): two thread switches a
// signal, about fifty signals, a millisecond or two of a `run` on the VMs
// husk is benchmarked on, all of it before the process starts
// (docs/design.md). A handler that writes the signal's number to a pipe,
// which Go reads, takes one sigaction(2) a signal, and no thread. Only
// signals the Go runtime leaves to the program get one: none it uses
// itself (SIGURG, SIGPROF, the synchronous ones) or glibc's 32 and 33. The
// signal mask is left alone, so the stage, hooks and the container start
// as before: an execve resets a caught signal to its default.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static int forward_fd = -1;

static void forward_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	// A full pipe drops the signal: a handler must not block.
	ssize_t n = write(forward_fd, &b, 1);

	(void)n;
	errno = saved;
}

// husk_forward_signals makes each of the n (at most 64) signals in sigs
// write its number, one byte, to fd, a non-blocking pipe that stays open
// for the process's life. SA_ONSTACK: the handler may run on any thread,
// the Go runtime's among them, whose goroutine stacks are too small for
// it. If a sigaction fails it puts back the handlers it replaced (the Go
// runtime's, which os/signal then relies on) and returns -1 with errno set.
int husk_forward_signals(int fd, const int *sigs, int n)
{
	struct sigaction sa, old[64];
	int i, err;

	if (n > 64) {
		errno = EINVAL;
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward_signal;
	sa.sa_flags = SA_RESTART | SA_ONSTACK;
	sigfillset(&sa.sa_mask);
	forward_fd = fd;
	for (i = 0; i < n; i++) {
		if (sigaction(sigs[i], &sa, &old[i]) < 0) {
			err = errno;
			while (i-- > 0)
				sigaction(sigs[i], &old[i], NULL);
			errno = err;
			return -1;
		}
	}
	return 0;
}
