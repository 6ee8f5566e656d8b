/* jobops on a real (in-memory) store: the job lifecycle, cancel, lost
 * workers, restart recovery and reconciliation. The outbox stands in for the
 * socket: its count shows which messages would leave after commit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "jobops.h"
#include "recover.h"
#include "workerloss.h"
#include "leftover.h"
#include "logrelay.h"
#include "placement.h"
#include "queue.h"
#include "fairshare.h"
#include "why.h"
#include "deps.h"
#include "pipeline.h"
#include "schedules.h"
#include "strmap.h"
#include "sched_fixture.h"
#include "wproto.h"

#define G (1024LL * 1024 * 1024)

static int setup(void **state)
{
    return sched_fx_open(state, "jobops", 5000);
}

/* A job as `mlq submit` would send it; owner "alice" unless said. */
struct opts {
    int32_t priority;
    int64_t time_limit_ms;
    const char *owner, *pool, *gpu_type;
};

static struct mlq_job *submit_o(struct mlq_ctx *c, int64_t cpus_m, int32_t gpus,
                                const struct opts *o)
{
    struct mlq_jobspec spec = sched_spec(o && o->owner ? o->owner : "alice", cpus_m, gpus);
    if (o) {
        spec.priority = o->priority;
        spec.time_limit_ms = o->time_limit_ms;
        spec.pool = o->pool ? strdup(o->pool) : NULL;
        spec.gpu_type = o->gpu_type ? strdup(o->gpu_type) : NULL;
    }
    char id[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
    assert_null(spec.argv); /* moved into the job */
    struct mlq_job *job = mlq_jobtab_get(c->jobs, id);
    assert_non_null(job);
    return job;
}

static struct mlq_job *submit(struct mlq_ctx *c, int64_t cpus_m, int32_t gpus)
{
    return submit_o(c, cpus_m, gpus, NULL);
}

/* Moves the wall clock and lets due retries into the queue, as the loop's
 * timer does. */
static void advance_to(struct mlq_ctx *c, int64_t wall)
{
    int64_t due;
    c->now_wall = wall;
    mlq_queue_release_due(c->queue, c->now_wall, &due);
}

static enum mlq_job_state stored_state(struct mlq_ctx *c, const char *id)
{
    struct mlq_store_job row;
    assert_int_equal(mlq_store_job_get(c->store, id, &row, NULL), 0);
    enum mlq_job_state s = row.state;
    mlq_store_job_free(&row);
    return s;
}

static struct mlq_msg report(const struct mlq_job *job, enum mlq_outcome out, int code)
{
    struct mlq_msg m = {.type = MLQ_MSG_REPORT};
    memcpy(m.u.report.attempt_id, job->att->id, sizeof m.u.report.attempt_id);
    m.u.report.phase = MLQ_PHASE_FINISHED;
    m.u.report.outcome = out;
    m.u.report.exit_code = out == MLQ_OUT_EXITED ? code : 0;
    m.u.report.signal = out == MLQ_OUT_SIGNALED ? code : 0;
    return m;
}

/* "kind:from>to" of each event of job id, joined by spaces. */
static void events_of(struct mlq_ctx *c, const char *id, char *buf, size_t len)
{
    struct mlq_eventinfo *ev = NULL;
    uint32_t n = 0;
    assert_int_equal(mlq_store_events_list(c->store, id, 0, 0, &ev, &n, NULL), 0);
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%s:%s>%s", i ? " " : "", ev[i].kind,
                                 ev[i].from ? ev[i].from : "", ev[i].to ? ev[i].to : "");
    mlq_store_eventinfo_array_free(&ev, n);
}

/* A job submitted in an iteration has its row written once: as ASSIGNED
 * when placed in the same iteration, else PENDING by the flush before the
 * commit; its submit order is taken at once either way. */
static void test_late_rows(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_store_job row;
    char ev[256], a_id[MLQ_ID_LEN + 1], b_id[MLQ_ID_LEN + 1];
    sched_worker_up(c, "w1", 0);
    mlq_store_set_actor(c->store, "user:alice"); /* as while her request is handled */
    struct mlq_job *a = submit(c, 1000, 0);
    struct mlq_job *b = submit(c, 64000, 0); /* fits nowhere */
    mlq_store_set_actor(c->store, NULL);
    strcpy(a_id, a->row.id);
    strcpy(b_id, b->row.id);
    assert_true(a->row.seq > 0 && b->row.seq == a->row.seq + 1);
    assert_int_equal(mlq_store_job_get(c->store, a_id, &row, NULL), MLQ_ENOTFOUND);

    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(stored_state(c, a_id), MLQ_JOB_ASSIGNED);
    events_of(c, a_id, ev, sizeof ev);
    assert_string_equal(ev, "submit:>PENDING state:PENDING>ASSIGNED");
    struct mlq_eventinfo *e = NULL;
    uint32_t n = 0;
    assert_int_equal(mlq_store_events_list(c->store, a_id, 0, 0, &e, &n, NULL), 0);
    assert_int_equal(n, 2);
    assert_string_equal(e[0].actor, "user:alice"); /* who submitted, though written later */
    assert_null(e[1].actor);                       /* the placement is the scheduler's */
    mlq_store_eventinfo_array_free(&e, n);
    assert_int_equal(mlq_store_job_get(c->store, b_id, &row, NULL), MLQ_ENOTFOUND);

    sched_commit(c);
    assert_int_equal(stored_state(c, b_id), MLQ_JOB_PENDING);
    assert_int_equal(mlq_store_job_get(c->store, b_id, &row, NULL), 0);
    assert_int_equal(row.seq, a->row.seq + 1);
    mlq_store_job_free(&row);
    events_of(c, b_id, ev, sizeof ev);
    assert_string_equal(ev, "submit:>PENDING");
    assert_int_equal(mlq_jobops_flush(c, NULL), 0); /* nothing left: a no-op */

    /* Started and finished in one iteration: the start's rows are never
     * written on their own, its event is. */
    char att[MLQ_ID_LEN + 1];
    strcpy(att, a->att->id);
    assert_int_equal(mlq_jobops_started(c, a, NULL), 0);
    struct mlq_msg rep = report(a, MLQ_OUT_EXITED, 0);
    assert_int_equal(mlq_jobops_finished(c, a, &rep, NULL), 0);
    sched_commit(c);
    assert_int_equal(stored_state(c, a_id), MLQ_JOB_SUCCEEDED);
    struct mlq_store_attempt sa;
    assert_int_equal(mlq_store_attempt_get(c->store, att, &sa, NULL), 0);
    assert_int_equal(sa.state, MLQ_ATT_SUCCEEDED);
    assert_true(sa.start_ms > 0);
    mlq_store_attempt_free(&sa);
    events_of(c, a_id, ev, sizeof ev);
    assert_string_equal(ev, "submit:>PENDING state:PENDING>ASSIGNED state:ASSIGNED>RUNNING"
                            " state:RUNNING>SUCCEEDED");
}

static void test_lifecycle(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w = sched_worker_up(c, "w1", 2);
    struct mlq_job *job = submit(c, 1000, 1);
    char id[MLQ_ID_LEN + 1];
    strcpy(id, job->row.id);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
    assert_true(job->live);
    assert_string_equal(job->att->gpu_ids, "0");
    assert_int_equal(w->cpus_used_m, 1000);
    assert_int_equal(w->gpu_used, 1);
    assert_int_equal(mlq_outbox_count(c->out), 1); /* the ASSIGN */
    sched_commit(c);
    assert_int_equal(stored_state(c, id), MLQ_JOB_ASSIGNED);

    assert_int_equal(mlq_jobops_started(c, job, NULL), 0);
    assert_int_equal(stored_state(c, id), MLQ_JOB_ASSIGNED); /* the rows are late */
    struct mlq_store_attempt sa;
    assert_int_equal(mlq_store_attempt_get(c->store, job->att->id, &sa, NULL), 0);
    assert_int_equal(sa.state, MLQ_ATT_ASSIGNED);
    mlq_store_attempt_free(&sa);
    assert_int_equal(mlq_jobops_flush(c, NULL), 0);
    assert_int_equal(stored_state(c, id), MLQ_JOB_RUNNING);
    assert_int_equal(mlq_store_attempt_get(c->store, job->att->id, &sa, NULL), 0);
    assert_int_equal(sa.state, MLQ_ATT_RUNNING);
    assert_true(sa.start_ms > 0);
    mlq_store_attempt_free(&sa);
    struct mlq_msg rep = report(job, MLQ_OUT_EXITED, 0);
    assert_int_equal(mlq_jobops_finished(c, job, &rep, NULL), 0);
    sched_commit(c);
    assert_null(mlq_jobtab_get(c->jobs, id)); /* terminal jobs leave memory */
    assert_int_equal(stored_state(c, id), MLQ_JOB_SUCCEEDED);
    assert_int_equal(w->cpus_used_m, 0);
    assert_int_equal(w->gpu_used, 0);
    assert_int_equal(w->running, 0);
}

/* Runs one job from start to a report that says it ended at end_ms (by the
 * worker's clock) while the scheduler's clock says now; returns the stored
 * attempt's and job's end times. */
static void end_at(struct mlq_ctx *c, int64_t start, int64_t end_ms, int64_t now, int64_t *att_end,
                   int64_t *job_end)
{
    sched_worker_up(c, "w1", 0);
    advance_to(c, start);
    struct mlq_job *job = submit(c, 1000, 0);
    char id[MLQ_ID_LEN + 1], att[MLQ_ID_LEN + 1];
    strcpy(id, job->row.id);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(mlq_jobops_started(c, job, NULL), 0);
    sched_commit(c);
    strcpy(att, job->att->id);
    advance_to(c, now);
    struct mlq_msg rep = report(job, MLQ_OUT_EXITED, 0);
    rep.u.report.end_ms = end_ms;
    assert_int_equal(mlq_jobops_finished(c, job, &rep, NULL), 0);
    sched_commit(c);
    struct mlq_store_attempt sa;
    assert_int_equal(mlq_store_attempt_get(c->store, att, &sa, NULL), 0);
    *att_end = sa.end_ms;
    mlq_store_attempt_free(&sa);
    struct mlq_store_job row;
    assert_int_equal(mlq_store_job_get(c->store, id, &row, NULL), 0);
    *job_end = row.end_ms;
    assert_int_equal(row.state, MLQ_JOB_SUCCEEDED);
    mlq_store_job_free(&row);
}

/* A job that ended while the scheduler was away is recorded with the end
 * time its worker gave, within [its start, now]. */
static void test_end_time_from_worker(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    const int64_t t0 = 1800000000000;
    int64_t att_end, job_end;
    end_at(c, t0, t0 + 2000, t0 + 12000, &att_end, &job_end); /* heard of 10 s late */
    assert_int_equal(att_end, t0 + 2000);
    assert_int_equal(job_end, t0 + 2000);
    end_at(c, t0 + 20000, t0 + 99000, t0 + 25000, &att_end, &job_end); /* clock ahead */
    assert_int_equal(att_end, t0 + 25000);
    assert_int_equal(job_end, t0 + 25000);
    end_at(c, t0 + 30000, t0 + 1000, t0 + 31000, &att_end, &job_end); /* clock behind */
    assert_int_equal(att_end, t0 + 30000);
    assert_int_equal(job_end, t0 + 30000);
    end_at(c, t0 + 40000, 0, t0 + 41000, &att_end, &job_end); /* no end time */
    assert_int_equal(att_end, t0 + 41000);
}

static void test_failure_reason_and_waiting(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    sched_worker_up(c, "w1", 1);
    struct mlq_job *a = submit(c, 1000, 1), *b = submit(c, 1000, 1);
    char bid[MLQ_ID_LEN + 1];
    strcpy(bid, b->row.id);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(a->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(b->row.state, MLQ_JOB_PENDING); /* the only GPU is taken */
    char why[256];
    mlq_jobops_pending_reason(c, b, why, sizeof why);
    assert_non_null(strstr(why, "reserved on w1"));
    struct mlq_msg rep = report(a, MLQ_OUT_EXITED, 3);
    assert_int_equal(mlq_jobops_finished(c, a, &rep, NULL), 0);
    assert_true(c->dirty);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    b = mlq_jobtab_get(c->jobs, bid);
    assert_int_equal(b->row.state, MLQ_JOB_ASSIGNED);
    sched_commit(c);
    struct mlq_jobinfo info;
    char aid[MLQ_ID_LEN + 1];
    struct mlq_jobinfo *list;
    uint32_t n;
    assert_int_equal(mlq_store_job_list(c->store, MLQ_JOB_FAILED, 10, &list, &n, NULL), 0);
    assert_int_equal(n, 1);
    strcpy(aid, list[0].id);
    assert_int_equal(list[0].exit_code, 3);
    assert_non_null(strstr(list[0].reason, "exited with code 3"));
    mlq_store_jobinfo_array_free(&list, n);
    assert_int_equal(mlq_store_job_info(c->store, aid, &info, NULL), 0);
    assert_int_equal(info.state, MLQ_JOB_FAILED);
    mlq_proto_jobinfo_free(&info);
}

static void test_never_fits(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    sched_worker_up(c, "w1", 2);
    struct mlq_job *job = submit(c, 1000, 8);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_PENDING);
    char why[256];
    mlq_jobops_pending_reason(c, job, why, sizeof why);
    assert_non_null(strstr(why, "can never fit"));
}

static void test_cancel_running_waits_for_process(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w = sched_worker_up(c, "w1", 1);
    struct mlq_job *job = submit(c, 1000, 1);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(mlq_jobops_started(c, job, NULL), 0);
    size_t before = mlq_outbox_count(c->out);
    assert_int_equal(mlq_jobops_cancel(c, job, "user", NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_CANCELLED);
    assert_int_equal(mlq_outbox_count(c->out), before + 1); /* KILL */
    assert_true(job->live);                                 /* GPU still held */
    assert_int_equal(w->gpu_used, 1);
    struct mlq_msg rep = report(job, MLQ_OUT_SIGNALED, 15);
    char id[MLQ_ID_LEN + 1];
    strcpy(id, job->row.id);
    assert_int_equal(mlq_jobops_finished(c, job, &rep, NULL), 0);
    assert_null(mlq_jobtab_get(c->jobs, id));
    assert_int_equal(w->gpu_used, 0);
    sched_commit(c);
    assert_int_equal(stored_state(c, id), MLQ_JOB_CANCELLED);

    struct mlq_job *p = submit(c, 100000, 0); /* never fits: stays pending */
    strcpy(id, p->row.id);
    assert_int_equal(mlq_jobops_cancel(c, p, "user", NULL), 0);
    assert_null(mlq_jobtab_get(c->jobs, id));
    assert_int_equal(mlq_queue_count(c->queue), 0);
}

/* A worker that said goodbye is DOWN at once; its running job stays until
 * one lease after that last word, then it is lost and the worker stays
 * DOWN (not LOST: it left cleanly). */
static void test_goodbye_keeps_jobs_one_lease(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w = sched_worker_up(c, "w1", 0);
    struct mlq_job *job = submit(c, 1000, 0);
    char id[MLQ_ID_LEN + 1];
    strcpy(id, job->row.id);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(mlq_jobops_started(c, job, NULL), 0);
    sched_commit(c);
    struct mlq_msg bye = {.type = MLQ_MSG_GOODBYE};
    bye.u.goodbye.name = "w1";
    sched_speak_as(c, w->name, MLQ_ROLE_WORKER);
    assert_int_equal(mlq_wproto_on_goodbye(c, &w->peer, &bye, NULL), 0);
    sched_commit(c);
    assert_int_equal(w->state, MLQ_WORKER_DOWN);
    assert_true(w->goodbye);
    c->now_mono += c->lease_ms - 1;
    assert_int_equal(mlq_workerloss_check_leases(c, NULL), 0);
    assert_true(job->live);
    assert_int_equal(job->row.state, MLQ_JOB_RUNNING);
    c->now_mono += 2;
    assert_int_equal(mlq_workerloss_check_leases(c, NULL), 0);
    sched_commit(c);
    job = mlq_jobtab_get(c->jobs, id);
    assert_non_null(job);
    assert_false(job->live);
    assert_int_equal(job->row.state, MLQ_JOB_PENDING);
    assert_int_equal(job->row.node_failures, 1);
    assert_int_equal(w->state, MLQ_WORKER_DOWN);
    assert_false(w->goodbye);
    assert_int_equal(w->running, 0);
}

static void test_lost_worker_requeues_then_fails(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    sched_worker_up(c, "w1", 0);
    struct mlq_job *job = submit(c, 1000, 0);
    char id[MLQ_ID_LEN + 1];
    strcpy(id, job->row.id);
    for (int i = 1; i <= MLQ_MAX_NODE_FAILURES; i++) {
        struct mlq_worker *w = mlq_workers_get(c->workers, "w1");
        w->state = MLQ_WORKER_UP;
        w->last_seen_mono = c->now_mono;
        if (i > 1) { /* requeued with a fencing delay: not at once */
            assert_true(job->row.not_before_ms > c->now_wall);
            assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
            assert_int_equal(job->row.state, MLQ_JOB_PENDING);
            advance_to(c, job->row.not_before_ms);
        }
        assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
        assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
        assert_int_equal(job->row.attempts, i);
        c->now_mono += c->lease_ms + 1;
        assert_int_equal(mlq_workerloss_check_leases(c, NULL), 0);
        assert_int_equal(w->state, MLQ_WORKER_LOST);
        assert_int_equal(w->running, 0);
        job = mlq_jobtab_get(c->jobs, id);
        if (i < MLQ_MAX_NODE_FAILURES) {
            assert_non_null(job);
            assert_int_equal(job->row.state, MLQ_JOB_PENDING);
            assert_true(job->queued);
        }
    }
    assert_null(job);
    sched_commit(c);
    assert_int_equal(stored_state(c, id), MLQ_JOB_FAILED);
}

static void test_recovery_and_reconcile(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_ctx *c = &f->c;
    sched_worker_up(c, "w1", 2);
    struct mlq_job *kept = submit(c, 1000, 1), *gone = submit(c, 1000, 1);
    struct mlq_job *queued = submit(c, 1000, 1);
    char kept_id[MLQ_ID_LEN + 1], gone_id[MLQ_ID_LEN + 1], q_id[MLQ_ID_LEN + 1];
    char kept_att[MLQ_ID_LEN + 1];
    strcpy(kept_id, kept->row.id);
    strcpy(gone_id, gone->row.id);
    strcpy(q_id, queued->row.id);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    strcpy(kept_att, kept->att->id);
    assert_int_equal(mlq_jobops_started(c, kept, NULL), 0);
    sched_commit(c);

    /* "Restart": a fresh context over the same database file. */
    sched_fx_restart(f);
    assert_int_equal(mlq_jobtab_count(c->jobs), 3);
    assert_int_equal(mlq_queue_count(c->queue), 1);
    struct mlq_worker *w = mlq_workers_get(c->workers, "w1");
    assert_non_null(w);
    assert_int_equal(w->state, MLQ_WORKER_DOWN);
    assert_int_equal(w->gpu_used, 3); /* both live attempts hold their GPUs */
    assert_false(mlq_jobtab_get(c->jobs, kept_id)->confirmed);

    /* w1 comes back holding only one attempt plus a stranger. */
    w->state = MLQ_WORKER_UP;
    struct mlq_held_attempt held[2] = {{.finished = false}, {.finished = false}};
    strcpy(held[0].attempt_id, kept_att);
    strcpy(held[1].attempt_id, "dddddddd-0000-4000-8000-000000000000");
    size_t before = mlq_outbox_count(c->out);
    assert_int_equal(mlq_workerloss_reconcile(c, w, held, 2, NULL), 0);
    assert_int_equal(mlq_outbox_count(c->out), before + 1); /* KILL of the stranger */
    assert_true(mlq_jobtab_get(c->jobs, kept_id)->confirmed);
    struct mlq_job *g = mlq_jobtab_get(c->jobs, gone_id);
    assert_int_equal(g->row.state, MLQ_JOB_PENDING); /* lost, requeued */
    assert_int_equal(g->row.node_failures, 1);
    assert_int_equal(g->row.not_before_ms, c->now_wall + mlq_jobops_fence_delay(1000));
    assert_int_equal(w->gpu_used, 1);
    /* After its fencing delay the requeued job keeps its age: it is ahead of
     * the never-placed one. */
    assert_string_equal(mlq_queue_first(c->queue, NULL, NULL)->row.id, q_id);
    advance_to(c, g->row.not_before_ms);
    assert_string_equal(mlq_queue_first(c->queue, NULL, NULL)->row.id, gone_id);

    /* An unconfirmed attempt is lost once the lease runs out. */
    c->now_mono += c->lease_ms + 1;
    w->last_seen_mono = c->now_mono;
    assert_int_equal(mlq_workerloss_check_leases(c, NULL), 0);
    assert_int_equal(mlq_jobtab_get(c->jobs, kept_id)->row.state, MLQ_JOB_RUNNING);
    sched_commit(c);
}

static struct mlq_job *submit_retrying(struct mlq_ctx *c, int retries, int64_t backoff_ms)
{
    struct mlq_job *job = submit(c, 1000, 0);
    job->row.spec.retries = retries;
    job->row.spec.retry_backoff_ms = backoff_ms;
    return job;
}

static void test_retries_with_backoff(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    sched_worker_up(c, "w1", 0);
    struct mlq_job *job = submit_retrying(c, 2, 10000);
    assert_int_equal(job->row.spec.kill_grace_ms, c->kill_grace_ms); /* default filled */
    char id[MLQ_ID_LEN + 1];
    strcpy(id, job->row.id);
    for (int run = 1; run <= 3; run++) {
        assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
        job = mlq_jobtab_get(c->jobs, id);
        assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
        assert_int_equal(job->row.attempts, run);
        struct mlq_msg rep = report(job, MLQ_OUT_EXITED, 7);
        assert_int_equal(mlq_jobops_finished(c, job, &rep, NULL), 0);
        if (run == 3)
            break;
        job = mlq_jobtab_get(c->jobs, id);
        assert_int_equal(job->row.state, MLQ_JOB_PENDING);
        int64_t base = 10000LL << (run - 1);
        int64_t wait = job->row.not_before_ms - c->now_wall;
        assert_true(wait >= base * 8 / 10 && wait <= base * 12 / 10);
        assert_non_null(strstr(job->row.reason, "retry"));
        assert_non_null(strstr(job->row.reason, "exited with code 7"));
        assert_true(job->qwaiting);
        int64_t due = 0;
        assert_int_equal(mlq_queue_release_due(c->queue, c->now_wall, &due), 0);
        assert_int_equal(due, job->row.not_before_ms);
        /* Not before its time, even though the worker is idle. */
        assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
        assert_int_equal(job->row.state, MLQ_JOB_PENDING);
        c->now_wall = job->row.not_before_ms;
        assert_int_equal(mlq_queue_release_due(c->queue, c->now_wall, &due), 1);
    }
    assert_null(mlq_jobtab_get(c->jobs, id));
    sched_commit(c);
    struct mlq_jobinfo info;
    assert_int_equal(mlq_store_job_info_full(c->store, id, true, &info, NULL), 0);
    assert_int_equal(info.state, MLQ_JOB_FAILED);
    assert_int_equal(info.exit_code, 7);
    assert_int_equal(info.nattempts, 3);
    for (uint32_t i = 0; i < info.nattempts; i++)
        assert_int_equal(info.attempts[i].state, MLQ_ATT_FAILED);
    mlq_proto_jobinfo_free(&info);
}

/* An attempt the OOM killer ended: a failure like any other (retries
 * apply), whose reason is the worker's "out of memory (...)" rather than a
 * bare signal; what it used is kept on the attempt. */
static void test_oom_is_a_failure_with_usage(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    sched_worker_up(c, "w1", 0);
    struct mlq_job *job = submit_retrying(c, 1, 10000);
    char id[MLQ_ID_LEN + 1];
    strcpy(id, job->row.id);
    for (int run = 1; run <= 2; run++) {
        assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
        job = mlq_jobtab_get(c->jobs, id);
        assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
        struct mlq_msg rep = report(job, MLQ_OUT_SIGNALED, 9);
        rep.u.report.detail = "out of memory (limit 64M, peak 64M)";
        rep.u.report.usage = (struct mlq_usage){.mem_peak = 67108864,
                                                .cpu_us = 136781,
                                                .wall_ms = 319,
                                                .gpu_mem_peak = -1,
                                                .gpu_util = -1,
                                                .source = "cgroup2"};
        assert_int_equal(mlq_jobops_finished(c, job, &rep, NULL), 0);
        if (run == 2)
            break;
        job = mlq_jobtab_get(c->jobs, id);
        assert_int_equal(job->row.state, MLQ_JOB_PENDING);
        assert_non_null(strstr(job->row.reason, "retry 1/1"));
        assert_non_null(strstr(job->row.reason, "(out of memory (limit 64M, peak 64M))"));
        c->now_wall = job->row.not_before_ms;
        int64_t due = 0;
        assert_int_equal(mlq_queue_release_due(c->queue, c->now_wall, &due), 1);
    }
    sched_commit(c);
    struct mlq_jobinfo info;
    assert_int_equal(mlq_store_job_info_full(c->store, id, true, &info, NULL), 0);
    assert_int_equal(info.state, MLQ_JOB_FAILED);
    assert_string_equal(info.reason, "out of memory (limit 64M, peak 64M)");
    assert_int_equal(info.nattempts, 2);
    for (uint32_t i = 0; i < info.nattempts; i++) {
        assert_int_equal(info.attempts[i].state, MLQ_ATT_FAILED);
        assert_int_equal(info.attempts[i].signal, 9);
        assert_string_equal(info.attempts[i].detail, "out of memory (limit 64M, peak 64M)");
        assert_string_equal(info.attempts[i].usage.source, "cgroup2");
        assert_int_equal(info.attempts[i].usage.mem_peak, 67108864);
        assert_int_equal(info.attempts[i].usage.cpu_us, 136781);
        assert_int_equal(info.attempts[i].usage.wall_ms, 319);
    }
    mlq_proto_jobinfo_free(&info);
}

static void test_timeout_and_success_after_retry(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    sched_worker_up(c, "w1", 0);
    struct mlq_job *a = submit_retrying(c, 0, 1000), *b = submit_retrying(c, 1, 1000);
    char aid[MLQ_ID_LEN + 1], bid[MLQ_ID_LEN + 1];
    strcpy(aid, a->row.id);
    strcpy(bid, b->row.id);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    struct mlq_msg rep = report(a, MLQ_OUT_TIMED_OUT, 15);
    assert_int_equal(mlq_jobops_finished(c, a, &rep, NULL), 0);
    rep = report(b, MLQ_OUT_TIMED_OUT, 9);
    assert_int_equal(mlq_jobops_finished(c, b, &rep, NULL), 0);
    advance_to(c, c->now_wall + 10000);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    b = mlq_jobtab_get(c->jobs, bid);
    rep = report(b, MLQ_OUT_EXITED, 0);
    assert_int_equal(mlq_jobops_finished(c, b, &rep, NULL), 0);
    sched_commit(c);
    assert_int_equal(stored_state(c, aid), MLQ_JOB_TIMED_OUT);
    assert_int_equal(stored_state(c, bid), MLQ_JOB_SUCCEEDED);
}

/* end_ms: when the run ended, by the worker's clock (0: not said). */
static struct mlq_msg late_report(const char *att_id, enum mlq_outcome out, int code,
                                  int64_t end_ms)
{
    struct mlq_msg m = {.type = MLQ_MSG_REPORT};
    m.u.report.end_ms = end_ms;
    snprintf(m.u.report.attempt_id, sizeof m.u.report.attempt_id, "%s", att_id);
    m.u.report.phase = MLQ_PHASE_FINISHED;
    m.u.report.outcome = out;
    m.u.report.exit_code = out == MLQ_OUT_EXITED ? code : -1;
    return m;
}

static enum mlq_attempt_state stored_attempt(struct mlq_ctx *c, const char *att)
{
    struct mlq_store_attempt a;
    assert_int_equal(mlq_store_attempt_get(c->store, att, &a, NULL), 0);
    enum mlq_attempt_state st = a.state;
    mlq_store_attempt_free(&a);
    return st;
}

/* The real outcome of a LOST attempt, come while its job still waits to run
 * again, is the job's: exit 0 ends it SUCCEEDED, a failure counts as a
 * failed run under the retry rules. Once the job has started again (or for
 * a lost outcome, or from another worker) the report changes nothing. */
static void test_late_outcome_of_lost_attempt(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w1 = sched_worker_up(c, "w1", 0);
    struct mlq_job *jobs[3];
    char id[3][MLQ_ID_LEN + 1], att[3][MLQ_ID_LEN + 1];
    for (int i = 0; i < 3; i++) {
        jobs[i] = submit_retrying(c, i == 1 ? 1 : 0, 1000);
        strcpy(id[i], jobs[i]->row.id);
    }
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    for (int i = 0; i < 3; i++) {
        strcpy(att[i], jobs[i]->att->id);
        assert_int_equal(mlq_jobops_started(c, jobs[i], NULL), 0);
    }
    sched_commit(c);
    int64_t ran_until = c->now_wall + 100; /* ended under the shim, unseen */
    c->now_mono += c->lease_ms + 1;
    c->now_wall += c->lease_ms + 1;
    assert_int_equal(mlq_workerloss_check_leases(c, NULL), 0);
    for (int i = 0; i < 3; i++) {
        jobs[i] = mlq_jobtab_get(c->jobs, id[i]);
        assert_int_equal(jobs[i]->row.state, MLQ_JOB_PENDING);
        /* the fencing budget: shim check + kill grace + margin */
        assert_int_equal(jobs[i]->row.not_before_ms,
                         c->now_wall + MLQ_FENCE_CHECK_MS + 1000 + MLQ_FENCE_MARGIN_MS);
    }
    sched_worker_up(c, "w2", 0);
    w1->state = MLQ_WORKER_UP; /* back, reporting */

    bool taken = true;
    struct mlq_msg rep = late_report(att[0], MLQ_OUT_EXITED, 0, ran_until);
    assert_int_equal(mlq_jobops_late_outcome(c, w1, &rep, &taken, NULL), 0);
    assert_true(taken);
    assert_null(mlq_jobtab_get(c->jobs, id[0])); /* done, forgotten */
    assert_int_equal(mlq_queue_count(c->queue), 2);

    rep = late_report(att[1], MLQ_OUT_EXITED, 3, ran_until);
    assert_int_equal(mlq_jobops_late_outcome(c, w1, &rep, &taken, NULL), 0);
    assert_true(taken);
    assert_int_equal(jobs[1]->row.state, MLQ_JOB_PENDING); /* retry 1/1 */
    assert_int_equal(jobs[1]->row.node_failures, 0);
    assert_non_null(strstr(jobs[1]->row.reason, "retry 1/1"));
    assert_true(jobs[1]->queued);

    /* A lost outcome says nothing ran; another worker's word counts not. */
    rep = late_report(att[2], MLQ_OUT_LOST, 0, ran_until);
    assert_int_equal(mlq_jobops_late_outcome(c, w1, &rep, &taken, NULL), 0);
    assert_false(taken);
    /* A run that ended after the loss may have been killed on our word (a
     * KILL of an attempt no longer current), or its end time is unknown:
     * not the job's outcome. */
    rep = late_report(att[2], MLQ_OUT_SIGNALED, 0, c->now_wall + 50);
    assert_int_equal(mlq_jobops_late_outcome(c, w1, &rep, &taken, NULL), 0);
    assert_false(taken);
    rep = late_report(att[2], MLQ_OUT_EXITED, 0, c->now_wall - MLQ_FENCE_MARGIN_MS / 2);
    assert_int_equal(mlq_jobops_late_outcome(c, w1, &rep, &taken, NULL), 0);
    assert_false(taken);
    rep = late_report(att[2], MLQ_OUT_EXITED, 0, 0);
    assert_int_equal(mlq_jobops_late_outcome(c, w1, &rep, &taken, NULL), 0);
    assert_false(taken);
    rep = late_report(att[2], MLQ_OUT_EXITED, 0, ran_until);
    assert_int_equal(
        mlq_jobops_late_outcome(c, mlq_workers_get(c->workers, "w2"), &rep, &taken, NULL), 0);
    assert_false(taken);
    assert_int_equal(jobs[2]->row.state, MLQ_JOB_PENDING);

    sched_commit(c);
    assert_int_equal(stored_state(c, id[0]), MLQ_JOB_SUCCEEDED);
    assert_int_equal(stored_attempt(c, att[0]), MLQ_ATT_SUCCEEDED);
    assert_int_equal(stored_attempt(c, att[1]), MLQ_ATT_FAILED);
    assert_int_equal(stored_attempt(c, att[2]), MLQ_ATT_LOST);
}

/* Once the job has started again, the old attempt's outcome is stale. */
static void test_late_outcome_after_rerun_is_stale(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w1 = sched_worker_up(c, "w1", 0);
    struct mlq_job *job = submit(c, 1000, 0);
    char id[MLQ_ID_LEN + 1], att[MLQ_ID_LEN + 1];
    strcpy(id, job->row.id);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    strcpy(att, job->att->id);
    c->now_mono += c->lease_ms + 1;
    assert_int_equal(mlq_workerloss_check_leases(c, NULL), 0);
    sched_worker_up(c, "w2", 0);
    advance_to(c, job->row.not_before_ms);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
    assert_string_equal(job->att->worker, "w2");
    w1->state = MLQ_WORKER_UP;
    bool taken = true;
    struct mlq_msg rep = late_report(att, MLQ_OUT_EXITED, 0, 0);
    assert_int_equal(mlq_jobops_late_outcome(c, w1, &rep, &taken, NULL), 0);
    assert_false(taken);
    assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(job->row.attempts, 2);
    sched_commit(c);
    assert_int_equal(stored_attempt(c, att), MLQ_ATT_LOST);
}

static void assert_booked(const struct mlq_worker *w, int64_t cpus_m, uint64_t gpus, size_t left)
{
    assert_int_equal(w->cpus_used_m, cpus_m);
    assert_int_equal(w->mem_used, cpus_m ? G : 0);
    assert_int_equal(w->gpu_used, gpus);
    assert_int_equal(w->running, 0); /* a leftover is not a running attempt */
    assert_int_equal(mlq_leftover_count(w), left);
}

/* A lost attempt's resources stay booked on its worker until the worker
 * says none of its processes is left (a register that no longer holds it
 * running, or its finished report), also across a scheduler restart; the
 * job itself is free to run elsewhere. */
static void test_lost_attempt_keeps_its_booking(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_ctx *c = &f->c;
    struct mlq_worker *w1 = sched_worker_up(c, "w1", 1);
    struct mlq_job *job = submit(c, 1000, 1);
    char id[MLQ_ID_LEN + 1], att[MLQ_ID_LEN + 1];
    strcpy(id, job->row.id);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    strcpy(att, job->att->id);
    assert_int_equal(mlq_jobops_started(c, job, NULL), 0);
    c->now_mono += c->lease_ms + 1;
    assert_int_equal(mlq_workerloss_check_leases(c, NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_PENDING);
    assert_booked(w1, 1000, 1, 1);
    assert_string_equal(mlq_leftover_gpu_job(w1, 0), id); /* `mlq workers --gpus` */

    /* Back, still running it: killed, still booked; the job cannot use the
     * GPU it held there. */
    w1->state = MLQ_WORKER_UP;
    w1->last_seen_mono = c->now_mono;
    struct mlq_held_attempt held = {.finished = false};
    strcpy(held.attempt_id, att);
    size_t before = mlq_outbox_count(c->out);
    assert_int_equal(mlq_workerloss_reconcile(c, w1, &held, 1, NULL), 0);
    assert_int_equal(mlq_outbox_count(c->out), before + 1); /* its KILL */
    assert_booked(w1, 1000, 1, 1);
    advance_to(c, job->row.not_before_ms);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_PENDING);
    char why[256];
    mlq_jobops_pending_reason(c, job, why, sizeof why);
    assert_non_null(strstr(why, "lost attempt"));

    /* Its outcome written: booked until its report comes (it may still be
     * the job's); a register without it frees it, the job runs. */
    held.finished = true;
    assert_int_equal(mlq_workerloss_reconcile(c, w1, &held, 1, NULL), 0);
    assert_booked(w1, 1000, 1, 1);
    assert_int_equal(mlq_workerloss_reconcile(c, w1, NULL, 0, NULL), 0);
    assert_booked(w1, 0, 0, 0);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
    strcpy(att, job->att->id);
    assert_int_equal(mlq_jobops_started(c, job, NULL), 0);

    /* Lost again, then the scheduler restarts: the worker's register
     * books the still-running attempt again; its finished report frees it. */
    c->now_mono += c->lease_ms + 1;
    assert_int_equal(mlq_workerloss_check_leases(c, NULL), 0);
    sched_commit(c);
    sched_fx_restart(f);
    w1 = sched_worker_up(c, "w1", 1);
    assert_booked(w1, 0, 0, 0);
    strcpy(held.attempt_id, att);
    held.finished = false;
    assert_int_equal(mlq_workerloss_reconcile(c, w1, &held, 1, NULL), 0);
    assert_booked(w1, 1000, 1, 1);
    struct mlq_msg rep = late_report(att, MLQ_OUT_LOST, 0, 0);
    sched_speak_as(c, w1->name, MLQ_ROLE_WORKER);
    c->dirty = false; /* nothing else to do: the freed room alone must call a pass */
    assert_int_equal(mlq_wproto_on_report(c, &w1->peer, &rep, NULL), 0);
    assert_booked(w1, 0, 0, 0);
    assert_true(c->dirty);
    sched_commit(c);
}

static void test_refused_requeues_without_using_retries(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w1 = sched_worker_up(c, "w1", 0);
    struct mlq_job *job = submit_retrying(c, 0, 1000);
    char id[MLQ_ID_LEN + 1];
    strcpy(id, job->row.id);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    struct mlq_msg rep = report(job, MLQ_OUT_REFUSED, 0);
    rep.u.report.detail = "spool full";
    assert_int_equal(mlq_jobops_finished(c, job, &rep, NULL), 0);
    job = mlq_jobtab_get(c->jobs, id);
    assert_int_equal(job->row.state, MLQ_JOB_PENDING);
    assert_int_equal(job->row.node_failures, 0);       /* the worker's fault, not the job's */
    assert_true(job->row.not_before_ms > c->now_wall); /* fencing delay */
    assert_non_null(strstr(job->row.reason, "spool full"));
    advance_to(c, job->row.not_before_ms);
    w1->draining = true; /* a draining worker takes nothing new */
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_PENDING);
    sched_worker_up(c, "w2", 0);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
    assert_string_equal(job->att->worker, "w2");
}

static struct mlq_worker *small_worker(struct mlq_ctx *c, const char *name, int64_t cpus_m)
{
    struct mlq_worker *w = sched_worker_up(c, name, 0);
    w->cpus_m = cpus_m;
    return w;
}

static void test_priority_and_ageing(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    small_worker(c, "w1", 1000);
    struct mlq_job *old = submit_o(c, 1000, 0, &(struct opts){.priority = 0});
    c->now_wall += 10 * 60000; /* ten minutes later */
    struct mlq_job *nudge = submit_o(c, 1000, 0, &(struct opts){.priority = 5});
    struct mlq_job *urgent = submit_o(c, 1000, 0, &(struct opts){.priority = 20});
    /* urgent: 20 points beat 10 minutes of age; nudge: 5 points do not. */
    assert_ptr_equal(mlq_queue_first(c->queue, mlq_jobops_bias, c), urgent);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(urgent->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(old->row.state, MLQ_JOB_PENDING);
    struct mlq_why why;
    mlq_why_explain(c, nudge, true, &why);
    assert_int_equal(why.ahead, 1); /* old goes first */
    struct mlq_msg rep = report(urgent, MLQ_OUT_EXITED, 0);
    assert_int_equal(mlq_jobops_finished(c, urgent, &rep, NULL), 0);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(old->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(nudge->row.state, MLQ_JOB_PENDING);
}

static void test_fair_share(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    small_worker(c, "w1", 1000);
    /* alice used 8 GPU-hours an hour ago; bob nothing. */
    assert_int_equal(mlq_fairshare_add(c->fs, "alice", 1000, 800, c->now_wall - 2 * 3600000,
                                       c->now_wall - 3600000, c->now_wall),
                     0);
    double pa = mlq_fairshare_penalty(c->fs, "alice", c->now_wall);
    assert_true(pa > 60 * 80 * 0.9 && pa < 60 * 81); /* 81 weighted core-hours, minus decay */
    assert_true(mlq_fairshare_penalty(c->fs, "bob", c->now_wall) == 0);
    struct mlq_job *a = submit_o(c, 1000, 0, &(struct opts){.owner = "alice"});
    c->now_wall += 30 * 60000; /* bob submits half an hour later */
    struct mlq_job *b = submit_o(c, 1000, 0, &(struct opts){.owner = "bob"});
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(b->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(a->row.state, MLQ_JOB_PENDING);
    /* Usage decays: after ten half-lives alice is nearly even again. */
    double later = mlq_fairshare_penalty(c->fs, "alice", c->now_wall + 10 * c->fs_half_life_ms);
    assert_true(later < pa / 1000);
    /* Running work counts while it runs. */
    double bob0 = mlq_fairshare_penalty(c->fs, "bob", c->now_wall);
    double bob1 = mlq_fairshare_penalty(c->fs, "bob", c->now_wall + 3600000);
    assert_true(bob1 - bob0 > 59 && bob1 - bob0 < 61); /* one CPU-hour = 60 points */
}

static void test_backfill_never_delays_reservation(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    c->default_limit_ms = 2 * 3600000;
    small_worker(c, "w1", 4000);
    struct mlq_job *x = submit_o(c, 2000, 0, &(struct opts){.time_limit_ms = 3600000});
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(x->row.state, MLQ_JOB_ASSIGNED);
    /* big needs the whole worker: blocked until x ends (in about 1 h). */
    struct mlq_job *big = submit_o(c, 4000, 0, &(struct opts){.priority = 10});
    struct mlq_job *quick =
        submit_o(c, 1000, 0, &(struct opts){.time_limit_ms = 30 * 60000}); /* ends first */
    struct mlq_job *slow = submit_o(c, 1000, 0, NULL); /* default 2 h: would overlap */
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(big->row.state, MLQ_JOB_PENDING);
    assert_int_equal(quick->row.state, MLQ_JOB_ASSIGNED); /* backfilled */
    assert_int_equal(slow->row.state, MLQ_JOB_PENDING);   /* would delay big */
    assert_true(c->resv_on);
    assert_string_equal(c->resv_job, big->row.id);
    assert_true(c->resv_at_ms >= c->now_wall + 3600000 - 1000);
    struct mlq_why why;
    mlq_why_explain(c, slow, true, &why);
    assert_string_equal(why.blocker, "reservation");
    mlq_why_explain(c, big, true, &why);
    assert_string_equal(why.blocker, "reservation");
    assert_string_equal(why.closest, "w1");
    /* When x and quick end, big starts, not slow. */
    struct mlq_msg rep = report(x, MLQ_OUT_EXITED, 0);
    assert_int_equal(mlq_jobops_finished(c, x, &rep, NULL), 0);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(slow->row.state, MLQ_JOB_PENDING);
    rep = report(quick, MLQ_OUT_EXITED, 0);
    assert_int_equal(mlq_jobops_finished(c, quick, &rep, NULL), 0);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(big->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(slow->row.state, MLQ_JOB_PENDING);
}

/* Enough GPUs free in the sum, none of the workers with enough: why says
 * the free GPUs are scattered. */
static void test_why_fragmented(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_why why;
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "w%d", i);
        sched_worker_up(c, name, 4);
        submit(c, 1000, 3);
    }
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    struct mlq_job *j = submit(c, 1000, 3);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(j->row.state, MLQ_JOB_PENDING);
    mlq_why_explain(c, j, true, &why);
    assert_string_equal(why.blocker, "reservation"); /* the first one that waits */
    assert_non_null(strstr(why.text, "; 3 GPUs free in total, but at most 1 on one worker"));
    struct mlq_job *two = submit(c, 1000, 2); /* 2 free nowhere either */
    mlq_why_explain(c, two, false, &why);
    assert_string_equal(why.blocker, "fragmented");
    assert_string_equal(why.text, "3 GPUs free in total, but at most 1 on one worker");
}

static void test_why_constraints(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_why why;
    struct mlq_job *j = submit_o(c, 1000, 1, &(struct opts){.pool = "gpu", .gpu_type = "h100"});
    mlq_why_explain(c, j, true, &why);
    assert_string_equal(why.blocker, "no_workers");
    struct mlq_worker *w = sched_worker_up(c, "w1", 2);
    mlq_why_explain(c, j, true, &why);
    assert_string_equal(why.blocker, "pool");
    struct mlq_gpuinfo g[2] = {{0, NULL, NULL, "a100", 0, NULL}, {1, NULL, NULL, "a100", 0, NULL}};
    assert_int_equal(mlq_workers_describe(w, "gpu", NULL, 0, g, 2, NULL), 0);
    mlq_why_explain(c, j, true, &why);
    assert_string_equal(why.blocker, "gpu_type");
    g[0].type = g[1].type = "h100";
    assert_int_equal(mlq_workers_describe(w, "gpu", NULL, 0, g, 2, NULL), 0);
    struct mlq_job *big = submit_o(c, 1000, 4, &(struct opts){.pool = "gpu", .gpu_type = "h100"});
    mlq_why_explain(c, big, true, &why);
    assert_string_equal(why.blocker, "never_fits");
    assert_string_equal(why.closest, "w1");
    assert_non_null(strstr(why.lacks, "2 GPUs of type h100"));
    w->drained = true;
    snprintf(w->drain_reason, sizeof w->drain_reason, "disk swap");
    mlq_why_explain(c, j, true, &why);
    assert_string_equal(why.blocker, "drained");
    assert_non_null(strstr(why.text, "disk swap"));
    w->drained = false;
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(j->row.state, MLQ_JOB_ASSIGNED);
    assert_string_equal(j->att->gpu_ids, "0");
    mlq_why_explain(c, j, true, &why);
    assert_string_equal(why.blocker, "none");
}

/* Ends the live attempt of job with exit code code (0 = success). */
static void finish(struct mlq_ctx *c, struct mlq_job *job, int code)
{
    struct mlq_msg rep = report(job, MLQ_OUT_EXITED, code);
    assert_int_equal(mlq_jobops_finished(c, job, &rep, NULL), 0);
    assert_int_equal(mlq_jobops_settle(c, NULL), 0);
}

static struct mlq_job *submit_after(struct mlq_ctx *c, const char *target, enum mlq_dep_kind k)
{
    struct mlq_jobspec spec = sched_spec("alice", 1000, 0);
    spec.deps = calloc(1, sizeof *spec.deps);
    spec.ndeps = 1;
    snprintf(spec.deps[0].target, sizeof spec.deps[0].target, "%s", target);
    spec.deps[0].kind = k;
    char id[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
    return mlq_jobtab_get(c->jobs, id);
}

static void test_dependencies(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    small_worker(c, "w1", 8000);
    struct mlq_job *train = submit(c, 1000, 0);
    char tid[MLQ_ID_LEN + 1];
    strcpy(tid, train->row.id);
    struct mlq_job *ok = submit_after(c, tid, MLQ_DEP_OK);
    struct mlq_job *any = submit_after(c, tid, MLQ_DEP_ANY);
    struct mlq_job *onfail = submit_after(c, tid, MLQ_DEP_FAILED);
    char ok_id[MLQ_ID_LEN + 1], onfail_id[MLQ_ID_LEN + 1], any_id[MLQ_ID_LEN + 1];
    strcpy(ok_id, ok->row.id);
    strcpy(onfail_id, onfail->row.id);
    strcpy(any_id, any->row.id);
    struct mlq_job *chained = submit_after(c, ok_id, MLQ_DEP_OK);
    char ch_id[MLQ_ID_LEN + 1];
    strcpy(ch_id, chained->row.id);
    assert_true(ok->held && !ok->queued);
    struct mlq_why why;
    mlq_why_explain(c, ok, false, &why);
    assert_string_equal(why.blocker, "dependency");
    assert_non_null(strstr(why.text, "waits for"));
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(train->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(ok->row.state, MLQ_JOB_PENDING); /* held, not placed */
    finish(c, train, 1);                              /* training fails */
    sched_commit(c);
    assert_int_equal(stored_state(c, ok_id), MLQ_JOB_CANCELLED);
    assert_int_equal(stored_state(c, ch_id), MLQ_JOB_CANCELLED); /* cascade */
    struct mlq_store_job row;
    assert_int_equal(mlq_store_job_get(c->store, ch_id, &row, NULL), 0);
    assert_non_null(strstr(row.reason, "can no longer succeed"));
    mlq_store_job_free(&row);
    any = mlq_jobtab_get(c->jobs, any_id);
    onfail = mlq_jobtab_get(c->jobs, onfail_id);
    assert_true(any->queued && onfail->queued); /* released */
}

static void test_array_max_running(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    small_worker(c, "w1", 64000);
    struct mlq_jobspec spec = sched_spec("alice", 1000, 0);
    spec.max_running = 2;
    spec.array = strdup("0-9");
    char aid[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_pipeline_submit_array(c, &spec, aid, NULL), 0);
    assert_null(spec.argv);
    assert_int_equal(mlq_jobtab_count(c->jobs), 10);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    const struct mlq_arrstate *a = mlq_pipeline_array(c, aid);
    assert_non_null(a);
    assert_int_equal(a->size, 10);
    assert_int_equal(a->running, 2); /* never more than --max-running */
    sched_commit(c);
    struct mlq_arrayinfo info;
    assert_int_equal(mlq_store_array_info(c->store, aid, &info, NULL), 0);
    assert_int_equal(info.size, 10);
    assert_int_equal(info.counts[MLQ_JOB_ASSIGNED], 2);
    assert_int_equal(info.counts[MLQ_JOB_PENDING], 8);
    mlq_proto_arrayinfo_free(&info);
    char task[MLQ_ID_LEN + 8];
    snprintf(task, sizeof task, "%.8s/7", aid);
    char tid[MLQ_ID_LEN + 1];
    bool is_array = true;
    assert_int_equal(mlq_store_resolve(c->store, task, tid, &is_array, NULL), 0);
    assert_false(is_array);
    assert_int_equal(mlq_jobtab_get(c->jobs, tid)->row.array_index, 7);
    /* A job after the array waits for all tasks. */
    struct mlq_job *merge = submit_after(c, aid, MLQ_DEP_OK);
    assert_true(merge->held);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_late_rows, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_lifecycle, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_end_time_from_worker, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_goodbye_keeps_jobs_one_lease, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_failure_reason_and_waiting, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_never_fits, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_why_fragmented, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_cancel_running_waits_for_process, setup,
                                        sched_fx_close),
        cmocka_unit_test_setup_teardown(test_lost_worker_requeues_then_fails, setup,
                                        sched_fx_close),
        cmocka_unit_test_setup_teardown(test_recovery_and_reconcile, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_retries_with_backoff, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_timeout_and_success_after_retry, setup,
                                        sched_fx_close),
        cmocka_unit_test_setup_teardown(test_oom_is_a_failure_with_usage, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_refused_requeues_without_using_retries, setup,
                                        sched_fx_close),
        cmocka_unit_test_setup_teardown(test_priority_and_ageing, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_fair_share, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_backfill_never_delays_reservation, setup,
                                        sched_fx_close),
        cmocka_unit_test_setup_teardown(test_why_constraints, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_dependencies, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_array_max_running, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_late_outcome_of_lost_attempt, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_lost_attempt_keeps_its_booking, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_late_outcome_after_rerun_is_stale, setup,
                                        sched_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
