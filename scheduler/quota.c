/* quota: see quota.h. */
#include "quota.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "placement.h"
#include "teams.h"

static const char *job_team(const struct mlq_job *job)
{
    return job->row.spec.team ? job->row.spec.team : "";
}

static const char *job_pool(const struct mlq_job *job)
{
    const char *p = job->row.spec.pool;
    return p && p[0] ? p : "default";
}

/* The one GPU type the job asks for (NULL: any, or alternatives): only
 * such jobs count against a cap per GPU type. */
static const char *job_gpu_type(const struct mlq_job *job)
{
    const char *t = job->row.spec.gpu_type;
    return t && t[0] && !strchr(t, '|') ? t : NULL;
}

void mlq_quota_job_amount(const struct mlq_job *job, struct mlq_quota_amount *out)
{
    const struct mlq_jobspec *sp = &job->row.spec;
    int64_t n = sp->nodes > 0 ? (int64_t)sp->nodes : 1; /* a gang books every node */
    /* A share asked by GPU memory alone is counted as the least share. */
    int64_t share = sp->gpu_frac > 0 ? sp->gpu_frac : sp->gpu_mem > 0 ? 1 : 0;
    out->gpus_h = ((int64_t)sp->gpus * 100 + share) * n;
    out->cpus_m = sp->cpus_m * n;
    out->mem = sp->mem * n;
}

void mlq_quota_job_started(struct mlq_ctx *c, struct mlq_job *job)
{
    if (!c->quota || job->quota_booked)
        return;
    struct mlq_quota_amount a;
    mlq_quota_job_amount(job, &a);
    if (mlq_qbook_add_use(c->quota, job_team(job), job_pool(job), job->row.spec.owner,
                          job_gpu_type(job), &a) < 0) {
        mlq_warn("quota: out of memory booking job %.8s", job->row.id);
        return;
    }
    job->quota_booked = true;
}

void mlq_quota_job_stopped(struct mlq_ctx *c, struct mlq_job *job)
{
    if (!c->quota || !job->quota_booked)
        return;
    struct mlq_quota_amount a;
    mlq_quota_job_amount(job, &a);
    mlq_qbook_sub_use(c->quota, job_team(job), job_pool(job), job->row.spec.owner,
                      job_gpu_type(job), &a);
    job->quota_booked = false;
}

/* What the pool's open workers have in all: the part no quota claims may
 * be borrowed by anyone. One step per worker, only for pools with quotas. */
static void pool_capacity(struct mlq_ctx *c, const char *pool, struct mlq_quota_amount *cap)
{
    *cap = (struct mlq_quota_amount){0};
    for (size_t i = 0; i < mlq_workers_count(c->workers); i++) {
        const struct mlq_worker *w = mlq_workers_at(c->workers, i);
        if (!mlq_place_open(w) || strcmp(w->pool, pool) != 0)
            continue;
        cap->gpus_h += (int64_t)mlq_place_gpus_total(w, NULL) * 100;
        cap->cpus_m += w->cpus_m;
        cap->mem += w->mem;
    }
}

bool mlq_quota_check(struct mlq_ctx *c, const struct mlq_job *job, struct mlq_qverdict *v)
{
    struct mlq_qverdict tmp;
    if (!v)
        v = &tmp;
    memset(v, 0, sizeof *v);
    if (!c->quota || !mlq_qbook_pool_has(c->quota, job_pool(job)))
        return true; /* the common case costs one look-up */
    struct mlq_quota_amount a, cap;
    mlq_quota_job_amount(job, &a);
    mlq_qbook_check(c->quota, job_team(job), job_pool(job), job->row.spec.owner, job_gpu_type(job),
                    &a, NULL, v);
    if (v->kind != MLQ_QV_COHORT)
        return mlq_qbook_admits(v);
    /* Only a job that would borrow more than the cohort leaves idle needs
     * the capacity no quota claims: the walk over workers is paid then. */
    pool_capacity(c, job_pool(job), &cap);
    mlq_qbook_check(c->quota, job_team(job), job_pool(job), job->row.spec.owner, job_gpu_type(job),
                    &a, &cap, v);
    return mlq_qbook_admits(v);
}

bool mlq_quota_explain(struct mlq_ctx *c, const struct mlq_job *job, struct mlq_qverdict *v,
                       char *buf, size_t len)
{
    buf[0] = '\0';
    mlq_quota_check(c, job, v);
    if (v->kind == MLQ_QV_NONE)
        return false;
    mlq_qbook_explain(v, job_team(job), job_pool(job), job->row.spec.owner, buf, len);
    return true;
}

bool mlq_quota_over_nominal(struct mlq_ctx *c, const char *team, const char *pool,
                            const struct mlq_quota_amount *minus)
{
    if (!c->quota || !mlq_qbook_pool_has(c->quota, pool))
        return false;
    const struct mlq_qdef *d = mlq_qbook_def(c->quota, team ? team : "", pool);
    struct mlq_quota_amount u, m = minus ? *minus : (struct mlq_quota_amount){0};
    mlq_qbook_used(c->quota, team ? team : "", pool, &u, NULL);
    int64_t used[] = {u.gpus_h - m.gpus_h, u.cpus_m - m.cpus_m, u.mem - m.mem};
    int64_t nom[] = {0, 0, 0};
    if (d) {
        nom[0] = d->nominal.gpus_h;
        nom[1] = d->nominal.cpus_m;
        nom[2] = d->nominal.mem;
    }
    for (int r = 0; r < MLQ_QUOTA_NRES; r++)
        if (nom[r] >= 0 && used[r] > nom[r])
            return true;
    return false;
}

bool mlq_quota_job_within_nominal(struct mlq_ctx *c, const struct mlq_job *job)
{
    struct mlq_qverdict v;
    mlq_quota_check(c, job, &v);
    return v.kind == MLQ_QV_OK;
}

/* ---- definitions -------------------------------------------------------- */

static void def_from_info(const struct mlq_quotainfo *q, struct mlq_qdef *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->team, sizeof d->team, "%s", q->team);
    snprintf(d->pool, sizeof d->pool, "%s", q->pool[0] ? q->pool : "default");
    d->nominal = (struct mlq_quota_amount){q->gpus_h, q->cpus_m, q->mem};
    d->borrow = (struct mlq_quota_amount){q->borrow_gpus_h, q->borrow_cpus_m, q->borrow_mem};
    d->user_max_running = q->user_max_running;
    d->user_max_gpus_h = q->user_max_gpus_h;
    struct mlq_err e;
    if (mlq_proto_quota_types_parse(q->gpu_types, d->types, &d->ntypes, &e) < 0)
        d->ntypes = 0; /* checked on decode and before storing: cannot happen */
}

static int load_one(const struct mlq_quotainfo *q, void *arg)
{
    struct mlq_qdef d;
    def_from_info(q, &d);
    return mlq_qbook_set(arg, &d);
}

int mlq_quota_load(struct mlq_ctx *c, struct mlq_err *err)
{
    int rc = mlq_store_quota_each(c->store, load_one, c->quota, err);
    if (rc > 0 || rc == MLQ_ENOMEM)
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory loading quotas");
    return rc;
}

/* ---- listing ------------------------------------------------------------ */

struct lister {
    struct mlq_ctx *c;
    const char *team, *pool;
    struct mlq_quotainfo *v;
    uint32_t n, cap;
};

static void info_from_def(struct mlq_ctx *c, const struct mlq_qdef *d, struct mlq_quotainfo *q)
{
    memset(q, 0, sizeof *q);
    snprintf(q->team, sizeof q->team, "%s", d->team);
    snprintf(q->pool, sizeof q->pool, "%s", d->pool);
    q->gpus_h = d->nominal.gpus_h;
    q->cpus_m = d->nominal.cpus_m;
    q->mem = d->nominal.mem;
    q->borrow_gpus_h = d->borrow.gpus_h;
    q->borrow_cpus_m = d->borrow.cpus_m;
    q->borrow_mem = d->borrow.mem;
    q->user_max_running = d->user_max_running;
    q->user_max_gpus_h = d->user_max_gpus_h;
    mlq_proto_quota_types_fmt(d->types, d->ntypes, q->gpu_types);
    struct mlq_quota_amount u, b;
    mlq_qbook_used(c->quota, d->team, d->pool, &u, &q->running);
    mlq_qbook_borrowed(c->quota, d->team, d->pool, &b);
    q->used_gpus_h = u.gpus_h;
    q->used_cpus_m = u.cpus_m;
    q->used_mem = u.mem;
    q->borrowed_gpus_h = b.gpus_h;
    q->borrowed_cpus_m = b.cpus_m;
    q->borrowed_mem = b.mem;
}

static void list_one(const struct mlq_qdef *d, void *arg)
{
    struct lister *l = arg;
    if ((l->team[0] && strcmp(l->team, d->team) != 0) ||
        (l->pool[0] && strcmp(l->pool, d->pool) != 0) || l->n >= l->cap)
        return;
    info_from_def(l->c, d, &l->v[l->n++]);
}

static int by_team_pool(const void *a, const void *b)
{
    const struct mlq_quotainfo *x = a, *y = b;
    int k = strcmp(x->team, y->team);
    return k ? k : strcmp(x->pool, y->pool);
}

static void count_one(const struct mlq_qdef *d, void *arg)
{
    (void)d;
    (*(uint32_t *)arg)++;
}

int mlq_quota_list(struct mlq_ctx *c, const char *team, const char *pool,
                   struct mlq_quotainfo **out, uint32_t *n, struct mlq_err *err)
{
    struct lister l = {c, team ? team : "", pool ? pool : "", NULL, 0, 0};
    *out = NULL;
    *n = 0;
    mlq_qbook_each(c->quota, count_one, &l.cap);
    if (l.cap > MLQ_MAX_LIST)
        l.cap = MLQ_MAX_LIST;
    if (!(l.v = calloc(l.cap ? l.cap : 1, sizeof *l.v)))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory listing quotas");
    mlq_qbook_each(c->quota, list_one, &l);
    qsort(l.v, l.n, sizeof *l.v, by_team_pool);
    *out = l.v;
    *n = l.n;
    return 0;
}

/* ---- requests ----------------------------------------------------------- */

static int check_admin(struct mlq_ctx *c, struct mlq_err *err)
{
    if (c->who.roles & MLQ_ROLE_ADMIN)
        return 0;
    return mlq_err_set(err, MLQ_EPERM, "only admins may manage quotas (you are %s, a %s)",
                       c->who.name, mlq_auth_role_name((enum mlq_role)c->who.roles));
}

static int reply_list(struct mlq_ctx *c, const struct mlq_peer *peer, uint64_t rid,
                      const char *team, const char *pool, struct mlq_err *err)
{
    struct mlq_msg m = {.type = MLQ_MSG_QUOTA_LIST, .rid = rid};
    int rc = mlq_quota_list(c, team, pool, &m.u.quota_list.quotas, &m.u.quota_list.nquotas, err);
    if (rc == 0)
        rc = mlq_outbox_reply(c->out, peer, &m, err);
    free(m.u.quota_list.quotas);
    return rc;
}

/* Stores the quota, then copies it into memory: a failed iteration rolls
 * both back (the loop rebuilds memory from the store). */
static int quota_set(struct mlq_ctx *c, const struct mlq_quotainfo *q, struct mlq_err *err)
{
    struct mlq_qdef d;
    def_from_info(q, &d);
    int rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_quota_set(c->store, q, c->now_wall, err);
    if (rc == 0 && mlq_qbook_set(c->quota, &d) < 0)
        rc = mlq_err_set(err, MLQ_EDB, "out of memory setting a quota");
    if (rc == 0) {
        mlq_info("quota of team %s in pool %s set by %s", d.team, d.pool, c->who.name);
        c->dirty = true; /* a raised quota may let jobs start */
    }
    return rc;
}

static int quota_rm(struct mlq_ctx *c, const struct mlq_quotainfo *q, struct mlq_err *err)
{
    const char *pool = q->pool[0] ? q->pool : "default";
    int rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_quota_rm(c->store, q->team, pool, err);
    if (rc < 0)
        return rc;
    mlq_qbook_rm(c->quota, q->team, pool);
    mlq_info("quota of team %s in pool %s removed by %s", q->team, pool, c->who.name);
    c->dirty = true;
    return 0;
}

int mlq_quota_on_cmd(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                     struct mlq_err *err)
{
    const char *op = msg->u.quota_cmd.op;
    const struct mlq_quotainfo *q = &msg->u.quota_cmd.q;
    int rc = check_admin(c, err);
    if (rc < 0)
        return rc;
    /* show TEAM of a team that does not exist is "not found", naming it;
     * an existing team without a quota is an empty list. */
    if (strcmp(op, "list") == 0 && q->team[0] && (rc = mlq_teams_check_exists(c, q->team, err)) < 0)
        return rc;
    if (strcmp(op, "list") == 0)
        return reply_list(c, peer, msg->rid, q->team, q->pool, err);
    if (strcmp(op, "rm") == 0) {
        if ((rc = quota_rm(c, q, err)) < 0)
            return rc;
        struct mlq_msg m = {.type = MLQ_MSG_OK, .rid = msg->rid};
        return mlq_outbox_reply(c->out, peer, &m, err);
    }
    if ((rc = quota_set(c, q, err)) < 0)
        return rc;
    return reply_list(c, peer, msg->rid, q->team, q->pool[0] ? q->pool : "default", err);
}
