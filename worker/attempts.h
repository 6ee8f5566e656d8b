/* attempts: the attempts a worker holds, from assignment to uploaded logs.
 *
 * Attempt lifecycle in memory (mirrors the spool):
 *   running   shim alive, no status; "started" re-sent until acknowledged
 *   finished  status in the spool; "finished" re-sent until acknowledged,
 *             then acked_finished is written and, when the scheduler
 *             accepted it, the logs are uploaded (logupload.h)
 *   uploading until logs_uploaded, then the attempt is dropped
 * A started report is never sent once the attempt has finished: the finished
 * report supersedes it. A refused assignment is held in memory only (it has
 * no spool folder) until its report is acknowledged.
 *
 * The table sends through a callback of its owner (the agent), and only
 * while "online" (registered): offline, reports and uploads wait. */
#ifndef MLQ_ATTEMPTS_H
#define MLQ_ATTEMPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "proto.h"
#include "spool.h"

/* Sends a request to the scheduler (the callee sets its rid). */
typedef void (*mlq_attempts_send_fn)(void *ctx, struct mlq_msg *m);

struct mlq_attempts_config {
    struct mlq_spool *spool; /* borrowed: must outlive the table */
    const char *shim_path;   /* borrowed */
    int32_t gpus;            /* GPU indices 0..gpus-1 exist here */
    int64_t log_cap;         /* > 0: bytes of each stream uploaded */
    int32_t max_attempts;    /* attempts run at once; 0: MLQ_MAX_WORKER_ATTEMPTS */
    mlq_attempts_send_fn send;
    void *ctx;
};

struct mlq_attempts;

/* Loads the attempts held in the spool (mlq_spool_scan). Caller owns *out. */
int mlq_attempts_create(const struct mlq_attempts_config *cfg, struct mlq_attempts **out,
                        struct mlq_err *err);
/* Running jobs keep running under their shims. Accepts NULL; nulls *t. */
void mlq_attempts_destroy(struct mlq_attempts **t);

/* Going online re-sends every pending report and unanswered log chunk. */
void mlq_attempts_set_online(struct mlq_attempts *t, bool online, int64_t now);

/* Handle one message from the scheduler. Every assignment is answered: it
 * is refused (outcome refused with a detail) when refuse_why is not NULL,
 * when MLQ_MAX_WORKER_ATTEMPTS attempts run here already, or when its
 * folder cannot be made; a repeated assignment re-sends the attempt's
 * report. A repeated KILL of an attempt being killed does nothing. */
void mlq_attempts_assign(struct mlq_attempts *t, const struct mlq_msg *m, const char *refuse_why);
/* Makes the attempts started since the last call durable together (their
 * folders are created without fsync so that their shims start at once),
 * then reports them started; one that cannot be made durable ends as lost.
 * Called once the messages at hand are handled. */
void mlq_attempts_sync_started(struct mlq_attempts *t);
void mlq_attempts_kill(struct mlq_attempts *t, const struct mlq_msg *m);
void mlq_attempts_report_ack(struct mlq_attempts *t, const struct mlq_msg *m);
void mlq_attempts_upload_ack(struct mlq_attempts *t, const struct mlq_msg *m);

/* Looks for attempts that finished (from tick: shims that are not the
 * worker's children, adopted ones, end without a SIGCHLD). */
void mlq_attempts_watch(struct mlq_attempts *t);
/* The worker reaped child pid (after SIGCHLD): when it is an attempt's
 * shim, looks at that attempt only, which has just written its status. */
void mlq_attempts_reaped(struct mlq_attempts *t, pid_t pid);
/* Periodic work: watch, report re-sends, log chunks due. */
void mlq_attempts_tick(struct mlq_attempts *t, int64_t now);

/* Self-fencing: ends every running attempt not fenced yet, recording outcome
 * lost with "self-fenced: no contact with the scheduler for N s". */
void mlq_attempts_fence(struct mlq_attempts *t, int64_t silent_ms);
/* True when some attempt still runs and is not being fenced. */
bool mlq_attempts_running_unfenced(const struct mlq_attempts *t);

/* Keeps one shim started ahead of need (exec.h), so that an assignment
 * does not wait for a shim to be executed and linked: one is started when
 * the worker starts and again shortly after each assignment, and kept
 * however long the worker stays idle (the first job after a pause starts
 * as fast as the next one of a busy run). Returns the monotonic ms when to
 * call again; INT64_MAX when not before the next assignment. */
int64_t mlq_attempts_standby(struct mlq_attempts *t, int64_t now);

/* Attempts held: running, finished and not acknowledged, or uploading. */
size_t mlq_attempts_count(const struct mlq_attempts *t);
/* The attempts to name in "register" (not those uploading), into a malloc'd
 * array the caller frees. */
int mlq_attempts_held(const struct mlq_attempts *t, struct mlq_held_attempt **out, uint32_t *n,
                      struct mlq_err *err);

#endif
