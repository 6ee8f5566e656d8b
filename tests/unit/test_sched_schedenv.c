/* The environment variables the scheduler alone sets: a schedule's run
 * carries MLQ_SCHEDULE and the fire time it is for (MLQ_SCHEDULED_TIME in
 * the schedule's zone, MLQ_SCHEDULED_TIME_UTC), replacing any value the
 * user gave; a plain submit cannot carry them; a schedule whose
 * environment leaves no room for them is refused. A real (file) store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "auth.h"
#include "client.h"
#include "envname.h"
#include "jobops.h"
#include "sched_fixture.h"
#include "schedules.h"

#define G     (1024LL * 1024 * 1024)
#define T0_MS 1796605200000LL /* 2026-12-07T01:00:00Z, 02:00 in Paris */

static int setup(void **state)
{
    int rc = sched_fx_open(state, "schedenv", 5000);
    struct sched_fx *f = *state;
    f->c.now_wall = T0_MS;
    sched_speak_as(&f->c, "alice", MLQ_ROLE_USER);
    return rc;
}

static const struct mlq_peer *peer(void)
{
    static struct mlq_peer p = {.id = "alice", .len = 5};
    return &p;
}

static char **strv(uint32_t n, const char *const *v)
{
    char **out = calloc(n, sizeof *out);
    assert_non_null(out);
    for (uint32_t i = 0; i < n; i++)
        assert_non_null(out[i] = strdup(v[i]));
    return out;
}

static int add(struct mlq_ctx *c, char **env, uint32_t envc, struct mlq_err *e)
{
    struct mlq_msg msg = {.type = MLQ_MSG_SCHEDULE_ADD, .rid = 1};
    struct mlq_scheduleinfo *si = &msg.u.schedule_add.sched;
    si->name = strdup("nightly");
    si->cron = strdup("0 3 * * *");
    si->timezone = strdup("Europe/Paris");
    si->concurrency = strdup("allow"); /* run-now while the first run waits */
    si->spec = sched_spec("alice", 1000, 0);
    si->spec.env = env;
    si->spec.envc = envc;
    int rc = mlq_schedules_on_add(c, peer(), &msg, e);
    mlq_proto_msg_free(&msg);
    return rc;
}

/* The environment of the schedule's last run. */
static const struct mlq_jobspec *last_run(struct mlq_ctx *c)
{
    struct mlq_store_schedule row;
    assert_int_equal(mlq_store_schedule_get(c->store, "nightly", &row, NULL), 0);
    struct mlq_job *job = mlq_jobtab_get(c->jobs, row.last_job);
    mlq_store_schedule_free(&row);
    assert_non_null(job);
    return &job->row.spec;
}

static const char *env_of(const struct mlq_jobspec *s, const char *name)
{
    size_t len = strlen(name);
    for (uint32_t i = 0; i < s->envc; i++)
        if (strncmp(s->env[i], name, len) == 0 && s->env[i][len] == '=')
            return s->env[i] + len + 1;
    return NULL;
}

static void test_run_knows_its_fire_time(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    static const char *const env[] = {"A=1", "MLQ_SCHEDULE=forged", "MLQ_SCHEDULED_TIME=x"};
    assert_int_equal(add(c, strv(3, env), 3, NULL), 0);
    sched_commit(c);
    /* the 03:00 Paris fire, seen by the tick half a minute late */
    c->now_wall = T0_MS + 3600 * 1000 + 30000;
    assert_int_equal(mlq_schedules_tick(c, NULL), 0);
    sched_commit(c);
    const struct mlq_jobspec *s = last_run(c);
    assert_string_equal(env_of(s, "A"), "1");
    assert_string_equal(env_of(s, MLQ_ENV_SCHEDULE), "nightly");
    assert_string_equal(env_of(s, MLQ_ENV_SCHEDULED_TIME), "2026-12-07T03:00:00+01:00");
    assert_string_equal(env_of(s, MLQ_ENV_SCHEDULED_TIME_UTC), "2026-12-07T02:00:00Z");
    assert_int_equal(s->envc, 4); /* the forged ones replaced, not doubled */
    /* run-now: the run is for the time it was asked */
    c->now_wall = T0_MS + 7200 * 1000;
    struct mlq_msg cmd = {.type = MLQ_MSG_SCHEDULE_CMD, .rid = 2};
    cmd.u.schedule_cmd.name = "nightly";
    cmd.u.schedule_cmd.op = "run_now";
    assert_int_equal(mlq_schedules_on_cmd(c, peer(), &cmd, NULL), 0);
    sched_commit(c);
    s = last_run(c);
    assert_string_equal(env_of(s, MLQ_ENV_SCHEDULED_TIME), "2026-12-07T04:00:00+01:00");
    assert_string_equal(env_of(s, MLQ_ENV_SCHEDULED_TIME_UTC), "2026-12-07T03:00:00Z");
}

static void take_job(struct mlq_job *job, void *ctx)
{
    *(struct mlq_job **)ctx = job;
}

static void test_plain_submit_cannot_carry_them(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    static const char *const env[] = {"MLQ_SCHEDULE=forged", "B=2", "MLQ_SCHEDULED_TIME_UTC=x"};
    struct mlq_msg msg = {.type = MLQ_MSG_SUBMIT, .rid = 3};
    msg.u.submit.spec = sched_spec("alice", 1000, 0);
    msg.u.submit.spec.env = strv(3, env);
    msg.u.submit.spec.envc = 3;
    assert_int_equal(mlq_client_on_submit(c, peer(), &msg, NULL), 0);
    mlq_proto_msg_free(&msg);
    sched_commit(c);
    assert_int_equal(mlq_jobtab_count(c->jobs), 1);
    struct mlq_job *job = NULL;
    mlq_jobtab_each(c->jobs, take_job, &job);
    assert_non_null(job);
    assert_int_equal(job->row.spec.envc, 1);
    assert_string_equal(job->row.spec.env[0], "B=2");
}

static void test_schedule_env_leaves_room(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    char **env = calloc(MLQ_MAX_ENVC, sizeof *env);
    assert_non_null(env);
    for (int i = 0; i < MLQ_MAX_ENVC; i++)
        assert_true(asprintf(&env[i], "V%d=x", i) > 0);
    struct mlq_err e = {0};
    assert_int_equal(add(c, env, MLQ_MAX_ENVC, &e), MLQ_ETOOBIG);
    assert_non_null(strstr(e.msg, "too large"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_run_knows_its_fire_time, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_plain_submit_cannot_carry_them, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_schedule_env_leaves_room, setup, sched_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
