/* Gangs (`--nodes N`) in the scheduler on a real store: all-or-nothing
 * placement on distinct workers, one part failing or lost stopping the
 * others and ending the attempt as one, cancel, restart recovery, and the
 * reservation that neither starves a gang nor holds workers idle beyond its
 * bound. The outbox stands in for the socket: its count shows which
 * messages would leave after commit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "gang.h"
#include "jobops.h"
#include "leftover.h"
#include "metrics.h"
#include "outbox.h"
#include "queue.h"
#include "recover.h"
#include "sched_fixture.h"
#include "why.h"
#include "workerloss.h"
#include "wproto.h"

static int setup(void **state)
{
    return sched_fx_open(state, "gang", 5000);
}

struct opts {
    uint32_t nodes;
    int32_t gpus, retries;
    int64_t time_limit_ms;
    const char *pool, *gpu_type, *require;
};

static struct mlq_job *submit(struct mlq_ctx *c, const struct opts *o)
{
    struct mlq_jobspec spec = sched_spec("alice", 1000, o->gpus);
    spec.nodes = o->nodes;
    spec.retries = o->retries;
    spec.retry_backoff_ms = 1000;
    spec.time_limit_ms = o->time_limit_ms;
    spec.pool = o->pool ? strdup(o->pool) : NULL;
    spec.gpu_type = o->gpu_type ? strdup(o->gpu_type) : NULL;
    if (o->require) {
        spec.require = calloc(1, sizeof(char *));
        spec.require[0] = strdup(o->require);
        spec.nrequire = 1;
    }
    char id[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
    struct mlq_job *job = mlq_jobtab_get(c->jobs, id);
    assert_non_null(job);
    return job;
}

/* The worker of part k reports it (through the worker protocol). */
static void part_report(struct mlq_ctx *c, struct mlq_job *job, uint32_t k,
                        enum mlq_report_phase phase, enum mlq_outcome out, int code)
{
    struct mlq_gpart *p = &mlq_job_gang(job)->parts[k];
    struct mlq_worker *w = mlq_workers_at(c->workers, p->widx);
    struct mlq_msg m = {.type = MLQ_MSG_REPORT};
    memcpy(m.u.report.attempt_id, p->row.a.id, sizeof m.u.report.attempt_id);
    m.u.report.phase = phase;
    m.u.report.outcome = out;
    m.u.report.exit_code = out == MLQ_OUT_EXITED ? code : 0;
    m.u.report.signal = out == MLQ_OUT_SIGNALED ? code : 0;
    sched_speak_as(c, w->name, MLQ_ROLE_WORKER);
    assert_int_equal(mlq_wproto_on_report(c, &w->peer, &m, NULL), 0);
}

static void start_all(struct mlq_ctx *c, struct mlq_job *job)
{
    for (uint32_t k = 0; k < mlq_job_gang(job)->n; k++)
        part_report(c, job, k, MLQ_PHASE_STARTED, MLQ_OUT_NONE, 0);
}

static int64_t used_cpus(struct mlq_ctx *c)
{
    int64_t n = 0;
    for (size_t i = 0; i < mlq_workers_count(c->workers); i++)
        n += mlq_workers_at(c->workers, i)->cpus_used_m;
    return n;
}

/* ---- placement -------------------------------------------------------- */

static void test_all_or_nothing(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    sched_worker_up(c, "w1", 2);
    sched_worker_up(c, "w2", 2);
    struct mlq_worker *w3 = sched_worker_up(c, "w3", 1); /* one GPU short */
    struct mlq_job *job = submit(c, &(struct opts){.nodes = 3, .gpus = 2});
    size_t before = mlq_outbox_count(c->out);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    /* N-1 fit: nothing is booked, nothing is sent */
    assert_int_equal(job->row.state, MLQ_JOB_PENDING);
    assert_false(job->live);
    assert_int_equal(used_cpus(c), 0);
    assert_int_equal(mlq_outbox_count(c->out), before);
    struct mlq_why why;
    mlq_why_explain(c, job, false, &why);
    assert_non_null(strstr(why.text, "needs 3 nodes with 2 GPUs; 2 fit now"));
    assert_non_null(strstr(why.text, "1 lacks GPUs (w3 has 1)"));

    w3->gpus = 2;
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
    assert_non_null(mlq_job_gang(job));
    assert_int_equal(mlq_job_gang(job)->n, 3);
    assert_int_equal(mlq_outbox_count(c->out), before + 3); /* one ASSIGN per node */
    /* distinct workers, each with its own part id and GPUs */
    const char *seen[3];
    for (uint32_t k = 0; k < 3; k++) {
        struct mlq_gpart *p = &mlq_job_gang(job)->parts[k];
        seen[k] = p->row.a.worker;
        assert_int_equal(p->row.rank, (int32_t)k);
        assert_int_equal(p->row.a.state, MLQ_ATT_ASSIGNED);
        assert_string_equal(p->row.a.gpu_ids, "0,1");
        assert_ptr_equal(mlq_jobtab_part(c->jobs, p->row.a.id), p);
        struct mlq_store_part row;
        assert_int_equal(mlq_store_part_get(c->store, p->row.a.id, &row, NULL), 0);
        assert_string_equal(row.attempt_id, job->att->id);
        assert_int_equal(row.a.num, 1);
        mlq_store_attempt_free(&row.a);
    }
    assert_string_not_equal(seen[0], seen[1]);
    assert_string_not_equal(seen[1], seen[2]);
    assert_string_not_equal(seen[0], seen[2]);
    assert_int_equal(mlq_job_gang(job)->parts[0].row.rdv_port, MLQ_GANG_RDV_LO);
    assert_int_equal(used_cpus(c), 3000);
    sched_commit(c);
}

static void test_distinct_workers_and_pools(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *big = sched_worker_up(c, "big", 8);
    big->cpus_m = 64000;
    struct mlq_job *two = submit(c, &(struct opts){.nodes = 2, .gpus = 1});
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(two->row.state, MLQ_JOB_PENDING); /* room for both, one worker */
    struct mlq_worker *p1 = sched_worker_up(c, "p1", 1), *p2 = sched_worker_up(c, "p2", 1);
    snprintf(p1->pool, sizeof p1->pool, "train");
    snprintf(p2->pool, sizeof p2->pool, "train");
    struct mlq_job *pooled = submit(c, &(struct opts){.nodes = 2, .gpus = 1, .pool = "train"});
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(pooled->row.state, MLQ_JOB_ASSIGNED);
    for (uint32_t k = 0; k < 2; k++) /* every node in the pool */
        assert_non_null(strchr("p", mlq_job_gang(pooled)->parts[k].row.a.worker[0]));
    assert_int_equal(two->row.state, MLQ_JOB_PENDING);
    sched_worker_up(c, "w2", 1);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(two->row.state, MLQ_JOB_ASSIGNED);
    assert_string_not_equal(mlq_job_gang(two)->parts[0].row.a.worker,
                            mlq_job_gang(two)->parts[1].row.a.worker);
    /* two gangs' node 0 on one worker get different rendezvous ports */
    sched_commit(c);
}

/* GPU type and labels apply to every node. */
static void test_type_and_labels_on_each_node(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    const char *types[] = {"h100", "h100", "a100"};
    char *rack_a[] = {"rack=a"}, *rack_b[] = {"rack=b"};
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "w%d", i + 1);
        struct mlq_worker *w = sched_worker_up(c, name, 1);
        struct mlq_gpuinfo g = {.index = 0, .type = (char *)types[i]};
        assert_int_equal(
            mlq_workers_describe(w, "default", i == 1 ? rack_b : rack_a, 1, &g, 1, NULL), 0);
    }
    struct mlq_job *h3 = submit(c, &(struct opts){.nodes = 3, .gpus = 1, .gpu_type = "h100"});
    struct mlq_job *racked = submit(c, &(struct opts){.nodes = 2, .gpus = 1, .require = "rack=a"});
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(h3->row.state, MLQ_JOB_PENDING); /* only two h100 workers */
    struct mlq_why why;
    mlq_why_explain(c, h3, false, &why);
    assert_non_null(strstr(why.text, "needs 3 nodes with 1 GPUs (h100)"));
    assert_int_equal(racked->row.state, MLQ_JOB_ASSIGNED); /* w1 and w3 carry rack=a */
    for (uint32_t k = 0; k < 2; k++)
        assert_string_not_equal(mlq_job_gang(racked)->parts[k].row.a.worker, "w2");
    sched_commit(c);
}

static void test_ports_distinct_per_node(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w1 = sched_worker_up(c, "w1", 0), *w2 = sched_worker_up(c, "w2", 0);
    w1->rdv_lo = w2->rdv_lo = 30000;
    w1->rdv_hi = w2->rdv_hi = 30001;
    struct mlq_job *a = submit(c, &(struct opts){.nodes = 1});
    struct mlq_job *b = submit(c, &(struct opts){.nodes = 1});
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(a->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(b->row.state, MLQ_JOB_ASSIGNED);
    int32_t pa = mlq_job_gang(a)->parts[0].row.rdv_port,
            pb = mlq_job_gang(b)->parts[0].row.rdv_port;
    bool same_node =
        strcmp(mlq_job_gang(a)->parts[0].row.a.worker, mlq_job_gang(b)->parts[0].row.a.worker) == 0;
    assert_true(pa >= 30000 && pa <= 30001);
    if (same_node)
        assert_int_not_equal(pa, pb);
    sched_commit(c);
}

/* Decodes the outbox's message i (fails the test when it does not decode). */
static void outbox_msg(struct mlq_ctx *c, size_t i, struct mlq_msg *m)
{
    size_t len;
    const char *body = mlq_outbox_body(c->out, i, &len);
    assert_non_null(body);
    struct mlq_err err = {0};
    if (mlq_proto_decode(body, len, m, &err) != 0)
        fail_msg("outbox message %zu: %s", i, err.msg);
}

static void test_assign_carries_gang(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    sched_worker_up(c, "w1", 1);
    struct mlq_worker *w2 = sched_worker_up(c, "w2", 1);
    sched_worker_up(c, "w3", 1);
    snprintf(w2->addr, sizeof w2->addr, "10.0.0.2");
    struct mlq_job *job = submit(c, &(struct opts){.nodes = 3, .gpus = 1});
    size_t before = mlq_outbox_count(c->out);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(mlq_outbox_count(c->out), before + 3);
    for (uint32_t k = 0; k < 3; k++) {
        struct mlq_msg m;
        outbox_msg(c, before + k, &m);
        const struct mlq_gpart *p = &mlq_job_gang(job)->parts[k];
        assert_int_equal(m.type, MLQ_MSG_ASSIGN);
        assert_string_equal(m.u.assign.attempt_id, p->row.a.id); /* the part's own id */
        assert_string_equal(m.u.assign.job_id, job->row.id);
        assert_int_equal(m.u.assign.attempt, 1);
        assert_int_equal(m.u.assign.ngpu_ids, 1);
        const struct mlq_ganginfo *g = &m.u.assign.gang;
        assert_int_equal(g->nnodes, 3);
        assert_int_equal(g->rank, (int32_t)k);
        assert_int_equal(g->master_port, mlq_job_gang(job)->parts[0].row.rdv_port);
        assert_int_equal(g->nhosts, 3);
        for (uint32_t h = 0; h < 3; h++) {
            const char *wn = mlq_job_gang(job)->parts[h].row.a.worker;
            assert_string_equal(g->hosts[h].worker, wn);
            /* the advertised address, else the worker's name */
            assert_string_equal(g->hosts[h].addr, strcmp(wn, "w2") == 0 ? "10.0.0.2" : wn);
            assert_int_equal(g->hosts[h].gpus, 1);
        }
        assert_string_equal(g->master_addr, g->hosts[0].addr);
        mlq_proto_msg_free(&m);
    }
    sched_commit(c);
}

/* The last message of the outbox is a report_ack; returns accepted. */
static bool last_ack(struct mlq_ctx *c)
{
    struct mlq_msg m;
    outbox_msg(c, mlq_outbox_count(c->out) - 1, &m);
    assert_int_equal(m.type, MLQ_MSG_REPORT_ACK);
    bool accepted = m.u.report_ack.accepted;
    mlq_proto_msg_free(&m);
    return accepted;
}

/* ---- lifecycle -------------------------------------------------------- */

static struct mlq_job *running_gang(struct mlq_ctx *c, const struct opts *o)
{
    sched_worker_up(c, "w1", 1);
    sched_worker_up(c, "w2", 1);
    sched_worker_up(c, "w3", 1);
    struct mlq_job *job = submit(c, o);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
    start_all(c, job);
    assert_int_equal(job->row.state, MLQ_JOB_RUNNING);
    assert_int_equal(job->att->state, MLQ_ATT_RUNNING);
    return job;
}

static void test_started_only_when_all_started(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    sched_worker_up(c, "w1", 0);
    sched_worker_up(c, "w2", 0);
    struct mlq_job *job = submit(c, &(struct opts){.nodes = 2});
    char id[MLQ_ID_LEN + 1];
    snprintf(id, sizeof id, "%s", job->row.id);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    part_report(c, job, 1, MLQ_PHASE_STARTED, MLQ_OUT_NONE, 0);
    assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
    part_report(c, job, 0, MLQ_PHASE_STARTED, MLQ_OUT_NONE, 0);
    assert_int_equal(job->row.state, MLQ_JOB_RUNNING);
    part_report(c, job, 0, MLQ_PHASE_FINISHED, MLQ_OUT_EXITED, 0);
    assert_int_equal(job->row.state, MLQ_JOB_RUNNING); /* node 1 still runs */
    part_report(c, job, 1, MLQ_PHASE_FINISHED, MLQ_OUT_EXITED, 0);
    /* ended: the table has let the job go (job is freed) */
    assert_null(mlq_jobtab_get(c->jobs, id));
    assert_int_equal(used_cpus(c), 0);
    sched_commit(c);
    struct mlq_store_job row;
    assert_int_equal(mlq_store_job_get(c->store, id, &row, NULL), 0);
    assert_int_equal(row.state, MLQ_JOB_SUCCEEDED);
    mlq_store_job_free(&row);
}

static void test_one_part_fails_stops_others(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_job *job = running_gang(c, &(struct opts){.nodes = 3, .gpus = 1, .retries = 1});
    char id[MLQ_ID_LEN + 1], w3name[MLQ_MAX_NAME + 1];
    strcpy(id, job->row.id);
    strcpy(w3name, mlq_job_gang(job)->parts[2].row.a.worker);
    size_t before = mlq_outbox_count(c->out);
    part_report(c, job, 2, MLQ_PHASE_FINISHED, MLQ_OUT_EXITED, 1);
    /* its report is acknowledged and the two others get a KILL */
    assert_int_equal(mlq_outbox_count(c->out), before + 3);
    assert_true(mlq_job_gang(job)->stopping);
    assert_int_equal(job->row.state, MLQ_JOB_RUNNING); /* until every part has ended */
    assert_int_equal(used_cpus(c), 2000);
    part_report(c, job, 0, MLQ_PHASE_FINISHED, MLQ_OUT_SIGNALED, 15);
    assert_int_equal(job->row.state, MLQ_JOB_RUNNING);
    part_report(c, job, 1, MLQ_PHASE_FINISHED, MLQ_OUT_SIGNALED, 15);
    /* one attempt ended: retried as one */
    assert_int_equal(job->row.state, MLQ_JOB_PENDING);
    assert_int_equal(job->row.attempts, 1);
    assert_int_equal(used_cpus(c), 0);
    char want[256];
    snprintf(want, sizeof want, "node 2 (worker %s) exited 1; others stopped", w3name);
    if (!strstr(job->row.reason, want))
        fail_msg("reason \"%s\", wanted \"%s\"", job->row.reason, want);

    c->now_wall = job->row.not_before_ms;
    int64_t due;
    mlq_queue_release_due(c->queue, c->now_wall, &due);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(job->att->num, 2);
    start_all(c, job);
    part_report(c, job, 2, MLQ_PHASE_FINISHED, MLQ_OUT_EXITED, 1);
    part_report(c, job, 0, MLQ_PHASE_FINISHED, MLQ_OUT_SIGNALED, 15);
    part_report(c, job, 1, MLQ_PHASE_FINISHED, MLQ_OUT_SIGNALED, 15);
    sched_commit(c);
    struct mlq_store_job row;
    assert_int_equal(mlq_store_job_get(c->store, id, &row, NULL), 0);
    assert_int_equal(row.state, MLQ_JOB_FAILED); /* retries used: fails as one */
    assert_int_equal(row.attempts, 2);
    assert_int_equal(row.exit_code, 1);
    mlq_store_job_free(&row);
}

static void test_lost_part_requeues_after_fence(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_job *job = running_gang(c, &(struct opts){.nodes = 3, .gpus = 1});
    struct mlq_gpart *p1 = &mlq_job_gang(job)->parts[1];
    struct mlq_worker *lost = mlq_workers_at(c->workers, p1->widx);
    /* every other worker keeps heartbeating; node 1's falls silent */
    c->now_mono += c->lease_ms + 1;
    for (size_t i = 0; i < mlq_workers_count(c->workers); i++)
        if (mlq_workers_at(c->workers, i) != lost)
            mlq_workers_at(c->workers, i)->last_seen_mono = c->now_mono;
    assert_int_equal(mlq_workerloss_check_leases(c, NULL), 0);
    assert_true(mlq_job_gang(job)->stopping);
    assert_int_equal(mlq_job_gang(job)->parts[1].row.a.state, MLQ_ATT_LOST);
    assert_int_equal(job->row.state, MLQ_JOB_RUNNING); /* the others still run */
    /* its booking stays until the worker says its processes are gone */
    assert_int_equal(lost->cpus_used_m, 1000);
    part_report(c, job, 0, MLQ_PHASE_FINISHED, MLQ_OUT_SIGNALED, 15);
    part_report(c, job, 2, MLQ_PHASE_FINISHED, MLQ_OUT_SIGNALED, 15);
    assert_int_equal(job->row.state, MLQ_JOB_PENDING);
    assert_int_equal(job->row.node_failures, 1);
    assert_int_equal(job->row.not_before_ms, c->now_wall + mlq_jobops_fence_delay(1000));
    assert_non_null(strstr(job->row.reason, "node 1"));
    assert_int_equal(used_cpus(c), 1000); /* only the lost part's booking */
    sched_commit(c);
}

/* A lost part that had exited 0 before the loss, like every other part,
 * its report gone down with its worker: when the report comes late, while
 * the gang still waits to run again, the attempt did succeed (the rule of
 * a single job's late outcome): SUCCEEDED after one run, not a second. */
static void test_lost_part_late_success(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_job *job = running_gang(c, &(struct opts){.nodes = 3});
    char id[MLQ_ID_LEN + 1], part1[MLQ_ID_LEN + 1];
    strcpy(id, job->row.id);
    strcpy(part1, mlq_job_gang(job)->parts[1].row.a.id);
    struct mlq_worker *lost = mlq_workers_at(c->workers, mlq_job_gang(job)->parts[1].widx);
    int64_t ended = c->now_wall; /* part 1 exits 0; its report is lost with its worker */
    part_report(c, job, 0, MLQ_PHASE_FINISHED, MLQ_OUT_EXITED, 0);
    part_report(c, job, 2, MLQ_PHASE_FINISHED, MLQ_OUT_EXITED, 0);
    c->now_mono += c->lease_ms + 1;
    c->now_wall += c->lease_ms + 1;
    for (size_t i = 0; i < mlq_workers_count(c->workers); i++)
        if (mlq_workers_at(c->workers, i) != lost)
            mlq_workers_at(c->workers, i)->last_seen_mono = c->now_mono;
    assert_int_equal(mlq_workerloss_check_leases(c, NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_PENDING); /* requeued as one */

    lost->state = MLQ_WORKER_UP;
    lost->last_seen_mono = c->now_mono;
    struct mlq_msg m = {.type = MLQ_MSG_REPORT};
    memcpy(m.u.report.attempt_id, part1, sizeof m.u.report.attempt_id);
    m.u.report.phase = MLQ_PHASE_FINISHED;
    m.u.report.outcome = MLQ_OUT_EXITED;
    m.u.report.end_ms = ended;
    sched_speak_as(c, lost->name, MLQ_ROLE_WORKER);
    assert_int_equal(mlq_wproto_on_report(c, &lost->peer, &m, NULL), 0);
    sched_commit(c);
    struct mlq_store_job row;
    assert_int_equal(mlq_store_job_get(c->store, id, &row, NULL), 0);
    assert_int_equal(row.state, MLQ_JOB_SUCCEEDED);
    assert_int_equal(row.attempts, 1);
    assert_int_equal(row.node_failures, 0);
    mlq_store_job_free(&row);
    struct mlq_store_part p;
    assert_int_equal(mlq_store_part_get(c->store, part1, &p, NULL), 0);
    assert_int_equal(p.a.state, MLQ_ATT_SUCCEEDED);
    mlq_store_attempt_free(&p.a);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0); /* nothing runs again */
    assert_int_equal(used_cpus(c), 0);
}

static void test_stale_part_reports(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_job *job = running_gang(c, &(struct opts){.nodes = 2, .retries = 1});
    struct mlq_gpart old = mlq_job_gang(job)->parts[0];
    struct mlq_worker *w = mlq_workers_at(c->workers, old.widx);
    part_report(c, job, 1, MLQ_PHASE_FINISHED, MLQ_OUT_EXITED, 3);
    part_report(c, job, 0, MLQ_PHASE_FINISHED, MLQ_OUT_SIGNALED, 15);
    assert_true(last_ack(c));
    assert_int_equal(job->row.state, MLQ_JOB_PENDING);
    /* the finished report of node 0 again (its ack was lost): acknowledged */
    struct mlq_msg m = {.type = MLQ_MSG_REPORT};
    memcpy(m.u.report.attempt_id, old.row.a.id, sizeof m.u.report.attempt_id);
    m.u.report.phase = MLQ_PHASE_FINISHED;
    m.u.report.outcome = MLQ_OUT_SIGNALED;
    m.u.report.signal = 15;
    sched_speak_as(c, w->name, MLQ_ROLE_WORKER);
    assert_int_equal(mlq_wproto_on_report(c, &w->peer, &m, NULL), 0);
    assert_true(last_ack(c));
    /* a started report of the old part: fenced, the worker kills it */
    m.u.report.phase = MLQ_PHASE_STARTED;
    assert_int_equal(mlq_wproto_on_report(c, &w->peer, &m, NULL), 0);
    assert_false(last_ack(c));
    assert_int_equal(job->row.state, MLQ_JOB_PENDING);
    sched_commit(c);
}

static void test_refused_part_requeues(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    sched_worker_up(c, "w1", 0);
    sched_worker_up(c, "w2", 0);
    struct mlq_job *job = submit(c, &(struct opts){.nodes = 2});
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    part_report(c, job, 0, MLQ_PHASE_STARTED, MLQ_OUT_NONE, 0);
    part_report(c, job, 1, MLQ_PHASE_FINISHED, MLQ_OUT_REFUSED, 0);
    assert_true(mlq_job_gang(job)->stopping);
    part_report(c, job, 0, MLQ_PHASE_FINISHED, MLQ_OUT_SIGNALED, 15);
    assert_int_equal(job->row.state, MLQ_JOB_PENDING);
    assert_int_equal(job->row.node_failures, 0); /* the worker's fault, not a node failure */
    assert_non_null(strstr(job->row.reason, "refused"));
    sched_commit(c);
}

static void test_cancel_stops_all(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_job *job = running_gang(c, &(struct opts){.nodes = 3});
    size_t before = mlq_outbox_count(c->out);
    assert_int_equal(mlq_jobops_cancel(c, job, "cancelled by alice", NULL), 0);
    assert_int_equal(mlq_outbox_count(c->out), before + 3); /* a KILL per node */
    assert_int_equal(job->row.state, MLQ_JOB_CANCELLED);
    assert_true(job->live);
    for (uint32_t k = 0; k < 3; k++)
        part_report(c, job, k, MLQ_PHASE_FINISHED, MLQ_OUT_SIGNALED, 15);
    assert_int_equal(used_cpus(c), 0);
    sched_commit(c);
}

/* ---- restart ---------------------------------------------------------- */

/* Worker name comes back UP (with gpus GPUs) holding the gang part part. */
static struct mlq_worker *back_holding(struct mlq_ctx *c, const char *name, int32_t gpus,
                                       const char *part)
{
    struct mlq_worker *w = sched_worker_up(c, name, gpus);
    struct mlq_held_attempt held = {.finished = false};
    strcpy(held.attempt_id, part);
    assert_int_equal(mlq_workerloss_reconcile(c, w, &held, 1, NULL), 0);
    return w;
}

/* A gang of 2 running when the scheduler restarts: returns it as recovered,
 * with the id of its part 0 in part0 and that part's worker in w0. */
static struct mlq_job *pair_after_restart(struct sched_fx *f, char *part0, char *w0)
{
    struct mlq_ctx *c = &f->c;
    struct mlq_job *job = running_gang(c, &(struct opts){.nodes = 2});
    char id[MLQ_ID_LEN + 1];
    strcpy(id, job->row.id);
    strcpy(part0, mlq_job_gang(job)->parts[0].row.a.id);
    strcpy(w0, mlq_job_gang(job)->parts[0].row.a.worker);
    sched_commit(c);
    sched_fx_restart(f);
    return mlq_jobtab_get(c->jobs, id);
}

static void test_restart_partly_confirmed(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_ctx *c = &f->c;
    struct mlq_job *job = running_gang(c, &(struct opts){.nodes = 3, .gpus = 1});
    char id[MLQ_ID_LEN + 1], parts[3][MLQ_ID_LEN + 1], workers[3][MLQ_MAX_NAME + 1];
    strcpy(id, job->row.id);
    for (uint32_t k = 0; k < 3; k++) {
        strcpy(parts[k], mlq_job_gang(job)->parts[k].row.a.id);
        strcpy(workers[k], mlq_job_gang(job)->parts[k].row.a.worker);
    }
    sched_commit(c);
    sched_fx_restart(f);
    job = mlq_jobtab_get(c->jobs, id);
    assert_non_null(mlq_job_gang(job));
    assert_int_equal(used_cpus(c), 3000); /* every part booked again */
    assert_int_equal(job->row.state, MLQ_JOB_RUNNING);

    /* nodes 0 and 1 come back holding their parts; node 2's worker does not
     * hold its part any more */
    for (uint32_t k = 0; k < 2; k++) {
        back_holding(c, workers[k], 1, parts[k]);
        assert_true(mlq_job_gang(job)->parts[k].confirmed);
    }
    size_t before = mlq_outbox_count(c->out);
    struct mlq_worker *w3 = sched_worker_up(c, workers[2], 1);
    assert_int_equal(mlq_workerloss_reconcile(c, w3, NULL, 0, NULL), 0);
    assert_int_equal(mlq_job_gang(job)->parts[2].row.a.state, MLQ_ATT_LOST);
    assert_int_equal(mlq_outbox_count(c->out), before + 2); /* no node left running alone */
    part_report(c, job, 0, MLQ_PHASE_FINISHED, MLQ_OUT_SIGNALED, 15);
    part_report(c, job, 1, MLQ_PHASE_FINISHED, MLQ_OUT_SIGNALED, 15);
    assert_int_equal(job->row.state, MLQ_JOB_PENDING); /* requeued as one */
    assert_int_equal(used_cpus(c), 0);
    /* a part of the old attempt reporting again is fenced, not restarted */
    assert_null(mlq_jobtab_part(c->jobs, parts[0]));
    sched_commit(c);
}

static void test_restart_unconfirmed_part_lost(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_ctx *c = &f->c;
    char part0[MLQ_ID_LEN + 1], w0[MLQ_MAX_NAME + 1];
    struct mlq_job *job = pair_after_restart(f, part0, w0);
    struct mlq_worker *w = back_holding(c, w0, 0, part0);
    /* the other worker never comes back: its part is lost after a lease */
    c->now_mono += c->lease_ms + 1;
    w->last_seen_mono = c->now_mono;
    assert_int_equal(mlq_workerloss_check_leases(c, NULL), 0);
    assert_true(mlq_job_gang(job)->stopping);
    assert_int_equal(mlq_job_gang(job)->parts[1].row.a.state, MLQ_ATT_LOST);
    part_report(c, job, 0, MLQ_PHASE_FINISHED, MLQ_OUT_SIGNALED, 15);
    assert_int_equal(job->row.state, MLQ_JOB_PENDING);
    sched_commit(c);
}

/* As the loop runs it: lease checks come every tick, the first ones long
 * before any part's confirmation is due; they must keep watching the
 * unconfirmed part until its deadline. */
static void test_restart_unconfirmed_part_lost_after_early_ticks(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_ctx *c = &f->c;
    char part0[MLQ_ID_LEN + 1], w0[MLQ_MAX_NAME + 1];
    struct mlq_job *job = pair_after_restart(f, part0, w0);
    assert_int_equal(mlq_workerloss_check_leases(c, NULL), 0); /* a tick at once */
    struct mlq_worker *w = back_holding(c, w0, 0, part0);
    c->now_mono += c->lease_ms / 2;
    w->last_seen_mono = c->now_mono;
    assert_int_equal(mlq_workerloss_check_leases(c, NULL), 0); /* not due yet */
    assert_false(mlq_job_gang(job)->stopping);
    c->now_mono += c->lease_ms / 2 + 1;
    w->last_seen_mono = c->now_mono;
    assert_int_equal(mlq_workerloss_check_leases(c, NULL), 0);
    assert_true(mlq_job_gang(job)->stopping);
    assert_int_equal(mlq_job_gang(job)->parts[1].row.a.state, MLQ_ATT_LOST);
    part_report(c, job, 0, MLQ_PHASE_FINISHED, MLQ_OUT_SIGNALED, 15);
    assert_int_equal(job->row.state, MLQ_JOB_PENDING);
    sched_commit(c);
}

/* ---- reservation ------------------------------------------------------ */

/* Three one-GPU workers busy with small jobs of the given time limit; a
 * gang of 3 waits; every minute one small job ends and another one is
 * submitted. Returns the minute the gang started (or -1 within 10). */
static int stream(struct mlq_ctx *c, int64_t limit_ms, struct mlq_job **gang_out,
                  struct mlq_job **last_small)
{
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "w%d", i + 1);
        sched_worker_up(c, name, 1);
    }
    struct mlq_job *small[64];
    int ns = 0;
    for (int i = 0; i < 3; i++) {
        small[ns] = submit(c, &(struct opts){.gpus = 1, .time_limit_ms = limit_ms});
        assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
        assert_int_equal(small[ns]->row.state, MLQ_JOB_ASSIGNED);
        ns++;
        c->now_wall += 20000; /* staggered: they end 20 s apart */
    }
    struct mlq_job *gang = submit(c, &(struct opts){.nodes = 3, .gpus = 1});
    *gang_out = gang;
    int next_end = 0;
    for (int minute = 0; minute < 10 && ns < 60; minute++) {
        small[ns] = submit(c, &(struct opts){.gpus = 1, .time_limit_ms = limit_ms});
        *last_small = small[ns++];
        /* the oldest running small job ends */
        while (next_end < ns && small[next_end]->row.state != MLQ_JOB_ASSIGNED)
            next_end++;
        if (next_end < ns) {
            struct mlq_job *j = small[next_end++];
            struct mlq_msg rep = {.type = MLQ_MSG_REPORT};
            memcpy(rep.u.report.attempt_id, j->att->id, sizeof rep.u.report.attempt_id);
            rep.u.report.phase = MLQ_PHASE_FINISHED;
            rep.u.report.outcome = MLQ_OUT_EXITED;
            assert_int_equal(mlq_jobops_finished(c, j, &rep, NULL), 0);
        }
        assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
        if (gang->row.state == MLQ_JOB_ASSIGNED)
            return minute;
        c->now_wall += 60000;
    }
    return -1;
}

static void test_gang_not_starved_by_small_jobs(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_job *gang, *last;
    /* small jobs of 2 minutes: the gang's reservation starts within the
     * hold bound, so freed workers wait for it */
    int minute = stream(c, 2 * 60000, &gang, &last);
    assert_true(minute >= 0);
    assert_true(minute <= 3); /* as soon as the three first jobs ended */
    assert_int_equal(gang->row.state, MLQ_JOB_ASSIGNED);
    sched_commit(c);
}

static void test_idle_hold_is_bounded(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_job *gang, *last;
    /* small jobs of 2 hours: the gang could start only beyond the bound,
     * so a worker freed early is not held idle for it */
    int minute = stream(c, 2 * 3600000, &gang, &last);
    assert_int_equal(minute, -1);
    assert_int_equal(gang->row.state, MLQ_JOB_PENDING);
    assert_false(c->resv_on);
    size_t busy = 0;
    for (size_t i = 0; i < mlq_workers_count(c->workers); i++)
        busy += mlq_workers_at(c->workers, i)->running > 0;
    assert_int_equal(busy, 3); /* every freed worker went to a small job */
    sched_commit(c);
}

static void test_why_larger_than_cluster(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    sched_worker_up(c, "w1", 0);
    sched_worker_up(c, "w2", 0);
    sched_worker_up(c, "w3", 0);
    struct mlq_job *job = submit(c, &(struct opts){.nodes = 4});
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_PENDING); /* accepted, waits */
    struct mlq_why why;
    mlq_why_explain(c, job, false, &why);
    assert_string_equal(why.blocker, "never_fits");
    assert_non_null(strstr(why.text, "needs 4 nodes"));
    assert_non_null(strstr(why.text, "3 fit now"));
    assert_non_null(strstr(why.text, "it waits for more"));
    sched_commit(c);
}

/* Metrics count every part's booking, and the GPU time of every node. */
static void test_metrics_count_parts(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    char dir[] = "/tmp/mlq-test-gang-metrics-XXXXXX";
    assert_non_null(mkdtemp(dir));
    c->metrics = mlq_metrics_create(dir);
    assert_non_null(c->metrics);
    sched_worker_up(c, "w1", 2);
    sched_worker_up(c, "w2", 2);
    sched_worker_up(c, "w3", 2);
    struct mlq_job *job = submit(c, &(struct opts){.nodes = 3, .gpus = 2});
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
    c->now_wall += 10000;
    char *text;
    size_t len;
    assert_int_equal(mlq_metrics_render(c, &text, &len, NULL), 0);
    assert_non_null(strstr(text, "mlq_cpus{pool=\"default\",resource=\"allocated\"} 3.000"));
    assert_non_null(strstr(text, "resource=\"allocated\"} 6\n")); /* GPUs */
    assert_non_null(
        strstr(text, "mlq_user_gpu_seconds_total{user=\"alice\"} 60")); /* 3 x 2 x 10 s */
    free(text);
    mlq_metrics_destroy(&c->metrics);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    sched_commit(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_all_or_nothing, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_distinct_workers_and_pools, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_type_and_labels_on_each_node, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_ports_distinct_per_node, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_started_only_when_all_started, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_one_part_fails_stops_others, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_lost_part_requeues_after_fence, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_assign_carries_gang, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_stale_part_reports, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_refused_part_requeues, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_cancel_stops_all, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_restart_partly_confirmed, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_restart_unconfirmed_part_lost, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_lost_part_late_success, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_restart_unconfirmed_part_lost_after_early_ticks, setup,
                                        sched_fx_close),
        cmocka_unit_test_setup_teardown(test_gang_not_starved_by_small_jobs, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_idle_hold_is_bounded, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_why_larger_than_cluster, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_metrics_count_parts, setup, sched_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
