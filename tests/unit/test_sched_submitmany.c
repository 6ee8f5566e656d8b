/* submit_many: every job is checked as a submit's is before anything
 * changes (a bad one is named "job N:" and nothing is stored), all are
 * stored in the iteration's one transaction and survive a restart, each
 * job's environment is the shared one with its own entries over it (the
 * shared one stored once for the jobs that add nothing to it), and a
 * request's idempotency key answers the same ids again, while the key with
 * a different batch is refused as a single submit's is. */
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
#include "mpk.h"
#include "pipeline.h"
#include "sharedenv.h"
#include "sched_fixture.h"
#include "store.h"
#include "submitmany.h"

static int setup(void **state)
{
    int rc = sched_fx_open(state, "submitmany", 5000);
    sched_speak_as(&((struct sched_fx *)*state)->c, "alice", MLQ_ROLE_USER);
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

/* A request of n jobs named j1..jn sharing A=1 and B=2. */
static void request(struct mlq_msg *msg, uint32_t n)
{
    static const char *const shared[] = {"A=1", "B=2"};
    memset(msg, 0, sizeof *msg);
    msg->type = MLQ_MSG_SUBMIT_MANY;
    msg->rid = 7;
    msg->u.submit_many.env = strv(2, shared);
    msg->u.submit_many.envc = 2;
    msg->u.submit_many.specs = calloc(n, sizeof(struct mlq_jobspec));
    assert_non_null(msg->u.submit_many.specs);
    msg->u.submit_many.nspecs = n;
    for (uint32_t i = 0; i < n; i++) {
        struct mlq_jobspec *s = &msg->u.submit_many.specs[i];
        *s = sched_spec("alice", 100, 0);
        assert_true(asprintf(&s->name, "j%u", i + 1) > 0);
    }
}

struct found {
    const char *name;
    struct mlq_job *job;
};

static void find_named(struct mlq_job *job, void *ctx)
{
    struct found *f = ctx;
    if (job->row.spec.name && strcmp(job->row.spec.name, f->name) == 0)
        f->job = job;
}

static struct mlq_job *job_named(struct mlq_ctx *c, const char *name)
{
    struct found f = {name, NULL};
    mlq_jobtab_each(c->jobs, find_named, &f);
    assert_non_null(f.job);
    return f.job;
}

/* The environment job runs with (its ASSIGN's). */
static void assert_env(struct mlq_ctx *c, const struct mlq_job *job, uint32_t n,
                       const char *const *want)
{
    char **env = NULL;
    uint32_t envc = 0;
    assert_int_equal(mlq_pipeline_task_env(c, job, &env, &envc, NULL), 0);
    assert_int_equal(envc, n);
    for (uint32_t i = 0; i < n; i++)
        assert_string_equal(env[i], want[i]);
}

static const char *const shared_env[] = {"A=1", "B=2"};

static void test_all_stored_with_shared_env(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_msg msg;
    request(&msg, 3);
    static const char *const own[] = {"B=3", "C=4"};
    msg.u.submit_many.specs[1].env = strv(2, own);
    msg.u.submit_many.specs[1].envc = 2;
    struct mlq_err e = {0};
    assert_int_equal(mlq_submitmany_on_request(&f->c, peer(), &msg, &e), 0);
    mlq_proto_msg_free(&msg);
    sched_commit(&f->c);
    assert_int_equal(mlq_jobtab_count(f->c.jobs), 3);
    /* the batch's ids ascend with its lines (they go into the index in order) */
    assert_true(strcmp(job_named(&f->c, "j1")->row.id, job_named(&f->c, "j2")->row.id) < 0);
    assert_true(strcmp(job_named(&f->c, "j2")->row.id, job_named(&f->c, "j3")->row.id) < 0);
    assert_env(&f->c, job_named(&f->c, "j1"), 2, shared_env);
    const struct mlq_jobspec *s2 = &job_named(&f->c, "j2")->row.spec;
    assert_int_equal(s2->envc, 3); /* own B wins over the shared one */
    assert_int_equal(job_named(&f->c, "j2")->row.env_id, 0);
    assert_string_equal(s2->env[0], "A=1");
    assert_string_equal(s2->env[1], "B=3");
    assert_string_equal(s2->env[2], "C=4");

    sched_fx_restart(f); /* committed: all there after a crash */
    assert_int_equal(mlq_jobtab_count(f->c.jobs), 3);
    assert_int_equal(job_named(&f->c, "j3")->row.state, MLQ_JOB_PENDING);
    assert_env(&f->c, job_named(&f->c, "j3"), 2, shared_env);
    static const char *const j2_env[] = {"A=1", "B=3", "C=4"};
    assert_env(&f->c, job_named(&f->c, "j2"), 3, j2_env);
}

/* The jobs of one batch name one stored copy of its environment, in memory
 * and in their rows, and keep none of their own. */
static void assert_env_shared(struct mlq_ctx *c, int64_t *env_id)
{
    const struct mlq_job *j1 = job_named(c, "j1"), *j3 = job_named(c, "j3");
    assert_true(j1->row.env_id > 0);
    assert_int_equal(j1->row.env_id, j3->row.env_id);
    assert_int_equal(j1->row.spec.envc, 0);
    assert_int_equal(j3->row.spec.envc, 0);
    assert_ptr_equal(j1->row.spec.owner, j3->row.spec.owner);
    int64_t refs = 0;
    assert_int_equal(mlq_store_env_refs(c->store, j1->row.env_id, &refs, NULL), 0);
    assert_int_equal(refs, 3);
    *env_id = j1->row.env_id;
}

/* The batch's environment is stored once for all its jobs, before and
 * after a restart; each job still runs with the whole of it, read from the
 * store once for the batch. */
static void test_shared_env_held_once(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_msg msg;
    request(&msg, 3);
    struct mlq_err e = {0};
    assert_int_equal(mlq_submitmany_on_request(&f->c, peer(), &msg, &e), 0);
    mlq_proto_msg_free(&msg);
    sched_commit(&f->c);
    int64_t before = 0, after = 0;
    assert_env_shared(&f->c, &before);
    sched_fx_restart(f);
    assert_int_equal(mlq_jobtab_count(f->c.jobs), 3);
    assert_env_shared(&f->c, &after);
    assert_int_equal(before, after);
    const char *names[] = {"j1", "j2", "j3"};
    for (int i = 0; i < 3; i++)
        assert_env(&f->c, job_named(&f->c, names[i]), 2, shared_env);
    assert_int_equal(mlq_sharedenv_loads(f->c.envs), 1);
    struct mlq_store_job row;
    assert_int_equal(mlq_store_job_get(f->c.store, job_named(&f->c, "j2")->row.id, &row, NULL), 0);
    assert_int_equal(row.spec.envc, 0);
    assert_int_equal(row.env_id, after);
    mlq_store_job_free(&row);
    /* a second batch with the same environment names the same row */
    request(&msg, 2);
    sched_speak_as(&f->c, "alice", MLQ_ROLE_USER);
    assert_int_equal(mlq_submitmany_on_request(&f->c, peer(), &msg, &e), 0);
    mlq_proto_msg_free(&msg);
    sched_commit(&f->c);
    int64_t refs = 0;
    assert_int_equal(mlq_store_env_refs(f->c.store, after, &refs, NULL), 0);
    assert_int_equal(refs, 5);
}

/* A request of jobs that each bring the same environment, and no shared
 * one (an HTTP batch), stores it once too; one job with another keeps every
 * job's own. */
static void test_common_env_stored_once(void **state)
{
    struct sched_fx *f = *state;
    static const char *const env[] = {"X=1", "Y=2"}, *const other[] = {"X=1"};
    for (int differ = 0; differ < 2; differ++) {
        struct mlq_msg msg;
        request(&msg, 3);
        mlq_mpk_strv_free(msg.u.submit_many.env, msg.u.submit_many.envc);
        msg.u.submit_many.env = NULL;
        msg.u.submit_many.envc = 0;
        for (uint32_t i = 0; i < 3; i++) {
            struct mlq_jobspec *s = &msg.u.submit_many.specs[i];
            free(s->name);
            assert_true(asprintf(&s->name, "%s%u", differ ? "d" : "c", i + 1) > 0);
            bool odd = differ && i == 2;
            s->env = strv(odd ? 1 : 2, odd ? other : env);
            s->envc = odd ? 1 : 2;
        }
        struct mlq_err e = {0};
        assert_int_equal(mlq_submitmany_on_request(&f->c, peer(), &msg, &e), 0);
        mlq_proto_msg_free(&msg);
        sched_commit(&f->c);
    }
    const struct mlq_job *c1 = job_named(&f->c, "c1"), *c3 = job_named(&f->c, "c3");
    assert_true(c1->row.env_id > 0);
    assert_int_equal(c1->row.env_id, c3->row.env_id);
    assert_int_equal(c3->row.spec.envc, 0);
    assert_env(&f->c, c3, 2, env);
    int64_t refs = 0;
    assert_int_equal(mlq_store_env_refs(f->c.store, c1->row.env_id, &refs, NULL), 0);
    assert_int_equal(refs, 3);
    assert_int_equal(job_named(&f->c, "d1")->row.env_id, 0);
    assert_int_equal(job_named(&f->c, "d1")->row.spec.envc, 2);
    assert_env(&f->c, job_named(&f->c, "d3"), 1, other);
}

static void test_bad_job_stores_nothing(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_msg msg;
    request(&msg, 3);
    msg.u.submit_many.specs[1].cpus_m = 0;
    struct mlq_err e = {0};
    assert_int_equal(mlq_submitmany_on_request(&f->c, peer(), &msg, &e), MLQ_EINVAL);
    mlq_proto_msg_free(&msg);
    assert_non_null(strstr(e.msg, "job 2: "));
    sched_commit(&f->c);
    assert_int_equal(mlq_jobtab_count(f->c.jobs), 0);
    sched_fx_restart(f);
    assert_int_equal(mlq_jobtab_count(f->c.jobs), 0);
}

static void test_unknown_dependency_stores_nothing(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_msg msg;
    request(&msg, 3);
    struct mlq_jobspec *s = &msg.u.submit_many.specs[2];
    assert_non_null(s->deps = calloc(1, sizeof *s->deps));
    snprintf(s->deps[0].target, sizeof s->deps[0].target, "ffffffff");
    s->ndeps = 1;
    struct mlq_err e = {0};
    assert_int_equal(mlq_submitmany_on_request(&f->c, peer(), &msg, &e), MLQ_ENOTFOUND);
    mlq_proto_msg_free(&msg);
    assert_non_null(strstr(e.msg, "job 3: dependency"));
    sched_commit(&f->c);
    assert_int_equal(mlq_jobtab_count(f->c.jobs), 0);
}

/* The shared environment counts against each job's bounds. */
static void test_env_bounds_after_merge(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_msg msg;
    request(&msg, 2);
    char **big = calloc(1, sizeof *big);
    assert_non_null(big);
    assert_non_null(big[0] = malloc(MLQ_MAX_ENV_ENTRY));
    memset(big[0], 'x', MLQ_MAX_ENV_ENTRY - 1);
    memcpy(big[0], "BIG=", 4);
    big[0][MLQ_MAX_ENV_ENTRY - 1] = '\0';
    for (int i = 0; i < 4; i++) { /* 4 x 32 KiB: past the user's share of 128 KiB */
        struct mlq_jobspec *s = &msg.u.submit_many.specs[1];
        char **v = realloc(s->env, (s->envc + 1) * sizeof *v);
        assert_non_null(v);
        s->env = v;
        assert_non_null(s->env[s->envc] = strdup(big[0]));
        s->env[s->envc][3] = (char)('0' + i); /* BI0=, BI1=...: distinct names */
        s->envc++;
    }
    free(big[0]);
    free(big);
    struct mlq_err e = {0};
    assert_int_equal(mlq_submitmany_on_request(&f->c, peer(), &msg, &e), MLQ_ETOOBIG);
    mlq_proto_msg_free(&msg);
    assert_non_null(strstr(e.msg, "job 2: "));
    assert_int_equal(mlq_jobtab_count(f->c.jobs), 0);
}

/* Runs a request of n jobs with key; the ids answered are left in the
 * store only, so they are read back through the key. */
static int keyed(struct mlq_ctx *c, uint32_t n, const char *key, struct mlq_err *e)
{
    struct mlq_msg msg;
    request(&msg, n);
    assert_non_null(msg.u.submit_many.idempotency_key = strdup(key));
    int rc = mlq_submitmany_on_request(c, peer(), &msg, e);
    mlq_proto_msg_free(&msg);
    sched_commit(c);
    return rc;
}

/* The same key again: nothing more stored, the same ids in order; another
 * number of jobs with it is refused. */
static void test_idempotency_key(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_err e = {0};
    assert_int_equal(keyed(&f->c, 3, "nightly", &e), 0);
    assert_int_equal(mlq_jobtab_count(f->c.jobs), 3);
    char ids[3][MLQ_ID_LEN + 1];
    assert_int_equal(
        mlq_store_idem_many_get(f->c.store, "alice", "nightly", f->c.now_wall, 3, ids, &e), 0);
    assert_string_equal(job_named(&f->c, "j1")->row.id, ids[0]);
    assert_string_equal(job_named(&f->c, "j3")->row.id, ids[2]);
    assert_int_equal(keyed(&f->c, 3, "nightly", &e), 0);
    assert_int_equal(mlq_jobtab_count(f->c.jobs), 3); /* nothing more */
    assert_int_equal(keyed(&f->c, 4, "nightly", &e), MLQ_EINVAL);
    assert_non_null(strstr(e.msg, "was used for a different request"));
    assert_int_equal(mlq_jobtab_count(f->c.jobs), 3);
    sched_fx_restart(f); /* keys survive a restart */
    sched_speak_as(&f->c, "alice", MLQ_ROLE_USER);
    assert_int_equal(keyed(&f->c, 3, "nightly", &e), 0);
    assert_int_equal(mlq_jobtab_count(f->c.jobs), 3);
    assert_int_equal(keyed(&f->c, 2, "other", &e), 0);
    assert_int_equal(mlq_jobtab_count(f->c.jobs), 5);
}

/* Runs a request of n jobs with key where job `which` (0-based) is named
 * `name` instead. */
static int keyed_renamed(struct mlq_ctx *c, uint32_t n, const char *key, uint32_t which,
                         const char *name, struct mlq_err *e)
{
    struct mlq_msg msg;
    request(&msg, n);
    assert_non_null(msg.u.submit_many.idempotency_key = strdup(key));
    free(msg.u.submit_many.specs[which].name);
    assert_non_null(msg.u.submit_many.specs[which].name = strdup(name));
    int rc = mlq_submitmany_on_request(c, peer(), &msg, e);
    mlq_proto_msg_free(&msg);
    sched_commit(c);
    return rc;
}

/* The key with another batch of as many jobs: refused, nothing stored; the
 * first batch again still gets its ids, also after a restart. */
static void test_idempotency_key_other_batch(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_err e = {0};
    assert_int_equal(keyed(&f->c, 3, "nightly", &e), 0);
    char ids[3][MLQ_ID_LEN + 1];
    assert_int_equal(
        mlq_store_idem_many_get(f->c.store, "alice", "nightly", f->c.now_wall, 3, ids, &e), 0);
    assert_int_equal(keyed_renamed(&f->c, 3, "nightly", 2, "other", &e), MLQ_EINVAL);
    char want[96];
    snprintf(want, sizeof want, "key nightly was used for a different request (job %.8s)", ids[0]);
    assert_string_equal(e.msg, want);
    assert_int_equal(mlq_jobtab_count(f->c.jobs), 3);
    assert_int_equal(keyed_renamed(&f->c, 3, "nightly", 0, "j1", &e), 0); /* the same batch */
    assert_int_equal(mlq_jobtab_count(f->c.jobs), 3);
    sched_fx_restart(f);
    sched_speak_as(&f->c, "alice", MLQ_ROLE_USER);
    assert_int_equal(keyed_renamed(&f->c, 3, "nightly", 1, "j1", &e), MLQ_EINVAL);
    assert_int_equal(keyed(&f->c, 3, "nightly", &e), 0);
    assert_int_equal(mlq_jobtab_count(f->c.jobs), 3);
}

/* The same jobs with their environment split otherwise between the shared
 * and their own entries are the same request; the order of jobs counts. */
static void test_idempotency_key_same_jobs(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_err e = {0};
    assert_int_equal(keyed(&f->c, 2, "k", &e), 0);
    struct mlq_msg msg;
    request(&msg, 2);
    static const char *const shared[] = {"B=2"}, *const own[] = {"A=1"};
    mlq_mpk_strv_free(msg.u.submit_many.env, msg.u.submit_many.envc);
    msg.u.submit_many.env = strv(1, shared);
    msg.u.submit_many.envc = 1;
    for (int i = 0; i < 2; i++) {
        msg.u.submit_many.specs[i].env = strv(1, own);
        msg.u.submit_many.specs[i].envc = 1;
    }
    assert_non_null(msg.u.submit_many.idempotency_key = strdup("k"));
    assert_int_equal(mlq_submitmany_on_request(&f->c, peer(), &msg, &e), 0);
    mlq_proto_msg_free(&msg);
    sched_commit(&f->c);
    assert_int_equal(mlq_jobtab_count(f->c.jobs), 2);
    request(&msg, 2); /* j2, j1: the jobs in another order */
    char *t = msg.u.submit_many.specs[0].name;
    msg.u.submit_many.specs[0].name = msg.u.submit_many.specs[1].name;
    msg.u.submit_many.specs[1].name = t;
    assert_non_null(msg.u.submit_many.idempotency_key = strdup("k"));
    assert_int_equal(mlq_submitmany_on_request(&f->c, peer(), &msg, &e), MLQ_EINVAL);
    mlq_proto_msg_free(&msg);
    assert_int_equal(mlq_jobtab_count(f->c.jobs), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shared_env_held_once, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_all_stored_with_shared_env, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_common_env_stored_once, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_bad_job_stores_nothing, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_unknown_dependency_stores_nothing, setup,
                                        sched_fx_close),
        cmocka_unit_test_setup_teardown(test_env_bounds_after_merge, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_idempotency_key, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_idempotency_key_other_batch, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_idempotency_key_same_jobs, setup, sched_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
