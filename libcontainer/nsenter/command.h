// What lifecycle.c, which reads a CLI command line and a container's
// state, shares with execcmd.c.
#ifndef HUSK_COMMAND_H
#define HUSK_COMMAND_H

#define STATE_VERSION 2 // libcontainer's stateVersion
#define MAX_CGROUPS 32

enum command { START = 1, DELETE, EXEC };

struct cmdline {
	enum command cmd;
	const char *root, *id;
	int force; // delete --force
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

struct state {
	long long version, pid, pid_start;
	int creating, spec, poststart, poststop;
	// What only Go's delete handles.
	int systemd_unit, shared;
	// cgroup_paths' values; odd if more than MAX_CGROUPS or escaped.
	int cgroups, odd;
	char *cgroup[MAX_CGROUPS];
};

// alive is libcontainer's alive: pid runs, started at start, and is no
// zombie.
int alive(long long pid, long long start);

// exec_command is `husk exec` of a running container (execcmd.c): 0 if it
// left everything to Go, 1 if it ran the process.
int exec_command(const struct cmdline *c, int dirfd, const struct state *st);

#endif
