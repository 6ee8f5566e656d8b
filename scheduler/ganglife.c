/* ganglife: the lifecycle of a placed gang (see gang.h): its parts'
 * ASSIGNs, reports, losses and KILLs, and the attempt's end once every
 * part has ended. */
#include "gang.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "health.h"
#include "jobops.h"
#include "jobops_int.h"
#include "leftover.h"
#include "log.h"
#include "outbox.h"
#include "pipeline.h"
#include "placement.h"

static bool part_live(const struct mlq_gpart *p)
{
    return !mlq_attempt_state_terminal(p->row.a.state);
}

static struct mlq_worker *part_worker(struct mlq_ctx *c, const struct mlq_gpart *p)
{
    return mlq_workers_at(c->workers, p->widx);
}

/* ---- ASSIGN --------------------------------------------------------------- */

static void fill_host(struct mlq_ctx *c, const struct mlq_gpart *p, int32_t gpus,
                      struct mlq_ganghost *h)
{
    const struct mlq_worker *w = part_worker(c, p);
    h->worker = (char *)p->row.a.worker;
    h->addr = (char *)(w && w->addr[0] ? w->addr : p->row.a.worker);
    h->gpus = gpus;
}

int mlq_gang_push_assign(struct mlq_ctx *c, const struct mlq_gpart *p, struct mlq_err *err)
{
    const struct mlq_job *job = p->job;
    const struct mlq_gang *g = mlq_job_gang(job);
    const struct mlq_worker *w = part_worker(c, p);
    if (!w || w->state != MLQ_WORKER_UP)
        return 0; /* it re-registers, and the reconciliation decides */
    struct mlq_ganghost *hosts = calloc(g->n, sizeof *hosts);
    if (!hosts)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    for (uint32_t k = 0; k < g->n; k++)
        fill_host(c, &g->parts[k], job->row.spec.gpus, &hosts[k]);
    int32_t gpu_ids[MLQ_MAX_GPUS];
    uint32_t n = 0;
    for (int i = 0; i < MLQ_MAX_GPUS; i++)
        if (p->gpu_mask & (1ULL << i))
            gpu_ids[n++] = i;
    struct mlq_msg m = {.type = MLQ_MSG_ASSIGN};
    memcpy(m.u.assign.attempt_id, p->row.a.id, sizeof m.u.assign.attempt_id);
    memcpy(m.u.assign.job_id, job->row.id, sizeof m.u.assign.job_id);
    m.u.assign.attempt = job->att->num;
    m.u.assign.spec = job->row.spec;
    /* a batch's job names its shared environment */
    int rc = mlq_pipeline_task_env(c, job, &m.u.assign.spec.env, &m.u.assign.spec.envc, err);
    m.u.assign.gpu_ids = gpu_ids;
    m.u.assign.ngpu_ids = n;
    m.u.assign.kill_grace_ms = c->kill_grace_ms;
    m.u.assign.allow_root = c->allow_root;
    m.u.assign.gang = (struct mlq_ganginfo){.nnodes = (int32_t)g->n,
                                            .rank = p->row.rank,
                                            .master_addr = hosts[0].addr,
                                            .master_port = g->parts[0].row.rdv_port,
                                            .hosts = hosts,
                                            .nhosts = g->n};
    if (rc == 0)
        rc = mlq_outbox_push(c->out, &w->peer, &m, err);
    free(hosts);
    return rc;
}

/* ---- bookkeeping ---------------------------------------------------------- */

/* Frees what p holds on its worker; with linger its processes may remain
 * and the booking stays until the worker says they are gone. */
static void release_part(struct mlq_ctx *c, struct mlq_gpart *p, bool linger)
{
    struct mlq_worker *w = part_worker(c, p);
    if (!p->booked || !w)
        return;
    struct mlq_request r = mlq_place_request(&p->job->row.spec);
    mlq_place_release(w, &r, p->gpu_mask);
    if (linger && mlq_leftover_keep(w, p->row.a.id, p->job->row.id, &r, p->gpu_mask) < 0)
        mlq_warn("out of memory: the resources of gang part %s are free again at once",
                 p->row.a.id);
    if (p->row.rdv_port > 0)
        mlq_gang_free_port(w, p->row.rdv_port);
    p->booked = false;
    c->dirty = true;
}

static int save_part(struct mlq_ctx *c, const struct mlq_gpart *p, struct mlq_err *err)
{
    int rc = mlq_store_begin(c->store, err);
    return rc < 0 ? rc : mlq_store_part_save(c->store, &p->row, err);
}

static void kill_part(struct mlq_ctx *c, const struct mlq_gpart *p, const char *reason)
{
    const struct mlq_worker *w = part_worker(c, p);
    /* Resent until the worker reports the end (deliver.h); a worker that is
     * not UP is told again when it registers. */
    mlq_deliver_kill(c, NULL, w && w->state == MLQ_WORKER_UP ? w : NULL, p->row.a.id, reason);
}

void mlq_gang_stop(struct mlq_ctx *c, struct mlq_job *job, const char *reason)
{
    struct mlq_gang *g = mlq_job_gang(job);
    g->stopping = true;
    for (uint32_t k = 0; k < g->n; k++)
        if (part_live(&g->parts[k]))
            kill_part(c, &g->parts[k], reason);
}

/* The first part to end badly names the attempt's outcome; the others are
 * stopped. */
static void first_bad(struct mlq_ctx *c, struct mlq_gpart *p, enum mlq_outcome out,
                      const char *what)
{
    struct mlq_gang *g = mlq_job_gang(p->job);
    if (g->stopping)
        return;
    g->first_rank = p->row.rank;
    g->out = out;
    g->lost = out == MLQ_OUT_LOST || out == MLQ_OUT_REFUSED;
    g->exit_code = p->row.a.exit_code;
    g->signal = p->row.a.signal;
    /* what is cut at 160 chars, so that the line fits with the longest
     * worker name (MLQ_MAX_NAME) */
    snprintf(g->first, sizeof g->first, "node %d (worker %s) %.160s", (int)p->row.rank,
             p->row.a.worker, what);
    char reason[400];
    snprintf(reason, sizeof reason, "gang stopped: %s", g->first);
    mlq_gang_stop(c, p->job, reason);
}

/* ---- the attempt's end ---------------------------------------------------- */

static bool all_ended(const struct mlq_gang *g)
{
    for (uint32_t k = 0; k < g->n; k++)
        if (part_live(&g->parts[k]))
            return false;
    return true;
}

/* Every part has ended: the attempt ends as one, through the same paths as
 * an ordinary attempt (retry, fail, requeue after a loss). May free job. */
static int end_if_done(struct mlq_ctx *c, struct mlq_job *job, struct mlq_err *err)
{
    struct mlq_gang *g = mlq_job_gang(job);
    if (!all_ended(g))
        return 0;
    char detail[400];
    snprintf(detail, sizeof detail, "%s%s", g->first,
             g->n > 1 && g->first_rank >= 0 ? "; others stopped" : "");
    if (g->lost && job->row.state != MLQ_JOB_CANCELLED) {
        unsigned how = g->out == MLQ_OUT_REFUSED ? 0 : MLQ_LOSE_NODE_FAULT;
        return mlq_jobops_lose_attempt(c, job, detail, how, err);
    }
    struct mlq_msg rep = {.type = MLQ_MSG_REPORT};
    memcpy(rep.u.report.attempt_id, job->att->id, sizeof rep.u.report.attempt_id);
    rep.u.report.phase = MLQ_PHASE_FINISHED;
    rep.u.report.outcome = MLQ_OUT_EXITED;
    if (g->first_rank >= 0 && !g->lost) {
        rep.u.report.outcome = g->out;
        rep.u.report.exit_code = g->exit_code;
        rep.u.report.signal = g->signal;
        rep.u.report.detail = detail;
    } else if (g->stopping) { /* cancelled: how node 0 ended */
        const struct mlq_store_attempt *a0 = &g->parts[0].row.a;
        rep.u.report.outcome = a0->signal > 0 ? MLQ_OUT_SIGNALED : MLQ_OUT_EXITED;
        rep.u.report.exit_code = a0->exit_code;
        rep.u.report.signal = a0->signal;
    }
    for (uint32_t k = 0; k < g->n; k++) /* the run ended with its last part */
        if (g->parts[k].row.a.end_ms > rep.u.report.end_ms)
            rep.u.report.end_ms = g->parts[k].row.a.end_ms;
    return mlq_jobops_finished(c, job, &rep, err);
}

/* ---- reports -------------------------------------------------------------- */

static enum mlq_attempt_state part_state(const struct mlq_msg *rep)
{
    switch (rep->u.report.outcome) {
    case MLQ_OUT_EXITED:
        return rep->u.report.exit_code == 0 ? MLQ_ATT_SUCCEEDED : MLQ_ATT_FAILED;
    case MLQ_OUT_TIMED_OUT:
        return MLQ_ATT_TIMED_OUT;
    default:
        return MLQ_ATT_FAILED;
    }
}

static void outcome_text(const struct mlq_msg *rep, char *buf, size_t len)
{
    const char *d = rep->u.report.detail ? rep->u.report.detail : "";
    switch (rep->u.report.outcome) {
    case MLQ_OUT_EXITED:
        snprintf(buf, len, "exited %d", rep->u.report.exit_code);
        break;
    case MLQ_OUT_SIGNALED:
        snprintf(buf, len, "was killed by signal %d", rep->u.report.signal);
        break;
    case MLQ_OUT_TIMED_OUT:
        snprintf(buf, len, "reached the time limit");
        break;
    default:
        snprintf(buf, len, "could not start: %s", d);
        break;
    }
}

static int on_started(struct mlq_ctx *c, struct mlq_gpart *p, struct mlq_err *err)
{
    struct mlq_job *job = p->job;
    struct mlq_gang *g = mlq_job_gang(job);
    if (p->row.a.state == MLQ_ATT_ASSIGNED) {
        p->row.a.state = MLQ_ATT_RUNNING;
        p->row.a.start_ms = c->now_wall;
        int rc = save_part(c, p, err);
        if (rc < 0)
            return rc;
    }
    if (g->stopping || job->row.state == MLQ_JOB_CANCELLED) {
        kill_part(c, p, job->row.reason ? job->row.reason : "gang stopped");
        return 0;
    }
    for (uint32_t k = 0; k < g->n; k++)
        if (g->parts[k].row.a.state != MLQ_ATT_RUNNING)
            return 0;
    /* every node runs: the gang does */
    return job->att->state == MLQ_ATT_ASSIGNED ? mlq_jobops_started(c, job, err) : 0;
}

static int on_finished(struct mlq_ctx *c, const struct mlq_worker *w, struct mlq_gpart *p,
                       const struct mlq_msg *rep, struct mlq_err *err)
{
    enum mlq_outcome out = rep->u.report.outcome;
    if (out == MLQ_OUT_LOST || out == MLQ_OUT_REFUSED) {
        char why[300];
        const char *d = rep->u.report.detail ? rep->u.report.detail : "no detail";
        snprintf(why, sizeof why, "%s on worker %s: %s", out == MLQ_OUT_LOST ? "lost" : "refused",
                 w->name, d);
        int rc = out == MLQ_OUT_REFUSED ? mlq_health_refused(c, (struct mlq_worker *)w, d, err) : 0;
        if (rc == 0 && out == MLQ_OUT_REFUSED)
            first_bad(c, p, MLQ_OUT_REFUSED, why);
        /* reported: nothing of it is left on the worker */
        return rc < 0 ? rc : mlq_gang_lose_part(c, p, why, false, err);
    }
    struct mlq_store_attempt *a = &p->row.a;
    a->state = part_state(rep);
    /* killed because the gang was stopping (another node, a cancel): it
     * did not fail on its own */
    if (mlq_job_gang(p->job)->stopping && out == MLQ_OUT_SIGNALED)
        a->state = MLQ_ATT_CANCELLED;
    if (!a->start_ms)
        a->start_ms = rep->u.report.start_ms;
    int64_t end = rep->u.report.end_ms;
    a->end_ms = end > 0 && end <= c->now_wall && end >= a->start_ms ? end : c->now_wall;
    a->exit_code = out == MLQ_OUT_EXITED ? rep->u.report.exit_code : -1;
    a->signal = out == MLQ_OUT_SIGNALED || out == MLQ_OUT_TIMED_OUT ? rep->u.report.signal : 0;
    free(a->detail);
    a->detail = rep->u.report.detail ? strdup(rep->u.report.detail) : NULL;
    release_part(c, p, false);
    int rc = save_part(c, p, err);
    if (rc < 0)
        return rc;
    if (a->state != MLQ_ATT_SUCCEEDED) {
        char what[300];
        outcome_text(rep, what, sizeof what);
        first_bad(c, p, out, what);
    }
    return end_if_done(c, p->job, err);
}

int mlq_gang_on_report(struct mlq_ctx *c, const struct mlq_worker *w, struct mlq_gpart *p,
                       const struct mlq_msg *rep, bool *accepted, struct mlq_err *err)
{
    bool ours = strcmp(p->row.a.worker, w->name) == 0;
    *accepted = ours && p->job->live && part_live(p);
    if (rep->u.report.phase == MLQ_PHASE_FINISHED)
        mlq_deliver_fence_ended(c, p->row.a.id);
    if (!*accepted) {
        /* a finished report sent again before its ack arrived */
        *accepted = ours && rep->u.report.phase == MLQ_PHASE_FINISHED;
        return 0;
    }
    p->acked = p->confirmed = true;
    if (rep->u.report.phase == MLQ_PHASE_STARTED)
        return on_started(c, p, err);
    return on_finished(c, w, p, rep, err);
}

/* ---- losses --------------------------------------------------------------- */

/* Marks p LOST without ending the attempt. */
static int lose_one(struct mlq_ctx *c, struct mlq_gpart *p, const char *why, bool linger,
                    struct mlq_err *err)
{
    p->row.a.state = MLQ_ATT_LOST;
    p->row.a.end_ms = c->now_wall;
    free(p->row.a.detail);
    p->row.a.detail = strdup(why);
    release_part(c, p, linger);
    mlq_warn("gang %.8s: node %d lost (%s)", p->job->row.id, (int)p->row.rank, why);
    char what[320];
    snprintf(what, sizeof what, "lost: %s", why);
    first_bad(c, p, MLQ_OUT_LOST, what);
    return save_part(c, p, err);
}

int mlq_gang_lose_part(struct mlq_ctx *c, struct mlq_gpart *p, const char *why, bool linger,
                       struct mlq_err *err)
{
    struct mlq_job *job = p->job;
    int rc = part_live(p) ? lose_one(c, p, why, linger, err) : 0;
    return rc < 0 ? rc : end_if_done(c, job, err);
}

struct pick {
    struct mlq_job_pick base;
    const char *worker; /* NULL: unconfirmed past base.now */
    const struct mlq_held_attempt *held;
    size_t nheld;
    size_t left;
};

static int held_cmp(const void *a, const void *b)
{
    return strcmp(((const struct mlq_held_attempt *)a)->attempt_id,
                  ((const struct mlq_held_attempt *)b)->attempt_id);
}

/* count: tally the parts still waiting for their worker (only while
 * picking, so that each is counted once). */
static bool part_hit(struct pick *k, const struct mlq_gpart *p, int64_t now, bool count)
{
    if (!part_live(p))
        return false;
    if (!k->worker) {
        k->left += count && !p->confirmed && p->confirm_by > now;
        return !p->confirmed && p->confirm_by <= now;
    }
    if (strcmp(p->row.a.worker, k->worker) != 0)
        return false;
    if (!k->held)
        return true;
    struct mlq_held_attempt key;
    memcpy(key.attempt_id, p->row.a.id, sizeof key.attempt_id);
    return !bsearch(&key, k->held, k->nheld, sizeof key, held_cmp);
}

static void pick_gang(struct mlq_job *job, void *arg)
{
    struct pick *k = arg;
    if (!job->live || !mlq_job_gang(job) || k->base.n == k->base.cap)
        return;
    bool hit = false;
    for (uint32_t i = 0; i < mlq_job_gang(job)->n; i++)
        hit |= part_hit(k, &mlq_job_gang(job)->parts[i], k->base.now, true);
    if (hit)
        k->base.v[k->base.n++] = job;
}

/* Loses the parts k picks, job by job, then ends each attempt that has
 * no live part left. */
static int lose_picked(struct mlq_ctx *c, struct pick *k, const char *why, bool linger,
                       struct mlq_err *err)
{
    int rc = mlq_jobops_collect(c, &k->base, pick_gang);
    if (rc < 0)
        return mlq_err_set(err, rc, "out of memory");
    for (size_t i = 0; i < k->base.n && rc == 0; i++) {
        struct mlq_job *job = k->base.v[i];
        for (uint32_t j = 0; j < mlq_job_gang(job)->n && rc == 0; j++)
            if (part_hit(k, &mlq_job_gang(job)->parts[j], k->base.now, false))
                rc = lose_one(c, &mlq_job_gang(job)->parts[j], why, linger, err);
        if (rc == 0)
            rc = end_if_done(c, job, err);
    }
    free(k->base.v);
    return rc;
}

int mlq_gang_lose_on(struct mlq_ctx *c, const char *worker, const char *why, bool linger,
                     size_t *left, struct mlq_err *err)
{
    struct pick k = {.worker = worker};
    k.base.now = c->now_mono;
    int rc = lose_picked(c, &k, why, linger, err);
    if (left)
        *left = k.left;
    return rc;
}

int mlq_gang_reconcile_missing(struct mlq_ctx *c, struct mlq_worker *w,
                               const struct mlq_held_attempt *sorted, size_t n, struct mlq_err *err)
{
    static const struct mlq_held_attempt none;
    struct pick k = {.worker = w->name, .held = n ? sorted : &none, .nheld = n};
    k.base.now = c->now_mono;
    return lose_picked(c, &k, "its worker no longer holds it", false, err);
}

bool mlq_gang_reconcile_held(struct mlq_ctx *c, struct mlq_worker *w, const char *attempt_id,
                             bool finished)
{
    struct mlq_gpart *p = mlq_jobtab_part(c->jobs, attempt_id);
    if (!p || !part_live(p) || strcmp(p->row.a.worker, w->name) != 0)
        return false; /* not a live part here: fenced like any stale attempt */
    p->confirmed = p->acked = true;
    struct mlq_job *job = p->job;
    if (!finished && (mlq_job_gang(job)->stopping || job->row.state == MLQ_JOB_CANCELLED ||
                      job->row.spec.preempt_note))
        kill_part(c, p, job->row.reason ? job->row.reason : "gang stopped");
    return true;
}

/* ---- a lost part's late outcome ----------------------------------------- */

struct late_peers {
    int32_t rank;
    bool all_ok;
};

static int peer_ok(const struct mlq_store_part *p, void *arg)
{
    struct late_peers *k = arg;
    if (p->rank != k->rank && p->a.state != MLQ_ATT_SUCCEEDED)
        k->all_ok = false;
    return 0;
}

/* Whether p, a LOST part of w, is the last word its gang waits for: the
 * job is still PENDING with p's attempt its latest, the run ended before
 * the loss (jobops.c, ended_before_loss), and every other part SUCCEEDED. */
static struct mlq_job *late_fits(struct mlq_ctx *c, const struct mlq_worker *w,
                                 const struct mlq_store_part *p, const struct mlq_msg *rep)
{
    struct mlq_job *job = mlq_jobtab_get(c->jobs, p->a.job_id);
    int64_t end = rep->u.report.end_ms;
    if (p->a.state != MLQ_ATT_LOST || strcmp(p->a.worker, w->name) != 0 || !job || job->live ||
        job->held || job->row.state != MLQ_JOB_PENDING ||
        !mlq_idbin_is(&job->row.cur_att, p->attempt_id) || end <= 0 || p->a.end_ms <= 0 ||
        end + MLQ_FENCE_MARGIN_MS > p->a.end_ms)
        return NULL;
    struct late_peers k = {p->rank, true};
    if (mlq_store_each_part(c->store, p->attempt_id, peer_ok, &k, NULL) < 0 || !k.all_ok)
        return NULL;
    return job;
}

int mlq_gang_late_outcome(struct mlq_ctx *c, const struct mlq_worker *w, const struct mlq_msg *rep,
                          bool *taken, struct mlq_err *err)
{
    *taken = false;
    struct mlq_store_part p;
    if (rep->u.report.phase != MLQ_PHASE_FINISHED || rep->u.report.outcome != MLQ_OUT_EXITED ||
        rep->u.report.exit_code != 0 ||
        mlq_store_part_get(c->store, rep->u.report.attempt_id, &p, NULL) < 0)
        return 0;
    struct mlq_job *job = late_fits(c, w, &p, rep);
    struct mlq_store_attempt a;
    int rc = 0;
    if (job && mlq_store_attempt_get(c->store, p.attempt_id, &a, NULL) == 0) {
        p.a.state = MLQ_ATT_SUCCEEDED;
        p.a.exit_code = 0;
        p.a.signal = 0;
        p.a.end_ms = rep->u.report.end_ms;
        rc = mlq_store_begin(c->store, err);
        if (rc == 0)
            rc = mlq_store_part_save(c->store, &p, err);
        if (rc == 0)
            rc = mlq_jobops_take_late(c, job, &a, rep, err);
        *taken = rc == 0;
        mlq_store_attempt_free(&a);
    }
    mlq_store_attempt_free(&p.a);
    return rc;
}
