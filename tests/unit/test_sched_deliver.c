/* deliver, resend and health: ASSIGN and KILL are sent again until the
 * worker answers, an unanswered assignment is lost after its deadline, a
 * worker that keeps refusing is marked unhealthy instead of failing jobs,
 * and --max-running survives a restart; an array's tasks share its
 * environment (one copy, also after a restart). A real (file) store; the outbox
 * stands in for the socket (its count shows what would leave). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "deliver.h"
#include "deps.h"
#include "fairshare.h"
#include "health.h"
#include "jobops.h"
#include "recover.h"
#include "workerloss.h"
#include "logrelay.h"
#include "pipeline.h"
#include "placement.h"
#include "queue.h"
#include "resend.h"
#include "schedules.h"
#include "strmap.h"
#include "why.h"
#include "sched_fixture.h"
#include "wproto.h"

#define G (1024LL * 1024 * 1024)

static int setup(void **state)
{
    return sched_fx_open(state, "deliver", 10000);
}

static struct mlq_worker *up(struct mlq_ctx *c, const char *name)
{
    return sched_worker_up(c, name, 0);
}

static struct mlq_jobspec spec_of(int64_t cpus_m)
{
    struct mlq_jobspec spec = sched_spec("alice", cpus_m, 0);
    spec.retry_backoff_ms = 1000;
    return spec;
}

static struct mlq_job *submit(struct mlq_ctx *c, int64_t cpus_m)
{
    struct mlq_jobspec spec = spec_of(cpus_m);
    char id[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
    return mlq_jobtab_get(c->jobs, id);
}

/* What the iteration would send, then forgotten (as after a flush). */
static size_t sent(struct mlq_ctx *c)
{
    size_t n = mlq_outbox_count(c->out);
    mlq_outbox_destroy(&c->out);
    c->out = mlq_outbox_create();
    return n;
}

/* The loop's timer, ms later; the workers stay in touch. */
static void tick(struct mlq_ctx *c, int64_t ms)
{
    c->now_mono += ms;
    c->now_wall += ms;
    int64_t due;
    mlq_queue_release_due(c->queue, c->now_wall, &due);
    for (size_t i = 0; i < mlq_workers_count(c->workers); i++)
        mlq_workers_at(c->workers, i)->last_seen_mono = c->now_mono;
    assert_int_equal(mlq_deliver_tick(c, NULL), 0);
    mlq_health_tick(c);
}

static struct mlq_msg report(const struct mlq_job *job, enum mlq_outcome out, const char *detail)
{
    struct mlq_msg m = {.type = MLQ_MSG_REPORT};
    memcpy(m.u.report.attempt_id, job->att->id, sizeof m.u.report.attempt_id);
    m.u.report.phase = MLQ_PHASE_FINISHED;
    m.u.report.outcome = out;
    m.u.report.detail = (char *)detail;
    return m;
}

static void test_resend_heap_order_and_backoff(void **state)
{
    (void)state;
    struct mlq_resend *r = mlq_resend_create();
    int64_t due[] = {50, 10, 40, 20, 30};
    for (int i = 0; i < 5; i++) {
        struct mlq_resend_entry e = {.due = due[i], .interval = i};
        snprintf(e.attempt_id, sizeof e.attempt_id, "a%d", i);
        assert_int_equal(mlq_resend_arm(r, &e), 0);
    }
    struct mlq_resend_entry e;
    assert_false(mlq_resend_pop_due(r, 5, &e));
    int64_t last = 0;
    for (int i = 0; i < 5; i++) {
        assert_true(mlq_resend_pop_due(r, 100, &e));
        assert_true(e.due >= last);
        last = e.due;
    }
    assert_int_equal(mlq_resend_count(r), 0);
    assert_int_equal(mlq_resend_backoff(1000, 30000), 2000);
    assert_int_equal(mlq_resend_backoff(20000, 30000), 30000);
    mlq_resend_destroy(&r);
    assert_null(r);
}

static void test_assign_resent_until_started(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    up(c, "w1");
    struct mlq_job *job = submit(c, 1000);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(sent(c), 1); /* the ASSIGN */
    tick(c, 999);
    assert_int_equal(sent(c), 0);
    tick(c, 1); /* one heartbeat interval */
    assert_int_equal(sent(c), 1);
    tick(c, 1000); /* the wait doubled */
    assert_int_equal(sent(c), 0);
    tick(c, 1000);
    assert_int_equal(sent(c), 1);
    assert_int_equal(mlq_jobops_started(c, job, NULL), 0);
    for (int i = 0; i < 20; i++)
        tick(c, 1000);
    assert_int_equal(sent(c), 0);
    assert_int_equal(job->row.state, MLQ_JOB_RUNNING); /* no deadline once started */
    assert_int_equal(mlq_resend_count(c->resend), 0);
    sched_commit(c);
}

static void test_assign_not_resent_to_a_worker_not_up(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w = up(c, "w1");
    submit(c, 1000);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(sent(c), 1);
    w->state = MLQ_WORKER_DOWN;
    tick(c, 1000);
    assert_int_equal(sent(c), 0);
    w->state = MLQ_WORKER_UP;
    tick(c, 2000);
    assert_int_equal(sent(c), 1);
    sched_commit(c);
}

static void test_assigned_deadline_loses_attempt(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w = up(c, "w1");
    struct mlq_job *job = submit(c, 1000);
    char id[MLQ_ID_LEN + 1];
    strcpy(id, job->row.id);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(w->running, 1);
    for (int64_t t = 0; t < c->lease_ms - 1000; t += 1000)
        tick(c, 1000);
    assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
    tick(c, 1000); /* one lease after the dispatch */
    job = mlq_jobtab_get(c->jobs, id);
    assert_int_equal(job->row.state, MLQ_JOB_PENDING);
    assert_int_equal(job->row.attempts, 1);
    assert_non_null(strstr(job->row.reason, "did not acknowledge"));
    assert_int_equal(w->running, 0); /* its resources are free again */
    sched_commit(c);
}

static void test_register_naming_attempt_acknowledges(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w = up(c, "w1");
    struct mlq_job *job = submit(c, 1000);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    sent(c);
    struct mlq_held_attempt held = {.finished = false};
    strcpy(held.attempt_id, job->att->id);
    assert_int_equal(mlq_workerloss_reconcile(c, w, &held, 1, NULL), 0);
    for (int i = 0; i < 15; i++)
        tick(c, 1000);
    assert_int_equal(sent(c), 0);
    assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
    sched_commit(c);
}

/* A real register from the worker's connection named conn, holding
 * nothing. */
static void register_empty(struct mlq_ctx *c, const char *name, const char *conn)
{
    struct mlq_msg m = {.type = MLQ_MSG_REGISTER};
    m.u.reg.name = (char *)name;
    m.u.reg.cpus_m = 4000;
    m.u.reg.mem = 8 * G;
    struct mlq_peer p = {.len = strlen(conn)};
    memcpy(p.id, conn, p.len);
    struct mlq_err e = {0};
    sched_speak_as(c, name, MLQ_ROLE_WORKER);
    if (mlq_wproto_on_register(c, &p, &m, &e) != 0)
        fail_msg("register %s: %s", name, e.msg);
}

/* A worker whose second register crossed an ASSIGN on the same connection
 * gets the ASSIGN after it: the attempt stays, and is not run twice. A
 * register from another connection (the worker restarted) loses it. */
static void test_register_crossing_assign_keeps_attempt(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    register_empty(c, "w1", "conn-1");
    struct mlq_job *job = submit(c, 1000);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_true(job->live);
    char att[MLQ_ID_LEN + 1];
    strcpy(att, job->att->id);
    register_empty(c, "w1", "conn-1");
    assert_true(job->live);
    assert_string_equal(job->att->id, att);
    assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
    register_empty(c, "w1", "conn-2");
    assert_false(job->live && strcmp(job->att->id, att) == 0);
    sched_commit(c);
}

static void test_kill_resent_until_end_reported(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    up(c, "w1");
    struct mlq_job *job = submit(c, 1000);
    char id[MLQ_ID_LEN + 1];
    strcpy(id, job->row.id);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(mlq_jobops_started(c, job, NULL), 0);
    sent(c);
    assert_int_equal(mlq_jobops_cancel(c, job, "cancelled by user", NULL), 0);
    assert_int_equal(sent(c), 1); /* KILL */
    tick(c, 1000);
    assert_int_equal(sent(c), 1); /* KILL again */
    tick(c, 2000);
    assert_int_equal(sent(c), 1);
    struct mlq_msg rep = report(job, MLQ_OUT_SIGNALED, NULL);
    rep.u.report.signal = 15;
    assert_int_equal(mlq_jobops_finished(c, job, &rep, NULL), 0);
    assert_null(mlq_jobtab_get(c->jobs, id));
    for (int i = 0; i < 10; i++)
        tick(c, 5000);
    assert_int_equal(sent(c), 0);
    sched_commit(c);
}

/* Cancelled before the worker acknowledged the assignment: the KILL is
 * resent, the ASSIGN no more, and the deadline frees the resources. */
static void test_cancel_while_assigned(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w = up(c, "w1");
    struct mlq_job *job = submit(c, 1000);
    char id[MLQ_ID_LEN + 1];
    strcpy(id, job->row.id);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    sent(c);
    assert_int_equal(mlq_jobops_cancel(c, job, "cancelled by user", NULL), 0);
    assert_int_equal(sent(c), 1); /* KILL */
    tick(c, 1000);
    assert_int_equal(sent(c), 1); /* the KILL again, not the ASSIGN */
    for (int i = 0; i < 9; i++)
        tick(c, 1000);
    assert_null(mlq_jobtab_get(c->jobs, id)); /* attempt lost at the deadline */
    assert_int_equal(w->running, 0);
    tick(c, 30000);
    assert_int_equal(mlq_resend_count(c->resend), 0);
    sched_commit(c);
}

#define STRANGER "dddddddd-0000-4000-8000-000000000000"

/* A worker holds an attempt that is no longer current: its KILL is resent
 * until the worker reports the attempt's end, or until it registers again
 * (the reconciliation then decides anew). */
static void test_fencing_kill_resent_until_end(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w = up(c, "w1");
    w->epoch = 1;
    struct mlq_held_attempt held = {.attempt_id = STRANGER, .finished = false};
    assert_int_equal(mlq_workerloss_reconcile(c, w, &held, 1, NULL), 0);
    assert_int_equal(sent(c), 1); /* KILL */
    tick(c, 1000);
    assert_int_equal(sent(c), 1); /* again */
    tick(c, 2000);
    assert_int_equal(sent(c), 1);
    struct mlq_msg rep = {.type = MLQ_MSG_REPORT};
    strcpy(rep.u.report.attempt_id, STRANGER);
    rep.u.report.phase = MLQ_PHASE_FINISHED;
    rep.u.report.outcome = MLQ_OUT_SIGNALED;
    rep.u.report.signal = 15;
    sched_speak_as(c, w->name, MLQ_ROLE_WORKER);
    assert_int_equal(mlq_wproto_on_report(c, &w->peer, &rep, NULL), 0);
    assert_int_equal(sent(c), 1); /* its report_ack */
    tick(c, 4000);
    tick(c, 30000);
    assert_int_equal(sent(c), 0);

    /* Held again by a worker that then registers again: the KILL of the
     * old registration stops (the new one's reconciliation re-sends it). */
    assert_int_equal(mlq_workerloss_reconcile(c, w, &held, 1, NULL), 0);
    assert_int_equal(sent(c), 1);
    w->epoch++;
    tick(c, 1000);
    assert_int_equal(sent(c), 0);
    assert_int_equal(mlq_strmap_count(c->fencing), 0);
    assert_int_equal(mlq_resend_count(c->resend), 0);
    sched_commit(c);
}

static void test_refusals_mark_worker_unhealthy(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *bad = up(c, "bad");
    struct mlq_job *job = submit(c, 1000);
    char id[MLQ_ID_LEN + 1];
    strcpy(id, job->row.id);
    for (int i = 1; i <= MLQ_UNHEALTHY_REFUSALS; i++) {
        assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
        job = mlq_jobtab_get(c->jobs, id);
        assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
        struct mlq_msg rep = report(job, MLQ_OUT_REFUSED, "spool full");
        assert_int_equal(mlq_jobops_finished(c, job, &rep, NULL), 0);
        job = mlq_jobtab_get(c->jobs, id);
        assert_non_null(job); /* not failed: never ran */
        assert_int_equal(job->row.state, MLQ_JOB_PENDING);
        assert_int_equal(job->row.node_failures, 0);
        assert_int_equal(bad->unhealthy, i == MLQ_UNHEALTHY_REFUSALS);
        tick(c, job->row.not_before_ms - c->now_wall);
    }
    assert_non_null(strstr(bad->health, "spool full"));
    /* Nothing is placed on it; `mlq why` names it. */
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_PENDING);
    struct mlq_why why;
    mlq_why_explain(c, job, false, &why);
    assert_non_null(strstr(why.text, "unhealthy"));
    assert_string_equal(why.closest, "bad");
    /* A healthy worker gets the job. */
    struct mlq_worker *good = up(c, "good");
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
    assert_string_equal(job->att->worker, "good");
    /* After the cool-down it is tried again, on probation (good drained, so
     * that bad is the only place for the next job). */
    good->drained = true;
    tick(c, MLQ_UNHEALTHY_COOLDOWN_MS);
    assert_false(bad->unhealthy);
    struct mlq_job *next = submit(c, 1000);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_string_equal(next->att->worker, "bad");
    struct mlq_msg rep = report(next, MLQ_OUT_REFUSED, "spool full");
    assert_int_equal(mlq_jobops_finished(c, next, &rep, NULL), 0);
    assert_true(bad->unhealthy);
    sched_commit(c);
}

static void test_started_report_makes_worker_healthy(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w = up(c, "w1");
    struct mlq_job *a = submit(c, 1000), *b = submit(c, 1000);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    struct mlq_msg rep = report(a, MLQ_OUT_REFUSED, "full");
    assert_int_equal(mlq_jobops_finished(c, a, &rep, NULL), 0);
    assert_int_equal(w->refusals, 1);
    assert_int_equal(mlq_jobops_started(c, b, NULL), 0);
    assert_int_equal(w->refusals, 0); /* refusals count in a row */
    /* A draining worker refuses by design: not counted. */
    w->draining = true;
    for (int i = 0; i < MLQ_UNHEALTHY_REFUSALS; i++)
        assert_int_equal(mlq_health_refused(c, w, "worker is draining", NULL), 0);
    assert_false(w->unhealthy);
    assert_int_equal(w->refusals, 0);
    sched_commit(c);
}

static void test_worker_attempt_cap(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w = up(c, "w1");
    struct mlq_jobspec spec = {.cpus_m = 1, .mem = 1};
    struct mlq_request r = mlq_place_request(&spec);
    w->running = MLQ_MAX_WORKER_ATTEMPTS - 1;
    assert_true(mlq_place_fits_now(w, &r));
    w->running = MLQ_MAX_WORKER_ATTEMPTS;
    assert_false(mlq_place_fits_now(w, &r));
    w->running = 0;
}

static void test_max_running_survives_restart(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_ctx *c = &f->c;
    up(c, "w1")->cpus_m = 64000;
    struct mlq_jobspec spec = spec_of(1000);
    spec.max_running = 2;
    spec.array = strdup("0-5");
    char aid[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_pipeline_submit_array(c, &spec, aid, NULL), 0);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(mlq_pipeline_array(c, aid)->running, 2);
    sched_commit(c);

    sched_fx_restart(f); /* "restart" */
    struct mlq_worker *w = mlq_workers_get(c->workers, "w1");
    w->state = MLQ_WORKER_UP;
    w->cpus_m = 64000;
    w->mem = 64 * G;
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(mlq_pipeline_array(c, aid)->running, 2);
    assert_int_equal(w->running, 2); /* none placed beyond --max-running */
    sched_commit(c);
}

/* The tasks of an array keep no environment of their own, in memory or
 * stored: they run with the array's one copy, which a restart reloads. */
static void check_task_env(struct mlq_ctx *c, const char *aid)
{
    char(*ids)[MLQ_ID_LEN + 1] = NULL;
    uint32_t n = 0;
    assert_int_equal(mlq_store_array_active_tasks(c->store, aid, &ids, &n, NULL), 0);
    assert_int_equal(n, 3);
    for (uint32_t i = 0; i < n; i++) {
        struct mlq_job *job = mlq_jobtab_get(c->jobs, ids[i]);
        assert_non_null(job);
        assert_int_equal(job->row.spec.envc, 0);
        char **env = NULL;
        uint32_t envc = 0;
        assert_int_equal(mlq_pipeline_task_env(c, job, &env, &envc, NULL), 0);
        assert_int_equal(envc, 2);
        assert_string_equal(env[0], "A=1");
        assert_string_equal(env[1], "B=2");
    }
    free(ids);
}

static void test_array_tasks_share_env(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_ctx *c = &f->c;
    struct mlq_jobspec spec = spec_of(1000);
    spec.array = strdup("0-2");
    spec.envc = 2;
    spec.env = calloc(2, sizeof *spec.env);
    assert_non_null(spec.env);
    spec.env[0] = strdup("A=1");
    spec.env[1] = strdup("B=2");
    char aid[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_pipeline_submit_array(c, &spec, aid, NULL), 0);
    check_task_env(c, aid);
    sched_commit(c);
    sched_fx_restart(f);
    check_task_env(c, aid);
    /* a plain job keeps its own */
    struct mlq_jobspec one = spec_of(1000);
    one.envc = 1;
    one.env = calloc(1, sizeof *one.env);
    assert_non_null(one.env);
    one.env[0] = strdup("C=3");
    char id[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &one, id, NULL), 0);
    char **env = NULL;
    uint32_t envc = 0;
    assert_int_equal(mlq_pipeline_task_env(c, mlq_jobtab_get(c->jobs, id), &env, &envc, NULL), 0);
    assert_int_equal(envc, 1);
    assert_string_equal(env[0], "C=3");
    sched_commit(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resend_heap_order_and_backoff),
        cmocka_unit_test_setup_teardown(test_assign_resent_until_started, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_assign_not_resent_to_a_worker_not_up, setup,
                                        sched_fx_close),
        cmocka_unit_test_setup_teardown(test_assigned_deadline_loses_attempt, setup,
                                        sched_fx_close),
        cmocka_unit_test_setup_teardown(test_register_naming_attempt_acknowledges, setup,
                                        sched_fx_close),
        cmocka_unit_test_setup_teardown(test_register_crossing_assign_keeps_attempt, setup,
                                        sched_fx_close),
        cmocka_unit_test_setup_teardown(test_kill_resent_until_end_reported, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_cancel_while_assigned, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_fencing_kill_resent_until_end, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_refusals_mark_worker_unhealthy, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_started_report_makes_worker_healthy, setup,
                                        sched_fx_close),
        cmocka_unit_test_setup_teardown(test_worker_attempt_cap, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_max_running_survives_restart, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_array_tasks_share_env, setup, sched_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
