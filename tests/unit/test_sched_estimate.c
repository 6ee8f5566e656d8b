/* estimate: when a job could start. A full cluster whose running jobs have
 * time limits gives "latest" at their end; one without a limit "unknown";
 * jobs ahead that fit first "not_before"; a request that never fits its
 * reasons; a dry run stores nothing; `why` on a real pending job gives the
 * dry run's answer; and the cost with a long queue and many workers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <sqlite3.h>

#include "client.h"
#include "estimate.h"
#include "id.h"
#include "jobops.h"
#include "outbox.h"
#include "queue.h"
#include "sched_fixture.h"

#define MIN (60 * 1000LL)

static int setup(void **state)
{
    int rc = sched_fx_open(state, "estimate", 5000);
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    sched_speak_as(c, "alice", MLQ_ROLE_USER);
    return rc;
}

static struct mlq_job *submit(struct mlq_ctx *c, int32_t gpus, int64_t limit_ms)
{
    struct mlq_jobspec spec = sched_spec("alice", 1000, gpus);
    spec.time_limit_ms = limit_ms;
    char id[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
    struct mlq_job *job = mlq_jobtab_get(c->jobs, id);
    assert_non_null(job);
    return job;
}

/* Submits, places and starts a job (now_wall is its start). */
static struct mlq_job *run(struct mlq_ctx *c, int32_t gpus, int64_t limit_ms)
{
    struct mlq_job *job = submit(c, gpus, limit_ms);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_true(job->live);
    assert_int_equal(mlq_jobops_started(c, job, NULL), 0);
    sched_commit(c);
    return job;
}

/* The reply the handler left last in the outbox (freed by the caller). */
static void last_reply(struct mlq_ctx *c, struct mlq_msg *m)
{
    size_t len, n = mlq_outbox_count(c->out);
    assert_true(n > 0);
    const char *body = mlq_outbox_body(c->out, n - 1, &len);
    struct mlq_err err = {0};
    if (mlq_proto_decode(body, len, m, &err) != 0)
        fail_msg("reply: %s", err.msg);
    assert_int_equal(m->type, MLQ_MSG_WHY_REPLY);
}

/* `mlq submit --dry-run` of spec; the answer in *m. */
static void dry_run(struct mlq_ctx *c, struct mlq_jobspec spec, struct mlq_msg *m)
{
    struct mlq_msg req = {.type = MLQ_MSG_ESTIMATE, .rid = 9};
    req.u.submit.spec = spec;
    struct mlq_peer peer = {.len = 1};
    struct mlq_err err = {0};
    if (mlq_client_on_estimate(c, &peer, &req, &err) != 0)
        fail_msg("estimate: %s", err.msg);
    mlq_proto_jobspec_free(&req.u.submit.spec);
    last_reply(c, m);
}

static void dry_run_gpus(struct mlq_ctx *c, int32_t gpus, int64_t limit_ms, struct mlq_msg *m)
{
    struct mlq_jobspec spec = sched_spec("alice", 1000, gpus);
    spec.time_limit_ms = limit_ms;
    dry_run(c, spec, m);
}

static void why(struct mlq_ctx *c, const struct mlq_job *job, struct mlq_msg *m)
{
    struct mlq_msg req = {.type = MLQ_MSG_WHY, .rid = 3};
    req.u.why.job = (char *)job->row.id;
    struct mlq_peer peer = {.len = 1};
    assert_int_equal(mlq_client_on_why(c, &peer, &req, NULL), 0);
    last_reply(c, m);
}

static void test_latest_behind_limited_jobs(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    sched_worker_up(c, "w1", 2);
    int64_t t0 = c->now_wall;
    run(c, 2, 10 * MIN); /* the worker's GPUs until t0 + 10 min */
    c->now_wall += 1000;
    struct mlq_msg m;
    dry_run_gpus(c, 1, 5 * MIN, &m);
    assert_true(m.u.why_reply.fits_ever);
    assert_int_equal(m.u.why_reply.ahead, 0);
    assert_null(m.u.why_reply.start_worker);
    assert_string_equal(m.u.why_reply.est_kind, "latest");
    assert_int_equal(m.u.why_reply.est_at_ms, t0 + 10 * MIN);
    assert_non_null(strstr(m.u.why_reply.est_why, "full time limits"));
    mlq_proto_msg_free(&m);

    /* The same job for real: `why` gives the same answer. */
    struct mlq_job *b = submit(c, 1, 5 * MIN);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    sched_commit(c);
    why(c, b, &m);
    assert_string_equal(m.u.why_reply.est_kind, "latest");
    assert_int_equal(m.u.why_reply.est_at_ms, t0 + 10 * MIN);
    mlq_proto_msg_free(&m);
}

static void test_starts_now(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    sched_worker_up(c, "w1", 4);
    run(c, 1, 10 * MIN); /* GPU 0 */
    struct mlq_msg m;
    dry_run_gpus(c, 2, 0, &m);
    assert_string_equal(m.u.why_reply.start_worker, "w1");
    assert_string_equal(m.u.why_reply.start_gpus, "1,2");
    assert_string_equal(m.u.why_reply.est_kind, "latest");
    assert_int_equal(m.u.why_reply.est_at_ms, c->now_wall);
    mlq_proto_msg_free(&m);
}

static void test_unknown_without_limit(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    sched_worker_up(c, "w1", 2);
    struct mlq_job *a = run(c, 2, 0); /* no time limit */
    struct mlq_msg m;
    dry_run_gpus(c, 1, 5 * MIN, &m);
    assert_true(m.u.why_reply.fits_ever);
    assert_string_equal(m.u.why_reply.est_kind, "unknown");
    assert_int_equal(m.u.why_reply.est_at_ms, 0);
    assert_non_null(strstr(m.u.why_reply.est_why, "no time limit"));
    char short_id[MLQ_SHORT_ID_LEN + 1];
    snprintf(short_id, sizeof short_id, "%.8s", a->row.id);
    assert_non_null(strstr(m.u.why_reply.est_why, short_id));
    mlq_proto_msg_free(&m);
}

static void test_not_before_behind_queue(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    sched_worker_up(c, "w1", 2);
    int64_t t0 = c->now_wall;
    run(c, 2, 10 * MIN);
    c->now_wall += 1000;
    submit(c, 2, 5 * MIN); /* ahead: takes both GPUs from t0 + 10 min for 5 */
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    sched_commit(c);
    c->now_wall += 1000;
    struct mlq_msg m;
    dry_run_gpus(c, 2, MIN, &m);
    assert_int_equal(m.u.why_reply.ahead, 1);
    assert_string_equal(m.u.why_reply.est_kind, "not_before");
    assert_int_equal(m.u.why_reply.est_at_ms, t0 + 15 * MIN);
    assert_non_null(strstr(m.u.why_reply.est_why, "behind 1 pending job"));
    mlq_proto_msg_free(&m);
    /* A job that does not need the GPUs is not held up by that queue. */
    dry_run_gpus(c, 0, MIN, &m);
    assert_string_equal(m.u.why_reply.est_kind, "latest");
    assert_int_equal(m.u.why_reply.est_at_ms, c->now_wall);
    mlq_proto_msg_free(&m);
}

static void test_never_fits(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    sched_worker_up(c, "w1", 2);
    struct mlq_msg m;
    dry_run_gpus(c, 8, 0, &m);
    assert_false(m.u.why_reply.fits_ever);
    assert_string_equal(m.u.why_reply.blocker, "never_fits");
    assert_string_equal(m.u.why_reply.closest_worker, "w1");
    assert_non_null(strstr(m.u.why_reply.lacks, "6 GPUs"));
    assert_non_null(strstr(m.u.why_reply.text, "big enough for 8 GPUs"));
    assert_non_null(strstr(m.u.why_reply.text, "the largest, w1, has 2 GPUs"));
    assert_string_equal(m.u.why_reply.est_kind, "unknown");
    mlq_proto_msg_free(&m);

    struct mlq_jobspec spec = sched_spec("alice", 1000, 0);
    spec.require = calloc(1, sizeof *spec.require);
    spec.require[0] = strdup("zone=mars");
    spec.nrequire = 1;
    dry_run(c, spec, &m);
    assert_false(m.u.why_reply.fits_ever);
    assert_string_equal(m.u.why_reply.blocker, "labels");
    assert_non_null(strstr(m.u.why_reply.text, "carries label zone=mars"));
    mlq_proto_msg_free(&m);

    spec = sched_spec("alice", 1000, 0);
    spec.mem = 512 * SCHED_GIB;
    dry_run(c, spec, &m);
    assert_false(m.u.why_reply.fits_ever);
    assert_non_null(strstr(m.u.why_reply.lacks, "memory"));
    mlq_proto_msg_free(&m);
}

static int64_t rows(const char *db, const char *table)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}

static void test_dry_run_stores_nothing(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_ctx *c = &f->c;
    sched_worker_up(c, "w1", 2);
    run(c, 1, 10 * MIN);
    static const char *const tables[] = {"jobs", "events", "idempotency", "arrays", "attempts"};
    int64_t before[5];
    for (int i = 0; i < 5; i++)
        before[i] = rows(f->path, tables[i]);
    size_t in_memory = mlq_jobtab_count(c->jobs), queued = mlq_queue_count(c->queue);
    struct mlq_msg m;
    struct mlq_jobspec spec = sched_spec("alice", 1000, 1);
    spec.idempotency_key = strdup("dry-key");
    spec.array = strdup("0-9");
    dry_run(c, spec, &m);
    assert_true(m.u.why_reply.fits_ever);
    mlq_proto_msg_free(&m);
    sched_commit(c);
    for (int i = 0; i < 5; i++)
        if (rows(f->path, tables[i]) != before[i])
            fail_msg("a dry run wrote to %s", tables[i]);
    assert_int_equal(mlq_jobtab_count(c->jobs), in_memory);
    assert_int_equal(mlq_queue_count(c->queue), queued);
    char id[MLQ_ID_LEN + 1];
    assert_int_not_equal(mlq_store_idem_get(c->store, "alice", "dry-key", c->now_wall, id, NULL),
                         0);
}

/* Not timed: prints what an estimate costs with 100,000 pending jobs and
 * 1,000 busy workers (docs/architecture.md quotes it). */
static void test_cost_with_long_queue(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    for (int i = 0; i < 1000; i++) {
        char name[16];
        snprintf(name, sizeof name, "w%d", i);
        sched_worker_up(c, name, 2);
    }
    for (int i = 0; i < 1000; i++) {
        struct mlq_job *j = submit(c, 2, (10 + i % 50) * MIN);
        (void)j;
    }
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    sched_commit(c);
    for (int i = 0; i < 100000; i++) { /* in memory only: the queue is what counts */
        struct mlq_store_job row = {.state = MLQ_JOB_PENDING, .seq = 1000000 + i};
        row.spec = sched_spec(i % 7 ? "alice" : "bob", 1000 * (1 + i % 4), 1 + i % 2);
        row.spec.time_limit_ms = (5 + i % 30) * MIN;
        mlq_id_new(row.id);
        row.submit_ms = c->now_wall;
        struct mlq_job *j = mlq_jobtab_add(c->jobs, &row);
        assert_non_null(j);
        j->qkey = row.submit_ms;
        assert_int_equal(mlq_queue_add(c->queue, j, c->now_wall), 0);
    }
    struct timespec a, b;
    struct mlq_msg m;
    clock_gettime(CLOCK_MONOTONIC, &a);
    dry_run_gpus(c, 1, MIN, &m);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    printf("estimate with %u pending jobs ahead and 1000 busy workers: %.1f ms (%s)\n",
           m.u.why_reply.ahead, ms, m.u.why_reply.est_kind);
    assert_int_equal(m.u.why_reply.ahead, 100000);
    assert_string_equal(m.u.why_reply.est_kind, "not_before");
    assert_non_null(strstr(m.u.why_reply.est_why, "later than"));
    mlq_proto_msg_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_latest_behind_limited_jobs, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_starts_now, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_unknown_without_limit, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_not_before_behind_queue, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_never_fits, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_dry_run_stores_nothing, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_cost_with_long_queue, setup, sched_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
