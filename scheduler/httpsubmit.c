/* httpsubmit: one JSON submission into a job spec (jsonspec.h reads the
 * keys, the same way `mlq submit --from` does), with the API's defaults:
 * cpus 1, mem 1G, workdir "/". The spec then goes through the same checks
 * as the CLI's (mlq_proto_jobspec_check, again in the loop's submit
 * handler). */
#include <stdlib.h>
#include <string.h>

#include "httpint.h"
#include "jsonspec.h"

int mlq_httpsubmit_spec(const json_t *o, struct mlq_jobspec *spec, struct mlq_err *err)
{
    memset(spec, 0, sizeof *spec);
    if (!json_is_object(o))
        return mlq_err_set(err, MLQ_EINVAL, "a job must be a JSON object");
    spec->cpus_m = 1000;
    spec->mem = 1024LL * 1024 * 1024;
    int rc = mlq_jsonspec_apply(o, spec, err);
    if (rc == 0 && !spec->workdir && !(spec->workdir = strdup("/")))
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    /* The loop makes the token's principal the owner; the placeholder only
     * lets the spec pass the checks the CLI also makes before sending (the
     * loop's decoder would refuse what they refuse, without a message). */
    if (rc == 0 && !(spec->owner = strdup("http")))
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (rc == 0)
        rc = mlq_proto_jobspec_check(spec, err);
    return rc;
}
