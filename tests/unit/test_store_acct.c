/* store, usage reports (schema v12): known attempts give known figures
 * (allocated CPU and GPU time, runs by outcome, queue waits, the idle part
 * of measured GPU time), grouped each way, one user's only when asked; the
 * window picks attempts by their end; a share of one GPU counts its
 * fraction; and retention folds what it prunes into usage_daily so that
 * every report over the period stays the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protousage.h"
#include "store_fixture.h"

#define H   3600000LL /* one hour in ms */
#define DAY (24 * H)
#define T0  (100 * DAY) /* the day the jobs ran, at midnight UTC */

struct fix {
    struct store_fx fx; /* first: the fixture's state is this */
    struct mlq_store_old_job jobs[8];
    unsigned njobs;
};

static char *k_argv[] = {"/bin/true"};

static int setup(void **state)
{
    return store_fx_open(state, "acct", sizeof(struct fix));
}

/* What a job is, for these tests. */
struct jobdef {
    const char *owner, *team, *project, *pool, *gpu_type;
    int64_t cpus_m;
    int32_t gpus;
    int64_t submit_ms;
    int32_t gpu_frac; /* a share of one GPU, in hundredths (gpus 0) */
};

/* One attempt: how it ended, when, and the GPU utilisation measured (-1:
 * none). */
struct rundef {
    enum mlq_attempt_state state;
    int64_t start_ms, end_ms;
    int32_t util;
};

static void add_job(struct fix *f, const struct jobdef *d, const struct rundef *runs, int nruns)
{
    struct mlq_store_job j;
    struct mlq_err err = {0};
    unsigned n = ++f->njobs;
    memset(&j, 0, sizeof j);
    snprintf(j.id, sizeof j.id, "%08x-0000-4000-8000-%012x", n, n);
    j.spec = (struct mlq_jobspec){.owner = (char *)d->owner,
                                  .team = (char *)d->team,
                                  .project = (char *)d->project,
                                  .pool = (char *)d->pool,
                                  .gpu_type = (char *)d->gpu_type,
                                  .argv = k_argv,
                                  .argc = 1,
                                  .cpus_m = d->cpus_m,
                                  .mem = 1 << 20,
                                  .gpus = d->gpus,
                                  .gpu_frac = d->gpu_frac};
    j.exit_code = -1;
    j.submit_ms = d->submit_ms;
    assert_int_equal(mlq_store_job_insert(f->fx.st, &j, &err), 0);
    for (int i = 0; i < nruns; i++) {
        struct mlq_store_attempt a;
        memset(&a, 0, sizeof a);
        snprintf(a.id, sizeof a.id, "%08x-1111-4000-8000-%012x", n, (unsigned)i);
        snprintf(a.job_id, sizeof a.job_id, "%s", j.id);
        a.num = i + 1;
        snprintf(a.worker, sizeof a.worker, "w1");
        a.state = runs[i].state;
        a.assigned_ms = runs[i].start_ms;
        a.start_ms = runs[i].start_ms;
        a.end_ms = runs[i].end_ms;
        a.exit_code = -1;
        a.gpu_h = d->gpu_frac > 0 ? d->gpu_frac : d->gpus * 100; /* as dispatch records it */
        mlq_usage_clear(&a.usage);
        if (runs[i].util >= 0) {
            snprintf(a.usage.source, sizeof a.usage.source, "proc");
            a.usage.gpu_util = runs[i].util;
        }
        assert_int_equal(mlq_store_attempt_save(f->fx.st, &a, -1, false, &err), 0);
    }
    j.state = MLQ_JOB_SUCCEEDED;
    j.end_ms = runs[nruns - 1].end_ms;
    assert_int_equal(mlq_store_job_save(f->fx.st, &j, MLQ_JOB_PENDING, &err), 0);
    f->jobs[n - 1] = (struct mlq_store_old_job){.seq = j.seq};
    memcpy(f->jobs[n - 1].id, j.id, sizeof j.id);
}

/* gina (team g): a gang of 2 nodes with 1 CPU each, for 1 h: counts twice. */
static void add_gang(struct fix *f)
{
    struct mlq_err err = {0};
    add_job(f, &(struct jobdef){"gina", "g", NULL, NULL, NULL, 1000, 0, T0},
            (struct rundef[]){{MLQ_ATT_SUCCEEDED, T0, T0 + H, -1}}, 1);
    unsigned n = f->njobs;
    for (int rank = 0; rank < 2; rank++) {
        struct mlq_store_part p;
        memset(&p, 0, sizeof p);
        snprintf(p.a.id, sizeof p.a.id, "%08x-2222-4000-8000-%012x", n, (unsigned)rank);
        snprintf(p.a.job_id, sizeof p.a.job_id, "%08x-0000-4000-8000-%012x", n, n);
        snprintf(p.attempt_id, sizeof p.attempt_id, "%08x-1111-4000-8000-%012x", n, 0u);
        snprintf(p.a.worker, sizeof p.a.worker, "w%d", rank);
        p.a.num = 1;
        p.a.state = MLQ_ATT_SUCCEEDED;
        p.a.start_ms = T0;
        p.a.end_ms = T0 + H;
        p.a.exit_code = 0;
        p.rank = rank;
        assert_int_equal(mlq_store_part_save(f->fx.st, &p, &err), 0);
    }
}

/* alice (ml, h100): 2 CPUs + 1 GPU for 1 h, 25% busy, waited 10 s.
 * bob (ml): 0.5 CPU for 2 h, failed, waited 5 s.
 * carol (no team, no project): 1 CPU, lost after 1000 s, then 30 min
 * succeeded; only the first attempt's wait counts (start - submit = 1 s).
 * dave: ended before the window. */
static void add_sample(struct fix *f)
{
    add_job(f, &(struct jobdef){"alice", "ml", "p1", NULL, "h100", 2000, 1, T0},
            (struct rundef[]){{MLQ_ATT_SUCCEEDED, T0 + 10000, T0 + 10000 + H, 25}}, 1);
    add_job(f, &(struct jobdef){"bob", "ml", "p2", "cpu", NULL, 500, 0, T0},
            (struct rundef[]){{MLQ_ATT_FAILED, T0 + 5000, T0 + 5000 + 2 * H, -1}}, 1);
    add_job(f, &(struct jobdef){"carol", NULL, NULL, NULL, NULL, 1000, 0, T0},
            (struct rundef[]){{MLQ_ATT_LOST, T0 + 1000, T0 + 1001000, -1},
                              {MLQ_ATT_SUCCEEDED, T0 + 2000000, T0 + 2000000 + H / 2, -1}},
            2);
    add_gang(f);
    add_job(f, &(struct jobdef){"dave", "ml", NULL, NULL, NULL, 1000, 0, T0 - 3 * DAY},
            (struct rundef[]){{MLQ_ATT_TIMED_OUT, T0 - 3 * DAY, T0 - 2 * DAY, -1}}, 1);
}

static void report(struct fix *f, enum mlq_acct_by by, const char *only, int64_t since,
                   int64_t until, struct mlq_acctrow **rows, uint32_t *n)
{
    struct mlq_err err = {0};
    struct mlq_acct_query q = {.since_ms = since, .until_ms = until, .by = by};
    snprintf(q.only_user, sizeof q.only_user, "%s", only ? only : "");
    if (mlq_store_acct_report(f->fx.st, &q, rows, n, &err) != 0)
        fail_msg("report: %s", err.msg);
    /* the same from a connection of its own, as the report thread runs it */
    struct mlq_acctrow *again = NULL;
    uint32_t m = 0;
    if (mlq_store_acct_report_file(f->fx.path, &q, &again, &m, &err) != 0)
        fail_msg("report from the file: %s", err.msg);
    assert_int_equal(m, *n);
    if (m > 0)
        assert_memory_equal(again, *rows, m * sizeof *again);
    free(again);
}

static const struct mlq_acctrow *row(const struct mlq_acctrow *r, uint32_t n, const char *key)
{
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(r[i].key, key) == 0)
            return &r[i];
    fail_msg("no group \"%s\"", key);
    return NULL;
}

static void test_figures(void **state)
{
    struct fix *f = *state;
    add_sample(f);
    struct mlq_acctrow *r;
    uint32_t n;
    report(f, MLQ_ACCT_BY_TEAM, NULL, T0 - DAY, T0 + DAY, &r, &n);
    assert_int_equal(n, 3);                       /* "" (carol), g and ml; dave ended before */
    assert_true(row(r, n, "g")->cpu_ms == 2 * H); /* each node of the gang */
    const struct mlq_acctrow *ml = row(r, n, "ml"), *none = row(r, n, "");
    assert_true(ml->cpu_ms == 2 * H + H); /* 2 CPUs x 1 h + 0.5 x 2 h */
    assert_true(ml->gpu_ms == H);
    assert_true(ml->gpu_known_ms == H);
    assert_true(ml->gpu_idle_ms == 3 * H / 4);
    assert_true(ml->runs[MLQ_ACCT_SUCCEEDED] == 1 && ml->runs[MLQ_ACCT_FAILED] == 1);
    assert_true(ml->runs[MLQ_ACCT_TIMED_OUT] == 0);
    assert_true(ml->wait_ms == 15000 && ml->n_waits == 2);
    assert_true(none->cpu_ms == 1000000 + H / 2); /* the lost run counts too */
    assert_true(none->runs[MLQ_ACCT_LOST] == 1 && none->runs[MLQ_ACCT_SUCCEEDED] == 1);
    assert_true(none->wait_ms == 1000 && none->n_waits == 1);
    assert_true(none->gpu_ms == 0 && none->gpu_known_ms == 0);
    free(r);

    report(f, MLQ_ACCT_BY_GPU_TYPE, NULL, T0 - DAY, T0 + DAY, &r, &n);
    assert_int_equal(n, 2);
    assert_true(row(r, n, "h100")->gpu_ms == H);
    free(r);
    report(f, MLQ_ACCT_BY_POOL, NULL, T0 - DAY, T0 + DAY, &r, &n);
    assert_true(row(r, n, "cpu")->cpu_ms == H);
    assert_true(row(r, n, "default")->cpu_ms == 2 * H + 1000000 + H / 2 + 2 * H); /* + gina */
    free(r);
    report(f, MLQ_ACCT_BY_PROJECT, NULL, T0 - DAY, T0 + DAY, &r, &n);
    assert_int_equal(n, 3); /* "", p1, p2 */
    assert_true(row(r, n, "p2")->runs[MLQ_ACCT_FAILED] == 1);
    free(r);

    /* one user's own: bob sees his line only */
    report(f, MLQ_ACCT_BY_USER, "bob", T0 - DAY, T0 + DAY, &r, &n);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].key, "bob");
    free(r);
    /* the window picks runs by their end: dave's alone */
    report(f, MLQ_ACCT_BY_USER, NULL, T0 - 4 * DAY, T0 - DAY, &r, &n);
    assert_int_equal(n, 1);
    assert_string_equal(r[0].key, "dave");
    assert_true(r[0].runs[MLQ_ACCT_TIMED_OUT] == 1 && r[0].cpu_ms == DAY);
    free(r);
}

static void test_rejects(void **state)
{
    struct fix *f = *state;
    struct mlq_acctrow *r = NULL;
    uint32_t n = 0;
    struct mlq_err err = {0};
    struct mlq_acct_query q = {.since_ms = 10, .until_ms = 10};
    assert_int_equal(mlq_store_acct_report(f->fx.st, &q, &r, &n, &err), MLQ_EINVAL);
    q = (struct mlq_acct_query){.since_ms = 0, .until_ms = 10, .by = MLQ_ACCT_BY_COUNT};
    assert_int_equal(mlq_store_acct_report(f->fx.st, &q, &r, &n, &err), MLQ_EINVAL);
    assert_null(r);
}

static void assert_same(const struct mlq_acctrow *a, uint32_t na, const struct mlq_acctrow *b,
                        uint32_t nb)
{
    assert_int_equal(na, nb);
    for (uint32_t i = 0; i < na; i++)
        assert_memory_equal(&a[i], &b[i], sizeof a[i]);
}

/* Every grouping over whole days is the same before and after all jobs are
 * pruned; the attempts are gone and usage_daily holds them. */
static void test_fold(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    add_sample(f);
    struct mlq_acctrow *before[MLQ_ACCT_BY_COUNT], *after;
    uint32_t nb[MLQ_ACCT_BY_COUNT], na;
    for (int by = 0; by < MLQ_ACCT_BY_COUNT; by++)
        report(f, (enum mlq_acct_by)by, NULL, T0 - 4 * DAY, T0 + DAY, &before[by], &nb[by]);
    assert_int_equal(mlq_store_begin(f->fx.st, &err), 0);
    for (unsigned i = 0; i < f->njobs; i++)
        assert_int_equal(mlq_store_job_delete(f->fx.st, &f->jobs[i], NULL, NULL, &err), 0);
    assert_int_equal(mlq_store_commit(f->fx.st, &err), 0);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->fx.db,
                                        "SELECT (SELECT count(*) FROM attempts),"
                                        " (SELECT count(*) FROM usage_daily)",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(s, 0), 0);
    assert_int_equal(sqlite3_column_int(s, 1), 5); /* one per user and day */
    sqlite3_finalize(s);
    for (int by = 0; by < MLQ_ACCT_BY_COUNT; by++) {
        report(f, (enum mlq_acct_by)by, NULL, T0 - 4 * DAY, T0 + DAY, &after, &na);
        assert_same(before[by], nb[by], after, na);
        free(after);
        free(before[by]);
    }
    /* and a user's own view of folded days */
    report(f, MLQ_ACCT_BY_USER, "alice", T0, T0 + DAY, &after, &na);
    assert_int_equal(na, 1);
    assert_true(after[0].gpu_idle_ms == 3 * H / 4);
    free(after);
}

/* erin: half of one a100 for 2 h, 50% busy: 1 GPU-hour, half of it idle,
 * grouped under its GPU type; frank: a whole a100 for 2 h: 2 GPU-hours.
 * The same after retention folds them. */
static void test_gpu_share(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    add_job(f, &(struct jobdef){"erin", NULL, NULL, NULL, "a100", 1000, 0, T0, 50},
            (struct rundef[]){{MLQ_ATT_SUCCEEDED, T0, T0 + 2 * H, 50}}, 1);
    add_job(f, &(struct jobdef){"frank", NULL, NULL, NULL, "a100", 1000, 1, T0},
            (struct rundef[]){{MLQ_ATT_SUCCEEDED, T0, T0 + 2 * H, -1}}, 1);
    struct mlq_acctrow *r;
    uint32_t n;
    for (int pruned = 0; pruned < 2; pruned++) {
        report(f, MLQ_ACCT_BY_USER, NULL, T0, T0 + DAY, &r, &n);
        assert_int_equal(n, 2);
        const struct mlq_acctrow *erin = row(r, n, "erin"), *frank = row(r, n, "frank");
        assert_true(erin->gpu_ms == H);
        assert_true(erin->gpu_known_ms == H && erin->gpu_idle_ms == H / 2);
        assert_true(frank->gpu_ms == 2 * H);
        free(r);
        report(f, MLQ_ACCT_BY_GPU_TYPE, NULL, T0, T0 + DAY, &r, &n);
        assert_int_equal(n, 1);
        assert_true(row(r, n, "a100")->gpu_ms == 3 * H);
        free(r);
        assert_int_equal(mlq_store_begin(f->fx.st, &err), 0); /* retention prunes both */
        for (unsigned i = 0; i < f->njobs; i++)
            assert_int_equal(mlq_store_job_delete(f->fx.st, &f->jobs[i], NULL, NULL, &err), 0);
        assert_int_equal(mlq_store_commit(f->fx.st, &err), 0);
        f->njobs = 0;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_figures, setup, store_fx_close),
        cmocka_unit_test_setup_teardown(test_rejects, setup, store_fx_close),
        cmocka_unit_test_setup_teardown(test_fold, setup, store_fx_close),
        cmocka_unit_test_setup_teardown(test_gpu_share, setup, store_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
