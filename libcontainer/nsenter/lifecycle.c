// `husk start` and `husk delete` without the Go runtime.
//
// start only lets a created container's init go on: it opens the exec fifo
// the init waits on and reads the init's answer. delete of a container
// that has stopped only removes its cgroup and its state directory.
// Starting Go for either was most of the command's cost. The preamble's
// constructor calls fast_command first in every CLI process; for a plain
// `husk [--root R] [--log F] [--log-format text|json] [--systemd-cgroup]
// start ID` of a created container without poststart hooks, or `... delete
// [--force] ID` of a stopped one with cgroupfs cgroups (no systemd unit,
// none shared) and no poststop hooks, it does what Container.start or
// Container.delete in libcontainer/container.go does, under the same lock,
// and exits. Anything else (another command or flag, --debug, a rootless
// user, a state it can't read or doesn't expect, another status, hooks, a
// cgroup that still holds a process or a child, temporary dirs for delete
// --force to sweep) leaves the container as it was and returns, and Go's
// command does it all, errors included. Past the point of no return (the
// fifo opened, the state dir renamed away) fast_command finishes the job;
// an error after it is left in command_error for Go's command to report
// (nsenter.CommandFailed). It also reads the command line and the state
// of an `exec`, which execcmd.c then runs, and of a `kill` or a `state`,
// which querycmd.c does.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "nsenter.h"

#define FIFO "exec.fifo"
#define ID_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-."

char *command_error;
int command_exit;

// flag_is tells whether the flag name s (n bytes, without dashes) is name.
static int flag_is(const char *s, size_t n, const char *name)
{
	return strlen(name) == n && strncmp(s, name, n) == 0;
}

// dashes strips a flag's one or two dashes (urfave/cli takes "-root" as
// "--root"), or gives NULL for an argument.
static const char *dashes(const char *s)
{
	if (s[0] != '-' || s[1] == '\0')
		return NULL;
	return s + (s[1] == '-' ? 2 : 1);
}

// flag_value splits the flag s (without dashes) of argv[*i] into its name
// (n bytes) and value, from "name=value" or the next argument; NULL if it
// has none.
static const char *flag_value(const char *s, size_t *n, int argc, char **argv, int *i)
{
	const char *v = strchr(s, '=');

	*n = v != NULL ? (size_t)(v - s) : strlen(s);
	if (v != NULL)
		return v + 1;
	if (++*i < argc)
		return argv[*i];
	return NULL;
}

// parse_id checks an id as libcontainer.ValidateID does.
static int parse_id(const char *id)
{
	return strlen(id) <= 1024 && strspn(id, ID_CHARS) == strlen(id) && strcmp(id, ".") != 0 && strcmp(id, "..") != 0;
}

// parse_uint32 reads a decimal id below 2^32-1 (-1 would keep root's id).
static int parse_uint32(const char *s, size_t n, unsigned long *v)
{
	size_t i;

	*v = 0;
	if (n == 0 || n > 10)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (unsigned long)(s[i] - '0');
	}
	return *v < 0xffffffffUL ? 0 : -1;
}

// parse_exec reads exec's flags from argv[i], the id and the command. Only
// those that change nothing but the command line of the container's own
// process are taken (and only as a valid process has them: an absolute
// cwd, KEY=value); anything else is Go's exec's, errors included.
static int parse_exec(int argc, char **argv, int i, struct cmdline *c)
{
	const char *s, *v, *colon;
	size_t n;
	// The forms of each flag with an alias that were used: urfave/cli
	// refuses a flag given in both.
	enum { D = 1, DETACH = 2, E = 4, ENV = 8, U = 16, USER = 32, P = 64, PROCESS = 128 };
	int forms = 0;

	c->env = calloc((size_t)argc, sizeof(*c->env));
	if (c->env == NULL)
		return -1;
	for (; i < argc && (s = dashes(argv[i])) != NULL; i++) {
		if (strcmp(s, "d") == 0 || strcmp(s, "detach") == 0) {
			forms |= s[1] == '\0' ? D : DETACH;
			c->detach = 1;
			continue;
		}
		v = flag_value(s, &n, argc, argv, &i);
		if (v == NULL)
			return -1;
		if (flag_is(s, n, "pid-file") && *v != '\0') {
			c->pid_file = v;
		} else if ((flag_is(s, n, "p") || flag_is(s, n, "process")) && *v != '\0') {
			forms |= n == 1 ? P : PROCESS;
			c->process = v;
		} else if (flag_is(s, n, "cwd") && v[0] == '/') {
			c->cwd = v;
		} else if ((flag_is(s, n, "e") || flag_is(s, n, "env")) && v[0] != '=' && strchr(v, '=') != NULL) {
			forms |= n == 1 ? E : ENV;
			c->env[c->nenv++] = (char *)v;
		} else if (flag_is(s, n, "u") || flag_is(s, n, "user")) {
			forms |= n == 1 ? U : USER;
			colon = strchr(v, ':');
			c->user = 1;
			c->group = colon != NULL;
			if (parse_uint32(v, colon != NULL ? (size_t)(colon - v) : strlen(v), &c->uid) < 0 ||
			    (colon != NULL && parse_uint32(colon + 1, strlen(colon + 1), &c->gid) < 0))
				return -1;
		} else {
			return -1;
		}
	}
	if (i >= argc || (forms & (D | DETACH)) == (D | DETACH) || (forms & (E | ENV)) == (E | ENV) ||
	    (forms & (U | USER)) == (U | USER) || (forms & (P | PROCESS)) == (P | PROCESS))
		return -1;
	c->id = argv[i++];
	c->args = argv + i;
	c->nargs = argc - i;
	// A --process file is the whole process: with flags that would change
	// it, or arguments, beside it, the command line is Go's exec's.
	if (c->process != NULL)
		return c->nargs == 0 && c->nenv == 0 && c->cwd == NULL && !c->user ? 0 : -1;
	// A command that starts with a dash is Go's to take apart.
	return c->nargs > 0 && argv[i][0] != '\0' && argv[i][0] != '-' ? 0 : -1;
}

// parse_cmdline finds a start, delete, exec, kill or state that
// fast_command can do.
static int parse_cmdline(int argc, char **argv, struct cmdline *c)
{
	const char *v, *s;
	int i, fd, got_signal = 0;
	size_t n;

	memset(c, 0, sizeof(*c));
	c->format = "text";
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "start") == 0 || strcmp(argv[i], "delete") == 0 || strcmp(argv[i], "exec") == 0 ||
		    strcmp(argv[i], "kill") == 0 || strcmp(argv[i], "state") == 0)
			break;
		s = dashes(argv[i]);
		if (s == NULL)
			return -1;
		if (strcmp(s, "systemd-cgroup") == 0) // no command here uses it
			continue;
		v = flag_value(s, &n, argc, argv, &i);
		if (v == NULL)
			return -1;
		if (flag_is(s, n, "root"))
			c->root = v;
		else if (flag_is(s, n, "log"))
			c->log = v;
		else if (flag_is(s, n, "log-format"))
			c->format = v;
		else
			return -1;
	}
	if (i >= argc)
		return -1;
	if (strcmp(argv[i], "exec") == 0) {
		c->cmd = EXEC;
		if (parse_exec(argc, argv, i + 1, c) < 0)
			return -1;
	} else if (strcmp(argv[i], "kill") == 0) {
		c->cmd = KILL;
		c->signal = SIGTERM;
	} else {
		c->cmd = strcmp(argv[i], "start") == 0 ? START : strcmp(argv[i], "delete") == 0 ? DELETE : STATE;
	}
	// The command's arguments: the id, delete's --force (before or after
	// the id, as flagsFirst in main.go allows) and kill's signal (kill
	// --all is Go's).
	for (i++; c->cmd != EXEC && i < argc; i++) {
		s = dashes(argv[i]);
		if (s == NULL && c->id == NULL)
			c->id = argv[i];
		else if (s == NULL && c->cmd == KILL && !got_signal && (c->signal = parse_signal(argv[i])) >= 0)
			got_signal = 1;
		else if (s != NULL && c->cmd == DELETE && (strcmp(s, "force") == 0 || strcmp(s, "f") == 0))
			c->force = 1;
		else
			return -1;
	}
	if (c->id == NULL || (strcmp(c->format, "text") != 0 && strcmp(c->format, "json") != 0) || !parse_id(c->id))
		return -1;
	if (geteuid() != 0)
		return -1;
	if (c->root == NULL) {
		// main.go's defaultRoot, but where it asks whether husk runs in
		// a user namespace.
		const char *xdg = getenv("XDG_RUNTIME_DIR"), *user = getenv("USER");
		if (xdg != NULL && xdg[0] != '\0' && (user == NULL || strcmp(user, "root") != 0))
			return -1;
		c->root = "/run/husk";
	}
	if (c->root[0] == '\0')
		return -1;
	// husk opens --log, creating it, before any command runs.
	if (c->log != NULL) {
		fd = open(c->log, O_CREAT | O_WRONLY | O_APPEND | O_CLOEXEC, 0644);
		if (fd < 0)
			return -1;
		close(fd);
	}
	return 0;
}

// A reader of the few fields of state.json that start and delete need. Any
// JSON it does not expect makes the whole read fail, and Go reads it.
struct json {
	const char *p, *end;
	int depth; // of objects and arrays, bounded against a deep nest
};

static void json_space(struct json *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int json_lit(struct json *j, char c)
{
	json_space(j);
	if (j->p < j->end && *j->p == c) {
		j->p++;
		return 1;
	}
	return 0;
}

// json_string reads a string; *s and *n are its bytes as written (the keys
// compared have no escapes).
static int json_string(struct json *j, const char **s, size_t *n)
{
	json_space(j);
	if (j->p >= j->end || *j->p != '"')
		return -1;
	*s = ++j->p;
	while (j->p < j->end && *j->p != '"') {
		if (*j->p == '\\' && j->end - j->p > 1)
			j->p++;
		j->p++;
	}
	if (j->p >= j->end)
		return -1;
	*n = (size_t)(j->p - *s);
	j->p++;
	return 0;
}

static int json_key(const char *s, size_t n, const char *key)
{
	return flag_is(s, n, key);
}

static int json_skip(struct json *j);

// json_object calls field for each member of an object.
static int json_object(struct json *j, int (*field)(struct json *, const char *, size_t, void *), void *arg)
{
	const char *k;
	size_t n;
	int ok = 0;

	if (j->depth >= 64 || !json_lit(j, '{'))
		return -1;
	j->depth++;
	if (!json_lit(j, '}')) {
		do {
			ok = json_string(j, &k, &n) == 0 && json_lit(j, ':') && field(j, k, n, arg) == 0;
		} while (ok && json_lit(j, ','));
		ok = ok && json_lit(j, '}');
	} else {
		ok = 1;
	}
	j->depth--;
	return ok ? 0 : -1;
}

// json_array calls elem for each element of an array.
static int json_array(struct json *j, int (*elem)(struct json *, void *), void *arg)
{
	int ok;

	if (j->depth >= 64 || !json_lit(j, '['))
		return -1;
	j->depth++;
	ok = json_lit(j, ']');
	if (!ok) {
		do {
			ok = elem(j, arg) == 0;
		} while (ok && json_lit(j, ','));
		ok = ok && json_lit(j, ']');
	}
	j->depth--;
	return ok ? 0 : -1;
}

static int skip_field(struct json *j, const char *k, size_t n, void *arg)
{
	(void)k, (void)n, (void)arg;
	return json_skip(j);
}

static int skip_elem(struct json *j, void *arg)
{
	(void)arg;
	return json_skip(j);
}

static int json_skip(struct json *j)
{
	const char *s;
	size_t n;

	json_space(j);
	if (j->p >= j->end)
		return -1;
	switch (*j->p) {
	case '"':
		return json_string(j, &s, &n);
	case '{':
		return json_object(j, skip_field, NULL);
	case '[':
		return json_array(j, skip_elem, NULL);
	}
	// A number, true, false or null.
	s = j->p;
	while (j->p < j->end && strchr("0123456789+-.eEtrufalsn", *j->p) != NULL && *j->p != '\0')
		j->p++;
	return j->p > s ? 0 : -1;
}

// json_uint reads a number that is a whole, non-negative int64.
static int json_uint(struct json *j, long long *v)
{
	const char *s;

	json_space(j);
	s = j->p;
	*v = 0;
	while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
		if (*v > (0x7fffffffffffffffLL - 9) / 10)
			return -1;
		*v = *v * 10 + (*j->p++ - '0');
	}
	if (j->p == s || (j->p < j->end && strchr(".eE", *j->p) != NULL && *j->p != '\0'))
		return -1;
	return 0;
}

static int json_bool(struct json *j, int *v)
{
	json_space(j);
	if (j->end - j->p >= 4 && strncmp(j->p, "true", 4) == 0) {
		j->p += 4;
		*v = 1;
		return 0;
	}
	if (j->end - j->p >= 5 && strncmp(j->p, "false", 5) == 0) {
		j->p += 5;
		*v = 0;
		return 0;
	}
	return -1;
}

// json_list_nonempty tells whether the value ahead is a non-empty array.
static int json_list_nonempty(struct json *j)
{
	struct json ahead;

	json_space(j);
	if (j->p >= j->end || *j->p != '[')
		return 0;
	ahead = *j;
	ahead.p++;
	return !json_lit(&ahead, ']');
}

static int annotation_field(struct json *j, const char *k, size_t n, void *arg)
{
	struct state *st = arg;
	struct span *a;

	a = realloc(st->annotations, (size_t)(st->nannotations + 1) * 2 * sizeof(*a));
	if (a == NULL)
		return -1;
	st->annotations = a;
	a += st->nannotations * 2;
	a[0].s = k;
	a[0].n = n;
	if (json_string(j, &a[1].s, &a[1].n) < 0)
		return -1;
	st->nannotations++;
	return 0;
}

// The namespace being read: its type is "pid", it has a path.
struct ns_entry {
	int pid, path;
};

static int namespace_field(struct json *j, const char *k, size_t n, void *arg)
{
	struct ns_entry *ns = arg;
	const char *v;
	size_t len;

	if (json_key(k, n, "type") || json_key(k, n, "path")) {
		if (json_string(j, &v, &len) < 0)
			return -1;
		if (json_key(k, n, "type"))
			ns->pid = flag_is(v, len, "pid");
		else
			ns->path = len > 0;
		return 0;
	}
	return json_skip(j);
}

static int namespace_elem(struct json *j, void *arg)
{
	struct state *st = arg;
	struct ns_entry ns = {0, 0};

	if (json_object(j, namespace_field, &ns) < 0)
		return -1;
	if (ns.pid)
		st->pidns = !ns.path;
	return 0;
}

static int linux_field(struct json *j, const char *k, size_t n, void *arg)
{
	struct state *st = arg;

	if (json_key(k, n, "namespaces")) {
		st->pidns = 0;
		json_space(j);
		if (j->p < j->end && *j->p == '[')
			return json_array(j, namespace_elem, st);
	}
	return json_skip(j);
}

static int hooks_field(struct json *j, const char *k, size_t n, void *arg)
{
	struct state *st = arg;

	if (json_key(k, n, "poststart"))
		st->poststart = json_list_nonempty(j);
	else if (json_key(k, n, "poststop"))
		st->poststop = json_list_nonempty(j);
	return json_skip(j);
}

static int spec_field(struct json *j, const char *k, size_t n, void *arg)
{
	struct state *st = arg;

	json_space(j);
	if (json_key(k, n, "hooks")) {
		st->poststart = st->poststop = 0;
		if (j->p < j->end && *j->p == '{')
			return json_object(j, hooks_field, st);
	} else if (json_key(k, n, "annotations")) {
		st->nannotations = 0;
		if (j->p < j->end && *j->p == '{')
			return json_object(j, annotation_field, st);
	} else if (json_key(k, n, "linux")) {
		st->pidns = 0;
		if (j->p < j->end && *j->p == '{')
			return json_object(j, linux_field, st);
	}
	return json_skip(j);
}

static int cgroup_field(struct json *j, const char *k, size_t n, void *arg)
{
	struct state *st = arg;
	const char *v;
	size_t len;

	if (json_string(j, &v, &len) < 0)
		return -1;
	if (len == 0)
		return 0;
	if (st->cgroups == MAX_CGROUPS || memchr(v, '\\', len) != NULL) {
		st->odd = 1;
		return 0;
	}
	st->cgroup[st->cgroups] = strndup(v, len);
	if (st->cgroup[st->cgroups] == NULL)
		return -1;
	if (json_key(k, n, "freezer"))
		st->freezer_v1 = st->cgroups;
	else if (n == 0)
		st->freezer_v2 = st->cgroups;
	st->cgroups++;
	return 0;
}

static void free_cgroups(struct state *st)
{
	while (st->cgroups > 0)
		free(st->cgroup[--st->cgroups]);
	st->freezer_v1 = st->freezer_v2 = -1;
}

void free_state(struct state *st)
{
	free_cgroups(st);
	free(st->annotations);
	free(st->buf);
	st->annotations = NULL;
	st->buf = NULL;
}

static int state_field(struct json *j, const char *k, size_t n, void *arg)
{
	struct state *st = arg;
	const char *v;
	size_t len;
	int b;

	if (json_key(k, n, "version"))
		return json_uint(j, &st->version);
	if (json_key(k, n, "pid"))
		return json_uint(j, &st->pid);
	if (json_key(k, n, "pid_start"))
		return json_uint(j, &st->pid_start);
	if (json_key(k, n, "creating"))
		return json_bool(j, &st->creating);
	if (json_key(k, n, "shared_cgroup") || json_key(k, n, "shared_rootfs")) {
		if (json_bool(j, &b) < 0)
			return -1;
		st->shared |= b;
		return 0;
	}
	if (json_key(k, n, "systemd_unit")) {
		if (json_string(j, &v, &len) < 0)
			return -1;
		st->systemd_unit |= len > 0;
		return 0;
	}
	if (json_key(k, n, "cgroup_paths")) {
		free_cgroups(st);
		st->odd = 0;
		json_space(j);
		if (j->p < j->end && *j->p == '{')
			return json_object(j, cgroup_field, st);
	}
	if (json_key(k, n, "spec")) {
		json_space(j);
		st->spec = j->p < j->end && *j->p == '{';
		st->poststart = st->poststop = 0;
		st->nannotations = st->pidns = 0;
		if (st->spec)
			return json_object(j, spec_field, st);
	}
	if (json_key(k, n, "id"))
		return json_string(j, &st->id.s, &st->id.n);
	if (json_key(k, n, "bundle"))
		return json_string(j, &st->bundle.s, &st->bundle.n);
	if (json_key(k, n, "rootfs"))
		return json_string(j, &st->rootfs.s, &st->rootfs.n);
	if (json_key(k, n, "created"))
		return json_string(j, &st->created.s, &st->created.n);
	if (json_key(k, n, "owner"))
		return json_string(j, &st->owner.s, &st->owner.n);
	return json_skip(j);
}

int read_state(int dirfd, struct state *st)
{
	struct json j;
	struct stat fi;
	char *buf;
	ssize_t r = 0;
	size_t len = 0;
	int fd, ok;

	fd = openat(dirfd, "state.json", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	buf = fstat(fd, &fi) == 0 && fi.st_size > 0 && fi.st_size < (16 << 20) ? malloc((size_t)fi.st_size) : NULL;
	while (buf != NULL && len < (size_t)fi.st_size && (r = read(fd, buf + len, (size_t)fi.st_size - len)) > 0)
		len += (size_t)r;
	close(fd);
	if (buf == NULL || r < 0 || len != (size_t)fi.st_size) {
		free(buf);
		return -1;
	}
	memset(st, 0, sizeof(*st));
	st->freezer_v1 = st->freezer_v2 = -1;
	st->buf = buf;
	j.p = buf;
	j.end = buf + len;
	j.depth = 0;
	ok = json_object(&j, state_field, st) == 0;
	json_space(&j);
	ok = ok && j.p == j.end;
	if (!ok)
		free_state(st);
	return ok ? 0 : -1;
}

// alive is libcontainer's alive: pid runs, started at start, and is no zombie.
int alive(long long pid, long long start)
{
	char path[64], buf[1024], *p;
	long long v = 0;
	ssize_t r;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%lld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return 0;
	buf[r] = '\0';
	// The command name may hold anything, ')' too: fields follow the last.
	p = strrchr(buf, ')');
	if (p == NULL || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	// Field 3 (the state) follows ") "; the start time is field 22.
	for (field = 3, p += 2; field < 22; field++) {
		p = strchr(p, ' ');
		if (p == NULL)
			return 0;
		p++;
	}
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	return v == start;
}

int init_holds(long long pid, const struct stat *fifo)
{
	char dir[64];
	struct dirent *e;
	struct stat st;
	int held = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%lld/fd", pid);
	d = opendir(dir);
	if (d == NULL)
		return 1; // can't tell: the fifo says created
	while (!held && (e = readdir(d)) != NULL) {
		held = e->d_name[0] != '.' && fstatat(dirfd(d), e->d_name, &st, 0) == 0 && st.st_dev == fifo->st_dev &&
		       st.st_ino == fifo->st_ino;
	}
	closedir(d);
	return held;
}

void fail(const char *fmt, const char *arg)
{
	size_t n = strlen(fmt) + strlen(arg) + 1;

	command_error = malloc(n);
	if (command_error == NULL)
		_exit(1);
	snprintf(command_error, n, fmt, arg);
}

// release is Container.start from the fifo's open on: read the init's
// answer, remove the fifo, and tell what went wrong, if anything.
static void release(int dirfd, int fifo, const char *dir, const struct state *st)
{
	char reply[4096], e[128], path[4200];
	size_t len = 0;
	ssize_t r;
	int n;

	for (;;) {
		struct pollfd pfd = {.fd = fifo, .events = POLLIN};
		char *to = len < sizeof(reply) - 1 ? reply + len : e; // past 4 KiB: read, dropped
		size_t room = len < sizeof(reply) - 1 ? sizeof(reply) - 1 - len : sizeof(e);

		n = poll(&pfd, 1, 100);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fail("poll exec fifo: %s", errstr(errno, e, sizeof(e)));
			return;
		}
		if (n == 0) {
			// No writer has come yet: only a dead init ends the wait.
			if (!alive(st->pid, st->pid_start))
				break;
			continue;
		}
		r = read(fifo, to, room);
		if (r > 0) {
			if (to == reply + len)
				len += (size_t)r;
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r < 0) {
			fail("read exec fifo: %s", errstr(errno, e, sizeof(e)));
			return;
		}
		break; // EOF: the init exec'd or exited
	}
	reply[len] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, FIFO);
	if (unlinkat(dirfd, FIFO, 0) < 0) {
		char msg[4400];
		snprintf(msg, sizeof(msg), "remove %s: %s", path, errstr(errno, e, sizeof(e)));
		fail("%s", msg);
		return;
	}
	if (strcmp(reply, "0") != 0)
		fail("start container: %s", len == 0 ? "container process exited before it could exec" : reply);
}

static int do_start(int dirfd, const char *dir, const struct state *st)
{
	struct stat fifo;
	int fd;

	if (st->version > STATE_VERSION || !st->spec || st->poststart || st->creating || st->pid <= 0 ||
	    !alive(st->pid, st->pid_start) || fstatat(dirfd, FIFO, &fifo, 0) < 0 || !init_holds(st->pid, &fifo))
		return 0;
	fd = openat(dirfd, FIFO, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return 0;
	release(dirfd, fd, dir, st);
	close(fd);
	return 1;
}

// cgroup_empty tells whether the cgroup directory dir holds no process, or
// is gone.
static int cgroup_empty(const char *dir)
{
	char path[4200], c;
	ssize_t r;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/cgroup.procs", dir) >= sizeof(path))
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT;
	r = read(fd, &c, 1);
	close(fd);
	return r == 0;
}

// no_temp_dirs tells whether root holds none of the temporary state dirs
// (tmpPrefix, '~') that delete --force sweeps.
static int no_temp_dirs(const char *root)
{
	struct dirent *e;
	int none = 1;
	DIR *d;

	d = opendir(root);
	if (d == NULL)
		return 0;
	while (none && (e = readdir(d)) != NULL)
		none = e->d_name[0] != '~';
	closedir(d);
	return none;
}

// only_files tells whether the state dir dirfd holds nothing but files:
// remove_state_dir unlinks entries, and a tree (what a restore killed
// while CRIU ran leaves, criu-root) is Go's delete's to remove.
static int only_files(int dirfd)
{
	struct dirent *ent;
	struct stat sb;
	int fd, ok = 1;
	DIR *d;

	fd = dup(dirfd);
	d = fd < 0 ? NULL : fdopendir(fd);
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while (ok && (ent = readdir(d)) != NULL) {
		if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
			continue;
		if (ent->d_type == DT_UNKNOWN)
			ok = fstatat(dirfd, ent->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(sb.st_mode);
		else
			ok = ent->d_type != DT_DIR;
	}
	rewinddir(d); // the offset is dirfd's too, which remove_state_dir reads again
	closedir(d);
	return ok;
}

// remove_state_dir is removeStateDir: the dir goes out of the id's way at
// once, under a temporary name that a later delete --force sweeps, then
// its files and itself go. 0 if the dir is still in place.
static int remove_state_dir(int dirfd, const char *root, const char *dir)
{
	static const char *const files[] = {"state.json", "record.json", FIFO, "exec.env", ".state-state.json",
					    ".state-record.json"};
	char gone[4200], b36[16], e[128];
	struct timespec now;
	unsigned long long ns;
	struct dirent *ent;
	size_t i, n = 0;
	DIR *d;
	int fd;

	clock_gettime(CLOCK_REALTIME, &now);
	ns = (unsigned long long)now.tv_sec * 1000000000ULL + (unsigned long long)now.tv_nsec;
	do {
		b36[n++] = "0123456789abcdefghijklmnopqrstuvwxyz"[ns % 36];
		ns /= 36;
	} while (ns > 0);
	for (i = 0; i < n / 2; i++) {
		char t = b36[i];
		b36[i] = b36[n - 1 - i];
		b36[n - 1 - i] = t;
	}
	b36[n] = '\0';
	if ((size_t)snprintf(gone, sizeof(gone), "%s/~gone-%s", root, b36) >= sizeof(gone) || rename(dir, gone) < 0)
		return 0;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		unlinkat(dirfd, files[i], 0);
	if (rmdir(gone) == 0)
		return 1;
	// Something else is there (a write's temporary file): empty it first.
	fd = dup(dirfd);
	d = fd < 0 ? NULL : fdopendir(fd);
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
	} else {
		while ((ent = readdir(d)) != NULL)
			if (strcmp(ent->d_name, ".") != 0 && strcmp(ent->d_name, "..") != 0)
				unlinkat(dirfd, ent->d_name, 0);
		closedir(d);
	}
	if (rmdir(gone) < 0)
		fail("remove state dir: %s", errstr(errno, e, sizeof(e)));
	return 1;
}

static int do_delete(const struct cmdline *c, int dirfd, const char *dir, const struct state *st)
{
	int i;

	if (st->version != STATE_VERSION || !st->spec || st->creating || st->poststop || st->systemd_unit ||
	    st->shared || st->odd || st->cgroups == 0 || st->pid <= 0 || alive(st->pid, st->pid_start))
		return 0;
	if ((c->force && !no_temp_dirs(c->root)) || !only_files(dirfd))
		return 0;
	// Nothing to kill: what runs in a cgroup is Go's delete's to end.
	for (i = 0; i < st->cgroups; i++)
		if (!cgroup_empty(st->cgroup[i]))
			return 0;
	// Go's delete takes a cgroup that is busy (a child cgroup, a process
	// on its way out) from here, and what is already gone is gone for it.
	for (i = 0; i < st->cgroups; i++)
		if (rmdir(st->cgroup[i]) < 0 && errno != ENOENT)
			return 0;
	return remove_state_dir(dirfd, c->root, dir);
}

// with_state does the command c on its container, the state read, under
// the container's lock where Go's command takes it.
static int with_state(const struct cmdline *c)
{
	struct state st;
	char dir[4096];
	int dirfd, done;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", c->root, c->id) >= sizeof(dir) ||
	    (dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return 0;
	// exec, kill and state take no lock, as Go's don't: a process in the
	// foreground must not hold up the container's other commands, nor a
	// command stuck on the lock keep a container from being stopped.
	done = (c->cmd == EXEC || c->cmd == KILL || c->cmd == STATE || flock(dirfd, LOCK_EX) == 0) &&
	       read_state(dirfd, &st) == 0;
	if (done) {
		switch (c->cmd) {
		case START:
			done = do_start(dirfd, dir, &st);
			break;
		case DELETE:
			done = do_delete(c, dirfd, dir, &st);
			break;
		case EXEC:
			done = exec_command(c, dirfd, &st);
			break;
		case KILL:
			done = kill_command(c, dirfd, &st);
			break;
		case STATE:
			done = state_command(c, dirfd, &st);
			break;
		}
		free_state(&st);
	}
	close(dirfd); // and with it the lock
	return done;
}

int fast_command(int argc, char **argv)
{
	struct cmdline c;
	int done;

	if (argv == NULL)
		return 0;
	done = parse_cmdline(argc, argv, &c) == 0 && with_state(&c);
	free(c.env);
	return done;
}

int delete_stopped(const char *root, const char *id)
{
	struct cmdline c;

	if (geteuid() != 0) // as parse_cmdline: a rootless delete is Go's
		return 0;
	memset(&c, 0, sizeof(c));
	c.cmd = DELETE;
	c.root = root;
	c.id = id;
	c.force = 1;
	return with_state(&c);
}
