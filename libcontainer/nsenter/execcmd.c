// `husk exec` of a command in a container's own process, without the Go
// runtime.
//
// The stage that joins the container is C already (execproc.c); what was
// left of an `exec` was mostly Go's start-up in the CLI (docs/design.md,
// "Where an `exec` goes"). The first exec into a container saves the
// stage's settings for an exec of the container's own process (exec.env in
// its state dir, libcontainer/exec.go). For `husk [--root R] [--log F]
// [--log-format F] exec [-d] [--pid-file F] [-e KEY=VALUE]... [--cwd DIR]
// [-u UID[:GID]] ID CMD [ARG...]`, and for `... exec --process FILE [-d]
// [--pid-file F] ID` whose file's content an exec saved the settings of
// (libcontainer.processExecFile: a probe's file, repeated), this file
// then does what
// libcontainer.Exec and exec.go do: the init checked by its pidfd and
// start time and its freezer read, the stage started from the binary's
// read-only view (stage.sealedSelf), its settings sent on the sync socket
// with the command line, its pid and its execve awaited, the pid file
// written, and in the foreground signals forwarded and the process's exit
// code returned (foreground.go).
//
// It reports no error of its own. Whatever it can't do, and anything that
// fails before the process has exec'd, it undoes (the stage killed and
// reaped) and leaves to Go's exec, which does it all again and names the
// cause. Past the execve only a pid file it can't write is an error
// (command_error, which Go's exec reports).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "command.h"
#include "nsenter.h"

#define SAVED "exec.env"
#define MAX_SAVED (1 << 20)     // nsenter.c's MAX_SETTINGS
#define MAX_REPLY (64 << 10)    // the stage's messages: a pid, a few warnings
// What exec.env tells this file, not the stage (stage.SavedBinary,
// SavedFreezerV1, V2, SavedProcess, SavedJoin, SavedSeccomp).
#define BINARY "_HUSK_CLI_BINARY"
#define FREEZER_V1 "_HUSK_CLI_FREEZER_V1"
#define FREEZER_V2 "_HUSK_CLI_FREEZER_V2"
#define PROCESS "_HUSK_CLI_PROCESS"
#define JOIN "_HUSK_CLI_JOIN"
#define SECCOMP "_HUSK_CLI_SECCOMP"

// The stage's fds: stdio, the sync socket, the init's pidfd, then the
// binary it is exec'd from (_HUSK_NFDS: the preamble closes it and all
// above).
#define STAGE_SYNC 3
#define STAGE_PIDFD 4
#define STAGE_SELF 5

// put_setting adds KEY=VALUE and its NUL.
static void put_setting(struct buf *b, const char *key, const char *value)
{
	put_str(b, key);
	put_str(b, "=");
	put(b, value, strlen(value) + 1);
}

// put_item adds one item of a length-prefixed list ("5:hello").
static void put_item(struct buf *b, const char *s, size_t n)
{
	char len[24];

	snprintf(len, sizeof(len), "%zu:", n);
	put_str(b, len);
	put(b, s, n);
}

// saved_value is the value of key in the settings saved, or NULL.
static const char *saved_value(const char *saved, size_t len, const char *key)
{
	size_t k = strlen(key);
	const char *p;

	for (p = saved; p < saved + len; p += strlen(p) + 1)
		if (strncmp(p, key, k) == 0 && p[k] == '=')
			return p + k + 1;
	return NULL;
}

// read_all reads the regular file fd of at most MAX_SAVED bytes, of this
// user and that no one else can write if own, and closes it.
static char *read_all(int fd, int own, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	ssize_t r = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size <= MAX_SAVED &&
	    (!own || (st.st_uid == geteuid() && (st.st_mode & 022) == 0)))
		buf = malloc((size_t)st.st_size + 1);
	while (buf != NULL && n < (size_t)st.st_size && (r = read(fd, buf + n, (size_t)st.st_size - n)) > 0)
		n += (size_t)r;
	close(fd);
	if (buf == NULL || r < 0 || n != (size_t)st.st_size) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

// read_saved reads the saved settings of an exec: NUL-terminated
// KEY=VALUE strings in husk's own file, saved by this binary. For exec
// --process FILE they are those of the file's content, named by its
// FNV-1a hash (libcontainer.processExecFile), and only if saved for the
// very same content.
static char *read_saved(const struct cmdline *c, int dirfd, size_t *len)
{
	unsigned long long h = 14695981039346656037ULL;
	char name[64], want[128], *saved, *process = NULL;
	struct stat self;
	const char *was;
	size_t plen = 0, i;

	if (c->process != NULL) {
		process = read_all(open(c->process, O_RDONLY | O_CLOEXEC), 0, &plen);
		if (process == NULL)
			return NULL;
		for (i = 0; i < plen; i++)
			h = (h ^ (unsigned char)process[i]) * 1099511628211ULL;
	}
	if (c->process != NULL)
		snprintf(name, sizeof(name), "exec-%016llx.env", h);
	else
		snprintf(name, sizeof(name), "%s", SAVED);
	saved = read_all(openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), 1, len);
	// Saved by this very binary (first), for the stage it execs.
	if (saved != NULL && (saved[*len - 1] != '\0' || stat("/proc/self/exe", &self) < 0 ||
			      snprintf(want, sizeof(want), BINARY "=%llu:%lld:%lld.%09ld", (unsigned long long)self.st_ino,
				       (long long)self.st_size, (long long)self.st_mtim.tv_sec, self.st_mtim.tv_nsec) >= (int)sizeof(want) ||
			      strcmp(saved, want) != 0)) {
		free(saved);
		saved = NULL;
	}
	if (saved != NULL && process != NULL) {
		was = saved_value(saved, *len, PROCESS);
		if (was == NULL || strlen(was) != plen || memcmp(was, process, plen) != 0) {
			free(saved);
			saved = NULL;
		}
	}
	free(process);
	return saved;
}

static int read_cgroup_file(const char *dir, const char *name, char *out, size_t size)
{
	char path[4200];
	ssize_t r;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = read(fd, out, size - 1);
	close(fd);
	if (r < 0)
		return -1;
	out[r] = '\0';
	return 0;
}

int paused(const char *v1, const char *v2)
{
	char s[512] = "", events[512];

	if (v1 != NULL) {
		if (read_cgroup_file(v1, "freezer.state", s, sizeof(s)) < 0)
			return -1;
		if (strcmp(s, "THAWED\n") == 0)
			return 0;
		return strcmp(s, "FROZEN\n") == 0 || strcmp(s, "FREEZING\n") == 0 ? 1 : -1;
	}
	if (v2 != NULL) {
		if (read_cgroup_file(v2, "cgroup.freeze", s, sizeof(s)) == 0 && strcmp(s, "1\n") == 0)
			return 1;
		if (read_cgroup_file(v2, "cgroup.events", events, sizeof(events)) < 0)
			return -1;
		if (strstr(events, "frozen 1\n") != NULL)
			return 1;
		return strcmp(s, "0\n") == 0 && strstr(events, "frozen 0\n") != NULL ? 0 : -1;
	}
	return 0; // no freezer: nothing can have been frozen
}

// merge_env is the container's environment with exec's --env, deduplicated
// as the Go stage's dedupEnv does: the last of a key is kept, in its place.
static int merge_env(struct buf *b, const char *base, const struct cmdline *c)
{
	struct item {
		const char *s;
		size_t n;
	} *items, *more;
	size_t n = 0, cap = 64 + (size_t)c->nenv, i, j, k;
	const char *v = base != NULL ? base : "", *eq;
	char *end;

	items = malloc(cap * sizeof(*items));
	if (items == NULL)
		return -1;
	while (*v != '\0') {
		size_t len = strtoul(v, &end, 10);
		if (*end != ':' || strlen(end + 1) < len)
			goto bad;
		if (n + (size_t)c->nenv == cap) {
			cap *= 2;
			more = realloc(items, cap * sizeof(*items));
			if (more == NULL)
				goto bad;
			items = more;
		}
		items[n].s = end + 1;
		items[n++].n = len;
		v = end + 1 + len;
	}
	for (i = 0; i < (size_t)c->nenv; i++) {
		items[n].s = c->env[i];
		items[n++].n = strlen(c->env[i]);
	}
	put_str(b, "_HUSK_EXEC_ENV=");
	for (i = 0; i < n; i++) {
		eq = memchr(items[i].s, '=', items[i].n);
		if (eq == NULL)
			goto bad; // the Go stage's process was checked to have none
		k = (size_t)(eq - items[i].s);
		for (j = i + 1; j < n; j++)
			if (items[j].n > k && items[j].s[k] == '=' && strncmp(items[j].s, items[i].s, k) == 0)
				break;
		if (j == n)
			put_item(b, items[i].s, items[i].n);
	}
	put(b, "", 1);
	free(items);
	return 0;
bad:
	free(items);
	return -1;
}

static int put_program(struct buf *b, const char *hex);

// build_settings spells the stage's settings as sendSettings does: the
// saved ones, then this exec's, which the preamble's later setenv makes
// win.
static int build_settings(struct buf *b, const struct cmdline *c, const char *saved, size_t len)
{
	char hex[9], num[24];
	const char *p;
	int i;

	put_str(b, "00000000"); // the length, filled in last
	for (p = saved; p < saved + len; p += strlen(p) + 1)
		if (strncmp(p, BINARY "=", sizeof(BINARY)) != 0 && strncmp(p, FREEZER_V1 "=", sizeof(FREEZER_V1)) != 0 &&
		    strncmp(p, FREEZER_V2 "=", sizeof(FREEZER_V2)) != 0 && strncmp(p, PROCESS "=", sizeof(PROCESS)) != 0 &&
		    strncmp(p, JOIN "=", sizeof(JOIN)) != 0 && strncmp(p, SECCOMP "=", sizeof(SECCOMP)) != 0)
			put(b, p, strlen(p) + 1);
	snprintf(num, sizeof(num), "%d", STAGE_PIDFD);
	put_setting(b, "_HUSK_JOIN_PIDFD", num);
	if (c->nargs > 0) {
		put_str(b, "_HUSK_EXEC_ARGS=");
		for (i = 0; i < c->nargs; i++)
			put_item(b, c->args[i], strlen(c->args[i]));
		put(b, "", 1);
	}
	if (c->cwd != NULL)
		put_setting(b, "_HUSK_EXEC_CWD", c->cwd);
	if (c->user) {
		snprintf(num, sizeof(num), "%lu", c->uid);
		put_setting(b, "_HUSK_EXEC_UID", num);
	}
	if (c->group) {
		snprintf(num, sizeof(num), "%lu", c->gid);
		put_setting(b, "_HUSK_EXEC_GID", num);
	}
	if (c->nenv > 0 && merge_env(b, saved_value(saved, len, "_HUSK_EXEC_ENV"), c) < 0)
		return -1;
	if (b->failed || b->len - 8 > MAX_SAVED)
		return -1;
	snprintf(hex, sizeof(hex), "%08zx", b->len - 8);
	memcpy(b->p, hex, 8);
	// The seccomp program follows the settings in binary (read_settings).
	return put_program(b, saved_value(saved, len, SECCOMP));
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

// put_program adds the saved seccomp program, hex in exec.env, in binary.
static int put_program(struct buf *b, const char *hex)
{
	char chunk[256];
	size_t i, n, k = 0;

	if (hex == NULL)
		return 0;
	n = strlen(hex);
	if (n % 2 != 0)
		return -1;
	for (i = 0; i < n; i += 2) {
		int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		chunk[k++] = (char)(hi << 4 | lo);
		if (k == sizeof(chunk)) {
			put(b, chunk, k);
			k = 0;
		}
	}
	put(b, chunk, k);
	return b->failed ? -1 : 0;
}

// overlay_over mounts, detached, a read-only overlayfs of the directory
// dir over layer (stage.overlayOver).
static int overlay_over(int dir, int layer)
{
	char lower[64];
	int fs, mnt = -1;

	snprintf(lower, sizeof(lower), "/proc/self/fd/%d:/proc/self/fd/%d", dir, layer);
	fs = (int)syscall(SYS_fsopen, "overlay", HUSK_FSOPEN_CLOEXEC);
	if (fs < 0)
		return -1;
	if (syscall(SYS_fsconfig, fs, HUSK_FSCONFIG_SET_STRING, "lowerdir", lower, 0) == 0 &&
	    syscall(SYS_fsconfig, fs, HUSK_FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		mnt = (int)syscall(SYS_fsmount, fs, HUSK_FSMOUNT_CLOEXEC,
				   HUSK_MOUNT_ATTR_RDONLY | HUSK_MOUNT_ATTR_NOSUID | HUSK_MOUNT_ATTR_NODEV);
	close(fs);
	return mnt;
}

// empty_layer is stage.emptyLayer: an empty detached tmpfs, for where /dev
// won't do as overlayfs's second layer.
static int empty_layer(void)
{
	int fs, mnt = -1;

	fs = (int)syscall(SYS_fsopen, "tmpfs", HUSK_FSOPEN_CLOEXEC);
	if (fs < 0)
		return -1;
	if (syscall(SYS_fsconfig, fs, HUSK_FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0)
		mnt = (int)syscall(SYS_fsmount, fs, HUSK_FSMOUNT_CLOEXEC, HUSK_MOUNT_ATTR_RDONLY);
	close(fs);
	return mnt;
}

// sealed_self is stage.sealedSelf's overlay: an O_PATH handle on this very
// binary through a detached lower-only overlayfs, through which nothing
// can write to it (CVE-2019-5736). -1 where it can't be made: Go's exec
// then falls back to a memfd copy. *mount is the overlay's detached mount,
// left open for the caller to close once the stage runs (exec_command).
static int sealed_self(int *mount)
{
	char exe[4096], *slash;
	struct stat want, got;
	int dir, layer, mnt, fd;
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0 || stat("/proc/self/exe", &want) < 0)
		return -1;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash == NULL || slash[1] == '\0' || strstr(exe, " (deleted)") != NULL)
		return -1;
	*slash = '\0';
	dir = open(slash == exe ? "/" : exe, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -1;
	layer = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
	mnt = layer >= 0 ? overlay_over(dir, layer) : -1;
	if (layer >= 0)
		close(layer);
	if (mnt < 0 && (layer = empty_layer()) >= 0) {
		mnt = overlay_over(dir, layer);
		close(layer);
	}
	close(dir);
	if (mnt < 0)
		return -1;
	fd = openat(mnt, slash + 1, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	// The path may name another file by now (husk upgraded in place):
	// the stage runs from the very binary this process runs, or not at all.
	if (fd >= 0 && (fstat(fd, &got) < 0 || got.st_ino != want.st_ino || got.st_size != want.st_size ||
			got.st_mtim.tv_sec != want.st_mtim.tv_sec || got.st_mtim.tv_nsec != want.st_mtim.tv_nsec)) {
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		close(mnt);
	else
		*mount = mnt;
	return fd;
}

// spawn_stage starts the exec stage as stage.spawn does, with its fds at
// STAGE_*; the child gets the signal mask mask back. vfork: it returns once
// the stage has exec'd, with the child's copy of our fds gone.
static pid_t spawn_stage(int sync, int pidfd, int self, const sigset_t *mask)
{
	static char *const argv[] = {"husk", "exec", NULL};
	static char *const envp[] = {"_HUSK_SYNCFD=3", "_HUSK_NFDS=5", NULL};
	int fds[3] = {sync, pidfd, self}, i;
	pid_t pid;

	pid = vfork();
	if (pid != 0)
		return pid;
	sigprocmask(SIG_SETMASK, mask, NULL);
	// Out of the way of 3..5 first, then into place (dup2 clears
	// close-on-exec).
	for (i = 0; i < 3; i++)
		if ((fds[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 10)) < 0)
			_exit(127);
	for (i = 0; i < 3; i++)
		if (dup2(fds[i], STAGE_SYNC + i) < 0)
			_exit(127);
	if (chdir("/") < 0)
		_exit(127);
	execve("/proc/self/fd/5", argv, envp);
	_exit(127);
}

// log_warning writes a warning as exec.go's logger does: to --log, or to
// stderr, in --log-format.
static void log_warning(const struct cmdline *c, const char *msg)
{
	struct buf line = {0};
	struct timespec now;
	struct tm tm;
	char t[64], ns[16], esc[8];
	const char *p;
	int fd = 2, i, json = strcmp(c->format, "json") == 0;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	if (now.tv_nsec != 0) {
		// RFC 3339 with nanoseconds, trailing zeros dropped, as Go.
		snprintf(ns, sizeof(ns), ".%09ld", now.tv_nsec);
		for (i = 9; ns[i] == '0'; i--)
			ns[i] = '\0';
		strcat(t, ns);
	}
	strcat(t, "Z");
	if (json)
		put_str(&line, "{\"level\":\"warning\",\"msg\":\"");
	else
		put_str(&line, "time=\""), put_str(&line, t), put_str(&line, "\" level=warning msg=\"");
	for (p = msg; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '"' || ch == '\\') {
			esc[0] = '\\', esc[1] = (char)ch, esc[2] = '\0';
		} else if (ch == '\n') {
			strcpy(esc, "\\n");
		} else if (ch < 0x20 || ch == 0x7f || (json && (ch == '<' || ch == '>' || ch == '&'))) {
			// encoding/json escapes HTML's three too.
			snprintf(esc, sizeof(esc), json ? "\\u%04x" : "\\x%02x", ch);
		} else {
			esc[0] = (char)ch, esc[1] = '\0';
		}
		put_str(&line, esc);
	}
	if (json)
		put_str(&line, "\",\"time\":\""), put_str(&line, t), put_str(&line, "\"}\n");
	else
		put_str(&line, "\"\n");
	if (c->log != NULL)
		fd = open(c->log, O_WRONLY | O_APPEND | O_CLOEXEC);
	// A warning that can't be written is lost, as Go's would be.
	if (fd >= 0 && !line.failed && write(fd, line.p, line.len) < 0)
		errno = 0;
	if (fd > 2)
		close(fd);
	free(line.p);
}

// unescape undoes send_msg's escapes in place: \" \\ and \u00XX.
static int unescape(char *s)
{
	char *out = s;
	unsigned int ch;

	for (; *s != '\0'; s++) {
		if (*s != '\\') {
			*out++ = *s;
			continue;
		}
		s++;
		if (*s == '"' || *s == '\\') {
			*out++ = *s;
		} else if (*s == 'u' && sscanf(s + 1, "%4x", &ch) == 1 && ch > 0 && ch < 0x80) {
			*out++ = (char)ch;
			s += 4;
		} else {
			return -1;
		}
	}
	*out = '\0';
	return 0;
}

// join_cgroups is the setup of an exec in a user namespace
// (cgroups.Manager.Apply): from inside it clone3 may not enter the
// cgroup, so husk moves the stage there once it asks, then acks.
static int join_cgroups(int sock, pid_t stage, const char *dirs)
{
	char path[4200], num[24];
	const char *dir, *end;
	int fd, n, ok = 1;

	n = snprintf(num, sizeof(num), "%d", (int)stage);
	for (dir = dirs; ok && dir != NULL && *dir != '\0'; dir = *end != '\0' ? end + 1 : end) {
		end = strchr(dir, '\n');
		if (end == NULL)
			end = dir + strlen(dir);
		if ((size_t)snprintf(path, sizeof(path), "%.*s/cgroup.procs", (int)(end - dir), dir) >= sizeof(path))
			return -1;
		fd = open(path, O_WRONLY | O_CLOEXEC);
		ok = fd >= 0 && write(fd, num, (size_t)n) == n;
		if (fd >= 0)
			close(fd);
	}
	return ok && send(sock, "{\"type\":\"ack\"}\n", 15, MSG_NOSIGNAL) == 15 ? 0 : -1;
}

// message takes one line of the stage's: the setup it asks for, its pid,
// or a warning, which may come before the pid (the final process sends it,
// the preamble the pid, and either may run first). 0 if it is one of
// those, else -1: an error, or a message no stage sends, which Go's exec
// tells.
static int message(const struct cmdline *c, char *line, int sock, pid_t stage, const char *join, pid_t *pid)
{
	static const char pid_msg[] = "{\"type\":\"pid\",\"pid\":", warn_msg[] = "{\"type\":\"warn\",\"msg\":\"";
	size_t n = strlen(line);
	char *end;

	if (strcmp(line, "{\"type\":\"setup\"}") == 0 && join != NULL && *pid < 0)
		return join_cgroups(sock, stage, join);
	if (strncmp(line, pid_msg, sizeof(pid_msg) - 1) == 0 && *pid < 0) {
		*pid = (pid_t)strtol(line + sizeof(pid_msg) - 1, &end, 10);
		return *pid > 0 && strcmp(end, "}") == 0 ? 0 : -1;
	}
	if (strncmp(line, warn_msg, sizeof(warn_msg) - 1) == 0 && n >= sizeof(warn_msg) + 1 &&
	    strcmp(line + n - 2, "\"}") == 0) {
		line[n - 2] = '\0';
		if (unescape(line + sizeof(warn_msg) - 1) < 0)
			return -1;
		log_warning(c, line + sizeof(warn_msg) - 1);
		return 0;
	}
	return -1;
}

// await_stage reads the stage's messages until its process has exec'd
// (the socket's EOF), moving it into its cgroups first where join names
// them, and reaps the preamble: the process's pid, or -1 with the stage
// killed and reaped.
static pid_t await_stage(const struct cmdline *c, int sock, pid_t stage, const char *join)
{
	struct buf in = {0};
	char chunk[4096], *nl;
	size_t done = 0;
	pid_t pid = -1;
	ssize_t r;
	int status, ok = 1;

	while (ok) {
		r = read(sock, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			// EOF at the execve, every message whole; or a broken socket.
			ok = r == 0 && done == in.len && pid > 0;
			break;
		}
		put(&in, chunk, (size_t)r);
		ok = !in.failed && in.len <= MAX_REPLY;
		// Each whole line in turn; a NUL makes it no message of the stage's.
		while (ok && (nl = memchr(in.p + done, '\n', in.len - done)) != NULL) {
			*nl = '\0';
			ok = strlen(in.p + done) == (size_t)(nl - in.p - done) &&
			     message(c, in.p + done, sock, stage, join, &pid) == 0;
			done = (size_t)(nl - in.p) + 1;
		}
	}
	free(in.p);
	if (!ok)
		kill(stage, SIGKILL);
	while (waitpid(stage, &status, 0) < 0 && errno == EINTR)
		;
	if (ok && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return pid;
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	return -1;
}

// write_pid_file is exec.go's writePidFile: the pid written beside the
// file and renamed over it.
static int write_pid_file(const char *path, pid_t pid)
{
	const char *slash = strrchr(path, '/'), *base = slash != NULL ? slash + 1 : path;
	char tmp[4200], num[24], e[128], msg[8600];
	int fd, n, ok;

	if (slash != NULL)
		n = snprintf(tmp, sizeof(tmp), "%.*s/.%s.tmp", (int)(slash - path), path, base);
	else
		n = snprintf(tmp, sizeof(tmp), ".%s.tmp", base);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(msg, sizeof(msg), "write pid file: %s: %s", path, errstr(ENAMETOOLONG, e, sizeof(e)));
		goto failed;
	}
	n = snprintf(num, sizeof(num), "%d", (int)pid);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(msg, sizeof(msg), "write pid file: open %s: %s", tmp, errstr(errno, e, sizeof(e)));
		goto failed;
	}
	ok = write(fd, num, (size_t)n) == n;
	if (!ok)
		snprintf(msg, sizeof(msg), "write pid file: write %s: %s", tmp, errstr(errno, e, sizeof(e)));
	close(fd);
	if (ok && rename(tmp, path) < 0) {
		snprintf(msg, sizeof(msg), "write pid file: rename %s %s: %s", tmp, path, errstr(errno, e, sizeof(e)));
		ok = 0;
	}
	if (ok)
		return 0;
	unlink(tmp);
failed:
	command_error = strdup(msg);
	if (command_error == NULL)
		_exit(255); // the error can't even be kept for Go to report
	return -1;
}

// wait_process is foreground.wait without a terminal: every signal goes
// on to the process (SIGWINCH has no terminal to resize) until it exits,
// and its exit code is returned.
static int wait_process(pid_t pid, const sigset_t *all)
{
	siginfo_t si;
	pid_t w;
	int sig, status;

	for (;;) {
		sig = sigwaitinfo(all, &si);
		if (sig < 0)
			continue; // EINTR
		if (sig == SIGWINCH)
			continue;
		if (sig != SIGCHLD) {
			kill(pid, sig);
			continue;
		}
		// husk may be a subreaper: collect whatever exited.
		while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
			if (w != pid)
				continue;
			if (WIFSIGNALED(status))
				return 128 + WTERMSIG(status);
			return WEXITSTATUS(status);
		}
	}
}

int exec_command(const struct cmdline *c, int dirfd, const struct state *st)
{
	struct buf set = {0};
	sigset_t all, old;
	char *saved;
	size_t len;
	int pidfd = -1, self = -1, mnt = -1, sv[2] = {-1, -1}, fd, done = 0;
	pid_t stage, pid = -1;

	// A created or running container (Go's exec tells the others), and
	// nothing of Go's exec to do: socket activation's fds to pass on,
	// stdio to stand in for.
	if (st->version != STATE_VERSION || !st->spec || st->creating || st->pid <= 0 || getenv("LISTEN_FDS") != NULL)
		return 0;
	for (fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			return 0;
	saved = read_saved(c, dirfd, &len);
	if (saved == NULL)
		return 0;
	// Go's exec tells a paused container (and takes --ignore-paused).
	if (paused(saved_value(saved, len, FREEZER_V1), saved_value(saved, len, FREEZER_V2)) != 0 ||
	    build_settings(&set, c, saved, len) < 0)
		goto out;
	// The pidfd pins the pid; checked after it is open, the start time
	// says it is still the container's init.
	pidfd = (int)syscall(SYS_pidfd_open, (pid_t)st->pid, 0);
	if (pidfd < 0 || !alive(st->pid, st->pid_start))
		goto out;
	self = sealed_self(&mnt);
	if (self < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		goto out;
	// In the foreground every signal is caught from before the process
	// exists, so that none slips by (newForeground).
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, c->detach ? NULL : &all, &old);
	stage = spawn_stage(sv[1], pidfd, self, &old);
	close(sv[1]);
	sv[1] = -1;
	if (stage > 0) {
		size_t off = 0;
		ssize_t w = 0;
		while (off < set.len && ((w = send(sv[0], set.p + off, set.len - off, MSG_NOSIGNAL)) > 0 || errno == EINTR))
			off += w > 0 ? (size_t)w : 0;
		// Closing the overlay's detached mount waits for an RCU grace
		// period (stage.selfView.close). The stage has exec'd, so this
		// close is the mount's last, and the wait overlaps the preamble's
		// work on its settings.
		close(mnt);
		mnt = -1;
		// A stage that died early reads as an error in await_stage.
		pid = await_stage(c, sv[0], stage, saved_value(saved, len, JOIN));
	}
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		goto out;
	}
	done = 1;
	// What started the stage goes before the wait, as in Go's exec: the
	// binary's handle holds its detached overlay mount, the pidfd the
	// init's struct pid, for as long as a foreground process runs.
	close(sv[0]);
	close(self);
	close(pidfd);
	sv[0] = self = pidfd = -1;
	if (c->pid_file != NULL && write_pid_file(c->pid_file, pid) < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		goto out; // Go's exec reports it, the process left running
	}
	command_exit = c->detach ? 0 : wait_process(pid, &all);
out:
	if (sv[0] >= 0)
		close(sv[0]);
	if (mnt >= 0)
		close(mnt);
	if (self >= 0)
		close(self);
	if (pidfd >= 0)
		close(pidfd);
	free(set.p);
	free(saved);
	return done;
}
