// The process of an exec stage, set up and exec'd by the preamble's final
// child without starting the Go runtime.
//
// An exec stage joins a container that exists: what is left after the
// preamble's setns is the process's own settings, a few dozen syscalls.
// Starting Go for them cost more than everything else the stage does (about
// 40% of an `exec`'s wall time, docs/design.md), so husk resolves the settings it can on
// its side (libcontainer/stage/direct.go: names to numbers, the seccomp
// program compiled) and hands them over as _HUSK_EXEC_* settings; this file
// applies them in the order and with the messages of the Go stage
// (libcontainer/stage/process.go), which still sets up every process that
// needs more (a terminal, a user name to look up, an SELinux label, a
// seccomp agent, process attributes, --debug).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nsenter.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif
#ifndef AT_EACCESS
#define AT_EACCESS 0x200
#endif
#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

#define MAX_LIST 65536 // arguments or environment entries; execve takes fewer

// setting_list splits a setting of length-prefixed items ("5:hello3:foo")
// in place into a NULL-terminated array. The items may hold any byte but
// NUL, which neither an argument, an environment entry nor a mount source
// can.
char **setting_list(const char *name, size_t *count)
{
	char *v = getenv(name), **out;
	size_t n = 0, cap = 16;

	out = malloc(cap * sizeof(*out));
	if (out == NULL)
		bail("%s", name);
	while (v != NULL && *v != '\0') {
		char *end;
		unsigned long len = strtoul(v, &end, 10);
		if (*end != ':' || strlen(end + 1) < len || n >= MAX_LIST) {
			errno = EINVAL;
			bail("malformed setting %s", name);
		}
		if (n + 2 > cap) {
			cap *= 2;
			out = realloc(out, cap * sizeof(*out));
			if (out == NULL)
				bail("%s", name);
		}
		v = end + 1 + len;
		// The item moves over its ':', and its last byte's old place
		// ends it.
		memmove(end, end + 1, len);
		end[len] = '\0';
		out[n++] = end;
	}
	out[n] = NULL;
	if (count != NULL)
		*count = n;
	return out;
}

static const char *env_value(char **env, const char *key)
{
	size_t k = strlen(key);
	const char *found = NULL;

	for (; *env != NULL; env++) {
		if (strncmp(*env, key, k) == 0 && (*env)[k] == '=')
			found = *env + k + 1; // the last one counts, as in the Go stage
	}
	return found;
}

// rlimit entries: "NAME RESOURCE SOFT HARD" per line.
struct rlim {
	char name[32];
	int res;
	struct rlimit want;
};

static struct rlim *rlimits(size_t *count)
{
	char *v = getenv("_HUSK_EXEC_RLIMITS"), *line, *save = NULL;
	struct rlim *out = NULL;
	size_t n = 0;

	for (line = v ? strtok_r(v, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		struct rlim r;
		unsigned long long soft, hard;
		if (sscanf(line, "%31s %d %llu %llu", r.name, &r.res, &soft, &hard) != 4) {
			errno = EINVAL;
			bail("malformed setting _HUSK_EXEC_RLIMITS");
		}
		r.want.rlim_cur = (rlim_t)soft;
		r.want.rlim_max = (rlim_t)hard;
		out = realloc(out, (n + 1) * sizeof(*out));
		if (out == NULL)
			bail("rlimits");
		out[n++] = r;
	}
	*count = n;
	return out;
}

// late_rlimit: the limits on memory are set right before execve, as the Go
// stage does (it needs its memory until then; this code only mallocs, but
// the same order gives the same results).
static int late_rlimit(const struct rlim *r) { return r->res == RLIMIT_AS || r->res == RLIMIT_DATA; }

// set_rlimits is process.go's setRlimits: the early pass sets all but the
// late ones while privileged, and for those only raises a hard limit that
// needs raising; the late pass sets them fully.
static void set_rlimits(const struct rlim *rl, size_t n, int late)
{
	for (size_t i = 0; i < n; i++) {
		struct rlimit want = rl[i].want, cur;
		if (late && !late_rlimit(&rl[i]))
			continue;
		if (!late && late_rlimit(&rl[i])) {
			if (getrlimit(rl[i].res, &cur) < 0 || cur.rlim_max >= want.rlim_max)
				continue;
			want.rlim_cur = cur.rlim_cur < want.rlim_max ? cur.rlim_cur : want.rlim_max;
		}
		if (setrlimit(rl[i].res, &want) < 0)
			bail("set rlimit %s to %llu:%llu", rl[i].name, (unsigned long long)rl[i].want.rlim_cur,
			     (unsigned long long)rl[i].want.rlim_max);
	}
}

// home_of is the home of uid in the container's /etc/passwd (the first
// entry with that uid, as moby/sys/user finds it), or "/".
static char *home_of(unsigned long uid)
{
	static char home[4096];
	char line[8192];
	FILE *f = fopen("/etc/passwd", "re");

	strcpy(home, "/");
	if (f == NULL)
		return home;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *field[7] = {0}, *p = line, *end;
		int i;
		line[strcspn(line, "\n")] = '\0';
		for (i = 0; i < 7 && p != NULL; i++) {
			field[i] = p;
			p = strchr(p, ':');
			if (p != NULL)
				*p++ = '\0';
		}
		if (field[2] == NULL || field[5] == NULL)
			continue;
		// moby/sys/user reads an id it can't parse as 0.
		errno = 0;
		unsigned long id = strtoul(field[2], &end, 10);
		if (errno != 0 || *end != '\0' || *field[2] == '\0')
			id = 0;
		if (id == uid) {
			snprintf(home, sizeof(home), "%s", field[5]);
			break;
		}
	}
	fclose(f);
	return home;
}

// apparmor_fail reports a failed "exec PROFILE" as lsm.ApplyExecLabels does.
static void apparmor_fail(const char *profile, const char *what, int e)
{
	char msg[1024], es[128];
	const char *hint = "is AppArmor enabled on this host?";
	char loaded[512];

	if (e == ENOENT && strncmp(what, "/proc/", 6) == 0 && strstr(what, ": write") != NULL) {
		snprintf(loaded, sizeof(loaded), "AppArmor has no profile \"%s\" loaded; load it with apparmor_parser", profile);
		hint = loaded;
	}
	snprintf(msg, sizeof(msg), "process.apparmorProfile: set \"%s\" for exec: %s: %s (%s)", profile, what, errstr(e, es, sizeof(es)),
		 hint);
	send_msg("error", msg);
	_exit(1);
}

// apparmor_exec is lsm.ApplyExecLabels for an AppArmor profile: "exec
// PROFILE" written to this thread's attr/apparmor/exec (attr/exec before
// Linux 5.8), which the kernel applies at execve. The file is reached
// through a procfs instance of the stage's own (fsopen), never the
// container's /proc, which the image, the config's mounts or the container
// itself can fake (CVE-2019-16884, CVE-2025-52881), and written only if
// fstatfs says procfs.
static void apparmor_exec(const char *profile)
{
	static const char *attrs[] = {"thread-self/attr/apparmor/exec", "thread-self/attr/exec"};
	char value[4200], what[128];
	struct statfs st;
	int fs, mnt, fd = -1;
	size_t i;
	ssize_t n;

	fs = (int)syscall(SYS_fsopen, "proc", HUSK_FSOPEN_CLOEXEC);
	if (fs < 0)
		apparmor_fail(profile, "open procfs", errno);
	// Only the processes' directories, where the kernel has the option.
	syscall(SYS_fsconfig, fs, HUSK_FSCONFIG_SET_STRING, "subset", "pid", 0);
	if (syscall(SYS_fsconfig, fs, HUSK_FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		apparmor_fail(profile, "open procfs", errno);
	mnt = (int)syscall(SYS_fsmount, fs, HUSK_FSMOUNT_CLOEXEC,
			   HUSK_MOUNT_ATTR_NOSUID | HUSK_MOUNT_ATTR_NODEV | HUSK_MOUNT_ATTR_NOEXEC);
	if (mnt < 0)
		apparmor_fail(profile, "open procfs", errno);
	close(fs);
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		fd = openat(mnt, attrs[i], O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd >= 0 || errno != ENOENT)
			break;
	}
	if (fd < 0) {
		if (i == sizeof(attrs) / sizeof(attrs[0])) {
			char msg[512];
			snprintf(msg, sizeof(msg),
				 "process.apparmorProfile: set \"%s\" for exec: none of /proc/thread-self/[attr/apparmor/exec attr/exec] "
				 "exists (is AppArmor enabled on this host?)",
				 profile);
			send_msg("error", msg);
			_exit(1);
		}
		snprintf(what, sizeof(what), "open /proc/%s", attrs[i]);
		apparmor_fail(profile, what, errno);
	}
	close(mnt);
	if (fstatfs(fd, &st) < 0 || st.f_type != PROC_SUPER_MAGIC) {
		snprintf(what, sizeof(what), "/proc/%s: not on procfs", attrs[i]);
		apparmor_fail(profile, what, errno ? errno : EXDEV);
	}
	snprintf(value, sizeof(value), "exec %s", profile);
	n = write(fd, value, strlen(value));
	if (n < 0) {
		snprintf(what, sizeof(what), "/proc/%s: write", attrs[i]);
		apparmor_fail(profile, what, errno);
	}
	if ((size_t)n != strlen(value)) {
		snprintf(what, sizeof(what), "/proc/%s: short write", attrs[i]);
		apparmor_fail(profile, what, EIO);
	}
	close(fd);
}

// enter_cwd is process.go's enterCwd: a cwd reached through a leaked fd
// would print as "(unreachable)..." (CVE-2024-21626).
static int enter_cwd(const char *cwd, int soft)
{
	char wd[4096];

	if (cwd == NULL || *cwd == '\0')
		cwd = "/";
	if (chdir(cwd) < 0) {
		if (soft && (errno == EACCES || errno == EPERM))
			return -1;
		bail("chdir to cwd (\"%s\") set in config.json", cwd);
	}
	if (getcwd(wd, sizeof(wd)) == NULL || wd[0] != '/') {
		char msg[4200];
		snprintf(msg, sizeof(msg), "cwd (\"%s\") set in config.json: refused, it leads outside the container's root", cwd);
		send_msg("error", msg);
		_exit(1);
	}
	return 0;
}

static struct sock_fprog seccomp_prog;
static unsigned long seccomp_flags;

// read_seccomp takes the program husk compiled (seccomp.Filter), which
// read_settings received.
static void read_seccomp(void)
{
	if (seccomp_program == NULL)
		return;
	seccomp_prog.len = (unsigned short)(seccomp_program_len / sizeof(struct sock_filter));
	seccomp_prog.filter = (struct sock_filter *)seccomp_program;
	seccomp_flags = strtoul(getenv("_HUSK_EXEC_SECCOMP_FLAGS") ? getenv("_HUSK_EXEC_SECCOMP_FLAGS") : "0", NULL, 10);
}

// load_seccomp is seccomp's loadProgram; a filter that notifies never
// comes here (it needs the Go stage's second thread to hand its fd over).
static void load_seccomp(void)
{
	long r;

	if (seccomp_prog.filter == NULL)
		return;
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, seccomp_flags, &seccomp_prog);
	if (r < 0 && errno == EACCES) {
		send_msg("error", "load seccomp filter: permission denied: the process needs no_new_privs or CAP_SYS_ADMIN "
				  "(with process.noNewPrivileges false, load the filter before dropping capabilities)");
		_exit(1);
	}
	if (r < 0)
		bail("load seccomp filter");
	if (r > 0) {
		char msg[128];
		snprintf(msg, sizeof(msg), "load seccomp filter: thread %ld cannot take the filter (SECCOMP_FILTER_FLAG_TSYNC)", r);
		send_msg("error", msg);
		_exit(1);
	}
}

// The capability sets, as capset(2) takes them, when process.capabilities
// is set: bounding, effective, permitted, inheritable.
static int have_caps;
static unsigned long long cap_bounding, cap_effective, cap_permitted, cap_inheritable;

static void read_caps(void)
{
	const char *v = getenv("_HUSK_EXEC_CAPS");

	if (v == NULL)
		return;
	if (sscanf(v, "%llx %llx %llx %llx", &cap_bounding, &cap_effective, &cap_permitted, &cap_inheritable) != 4) {
		errno = EINVAL;
		bail("malformed setting _HUSK_EXEC_CAPS");
	}
	have_caps = 1;
}

// drop_bounding is capabilities.go's dropBounding (moby/sys/capability's
// Apply(BOUNDS)): without CAP_SETPCAP it leaves the set as it is; a
// capability the kernel doesn't know (EINVAL) is skipped.
static void drop_bounding(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	int last = (int)strtol(getenv("_HUSK_EXEC_CAP_LAST") ? getenv("_HUSK_EXEC_CAP_LAST") : "63", NULL, 10);

	if (!have_caps)
		return;
	if (syscall(SYS_capget, &hdr, data) < 0)
		bail("drop bounding capabilities");
	if (!(data[0].effective & (1U << CAP_SETPCAP)))
		return;
	for (int i = 0; i <= last && i < 64; i++) {
		if (cap_bounding & (1ULL << i))
			continue;
		if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0 && errno != EINVAL)
			bail("drop bounding capabilities");
	}
}

// apply_caps is capabilities.go's applyCapabilities.
static void apply_caps(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {
		{(uint32_t)cap_effective, (uint32_t)cap_permitted, (uint32_t)cap_inheritable},
		{(uint32_t)(cap_effective >> 32), (uint32_t)(cap_permitted >> 32), (uint32_t)(cap_inheritable >> 32)},
	};
	char *v = getenv("_HUSK_EXEC_AMBIENT"), *line, *save = NULL;

	if (!have_caps)
		return;
	if (syscall(SYS_capset, &hdr, data) < 0)
		bail("set capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		bail("clear ambient capabilities");
	for (line = v ? strtok_r(v, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		char name[64], msg[256], e[128];
		int c;
		if (sscanf(line, "%d %63s", &c, name) != 2) {
			errno = EINVAL;
			bail("malformed setting _HUSK_EXEC_AMBIENT");
		}
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0) {
			snprintf(msg, sizeof(msg), "can't raise ambient capability %s: %s", name, errstr(errno, e, sizeof(e)));
			send_msg("warn", msg);
		}
	}
}

// chown_stdio is process.go's chownStdio for a process without a
// terminal: a pipe or socket from the caller goes to the process's user.
static void chown_stdio(uid_t uid)
{
	for (int fd = 0; fd <= 2; fd++) {
		struct stat st;
		if (fstat(fd, &st) < 0) {
			if (errno == EBADF)
				continue;
			bail("stat fd %d", fd);
		}
		if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode))
			continue;
		if (st.st_uid == uid)
			continue;
		if (fchown(fd, uid, st.st_gid) < 0 && errno != EINVAL && errno != EPERM && errno != EROFS)
			bail("chown fd %d to uid %u", fd, (unsigned)uid);
	}
}

// switch_user is process.go's switchUser. The raw syscalls change this one
// thread, the only one.
static void switch_user(uid_t uid, gid_t gid)
{
	char *v = getenv("_HUSK_EXEC_GROUPS"), *p = v, *end;
	gid_t *groups = malloc((v ? strlen(v) / 2 + 1 : 1) * sizeof(*groups));
	size_t n = 0;

	if (groups == NULL)
		bail("setgroups");
	while (p != NULL && *p != '\0') {
		groups[n] = (gid_t)strtoul(p, &end, 10);
		if (groups[n++] == (gid_t)-1) {
			errno = EINVAL;
			bail("process.user.additionalGids: %u", (unsigned)-1);
		}
		p = *end ? end + 1 : end;
	}
	if (syscall(SYS_setgroups, n, groups) < 0 && !(errno == EPERM && n == 0)) {
		char list[1024] = "[";
		size_t o = 1;
		int saved = errno;
		for (size_t i = 0; i < n && o < sizeof(list) - 16; i++)
			o += (size_t)snprintf(list + o, sizeof(list) - o, i ? " %u" : "%u", (unsigned)groups[i]);
		snprintf(list + o, sizeof(list) - o, "]");
		errno = saved;
		bail("setgroups %s", list);
	}
	if (syscall(SYS_setresgid, gid, gid, gid) < 0)
		bail("setgid %u", (unsigned)gid);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		bail("set keepcaps");
	if (syscall(SYS_setresuid, uid, uid, uid) < 0)
		bail("setuid %u", (unsigned)uid);
	nondumpable();
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		bail("clear keepcaps");
}

// in_group tells whether gid is the effective or a supplementary group,
// reading all of the supplementary groups (up to NGROUPS_MAX, 65536).
static int in_group(gid_t gid)
{
	gid_t *groups;
	int n, found = 0;

	if (getegid() == gid)
		return 1;
	n = getgroups(0, NULL);
	if (n <= 0)
		return 0;
	groups = malloc((size_t)n * sizeof(*groups));
	if (groups == NULL)
		bail("allocate %d supplementary groups", n);
	n = getgroups(n, groups);
	for (int i = 0; i < n && !found; i++)
		found = groups[i] == gid;
	free(groups);
	return found;
}

// may_execute judges X_OK from st's mode bits as x/sys's Faccessat does
// where faccessat2 is missing or refused (a seccomp filter loaded before
// the lookup that doesn't list it): with CAP_DAC_OVERRIDE, or as root, any
// execute bit will do; otherwise the owner's, the group's or the others'.
static int may_execute(const struct stat *st)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	uid_t uid = geteuid();
	mode_t bits;

	if (uid != 0 && syscall(SYS_capget, &hdr, data) == 0 && (data[0].effective & (1U << CAP_DAC_OVERRIDE)))
		uid = 0;
	if (uid == 0)
		return (st->st_mode & 0111) != 0;
	if (st->st_uid == uid)
		bits = st->st_mode >> 6;
	else if (in_group(st->st_gid))
		bits = st->st_mode >> 3;
	else
		bits = st->st_mode;
	return (bits & 1) != 0;
}

// check_executable is process.go's checkExecutable: it judges as execve(2)
// will, with the effective ids and capabilities (faccessat2 AT_EACCESS,
// or may_execute where the kernel has none or a filter refuses it).
static int check_executable(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		errno = EACCES;
		return -2;
	}
	if (syscall(SYS_faccessat2, AT_FDCWD, path, X_OK, AT_EACCESS) == 0)
		return 0;
	if (errno != ENOSYS && errno != EPERM)
		return -2;
	if (!may_execute(&st)) {
		errno = EACCES;
		return -2;
	}
	return 0;
}

// look_path is process.go's lookPath: execvp's search, with the container's
// PATH, failing with the texts clients classify.
static const char *look_path(const char *file, char **env)
{
	static char path[4096];
	const char *dirs, *p;
	char msg[4400], e[128];

	if (strchr(file, '/') != NULL) {
		int r = check_executable(file);
		if (r == -1)
			snprintf(msg, sizeof(msg), "exec: \"%s\": stat %s: %s", file, file, errstr(errno, e, sizeof(e)));
		else if (r == -2)
			snprintf(msg, sizeof(msg), "exec: \"%s\": %s", file, errstr(errno, e, sizeof(e)));
		else
			return file;
		send_msg("error", msg);
		_exit(1);
	}
	dirs = env_value(env, "PATH");
	for (p = dirs; p != NULL && *p != '\0';) {
		const char *colon = strchr(p, ':');
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		int n;
		if (len == 0 || (len == 1 && p[0] == '.'))
			n = snprintf(path, sizeof(path), "%s", file);
		else
			n = snprintf(path, sizeof(path), "%.*s/%s", (int)(len > 1 && p[len - 1] == '/' ? len - 1 : len), p, file);
		if (n > 0 && (size_t)n < sizeof(path) && check_executable(path) == 0)
			return path;
		p = colon ? colon + 1 : NULL;
	}
	snprintf(msg, sizeof(msg), "exec: \"%s\": executable file not found in $PATH", file);
	send_msg("error", msg);
	_exit(1);
}

// reset_affinity is procattr.ResetAffinity: the stage is in the
// container's cgroup, and its process gets that cgroup's cpuset, not
// husk's own affinity; a failure is a warning, as in the Go stage.
static void reset_affinity(void)
{
	static unsigned long all[1024]; // 64Ki CPUs; the kernel ignores the bits past its own
	char msg[256], e[128];

	memset(all, 0xff, sizeof(all));
	if (syscall(SYS_sched_setaffinity, 0, sizeof(all), all) == 0)
		return;
	snprintf(msg, sizeof(msg), "reset the CPU affinity: sched_setaffinity: %s: the container's process keeps husk's CPU affinity",
		 errstr(errno, e, sizeof(e)));
	send_msg("warn", msg);
}

void exec_process(void)
{
	char **args, **env, *v;
	size_t nenv, nrl;
	struct rlim *rl;
	const char *cwd, *path, *home;
	uid_t uid;
	gid_t gid;
	int nnp, in_cwd;

	if (getenv("_HUSK_EXEC_ARGS") == NULL)
		return;
	// Nothing of husk's but the preserved fds reaches the process.
	if (syscall(SYS_close_range, (unsigned int)syncfd, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
		// Before Linux 5.11; the preamble closed all from _HUSK_NFDS up.
		for (long fd = syncfd; fd < strtol(getenv("_HUSK_NFDS"), NULL, 10); fd++)
			fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	}
	args = setting_list("_HUSK_EXEC_ARGS", NULL);
	env = setting_list("_HUSK_EXEC_ENV", &nenv);
	cwd = getenv("_HUSK_EXEC_CWD");
	uid = (uid_t)strtoul(getenv("_HUSK_EXEC_UID") ? getenv("_HUSK_EXEC_UID") : "0", NULL, 10);
	gid = (gid_t)strtoul(getenv("_HUSK_EXEC_GID") ? getenv("_HUSK_EXEC_GID") : "0", NULL, 10);
	nnp = getenv("_HUSK_EXEC_NNP") != NULL;
	rl = rlimits(&nrl);
	read_caps();
	read_seccomp();
	// -1 would leave an id as it is, root's (husk never sends it).
	if (uid == (uid_t)-1 || gid == (gid_t)-1) {
		errno = EINVAL;
		bail("process.user %u:%u", (unsigned)uid, (unsigned)gid);
	}
	if (args[0] == NULL) {
		errno = EINVAL;
		bail("process.args must not be empty");
	}

	set_rlimits(rl, nrl, 0);
	home = env_value(env, "HOME");
	if (home == NULL || *home == '\0')
		home = home_of(uid);
	else
		home = NULL; // kept
	if (home != NULL && *home != '\0') {
		char *kv = malloc(strlen(home) + 6);
		size_t i;
		if (kv == NULL)
			bail("HOME");
		sprintf(kv, "HOME=%s", home);
		// In place of an empty HOME, else appended (env is deduplicated).
		for (i = 0; i < nenv && strncmp(env[i], "HOME=", 5) != 0; i++)
			;
		if (i == nenv) {
			env = realloc(env, (nenv + 2) * sizeof(*env));
			if (env == NULL)
				bail("HOME");
			env[nenv + 1] = NULL;
		}
		env[i] = kv;
	}
	if ((v = getenv("_HUSK_EXEC_UMASK")) != NULL)
		umask((mode_t)strtoul(v, NULL, 10));
	reset_affinity();
	// Before no_new_privs, under which AppArmor refuses most transitions.
	if ((v = getenv("_HUSK_EXEC_APPARMOR")) != NULL)
		apparmor_exec(v);
	in_cwd = enter_cwd(cwd, 1) == 0;
	if (!nnp)
		load_seccomp();
	drop_bounding();
	chown_stdio(uid);
	switch_user(uid, gid);
	apply_caps();
	if (nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		bail("set no_new_privs");
	if (!in_cwd)
		enter_cwd(cwd, 0);
	path = look_path(args[0], env);
	if (nnp)
		load_seccomp();
	await_start(); // a C init's
	set_rlimits(rl, nrl, 1);
	execve(path, args, env);
	bail("exec %s", path);
}
