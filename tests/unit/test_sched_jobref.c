/* Jobs by name (scheduler/jobref.c) and the filtered listing
 * (mlq_store_job_page_filtered): a name names one of the asker's active
 * jobs, an id prefix wins over a name, ended jobs and other users' jobs
 * never count; the listing's filters hold together. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "auth.h"
#include "jobops.h"
#include "jobref.h"
#include "jobtab.h"
#include "sched_fixture.h"
#include "store.h"

static int setup(void **state)
{
    return sched_fx_open(state, "jobref", 5000);
}

static struct mlq_job *submit_named(struct mlq_ctx *c, const char *owner, const char *name)
{
    struct mlq_jobspec spec = sched_spec(owner, 100, 0);
    spec.name = strdup(name);
    assert_non_null(spec.name);
    char id[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
    struct mlq_job *job = mlq_jobtab_get(c->jobs, id);
    assert_non_null(job);
    return job;
}

static int resolve(struct mlq_ctx *c, const char *ref, char id[MLQ_ID_LEN + 1], struct mlq_err *err)
{
    bool is_array = true;
    int rc = mlq_jobref_resolve(c, ref, id, &is_array, err);
    if (rc == 0)
        assert_false(is_array);
    return rc;
}

static void test_by_name(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_ctx *c = &f->c;
    char a_train[MLQ_ID_LEN + 1], b_train[MLQ_ID_LEN + 1], id[MLQ_ID_LEN + 1];
    memcpy(a_train, submit_named(c, "alice", "train")->row.id, sizeof a_train);
    memcpy(b_train, submit_named(c, "bob", "train")->row.id, sizeof b_train);
    submit_named(c, "alice", "eval");
    submit_named(c, "alice", "eval");
    sched_commit(c);
    struct mlq_err err = {0};

    sched_speak_as(c, "alice", MLQ_ROLE_USER);
    assert_int_equal(resolve(c, "train", id, &err), 0); /* bob's does not count */
    assert_string_equal(id, a_train);
    assert_int_equal(resolve(c, "eval", id, &err), MLQ_EAMBIG);
    assert_non_null(strstr(err.msg, "several of your active jobs are named \"eval\""));
    assert_int_equal(resolve(c, "nosuch", id, &err), MLQ_ENOTFOUND);
    assert_non_null(strstr(err.msg, "\"nosuch\""));
    sched_speak_as(c, "bob", MLQ_ROLE_USER);
    assert_int_equal(resolve(c, "train", id, &err), 0);
    assert_string_equal(id, b_train);
    assert_int_equal(resolve(c, "eval", id, &err), MLQ_ENOTFOUND); /* alice's */

    /* an id prefix wins over a job named like it */
    char prefix[9];
    snprintf(prefix, sizeof prefix, "%.8s", a_train);
    submit_named(c, "bob", prefix);
    sched_commit(c);
    assert_int_equal(resolve(c, prefix, id, &err), 0);
    assert_string_equal(id, a_train);

    /* an ended job is named by its id only */
    sched_speak_as(c, "alice", MLQ_ROLE_USER);
    assert_int_equal(mlq_jobops_cancel(c, mlq_jobtab_get(c->jobs, a_train), "test", NULL), 0);
    sched_commit(c);
    assert_int_equal(resolve(c, "train", id, &err), MLQ_ENOTFOUND);
    assert_int_equal(resolve(c, a_train, id, &err), 0);
}

static uint32_t count_listed(struct mlq_ctx *c, const struct mlq_store_job_filter *flt)
{
    struct mlq_jobinfo *infos = NULL;
    uint32_t n = 0;
    int64_t seqs[100];
    assert_int_equal(
        mlq_store_job_page_filtered(c->store, flt, INT64_MAX, 100, &infos, &n, seqs, NULL), 0);
    for (uint32_t i = 0; i < n; i++) {
        if (flt->name)
            assert_string_equal(infos[i].name, flt->name);
        if (flt->owner)
            assert_string_equal(infos[i].owner, flt->owner);
        if (flt->states)
            assert_true((flt->states >> infos[i].state) & 1u);
        assert_true(infos[i].submit_ms >= flt->since_ms);
    }
    mlq_store_jobinfo_array_free(&infos, n);
    return n;
}

static void test_filtered_listing(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_ctx *c = &f->c;
    sched_speak_as(c, "alice", MLQ_ROLE_USER);
    struct mlq_job *gone = submit_named(c, "alice", "train");
    submit_named(c, "alice", "train");
    submit_named(c, "bob", "train");
    submit_named(c, "bob", "eval");
    assert_int_equal(mlq_jobops_cancel(c, gone, "test", NULL), 0);
    sched_commit(c);
    struct mlq_store_job_filter flt = {0};
    assert_int_equal(count_listed(c, &flt), 4);
    flt.name = "train";
    assert_int_equal(count_listed(c, &flt), 3);
    flt.owner = "alice";
    assert_int_equal(count_listed(c, &flt), 2);
    flt.states = 1u << MLQ_JOB_PENDING;
    assert_int_equal(count_listed(c, &flt), 1);
    flt.states |= 1u << MLQ_JOB_CANCELLED; /* several states: any of them */
    assert_int_equal(count_listed(c, &flt), 2);
    flt.since_ms = c->now_wall + 1; /* all submitted before */
    assert_int_equal(count_listed(c, &flt), 0);
    struct mlq_store_job_filter bad = {.states = 1u << MLQ_JOB_STATE_COUNT};
    struct mlq_jobinfo *infos = NULL;
    uint32_t n = 0;
    assert_int_equal(
        mlq_store_job_page_filtered(c->store, &bad, INT64_MAX, 10, &infos, &n, NULL, NULL),
        MLQ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_by_name, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_filtered_listing, setup, sched_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
