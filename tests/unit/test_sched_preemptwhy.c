/* `mlq why` of a pending job that could run only if running jobs made
 * room says which rule keeps it from preempting them (why.h,
 * preemptrun.h): preemption off, no team, a team over its nominal quota
 * that does not preempt within itself, a running job that ran less than
 * its minimum run time, one with --no-preempt, one of equal or higher
 * priority, or a job that would not fit even with every job it may
 * preempt gone; the plain status reason stays as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobops.h"
#include "sched_fixture.h"
#include "why.h"

static int setup(void **state)
{
    return sched_fx_open(state, "preemptwhy", 30000);
}

struct opts {
    const char *team; /* NULL: none */
    int32_t prio, gpus;
    bool no_preempt;
};

/* A job as o says, placed when it can; RUNNING when it was. */
static struct mlq_job *submit(struct mlq_ctx *c, struct opts o)
{
    struct mlq_jobspec spec = sched_spec("alice", 1000, o.gpus);
    spec.team = o.team ? strdup(o.team) : NULL;
    spec.priority = o.prio;
    spec.no_preempt = o.no_preempt;
    char id[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
    mlq_proto_jobspec_free(&spec);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    sched_commit(c);
    struct mlq_job *job = mlq_jobtab_get(c->jobs, id);
    if (job->row.state == MLQ_JOB_ASSIGNED) {
        assert_int_equal(mlq_jobops_started(c, job, NULL), 0);
        sched_commit(c);
    }
    return job;
}

static void team(struct mlq_ctx *c, bool within)
{
    assert_int_equal(mlq_store_team_add(c->store, "nlp", c->now_wall, NULL), 0);
    assert_int_equal(mlq_store_team_set_preempt(c->store, "nlp", within, NULL), 0);
}

/* A worker with one GPU, taken by a running job as run says; then a
 * waiting one as wait says, which must stay PENDING with nothing
 * preempted. Its `mlq why` text into text. */
static void scene(struct mlq_ctx *c, struct opts run, struct opts wait, char *text, size_t len)
{
    sched_worker_up(c, "w1", 1);
    struct mlq_job *r = submit(c, run);
    assert_int_equal(r->row.state, MLQ_JOB_RUNNING);
    struct mlq_job *w = submit(c, wait);
    assert_int_equal(w->row.state, MLQ_JOB_PENDING);
    assert_null(r->row.spec.preempt_note);
    struct mlq_why why;
    mlq_why_explain(c, w, true, &why);
    snprintf(text, len, "%s", why.text);
    /* the status line's reason (no walk over the running jobs) says none of it */
    char reason[512];
    mlq_jobops_pending_reason(c, w, reason, sizeof reason);
    assert_null(strstr(reason, "preempt"));
}

static void has(const char *text, const char *part)
{
    if (!strstr(text, part))
        fail_msg("\"%s\" not in \"%s\"", part, text);
}

static void test_team_over_quota_not_within(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    char text[512];
    team(c, false);
    scene(c, (struct opts){.team = "nlp", .gpus = 1},
          (struct opts){.team = "nlp", .prio = 10, .gpus = 1}, text, sizeof text);
    has(text, "; no preemption: it would not keep team nlp within a nominal quota in pool default "
              "(nothing to reclaim), and the team does not preempt within itself (mlq admin team "
              "set nlp --preempt-within on)");
}

static void test_no_team(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    char text[512];
    scene(c, (struct opts){.gpus = 1}, (struct opts){.prio = 10, .gpus = 1}, text, sizeof text);
    has(text, "; no preemption: it has no team (no quota to reclaim, no team to preempt within)");
}

static void test_off(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    char text[512];
    team(c, true);
    c->preempt_off = true;
    scene(c, (struct opts){.team = "nlp", .gpus = 1},
          (struct opts){.team = "nlp", .prio = 10, .gpus = 1}, text, sizeof text);
    has(text, "; no preemption: it is off on this scheduler");
}

static void test_not_lower_priority(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    char text[512];
    team(c, true);
    scene(c, (struct opts){.team = "nlp", .prio = 10, .gpus = 1},
          (struct opts){.team = "nlp", .prio = 5, .gpus = 1}, text, sizeof text);
    has(text, "no preemption: of the 1 running in its pool, 1 of its team have its priority (5) "
              "or higher");
}

static void test_min_runtime(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    char text[512];
    team(c, true);
    c->preempt_min_runtime_ms = 3600 * 1000;
    scene(c, (struct opts){.team = "nlp", .gpus = 1},
          (struct opts){.team = "nlp", .prio = 10, .gpus = 1}, text, sizeof text);
    has(text, "no preemption: of the 1 running in its pool, 1 ran less than their minimum run "
              "time (the first until ");
}

static void test_no_preempt_job(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    char text[512];
    team(c, true);
    scene(c, (struct opts){.team = "nlp", .gpus = 1, .no_preempt = true},
          (struct opts){.team = "nlp", .prio = 10, .gpus = 1}, text, sizeof text);
    has(text, "no preemption: of the 1 running in its pool, 1 have --no-preempt");
}

/* Two GPUs, one held by a lower-priority job it may preempt and one by a
 * higher one: two GPUs asked never fit with only the first gone. */
static void test_would_not_fit(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    team(c, true);
    sched_worker_up(c, "w1", 2);
    struct mlq_job *low = submit(c, (struct opts){.team = "nlp", .prio = 0, .gpus = 1});
    struct mlq_job *top = submit(c, (struct opts){.team = "nlp", .prio = 20, .gpus = 1});
    assert_int_equal(low->row.state, MLQ_JOB_RUNNING);
    assert_int_equal(top->row.state, MLQ_JOB_RUNNING);
    struct mlq_job *w = submit(c, (struct opts){.team = "nlp", .prio = 10, .gpus = 2});
    assert_int_equal(w->row.state, MLQ_JOB_PENDING);
    assert_null(low->row.spec.preempt_note);
    struct mlq_why why;
    mlq_why_explain(c, w, true, &why);
    has(why.text, "; no preemption: it would not fit even with the 1 job(s) it may preempt gone");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_team_over_quota_not_within, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_no_team, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_off, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_not_lower_priority, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_min_runtime, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_no_preempt_job, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_would_not_fit, setup, sched_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
