// What nsenter.c shares with execproc.c and lifecycle.c.
#ifndef HUSK_NSENTER_H
#define HUSK_NSENTER_H

#include <stddef.h>

// The new mount API, spelled out so the preamble does not depend on the
// installed kernel headers.
#ifndef SYS_fsopen
#define SYS_fsopen 430
#define SYS_fsconfig 431
#define SYS_fsmount 432
#endif
#define HUSK_FSOPEN_CLOEXEC 1
#define HUSK_FSCONFIG_SET_STRING 1
#define HUSK_FSCONFIG_CMD_CREATE 6
#define HUSK_FSMOUNT_CLOEXEC 1
#define HUSK_MOUNT_ATTR_RDONLY 0x1
#define HUSK_MOUNT_ATTR_NOSUID 0x2
#define HUSK_MOUNT_ATTR_NODEV 0x4
#define HUSK_MOUNT_ATTR_NOEXEC 0x8

// The stage's end of the sync socket.
extern int syncfd;

// send_msg sends {"type":TYPE,"msg":MSG} on the sync socket, MSG escaped
// for JSON.
void send_msg(const char *type, const char *msg);
// bail sends the formatted message and ": " with errno's text as an error
// and exits.
void bail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
// errstr is errno e's text as Go spells it (lower case first letter), so
// that a message reads the same from the C and the Go side of a stage.
const char *errstr(int e, char *buf, size_t len);
void nondumpable(void);

// setting_list splits setting name, length-prefixed items ("5:hello3:foo"),
// into a NULL-terminated array, and their number into *count if count is
// not NULL.
char **setting_list(const char *name, size_t *count);

// The exec's seccomp program in binary, as husk sent it after the settings
// (read_settings), or NULL.
extern unsigned char *seccomp_program;
extern size_t seccomp_program_len;

// exec_process sets up the exec stage's process from its settings and execs
// it; it returns only if no _HUSK_EXEC_* settings ask it to.
void exec_process(void);
// init_container is a C init's work before its process's setup
// (initproc.c); it returns at once unless husk asked for a C init.
void init_container(void);
// await_start is a C init's wait for start, before its execve.
void await_start(void);
// send_ready reports the process ready; nothing reads the sync socket after
// that, and bail writes to stderr instead.
void send_ready(void);

// fast_command does a plain `husk start`, `delete`, `exec`, `kill` or
// `state` of the command line argc, argv when it can (lifecycle.c): 0 if
// it left everything to Go, 1 if it did the command, with command_error
// set if it failed past its point of no return.
int fast_command(int argc, char **argv);
// delete_stopped is fast_command's `husk --root root delete --force id`,
// for a foreground run whose container has stopped (nsenter.DeleteStopped).
int delete_stopped(const char *root, const char *id);
extern char *command_error;
// command_exit is the exit code of a command fast_command did.
extern int command_exit;

#endif
