/* jobend: the part of jobops (see jobops.h) that ends attempts: a worker's
 * report of how a run ended (the attempt's outcome, the job's retry or
 * end), the late outcome of a lost attempt, and an attempt lost with its
 * worker. jobops.c's invariants hold here too. */
#include "jobops.h"
#include "jobops_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gang.h"
#include "health.h"
#include "log.h"
#include "preemptrun.h"
#include "queue.h"

/* "timed out; exited 143 after SIGTERM" (the job handled the signal and
 * ended by itself) or "timed out; killed by SIGKILL". */
static void timed_out_reason(const struct mlq_msg *rep, char *buf, size_t len)
{
    int sig = rep->u.report.signal;
    const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;
    char name[32];
    if (abbrev)
        snprintf(name, sizeof name, "SIG%s", abbrev);
    else
        snprintf(name, sizeof name, "signal %d", sig);
    if (rep->u.report.exit_code >= 0 && sig > 0)
        snprintf(buf, len, "timed out; exited %d after %s", rep->u.report.exit_code, name);
    else if (rep->u.report.exit_code >= 0)
        snprintf(buf, len, "timed out; exited %d", rep->u.report.exit_code);
    else
        snprintf(buf, len, "timed out; killed by %s", name);
}

/* Human reason for an attempt that did not succeed. */
static void failure_reason(const struct mlq_job *job, const struct mlq_msg *rep, char *buf,
                           size_t len)
{
    const char *d = rep->u.report.detail ? rep->u.report.detail : "";
    if (job->row.spec.nodes > 0 && d[0]) { /* names the node that ended the gang */
        snprintf(buf, len, "%s", d);
        return;
    }
    switch (rep->u.report.outcome) {
    case MLQ_OUT_EXITED:
        snprintf(buf, len, "exited with code %d%s%s", rep->u.report.exit_code, *d ? ": " : "", d);
        break;
    case MLQ_OUT_SIGNALED:
        /* the shim names a known cause ("out of memory (limit 64M, peak
         * 64M)") rather than the bare signal */
        if (*d)
            snprintf(buf, len, "%s", d);
        else
            snprintf(buf, len, "killed by signal %d", rep->u.report.signal);
        break;
    case MLQ_OUT_TIMED_OUT:
        timed_out_reason(rep, buf, len);
        break;
    case MLQ_OUT_START_FAILED:
        snprintf(buf, len, "could not start: %s", d);
        break;
    default:
        snprintf(buf, len, "lost on its worker: %s", d);
        break;
    }
}

static enum mlq_attempt_state outcome_state(const struct mlq_msg *rep)
{
    switch (rep->u.report.outcome) {
    case MLQ_OUT_EXITED:
        return rep->u.report.exit_code == 0 ? MLQ_ATT_SUCCEEDED : MLQ_ATT_FAILED;
    case MLQ_OUT_TIMED_OUT:
        return MLQ_ATT_TIMED_OUT;
    case MLQ_OUT_LOST:
    case MLQ_OUT_REFUSED:
        return MLQ_ATT_LOST;
    default:
        return MLQ_ATT_FAILED;
    }
}

/* When the run ended: the worker's own clock, read once by the shim when it
 * recorded the status, so that a job that ended while the scheduler was
 * down is not charged for the outage (run time, accounting, fair share).
 * Clamped to [the attempt's start, now]: a worker clock that runs ahead or
 * behind can neither end a run in the future nor before it began. */
static int64_t reported_end(const struct mlq_ctx *c, const struct mlq_job *job,
                            const struct mlq_msg *rep)
{
    int64_t end = rep->u.report.end_ms;
    if (end <= 0 || end > c->now_wall)
        return c->now_wall;
    return end < job->att->start_ms ? job->att->start_ms : end;
}

/* Copies the report's outcome into the live attempt and persists it. */
static int record_outcome(struct mlq_ctx *c, struct mlq_job *job, const struct mlq_msg *rep,
                          struct mlq_err *err)
{
    enum mlq_attempt_state prev = job->att->state;
    job->att->state = outcome_state(rep);
    if (job->row.state == MLQ_JOB_CANCELLED)
        job->att->state = MLQ_ATT_CANCELLED;
    else if (mlq_preempt_ended(job, rep))
        job->att->state = MLQ_ATT_PREEMPTED;
    if (!job->att->start_ms) /* no "started" report was processed */
        job->att->start_ms = rep->u.report.start_ms;
    if (!job->row.start_ms)
        job->row.start_ms = job->att->start_ms;
    job->att->end_ms = reported_end(c, job, rep);
    c->ending = job;
    c->ending_ms = job->att->end_ms;
    /* A job that exited by itself after mlq's SIGTERM (time limit, cancel)
     * keeps both: its exit code and the signal it was sent. */
    enum mlq_outcome out = rep->u.report.outcome;
    bool ran = out == MLQ_OUT_EXITED || out == MLQ_OUT_SIGNALED || out == MLQ_OUT_TIMED_OUT;
    job->att->exit_code =
        out == MLQ_OUT_EXITED || out == MLQ_OUT_TIMED_OUT ? rep->u.report.exit_code : -1;
    job->att->signal = ran ? rep->u.report.signal : 0;
    free(job->att->detail);
    job->att->detail = rep->u.report.detail ? strdup(rep->u.report.detail) : NULL;
    job->att->usage = rep->u.report.usage;
    job->row.exit_code = job->att->exit_code;
    job->row.signal = job->att->signal;
    /* a job not yet ended moves on (done, retried or failed) */
    return mlq_jobops_save_attempt(c, job, job->att, (int)prev,
                                   !mlq_job_state_terminal(job->row.state), err);
}

/* Delay before retry number k (1-based): the job's backoff doubled each
 * time, capped, with +-20 % jitter so that a failing array does not come
 * back all at once. The jitter is derived from the last attempt id: random across
 * jobs, yet reproducible. */
static int64_t retry_delay(const struct mlq_job *job, int k)
{
    int64_t d = job->row.spec.retry_backoff_ms > 0 ? job->row.spec.retry_backoff_ms
                                                   : MLQ_DEFAULT_BACKOFF_MS;
    for (int i = 1; i < k && d < MLQ_MAX_BACKOFF_MS; i++)
        d *= 2;
    if (d > MLQ_MAX_BACKOFF_MS)
        d = MLQ_MAX_BACKOFF_MS;
    unsigned h = 2166136261u;
    char att[MLQ_ID_LEN + 1];
    mlq_store_job_cur_att(&job->row, att);
    for (const char *p = att; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    int64_t permille = (int64_t)(h % 401) - 200; /* -200..200 */
    return d + d * permille / 1000;
}

/* Ends a failed attempt's job: back to the queue after a backoff while
 * retries are left, else FAILED or TIMED_OUT. */
static int fail_or_retry(struct mlq_ctx *c, struct mlq_job *job, const struct mlq_msg *rep,
                         struct mlq_err *err)
{
    char why[192], reason[256];
    failure_reason(job, rep, why, sizeof why);
    int failed_runs = job->row.attempts - job->row.node_failures - job->row.spec.preemptions;
    bool timed_out = rep->u.report.outcome == MLQ_OUT_TIMED_OUT;
    /* A command or working directory that is not there will not appear by
     * itself: such a start failure ends the job without using a retry. */
    bool hopeless = rep->u.report.outcome == MLQ_OUT_START_FAILED && rep->u.report.no_retry;
    enum mlq_fsm_action act;
    if (failed_runs > job->row.spec.retries || hopeless)
        return mlq_jobops_transition(c, job, timed_out ? MLQ_EV_TIMEOUT : MLQ_EV_EXIT_FAIL, why,
                                     &act, err);
    int64_t delay = retry_delay(job, failed_runs);
    job->row.not_before_ms = c->now_wall + delay;
    time_t at = (time_t)(job->row.not_before_ms / 1000);
    struct tm tm;
    char hms[16];
    localtime_r(&at, &tm);
    strftime(hms, sizeof hms, "%H:%M:%S", &tm);
    snprintf(reason, sizeof reason, "retry %d/%d at %s (%s)", failed_runs, job->row.spec.retries,
             hms, why);
    int rc = mlq_jobops_transition(c, job, MLQ_EV_RETRY, reason, &act, err);
    return rc < 0 ? rc : mlq_jobops_enqueue(c, job, err);
}

int mlq_jobops_finished(struct mlq_ctx *c, struct mlq_job *job, const struct mlq_msg *rep,
                        struct mlq_err *err)
{
    enum mlq_outcome out = rep->u.report.outcome;
    if (out == MLQ_OUT_LOST || out == MLQ_OUT_REFUSED) {
        char why[256];
        const char *detail = rep->u.report.detail ? rep->u.report.detail : "no detail";
        snprintf(why, sizeof why, "%s on worker %s: %s", out == MLQ_OUT_LOST ? "lost" : "refused",
                 job->att->worker, detail);
        if (out == MLQ_OUT_LOST) /* reported: nothing of it is left */
            return mlq_jobops_lose_attempt(c, job, why, MLQ_LOSE_NODE_FAULT, err);
        /* The worker's fault, not the job's: counted against the worker. */
        struct mlq_worker *w = mlq_workers_at(c->workers, mlq_job_run(job)->widx);
        int rc = w ? mlq_health_refused(c, w, detail, err) : 0;
        return rc < 0 ? rc : mlq_jobops_lose_attempt(c, job, why, 0, err);
    }
    bool preempted = mlq_preempt_ended(job, rep);
    int rc = record_outcome(c, job, rep, err);
    /* Ended otherwise (its time limit, an exit 0 before the signal): the
     * note must not make a later attempt look preempted. */
    if (rc == 0 && !preempted && job->row.spec.preempt_note)
        rc = mlq_preempt_clear(c, job, "preempt_end", "the attempt ended by itself", err);
    if (rc < 0) {
        c->ending = NULL;
        return rc;
    }
    mlq_jobops_release_attempt(c, job, false);
    enum mlq_fsm_action act;
    if (mlq_job_state_terminal(job->row.state))
        rc = mlq_jobops_persist(c, job, job->row.state, err);
    else if (preempted)
        rc = mlq_preempt_requeue(c, job, err);
    else if (out == MLQ_OUT_EXITED && rep->u.report.exit_code == 0)
        rc = mlq_jobops_transition(c, job, MLQ_EV_EXIT_OK, NULL, &act, err);
    else
        rc = fail_or_retry(c, job, rep, err);
    c->ending = NULL; /* a later end (a retry, a cancel) is its own */
    if (rc == 0) {
        mlq_info("job %.8s %s", job->row.id, mlq_job_state_name(job->row.state));
        mlq_jobops_forget_if_done(c, job);
    }
    return rc;
}

/* A report saying what the job's process really did (not lost, refused, or
 * a start failure, after which nothing ran). */
static bool ran_for_real(const struct mlq_msg *rep)
{
    enum mlq_outcome o = rep->u.report.outcome;
    return rep->u.report.phase == MLQ_PHASE_FINISHED &&
           (o == MLQ_OUT_EXITED || o == MLQ_OUT_SIGNALED || o == MLQ_OUT_TIMED_OUT);
}

/* The job whose LOST attempt a is, when nothing has started since: still
 * PENDING in the queue, with a as its latest attempt. */
static struct mlq_job *waiting_after_loss(struct mlq_ctx *c, const struct mlq_worker *w,
                                          const struct mlq_store_attempt *a)
{
    struct mlq_job *job = mlq_jobtab_get(c->jobs, a->job_id);
    if (a->state != MLQ_ATT_LOST || strcmp(a->worker, w->name) != 0 || !job || job->live ||
        job->held || job->row.state != MLQ_JOB_PENDING || !mlq_idbin_is(&job->row.cur_att, a->id))
        return NULL;
    return job;
}

/* The run ended on its own only if it ended before the scheduler declared
 * it lost: from then on the scheduler may have had it killed (a KILL of an
 * attempt no longer current, a refused start report), and such an end is
 * not the job's outcome. The worker's clock is not ours: a run that ended
 * within MLQ_FENCE_MARGIN_MS of the loss, or at a time the worker did not
 * say, is not taken (the job runs again, as without this rule). */
static bool ended_before_loss(const struct mlq_msg *rep, const struct mlq_store_attempt *a)
{
    int64_t end = rep->u.report.end_ms;
    return end > 0 && a->end_ms > 0 && end + MLQ_FENCE_MARGIN_MS <= a->end_ms;
}

/* The rule for the real outcome of a LOST attempt (docs/architecture.md,
 * "Recovery and fencing"): when its job has not started again, the run did
 * happen, once: its outcome is the job's, as if it had come in time (exit 0:
 * SUCCEEDED; a failure counts as a failed run under the retry rules), and
 * the loss no longer counts as a node failure. Anything else about an
 * attempt that is not current changes nothing. */
int mlq_jobops_late_outcome(struct mlq_ctx *c, const struct mlq_worker *w,
                            const struct mlq_msg *rep, bool *taken, struct mlq_err *err)
{
    *taken = false;
    struct mlq_store_attempt a;
    if (!ran_for_real(rep) ||
        mlq_store_attempt_get(c->store, rep->u.report.attempt_id, &a, NULL) < 0)
        return 0;
    struct mlq_job *job = ended_before_loss(rep, &a) ? waiting_after_loss(c, w, &a) : NULL;
    int rc = job ? mlq_jobops_take_late(c, job, &a, rep, err) : 0;
    mlq_store_attempt_free(&a);
    *taken = job && rc == 0;
    return rc;
}

int mlq_jobops_take_late(struct mlq_ctx *c, struct mlq_job *job, const struct mlq_store_attempt *a,
                         const struct mlq_msg *rep, struct mlq_err *err)
{
    int rc = mlq_jobtab_set_attempt(c->jobs, job, a);
    if (rc < 0)
        return mlq_err_set(err, rc, "out of memory");
    mlq_queue_remove(c->queue, job);
    if (job->row.node_failures > 0)
        job->row.node_failures--;
    rc = record_outcome(c, job, rep, err);
    mlq_jobtab_clear_attempt(c->jobs, job); /* its booking went with the loss */
    if (rc < 0) {
        c->ending = NULL;
        return rc;
    }
    enum mlq_fsm_action act;
    if (rep->u.report.outcome == MLQ_OUT_EXITED && rep->u.report.exit_code == 0)
        rc = mlq_jobops_transition(c, job, MLQ_EV_EXIT_OK, NULL, &act, err);
    else
        rc = fail_or_retry(c, job, rep, err);
    c->ending = NULL;
    if (rc < 0)
        return rc;
    mlq_info("job %.8s %s: the outcome of its lost attempt %s came late, and nothing ran since",
             job->row.id, mlq_job_state_name(job->row.state), rep->u.report.attempt_id);
    mlq_jobops_forget_if_done(c, job);
    return 0;
}

/* The old run may still be alive on a worker that was cut off or whose
 * daemon died: its shims end it on their own once the worker's lease is
 * over, and that deadline is never later than now (the worker dates it from
 * when it sent the message we last answered, we from when we heard it).
 * The shim acts within MLQ_FENCE_CHECK_MS of the deadline, sends SIGKILL a
 * kill grace after its SIGTERM, and MLQ_FENCE_MARGIN_MS covers the kill
 * itself and clock-rate differences. See docs/architecture.md, "Recovery
 * and fencing". */
int64_t mlq_jobops_fence_delay(int64_t kill_grace_ms)
{
    return MLQ_FENCE_CHECK_MS + kill_grace_ms + MLQ_FENCE_MARGIN_MS;
}

/* The live attempt is gone with its worker: requeue the job or fail it
 * (how: enum mlq_lose_how). */
int mlq_jobops_lose_attempt(struct mlq_ctx *c, struct mlq_job *job, const char *why, unsigned how,
                            struct mlq_err *err)
{
    enum mlq_attempt_state prev = job->att->state;
    job->att->state = MLQ_ATT_LOST;
    job->att->end_ms = c->now_wall;
    free(job->att->detail);
    job->att->detail = strdup(why);
    int rc = mlq_jobops_save_attempt(c, job, job->att, (int)prev,
                                     !mlq_job_state_terminal(job->row.state), err);
    if (rc < 0)
        return rc;
    mlq_jobops_release_attempt(c, job, how & MLQ_LOSE_LINGER);
    mlq_warn("job %.8s: attempt lost (%s)", job->row.id, why);
    if (job->row.spec.preempt_note && !mlq_job_state_terminal(job->row.state) &&
        (rc = mlq_preempt_clear(c, job, "preempt_lost", why, err)) < 0)
        return rc;
    if (mlq_job_state_terminal(job->row.state)) {
        mlq_jobops_forget_if_done(c, job);
        return 0;
    }
    if (how & MLQ_LOSE_NODE_FAULT)
        job->row.node_failures++;
    bool again = job->row.node_failures < MLQ_MAX_NODE_FAILURES;
    char reason[256];
    if (again)
        snprintf(reason, sizeof reason, "requeued: %s", why);
    else
        snprintf(reason, sizeof reason, "lost its worker %d times (last: %s)",
                 job->row.node_failures, why);
    if (again)
        job->row.not_before_ms = c->now_wall + mlq_jobops_fence_delay(job->row.spec.kill_grace_ms);
    enum mlq_fsm_action act;
    rc = mlq_jobops_transition(c, job, again ? MLQ_EV_LOST : MLQ_EV_LOST_FINAL, reason, &act, err);
    if (rc < 0)
        return rc;
    if (act == MLQ_ACT_REQUEUE && (rc = mlq_jobops_enqueue(c, job, err)) < 0)
        return rc;
    mlq_jobops_forget_if_done(c, job);
    return 0;
}
