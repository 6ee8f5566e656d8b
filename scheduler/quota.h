/* quota: per-team quotas per pool, as the placement and preemption code
 * see them (the contract the preemption policy calls through). */
#ifndef MLQ_QUOTA_H
#define MLQ_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

struct mlq_ctx;
struct mlq_job;

struct mlq_quota_amount {
    int64_t gpus_h; /* GPUs in hundredths */
    int64_t cpus_m;
    int64_t mem;
};

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

#endif
