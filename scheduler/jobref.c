/* jobref: see jobref.h. The id wins over the name so that what used to
 * name a job still names the same one; a name is looked up among the
 * asker's active jobs only, where it is most likely unique and where a
 * user has something to cancel or wait for. */
#include "jobref.h"

#include <stdio.h>
#include <string.h>

#include "bounds.h"
#include "store.h"

/* A name a job may carry: printable, no longer than a name may be. */
static bool name_shaped(const char *ref)
{
    size_t n = strnlen(ref, MLQ_MAX_NAME + 1);
    if (n == 0 || n > MLQ_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)ref[i] < 0x20 || ref[i] == 0x7f)
            return false;
    return true;
}

static int by_name(struct mlq_ctx *c, const char *name, char out[MLQ_ID_LEN + 1], bool *is_array,
                   struct mlq_err *err)
{
    char ids[2][MLQ_ID_LEN + 1];
    bool arr[2];
    uint32_t n = 0;
    const char *owner = c->who.insecure ? NULL : c->who.name;
    int rc = mlq_store_jobs_named(c->store, name, owner, MLQ_JOBREF_ACTIVE, 2, ids, arr, &n, err);
    if (rc < 0)
        return rc;
    if (n == 0)
        return mlq_err_set(err, MLQ_ENOTFOUND,
                           "no job id matches \"%.64s\", nor does the name of an active job of "
                           "yours (ended ones: mlq list --name)",
                           name);
    if (n > 1)
        return mlq_err_set(err, MLQ_EAMBIG,
                           "several of your active jobs are named \"%.64s\": name one by its id",
                           name);
    memcpy(out, ids[0], MLQ_ID_LEN + 1);
    *is_array = arr[0];
    return 0;
}

int mlq_jobref_resolve(struct mlq_ctx *c, const char *ref, char out[MLQ_ID_LEN + 1], bool *is_array,
                       struct mlq_err *err)
{
    int rc = mlq_store_resolve(c->store, ref, out, is_array, err);
    if ((rc != MLQ_ENOTFOUND && rc != MLQ_EINVAL) || !ref || !name_shaped(ref))
        return rc;
    return by_name(c, ref, out, is_array, err);
}
