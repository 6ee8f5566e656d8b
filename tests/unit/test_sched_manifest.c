/* Unit tests of run manifests on the scheduler: a finished report's
 * manifest is stored with its attempt (wproto.c), a malformed one is
 * dropped without costing the outcome, and `manifest` answers only the
 * job's owner and admins (client.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client.h"
#include "jobops.h"
#include "sched_fixture.h"
#include "store.h"
#include "wproto.h"

static int setup(void **state)
{
    return sched_fx_open(state, "manifest", 5000);
}

/* A job of alice's placed on w1; its id into id. */
static struct mlq_job *placed_job(struct mlq_ctx *c, char *id)
{
    struct mlq_jobspec spec = sched_spec("alice", 1000, 0);
    assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    struct mlq_job *job = mlq_jobtab_get(c->jobs, id);
    assert_non_null(job);
    assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
    return job;
}

/* w1's finished report of job (exit 0) carrying manifest. */
static void finish_with(struct mlq_ctx *c, struct mlq_worker *w1, struct mlq_job *job,
                        const char *manifest)
{
    struct mlq_msg m = {.type = MLQ_MSG_REPORT};
    memcpy(m.u.report.attempt_id, job->att->id, sizeof m.u.report.attempt_id);
    m.u.report.phase = MLQ_PHASE_FINISHED;
    m.u.report.outcome = MLQ_OUT_EXITED;
    m.u.report.manifest = (char *)manifest;
    sched_speak_as(c, w1->name, MLQ_ROLE_WORKER);
    assert_int_equal(mlq_wproto_on_report(c, &w1->peer, &m, NULL), 0);
    sched_commit(c);
}

static void test_stored_with_the_outcome(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w1 = sched_worker_up(c, "w1", 0);
    char id[MLQ_ID_LEN + 1], att[MLQ_ID_LEN + 1], got_att[MLQ_ID_LEN + 1];
    struct mlq_job *job = placed_job(c, id);
    strcpy(att, job->att->id);
    finish_with(c, w1, job, "{\"argv\":[\"true\"]}");
    int32_t num = 0;
    char *json = NULL;
    assert_int_equal(mlq_store_manifest_get(c->store, id, 0, got_att, &num, &json, NULL), 0);
    assert_string_equal(json, "{\"argv\":[\"true\"]}");
    assert_string_equal(got_att, att);
    assert_int_equal(num, 1);
    free(json);

    /* a malformed manifest costs nothing but itself */
    char id2[MLQ_ID_LEN + 1];
    job = placed_job(c, id2);
    finish_with(c, w1, job, "{\"argv\": [\"s3cret");
    struct mlq_store_job row;
    assert_int_equal(mlq_store_job_get(c->store, id2, &row, NULL), 0);
    assert_int_equal(row.state, MLQ_JOB_SUCCEEDED);
    mlq_store_job_free(&row);
    assert_int_equal(mlq_store_manifest_get(c->store, id2, 0, got_att, &num, &json, NULL),
                     MLQ_ENOTFOUND);
}

static void test_only_owner_and_admins(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w1 = sched_worker_up(c, "w1", 0);
    char id[MLQ_ID_LEN + 1];
    struct mlq_job *job = placed_job(c, id);
    finish_with(c, w1, job, "{\"env\":{\"A\":\"b\"}}");
    struct mlq_msg req = {.type = MLQ_MSG_MANIFEST};
    req.u.manifest.job = id;
    struct mlq_err e = {0};
    sched_speak_as(c, "bob", MLQ_ROLE_USER);
    assert_int_equal(mlq_client_on_manifest(c, &w1->peer, &req, &e), MLQ_EPERM);
    sched_speak_as(c, "alice", MLQ_ROLE_USER);
    assert_int_equal(mlq_client_on_manifest(c, &w1->peer, &req, &e), 0);
    sched_speak_as(c, "root", MLQ_ROLE_ADMIN);
    assert_int_equal(mlq_client_on_manifest(c, &w1->peer, &req, &e), 0);
    req.u.manifest.attempt = 2;
    assert_int_equal(mlq_client_on_manifest(c, &w1->peer, &req, &e), MLQ_ENOTFOUND);
    assert_non_null(strstr(e.msg, "no attempt 2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stored_with_the_outcome, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_only_owner_and_admins, setup, sched_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
