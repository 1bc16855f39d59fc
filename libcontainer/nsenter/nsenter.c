// The namespace preamble of husk's init and exec stages.
//
// It runs as a constructor, before the Go runtime starts any thread, because
// unshare(CLONE_NEWUSER), setns into a user or mount namespace, and joining a
// PID namespace all need (or only make sense in) a single-threaded process.
// Its namespace work is done only where the parent husk set _HUSK_SYNCFD;
// its other settings come over that socket (read_settings). In every other
// husk process it does a plain `husk start` or `husk delete` itself
// (lifecycle.c), or an `exec` whose settings a first exec saved
// (execcmd.c), or readies the Go runtime's start-up (map_segment, one_cpu)
// and returns.
//
// Protocol on the sync socket (newline-delimited JSON, shared with the Go
// side): if asked to (_HUSK_SETUP), the preamble sends {"type":"setup"} once
// it is in its user namespace and waits for the parent's {"type":"ack"} (the
// parent has written the id maps, or for exec placed the process in the
// container's cgroup, by then); it then unshares the
// remaining namespaces and forks with CLONE_PARENT so the child becomes a
// sibling (a child of husk), enters the new PID namespace, and continues into
// Go, or, for an exec whose settings husk resolved, sets the process up and
// execs it (execproc.c). The intermediate reports {"type":"pid","pid":N} and
// exits.
//
// From its first step until the final execve the stage is non-dumpable
// (PR_SET_DUMPABLE 0): the kernel then refuses ptrace and the /proc/PID
// files that reach into a process (exe, fd, mem, environ, map_files, ...)
// to anyone without CAP_SYS_PTRACE over the host's user namespace, so a
// process in the container can't use the stage's handles while it runs
// there (CVE-2019-5736, CVE-2016-9962). Credential changes reset the flag to
// fs.suid_dumpable, so it is set again after each one (nondumpable()).
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <link.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "nsenter.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

// The kernel's struct clone_args (v2, with the cgroup field), spelled out
// so the preamble does not depend on the installed kernel headers.
struct husk_clone_args {
	unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal;
	unsigned long long stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

int syncfd = -1;
static int cgroup2fd = -1; // the container's cgroup v2 dir, opened before any setns

static void write_all(const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(syncfd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		buf += n;
		len -= (size_t)n;
	}
}

// send_msg writes {"type":TYPE,"msg":MSG} with MSG escaped just enough to
// stay valid JSON.
void send_msg(const char *type, const char *msg)
{
	char out[2200];
	size_t o = (size_t)snprintf(out, sizeof(out), "{\"type\":\"%s\",\"msg\":\"", type);

	for (const char *p = msg; *p && o < sizeof(out) - 64; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	o += (size_t)snprintf(out + o, sizeof(out) - o, "\"}\n");
	write_all(out, o);
}

const char *errstr(int e, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && (buf[1] < 'A' || buf[1] > 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

// bail reports a failure to the parent as {"type":"error","msg":...} and
// exits.
void bail(const char *fmt, ...)
{
	char msg[1024], e[128];
	int saved = errno;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n = strlen(msg);
	snprintf(msg + n, sizeof(msg) - n, ": %s", errstr(saved, e, sizeof(e)));
	if (syncfd < 0) {
		// After ready: the error goes to stderr bare, with runc's exit
		// status for a process that never ran, as the Go stage's does.
		dprintf(2, "%s\n", msg);
		_exit(255);
	}
	send_msg("error", msg);
	_exit(1);
}

void send_ready(void)
{
	write_all("{\"type\":\"ready\"}\n", 17);
	close(syncfd);
	syncfd = -1;
}

void nondumpable(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		bail("make the process non-dumpable");
}

// map_segment maps one read-only segment of husk's binary (text, read-only
// data, the Go pclntab) into the page tables at once. Go's start-up touches
// pages all over them; where a page fault is dear (about 10 us in the VMs
// husk is benchmarked on, a trap to the hypervisor each) one
// MADV_POPULATE_READ costs less than the hundred-odd faults it saves. The
// pages are page cache shared by every husk process, so no memory is added;
// a kernel before 5.14 refuses the advice, and the faults happen as before.
static int map_segment(struct dl_phdr_info *info, size_t size, void *data)
{
	const ElfW(Phdr) *ph;
	unsigned long lo, hi;
	int i;

	(void)size;
	(void)data;
	for (i = 0; i < info->dlpi_phnum; i++) {
		ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W))
			continue;
		lo = (info->dlpi_addr + ph->p_vaddr) & ~4095UL;
		hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		madvise((void *)lo, hi - lo, MADV_POPULATE_READ);
	}
	return 1; // the first object is the executable; its libraries (if any) fault as usual
}

// husk_cli is 1 in a process that runs a command line, 0 in a stage.
int husk_cli;

// The CPUs husk may run on, while start-up runs on one (one_cpu).
static cpu_set_t husk_cpus;
static int husk_pinned;

// one_cpu gives a CLI process's start-up a single CPU: the Go runtime sizes
// its scheduler by the CPUs it may use, and with one P it starts no second
// thread to look for work each time start-up makes a goroutine. The P
// count stays one (but for create's, from its stage's spawn on, and a
// foreground command's): husk's commands wait on the kernel, they don't
// compute, and the stages already run with one. The threads, their
// wake-ups and the TLB flushes between two CPUs cost about 1-2 ms of CPU
// per process where they are dear (docs/design.md).
// husk_unpin gives every thread the CPUs back before main. A GOMAXPROCS the
// caller set is left to the runtime.
static void one_cpu(void)
{
	cpu_set_t one;
	int cpu;

	if (getenv("GOMAXPROCS") != NULL || sched_getaffinity(0, sizeof(husk_cpus), &husk_cpus) < 0 ||
	    CPU_COUNT(&husk_cpus) < 2)
		return;
	cpu = sched_getcpu();
	if (cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET(cpu, &husk_cpus))
		return;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one) == 0)
		husk_pinned = 1;
}

// husk_unpin restores the CPUs one_cpu took, on every thread the runtime
// started meanwhile (sysmon among them): a thread inherits its creator's
// CPUs, and so do the processes husk starts from it. It can only fail if
// the cpuset changed under husk to none of those CPUs, and the kernel has
// moved the threads by then: the command goes on, as it would have.
void husk_unpin(void)
{
	DIR *d;
	struct dirent *e;

	if (!husk_pinned)
		return;
	husk_pinned = 0;
	sched_setaffinity(0, sizeof(husk_cpus), &husk_cpus);
	d = opendir("/proc/self/task");
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			sched_setaffinity(atoi(e->d_name), sizeof(husk_cpus), &husk_cpus);
	}
	closedir(d);
}

// The timer slack a CLI process's threads run with (raise_slack), and the
// one its caller gave it, which everything husk starts gets back; 0 while
// husk left its slack as it was.
#define HUSK_CLI_SLACK 1000000UL
unsigned long husk_caller_slack;

// raise_slack gives a CLI process a timer slack of 1 ms before the Go
// runtime starts its first thread, which inherits it. The runtime's sysmon
// thread sleeps 20 us at a time while a goroutine runs or waits in a
// syscall, which is most of a husk command's life: with the default slack
// of 50 us it woke about 10,000 times a second, some 6% of a `run`'s CPU,
// each wake-up taking a core from the container's set-up. With 1 ms the
// kernel may let it sleep that long, and what sysmon does (hand a P that
// waits in a syscall to another thread, preempt a goroutine after 10 ms)
// waits at most that much more (docs/design.md). A process inherits the
// slack of the thread that forked it: husk starts its stages, hooks and
// helpers from a thread set back to the caller's (nsenter.WithCallerSlack).
// A caller's slack of 1 ms or more is left as it is.
static void raise_slack(void)
{
	int caller = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);

	if (caller <= 0 || (unsigned long)caller >= HUSK_CLI_SLACK)
		return;
	if (prctl(PR_SET_TIMERSLACK, HUSK_CLI_SLACK, 0, 0, 0) == 0)
		husk_caller_slack = (unsigned long)caller;
}

// close_unexpected closes every fd from first up: husk passes the stage
// fds 0 to first-1 (stdio, preserved fds, the sync socket, its internal
// files); anything above is an fd its caller leaked to husk without
// close-on-exec, and closing it before any setns keeps it from ever being
// open inside the container (CVE-2016-9962), even for the instant until
// execve. The last fd below first, husk's binary, is closed too: the
// kernel holds the file it exec'd, and the stage needs no handle to it.
static void close_unexpected(int first)
{
	DIR *d;
	struct dirent *e;

	if (syscall(SYS_close_range, (unsigned int)first, ~0U, 0) == 0)
		return;
	// Kernels before 5.9: close what /proc lists.
	d = opendir("/proc/self/fd");
	if (d == NULL)
		bail("list open fds");
	while ((e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name); // 0 for "." and ".."
		if (fd >= first && fd != dirfd(d))
			close(fd);
	}
	closedir(d);
}

static void read_full(char *buf, size_t len)
{
	while (len > 0) {
		ssize_t r = read(syncfd, buf, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			_exit(1); // the parent is gone
		buf += r;
		len -= (size_t)r;
	}
}

static void read_seccomp_program(void);

// read_settings takes the preamble's settings from husk, which sends them
// once it has prepared what they name (the cgroup), while this binary was
// being exec'd: 8 hex digits of length, then NUL-terminated KEY=VALUE
// strings, made environment variables for the code below. A length that
// is not 8 hex digits, or is beyond any real settings (a few paths), is
// refused before anything is allocated or waited for.
#define MAX_SETTINGS (1 << 20)
static void read_settings(void)
{
	char hex[9] = {0}, *buf, *p;
	size_t len = 0, i;

	read_full(hex, 8);
	for (i = 0; i < 8; i++) {
		int c = (unsigned char)hex[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else {
			errno = EINVAL;
			bail("settings length \"%.8s\" is not 8 hex digits", hex);
		}
		len = len * 16 + (size_t)d;
	}
	if (len > MAX_SETTINGS) {
		errno = E2BIG;
		bail("settings of %zu bytes", len);
	}
	buf = malloc(len + 1);
	if (buf == NULL)
		bail("settings of %zu bytes", len);
	read_full(buf, len);
	buf[len] = '\0';
	for (p = buf; p < buf + len; p += strlen(p) + 1) {
		char *eq = strchr(p, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		if (setenv(p, eq + 1, 1) < 0)
			bail("setenv %s", p);
	}
	free(buf);
	read_seccomp_program();
}

// The exec's seccomp program, when its settings have one: husk sends the
// struct sock_filter array in binary right after the settings, its size in
// bytes as _HUSK_EXEC_SECCOMP. It is read here, before anything else is
// read from the socket (the setup handshake's ack), and loaded by the
// final process (execproc.c).
unsigned char *seccomp_program;
size_t seccomp_program_len;

#define MAX_SECCOMP_PROGRAM (4096 * 8) // BPF_MAXINSNS instructions of 8 bytes
static void read_seccomp_program(void)
{
	const char *v = getenv("_HUSK_EXEC_SECCOMP");
	char *end;
	unsigned long n;

	if (v == NULL)
		return;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *v == '\0' || *end != '\0' || n == 0 || n % 8 != 0 || n > MAX_SECCOMP_PROGRAM) {
		errno = EINVAL;
		bail("malformed setting _HUSK_EXEC_SECCOMP");
	}
	seccomp_program = malloc(n);
	if (seccomp_program == NULL)
		bail("seccomp program of %lu bytes", n);
	read_full((char *)seccomp_program, n);
	seccomp_program_len = n;
}

static void wait_ack(void)
{
	char line[256];
	size_t n = 0;

	for (;;) {
		char c;
		ssize_t r = read(syncfd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			_exit(1); // the parent is gone; nobody to report to
		if (c == '\n')
			break;
		if (n < sizeof(line) - 1)
			line[n++] = c;
	}
	line[n] = '\0';
	if (strstr(line, "\"ack\"") == NULL)
		_exit(1); // the parent aborted the setup and logs why itself
}

static unsigned long env_ulong(const char *name)
{
	const char *v = getenv(name);
	return v ? strtoul(v, NULL, 0) : 0;
}

#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

// write_file writes data to path; a path under /proc must be on procfs, so
// a fake /proc (a joined mount namespace's) can't swallow the write.
static void write_file(const char *path, const char *data)
{
	struct statfs st;
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		bail("open %s", path);
	if (strncmp(path, "/proc/", 6) == 0 && (fstatfs(fd, &st) < 0 || st.f_type != PROC_SUPER_MAGIC))
		bail("%s is not on procfs", path);
	if (write(fd, data, strlen(data)) < 0)
		bail("write %s", path);
	close(fd);
}

// join_cgroups moves this (single-threaded) process into the container's
// cgroup v1 hierarchies by writing "0" to each "tasks" file: a thread
// moving itself skips the kernel's global threadgroup lock and its RCU
// grace period. It also opens the v2 dir for fork_child. It runs first, as
// root of the host, before any setns, so no path resolves in the container.
static void join_cgroups(void)
{
	char *dirs = getenv("_HUSK_CGROUP_V1"), *dir, *save = NULL;
	char path[4096];

	for (dir = dirs ? strtok_r(dirs, "\n", &save) : NULL; dir; dir = strtok_r(NULL, "\n", &save)) {
		if ((size_t)snprintf(path, sizeof(path), "%s/tasks", dir) >= sizeof(path))
			bail("cgroup path too long: %s", dir);
		write_file(path, "0");
	}
	if (getenv("_HUSK_CGROUP_V2")) {
		cgroup2fd = open(getenv("_HUSK_CGROUP_V2"), O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (cgroup2fd < 0)
			bail("open cgroup %s", getenv("_HUSK_CGROUP_V2"));
	}
	if (getenv("_HUSK_OOM_SCORE_ADJ"))
		write_file("/proc/self/oom_score_adj", getenv("_HUSK_OOM_SCORE_ADJ"));
}

// join_cgroup2 moves the calling process into the cgroup v2 dir
// cgroup2fd by writing "0" to its cgroup.procs.
static void join_cgroup2(void)
{
	int fd = openat(cgroup2fd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		bail("open cgroup %s", getenv("_HUSK_CGROUP_V2"));
	if (write(fd, "0", 1) < 0)
		bail("join cgroup %s", getenv("_HUSK_CGROUP_V2"));
	close(fd);
}

// fork_child forks the container's process as husk's child (CLONE_PARENT),
// straight into its cgroup v2 when husk gave one.
static pid_t fork_child(void)
{
	// With CLONE_PARENT the child inherits our exit signal (SIGCHLD);
	// clone3 refuses an explicit one.
	struct husk_clone_args args = {.flags = CLONE_PARENT};
	long child;

	if (cgroup2fd < 0)
		return (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
	args.flags |= CLONE_INTO_CGROUP;
	args.cgroup = (unsigned long long)cgroup2fd;
	child = syscall(SYS_clone3, &args, sizeof(args));
	if (child < 0 && (errno == ENOSYS || errno == E2BIG)) {
		// No clone3 (before Linux 5.3), or none that knows the cgroup
		// field (before 5.7; E2BIG for a struct larger than it knows):
		// a plain clone, and the child moves itself, before it does
		// anything else (the cgroup namespace comes after this).
		child = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
		if (child == 0)
			join_cgroup2();
	}
	if (child < 0)
		bail("clone3 into cgroup %s", getenv("_HUSK_CGROUP_V2"));
	close(cgroup2fd); // in both processes: no host cgroupfs handle may reach the container
	return (pid_t)child;
}

struct nsjoin {
	const char *env;
	int type;
	int fd;
};

// join_pass setns()es into the still open namespaces of ns whose type is
// (user) or is not (!user) CLONE_NEWUSER, leaving those refused with EPERM
// open for a later pass.
static void join_pass(struct nsjoin *ns, size_t count, int user)
{
	size_t i;

	for (i = 0; i < count; i++) {
		if (ns[i].fd < 0 || (ns[i].type == CLONE_NEWUSER) != user)
			continue;
		if (setns(ns[i].fd, ns[i].type) < 0) {
			if (errno == EPERM)
				continue;
			bail("setns %s", getenv(ns[i].env));
		}
		close(ns[i].fd);
		ns[i].fd = -1;
	}
}

// join_paths enters namespaces given by path (linux.namespaces[].path). All
// paths are opened before any setns so that joining the mount namespace
// does not change how the later paths resolve. As runc 1.5 (and nsenter(1))
// it joins in three passes: the other namespaces while still root of the
// host (a namespace owned by another user namespace than the one joined,
// such as the host's network namespace, can only be joined then), the user
// namespace, then what the first pass could not join, which needs the
// capabilities of the joined user namespace (a rootless husk).
static void join_paths(void)
{
	struct nsjoin ns[] = {
		{"_HUSK_NS_USER", CLONE_NEWUSER, -1}, {"_HUSK_NS_IPC", CLONE_NEWIPC, -1},
		{"_HUSK_NS_UTS", CLONE_NEWUTS, -1},   {"_HUSK_NS_NET", CLONE_NEWNET, -1},
		{"_HUSK_NS_PID", CLONE_NEWPID, -1},   {"_HUSK_NS_CGROUP", CLONE_NEWCGROUP, -1},
		{"_HUSK_NS_TIME", CLONE_NEWTIME, -1}, {"_HUSK_NS_MNT", CLONE_NEWNS, -1},
	};
	size_t i, count = sizeof(ns) / sizeof(ns[0]);

	for (i = 0; i < count; i++) {
		const char *path = getenv(ns[i].env);
		if (path == NULL)
			continue;
		ns[i].fd = open(path, O_RDONLY | O_CLOEXEC);
		if (ns[i].fd < 0)
			bail("open namespace %s", path);
	}
	join_pass(ns, count, 0);
	join_pass(ns, count, 1);
	join_pass(ns, count, 0);
	for (i = 0; i < count; i++) {
		if (ns[i].fd >= 0) {
			errno = EPERM;
			bail("setns %s", getenv(ns[i].env));
		}
	}
}

// glibc calls constructors with main's arguments.
__attribute__((constructor)) static void husk_nsenter(int argc, char **argv)
{
	const char *fd = getenv("_HUSK_SYNCFD");
	unsigned long flags, joinflags;
	char buf[64];
	pid_t child;
	int n;

	// glibc gives each thread that first calls malloc or free an arena of
	// its own, a 64 MB reservation with its first pages written: every
	// thread the Go runtime starts does (cgo's threadentry frees its
	// start-up record), seven in a `run`'s CLI, and husk's C needs no more
	// than one arena. Those cost 1.3-1.6 ms of a `run` (docs/design.md).
	mallopt(M_ARENA_MAX, 1);
	if (fd == NULL) {
		if (fast_command(argc, argv) && command_error == NULL)
			_exit(command_exit);
		husk_cli = 1;
		dl_iterate_phdr(map_segment, NULL);
		one_cpu();
		raise_slack();
		return;
	}
	syncfd = atoi(fd);
	nondumpable();
	if (env_ulong("_HUSK_NFDS") <= (unsigned long)syncfd)
		bail("_HUSK_NFDS unset");
	close_unexpected((int)env_ulong("_HUSK_NFDS"));
	read_settings();
	join_cgroups();
	flags = env_ulong("_HUSK_CLONEFLAGS");
	joinflags = env_ulong("_HUSK_JOIN_FLAGS");

	// exec: enter every namespace of the container's init at once through
	// its pidfd, which the parent verified, so a recycled pid can't misdirect us.
	// All but the cgroup namespace: with cgroup2 mounted nsdelegate (as
	// systemd mounts it) the kernel refuses (ENOENT) a clone3 into a cgroup
	// from outside the caller's cgroup namespace, and we are outside the
	// container's cgroup until that clone; the child joins it after the fork.
	if ((joinflags & ~(unsigned long)CLONE_NEWCGROUP) != 0 &&
	    setns((int)env_ulong("_HUSK_JOIN_PIDFD"), (int)(joinflags & ~(unsigned long)CLONE_NEWCGROUP)) < 0)
		bail("setns into the container's namespaces");
	join_paths();

	if ((flags & CLONE_NEWUSER) && unshare(CLONE_NEWUSER) < 0)
		bail("unshare user namespace");
	nondumpable(); // entering a user namespace changed our credentials

	// husk asks for a handshake when it has work to do on this process
	// before it may go on: id maps to write, or (exec) the cgroup to join.
	if (getenv("_HUSK_SETUP") != NULL) {
		// An unprivileged husk writes our id maps (or has newuidmap
		// write them): it can only while we are dumpable, our /proc
		// files otherwise being the host root's. Nothing of the
		// container's runs yet, and we are in the host's PID namespace.
		int dump = getenv("_HUSK_SETUP_DUMPABLE") != NULL;
		if (dump && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
			bail("make the process dumpable for its id maps");
		write_all("{\"type\":\"setup\"}\n", 17);
		wait_ack();
		if (dump)
			nondumpable();
	}

	if ((flags & CLONE_NEWUSER) || getenv("_HUSK_NS_USER") || (joinflags & CLONE_NEWUSER)) {
		// Become root of the user namespace; the Go stage switches to
		// process.user later.
		if (setresgid(0, 0, 0) < 0)
			bail("setresgid to the namespace's root");
		if (setresuid(0, 0, 0) < 0)
			bail("setresuid to the namespace's root");
		nondumpable();
	}

	// The cgroup namespace comes after the fork: only then is the process
	// in all its cgroups (v2 at clone3), which become the namespace's root.
	if (unshare((int)(flags & ~(unsigned long)(CLONE_NEWUSER | CLONE_NEWCGROUP))) < 0)
		bail("unshare namespaces 0x%lx", flags);

	// Clock offsets of a new time namespace must be set before its first
	// process, the child below, exists.
	// A non-dumpable process's /proc/self files belong to the host's root,
	// which the root of a user namespace may not write: be dumpable for
	// that one write. This is create's preamble; this process is still in
	// the host's PID namespace (only its child enters the container's), so
	// no container process can even name it, unless the container shares
	// the host's PID namespace.
	if ((flags & CLONE_NEWTIME) && getenv("_HUSK_TIMENS_OFFSETS")) {
		if (((flags & CLONE_NEWUSER) || getenv("_HUSK_NS_USER")) && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
			bail("make the process dumpable to set clock offsets");
		write_file("/proc/self/timens_offsets", getenv("_HUSK_TIMENS_OFFSETS"));
		nondumpable();
	}

	// A fork is needed to enter a new or joined PID or time namespace;
	// CLONE_PARENT makes the final process husk's own child, so `run` and
	// `exec` can wait for it and clients' subreapers inherit it directly.
	child = fork_child();
	if (child < 0)
		bail("clone init process");
	if (child == 0) {
		if ((flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0)
			bail("unshare cgroup namespace");
		if ((joinflags & CLONE_NEWCGROUP) && setns((int)env_ulong("_HUSK_JOIN_PIDFD"), CLONE_NEWCGROUP) < 0)
			bail("setns into the container's cgroup namespace");
		if (joinflags != 0)
			close((int)env_ulong("_HUSK_JOIN_PIDFD")); // it names a process of the host's PID namespace
		init_container(); // a C init's rootfs, when husk asked for one
		exec_process();   // an exec stage's process, or a C init's, when husk asked for it here
		// A fork copies no page tables of file mappings: map them here,
		// in the process that goes on into Go, not in the intermediate.
		dl_iterate_phdr(map_segment, NULL);
		return; // on into Go, as the container's process
	}

	n = snprintf(buf, sizeof(buf), "{\"type\":\"pid\",\"pid\":%d}\n", child);
	write_all(buf, (size_t)n);
	_exit(0);
}
