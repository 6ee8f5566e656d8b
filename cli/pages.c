/* pages: see pages.h. */
#include "pages.h"

#include <stdlib.h>
#include <string.h>

/* Page guard: a scheduler that kept handing out cursors would otherwise
 * keep the CLI asking forever. */
#define PAGES_MAX 100000

/* Appends n entries of size sz from *src to *dst (count *dn), taking them:
 * *src keeps its array but no entries. */
static int append(void **dst, uint32_t *dn, void **src, uint32_t *sn, size_t sz)
{
    if (*sn == 0)
        return 0;
    char *v = realloc(*dst, ((size_t)*dn + *sn) * sz);
    if (!v)
        return MLQ_ENOMEM;
    memcpy(v + (size_t)*dn * sz, *src, (size_t)*sn * sz);
    *dst = v;
    *dn += *sn;
    *sn = 0;
    return 0;
}

static char **cursor_of(struct mlq_msg *req)
{
    switch (req->type) {
    case MLQ_MSG_JOBS:
        return &req->u.jobs.cursor;
    case MLQ_MSG_WORKERS:
        return &req->u.workers.cursor;
    default:
        return &req->u.schedules.cursor;
    }
}

static char **next_of(struct mlq_msg *reply)
{
    switch (reply->type) {
    case MLQ_MSG_JOB_LIST:
        return &reply->u.job_list.next;
    case MLQ_MSG_WORKER_LIST:
        return &reply->u.worker_list.next;
    default:
        return &reply->u.schedule_list.next;
    }
}

static uint32_t entries(const struct mlq_msg *m)
{
    switch (m->type) {
    case MLQ_MSG_JOB_LIST:
        return m->u.job_list.njobs + m->u.job_list.narrays;
    case MLQ_MSG_WORKER_LIST:
        return m->u.worker_list.nworkers;
    default:
        return m->u.schedule_list.nschedules;
    }
}

/* Moves the entries of page to the end of all. */
static int merge(struct mlq_msg *all, struct mlq_msg *page)
{
    int rc = 0;
    switch (all->type) {
    case MLQ_MSG_JOB_LIST:
        rc = append((void **)&all->u.job_list.jobs, &all->u.job_list.njobs,
                    (void **)&page->u.job_list.jobs, &page->u.job_list.njobs,
                    sizeof *all->u.job_list.jobs);
        if (rc == 0)
            rc = append((void **)&all->u.job_list.arrays, &all->u.job_list.narrays,
                        (void **)&page->u.job_list.arrays, &page->u.job_list.narrays,
                        sizeof *all->u.job_list.arrays);
        break;
    case MLQ_MSG_WORKER_LIST:
        rc = append((void **)&all->u.worker_list.workers, &all->u.worker_list.nworkers,
                    (void **)&page->u.worker_list.workers, &page->u.worker_list.nworkers,
                    sizeof *all->u.worker_list.workers);
        break;
    default:
        rc = append((void **)&all->u.schedule_list.schedules, &all->u.schedule_list.nschedules,
                    (void **)&page->u.schedule_list.schedules, &page->u.schedule_list.nschedules,
                    sizeof *all->u.schedule_list.schedules);
    }
    char **next = next_of(all);
    free(*next);
    *next = *next_of(page);
    *next_of(page) = NULL;
    return rc;
}

int mlq_pages_request(struct mlq_cli *cli, struct mlq_msg *req, enum mlq_msg_type expect,
                      uint32_t limit, struct mlq_msg *reply, struct mlq_err *err)
{
    char **cursor = cursor_of(req);
    *cursor = NULL;
    int rc = mlq_cli_request(cli, req, expect, reply, err);
    for (int pages = 1; rc == 0 && *next_of(reply) && pages < PAGES_MAX; pages++) {
        uint32_t have = entries(reply);
        if (limit && have >= limit)
            break;
        if (req->type == MLQ_MSG_JOBS && limit)
            req->u.jobs.limit = limit - have;
        *cursor = *next_of(reply);
        struct mlq_msg page;
        rc = mlq_cli_request(cli, req, expect, &page, err);
        if (rc == 0) {
            if (merge(reply, &page) < 0)
                rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
            mlq_proto_msg_free(&page);
        }
        if (rc < 0)
            mlq_proto_msg_free(reply);
    }
    *cursor = NULL;
    return rc;
}
