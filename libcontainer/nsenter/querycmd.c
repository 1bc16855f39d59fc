// `husk kill` and `husk state` without the Go runtime.
//
// Container managers call both all the time: podman reads a container's
// state each time it syncs the container, containerd's shim and podman
// stop a container with a kill or two. Each was a Go process started to
// read a few fields of state.json. For `husk [--root R] [--log F]
// [--log-format F] kill ID [SIGNAL]` and `... state ID`, fast_command reads
// the state and this file does what Container.Signal and Container.OCIState
// do: kill opens the init's pidfd, checks its start time and sends the
// signal; state tells the status as Container.Status does and prints it as
// state.go's printJSON would.
//
// It reports no error of its own. kill --all, a SIGKILL to a container
// without a PID namespace of its own or one that may be paused, a creating
// container, an init that is gone; a status that takes Go to tell
// (creating, a freezer it can't read), a string Go would print otherwise:
// all of these go to Go's command, which does it all and names any error. Only a state that
// can't be written to stdout is an error here (command_error).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "command.h"
#include "nsenter.h"

// OCI_VERSION is specs.Version, which state prints (a test holds them
// equal).
#define OCI_VERSION "1.3.0"

// The names unix.SignalNum knows, and nothing else: a name C took that Go
// refuses would make kill succeed here and fail there.
static const struct {
	const char *name;
	int num;
} signals[] = {
	{"SIGHUP", SIGHUP},       {"SIGINT", SIGINT},       {"SIGQUIT", SIGQUIT},     {"SIGILL", SIGILL},
	{"SIGTRAP", SIGTRAP},     {"SIGABRT", SIGABRT},     {"SIGBUS", SIGBUS},       {"SIGFPE", SIGFPE},
	{"SIGKILL", SIGKILL},     {"SIGUSR1", SIGUSR1},     {"SIGSEGV", SIGSEGV},     {"SIGUSR2", SIGUSR2},
	{"SIGPIPE", SIGPIPE},     {"SIGALRM", SIGALRM},     {"SIGTERM", SIGTERM},     {"SIGSTKFLT", SIGSTKFLT},
	{"SIGCHLD", SIGCHLD},     {"SIGCONT", SIGCONT},     {"SIGSTOP", SIGSTOP},     {"SIGTSTP", SIGTSTP},
	{"SIGTTIN", SIGTTIN},     {"SIGTTOU", SIGTTOU},     {"SIGURG", SIGURG},       {"SIGXCPU", SIGXCPU},
	{"SIGXFSZ", SIGXFSZ},     {"SIGVTALRM", SIGVTALRM}, {"SIGPROF", SIGPROF},     {"SIGWINCH", SIGWINCH},
	{"SIGIO", SIGIO},         {"SIGPWR", SIGPWR},       {"SIGSYS", SIGSYS},
};

int parse_signal(const char *s)
{
	char name[16];
	size_t i, n = strlen(s), off = 0;
	int v = 0;

	if (n > 0 && strspn(s, "0123456789") == n) {
		// strconv.Atoi reads longer forms ("064") too: Go's to take.
		if (n > 2)
			return -1;
		for (i = 0; i < n; i++)
			v = v * 10 + (s[i] - '0');
		return v <= 64 ? v : -1;
	}
	// strings.ToUpper of ASCII letters; anything else is Go's to judge.
	if (n == 0 || n + 4 > sizeof(name) || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != n)
		return -1;
	if (strncasecmp(s, "SIG", 3) != 0) {
		memcpy(name, "SIG", 3);
		off = 3;
	}
	for (i = 0; i <= n; i++)
		name[off + i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 'a' + 'A' : s[i]);
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (strcmp(name, signals[i].name) == 0)
			return signals[i].num;
	return -1;
}

static const char *cgroup_of(const struct state *st, int i)
{
	return i >= 0 ? st->cgroup[i] : NULL;
}

int kill_command(const struct cmdline *c, int dirfd, const struct state *st)
{
	int pidfd, done;

	(void)dirfd;
	// Without a PID namespace of its own a SIGKILL goes to the whole
	// cgroup; a frozen init acts on SIGKILL only once thawed.
	if (st->version != STATE_VERSION || !st->spec || st->creating || st->pid <= 0 ||
	    (c->signal == SIGKILL &&
	     (!st->pidns || paused(cgroup_of(st, st->freezer_v1), cgroup_of(st, st->freezer_v2)) != 0)))
		return 0;
	// The pidfd pins the pid; checked after it is open, the start time
	// says it is still the container's init (signalProcess).
	pidfd = (int)syscall(SYS_pidfd_open, (pid_t)st->pid, 0);
	if (pidfd < 0)
		return 0;
	done = alive(st->pid, st->pid_start) && syscall(SYS_pidfd_send_signal, pidfd, c->signal, NULL, 0) == 0;
	close(pidfd);
	return done;
}

// plain tells whether Go prints s as it is written in state.json: no
// escape, no control or non-ASCII byte, none that encoding/json escapes
// for HTML.
static int plain(struct span s)
{
	size_t i;

	for (i = 0; i < s.n; i++)
		if ((unsigned char)s.s[i] < 0x20 || (unsigned char)s.s[i] >= 0x7f || strchr("\\\"<>&", s.s[i]) != NULL)
			return 0;
	return 1;
}

// put_field is one line of the indented object: `  "key": "value",`.
static void put_field(struct buf *o, const char *indent, struct span key, struct span value, const char *end)
{
	put_str(o, indent);
	put_str(o, "\"");
	put(o, key.s, key.n);
	put_str(o, "\": \"");
	put(o, value.s, value.n);
	put_str(o, "\"");
	put_str(o, end);
}

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	int r = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);

	return r != 0 ? r : (x->n > y->n) - (x->n < y->n);
}

// status is Container.Status's word for the container, or NULL for one
// that takes Go to tell (creating, or what can't be read).
static const char *status(int dirfd, const struct state *st)
{
	struct stat fifo;

	if (st->creating || st->pid <= 0)
		return NULL;
	if (!alive(st->pid, st->pid_start))
		return "stopped";
	if (fstatat(dirfd, "exec.fifo", &fifo, 0) == 0)
		return init_holds(st->pid, &fifo) ? "created" : "running";
	if (errno != ENOENT)
		return NULL;
	switch (paused(cgroup_of(st, st->freezer_v1), cgroup_of(st, st->freezer_v2))) {
	case 0:
		return "running";
	case 1:
		return "paused";
	}
	return NULL;
}

int state_command(const struct cmdline *c, int dirfd, const struct state *st)
{
	struct buf o = {0};
	struct span *a = st->annotations, version = {OCI_VERSION, sizeof(OCI_VERSION) - 1};
	const char *word;
	char num[32], e[128];
	size_t off = 0;
	ssize_t w;
	int i;

	(void)c;
	if (st->version != STATE_VERSION || !st->spec || !plain(st->id) || !plain(st->bundle) || !plain(st->rootfs) ||
	    !plain(st->created) || !plain(st->owner))
		return 0;
	for (i = 0; i < st->nannotations * 2; i++)
		if (!plain(a[i]))
			return 0;
	// Go's map prints its keys sorted, each once.
	qsort(a, (size_t)st->nannotations, 2 * sizeof(*a), span_cmp);
	for (i = 1; i < st->nannotations; i++)
		if (span_cmp(&a[2 * i - 2], &a[2 * i]) == 0)
			return 0;
	word = status(dirfd, st);
	if (word == NULL)
		return 0;
	snprintf(num, sizeof(num), "%lld", strcmp(word, "stopped") == 0 ? 0 : st->pid);
	put_str(&o, "{\n");
	put_field(&o, "  ", (struct span){"ociVersion", 10}, version, ",\n");
	put_field(&o, "  ", (struct span){"id", 2}, st->id, ",\n");
	put_str(&o, "  \"pid\": ");
	put_str(&o, num);
	put_str(&o, ",\n");
	put_field(&o, "  ", (struct span){"status", 6}, (struct span){word, strlen(word)}, ",\n");
	put_field(&o, "  ", (struct span){"bundle", 6}, st->bundle, ",\n");
	put_field(&o, "  ", (struct span){"rootfs", 6}, st->rootfs, ",\n");
	put_field(&o, "  ", (struct span){"created", 7}, st->created, ",\n");
	if (st->nannotations > 0) {
		put_str(&o, "  \"annotations\": {\n");
		for (i = 0; i < st->nannotations; i++)
			put_field(&o, "    ", a[2 * i], a[2 * i + 1], i + 1 < st->nannotations ? ",\n" : "\n");
		put_str(&o, "  },\n");
	}
	put_field(&o, "  ", (struct span){"owner", 5}, st->owner, "\n");
	put_str(&o, "}\n");
	if (o.failed) {
		free(o.p);
		return 0;
	}
	while (off < o.len && ((w = write(STDOUT_FILENO, o.p + off, o.len - off)) > 0 || (w < 0 && errno == EINTR)))
		off += w > 0 ? (size_t)w : 0;
	if (off < o.len)
		fail("write /dev/stdout: %s", errstr(errno, e, sizeof(e)));
	free(o.p);
	return 1;
}
