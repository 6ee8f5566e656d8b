/* wproto: see wproto.h.
 *
 * Fencing lives here: a report is applied only when it names the live
 * attempt of its job and comes from the worker that attempt was placed on.
 * Anything else is acknowledged as not accepted, which tells the worker to
 * kill what it is running under that attempt id. */
#include "wproto.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "gang.h"
#include "jobops.h"
#include "leftover.h"
#include "log.h"
#include "logstore.h"
#include "workerloss.h"

int mlq_wproto_save_worker(struct mlq_ctx *c, const struct mlq_worker *w, const char *event,
                           const char *detail, struct mlq_err *err)
{
    /* The row keeps what the worker reports; an admin's override has its
     * own table (storeworker.c). */
    struct mlq_store_worker sw = {.cpus_m = w->rep_cpus_m, .mem = w->rep_mem, .gpus = w->gpus};
    snprintf(sw.name, sizeof sw.name, "%s", w->name);
    snprintf(sw.pool, sizeof sw.pool, "%s", w->rep_pool);
    sw.drained = w->drained;
    snprintf(sw.drain_reason, sizeof sw.drain_reason, "%s", w->drain_reason);
    sw.first_seen_ms = w->first_seen_wall;
    sw.last_seen_ms = w->last_seen_wall;
    int rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_worker_save(c->store, &sw, err);
    if (rc == 0)
        rc = mlq_store_event_add(c->store, event, NULL, NULL, w->name, detail, err);
    return rc;
}

/* A peer's version string for listings and logs: printable ASCII only (a
 * terminal escape stays out of `mlq workers`), empty when absent. */
static void copy_printable(char *dst, size_t len, const char *src)
{
    size_t n = 0;
    for (; src && src[n] && n + 1 < len; n++)
        dst[n] = src[n] >= 0x20 && src[n] < 0x7f ? src[n] : '?';
    dst[n] = '\0';
}

static int check_register(const struct mlq_msg *msg, struct mlq_err *err)
{
    const char *name = msg->u.reg.name;
    if (!name || !name[0] || strlen(name) > MLQ_MAX_NAME)
        return mlq_err_set(err, MLQ_EINVAL, "worker name must be 1 to %d characters", MLQ_MAX_NAME);
    for (const char *p = name; *p; p++)
        if (*p <= ' ' || *p == '/' || *p > '~')
            return mlq_err_set(err, MLQ_EINVAL, "worker name \"%s\" has a forbidden character",
                               name);
    if (msg->u.reg.cpus_m <= 0 || msg->u.reg.cpus_m > MLQ_MAX_CPUS_M || msg->u.reg.mem <= 0 ||
        msg->u.reg.mem > MLQ_MAX_MEM || msg->u.reg.gpus < 0 || msg->u.reg.gpus > MLQ_MAX_GPUS)
        return mlq_err_set(err, MLQ_EINVAL, "worker %s declares impossible resources", name);
    /* GPU i of the list is bit i of the worker's GPU map. */
    if (msg->u.reg.ngpu_list && msg->u.reg.ngpu_list != (uint32_t)msg->u.reg.gpus)
        return mlq_err_set(err, MLQ_EINVAL, "worker %s: gpu_list has %u entries for %d GPUs", name,
                           msg->u.reg.ngpu_list, msg->u.reg.gpus);
    uint64_t seen = 0;
    for (uint32_t i = 0; i < msg->u.reg.ngpu_list; i++) {
        int32_t ix = msg->u.reg.gpu_list[i].index;
        if (ix < 0 || ix >= msg->u.reg.gpus || (seen & (1ULL << ix)))
            return mlq_err_set(err, MLQ_EINVAL, "worker %s: bad or repeated GPU index %d", name,
                               ix);
        seen |= 1ULL << ix;
    }
    return 0;
}

int mlq_wproto_on_register(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                           struct mlq_err *err)
{
    int rc = check_register(msg, err);
    if (rc < 0)
        return rc;
    if (!c->who.insecure && strcmp(c->who.name, msg->u.reg.name) != 0) {
        mlq_warn("refused: the key of worker %s tried to register as %.64s", c->who.name,
                 msg->u.reg.name);
        return mlq_err_set(err, MLQ_EPERM, "the key of worker %s may not register as %.64s",
                           c->who.name, msg->u.reg.name);
    }
    struct mlq_worker *w = mlq_workers_add(c->workers, msg->u.reg.name);
    if (!w)
        return mlq_err_set(err, MLQ_ETOOBIG, "too many workers (at most %d)", MLQ_MAX_WORKERS);
    w->reg_same_conn = w->state == MLQ_WORKER_UP && w->peer.len == peer->len &&
                       memcmp(w->peer.id, peer->id, peer->len) == 0;
    /* A newer connection under the same name replaces the old one. */
    if (mlq_workers_connect(c->workers, w, peer) < 0)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory registering worker %s", w->name);
    w->state = MLQ_WORKER_UP;
    w->epoch++; /* the KILLs resent to its last connection end here (deliver.h) */
    w->goodbye = w->forgotten = false;
    w->rep_cpus_m = msg->u.reg.cpus_m;
    w->rep_mem = msg->u.reg.mem;
    w->gpus = msg->u.reg.gpus;
    w->draining = msg->u.reg.draining;
    w->batch = msg->u.reg.batch;
    /* checked by the decoder; an older worker sends none */
    snprintf(w->addr, sizeof w->addr, "%s", msg->u.reg.addr ? msg->u.reg.addr : "");
    copy_printable(w->version, sizeof w->version, msg->u.reg.version);
    copy_printable(w->git, sizeof w->git, msg->u.reg.git);
    w->rdv_lo = msg->u.reg.rdv_lo; /* 0: none offered, the default range applies */
    w->rdv_hi = msg->u.reg.rdv_hi;
    snprintf(w->limits, sizeof w->limits, "%s", msg->u.reg.limits ? msg->u.reg.limits : "");
    rc = mlq_workers_describe(w, msg->u.reg.pool, msg->u.reg.labels, msg->u.reg.nlabels,
                              msg->u.reg.gpu_list, msg->u.reg.ngpu_list, err);
    if (rc < 0)
        return rc;
    mlq_workers_apply_res(w); /* the admin's override wins (workerset.h) */
    w->last_seen_mono = c->now_mono;
    w->last_seen_wall = c->now_wall;
    if (!w->first_seen_wall)
        w->first_seen_wall = c->now_wall;
    rc = mlq_wproto_save_worker(c, w, "worker_up", NULL, err);
    if (rc == 0)
        rc = mlq_workerloss_reconcile(c, w, msg->u.reg.attempts, msg->u.reg.nattempts, err);
    if (rc < 0)
        return rc;
    /* Again once its attempts are booked: the GPUs an admin's cap keeps
     * are the ones in use. */
    mlq_workers_apply_res(w);
    mlq_info("worker %s up: %zu attempts held, version %s (git %s)", w->name,
             (size_t)msg->u.reg.nattempts, w->version[0] ? w->version : "unknown",
             w->git[0] ? w->git : "unknown");
    c->dirty = true;
    struct mlq_msg m = {.type = MLQ_MSG_REGISTERED, .rid = msg->rid};
    m.u.registered.heartbeat_ms = c->heartbeat_ms;
    m.u.registered.lease_ms = c->lease_ms;
    m.u.registered.batch = true; /* loop.c handles each entry of a worker's batch */
    return mlq_outbox_reply(c->out, peer, &m, err);
}

int mlq_wproto_sender(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_worker **out,
                      struct mlq_err *err)
{
    struct mlq_worker *w = mlq_workers_by_peer(c->workers, peer);
    *out = NULL;
    if (!w)
        return mlq_err_set(err, MLQ_ENOTFOUND, "unknown worker connection; register first");
    if (!c->who.insecure && strcmp(c->who.name, w->name) != 0) {
        mlq_warn("refused: the key of worker %s spoke for worker %s", c->who.name, w->name);
        return mlq_err_set(err, MLQ_EPERM, "the key of worker %s may not speak for worker %s",
                           c->who.name, w->name);
    }
    *out = w;
    return 0;
}

int mlq_wproto_on_batch(struct mlq_ctx *c, const struct mlq_peer *peer, const struct mlq_msg *batch,
                        mlq_wproto_entry_fn fn, void *arg, struct mlq_err *err)
{
    struct mlq_worker *w;
    if (!(c->who.roles & MLQ_ROLE_WORKER))
        return mlq_auth_refuse(&c->who, batch->type, MLQ_ROLE_WORKER, err);
    int rc = mlq_wproto_sender(c, peer, &w, err);
    if (rc < 0)
        return rc;
    char name[MLQ_MAX_NAME + 1]; /* an entry may move the workers table */
    snprintf(name, sizeof name, "%s", w->name);
    for (uint32_t i = 0; i < batch->u.batch.n; i++) {
        struct mlq_msg one;
        struct mlq_err e = {0};
        if (mlq_proto_batch_item(batch, i, &one, &e) < 0) {
            mlq_warn("worker %s: message %u of its batch refused: %s", name, i, e.msg);
            struct mlq_msg m = {.type = MLQ_MSG_ERROR};
            m.u.error.code = e.code;
            m.u.error.msg = e.msg;
            mlq_outbox_reply(c->out, peer, &m, NULL);
            continue;
        }
        bool go_on = fn(arg, peer, &one);
        mlq_proto_msg_free(&one);
        if (!go_on)
            break;
    }
    return 0;
}

/* The registered worker behind this connection, or an error telling the
 * worker to register (again) or that its key is not that worker's. */
static int known_worker(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_worker **out,
                        struct mlq_err *err)
{
    int rc = mlq_wproto_sender(c, peer, out, err);
    if (rc < 0)
        return rc;
    (*out)->last_seen_mono = c->now_mono;
    (*out)->last_seen_wall = c->now_wall;
    return 0;
}

/* Keeps what the heartbeat said about each GPU (metrics, `mlq workers
 * --gpus`). A GPU held by an attempt that reads 0% is idle from the first
 * such heartbeat on; any other reading ends that. GPUs left out of the
 * report (no NVML) are unknown, never assumed idle. */
static void note_gpu_load(struct mlq_ctx *c, struct mlq_worker *w, const struct mlq_gpuload *g,
                          uint32_t n)
{
    if (n == 0 && !w->gstat)
        return; /* no NVML there: nothing to keep, no allocation */
    if (!w->gstat && !(w->gstat = calloc(MLQ_MAX_GPUS, sizeof *w->gstat)))
        return; /* out of memory: no utilisation for this worker, nothing else lost */
    bool said[MLQ_MAX_GPUS] = {false};
    for (uint32_t i = 0; i < n; i++) {
        int k = g[i].index;
        if (k < 0 || k >= MLQ_MAX_GPUS || k >= w->gpus)
            continue;
        struct mlq_gpustat *s = &w->gstat[k];
        said[k] = true;
        s->known = true;
        s->util = g[i].util;
        s->mem_used = g[i].mem_used;
        s->mem_total = g[i].mem_total;
        bool held = mlq_worker_gpu_busy(w, k);
        if (!held || g[i].util > 0)
            s->idle_since_mono = 0;
        else if (!s->idle_since_mono)
            s->idle_since_mono = c->now_mono;
    }
    for (int k = 0; k < MLQ_MAX_GPUS; k++)
        if (!said[k])
            memset(&w->gstat[k], 0, sizeof w->gstat[k]);
}

int mlq_wproto_on_heartbeat(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                            struct mlq_err *err)
{
    struct mlq_worker *w;
    int rc = known_worker(c, peer, &w, err);
    if (rc < 0)
        return rc;
    const char *said = msg->u.heartbeat.name;
    if (said && strcmp(said, w->name) != 0) {
        mlq_warn("refused: worker %s sent a heartbeat as %.64s", w->name, said);
        return mlq_err_set(err, MLQ_EPERM, "worker %s may not send a heartbeat as %.64s", w->name,
                           said);
    }
    if (w->draining != msg->u.heartbeat.draining) {
        w->draining = msg->u.heartbeat.draining;
        mlq_info("worker %s %s", w->name, w->draining ? "is draining" : "takes jobs again");
    }
    note_gpu_load(c, w, msg->u.heartbeat.gpu_load, msg->u.heartbeat.ngpu_load);
    struct mlq_msg m = {.type = MLQ_MSG_HB_ACK, .rid = msg->rid};
    return mlq_outbox_reply(c->out, peer, &m, err);
}

/* A clean stop: DOWN at once. Its running jobs stay under their shims and
 * keep their resources; they are not lost before the lease runs out from
 * this last word (mlq_workerloss_check_leases), and a worker that comes back
 * within it takes them up again when it registers. */
int mlq_wproto_on_goodbye(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                          struct mlq_err *err)
{
    struct mlq_worker *w;
    int rc = known_worker(c, peer, &w, err);
    if (rc < 0)
        return rc;
    if (strcmp(w->name, msg->u.goodbye.name) != 0)
        return mlq_err_set(err, MLQ_EINVAL, "goodbye from worker %s names %.64s", w->name,
                           msg->u.goodbye.name);
    char detail[128];
    if (w->running > 0)
        snprintf(detail, sizeof detail,
                 "stopped; %d running attempt(s) stay under their shims for one lease",
                 (int)w->running);
    else
        snprintf(detail, sizeof detail, "%s", msg->u.goodbye.drained ? "drained" : "stopped");
    w->state = MLQ_WORKER_DOWN;
    w->goodbye = w->running > 0;
    rc = mlq_wproto_save_worker(c, w, "worker_down", detail, err);
    if (rc < 0)
        return rc;
    mlq_info("worker %s down: %s", w->name, detail);
    struct mlq_msg m = {.type = MLQ_MSG_OK, .rid = msg->rid};
    return mlq_outbox_reply(c->out, peer, &m, err);
}

/* A report about an attempt that is not live: a duplicate of a finished
 * report is acknowledged again; anything else is fenced. */
static bool stale_report_accepted(struct mlq_ctx *c, const struct mlq_msg *msg,
                                  const struct mlq_worker *w)
{
    if (msg->u.report.phase != MLQ_PHASE_FINISHED)
        return false;
    struct mlq_store_attempt a;
    if (mlq_store_attempt_get(c->store, msg->u.report.attempt_id, &a, NULL) < 0)
        return false;
    bool dup = strcmp(a.worker, w->name) == 0 && mlq_attempt_state_terminal(a.state);
    mlq_store_attempt_free(&a);
    return dup;
}

static int report_ack(struct mlq_ctx *c, const struct mlq_peer *peer, const struct mlq_msg *msg,
                      bool accepted, struct mlq_err *err)
{
    struct mlq_msg m = {.type = MLQ_MSG_REPORT_ACK, .rid = msg->rid};
    memcpy(m.u.report_ack.attempt_id, msg->u.report.attempt_id, sizeof m.u.report_ack.attempt_id);
    m.u.report_ack.phase = msg->u.report.phase;
    m.u.report_ack.accepted = accepted;
    return mlq_outbox_reply(c->out, peer, &m, err);
}

/* Frees what a lost attempt (or gang part) still held on w, now that its
 * report says its processes are gone. The room may be all a pending job
 * waits for, and nothing else may come to call a placement pass: call one. */
static bool release_leftover(struct mlq_ctx *c, struct mlq_worker *w, const struct mlq_msg *msg)
{
    if (!mlq_leftover_release(w, msg->u.report.attempt_id))
        return false;
    c->dirty = true;
    return true;
}

/* A report about a live gang part (gang.h). */
static int on_part_report(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_worker *w,
                          struct mlq_gpart *part, const struct mlq_msg *msg, struct mlq_err *err)
{
    bool accepted;
    if (msg->u.report.phase == MLQ_PHASE_FINISHED && release_leftover(c, w, msg))
        mlq_info("gang part %s on worker %s is over: its resources are free",
                 msg->u.report.attempt_id, w->name);
    int rc = mlq_gang_on_report(c, w, part, msg, &accepted, err);
    if (rc < 0)
        return rc;
    if (!accepted)
        mlq_warn("fenced report for gang part %s from worker %s", msg->u.report.attempt_id,
                 w->name);
    return report_ack(c, peer, msg, accepted, err);
}

/* The run manifest a finished report brings: kept when it is a JSON
 * object; anything else is logged and dropped, never a reason to refuse
 * the outcome. Gang node parts keep none (their ids are not attempts). */
static int keep_manifest(struct mlq_ctx *c, const struct mlq_msg *msg, struct mlq_err *err)
{
    const char *text = msg->u.report.manifest;
    if (msg->u.report.phase != MLQ_PHASE_FINISHED || !text)
        return 0;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    bool ok = json_is_object(doc);
    json_decref(doc);
    if (!ok) {
        /* the parser's message may quote the text, which holds the job's
         * environment: not for the daemon's log */
        mlq_warn("attempt %s: run manifest dropped: not a JSON object", msg->u.report.attempt_id);
        return 0;
    }
    return mlq_store_manifest_put(c->store, msg->u.report.attempt_id, text, err);
}

int mlq_wproto_on_report(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err)
{
    struct mlq_worker *w;
    int rc = known_worker(c, peer, &w, err);
    if (rc < 0)
        return rc;
    struct mlq_gpart *part = mlq_jobtab_part(c->jobs, msg->u.report.attempt_id);
    if (part)
        return on_part_report(c, peer, w, part, msg, err);
    struct mlq_job *job = mlq_jobtab_by_attempt(c->jobs, msg->u.report.attempt_id);
    bool current = job && job->live && strcmp(job->att->worker, w->name) == 0;
    bool accepted = current;
    if (current && msg->u.report.phase == MLQ_PHASE_STARTED)
        rc = mlq_jobops_started(c, job, err);
    else if (current)
        rc = mlq_jobops_finished(c, job, msg, err);
    else if (msg->u.report.phase == MLQ_PHASE_FINISHED && release_leftover(c, w, msg))
        mlq_info("attempt %s on worker %s is over: its resources are free",
                 msg->u.report.attempt_id, w->name);
    if (!current && (rc = mlq_jobops_late_outcome(c, w, msg, &accepted, err)) == 0 && !accepted)
        rc = mlq_gang_late_outcome(c, w, msg, &accepted, err);
    if (!current && rc == 0 && !accepted)
        accepted = stale_report_accepted(c, msg, w);
    if (!current && msg->u.report.phase == MLQ_PHASE_FINISHED)
        mlq_deliver_fence_ended(c, msg->u.report.attempt_id);
    if (rc == 0 && accepted)
        rc = keep_manifest(c, msg, err);
    if (rc < 0)
        return rc;
    if (!accepted)
        mlq_warn("fenced %s report for attempt %s from worker %s",
                 msg->u.report.phase == MLQ_PHASE_STARTED ? "started" : "finished",
                 msg->u.report.attempt_id, w->name);
    struct mlq_msg m = {.type = MLQ_MSG_REPORT_ACK, .rid = msg->rid};
    memcpy(m.u.report_ack.attempt_id, msg->u.report.attempt_id, sizeof m.u.report_ack.attempt_id);
    m.u.report_ack.phase = msg->u.report.phase;
    m.u.report_ack.accepted = accepted;
    return mlq_outbox_reply(c->out, peer, &m, err);
}

/* Only the worker that ran an attempt may upload its log, and only once the
 * attempt is over (the file is then final). */
static bool may_upload(struct mlq_ctx *c, const struct mlq_worker *w, const char *attempt_id,
                       char job_id[MLQ_ID_LEN + 1])
{
    struct mlq_store_attempt a;
    if (mlq_store_attempt_get(c->store, attempt_id, &a, NULL) < 0)
        return false;
    bool ok = strcmp(a.worker, w->name) == 0 && mlq_attempt_state_terminal(a.state);
    memcpy(job_id, a.job_id, MLQ_ID_LEN + 1);
    mlq_store_attempt_free(&a);
    return ok;
}

/* A whole stream of no bytes is recorded on the attempt's row, in the
 * iteration's transaction, which commits before the acknowledgement leaves:
 * no file per stream in the log store. 1 recorded, 0 not such a stream (or
 * a gang's node part: the log store keeps it). */
static int stored_empty(struct mlq_ctx *c, const struct mlq_msg *msg, struct mlq_err *err)
{
    const __typeof__(msg->u.log_upload) *u = &msg->u.log_upload;
    if (u->offset != 0 || u->len != 0 || !u->eof)
        return 0;
    int rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_log_empty_set(c->store, u->attempt_id, u->stream, err);
    return rc;
}

int mlq_wproto_on_log_upload(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                             struct mlq_err *err)
{
    struct mlq_worker *w;
    int rc = known_worker(c, peer, &w, err);
    if (rc < 0)
        return rc;
    const __typeof__(msg->u.log_upload) *u = &msg->u.log_upload;
    struct mlq_msg m = {.type = MLQ_MSG_LOG_UPLOAD_ACK, .rid = msg->rid};
    memcpy(m.u.log_upload_ack.attempt_id, u->attempt_id, sizeof m.u.log_upload_ack.attempt_id);
    m.u.log_upload_ack.stream = u->stream;
    char job_id[MLQ_ID_LEN + 1] = "";
    struct mlq_err e = {0};
    if (!may_upload(c, w, u->attempt_id, job_id)) {
        m.u.log_upload_ack.err = MLQ_ENOTFOUND;
    } else if ((rc = stored_empty(c, msg, err)) != 0) {
        if (rc < 0)
            return rc; /* the iteration rolls back; the worker uploads again */
        m.u.log_upload_ack.offset = 0;
    } else if (mlq_logstore_put(c->logstore, u->attempt_id, u->stream, u->offset, u->data, u->len,
                                u->eof, &m.u.log_upload_ack.offset, &e) < 0) {
        mlq_warn("log upload for attempt %s: %s", u->attempt_id, e.msg);
        m.u.log_upload_ack.err = e.code;
        m.u.log_upload_ack.offset = u->offset;
    } else if (u->eof && m.u.log_upload_ack.offset == u->offset + (int64_t)u->len) {
        char detail[96];
        snprintf(detail, sizeof detail, "%s: %lld bytes stored, %lld dropped from the head",
                 u->stream == MLQ_STREAM_STDERR ? "stderr" : "stdout",
                 (long long)(u->offset + u->len), (long long)u->skipped);
        rc = mlq_store_begin(c->store, err);
        if (rc == 0)
            rc = mlq_store_event_add(c->store, "log_stored", job_id, u->attempt_id, w->name, detail,
                                     err);
        if (rc < 0)
            return rc;
    }
    return mlq_outbox_reply(c->out, peer, &m, err);
}
