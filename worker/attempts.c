/* attempts: see attempts.h.
 *
 * Everything known about an attempt is in the spool before it is reported,
 * so a worker killed at any point re-adopts its attempts on start and every
 * outcome reaches the scheduler exactly once. */
#include "attempts.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cglimit.h"
#include "clock.h"
#include "exec.h"
#include "id.h"
#include "jobtree.h"
#include "log.h"
#include "logupload.h"
#include "runmanifest.h"
#include "spoolgc.h"

#define RESEND_EVERY_MS  1000          /* an unacknowledged report is sent again */
#define CGROUP_KILL_MS   1000          /* how long a dead shim's cgroup may take */
#define STANDBY_AFTER_MS 20            /* a new standby shim, once the last start is done */
#define STANDBY_RETRY_MS 5000          /* after a standby shim could not be started */
#define PRUNE_EVERY_MS   (3600 * 1000) /* old done records of removed attempts */

struct attempt {
    char id[MLQ_ID_LEN + 1];
    struct mlq_shim_id shim;
    bool finished;
    bool acked_started;
    bool persisted;    /* the spool has its folder (markers can be written) */
    bool fenced;       /* self-fenced: being killed, outcome "lost" */
    bool killing;      /* SIGTERM sent to its shim: a repeated KILL is a no-op */
    bool unsynced;     /* started, its folder not durable yet (mlq_attempts_sync_started) */
    uint64_t gpus;     /* bit i: GPU i is the attempt's (while not finished) */
    bool gpu_shared;   /* it holds a share of its GPU, which others may share */
    int64_t next_send; /* monotonic ms of the next (re-)send of its report */
    struct mlq_status status;
    struct mlq_logupload *up; /* uploading its logs; NULL otherwise */
};

struct mlq_attempts {
    struct mlq_attempts_config cfg;
    struct attempt *att;
    size_t natt, cap;
    bool online;
    struct mlq_exec_standby standby;
    char standby_dir[MLQ_MAX_PATH]; /* its prepared folder; "" when none */
    int64_t standby_at;             /* monotonic ms when to start one; -1: none */
    bool standby_failing;           /* the last start failed (said once in the log) */
    int64_t next_prune;             /* monotonic ms of the next done-record prune */
};

/* ---- table ---- */

static struct attempt *find_attempt(struct mlq_attempts *t, const char *id)
{
    for (size_t i = 0; i < t->natt; i++) {
        if (strcmp(t->att[i].id, id) == 0)
            return &t->att[i];
    }
    return NULL;
}

static struct attempt *add_attempt(struct mlq_attempts *t, const char *id)
{
    if (t->natt >= MLQ_MAX_ATTEMPTS_LIST)
        return NULL;
    if (t->natt == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 16;
        struct attempt *na = realloc(t->att, ncap * sizeof *na);
        if (!na)
            return NULL;
        t->att = na;
        t->cap = ncap;
    }
    struct attempt *at = &t->att[t->natt++];
    memset(at, 0, sizeof *at);
    snprintf(at->id, sizeof at->id, "%s", id);
    at->status.exit_code = -1;
    return at;
}

static void remove_attempt(struct mlq_attempts *t, struct attempt *at)
{
    size_t i = (size_t)(at - t->att);
    mlq_logupload_close(&at->up);
    t->att[i] = t->att[--t->natt];
}

/* Done with the attempt. When the scheduler has its outcome and logs
 * (done), its spool folder goes too (spoolgc.h). */
static void drop_attempt(struct mlq_attempts *t, struct attempt *at, bool done)
{
    struct mlq_err e;
    if (done && at->persisted && mlq_spoolgc_remove(t->cfg.spool, at->id, &e) < 0)
        mlq_warn("attempt %s: cannot remove its spool folder: %s", at->id, e.msg);
    remove_attempt(t, at);
}

static bool attempt_dir(struct mlq_attempts *t, const struct attempt *at, char *dir, size_t len)
{
    return at->persisted && mlq_spool_attempt_dir(t->cfg.spool, at->id, dir, len, NULL) == 0;
}

/* Sends the attempt's current report (started or finished) now; it is sent
 * again after RESEND_EVERY_MS unless acknowledged. Before registration it
 * only schedules the send. */
static void send_report(struct mlq_attempts *t, struct attempt *at)
{
    at->next_send = mlq_clock_mono_ms() + RESEND_EVERY_MS;
    if (!t->online || at->unsynced)
        return; /* an unsynced one is reported once durable */
    struct mlq_msg m = {.type = MLQ_MSG_REPORT};
    char dir[MLQ_MAX_PATH];
    snprintf(m.u.report.attempt_id, sizeof m.u.report.attempt_id, "%s", at->id);
    m.u.report.pid = at->shim.pid;
    /* read again for each send: the shim wrote it before the status */
    if (at->finished && attempt_dir(t, at, dir, sizeof dir))
        m.u.report.manifest = mlq_runmanifest_read(dir);
    if (at->finished) {
        m.u.report.phase = MLQ_PHASE_FINISHED;
        m.u.report.outcome = at->status.outcome;
        m.u.report.exit_code = at->status.exit_code;
        m.u.report.signal = at->status.signal;
        m.u.report.start_ms = at->status.start_ms;
        m.u.report.end_ms = at->status.end_ms;
        m.u.report.detail = at->status.detail[0] ? at->status.detail : NULL;
        m.u.report.usage = at->status.usage;
        m.u.report.no_retry = at->status.no_retry;
    } else {
        m.u.report.phase = MLQ_PHASE_STARTED;
        m.u.report.outcome = MLQ_OUT_NONE;
        m.u.report.exit_code = -1;
        m.u.report.start_ms = at->shim.start_ms;
    }
    t->cfg.send(t->cfg.ctx, &m);
    free(m.u.report.manifest);
}

static bool needs_report(const struct attempt *at)
{
    return !at->up && (at->finished || !at->acked_started);
}

static void resend_reports(struct mlq_attempts *t, int64_t now, bool all)
{
    for (size_t i = 0; i < t->natt; i++) {
        struct attempt *at = &t->att[i];
        if (needs_report(at) && (all || now >= at->next_send))
            send_report(t, at);
    }
}

/* ---- attempts finishing ---- */

static void finished(struct mlq_attempts *t, struct attempt *at)
{
    at->finished = true;
    mlq_info("attempt %s finished: %s exit_code=%" PRId32 " signal=%" PRId32 "%s%s", at->id,
             mlq_spool_outcome_name(at->status.outcome), at->status.exit_code, at->status.signal,
             at->status.detail[0] ? " " : "", at->status.detail);
    send_report(t, at);
}

/* Records an outcome decided by the worker itself (start failure, lost
 * shim): into the spool first, then reported. */
static void finish_here(struct mlq_attempts *t, struct attempt *at, enum mlq_outcome outcome,
                        const char *detail)
{
    char dir[MLQ_MAX_PATH];
    mlq_spool_status_lost(&at->status, at->shim.start_ms, detail);
    at->status.outcome = outcome;
    struct mlq_err e;
    if (attempt_dir(t, at, dir, sizeof dir) && mlq_spool_write_status(dir, &at->status, &e) < 0)
        mlq_error("attempt %s: cannot record its outcome: %s", at->id, e.msg);
    finished(t, at);
}

/* A shim that died leaves its job's processes behind; when the job had a
 * cgroup they can still be found and ended. */
static void end_orphaned_cgroup(const struct attempt *at, const char *dir)
{
    char cg[3 * MLQ_MAX_PATH];
    struct mlq_err e;
    if (mlq_spool_read_note(dir, MLQ_SPOOL_CGROUP, cg, sizeof cg) &&
        mlq_jobtree_kill_cgroup(cg, CGROUP_KILL_MS, &e) < 0)
        mlq_error("attempt %s: %s", at->id, e.msg);
    if (mlq_spool_read_note(dir, MLQ_SPOOL_CGROUP_V1, cg, sizeof cg) &&
        mlq_cglimit_kill_v1(cg, CGROUP_KILL_MS, &e) < 0)
        mlq_error("attempt %s: %s", at->id, e.msg);
}

static void watch_one(struct mlq_attempts *t, struct attempt *at)
{
    char dir[MLQ_MAX_PATH];
    if (!attempt_dir(t, at, dir, sizeof dir))
        return;
    if (mlq_spool_read_status(dir, &at->status, NULL) == 0) {
        finished(t, at);
        return;
    }
    if (mlq_spool_shim_alive(&at->shim))
        return;
    /* The shim writes its status before exiting: look once more. */
    if (mlq_spool_read_status(dir, &at->status, NULL) == 0) {
        finished(t, at);
        return;
    }
    mlq_warn("attempt %s: shim %ld vanished without an outcome", at->id, (long)at->shim.pid);
    end_orphaned_cgroup(at, dir);
    finish_here(t, at, MLQ_OUT_LOST, at->fenced ? "self-fenced; shim vanished" : "shim vanished");
}

void mlq_attempts_watch(struct mlq_attempts *t)
{
    for (size_t i = 0; i < t->natt; i++) {
        if (!t->att[i].finished)
            watch_one(t, &t->att[i]);
    }
}

void mlq_attempts_reaped(struct mlq_attempts *t, pid_t pid)
{
    for (size_t i = 0; i < t->natt; i++) {
        if (!t->att[i].finished && t->att[i].shim.pid == pid) {
            watch_one(t, &t->att[i]);
            return;
        }
    }
}

/* The shim ends its job (SIGTERM, SIGKILL after the grace) on the first
 * SIGTERM; the scheduler resends KILL until the end is reported, so a
 * repeat only logs. */
static void kill_attempt_with(struct attempt *at, int sig, const char *why)
{
    if (at->finished)
        return;
    if (at->killing) {
        mlq_debug("attempt %s: already being killed (%s)", at->id, why);
        return;
    }
    struct mlq_err e;
    if (mlq_exec_signal(&at->shim, sig, &e) < 0) {
        mlq_warn("attempt %s: cannot kill (%s): %s", at->id, why, e.msg);
        return;
    }
    at->killing = true;
    mlq_info("attempt %s: killing (%s)", at->id, why);
}

static void kill_attempt(struct attempt *at, const char *why)
{
    kill_attempt_with(at, SIGTERM, why);
}

/* The scheduler has declared this worker lost and requeued these attempts.
 * The shim records outcome lost with the reason left in "fenced". */
void mlq_attempts_fence(struct mlq_attempts *t, int64_t silent_ms)
{
    char why[MLQ_SPOOL_DETAIL_MAX], dir[MLQ_MAX_PATH];
    snprintf(why, sizeof why, "self-fenced: no contact with the scheduler for %" PRId64 " s",
             (silent_ms + 500) / 1000);
    for (size_t i = 0; i < t->natt; i++) {
        struct attempt *at = &t->att[i];
        struct mlq_err e;
        if (at->finished || at->fenced)
            continue;
        at->fenced = true;
        mlq_warn("attempt %s: %s", at->id, why);
        if (attempt_dir(t, at, dir, sizeof dir) &&
            mlq_spool_write_note(dir, MLQ_SPOOL_FENCED, why, &e) < 0)
            mlq_error("attempt %s: %s", at->id, e.msg);
        kill_attempt(at, "self-fenced");
    }
}

/* The job asks for a share of one GPU (--gpus 0.25, --gpu-mem). */
static bool spec_shares(const struct mlq_jobspec *spec)
{
    return spec->gpu_frac > 0 || spec->gpu_mem > 0;
}

/* The scheduler's GPU choice must name distinct devices of this worker, as
 * many as the spec asks for (one for a share). */
static bool gpus_ok(const struct mlq_attempts *t, const struct mlq_msg *m, char *why, size_t len)
{
    uint64_t seen = 0;
    int64_t want = spec_shares(&m->u.assign.spec) ? 1 : m->u.assign.spec.gpus;
    if ((int64_t)m->u.assign.ngpu_ids != want) {
        snprintf(why, len, "assigned %" PRIu32 " GPU(s) for a job asking for %" PRId64,
                 m->u.assign.ngpu_ids, want);
        return false;
    }
    for (uint32_t i = 0; i < m->u.assign.ngpu_ids; i++) {
        int32_t g = m->u.assign.gpu_ids[i];
        if (g < 0 || g >= t->cfg.gpus || g >= MLQ_MAX_GPUS || (seen & (1ULL << g))) {
            snprintf(why, len,
                     "GPU %" PRId32 " is not a device of this worker (it has %" PRId32 ")", g,
                     t->cfg.gpus);
            return false;
        }
        seen |= 1ULL << g;
    }
    return true;
}

static uint64_t gpu_mask(const struct mlq_msg *m)
{
    uint64_t mask = 0;
    for (uint32_t i = 0; i < m->u.assign.ngpu_ids; i++)
        if (m->u.assign.gpu_ids[i] >= 0 && m->u.assign.gpu_ids[i] < MLQ_MAX_GPUS)
            mask |= 1ULL << m->u.assign.gpu_ids[i];
    return mask;
}

/* No GPU of the assignment may be one that an attempt still running here
 * holds: its processes may use it until they are gone (the scheduler keeps
 * such GPUs booked, but its view can be behind, e.g. after a restart).
 * Shares may meet on one GPU; how much of it they book is the scheduler's
 * accounting, which the worker does not repeat. */
static bool gpus_free(const struct mlq_attempts *t, const struct mlq_msg *m, char *why, size_t len)
{
    uint64_t want = gpu_mask(m);
    bool shared = spec_shares(&m->u.assign.spec);
    for (size_t i = 0; want && i < t->natt; i++) {
        const struct attempt *at = &t->att[i];
        uint64_t both = at->finished || (shared && at->gpu_shared) ? 0 : at->gpus & want;
        if (both) {
            snprintf(why, len, "GPU %d is still held by attempt %s, which has not ended here",
                     __builtin_ctzll(both), at->id);
            return false;
        }
    }
    return true;
}

/* A started attempt whose folder could not be made durable may not run
 * on: it ends as lost (fenced). */
static void not_durable(struct mlq_attempts *t, struct attempt *at, const char *dir,
                        const struct mlq_err *e)
{
    struct mlq_err e2;
    char why[MLQ_SPOOL_DETAIL_MAX];
    (void)t;
    snprintf(why, sizeof why, "spool: cannot make the attempt durable: %s", e->msg);
    mlq_error("attempt %s: %s", at->id, why);
    if (at->finished)
        return;
    if (mlq_spool_write_note(dir, MLQ_SPOOL_FENCED, why, &e2) < 0)
        mlq_error("attempt %s: %s", at->id, e2.msg);
    at->fenced = true;
    kill_attempt(at, "spool not durable");
}

static void standby_drop(struct mlq_attempts *t)
{
    mlq_exec_standby_stop(&t->standby);
    if (t->standby_dir[0])
        mlq_spool_discard(t->standby_dir);
    t->standby_dir[0] = '\0';
}

/* Creates the attempt folder: from the standby shim's prepared folder when
 * there is one, else from scratch; *standby is set when the standby shim
 * is to fork the attempt's shim. Either way a standby (and a prepared
 * folder) is wanted for the next assignment, once this one has started. */
static int create_folder(struct mlq_attempts *t, const struct mlq_msg *m, char *dir, size_t len,
                         bool *standby, struct mlq_err *err)
{
    int64_t now = mlq_clock_mono_ms();
    *standby = t->standby.fd >= 0;
    /* A missing standby is not pushed back by the next assignment: a burst
     * gets one STANDBY_AFTER_MS after its first assignment. Only the next
     * prepared folder waits for a pause: in a burst the standby takes
     * folders made from scratch, and preparing more would only add files. */
    if (t->standby_at < 0 || t->standby.fd >= 0)
        t->standby_at = now + STANDBY_AFTER_MS;
    if (t->standby.fd < 0 || !t->standby_dir[0])
        return mlq_spool_create_attempt(t->cfg.spool, m, dir, len, err);
    /* No second try from scratch on failure: removing the prepared folder
     * frees what a full spool would then hand to a shim that fails. */
    int rc = mlq_spool_create_prepared(t->cfg.spool, t->standby_dir, m, dir, len, err);
    if (rc < 0) {
        standby_drop(t);
        return rc;
    }
    t->standby_dir[0] = '\0'; /* it is the attempt's folder now */
    return 0;
}

/* Starts the shim: forked by the standby one when there is one, else
 * executed. */
static int start_shim(struct mlq_attempts *t, struct attempt *at, const char *dir, bool standby,
                      struct mlq_err *err)
{
    if (standby && mlq_exec_standby_take(&t->standby, dir, &at->shim, err) == 0)
        return 0;
    if (standby)
        mlq_warn("attempt %s: %s: starting a new shim", at->id, err->msg);
    return mlq_exec_start_shim(t->cfg.shim_path, dir, &at->shim, err);
}

static void start_attempt(struct mlq_attempts *t, struct attempt *at, const struct mlq_msg *m)
{
    char dir[MLQ_MAX_PATH], why[MLQ_SPOOL_DETAIL_MAX];
    struct mlq_err e;
    if (!gpus_ok(t, m, why, sizeof why)) {
        /* The scheduler's view of this worker is wrong (it restarted with
         * other GPUs): not the job's fault either. */
        mlq_warn("attempt %s refused: %s", at->id, why);
        finish_here(t, at, MLQ_OUT_REFUSED, why);
        return;
    }
    if (!gpus_free(t, m, why, sizeof why)) {
        mlq_warn("attempt %s refused: %s", at->id, why);
        finish_here(t, at, MLQ_OUT_REFUSED, why);
        return;
    }
    at->gpus = gpu_mask(m);
    at->gpu_shared = spec_shares(&m->u.assign.spec);
    bool standby;
    if (create_folder(t, m, dir, sizeof dir, &standby, &e) < 0) {
        /* Not the job's fault: the scheduler runs it elsewhere. */
        mlq_error("attempt %s refused: %s", at->id, e.msg);
        finish_here(t, at, MLQ_OUT_REFUSED, e.msg);
        return;
    }
    at->persisted = true;
    int rc = start_shim(t, at, dir, standby, &e);
    if (rc < 0) {
        struct mlq_err se;
        if (mlq_spool_sync_attempt(t->cfg.spool, dir, &se) < 0)
            mlq_error("attempt %s: %s", at->id, se.msg);
        mlq_error("attempt %s: %s", at->id, e.msg);
        finish_here(t, at, MLQ_OUT_START_FAILED, e.msg);
        return;
    }
    at->unsynced = true; /* durable, then reported: mlq_attempts_sync_started */
    mlq_info("attempt %s (job %.8s #%" PRId32 ") started under shim %ld", at->id,
             m->u.assign.job_id, m->u.assign.attempt, (long)at->shim.pid);
}

/* Each folder's own fsyncs, then one of the attempts folder for them all. */
void mlq_attempts_sync_started(struct mlq_attempts *t)
{
    char dir[MLQ_MAX_PATH];
    struct mlq_err e = {0};
    size_t n = 0;
    mlq_spoolgc_flush(t->cfg.spool); /* the folders of attempts done in this batch */
    for (size_t i = 0; i < t->natt; i++) {
        struct attempt *at = &t->att[i];
        if (!at->unsynced)
            continue;
        n++;
        if (attempt_dir(t, at, dir, sizeof dir) && mlq_spool_sync_attempt_own(dir, &e) < 0) {
            at->unsynced = false;
            not_durable(t, at, dir, &e);
        }
    }
    if (n == 0)
        return;
    bool all_ok = mlq_spool_sync_attempts_dir(t->cfg.spool, &e) == 0;
    for (size_t i = 0; i < t->natt; i++) {
        struct attempt *at = &t->att[i];
        if (!at->unsynced)
            continue;
        at->unsynced = false;
        if (!all_ok && attempt_dir(t, at, dir, sizeof dir))
            not_durable(t, at, dir, &e);
        else
            send_report(t, at);
    }
}

static size_t running_count(const struct mlq_attempts *t)
{
    size_t n = 0;
    for (size_t i = 0; i < t->natt; i++)
        n += !t->att[i].finished;
    return n;
}

/* A refusal with no room to hold the attempt: reported once, not resent;
 * the scheduler resends the assignment until it hears an answer. */
static void refuse_unheld(struct mlq_attempts *t, const char *id, const char *why)
{
    mlq_warn("attempt %s refused: %s", id, why);
    if (!t->online)
        return;
    struct mlq_msg m = {.type = MLQ_MSG_REPORT};
    snprintf(m.u.report.attempt_id, sizeof m.u.report.attempt_id, "%s", id);
    m.u.report.phase = MLQ_PHASE_FINISHED;
    m.u.report.outcome = MLQ_OUT_REFUSED;
    m.u.report.exit_code = -1;
    m.u.report.detail = (char *)why;
    t->cfg.send(t->cfg.ctx, &m);
}

void mlq_attempts_assign(struct mlq_attempts *t, const struct mlq_msg *m, const char *refuse_why)
{
    const char *id = m->u.assign.attempt_id;
    if (!mlq_id_valid(id)) {
        mlq_warn("assign with an invalid attempt id ignored");
        return;
    }
    struct attempt *at = find_attempt(t, id);
    if (at) {
        mlq_info("attempt %s assigned again: re-sending its report", id);
        send_report(t, at);
        return;
    }
    if (mlq_spool_attempt_exists(t->cfg.spool, id) || mlq_spoolgc_was_removed(t->cfg.spool, id)) {
        mlq_warn("attempt %s assigned again after it was reported and acknowledged; ignored", id);
        return;
    }
    char why[128];
    if (!refuse_why && running_count(t) >= (size_t)t->cfg.max_attempts) {
        snprintf(why, sizeof why, "worker runs %d attempts, the most it may run at once",
                 (int)t->cfg.max_attempts);
        refuse_why = why;
    }
    if (!(at = add_attempt(t, id))) {
        refuse_unheld(t, id, "worker holds too many unacknowledged attempts");
        return;
    }
    if (refuse_why) {
        mlq_info("attempt %s refused: %s", id, refuse_why);
        finish_here(t, at, MLQ_OUT_REFUSED, refuse_why);
        return;
    }
    start_attempt(t, at, m);
}

/* Sends the attempt's next chunk when one is due (and we are registered). */
static void pump_upload(struct mlq_attempts *t, struct attempt *at, int64_t now)
{
    struct mlq_msg m;
    struct mlq_err e;
    if (!t->online || !at->up)
        return;
    int rc = mlq_logupload_next(at->up, now, &m, &e);
    if (rc < 0)
        mlq_warn("attempt %s: log upload: %s", at->id, e.msg);
    if (rc <= 0)
        return;
    t->cfg.send(t->cfg.ctx, &m);
    free(m.u.log_upload.data);
}

static void pump_uploads(struct mlq_attempts *t, int64_t now)
{
    for (size_t i = 0; i < t->natt; i++)
        pump_upload(t, &t->att[i], now);
}

/* After an accepted finished report: upload the logs before dropping the
 * attempt. False when that cannot start (the attempt is dropped). */
static bool start_upload(struct mlq_attempts *t, struct attempt *at)
{
    struct mlq_err e;
    if (at->status.outcome == MLQ_OUT_REFUSED)
        return false; /* never ran here: no logs */
    if (mlq_logupload_open(t->cfg.spool, at->id, t->cfg.log_cap, &at->up, &e) < 0) {
        mlq_error("attempt %s: cannot upload its logs: %s", at->id, e.msg);
        return false;
    }
    if (mlq_logupload_done(at->up)) {
        mlq_logupload_close(&at->up);
        return false;
    }
    pump_upload(t, at, mlq_clock_mono_ms());
    return true;
}

void mlq_attempts_upload_ack(struct mlq_attempts *t, const struct mlq_msg *m)
{
    const char *id = m->u.log_upload_ack.attempt_id;
    struct attempt *at = find_attempt(t, id);
    struct mlq_err e;
    if (!at || !at->up) {
        mlq_debug("log_upload_ack for attempt %s that is not uploading", id);
        return;
    }
    if (m->u.log_upload_ack.err != 0 && m->u.log_upload_ack.err != MLQ_ENOTFOUND)
        mlq_warn("attempt %s: the scheduler could not store its logs (%s): retrying later", id,
                 mlq_strerror(m->u.log_upload_ack.err));
    int64_t now = mlq_clock_mono_ms();
    int rc = mlq_logupload_ack(at->up, m, now, &e);
    if (rc < 0)
        mlq_error("attempt %s: %s", id, e.msg);
    if (mlq_logupload_done(at->up)) {
        if (mlq_logupload_abandoned(at->up))
            mlq_warn("attempt %s: the scheduler wants none of its logs (not found)", id);
        else
            mlq_info("attempt %s: logs uploaded", id);
        drop_attempt(t, at, rc >= 0);
        return;
    }
    pump_upload(t, at, now);
}

void mlq_attempts_report_ack(struct mlq_attempts *t, const struct mlq_msg *m)
{
    const char *id = m->u.report_ack.attempt_id;
    struct attempt *at = find_attempt(t, id);
    char dir[MLQ_MAX_PATH];
    struct mlq_err e;
    if (!at) {
        mlq_debug("report_ack for attempt %s that is not held", id);
        return;
    }
    bool have_dir = attempt_dir(t, at, dir, sizeof dir);
    if (m->u.report_ack.phase == MLQ_PHASE_STARTED) {
        if (!at->acked_started && have_dir && mlq_spool_mark_acked(dir, MLQ_PHASE_STARTED, &e) < 0)
            mlq_error("attempt %s: %s", id, e.msg);
        at->acked_started = true;
        if (!m->u.report_ack.accepted)
            kill_attempt(at, "fenced by the scheduler");
        return;
    }
    if (!at->finished) {
        mlq_warn("finished report of running attempt %s acknowledged; ignored", id);
        return;
    }
    if (at->up)
        return; /* acknowledged before: already uploading */
    /* The upload file goes before acked_finished, so a restart resumes. */
    bool upload = have_dir && m->u.report_ack.accepted && start_upload(t, at);
    bool acked = have_dir && mlq_spool_mark_acked(dir, MLQ_PHASE_FINISHED, &e) == 0;
    if (have_dir && !acked)
        mlq_error("attempt %s: %s", id, e.msg);
    mlq_debug("attempt %s reported (accepted=%d)", id, m->u.report_ack.accepted);
    if (upload)
        return;
    /* Nothing to upload when the attempt never ran here or the scheduler
     * did not take its report: recorded, so the folder counts as done. */
    bool none = !m->u.report_ack.accepted || at->status.outcome == MLQ_OUT_REFUSED;
    if (acked && none && mlq_spool_mark_uploaded(dir, &e) < 0)
        mlq_error("attempt %s: %s", id, e.msg);
    drop_attempt(t, at, acked && mlq_spoolgc_is_done(dir));
}

void mlq_attempts_kill(struct mlq_attempts *t, const struct mlq_msg *m)
{
    struct attempt *at = find_attempt(t, m->u.kill.attempt_id);
    const char *reason = m->u.kill.reason ? m->u.kill.reason : "asked by the scheduler";
    if (!at || at->finished) {
        mlq_debug("kill for attempt %s that is not running", m->u.kill.attempt_id);
        return;
    }
    /* SIGUSR1 asks the shim for a preemption: the job's own signal and
     * preemption grace instead of SIGTERM and the kill grace. */
    kill_attempt_with(at, m->u.kill.preempt ? SIGUSR1 : SIGTERM, reason);
}

bool mlq_attempts_running_unfenced(const struct mlq_attempts *t)
{
    for (size_t i = 0; i < t->natt; i++) {
        if (!t->att[i].finished && !t->att[i].fenced)
            return true;
    }
    return false;
}

/* An upload a previous worker did not finish. When it cannot resume, the
 * finished report is sent again: its acknowledgement restarts the upload. */
static void resume_upload(struct mlq_attempts *t, struct attempt *at)
{
    struct mlq_err e;
    if (mlq_logupload_open(t->cfg.spool, at->id, t->cfg.log_cap, &at->up, &e) < 0)
        mlq_error("attempt %s: cannot resume its log upload: %s", at->id, e.msg);
}

/* The GPUs of a re-adopted running attempt, from its assign file, and
 * whether it holds a share of them. */
static uint64_t held_gpus(const struct mlq_attempts *t, const char *id, bool *shared)
{
    char dir[MLQ_MAX_PATH];
    struct mlq_msg m;
    *shared = false;
    if (mlq_spool_attempt_dir(t->cfg.spool, id, dir, sizeof dir, NULL) < 0 ||
        mlq_spool_read_assign(dir, &m, NULL) < 0)
        return 0;
    uint64_t mask = gpu_mask(&m);
    *shared = spec_shares(&m.u.assign.spec);
    mlq_proto_msg_free(&m);
    return mask;
}

static int load_held(struct mlq_attempts *t, struct mlq_err *err)
{
    struct mlq_spool_held *held = NULL;
    size_t n = 0;
    int rc = mlq_spool_scan(t->cfg.spool, &held, &n, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct attempt *at = add_attempt(t, held[i].attempt_id);
        if (!at) {
            rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
            break;
        }
        at->shim = held[i].shim;
        at->finished = held[i].finished;
        at->acked_started = held[i].acked_started;
        at->persisted = true;
        at->status = held[i].status;
        if (!at->finished)
            at->gpus = held_gpus(t, at->id, &at->gpu_shared);
        if (held[i].uploading)
            resume_upload(t, at);
        mlq_info("re-adopted attempt %s (%s)", at->id,
                 at->up         ? "uploading its logs"
                 : at->finished ? mlq_spool_outcome_name(at->status.outcome)
                                : "running");
    }
    free(held);
    return rc;
}

/* ---- public ---- */

void mlq_attempts_set_online(struct mlq_attempts *t, bool online, int64_t now)
{
    bool was = t->online;
    t->online = online;
    if (!online || was)
        return;
    resend_reports(t, now, true);
    for (size_t i = 0; i < t->natt; i++) {
        if (t->att[i].up)
            mlq_logupload_kick(t->att[i].up, now);
    }
    pump_uploads(t, now);
}

void mlq_attempts_tick(struct mlq_attempts *t, int64_t now)
{
    if (now >= t->next_prune) {
        if (t->next_prune)
            mlq_spoolgc_prune(t->cfg.spool, MLQ_SPOOLGC_DONE_KEEP_S);
        t->next_prune = now + PRUNE_EVERY_MS; /* the start-up sweep did the first */
    }
    mlq_attempts_watch(t);
    if (t->online)
        resend_reports(t, now, false);
    pump_uploads(t, now);
    mlq_spoolgc_flush(t->cfg.spool);
}

/* A standby shim (the one that served the last assignments stays: it forks
 * a shim per folder) and a prepared folder for the next assignment. */
static int standby_ready(struct mlq_attempts *t, struct mlq_err *e)
{
    if (t->standby.fd < 0) {
        standby_drop(t); /* a folder prepared for a standby that is gone */
        if (mlq_exec_standby_start(t->cfg.shim_path, mlq_spool_attempts(t->cfg.spool), &t->standby,
                                   e) < 0)
            return -1;
    }
    if (t->standby_dir[0])
        return 0;
    return mlq_spool_prepare(t->cfg.spool, &t->standby.id, t->standby_dir, sizeof t->standby_dir,
                             e);
}

int64_t mlq_attempts_standby(struct mlq_attempts *t, int64_t now)
{
    struct mlq_err e;
    if (t->standby_at < 0 || now < t->standby_at)
        return t->standby_at < 0 ? INT64_MAX : t->standby_at;
    if (standby_ready(t, &e) < 0) {
        /* An idle worker retries for as long as it fails (a full spool):
         * said once, not every time. */
        if (!t->standby_failing)
            mlq_warn("cannot start a standby shim (jobs start without; retrying every %d s): %s",
                     STANDBY_RETRY_MS / 1000, e.msg);
        else
            mlq_debug("cannot start a standby shim: %s", e.msg);
        t->standby_failing = true;
        standby_drop(t);
        t->standby_at = now + STANDBY_RETRY_MS;
        return t->standby_at;
    }
    if (t->standby_failing)
        mlq_info("standby shim started again");
    t->standby_failing = false;
    t->standby_at = -1;
    return INT64_MAX;
}

size_t mlq_attempts_count(const struct mlq_attempts *t)
{
    return t->natt;
}

int mlq_attempts_held(const struct mlq_attempts *t, struct mlq_held_attempt **out, uint32_t *n,
                      struct mlq_err *err)
{
    *n = 0;
    *out = calloc(t->natt ? t->natt : 1, sizeof **out);
    if (!*out)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    for (size_t i = 0; i < t->natt; i++) {
        if (t->att[i].up)
            continue; /* done as far as the scheduler is concerned */
        snprintf((*out)[*n].attempt_id, sizeof(*out)[*n].attempt_id, "%s", t->att[i].id);
        (*out)[(*n)++].finished = t->att[i].finished;
    }
    return 0;
}

int mlq_attempts_create(const struct mlq_attempts_config *cfg, struct mlq_attempts **out,
                        struct mlq_err *err)
{
    *out = NULL;
    if (!cfg->spool || !cfg->shim_path || !cfg->send || cfg->log_cap <= 0)
        return mlq_err_set(err, MLQ_EINVAL, "incomplete attempts configuration");
    struct mlq_attempts *t = calloc(1, sizeof *t);
    if (!t)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    t->cfg = *cfg;
    if (t->cfg.max_attempts <= 0 || t->cfg.max_attempts > MLQ_MAX_WORKER_ATTEMPTS)
        t->cfg.max_attempts = MLQ_MAX_WORKER_ATTEMPTS;
    t->standby.fd = -1;
    t->standby_at = 0; /* ready before the first assignment */
    int gone = mlq_spoolgc_sweep(cfg->spool, MLQ_SPOOLGC_DONE_KEEP_S);
    if (gone > 0)
        mlq_info("removed %d finished attempt folder(s) from the spool", gone);
    int rc = load_held(t, err);
    if (rc < 0) {
        mlq_attempts_destroy(&t);
        return rc;
    }
    *out = t;
    return 0;
}

void mlq_attempts_destroy(struct mlq_attempts **t)
{
    if (!t || !*t)
        return;
    for (size_t i = 0; i < (*t)->natt; i++)
        mlq_logupload_close(&(*t)->att[i].up);
    mlq_spoolgc_flush((*t)->cfg.spool);
    standby_drop(*t);
    free((*t)->att);
    free(*t);
    *t = NULL;
}
