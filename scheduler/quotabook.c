/* quotabook: see quotabook.h.
 *
 * Invariants: for every pool, idle[r] is the sum over its teams with a
 * quota of max(0, nominal - used) and over[r] the sum over all its teams of
 * max(0, used - nominal) (nominal 0 without a quota; 0 where not limited);
 * claimed[r] is the sum of the limited nominal amounts. Entries are never
 * freed before the book, so pointers to them stay valid. */
#include "quotabook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "res.h"
#include "strmap.h"

struct qpool {
    int ndefs;
    int nlim[MLQ_QUOTA_NRES]; /* quotas that limit each resource */
    int64_t claimed[MLQ_QUOTA_NRES], idle[MLQ_QUOTA_NRES], over[MLQ_QUOTA_NRES];
};

struct qteam {
    bool has_def;
    struct mlq_qdef def; /* team and pool are set even without a quota */
    int64_t used[MLQ_QUOTA_NRES];
    int64_t running;
    struct qpool *pool;
};

struct quser {
    int64_t running, gpus_h;
};

struct mlq_qbook {
    struct mlq_strmap *teams, *users, *pools, *types;
    struct qteam **v; /* every team entry, for walks over a pool */
    size_t n, cap;
};

#define KEY_MAX (3 * (MLQ_MAX_NAME + 1) + 1)

static const char *const res_names[MLQ_QUOTA_NRES] = {"GPUs", "CPUs", "memory"};

static const char *pool_or_default(const char *pool)
{
    return pool && pool[0] ? pool : "default";
}

static void team_key(const char *team, const char *pool, char *key)
{
    snprintf(key, KEY_MAX, "%s\n%s", team ? team : "", pool_or_default(pool));
}

static void get3(const struct mlq_quota_amount *a, int64_t out[MLQ_QUOTA_NRES])
{
    out[0] = a->gpus_h;
    out[1] = a->cpus_m;
    out[2] = a->mem;
}

struct mlq_qbook *mlq_qbook_create(void)
{
    struct mlq_qbook *b = calloc(1, sizeof *b);
    if (b && (!(b->teams = mlq_strmap_create()) || !(b->users = mlq_strmap_create()) ||
              !(b->pools = mlq_strmap_create()) || !(b->types = mlq_strmap_create())))
        mlq_qbook_destroy(&b);
    return b;
}

void mlq_qbook_destroy(struct mlq_qbook **bp)
{
    if (!bp || !*bp)
        return;
    struct mlq_qbook *b = *bp;
    mlq_strmap_destroy(&b->teams, free);
    mlq_strmap_destroy(&b->users, free);
    mlq_strmap_destroy(&b->pools, free);
    mlq_strmap_destroy(&b->types, free);
    free(b->v);
    free(b);
    *bp = NULL;
}

static struct qteam *team_find(const struct mlq_qbook *b, const char *team, const char *pool)
{
    char key[KEY_MAX];
    team_key(team, pool, key);
    return mlq_strmap_get(b->teams, key);
}

static struct qpool *pool_get(struct mlq_qbook *b, const char *pool)
{
    struct qpool *p = mlq_strmap_get(b->pools, pool);
    if (p)
        return p;
    if (!(p = calloc(1, sizeof *p)) || mlq_strmap_put(b->pools, pool, p) < 0) {
        free(p);
        return NULL;
    }
    return p;
}

/* The entry of (team, pool), made when missing; NULL: out of memory. */
static struct qteam *team_get(struct mlq_qbook *b, const char *team, const char *pool)
{
    struct qteam *t = team_find(b, team, pool);
    if (t)
        return t;
    char key[KEY_MAX];
    team_key(team, pool, key);
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        struct qteam **v = realloc(b->v, cap * sizeof *v);
        if (!v)
            return NULL;
        b->v = v;
        b->cap = cap;
    }
    struct qpool *p = pool_get(b, pool_or_default(pool));
    if (!p || !(t = calloc(1, sizeof *t)))
        return NULL;
    snprintf(t->def.team, sizeof t->def.team, "%s", team ? team : "");
    snprintf(t->def.pool, sizeof t->def.pool, "%s", pool_or_default(pool));
    t->pool = p;
    if (mlq_strmap_put(b->teams, key, t) < 0) {
        free(t);
        return NULL;
    }
    b->v[b->n++] = t;
    return t;
}

/* The team's nominal amount of resource r: 0 without a quota. */
static int64_t nominal_of(const struct qteam *t, int r)
{
    int64_t n[MLQ_QUOTA_NRES];
    if (!t || !t->has_def)
        return 0;
    get3(&t->def.nominal, n);
    return n[r];
}

static int64_t over_of(const struct qteam *t, int r, int64_t used)
{
    int64_t n = nominal_of(t, r);
    return n >= 0 && used > n ? used - n : 0;
}

static int64_t idle_of(const struct qteam *t, int r, int64_t used)
{
    int64_t n = nominal_of(t, r);
    return t && t->has_def && n > used ? n - used : 0;
}

/* Rebuilds p's sums from the entries of its teams (a quota changed). */
static void pool_recompute(struct mlq_qbook *b, struct qpool *p)
{
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < b->n; i++) {
        const struct qteam *t = b->v[i];
        if (t->pool != p)
            continue;
        p->ndefs += t->has_def;
        for (int r = 0; r < MLQ_QUOTA_NRES; r++) {
            int64_t n = nominal_of(t, r);
            p->claimed[r] += t->has_def && n > 0 ? n : 0;
            p->nlim[r] += t->has_def && n >= 0;
            p->idle[r] += idle_of(t, r, t->used[r]);
            p->over[r] += over_of(t, r, t->used[r]);
        }
    }
}

int mlq_qbook_set(struct mlq_qbook *b, const struct mlq_qdef *d)
{
    struct qteam *t = team_get(b, d->team, d->pool);
    if (!t)
        return MLQ_ENOMEM;
    t->def = *d;
    snprintf(t->def.pool, sizeof t->def.pool, "%s", pool_or_default(d->pool));
    t->has_def = true;
    pool_recompute(b, t->pool);
    return 0;
}

bool mlq_qbook_rm(struct mlq_qbook *b, const char *team, const char *pool)
{
    struct qteam *t = team_find(b, team, pool);
    if (!t || !t->has_def)
        return false;
    t->has_def = false;
    pool_recompute(b, t->pool);
    return true;
}

void mlq_qbook_rm_team(struct mlq_qbook *b, const char *team)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i]->has_def && strcmp(b->v[i]->def.team, team) == 0)
            mlq_qbook_rm(b, team, b->v[i]->def.pool);
}

const struct mlq_qdef *mlq_qbook_def(const struct mlq_qbook *b, const char *team, const char *pool)
{
    const struct qteam *t = team_find(b, team, pool);
    return t && t->has_def ? &t->def : NULL;
}

bool mlq_qbook_pool_has(const struct mlq_qbook *b, const char *pool)
{
    const struct qpool *p = mlq_strmap_get(b->pools, pool_or_default(pool));
    return p && p->ndefs > 0;
}

static struct quser *user_get(struct mlq_qbook *b, const char *team, const char *pool,
                              const char *user, bool make)
{
    char key[KEY_MAX];
    snprintf(key, sizeof key, "%s\n%s\n%s", team ? team : "", pool_or_default(pool),
             user ? user : "");
    struct quser *u = mlq_strmap_get(b->users, key);
    if (u || !make)
        return u;
    if (!(u = calloc(1, sizeof *u)) || mlq_strmap_put(b->users, key, u) < 0) {
        free(u);
        return NULL;
    }
    return u;
}

/* The use of (team, pool, type), made when missing with make; NULL when
 * absent or out of memory. */
static int64_t *type_get(struct mlq_qbook *b, const char *team, const char *pool, const char *type,
                         bool make)
{
    char key[KEY_MAX + MLQ_MAX_GPU_TYPE + 2];
    snprintf(key, sizeof key, "%s\n%s\n\t%s", team ? team : "", pool_or_default(pool), type);
    int64_t *v = mlq_strmap_get(b->types, key);
    if (v || !make)
        return v;
    if (!(v = calloc(1, sizeof *v)) || mlq_strmap_put(b->types, key, v) < 0) {
        free(v);
        return NULL;
    }
    return v;
}

int64_t mlq_qbook_type_used(const struct mlq_qbook *b, const char *team, const char *pool,
                            const char *gpu_type)
{
    int64_t *v = gpu_type ? type_get((struct mlq_qbook *)b, team, pool, gpu_type, false) : NULL;
    return v ? *v : 0;
}

/* Adds sign * a to t's use, keeping its pool's sums. */
static void book(struct qteam *t, const struct mlq_quota_amount *a, int sign)
{
    int64_t d[MLQ_QUOTA_NRES];
    get3(a, d);
    for (int r = 0; r < MLQ_QUOTA_NRES; r++) {
        int64_t old = t->used[r], now = old + sign * d[r];
        if (now < 0) /* never below nothing, whatever the caller did */
            now = 0;
        t->pool->idle[r] += idle_of(t, r, now) - idle_of(t, r, old);
        t->pool->over[r] += over_of(t, r, now) - over_of(t, r, old);
        t->used[r] = now;
    }
    t->running += sign;
    if (t->running < 0)
        t->running = 0;
}

int mlq_qbook_add_use(struct mlq_qbook *b, const char *team, const char *pool, const char *user,
                      const char *gpu_type, const struct mlq_quota_amount *a)
{
    struct qteam *t = team_get(b, team, pool);
    struct quser *u = t ? user_get(b, team, pool, user, true) : NULL;
    int64_t *ty = u && gpu_type && a->gpus_h > 0 ? type_get(b, team, pool, gpu_type, true) : NULL;
    if (!u || (gpu_type && a->gpus_h > 0 && !ty))
        return MLQ_ENOMEM;
    if (ty)
        *ty += a->gpus_h;
    book(t, a, 1);
    u->running++;
    u->gpus_h += a->gpus_h;
    return 0;
}

void mlq_qbook_sub_use(struct mlq_qbook *b, const char *team, const char *pool, const char *user,
                       const char *gpu_type, const struct mlq_quota_amount *a)
{
    struct qteam *t = team_find(b, team, pool);
    struct quser *u = user_get(b, team, pool, user, false);
    int64_t *ty = gpu_type ? type_get(b, team, pool, gpu_type, false) : NULL;
    if (ty)
        *ty = *ty > a->gpus_h ? *ty - a->gpus_h : 0;
    if (t)
        book(t, a, -1);
    if (u) {
        u->running = u->running > 0 ? u->running - 1 : 0;
        u->gpus_h = u->gpus_h > a->gpus_h ? u->gpus_h - a->gpus_h : 0;
    }
}

void mlq_qbook_used(const struct mlq_qbook *b, const char *team, const char *pool,
                    struct mlq_quota_amount *used, int64_t *running)
{
    const struct qteam *t = team_find(b, team, pool);
    *used = (struct mlq_quota_amount){0};
    if (running)
        *running = t ? t->running : 0;
    if (t)
        *used = (struct mlq_quota_amount){t->used[0], t->used[1], t->used[2]};
}

void mlq_qbook_borrowed(const struct mlq_qbook *b, const char *team, const char *pool,
                        struct mlq_quota_amount *out)
{
    const struct qteam *t = team_find(b, team, pool);
    int64_t o[MLQ_QUOTA_NRES] = {0};
    for (int r = 0; t && r < MLQ_QUOTA_NRES; r++)
        o[r] = over_of(t, r, t->used[r]);
    *out = (struct mlq_quota_amount){o[0], o[1], o[2]};
}

/* The per-user limits of d for user's next job asking a. */
static bool user_limited(const struct mlq_qbook *b, const struct mlq_qdef *d, const char *user,
                         const struct mlq_quota_amount *a, struct mlq_qverdict *v)
{
    struct quser *u = user_get((struct mlq_qbook *)b, d->team, d->pool, user, false);
    int64_t running = u ? u->running : 0, gpus = u ? u->gpus_h : 0;
    if (d->user_max_running >= 0 && running + 1 > d->user_max_running) {
        v->kind = MLQ_QV_USER_RUNNING;
        v->user_n = running;
        v->user_max = d->user_max_running;
        return true;
    }
    if (d->user_max_gpus_h >= 0 && a->gpus_h > 0 && gpus + a->gpus_h > d->user_max_gpus_h) {
        v->kind = MLQ_QV_USER_GPUS;
        v->user_n = gpus;
        v->user_max = d->user_max_gpus_h;
        return true;
    }
    return false;
}

/* Resource r of a job asking a_r: fills v and returns the verdict for r
 * (OK when it need not borrow). */
static enum mlq_qv_kind check_res(const struct qpool *p, const struct qteam *t, int r, int64_t a_r,
                                  int64_t capacity_r, struct mlq_qverdict *v)
{
    int64_t used = t ? t->used[r] : 0, n = nominal_of(t, r);
    int64_t over1 = over_of(t, r, used), over2 = over_of(t, r, used + a_r);
    int64_t borrow[MLQ_QUOTA_NRES] = {-1, -1, -1};
    if (t && t->has_def)
        get3(&t->def.borrow, borrow);
    int64_t unclaimed = capacity_r > p->claimed[r] ? capacity_r - p->claimed[r] : 0;
    int64_t lendable = p->idle[r] - idle_of(t, r, used) + unclaimed;
    int64_t others = p->over[r] - over1;
    *v = (struct mlq_qverdict){.res = r,
                               .used = used,
                               .nominal = n,
                               .borrowing = over1,
                               .cap = borrow[r],
                               .has_quota = t && t->has_def};
    v->idle = lendable > others ? lendable - others : 0;
    /* A resource no quota of the pool limits is not counted for anyone. */
    if (over2 == 0 || a_r == 0 || p->nlim[r] == 0)
        return MLQ_QV_OK;
    if (borrow[r] >= 0 && over2 > borrow[r])
        return MLQ_QV_CAP;
    return others + over2 > lendable ? MLQ_QV_COHORT : MLQ_QV_BORROW;
}

/* The cap of d on gpu_type: the job's GPUs of that type would pass it. */
static bool type_capped(const struct mlq_qbook *b, const struct mlq_qdef *d, const char *gpu_type,
                        const struct mlq_quota_amount *a, struct mlq_qverdict *v)
{
    for (int i = 0; gpu_type && a->gpus_h > 0 && i < d->ntypes; i++) {
        if (strcmp(d->types[i].type, gpu_type) != 0)
            continue;
        int64_t used = mlq_qbook_type_used(b, d->team, d->pool, gpu_type);
        if (used + a->gpus_h <= d->types[i].gpus_h)
            return false;
        *v = (struct mlq_qverdict){
            .kind = MLQ_QV_TYPE, .has_quota = true, .used = used, .nominal = d->types[i].gpus_h};
        snprintf(v->type, sizeof v->type, "%s", gpu_type);
        return true;
    }
    return false;
}

void mlq_qbook_check(const struct mlq_qbook *b, const char *team, const char *pool,
                     const char *user, const char *gpu_type, const struct mlq_quota_amount *a,
                     const struct mlq_quota_amount *capacity, struct mlq_qverdict *v)
{
    memset(v, 0, sizeof *v);
    const struct qpool *p = mlq_strmap_get(b->pools, pool_or_default(pool));
    if (!p || p->ndefs == 0)
        return; /* MLQ_QV_NONE */
    const struct qteam *t = team_find(b, team, pool);
    if (t && t->has_def && user_limited(b, &t->def, user, a, v)) {
        v->has_quota = true;
        return;
    }
    if (t && t->has_def && type_capped(b, &t->def, gpu_type, a, v))
        return;
    int64_t want[MLQ_QUOTA_NRES], cap[MLQ_QUOTA_NRES] = {0};
    get3(a, want);
    if (capacity)
        get3(capacity, cap);
    struct mlq_qverdict first, r_v;
    enum mlq_qv_kind kind = MLQ_QV_OK;
    check_res(p, t, 0, want[0], cap[0], &first); /* GPUs name an OK answer */
    first.kind = MLQ_QV_OK;
    *v = first;
    for (int r = 0; r < MLQ_QUOTA_NRES; r++) {
        enum mlq_qv_kind k = check_res(p, t, r, want[r], cap[r], &r_v);
        if (k == MLQ_QV_OK)
            continue;
        if (k == MLQ_QV_BORROW && kind == MLQ_QV_BORROW)
            continue; /* the first resource that borrows names it */
        *v = r_v;
        v->kind = kind = k;
        if (k != MLQ_QV_BORROW)
            return;
    }
}

bool mlq_qbook_admits(const struct mlq_qverdict *v)
{
    return v->kind == MLQ_QV_NONE || v->kind == MLQ_QV_OK || v->kind == MLQ_QV_BORROW;
}

/* An amount of resource r for people: "16", "0.5", "2.5", "64G". */
static const char *fmt_res(int r, int64_t v, char *buf, size_t len)
{
    if (v < 0)
        snprintf(buf, len, "unlimited");
    else if (r == 1)
        mlq_res_fmt_cpus(v, buf, len);
    else if (r == 2 && v == 0)
        snprintf(buf, len, "0");
    else if (r == 2)
        mlq_res_fmt_mem(v, buf, len);
    else if (v % 100 == 0)
        snprintf(buf, len, "%lld", (long long)(v / 100));
    else if (v % 10 == 0)
        snprintf(buf, len, "%lld.%lld", (long long)(v / 100), (long long)(v % 100 / 10));
    else
        snprintf(buf, len, "%lld.%02lld", (long long)(v / 100), (long long)(v % 100));
    return buf;
}

static void explain_user(const struct mlq_qverdict *v, const char *team, const char *user,
                         char *buf, size_t len)
{
    char n[32], m[32];
    if (v->kind == MLQ_QV_USER_RUNNING)
        snprintf(buf, len, "user %s runs %lld/%lld jobs allowed by team %s", user,
                 (long long)v->user_n, (long long)v->user_max, team);
    else
        snprintf(buf, len, "user %s uses %s/%s GPUs allowed per user by team %s", user,
                 fmt_res(0, v->user_n, n, sizeof n), fmt_res(0, v->user_max, m, sizeof m), team);
}

void mlq_qbook_explain(const struct mlq_qverdict *v, const char *team, const char *pool,
                       const char *user, char *buf, size_t len)
{
    char u[32], n[32], bw[32], cap[32] = "";
    const char *who = team && team[0] ? team : "(none)";
    pool = pool_or_default(pool);
    if (v->kind == MLQ_QV_NONE) {
        snprintf(buf, len, "no quota applies in pool %s", pool);
        return;
    }
    if (v->kind == MLQ_QV_USER_RUNNING || v->kind == MLQ_QV_USER_GPUS) {
        explain_user(v, who, user ? user : "", buf, len);
        return;
    }
    if (v->kind == MLQ_QV_TYPE) {
        snprintf(buf, len,
                 "team %s uses %s/%s %s GPUs of its quota in pool %s; a cap per GPU type is "
                 "not borrowed beyond",
                 who, fmt_res(0, v->used, u, sizeof u), fmt_res(0, v->nominal, n, sizeof n),
                 v->type, pool);
        return;
    }
    const char *rn = res_names[v->res];
    fmt_res(v->res, v->used, u, sizeof u);
    fmt_res(v->res, v->borrowing, bw, sizeof bw);
    if (v->cap >= 0)
        fmt_res(v->res, v->cap, cap, sizeof cap);
    int k = v->has_quota
                ? snprintf(buf, len, "team %s uses %s/%s %s of its quota in pool %s", who, u,
                           fmt_res(v->res, v->nominal, n, sizeof n), rn, pool)
                : snprintf(buf, len, "team %s has no quota in pool %s (nominal 0) and uses %s %s",
                           who, pool, u, rn);
    size_t off = k > 0 && (size_t)k < len ? (size_t)k : len - 1;
    char of[48];
    if (v->cap >= 0)
        snprintf(of, sizeof of, " of %s allowed", cap);
    else
        snprintf(of, sizeof of, " (no cap)");
    if (v->kind == MLQ_QV_OK)
        snprintf(buf + off, len - off, "; within its quota");
    else if (v->kind == MLQ_QV_BORROW)
        snprintf(buf + off, len - off, "; borrows idle capacity (borrowing %s%s)", bw, of);
    else if (v->kind == MLQ_QV_CAP)
        snprintf(buf + off, len - off, "; borrowing %s%s: its borrow cap is reached", bw, of);
    else
        snprintf(buf + off, len - off, "; borrowing %s%s because other teams use their quotas", bw,
                 of);
}

void mlq_qbook_each(const struct mlq_qbook *b, mlq_qbook_fn fn, void *arg)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i]->has_def)
            fn(&b->v[i]->def, arg);
}
