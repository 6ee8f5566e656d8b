/* daemon: starting and stopping the daemons of a local cluster, for `mlq up`
 * and `mlq down`. */
#ifndef MLQ_CLI_DAEMON_H
#define MLQ_CLI_DAEMON_H

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

/* Path of the program `name` (e.g. "mlq-scheduler"): the file next to the
 * running mlq executable when it is executable there, else name itself (to
 * be looked up on PATH when started). Caller frees; NULL when out of
 * memory. */
char *mlq_daemon_find(const char *name);

/* Starts argv (argv[0] a path or a name on PATH) detached: its own session,
 * stdin from /dev/null, stdout and stderr appended to logpath. Returns once
 * exec succeeded (an exec failure is reported here, not later). *pid is a
 * child of this process until it exits. */
int mlq_daemon_spawn(char *const argv[], const char *logpath, pid_t *pid, struct mlq_err *err);

/* True when our child pid has exited (it is reaped); *how describes the
 * exit ("exit status 1", "killed by SIGSEGV"). */
bool mlq_daemon_exited(pid_t pid, char *how, size_t len);

/* True when pid is alive and its program name starts with "mlq-": a pid
 * file can outlive its daemon and its pid be reused by something else,
 * which must never be signalled. */
bool mlq_daemon_is_ours(pid_t pid);

/* Sends SIGTERM to each pid, waits up to grace_ms for all of them to end,
 * then SIGKILLs the rest. Children of this process are reaped. Returns how
 * many needed SIGKILL. */
int mlq_daemon_stop(const pid_t *pids, int n, int grace_ms);

#endif
