/* quota: see quota.h. This build has no quotas: none applies anywhere. */
#include "quota.h"

#include <string.h>

bool mlq_quota_over_nominal(struct mlq_ctx *c, const char *team, const char *pool,
                            const struct mlq_quota_amount *minus)
{
    (void)c;
    (void)team;
    (void)pool;
    (void)minus;
    return false;
}

bool mlq_quota_job_within_nominal(struct mlq_ctx *c, const struct mlq_job *job)
{
    (void)c;
    (void)job;
    return false;
}

void mlq_quota_job_amount(const struct mlq_job *job, struct mlq_quota_amount *out)
{
    (void)job;
    memset(out, 0, sizeof *out);
}
