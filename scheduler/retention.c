/* retention: see retention.h. */
#include "retention.h"

#include <stdlib.h>
#include <string.h>

#include "deps.h"
#include "jobtab.h"
#include "log.h"
#include "logstore.h"
#include "store.h"

/* Idempotency keys answer for 7 days (storepipe.c): the jobs they name
 * stay at least as long. */
#define IDEM_VALID_MS (7LL * 24 * 3600 * 1000)

struct mlq_retention {
    struct mlq_retention_opts o;
    int64_t cursor;    /* the next window starts after this job seq */
    int64_t next_mono; /* when the next batch is due */
    /* Attempts of deleted jobs whose logs go after the commit. */
    char (*gone)[MLQ_ID_LEN + 1];
    size_t ngone, capgone;
    struct mlq_retention_stats st, pending; /* pending: not committed yet */
    /* The last array looked at in this batch, and whether it is live. */
    char arr[MLQ_ID_LEN + 1];
    bool arr_live;
    struct mlq_store_old_job batch[MLQ_RETENTION_BATCH];
};

int mlq_retention_create(const struct mlq_retention_opts *o, struct mlq_retention **out,
                         struct mlq_err *err)
{
    *out = NULL;
    if (o->jobs_ms < 0 || o->events_ms < 0 || o->logs_bytes < 0)
        return mlq_err_set(err, MLQ_EINVAL, "retention settings must not be negative");
    struct mlq_retention *r = calloc(1, sizeof *r);
    if (!r)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    r->o = *o;
    *out = r;
    return 0;
}

int mlq_retention_set(struct mlq_retention *r, const struct mlq_retention_opts *o,
                      struct mlq_err *err)
{
    if (o->jobs_ms < 0 || o->events_ms < 0 || o->logs_bytes < 0)
        return mlq_err_set(err, MLQ_EINVAL, "retention settings must not be negative");
    r->o = *o;
    r->next_mono = 0; /* the settings may make a batch due now */
    return 0;
}

void mlq_retention_destroy(struct mlq_retention **r)
{
    if (!r || !*r)
        return;
    free((*r)->gone);
    free(*r);
    *r = NULL;
}

/* Collected during a job's deletion; without memory the log files stay
 * (the size cap still reaches them). */
static void note_gone(void *ctx, const char *attempt_id)
{
    struct mlq_retention *r = ctx;
    if (r->ngone == r->capgone) {
        size_t cap = r->capgone ? r->capgone * 2 : 64;
        void *g = realloc(r->gone, cap * sizeof *r->gone);
        if (!g)
            return;
        r->gone = g;
        r->capgone = cap;
    }
    memcpy(r->gone[r->ngone++], attempt_id, MLQ_ID_LEN + 1);
}

static bool has_waiters(struct mlq_ctx *c, const char *target)
{
    struct mlq_job **v = NULL;
    size_t n = 0;
    if (mlq_deps_waiters(c->deps, target, &v, &n) < 0)
        return true; /* cannot tell: keep it */
    free(v);
    return n > 0;
}

/* What the store cannot see: jobs in memory, dependencies, live arrays. */
static int may_delete(struct mlq_retention *r, struct mlq_ctx *c, const struct mlq_store_old_job *j,
                      bool *ok, struct mlq_err *err)
{
    *ok = false;
    if (mlq_jobtab_get(c->jobs, j->id) || has_waiters(c, j->id))
        return 0;
    if (!j->array_id[0]) {
        *ok = true;
        return 0;
    }
    if (has_waiters(c, j->array_id))
        return 0;
    if (strcmp(r->arr, j->array_id) != 0) {
        int rc = mlq_store_array_live(c->store, j->array_id, &r->arr_live, err);
        if (rc < 0)
            return rc;
        memcpy(r->arr, j->array_id, sizeof r->arr);
    }
    *ok = !r->arr_live;
    return 0;
}

static int delete_jobs(struct mlq_retention *r, struct mlq_ctx *c,
                       const struct mlq_store_old_job *v, size_t n, struct mlq_err *err)
{
    r->arr[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        bool ok;
        int rc = may_delete(r, c, &v[i], &ok, err);
        if (rc == 0 && ok)
            rc = mlq_store_job_delete(c->store, &v[i], note_gone, r, err);
        if (rc == 0 && ok && v[i].array_id[0])
            rc = mlq_store_array_delete_if_empty(c->store, v[i].array_id, err);
        if (rc < 0)
            return rc;
        r->pending.jobs += ok;
    }
    return 0;
}

/* One window of job seqs; *behind when the batch came back full. */
static int jobs_batch(struct mlq_retention *r, struct mlq_ctx *c, bool *behind, struct mlq_err *err)
{
    struct mlq_store_old_job *v = r->batch;
    int64_t max = 0;
    size_t n = 0;
    int rc = mlq_store_retain_max_seq(c->store, &max, err);
    if (rc < 0)
        return rc;
    if (r->cursor >= max)
        r->cursor = 0; /* wrapped: look at the oldest jobs again */
    int64_t upto = r->cursor + MLQ_RETENTION_WINDOW;
    rc = mlq_store_retain_candidates(c->store, r->cursor, upto, c->now_wall - r->o.jobs_ms,
                                     c->now_wall - IDEM_VALID_MS, v, MLQ_RETENTION_BATCH, &n, err);
    if (rc == 0)
        rc = delete_jobs(r, c, v, n, err);
    if (rc < 0)
        return rc;
    *behind = *behind || n == MLQ_RETENTION_BATCH;
    r->cursor = n == MLQ_RETENTION_BATCH ? v[n - 1].seq : upto;
    return 0;
}

int mlq_retention_tick(struct mlq_retention *r, struct mlq_ctx *c, struct mlq_err *err)
{
    if (c->now_mono < r->next_mono)
        return 0;
    r->next_mono = c->now_mono + MLQ_RETENTION_EVERY_MS;
    bool behind = false;
    int rc = 0;
    if ((r->o.jobs_ms > 0 || r->o.events_ms > 0) && (rc = mlq_store_begin(c->store, err)) < 0)
        return rc;
    if (r->o.jobs_ms > 0)
        rc = jobs_batch(r, c, &behind, err);
    if (rc == 0 && r->o.events_ms > 0) {
        int n = 0;
        rc = mlq_store_events_delete_old(c->store, c->now_wall - r->o.events_ms,
                                         MLQ_RETENTION_EVENTS_BATCH, &n, err);
        r->pending.events += (uint64_t)n;
        behind = behind || n == MLQ_RETENTION_EVENTS_BATCH;
    }
    if (rc == 0 && r->o.logs_bytes > 0) {
        int n = mlq_logstore_trim(c->logstore, r->o.logs_bytes, MLQ_RETENTION_LOGS_BATCH);
        r->st.log_files += (uint64_t)n;
        behind = behind || n == MLQ_RETENTION_LOGS_BATCH;
        if (n > 0)
            mlq_debug("retention: %d log file(s) removed, the log store is over its cap", n);
    }
    if (behind)
        r->next_mono = c->now_mono + MLQ_RETENTION_BEHIND_MS;
    return rc;
}

void mlq_retention_committed(struct mlq_retention *r, struct mlq_ctx *c)
{
    for (size_t i = 0; i < r->ngone; i++)
        mlq_logstore_remove(c->logstore, r->gone[i]);
    if (r->pending.jobs || r->pending.events)
        mlq_debug("retention: deleted %llu finished job(s), %llu old event(s)",
                  (unsigned long long)r->pending.jobs, (unsigned long long)r->pending.events);
    r->st.jobs += r->pending.jobs;
    r->st.events += r->pending.events;
    memset(&r->pending, 0, sizeof r->pending);
    r->ngone = 0;
}

void mlq_retention_rolled_back(struct mlq_retention *r)
{
    memset(&r->pending, 0, sizeof r->pending);
    r->ngone = 0;
}

void mlq_retention_stats(const struct mlq_retention *r, struct mlq_retention_stats *out)
{
    *out = r->st;
}
