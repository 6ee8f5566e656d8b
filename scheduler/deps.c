/* deps: see deps.h. A target's state comes from memory when the job is
 * active, else from the store (terminal jobs, array summaries). */
#include "deps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

struct waiters {
    struct mlq_job **v;
    size_t n, cap;
};

struct mlq_deps {
    struct mlq_strmap *by_target;
};

struct mlq_deps *mlq_deps_create(void)
{
    struct mlq_deps *d = calloc(1, sizeof *d);
    if (d && !(d->by_target = mlq_strmap_create())) {
        free(d);
        return NULL;
    }
    return d;
}

static void free_waiters(void *p)
{
    struct waiters *w = p;
    free(w->v);
    free(w);
}

void mlq_deps_destroy(struct mlq_deps **d)
{
    if (!d || !*d)
        return;
    mlq_strmap_destroy(&(*d)->by_target, free_waiters);
    free(*d);
    *d = NULL;
}

static int add_waiter(struct mlq_deps *d, const char *target, struct mlq_job *job)
{
    struct waiters *w = mlq_strmap_get(d->by_target, target);
    if (!w) {
        if (!(w = calloc(1, sizeof *w)) || mlq_strmap_put(d->by_target, target, w) < 0) {
            free(w);
            return MLQ_ENOMEM;
        }
    }
    for (size_t i = 0; i < w->n; i++)
        if (w->v[i] == job)
            return 0;
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 4;
        struct mlq_job **v = realloc(w->v, cap * sizeof *v);
        if (!v)
            return MLQ_ENOMEM;
        w->v = v;
        w->cap = cap;
    }
    w->v[w->n++] = job;
    return 0;
}

int mlq_deps_hold(struct mlq_deps *d, struct mlq_job *job)
{
    for (uint32_t i = 0; i < job->row.spec.ndeps; i++) {
        int rc = add_waiter(d, job->row.spec.deps[i].target, job);
        if (rc < 0)
            return rc;
    }
    job->held = true;
    return 0;
}

void mlq_deps_release(struct mlq_deps *d, struct mlq_job *job)
{
    if (!job->held)
        return;
    for (uint32_t i = 0; i < job->row.spec.ndeps; i++) {
        const char *t = job->row.spec.deps[i].target;
        struct waiters *w = mlq_strmap_get(d->by_target, t);
        for (size_t k = 0; w && k < w->n; k++) {
            if (w->v[k] == job) {
                w->v[k] = w->v[--w->n];
                break;
            }
        }
        if (w && w->n == 0)
            free_waiters(mlq_strmap_take(d->by_target, t));
    }
    job->held = false;
}

int mlq_deps_waiters(struct mlq_deps *d, const char *target, struct mlq_job ***out, size_t *n)
{
    struct waiters *w = mlq_strmap_get(d->by_target, target);
    *n = w ? w->n : 0;
    *out = NULL;
    if (!*n)
        return 0;
    if (!(*out = malloc(*n * sizeof **out)))
        return MLQ_ENOMEM;
    memcpy(*out, w->v, *n * sizeof **out);
    return 0;
}

static bool failed_state(enum mlq_job_state s)
{
    return s == MLQ_JOB_FAILED || s == MLQ_JOB_TIMED_OUT || s == MLQ_JOB_CANCELLED;
}

/* One job target: met, waiting or never, by kind. */
static enum mlq_dep_status job_dep(enum mlq_job_state s, enum mlq_dep_kind kind)
{
    bool done = mlq_job_state_terminal(s);
    switch (kind) {
    case MLQ_DEP_ANY:
        return done ? MLQ_DEPS_MET : MLQ_DEPS_WAIT;
    case MLQ_DEP_FAILED:
        return !done ? MLQ_DEPS_WAIT : failed_state(s) ? MLQ_DEPS_MET : MLQ_DEPS_NEVER;
    default:
        return !done ? MLQ_DEPS_WAIT : s == MLQ_JOB_SUCCEEDED ? MLQ_DEPS_MET : MLQ_DEPS_NEVER;
    }
}

/* An array target, from its tasks' counts. */
static enum mlq_dep_status array_dep(const struct mlq_arrayinfo *a, enum mlq_dep_kind kind)
{
    uint32_t ended = 0, failed = 0;
    for (int s = 0; s < MLQ_JOB_STATE_COUNT; s++) {
        if (mlq_job_state_terminal((enum mlq_job_state)s))
            ended += a->counts[s];
        if (failed_state((enum mlq_job_state)s))
            failed += a->counts[s];
    }
    bool all = ended == a->size;
    switch (kind) {
    case MLQ_DEP_ANY:
        return all ? MLQ_DEPS_MET : MLQ_DEPS_WAIT;
    case MLQ_DEP_FAILED:
        return failed ? MLQ_DEPS_MET : all ? MLQ_DEPS_NEVER : MLQ_DEPS_WAIT;
    default:
        return failed ? MLQ_DEPS_NEVER : all ? MLQ_DEPS_MET : MLQ_DEPS_WAIT;
    }
}

/* Status of one dependency, with the target's state for messages. */
static enum mlq_dep_status one_dep(struct mlq_ctx *c, const struct mlq_dep *dep, char *state,
                                   size_t len)
{
    const struct mlq_job *t = mlq_jobtab_get(c->jobs, dep->target);
    if (t) {
        snprintf(state, len, "%s", mlq_job_state_name(t->row.state));
        return job_dep(t->row.state, dep->kind);
    }
    struct mlq_store_job row;
    if (mlq_store_job_get(c->store, dep->target, &row, NULL) == 0) {
        snprintf(state, len, "%s", mlq_job_state_name(row.state));
        enum mlq_dep_status st = job_dep(row.state, dep->kind);
        mlq_store_job_free(&row);
        return st;
    }
    struct mlq_arrayinfo a;
    if (mlq_store_array_info(c->store, dep->target, &a, NULL) == 0) {
        snprintf(state, len, "array, %u of %u tasks ended",
                 a.size - a.counts[MLQ_JOB_PENDING] - a.counts[MLQ_JOB_ASSIGNED] -
                     a.counts[MLQ_JOB_RUNNING],
                 a.size);
        enum mlq_dep_status st = array_dep(&a, dep->kind);
        mlq_proto_arrayinfo_free(&a);
        return st;
    }
    snprintf(state, len, "gone");
    return MLQ_DEPS_NEVER;
}

enum mlq_dep_status mlq_deps_check(struct mlq_ctx *c, const struct mlq_job *job, char *why,
                                   size_t len)
{
    static const char *const kinds[] = {"succeed", "end", "fail"};
    enum mlq_dep_status all = MLQ_DEPS_MET;
    why[0] = '\0';
    for (uint32_t i = 0; i < job->row.spec.ndeps; i++) {
        const struct mlq_dep *d = &job->row.spec.deps[i];
        char state[64];
        enum mlq_dep_status st = one_dep(c, d, state, sizeof state);
        if (st == MLQ_DEPS_NEVER) {
            snprintf(why, len, "dependency %.8s (%s) can no longer %s", d->target, state,
                     kinds[d->kind]);
            return MLQ_DEPS_NEVER;
        }
        if (st == MLQ_DEPS_WAIT && all == MLQ_DEPS_MET) {
            all = MLQ_DEPS_WAIT;
            snprintf(why, len, "waits for %.8s to %s (%s)", d->target, kinds[d->kind], state);
        }
    }
    return all;
}
