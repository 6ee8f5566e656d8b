/* protofield: see protofield.h and docs/protocol.md (normative). */
#include "protofield.h"

const char *const mlq_protofield_job_states[MLQ_JOB_STATE_COUNT] = {
    "PENDING", "ASSIGNED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT",
};
const char *const mlq_protofield_streams[MLQ_PROTOFIELD_STREAMS] = {"stdout", "stderr"};

const char *mlq_protofield_name(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : "?";
}

int mlq_protofield_read_pool(const struct mlq_mpk_map *m, char **pool)
{
    struct mlq_err e;
    int rc = mlq_mpk_read_str(m, "pool", MLQ_MAX_NAME, true, pool);
    if (rc == 0 && *pool && mlq_proto_pool_check(*pool, &e) < 0)
        rc = mlq_err_set(m->err, MLQ_EPROTO, "%s: key 'pool': %s", m->where, e.msg);
    return rc;
}
