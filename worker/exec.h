/* exec: how the worker starts a shim and signals it.
 *
 * The worker is multi-threaded (ZeroMQ's I/O threads) and starts shims with
 * posix_spawn: the child shares the worker's memory until its exec (no fork
 * of the daemon, no copy of its page tables) and the worker waits for that
 * exec only, not for the shim's start-up. The shim gets no file
 * descriptor of the worker's besides /dev/null on 0 and 1 and the worker's
 * own stderr on 2 (the shim's messages and sanitizer reports go to the
 * worker's log). */
#ifndef MLQ_EXEC_H
#define MLQ_EXEC_H

#include "err.h"
#include "spool.h"

/* Starts `shim_path attempt_dir`. On success fills *out with the shim's pid,
 * start time and wall clock start. Fails (MLQ_EIO, with the reason) when the
 * fork fails or the shim cannot be executed; nothing is left running then.
 * The caller reaps the shim later (waitpid). */
int mlq_exec_start_shim(const char *shim_path, const char *attempt_dir, struct mlq_shim_id *out,
                        struct mlq_err *err);

/* A shim started ahead of need: loaded and waiting (mlq-shim --standby) for
 * the worker to name attempt folders, one shim forked for each
 * (shimzygote.h), so that starting a job costs no exec or dynamic linking
 * of the shim. It runs nothing before it is named a folder, which the
 * worker does only once the folder exists under its final name; it exits
 * when the worker closes its end (worker exit, including SIGKILL); the
 * shims it forked live on. */
struct mlq_exec_standby {
    struct mlq_shim_id id; /* pid 0 when none */
    int fd;                /* the worker's end of its socket; -1 when none */
};
#define MLQ_EXEC_STANDBY_NONE                                                                      \
    {                                                                                              \
        .id = {0}, .fd = -1                                                                        \
    }

/* Starts a standby shim for the attempts folder attempts_dir (stopping the
 * one in *sb, if any). The shims it forks are the worker's children
 * (SIGCHLD, waitpid), like the shims the worker starts itself. */
int mlq_exec_standby_start(const char *shim_path, const char *attempts_dir,
                           struct mlq_exec_standby *sb, struct mlq_err *err);
/* Hands attempt_dir to the standby shim, which forks a shim that does what
 * `mlq-shim attempt_dir` does; *out is that shim's identity, with start_ms
 * now. The standby stays for the next folder. MLQ_ENOTFOUND when there is
 * none, it is gone or it could not fork (it is sent away then): start one
 * with mlq_exec_start_shim instead. */
int mlq_exec_standby_take(struct mlq_exec_standby *sb, const char *attempt_dir,
                          struct mlq_shim_id *out, struct mlq_err *err);
/* Sends the standby away (it exits; the caller's SIGCHLD handling reaps
 * it). Accepts an empty one. */
void mlq_exec_standby_stop(struct mlq_exec_standby *sb);

/* Sends sig to the shim when it is still the same process (pid and start
 * time match). MLQ_ENOTFOUND when it is gone. */
int mlq_exec_signal(const struct mlq_shim_id *id, int sig, struct mlq_err *err);

/* Default shim path: mlq-shim next to the running executable. Caller frees;
 * NULL when /proc/self/exe cannot be read. */
char *mlq_exec_default_shim(void);

#endif
