/* replay_core: the parts of mlq-replay both modes share (replay.h): one
 * run's scheduler and workers, its jobs by id, and the requests it makes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_load.h"
#include "bench_proc.h"
#include "bench_util.h"
#include "replay.h"

#define REQ_TIMEOUT_MS 60000

static size_t hash_id(const char *id, size_t nslots)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = id; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return (size_t)(h & (nslots - 1));
}

static struct rp_job *find_job(struct rp_run *r, const char *id)
{
    for (size_t i = hash_id(id, r->nslots);; i = (i + 1) & (r->nslots - 1)) {
        if (r->slots[i] < 0)
            return NULL;
        if (strcmp(r->jobs[r->slots[i]].id, id) == 0)
            return &r->jobs[r->slots[i]];
    }
}

static void on_assign(void *arg, int idx, const struct mlq_msg *m)
{
    struct rp_run *r = arg;
    struct rp_job *j = find_job(r, m->u.assign.job_id);
    if (!j || j->st != RP_PENDING || idx < 0 || (size_t)idx >= r->nnodes) {
        r->bad_assigns++;
        return;
    }
    j->st = RP_RUNNING;
    j->widx = idx;
    j->assign_ns = bproc_now_ns();
    snprintf(j->attempt, sizeof j->attempt, "%s", m->u.assign.attempt_id);
    double real_s = j->task->duration_s / (r->o->time_scale > 0 ? r->o->time_scale : 1);
    j->due_ns = j->assign_ns + (int64_t)(real_s * 1e9);
    r->alloc_h += j->h;
}

int rp_run_start(struct rp_run *r, const char *policy, struct mlq_err *err)
{
    size_t want = 1024;
    while (want < 2 * (r->ntasks + 1024))
        want *= 2;
    r->nslots = want;
    r->slots = malloc(want * sizeof *r->slots);
    struct bsim_node *nv = calloc(r->nnodes, sizeof *nv);
    r->simnodes = nv; /* a worker told to register again reads it again */
    if (!r->slots || !nv)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    memset(r->slots, 0xff, want * sizeof *r->slots);
    for (size_t i = 0; i < r->nnodes; i++)
        nv[i] = (struct bsim_node){r->nodes[i].name, r->nodes[i].cpus_m, r->nodes[i].mem,
                                   r->nodes[i].gpus,
                                   r->nodes[i].gpu_type[0] ? r->nodes[i].gpu_type : NULL};
    r->e->placement = policy;
    int rc = benv_run_start(r->e, err);
    struct bsim_opts so = {.endpoint = r->e->endpoint,
                           .prefix = "node",
                           .nworkers = (int)r->nnodes,
                           .nodes = nv,
                           .on_assign = on_assign,
                           .arg = r,
                           .in_order = true};
    if (rc == 0)
        rc = bsim_create(r->e->zctx, &so, &r->sim, err);
    if (rc == 0)
        rc = bu_await_registered(r->e, r->sim, r->nnodes, err);
    if (rc == 0)
        rc = benv_dealer(r->e, &r->sock, err);
    return rc;
}

void rp_run_end(struct rp_run *r, bool failed)
{
    benv_close(&r->sock);
    bsim_destroy(&r->sim);
    benv_run_end(r->e, failed);
    free(r->jobs);
    free(r->slots);
    free(r->simnodes);
    r->jobs = NULL;
    r->slots = NULL;
    r->simnodes = NULL;
    r->njobs = r->cap = 0;
    r->alloc_h = 0;
}

static int add_job(struct rp_run *r, const char *id, const struct trace_task *t,
                   struct rp_job **out, struct mlq_err *err)
{
    if (r->njobs * 2 >= r->nslots)
        return mlq_err_set(err, MLQ_ETOOBIG, "more jobs than the index holds");
    if (r->njobs == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1024;
        struct rp_job *v = realloc(r->jobs, cap * sizeof *v);
        if (!v)
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        r->jobs = v;
        r->cap = cap;
    }
    struct rp_job *j = &r->jobs[r->njobs];
    *j = (struct rp_job){.task = t, .h = trace_task_h(t), .widx = -1, .st = RP_PENDING};
    snprintf(j->id, sizeof j->id, "%s", id);
    size_t i = hash_id(id, r->nslots);
    while (r->slots[i] >= 0)
        i = (i + 1) & (r->nslots - 1);
    r->slots[i] = (int32_t)r->njobs++;
    *out = j;
    return 0;
}

int rp_submit(struct rp_run *r, const struct trace_task *t, struct rp_job **job,
              struct mlq_err *err)
{
    char *argv[] = {"/bin/true"};
    struct mlq_msg m = {.type = MLQ_MSG_SUBMIT, .rid = ++r->rid}, reply;
    benv_spec(r->e, &m.u.submit.spec, argv, 1, t->cpus_m, t->mem);
    m.u.submit.spec.name = (char *)t->name;
    m.u.submit.spec.gpus = t->gpus;
    m.u.submit.spec.gpu_frac = t->frac;
    m.u.submit.spec.gpu_type = t->gpu_types[0] ? (char *)t->gpu_types : NULL;
    /* The scheduler's clock runs time_scale times faster: its limit is the
     * trace's duration, which backfill uses for reservations. */
    m.u.submit.spec.time_limit_ms = (int64_t)(t->duration_s * 1000) + 1000;
    int64_t t0 = bproc_now_ns();
    int rc = bload_request(r->sock, &m, &reply, REQ_TIMEOUT_MS, err);
    if (rc < 0)
        return mlq_err_set(err, rc, "submit %s: %s", t->name, err->msg);
    if (reply.type != MLQ_MSG_SUBMITTED)
        rc = mlq_err_set(err, MLQ_EPROTO, "submit %s: answered %s", t->name,
                         mlq_proto_type_name(reply.type));
    else if ((rc = add_job(r, reply.u.submitted.id, t, job, err)) == 0)
        (*job)->submit_ns = t0;
    mlq_proto_msg_free(&reply);
    return rc;
}

int rp_job_state(struct rp_run *r, const struct rp_job *j, enum mlq_job_state *st,
                 struct mlq_err *err)
{
    return benv_job_state(r->sock, j->id, st, err);
}

int rp_cancel(struct rp_run *r, struct rp_job *j, struct mlq_err *err)
{
    char *ids[1] = {j->id};
    struct mlq_msg m = {.type = MLQ_MSG_CANCEL, .rid = ++r->rid}, reply;
    m.u.cancel.ids = ids;
    m.u.cancel.nids = 1;
    int rc = bload_request(r->sock, &m, &reply, REQ_TIMEOUT_MS, err);
    if (rc < 0)
        return rc;
    mlq_proto_msg_free(&reply);
    if (j->st == RP_RUNNING) /* placed meanwhile: its GPUs come back */
        r->alloc_h -= j->h;
    j->st = RP_CANCELLED;
    return 0;
}

int rp_finish(struct rp_run *r, struct rp_job *j, struct mlq_err *err)
{
    int rc = bsim_report_finished(r->sim, j->widx, j->attempt, err);
    if (rc == 0) {
        j->st = RP_DONE;
        r->alloc_h -= j->h;
    }
    return rc;
}

int rp_summary(struct rp_run *r, int64_t *stranded_h, int64_t *gpus_total, struct mlq_err *err)
{
    struct mlq_msg m = {.type = MLQ_MSG_WORKER_SUMMARY, .rid = ++r->rid}, reply;
    int rc = bload_request(r->sock, &m, &reply, REQ_TIMEOUT_MS, err);
    if (rc < 0)
        return rc;
    *stranded_h = 0;
    *gpus_total = 0;
    if (reply.type != MLQ_MSG_WORKER_SUMMARY_LIST)
        rc = mlq_err_set(err, MLQ_EPROTO, "summary answered %s", mlq_proto_type_name(reply.type));
    for (uint32_t i = 0; rc == 0 && i < reply.u.worker_summary.npools; i++) {
        const struct mlq_poolsum *p = &reply.u.worker_summary.pools[i];
        *stranded_h += p->gpus_stranded_h;
        for (uint32_t k = 0; k < p->ngpus; k++)
            *gpus_total += p->gpus[k].total;
    }
    mlq_proto_msg_free(&reply);
    return rc;
}
