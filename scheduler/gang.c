/* gang: placement, reservation, `why`, restart and status of gangs (see
 * gang.h); the lifecycle of a placed gang is in ganglife.c. */
#include "gang.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deliver.h"
#include "fairshare.h"
#include "id.h"
#include "jobops.h"
#include "jobops_int.h"
#include "log.h"
#include "placement.h"
#include "queue.h"
#include "quota.h"

uint32_t mlq_gang_nodes(const struct mlq_job *job)
{
    return job->row.spec.nodes;
}

/* ---- rendezvous ports ----------------------------------------------------- */

static bool port_used(const struct mlq_worker *w, int32_t port)
{
    for (uint32_t i = 0; i < w->nrdv_used; i++)
        if (w->rdv_used[i] == port)
            return true;
    return false;
}

/* The lowest port of w's range no gang holds; 0 when all are taken. */
static int32_t free_port(const struct mlq_worker *w)
{
    int32_t lo = w->rdv_lo > 0 ? w->rdv_lo : MLQ_GANG_RDV_LO;
    int32_t hi = w->rdv_lo > 0 ? w->rdv_hi : MLQ_GANG_RDV_HI;
    for (int32_t p = lo; p <= hi; p++)
        if (!port_used(w, p))
            return p;
    return 0;
}

int mlq_gang_book_port(struct mlq_worker *w, int32_t port)
{
    if (port <= 0 || port_used(w, port))
        return 0;
    if (w->nrdv_used == w->cap_rdv_used) {
        uint32_t cap = w->cap_rdv_used ? w->cap_rdv_used * 2 : 8;
        int32_t *v = realloc(w->rdv_used, cap * sizeof *v);
        if (!v)
            return MLQ_ENOMEM;
        w->rdv_used = v;
        w->cap_rdv_used = cap;
    }
    w->rdv_used[w->nrdv_used++] = port;
    return 0;
}

void mlq_gang_free_port(struct mlq_worker *w, int32_t port)
{
    for (uint32_t i = 0; w && i < w->nrdv_used; i++)
        if (w->rdv_used[i] == port) {
            w->rdv_used[i] = w->rdv_used[--w->nrdv_used];
            return;
        }
}

/* ---- placement ------------------------------------------------------------ */

static bool in_set(const struct mlq_resv *rv, size_t widx)
{
    return widx < MLQ_MAX_WORKERS && (rv->set[widx / 8] >> (widx % 8)) & 1;
}

bool mlq_gang_resv_allows(const struct mlq_ctx *c, const struct mlq_resv *rv,
                          const struct mlq_worker *w, const struct mlq_job *job)
{
    if (!rv || !rv->on || strcmp(rv->job_id, job->row.id) == 0)
        return true;
    if (!rv->gang)
        return w != rv->w || mlq_backfill_allows(c, rv, job);
    if (!in_set(rv, mlq_workers_index(c->workers, w)))
        return true;
    /* A held worker takes only what surely ends before the gang starts. */
    return mlq_backfill_expected_end(c, job) <= rv->at_ms;
}

struct cand {
    struct mlq_worker *w;
    const struct mlq_request *r;
};

static const struct mlq_request *g_sort_req; /* qsort has no context argument */

static int by_fit(const void *a, const void *b)
{
    return mlq_place_fit_compare(((const struct cand *)a)->w, ((const struct cand *)b)->w,
                                 g_sort_req);
}

/* Open workers where one part fits now and rv lets job go, best fit first.
 * The caller frees *out. */
static int candidates(struct mlq_ctx *c, const struct mlq_job *job, const struct mlq_request *r,
                      const struct mlq_resv *rv, struct cand **out, size_t *n)
{
    size_t nw = mlq_workers_count(c->workers);
    *n = 0;
    *out = calloc(nw ? nw : 1, sizeof **out);
    if (!*out)
        return MLQ_ENOMEM;
    for (size_t i = 0; i < nw; i++) {
        struct mlq_worker *w = mlq_workers_at(c->workers, i);
        if (mlq_place_open(w) && mlq_place_fits_now(w, r) && mlq_gang_resv_allows(c, rv, w, job))
            (*out)[(*n)++] = (struct cand){w, r};
    }
    g_sort_req = r;
    qsort(*out, *n, sizeof **out, by_fit);
    return 0;
}

/* Node 0 is the best-fitting candidate with a rendezvous port free; it
 * goes first, the rest keep their order. False when none has one. */
static bool pick_master(struct cand *v, size_t n, uint32_t nodes, int32_t *port)
{
    for (size_t i = 0; i < n; i++) {
        int32_t p = free_port(v[i].w);
        if (p > 0) {
            struct cand m = v[i];
            memmove(&v[1], &v[0], i * sizeof *v);
            v[0] = m;
            *port = p;
            return n >= nodes;
        }
    }
    return false;
}

static struct mlq_gang *gang_new(uint32_t n)
{
    struct mlq_gang *g = calloc(1, sizeof *g);
    if (g && !(g->parts = calloc(n, sizeof *g->parts))) {
        free(g);
        return NULL;
    }
    if (g) {
        g->n = n;
        g->first_rank = -1;
    }
    return g;
}

/* Books part rank k of the attempt a on w and records it ASSIGNED. */
static int book_part(struct mlq_ctx *c, struct mlq_job *job, const struct mlq_store_attempt *a,
                     struct mlq_gpart *p, uint32_t k, struct mlq_worker *w, int32_t port,
                     struct mlq_err *err)
{
    struct mlq_request r = mlq_place_request(&job->row.spec);
    if (mlq_place_pick_gpus(w, r.gpus, r.gpu_type, &p->gpu_mask) < 0)
        return mlq_err_set(err, MLQ_EDB, "gang %.8s: GPUs vanished on %s", job->row.id, w->name);
    struct mlq_store_part *row = &p->row;
    mlq_id_new_ordered(row->a.id);
    memcpy(row->a.job_id, job->row.id, sizeof row->a.job_id);
    memcpy(row->attempt_id, a->id, sizeof row->attempt_id);
    row->a.num = a->num;
    row->rank = (int32_t)k;
    row->rdv_port = k == 0 ? port : 0;
    snprintf(row->a.worker, sizeof row->a.worker, "%s", w->name);
    mlq_place_gpus_fmt(p->gpu_mask, row->a.gpu_ids, sizeof row->a.gpu_ids);
    row->a.state = MLQ_ATT_ASSIGNED;
    row->a.assigned_ms = a->assigned_ms;
    row->a.exit_code = -1;
    p->widx = mlq_workers_index(c->workers, w);
    p->booked = p->confirmed = true;
    mlq_place_reserve(w, &r, p->gpu_mask);
    if (k == 0 && mlq_gang_book_port(w, port) < 0)
        return mlq_err_set(err, MLQ_EDB, "out of memory booking a rendezvous port");
    return mlq_store_part_save(c->store, row, err);
}

/* The attempt row: worker and GPUs are node 0's, for listings. */
static void attempt_row(struct mlq_ctx *c, const struct mlq_job *job, const struct cand *v,
                        struct mlq_store_attempt *a)
{
    memset(a, 0, sizeof *a);
    a->num = job->row.attempts + 1;
    a->state = MLQ_ATT_ASSIGNED;
    mlq_id_new_ordered(a->id);
    memcpy(a->job_id, job->row.id, sizeof a->job_id);
    a->job_seq = job->row.seq;
    snprintf(a->worker, sizeof a->worker, "%s", v[0].w->name);
    a->assigned_ms = c->now_wall;
    a->exit_code = -1;
}

static int dispatch(struct mlq_ctx *c, struct mlq_job *job, struct cand *v, int32_t port,
                    struct mlq_err *err)
{
    uint32_t n = mlq_gang_nodes(job);
    struct mlq_store_attempt a;
    attempt_row(c, job, v, &a);
    struct mlq_gang *g = gang_new(n);
    if (!g)
        return mlq_err_set(err, MLQ_EDB, "out of memory placing gang %.8s", job->row.id);
    job->row.attempts = a.num;
    mlq_idbin_set(&job->row.cur_att, a.id); /* canonical: made by mlq_id_new_ordered */
    enum mlq_fsm_action act;
    int rc = mlq_jobops_transition(c, job, MLQ_EV_DISPATCH, NULL, &act, err);
    if (rc == 0)
        rc = mlq_store_begin(c->store, err);
    for (uint32_t k = 0; rc == 0 && k < n; k++)
        rc = book_part(c, job, &a, &g->parts[k], k, v[k].w, port, err);
    if (rc == 0) { /* listings show node 0's GPUs */
        memcpy(a.gpu_ids, g->parts[0].row.a.gpu_ids, sizeof a.gpu_ids);
        rc = mlq_store_attempt_save(c->store, &a, -1, false, err);
    }
    mlq_queue_remove(c->queue, job);
    if (rc == 0 && mlq_jobtab_set_attempt(c->jobs, job, &a) < 0)
        rc = mlq_err_set(err, MLQ_EDB, "out of memory placing gang %.8s", job->row.id);
    if (rc < 0) { /* the iteration rolls back and memory is rebuilt */
        for (uint32_t k = 0; k < n; k++)
            mlq_store_attempt_free(&g->parts[k].row.a);
        free(g->parts);
        free(g);
        return rc;
    }
    mlq_jobtab_set_gang(c->jobs, job, g);
    job->confirmed = true;
    mlq_job_run(job)->gpu_mask = 0; /* the parts hold the GPUs */
    mlq_job_run(job)->widx = g->parts[0].widx;
    struct mlq_request r = mlq_place_request(&job->row.spec);
    if (mlq_fairshare_start_job(c->fs, job->row.spec.owner, job->row.spec.team, r.cpus_m * n,
                                r.gpus * 100 * (int32_t)n, a.assigned_ms) < 0)
        mlq_warn("fair share: out of memory");
    mlq_quota_job_started(c, job);
    mlq_info("gang %.8s attempt %d -> %u workers, node 0 on %s (rendezvous port %d)", job->row.id,
             a.num, n, v[0].w->name, port);
    for (uint32_t k = 0; rc == 0 && k < n; k++) {
        mlq_deliver_arm_part(c, g->parts[k].row.a.id);
        rc = mlq_gang_push_assign(c, &g->parts[k], err);
    }
    return rc;
}

int mlq_gang_place(struct mlq_ctx *c, struct mlq_job *job, const struct mlq_resv *rv, bool *placed,
                   struct mlq_err *err)
{
    struct mlq_request r = mlq_place_request(&job->row.spec);
    uint32_t n = mlq_gang_nodes(job);
    struct cand *v;
    size_t nv;
    *placed = false;
    if (candidates(c, job, &r, rv, &v, &nv) < 0)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    int32_t port = 0;
    int rc = 0;
    if (nv >= n && pick_master(v, nv, n, &port)) {
        rc = dispatch(c, job, v, port, err);
        *placed = rc == 0;
    }
    free(v);
    return rc;
}

/* ---- reservation ---------------------------------------------------------- */

struct soon {
    size_t widx;
    int64_t at;
};

static int by_at(const void *a, const void *b)
{
    int64_t x = ((const struct soon *)a)->at, y = ((const struct soon *)b)->at;
    return (x > y) - (x < y);
}

/* The N workers where a part fits soonest; the gang starts when the last
 * of them is free. */
int mlq_gang_reserve(struct mlq_ctx *c, const struct mlq_job *job, struct mlq_resv *rv)
{
    memset(rv, 0, sizeof *rv);
    uint32_t n = mlq_gang_nodes(job);
    size_t nw = mlq_workers_count(c->workers), k = 0;
    struct soon *v = calloc(nw ? nw : 1, sizeof *v);
    if (!v)
        return MLQ_ENOMEM;
    for (size_t i = 0; i < nw; i++) {
        struct mlq_worker *w = mlq_workers_at(c->workers, i);
        struct mlq_request r = mlq_place_request(&job->row.spec);
        if (!mlq_place_open(w) || !mlq_place_fits_ever(w, &r) || i >= MLQ_MAX_WORKERS)
            continue;
        int64_t at = mlq_backfill_soonest(c, w, &r);
        if (at >= 0)
            v[k++] = (struct soon){i, at};
    }
    qsort(v, k, sizeof *v, by_at);
    if (k >= n && n > 0 && v[n - 1].at <= c->now_wall + MLQ_GANG_HOLD_MS) {
        rv->on = rv->gang = true;
        rv->at_ms = v[n - 1].at;
        rv->w = mlq_workers_at(c->workers, v[0].widx);
        rv->need = mlq_place_request(&job->row.spec);
        memcpy(rv->job_id, job->row.id, sizeof rv->job_id);
        for (uint32_t i = 0; i < n; i++)
            rv->set[v[i].widx / 8] |= (uint8_t)(1u << (v[i].widx % 8));
    }
    free(v);
    return 0;
}

/* ---- why ------------------------------------------------------------------ */

static void need_text(const struct mlq_job *job, char *buf, size_t len)
{
    const struct mlq_jobspec *s = &job->row.spec;
    if (s->gpus > 0)
        snprintf(buf, len, "needs %u nodes with %d GPUs%s%s%s", s->nodes, (int)s->gpus,
                 s->gpu_type ? " (" : "", s->gpu_type ? s->gpu_type : "", s->gpu_type ? ")" : "");
    else
        snprintf(buf, len, "needs %u nodes with %.3g CPUs and %lld MiB", s->nodes,
                 (double)s->cpus_m / 1000.0, (long long)(s->mem >> 20));
}

/* What the closest worker that never fits lacks: "GPUs (w7 has 4)". The
 * name is cut at LACK_NAME_MAX so that the text fits the caller's buffer
 * (a release build's -Wformat-truncation proves it). */
#define LACK_NAME_MAX 100
static void lack_text(const struct mlq_worker *w, const struct mlq_request *r, char *buf,
                      size_t len)
{
    int32_t g = mlq_place_gpus_total(w, r->gpu_type);
    int nl = LACK_NAME_MAX;
    if (g < r->gpus)
        snprintf(buf, len, "GPUs (%.*s has %d)", nl, w->name, (int)g);
    else if (w->cpus_m < r->cpus_m)
        snprintf(buf, len, "CPUs (%.*s has %.3g)", nl, w->name, (double)w->cpus_m / 1000.0);
    else
        snprintf(buf, len, "memory (%.*s has %lld MiB)", nl, w->name, (long long)(w->mem >> 20));
}

void mlq_gang_why(struct mlq_ctx *c, const struct mlq_job *job, char *text, size_t len,
                  const char **blocker)
{
    struct mlq_request r = mlq_place_request(&job->row.spec);
    uint32_t n = mlq_gang_nodes(job), now = 0, later = 0, lack = 0;
    char lacks[160] = "", need[160];
    for (size_t i = 0; i < mlq_workers_count(c->workers); i++) {
        struct mlq_worker *w = mlq_workers_at(c->workers, i);
        if (!mlq_place_eligible(w, &r) || w->forgotten)
            continue;
        if (mlq_place_open(w) && mlq_place_fits_now(w, &r))
            now++;
        else if (mlq_place_fits_ever(w, &r))
            later++;
        else if (++lack == 1)
            lack_text(w, &r, lacks, sizeof lacks);
    }
    need_text(job, need, sizeof need);
    uint32_t more = later < n - (now < n ? now : n) ? later : n - (now < n ? now : n);
    int off = snprintf(text, len, "%s; %u fit now", need, now);
    if (more > 0 && off > 0 && (size_t)off < len)
        off += snprintf(text + off, len - (size_t)off, ", %u more fit%s once busy jobs end", more,
                        more == 1 ? "s" : "");
    if (lack > 0 && off > 0 && (size_t)off < len)
        off += snprintf(text + off, len - (size_t)off, ", %u lack%s %s", lack, lack == 1 ? "s" : "",
                        lacks);
    if (now + later < n && off > 0 && (size_t)off < len)
        snprintf(text + off, len - (size_t)off,
                 "; only %u of the cluster's workers can ever hold a node, it waits for more",
                 now + later);
    *blocker = now + later < n ? "never_fits" : now >= n ? "reservation" : "resources";
}

/* ---- restart -------------------------------------------------------------- */

struct load {
    struct mlq_ctx *c;
    struct mlq_job *job;
    struct mlq_gang *g;
    struct mlq_err *err;
};

/* A part still live books its resources (and node 0 its port) on its
 * worker, and waits for the worker's confirmation like any attempt. */
static int load_part(const struct mlq_store_part *row, void *arg)
{
    struct load *l = arg;
    uint32_t k = (uint32_t)row->rank;
    if (row->rank < 0 || k >= l->g->n)
        return mlq_err_set(l->err, MLQ_EDB, "gang %.8s: part of rank %d beyond %u nodes",
                           l->job->row.id, (int)row->rank, l->g->n);
    struct mlq_gpart *p = &l->g->parts[k];
    p->row = *row;
    p->row.a.detail = row->a.detail ? strdup(row->a.detail) : NULL;
    struct mlq_worker *w = mlq_workers_add(l->c->workers, row->a.worker);
    if (!w)
        return mlq_err_set(l->err, MLQ_ENOMEM, "too many workers");
    p->widx = mlq_workers_index(l->c->workers, w);
    if (mlq_attempt_state_terminal(row->a.state))
        return 0;
    if (mlq_place_gpus_parse(row->a.gpu_ids, &p->gpu_mask) < 0)
        mlq_warn("gang part %s: bad GPU list \"%s\" in database", row->a.id, row->a.gpu_ids);
    struct mlq_request r = mlq_place_request(&l->job->row.spec);
    mlq_place_reserve(w, &r, p->gpu_mask);
    p->booked = true;
    p->confirmed = false;
    p->confirm_by = l->c->now_mono + l->c->lease_ms;
    l->c->unconfirmed_left = true;
    return row->rdv_port > 0 && mlq_gang_book_port(w, row->rdv_port) < 0
               ? mlq_err_set(l->err, MLQ_ENOMEM, "out of memory")
               : 0;
}

/* A part that ended badly before the restart: the gang was stopping. */
static void note_ended_badly(struct mlq_gang *g)
{
    for (uint32_t k = 0; k < g->n; k++) {
        const struct mlq_store_attempt *a = &g->parts[k].row.a;
        if (!mlq_attempt_state_terminal(a->state) || a->state == MLQ_ATT_SUCCEEDED ||
            g->first_rank >= 0)
            continue;
        g->stopping = true;
        g->first_rank = (int32_t)k;
        g->lost = a->state == MLQ_ATT_LOST;
        g->out = a->state == MLQ_ATT_TIMED_OUT ? MLQ_OUT_TIMED_OUT
                 : a->signal > 0               ? MLQ_OUT_SIGNALED
                                               : MLQ_OUT_EXITED;
        g->exit_code = a->exit_code;
        g->signal = a->signal;
        snprintf(g->first, sizeof g->first, "node %u (worker %s) %s", k, a->worker,
                 a->detail ? a->detail : mlq_attempt_state_name(a->state));
    }
}

int mlq_gang_recover(struct mlq_ctx *c, struct mlq_job *job, struct mlq_err *err)
{
    uint32_t n = mlq_gang_nodes(job);
    struct mlq_gang *g = gang_new(n ? n : 1);
    if (!g)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    struct load l = {c, job, g, err};
    int rc = mlq_store_each_part(c->store, job->att->id, load_part, &l, err);
    for (uint32_t k = 0; rc == 0 && k < g->n; k++)
        if (!g->parts[k].row.a.id[0]) /* the rows go in one transaction: never half */
            rc = mlq_err_set(err, MLQ_EDB, "gang %.8s: part %u of attempt %s is missing",
                             job->row.id, k, job->att->id);
    if (rc < 0) {
        for (uint32_t k = 0; k < g->n; k++)
            mlq_store_attempt_free(&g->parts[k].row.a);
        free(g->parts);
        free(g);
        return rc;
    }
    note_ended_badly(g);
    mlq_jobtab_set_gang(c->jobs, job, g);
    job->confirmed = true; /* the parts wait for their workers, not the attempt */
    mlq_job_run(job)->gpu_mask = 0;
    mlq_job_run(job)->widx = g->parts[0].widx;
    return 0;
}

/* ---- status and logs ------------------------------------------------------ */

struct info {
    struct mlq_ctx *c;
    struct mlq_jobinfo *j;
};

static int info_part(const struct mlq_store_part *row, void *arg)
{
    struct info *in = arg;
    if (in->j->nparts >= MLQ_MAX_NODES)
        return 0;
    struct mlq_partinfo *p = &in->j->parts[in->j->nparts++];
    const struct mlq_worker *w = mlq_workers_get(in->c->workers, row->a.worker);
    p->rank = row->rank;
    p->state = row->a.state;
    p->start_ms = row->a.start_ms;
    p->end_ms = row->a.end_ms;
    p->exit_code = row->a.exit_code;
    p->signal = row->a.signal;
    p->worker = strdup(row->a.worker);
    p->addr = w && w->addr[0] ? strdup(w->addr) : NULL;
    p->gpu_ids = row->a.gpu_ids[0] ? strdup(row->a.gpu_ids) : NULL;
    p->detail = row->a.detail ? strdup(row->a.detail) : NULL;
    return p->worker ? 0 : MLQ_ENOMEM;
}

int mlq_gang_info_parts(struct mlq_ctx *c, const char *attempt_id, struct mlq_jobinfo *info,
                        struct mlq_err *err)
{
    info->parts = calloc(MLQ_MAX_NODES, sizeof *info->parts);
    if (!info->parts)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    info->nparts = 0;
    struct info in = {c, info};
    int rc = mlq_store_each_part(c->store, attempt_id, info_part, &in, err);
    return rc == MLQ_ENOMEM ? mlq_err_set(err, rc, "out of memory") : rc;
}

struct find {
    int32_t rank;
    struct mlq_store_attempt *out;
    bool found;
};

static int find_part(const struct mlq_store_part *row, void *arg)
{
    struct find *f = arg;
    if (row->rank != f->rank)
        return 0;
    *f->out = row->a;
    f->out->detail = row->a.detail ? strdup(row->a.detail) : NULL;
    f->found = true;
    return 0;
}

int mlq_gang_part_of(struct mlq_ctx *c, const char *attempt_id, int32_t rank,
                     struct mlq_store_attempt *out, struct mlq_err *err)
{
    struct find f = {rank, out, false};
    memset(out, 0, sizeof *out);
    int rc = mlq_store_each_part(c->store, attempt_id, find_part, &f, err);
    if (rc == 0 && !f.found)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "the gang has no node %d", (int)rank);
    return rc;
}
