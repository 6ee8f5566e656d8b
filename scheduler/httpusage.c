/* httpusage: GET /api/v1/usage and GET /api/v1/accounting (at the end).
 * GET /api/v1/usage: Per user: the fair-share use the loop
 * knows (`usage`: decayed weighted core-seconds and the priority penalty
 * they cost), and what the user holds right now (running and pending jobs,
 * CPUs, memory and GPUs of the running ones), summed over the active job
 * listings the loop gives anyone with a token. */
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "datearg.h"
#include "httpint.h"
#include "jsonview.h"

#define USAGE_PAGES     50 /* x 1000 jobs per state */
#define USAGE_MAX_USERS 10000

struct usage {
    char *user;
    int64_t running, pending, cpus_m, mem, gpus;
    int64_t core_s, penalty_milli;
};

static struct usage *find(struct usage *u, size_t *n, const char *user)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(u[i].user, user) == 0)
            return &u[i];
    if (*n >= USAGE_MAX_USERS)
        return NULL;
    u[*n].user = strdup(user);
    return u[*n].user ? &u[(*n)++] : NULL;
}

static int by_user(const void *a, const void *b)
{
    return strcmp(((const struct usage *)a)->user, ((const struct usage *)b)->user);
}

enum MHD_Result mlq_httpapi_usage(struct mlq_http_req *r)
{
    struct mlq_err e = {0};
    struct usage *u = calloc(USAGE_MAX_USERS, sizeof *u);
    size_t n = 0;
    int rc = u ? 0 : mlq_err_set(&e, MLQ_ENOMEM, "out of memory");
    struct mlq_msg ureq = {.type = MLQ_MSG_USAGE}, urep;
    if (rc == 0 && (rc = mlq_http_call(r, &ureq, &urep, MLQ_HTTP_CALL_MS, &e)) == 0) {
        for (uint32_t i = 0; i < urep.u.usage_list.nusers; i++) {
            struct usage *x = find(u, &n, urep.u.usage_list.users[i].user);
            if (x) {
                x->core_s = urep.u.usage_list.users[i].core_s;
                x->penalty_milli = urep.u.usage_list.users[i].penalty_milli;
            }
        }
        mlq_proto_msg_free(&urep);
    }
    static const enum mlq_job_state states[] = {MLQ_JOB_RUNNING, MLQ_JOB_PENDING};
    for (int s = 0; rc == 0 && s < 2; s++) {
        char cursor[32] = "";
        for (int page = 0; rc == 0 && page < USAGE_PAGES; page++) {
            struct mlq_msg req = {.type = MLQ_MSG_JOBS}, rep;
            req.u.jobs.state = (int32_t)states[s];
            req.u.jobs.limit = 1000;
            req.u.jobs.cursor = cursor[0] ? cursor : NULL;
            if ((rc = mlq_http_call(r, &req, &rep, MLQ_HTTP_CALL_MS, &e)) < 0)
                break;
            for (uint32_t i = 0; i < rep.u.job_list.njobs; i++) {
                const struct mlq_jobinfo *j = &rep.u.job_list.jobs[i];
                struct usage *x = find(u, &n, j->owner ? j->owner : "");
                if (!x)
                    continue;
                if (states[s] == MLQ_JOB_RUNNING) {
                    x->running++;
                    x->cpus_m += j->cpus_m;
                    x->mem += j->mem;
                    x->gpus += j->gpus;
                } else {
                    x->pending++;
                }
            }
            bool more = rep.u.job_list.next != NULL;
            if (more)
                snprintf(cursor, sizeof cursor, "%s", rep.u.job_list.next);
            mlq_proto_msg_free(&rep);
            if (!more)
                break;
        }
    }
    json_t *users = rc == 0 ? json_array() : NULL;
    if (users)
        qsort(u, n, sizeof *u, by_user);
    for (size_t i = 0; users && i < n; i++)
        json_array_append_new(
            users, json_pack("{s:o, s:I, s:f, s:I, s:I, s:f, s:I, s:I}", "user",
                             mlq_jsonview_str(u[i].user), "core_seconds", (json_int_t)u[i].core_s,
                             "penalty", (double)u[i].penalty_milli / 1000.0, "running",
                             (json_int_t)u[i].running, "pending", (json_int_t)u[i].pending, "cpus",
                             (double)u[i].cpus_m / 1000.0, "mem", (json_int_t)u[i].mem, "gpus",
                             (json_int_t)u[i].gpus));
    for (size_t i = 0; i < n; i++)
        free(u[i].user);
    free(u);
    if (rc < 0)
        return mlq_http_error(r->conn, rc, e.msg);
    return mlq_http_json(r->conn, MHD_HTTP_OK, users ? json_pack("{s:o}", "users", users) : NULL);
}

/* GET /api/v1/accounting?since=&until=&by=: `mlq usage --json` (the same
 * parameters and document); a token's user sees their own jobs only. */
enum MHD_Result mlq_httpapi_accounting(struct mlq_http_req *r)
{
    struct mlq_err e = {0};
    struct mlq_msg req = {.type = MLQ_MSG_ACCT}, rep;
    const char *since = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "since");
    const char *until = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "until");
    const char *by = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "by");
    int64_t now = mlq_clock_wall_ms();
    int rc = since ? mlq_datearg_parse(since, now, &req.u.acct.since_ms, &e) : 0;
    if (rc == 0 && until)
        rc = mlq_datearg_parse(until, now, &req.u.acct.until_ms, &e);
    int b = by ? -1 : MLQ_ACCT_BY_USER;
    for (int i = 0; by && i < MLQ_ACCT_BY_COUNT; i++)
        if (strcmp(by, mlq_acct_by_names[i]) == 0)
            b = i;
    if (rc == 0 && b < 0)
        rc = mlq_err_set(&e, MLQ_EINVAL, "by must be user, team, project, pool or gpu-type");
    if (rc < 0)
        return mlq_http_error(r->conn, rc, e.msg);
    req.u.acct.by = (enum mlq_acct_by)b;
    /* the report runs on a thread of its own: allow it its time */
    if ((rc = mlq_http_call(r, &req, &rep, 6 * MLQ_HTTP_CALL_MS, &e)) < 0)
        return mlq_http_error(r->conn, rc, e.msg);
    json_t *doc = mlq_jsonview_acct_report(&rep);
    mlq_proto_msg_free(&rep);
    return mlq_http_json(r->conn, MHD_HTTP_OK, doc);
}
