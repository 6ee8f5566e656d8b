/* jobref: see jobref.h. */
#include "jobref.h"

#include <stdio.h>
#include <string.h>

#include "id.h"
#include "output.h"

#define NAMED_MAX      20 /* candidates listed for one name */
#define NAMED_REFS_MAX 8  /* names looked up after one failure */

#define ACTIVE_STATES ((1u << MLQ_JOB_PENDING) | (1u << MLQ_JOB_ASSIGNED) | (1u << MLQ_JOB_RUNNING))

static int print_candidates(const struct mlq_msg *list, const char *name, FILE *f)
{
    static const char *const headers[] = {"ID", "STATE", "SUBMITTED"};
    char shown[MLQ_MAX_NAME + 1];
    fprintf(f, "your active jobs named \"%s\":\n", mlq_out_clean(name, shown, sizeof shown));
    struct mlq_table *t = mlq_table_create(3, headers);
    int rc = t ? 0 : MLQ_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < list->u.job_list.njobs; i++) {
        const struct mlq_jobinfo *j = &list->u.job_list.jobs[i];
        char id[MLQ_SHORT_ID_LEN + 1], when[64];
        mlq_id_short(j->id, id);
        rc = mlq_table_add(t, id, NULL);
        rc = rc ? rc : mlq_table_add(t, mlq_job_state_name(j->state), NULL);
        rc = rc ? rc : mlq_table_add(t, mlq_out_time_local(j->submit_ms, when, sizeof when), NULL);
    }
    if (rc == 0)
        rc = mlq_table_print(t, f, false);
    mlq_table_destroy(&t);
    return rc;
}

int mlq_cli_print_named(struct mlq_cli *cli, const char *name, FILE *f)
{
    struct mlq_msg req = {.type = MLQ_MSG_JOBS}, reply;
    req.u.jobs.state = -1;
    req.u.jobs.name = (char *)name;
    req.u.jobs.mine = true;
    req.u.jobs.states = ACTIVE_STATES;
    req.u.jobs.limit = NAMED_MAX;
    int rc = mlq_cli_request(cli, &req, MLQ_MSG_JOB_LIST, &reply, NULL);
    if (rc < 0)
        return rc;
    if (reply.u.job_list.njobs > 1)
        rc = print_candidates(&reply, name, f);
    mlq_proto_msg_free(&reply);
    return rc;
}

int mlq_cli_refs_fail(struct mlq_cli *cli, int code, const struct mlq_err *err, char *const *refs,
                      int n)
{
    int exit_code = mlq_out_fail(code, err);
    if (code != MLQ_EAMBIG)
        return exit_code;
    for (int i = 0, asked = 0; i < n && asked < NAMED_REFS_MAX; i++) {
        if (mlq_cli_ref_id_shaped(refs[i]) && strchr(refs[i], '/'))
            continue; /* ARRAY/N is never a name */
        asked++;
        if (mlq_cli_print_named(cli, refs[i], stderr) < 0)
            break;
    }
    return exit_code;
}
