/* quotabook: the arithmetic of quotas per team and pool, with borrowing
 * (docs/admin.md, "Quotas"). Pure bookkeeping over strings and amounts, so
 * that it is tested without a scheduler; quota.c ties it to the loop.
 *
 * A quota (team, pool) has a nominal amount per resource (GPUs in
 * hundredths, CPUs in millicores, memory in bytes; MLQ_QUOTA_NONE: that
 * resource is not limited) and a borrow cap per resource (>= 0). The
 * cohort of a pool is every team with a quota there. A team may use up to
 * its nominal amount; beyond it, it borrows, up to its cap, and only what
 * the cohort leaves idle: the nominal amounts other teams do not use now,
 * plus the pool's capacity no quota claims. A team without a quota in a
 * pool that has quotas has nominal 0 and no borrow cap. A resource that
 * no quota of the pool limits is not checked, and a pool without any
 * quota is not checked at all.
 *
 * A quota may also cap the GPUs of one type (`--gpus h100:8,a100:4`): the
 * jobs asking for exactly that type run while the team's GPUs of that type
 * stay within the cap (no borrowing beyond it); every GPU counts against
 * the team's total GPU amount as well, which then is the sum of the caps.
 *
 * Use is booked per (team, pool), per (team, pool, GPU type) and per
 * (team, pool, user) by add_use /
 * sub_use, one call per attempt that starts and ends, never scanned:
 * each check costs a few hash look-ups. Per pool, the sums of idle
 * nominal and borrowed use are kept up to date on each booking, and
 * recomputed from the teams' entries when a quota changes. */
#ifndef MLQ_QUOTABOOK_H
#define MLQ_QUOTABOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "proto.h"

struct mlq_quota_amount {
    int64_t gpus_h;
    int64_t cpus_m;
    int64_t mem;
}; /* GPUs in hundredths */

#define MLQ_QUOTA_NONE (-1) /* a nominal amount or user limit that does not limit */
#define MLQ_QUOTA_NRES 3    /* gpus_h, cpus_m, mem, in that order */

/* What an admin sets for a team in a pool. */
struct mlq_qdef {
    char team[MLQ_MAX_NAME + 1];
    char pool[MLQ_MAX_NAME + 1];                      /* "default": workers without a pool */
    struct mlq_quota_amount nominal;                  /* each >= 0 or MLQ_QUOTA_NONE */
    struct mlq_quota_amount borrow;                   /* caps, each >= 0 */
    int64_t user_max_running;                         /* per user of the team; MLQ_QUOTA_NONE */
    int64_t user_max_gpus_h;                          /* per user, hundredths; MLQ_QUOTA_NONE */
    struct mlq_quota_type types[MLQ_QUOTA_MAX_TYPES]; /* caps per GPU type */
    int ntypes;
};

/* The answer of a check. */
enum mlq_qv_kind {
    MLQ_QV_NONE = 0,     /* no quota applies: the pool has none */
    MLQ_QV_OK,           /* within the team's nominal amount */
    MLQ_QV_BORROW,       /* fits, borrowing idle capacity */
    MLQ_QV_CAP,          /* would borrow beyond the team's borrow cap */
    MLQ_QV_COHORT,       /* would borrow more than the cohort leaves idle */
    MLQ_QV_USER_RUNNING, /* the user runs user_max_running jobs of the team */
    MLQ_QV_USER_GPUS,    /* the user would pass user_max_gpus */
    MLQ_QV_TYPE,         /* the team would pass its cap of the job's GPU type */
};

struct mlq_qverdict {
    enum mlq_qv_kind kind;
    bool has_quota;                  /* the team has a quota in the pool (else nominal 0) */
    int res;                         /* the resource that decides: 0 GPUs, 1 CPUs, 2 memory */
    int64_t used, nominal;           /* the team's use now and nominal of res (-1 none) */
    int64_t borrowing, cap;          /* borrowed now of res, and the cap (-1 none) */
    int64_t idle;                    /* what the cohort leaves idle for it now, of res */
    int64_t user_n, user_max;        /* per-user figures for the USER_* kinds */
    char type[MLQ_MAX_GPU_TYPE + 1]; /* MLQ_QV_TYPE: the type (used, nominal: its figures) */
};

struct mlq_qbook;

struct mlq_qbook *mlq_qbook_create(void);
/* Frees the book; sets *b to NULL; accepts NULL. */
void mlq_qbook_destroy(struct mlq_qbook **b);

/* Adds or replaces d's quota; MLQ_ENOMEM. */
int mlq_qbook_set(struct mlq_qbook *b, const struct mlq_qdef *d);
/* Removes the quota of (team, pool); false when there was none. */
bool mlq_qbook_rm(struct mlq_qbook *b, const char *team, const char *pool);
/* Removes every quota of team. */
void mlq_qbook_rm_team(struct mlq_qbook *b, const char *team);
/* The quota of (team, pool), or NULL. */
const struct mlq_qdef *mlq_qbook_def(const struct mlq_qbook *b, const char *team, const char *pool);
/* Some team has a quota in pool. */
bool mlq_qbook_pool_has(const struct mlq_qbook *b, const char *pool);

/* Books / unbooks one running attempt of user's in team (NULL or "": no
 * team) and pool (NULL or "": "default") using a, its GPUs of gpu_type
 * (NULL: no one type). MLQ_ENOMEM. */
int mlq_qbook_add_use(struct mlq_qbook *b, const char *team, const char *pool, const char *user,
                      const char *gpu_type, const struct mlq_quota_amount *a);
void mlq_qbook_sub_use(struct mlq_qbook *b, const char *team, const char *pool, const char *user,
                       const char *gpu_type, const struct mlq_quota_amount *a);
/* The team's GPUs of gpu_type in use in pool (hundredths). */
int64_t mlq_qbook_type_used(const struct mlq_qbook *b, const char *team, const char *pool,
                            const char *gpu_type);
/* What (team, pool) uses now and how many attempts run; zero when none. */
void mlq_qbook_used(const struct mlq_qbook *b, const char *team, const char *pool,
                    struct mlq_quota_amount *used, int64_t *running);
/* Its use beyond nominal per resource (0 where not limited). */
void mlq_qbook_borrowed(const struct mlq_qbook *b, const char *team, const char *pool,
                        struct mlq_quota_amount *out);

/* May user's job in team and pool start, asking a (GPUs of gpu_type, NULL:
 * no one type)? capacity: what the
 * pool's open workers have in all (for the share no quota claims); NULL
 * counts none. */
void mlq_qbook_check(const struct mlq_qbook *b, const char *team, const char *pool,
                     const char *user, const char *gpu_type, const struct mlq_quota_amount *a,
                     const struct mlq_quota_amount *capacity, struct mlq_qverdict *v);
/* True for the verdicts that let a job start. */
bool mlq_qbook_admits(const struct mlq_qverdict *v);
/* One line for `mlq why` and the dry run: "team vision uses 16/16 GPUs of
 * its quota in pool default; borrowing 0 of 8 allowed because other teams
 * use their quotas". */
void mlq_qbook_explain(const struct mlq_qverdict *v, const char *team, const char *pool,
                       const char *user, char *buf, size_t len);

/* Calls fn for every quota, in no particular order. */
typedef void (*mlq_qbook_fn)(const struct mlq_qdef *d, void *arg);
void mlq_qbook_each(const struct mlq_qbook *b, mlq_qbook_fn fn, void *arg);

#endif
