// What lifecycle.c, which reads a CLI command line and a container's
// state, shares with execcmd.c and querycmd.c.
#ifndef HUSK_COMMAND_H
#define HUSK_COMMAND_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STATE_VERSION 2 // libcontainer's stateVersion
#define MAX_CGROUPS 32

enum command { START = 1, DELETE, EXEC, KILL, STATE };

struct cmdline {
	enum command cmd;
	const char *root, *id;
	int force;  // delete --force
	int signal; // kill's signal
	// --log and --log-format, for exec's warnings.
	const char *log, *format;
	// exec's flags and command.
	int detach;
	const char *pid_file, *cwd, *process;
	int user, group; // --user UID[:GID]: 1 if given
	unsigned long uid, gid;
	char **env; // --env, nenv of them
	int nenv;
	char **args; // the command, nargs of them
	int nargs;
};

// A growing buffer, NUL-terminated; failed once an allocation failed.
struct buf {
	char *p;
	size_t len, cap;
	int failed;
};

static inline void put(struct buf *b, const char *s, size_t n)
{
	char *p;
	size_t cap = b->cap ? b->cap : 4096;

	if (b->failed)
		return;
	while (cap < b->len + n + 1)
		cap *= 2;
	if (cap != b->cap) {
		p = realloc(b->p, cap);
		if (p == NULL) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static inline void put_str(struct buf *b, const char *s) { put(b, s, strlen(s)); }

// A string of state.json as written: its bytes between the quotes.
struct span {
	const char *s;
	size_t n;
};

struct state {
	long long version, pid, pid_start;
	int creating, spec, poststart, poststop;
	// What only Go's delete handles.
	int systemd_unit, shared;
	// cgroup_paths' values; odd if more than MAX_CGROUPS or escaped.
	int cgroups, odd;
	char *cgroup[MAX_CGROUPS];
	// The freezer's cgroup: cgroup_paths' "freezer" (v1) or "" (v2)
	// entry, an index into cgroup, or -1.
	int freezer_v1, freezer_v2;
	// What state prints, pointing into buf (state.json).
	char *buf;
	struct span id, bundle, rootfs, created, owner;
	// spec.annotations: key and value of each, in the order written.
	struct span *annotations;
	int nannotations;
	// spec.linux.namespaces has a PID namespace of the container's own.
	int pidns;
};

// read_state reads state.json in the state dir dirfd; free_state frees
// what it holds.
int read_state(int dirfd, struct state *st);
void free_state(struct state *st);

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

// alive is libcontainer's alive: pid runs, started at start, and is no
// zombie.
int alive(long long pid, long long start);

// init_holds is Container.initHolds: whether pid has the file fifo open,
// as a created container's init has the exec fifo.
int init_holds(long long pid, const struct stat *fifo);

// paused tells whether a container is paused, its freezer (the v1 or the
// v2 cgroup dir, or neither) read as Manager.Paused reads it: 1 if it is,
// 0 if it surely is not, -1 if what it read leaves it to Go to tell.
int paused(const char *v1, const char *v2);

// exec_command is `husk exec` of a running container (execcmd.c): 0 if it
// left everything to Go, 1 if it ran the process.
int exec_command(const struct cmdline *c, int dirfd, const struct state *st);

// kill_command is `husk kill ID [SIGNAL]` of a running or created container
// and state_command `husk state ID` (querycmd.c): 0 if they left it to Go.
int kill_command(const struct cmdline *c, int dirfd, const struct state *st);
int state_command(const struct cmdline *c, int dirfd, const struct state *st);

// parse_signal is kill's signal argument as main.go's parseSignal reads it,
// or -1 for one that Go's kill is to refuse.
int parse_signal(const char *s);

// fail keeps the error of a command past its point of no return for Go's
// command to report (nsenter.CommandFailed).
void fail(const char *fmt, const char *arg);

#endif
