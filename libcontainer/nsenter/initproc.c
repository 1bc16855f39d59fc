// A container's init in C (libcontainer/stage/cinit.go): the preamble's
// final child, pid 1 of the container's PID namespace, makes the procfs
// (a procfs shows the PID namespace of the process that makes it),
// hands them to husk, whose thread builds the rootfs in this process's
// namespaces, pivots into the rootfs husk hands back, and goes on as an
// exec stage's process (execproc.c) that waits on the exec fifo before its
// execve (await_start).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nsenter.h"

#ifndef KEYCTL_JOIN_SESSION_KEYRING
#define KEYCTL_JOIN_SESSION_KEYRING 1
#endif

#define MAX_PROCFS 16

// on_exit_signal ends the waiting init as Go's runtime ends the Go one: a
// PID namespace's init ignores a signal it has no handler for, so husk
// kill of a created container needs these, and Go exits with status 2 on
// them.
static void on_exit_signal(int sig)
{
	(void)sig;
	_exit(2);
}

static void on_other_signal(int sig) { (void)sig; }

// handle_signals catches every signal the Go init's runtime catches: the
// ones Go exits on end this process, the others do nothing (a write to a
// closed fifo then fails with EPIPE). Caught signals go back to their
// default at execve; the mask is left as it is.
static void handle_signals(void)
{
	struct sigaction sa;
	int sig;

	for (sig = 1; sig < NSIG; sig++) {
		switch (sig) {
		case SIGKILL:
		case SIGSTOP:
		case SIGTSTP:
		case SIGTTIN:
		case SIGTTOU:
		case SIGSEGV:
		case SIGBUS:
		case SIGFPE:
		case SIGILL:
			continue;
		}
		memset(&sa, 0, sizeof(sa));
		sa.sa_flags = SA_RESTART;
		switch (sig) {
		case SIGHUP:
		case SIGINT:
		case SIGTERM:
		case SIGQUIT:
		case SIGTRAP:
		case SIGABRT:
		case SIGSYS:
#ifdef SIGSTKFLT
		case SIGSTKFLT:
#endif
			sa.sa_handler = on_exit_signal;
			break;
		default:
			sa.sa_handler = on_other_signal;
		}
		sigaction(sig, &sa, NULL); // glibc's own real-time signals refuse, as they should
	}
}

// make_procfs makes a procfs of this PID namespace, named source as
// mount(2) would, and returns its filesystem context: husk mounts it
// (fsmount) where the spec's mounts reach it, so that the mount is made in
// their order.
static int make_procfs(const char *source)
{
	int fs = (int)syscall(SYS_fsopen, "proc", HUSK_FSOPEN_CLOEXEC);

	if (fs < 0)
		bail("fsopen proc");
	if (*source != '\0' && syscall(SYS_fsconfig, fs, HUSK_FSCONFIG_SET_STRING, "source", source, 0) < 0)
		bail("procfs source %s", source);
	if (syscall(SYS_fsconfig, fs, HUSK_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		bail("create procfs");
	return fs;
}

// send_procfs sends husk a procfs for each source on sock.
static void send_procfs(int sock, char **sources, int n)
{
	int fds[MAX_PROCFS];
	union {
		char buf[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} cbuf;
	char text[] = "procfs";
	struct iovec iov = {.iov_base = text, .iov_len = 6};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;
	int i;

	for (i = 0; i < n; i++)
		fds[i] = make_procfs(sources[i]);
	if (n > 0) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(n * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	}
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		bail("send procfs to husk");
	for (i = 0; i < n; i++)
		close(fds[i]);
}

// recv_rootfs waits for husk's rootfs, built; husk closing the socket
// instead means it failed, and says why itself.
static int recv_rootfs(int sock)
{
	char buf[16];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf)};
	struct cmsghdr *c;
	ssize_t n;
	int fd;

	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		_exit(1);
	c = CMSG_FIRSTHDR(&mh);
	if ((size_t)n != 6 || memcmp(buf, "rootfs", 6) != 0 || c == NULL || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int))) {
		errno = EPROTO;
		bail("husk sent no rootfs");
	}
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

// pivot makes root the root of this mount namespace, as rootfs.Pivot does:
// pivot_root(".", "."), then the old root, stacked on the new one, is
// detached.
static void pivot(int root)
{
	int old = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);

	if (old < 0)
		bail("open /");
	if (fchdir(root) < 0)
		bail("chdir rootfs");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		bail("pivot_root into the container's rootfs");
	if (fchdir(old) < 0)
		bail("chdir old root");
	// With "/" shared the unmount would propagate to the host's peers.
	if (mount("", ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		bail("make old root rslave");
	if (umount2(".", MNT_DETACH) < 0)
		bail("detach old root");
	if (chdir("/") < 0)
		bail("chdir /");
	close(old);
	close(root);
}

void init_container(void)
{
	const char *v = getenv("_HUSK_INIT_SOCK");
	char **sources;
	size_t n;
	int sock;

	if (v == NULL)
		return;
	handle_signals();
	if (setsid() < 0)
		bail("setsid");
	sock = atoi(v);
	sources = setting_list("_HUSK_INIT_PROCFS", &n);
	if (n > MAX_PROCFS) {
		errno = EINVAL;
		bail("%zu procfs mounts", n);
	}
	send_procfs(sock, sources, (int)n);
	pivot(recv_rootfs(sock));
	close(sock);
	if ((v = getenv("_HUSK_INIT_PROPAGATION")) != NULL &&
	    mount("", "/", NULL, strtoul(v, NULL, 10), NULL) < 0)
		bail("set propagation of /");
	if ((v = getenv("_HUSK_INIT_KEYRING")) != NULL &&
	    syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, v) < 0 && errno != ENOSYS)
		bail("join session keyring");
}

// await_start reports the process ready and waits for husk start to open
// the exec fifo, then tells it, through the fifo, that the process is
// about to be exec'd. From here on nobody reads the sync socket: a failure
// goes to stderr (bail). The fifo's write end stays open until the execve
// closes it (close-on-exec): start returns at that EOF.
void await_start(void)
{
	const char *v = getenv("_HUSK_INIT_FIFO");
	char path[64];
	int fifo;

	if (v == NULL)
		return;
	send_ready();
	snprintf(path, sizeof(path), "/proc/self/fd/%s", v);
	for (;;) {
		fifo = open(path, O_WRONLY | O_CLOEXEC);
		if (fifo < 0)
			bail("open exec fifo");
		if (write(fifo, "0", 1) == 1)
			return;
		// start was killed between opening the fifo and reading it:
		// the container stays created, for the next start.
		if (errno != EPIPE)
			bail("write exec fifo");
		close(fifo);
	}
}
