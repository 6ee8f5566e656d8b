/* workersum: `mlq workers --summary` (see workerset.h). One pass over the
 * workers, one row per pool: the scheduler has every number at hand, so a
 * cluster of thousands of workers costs one request and one reply rather
 * than a paged listing summed up by the client. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "placement.h"
#include "stranded.h"
#include "workerset.h"

/* More GPU types than this in one pool are counted as "other". */
#define SUM_MAX_TYPES MLQ_MAX_GPUS

struct sumrow {
    struct mlq_poolsum p;
    struct mlq_gpusum g[SUM_MAX_TYPES];
};

struct summary {
    struct sumrow *rows;
    size_t n, cap;
};

static struct sumrow *row_of(struct summary *s, const char *pool)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->rows[i].p.pool, pool) == 0)
            return &s->rows[i];
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct sumrow *r = realloc(s->rows, cap * sizeof *r);
        if (!r)
            return NULL;
        s->rows = r;
        s->cap = cap;
    }
    struct sumrow *r = &s->rows[s->n++];
    memset(r, 0, sizeof *r);
    r->p.pool = (char *)pool; /* the worker's: the reply is encoded before it can change */
    return r;
}

static struct mlq_gpusum *type_of(struct sumrow *r, const char *type)
{
    const char *t = type && *type ? type : "unknown";
    for (uint32_t i = 0; i < r->p.ngpus; i++)
        if (strcmp(r->g[i].type, t) == 0)
            return &r->g[i];
    if (r->p.ngpus == SUM_MAX_TYPES) { /* the last row takes in the rest */
        r->g[SUM_MAX_TYPES - 1].type = "other";
        return &r->g[SUM_MAX_TYPES - 1];
    }
    r->g[r->p.ngpus].type = (char *)t;
    return &r->g[r->p.ngpus++];
}

static void add_worker(struct sumrow *r, const struct mlq_worker *w, const struct mlq_demand *d)
{
    if (w->state != MLQ_WORKER_UP) {
        r->p.down++;
        return;
    }
    bool open = mlq_place_open(w);
    if (w->drained || w->draining)
        r->p.drained++;
    else if (w->unhealthy)
        r->p.unhealthy++;
    else
        r->p.up++;
    r->p.cpus_m += w->cpus_m;
    r->p.mem += w->mem;
    if (open && w->cpus_m > w->cpus_used_m)
        r->p.cpus_free_m += w->cpus_m - w->cpus_used_m;
    if (open && w->mem > w->mem_used)
        r->p.mem_free += w->mem - w->mem_used;
    r->p.gpus_stranded_h += mlq_stranded_worker(w, d, NULL);
    for (int i = 0; i < w->gpus && i < MLQ_MAX_GPUS; i++) {
        if (!mlq_worker_gpu_offered(w, i))
            continue;
        struct mlq_gpusum *g = type_of(r, mlq_worker_gpu_type(w, i));
        g->total++;
        g->free += open && !mlq_worker_gpu_busy(w, i);
    }
}

static int by_pool(const void *a, const void *b)
{
    return strcmp(((const struct mlq_poolsum *)a)->pool, ((const struct mlq_poolsum *)b)->pool);
}

int mlq_workerset_on_summary(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                             struct mlq_err *err)
{
    struct summary s = {0};
    struct mlq_demand d;
    int rc = mlq_stranded_demand(c, &d) < 0
                 ? mlq_err_set(err, MLQ_ENOMEM, "out of memory summing workers")
                 : 0;
    for (size_t i = 0; rc == 0 && i < mlq_workers_count(c->workers); i++) {
        const struct mlq_worker *w = mlq_workers_at(c->workers, i);
        if (w->forgotten)
            continue;
        struct sumrow *r = row_of(&s, w->pool[0] ? w->pool : "default");
        if (r)
            add_worker(r, w, &d);
        else
            rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory summing workers");
    }
    struct mlq_poolsum *v = rc == 0 ? calloc(s.n ? s.n : 1, sizeof *v) : NULL;
    if (rc == 0 && !v)
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory summing workers");
    for (size_t i = 0; rc == 0 && i < s.n; i++) {
        v[i] = s.rows[i].p;
        v[i].gpus = s.rows[i].g;
    }
    if (rc == 0) {
        qsort(v, s.n, sizeof *v, by_pool);
        struct mlq_msg m = {.type = MLQ_MSG_WORKER_SUMMARY_LIST, .rid = msg->rid};
        m.u.worker_summary.pools = v;
        m.u.worker_summary.npools = (uint32_t)s.n;
        rc = mlq_outbox_reply(c->out, peer, &m, err);
    }
    free(v);
    free(s.rows);
    mlq_stranded_demand_free(&d);
    return rc;
}
