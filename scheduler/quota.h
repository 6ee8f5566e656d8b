/* quota: quotas per team and pool, tied to the scheduler (quotabook.h has
 * the arithmetic and docs/admin.md the rules).
 *
 * The definitions live in the store and are copied into c->quota at start
 * and after each change; the use is booked from the jobs themselves: each
 * live attempt once when it is dispatched or recovered, and off again when
 * it is released. Nothing about use is stored, so that a scheduler killed
 * at any moment comes back with exactly what runs.
 *
 * The placement pass asks mlq_quota_check before it looks for a worker; a
 * job its quota holds back takes its shape out of the pass without a
 * reservation, so that jobs of other teams behind it still start. */
#ifndef MLQ_QUOTA_H
#define MLQ_QUOTA_H

#include <stdbool.h>
#include <stddef.h>

#include "client.h"
#include "ctx.h"
#include "quotabook.h"

/* true when team (NULL: no team) uses more than its nominal quota in
 * pool (NULL: default) on some resource, after taking `minus` (may be
 * NULL) off its use: the team is borrowing. false where no quota applies. */
bool mlq_quota_over_nominal(struct mlq_ctx *c, const char *team, const char *pool,
                            const struct mlq_quota_amount *minus);
/* true when the pending job, if started now, keeps its team within its
 * nominal quota in the job's pool (it does not need to borrow): such a
 * job may reclaim borrowed capacity by preemption. false where no quota applies. */
bool mlq_quota_job_within_nominal(struct mlq_ctx *c, const struct mlq_job *job);
/* The job's request as quota amounts. */
void mlq_quota_job_amount(const struct mlq_job *job, struct mlq_quota_amount *out);
/* (In a pool with quotas, a team without one has nominal 0: any use of a
 * resource some quota there limits is borrowing, and none of its jobs is
 * within nominal.) */

/* Copies every stored quota into c->quota (start-up and reload). */
int mlq_quota_load(struct mlq_ctx *c, struct mlq_err *err);
/* Books / unbooks the job's live attempt; each at most once per attempt
 * (job->quota_booked). */
void mlq_quota_job_started(struct mlq_ctx *c, struct mlq_job *job);
void mlq_quota_job_stopped(struct mlq_ctx *c, struct mlq_job *job);
/* Whether the job's quota lets it start now; v says why (may be NULL). */
bool mlq_quota_check(struct mlq_ctx *c, const struct mlq_job *job, struct mlq_qverdict *v);
/* One line on the quota the job counts against into buf (for `mlq why`
 * and the dry run); false (buf "") where none applies. */
bool mlq_quota_explain(struct mlq_ctx *c, const struct mlq_job *job, struct mlq_qverdict *v,
                       char *buf, size_t len);

/* `mlq admin quota set|rm|show` (admins only). Same handler contract as
 * client.h. */
int mlq_quota_on_cmd(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                     struct mlq_err *err);
/* Every quota with its use now (filters "" = all); the caller frees *out. */
int mlq_quota_list(struct mlq_ctx *c, const char *team, const char *pool,
                   struct mlq_quotainfo **out, uint32_t *n, struct mlq_err *err);

#endif
