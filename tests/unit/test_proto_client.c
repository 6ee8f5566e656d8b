/* Unit tests for common/protoclient and the admin messages through
 * common/proto: a client's requests refused when out of bounds (why,
 * backup, worker_set and the worker_summary reply). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jobstate.h"
#include "mpk.h"
#include "proto.h"
#include "proto_fixture.h"
#include "proto_sample.h"
#include "protousage.h"

/* A backup path is absolute, printable and names no "." or ".." step. */
static void test_reject_backup_path(void **state)
{
    (void)state;
    static const char *const bad[] = {"relative/x.db", "/",   "/a/../etc/x.db", "/a/./x.db",
                                      "/a//x.db",      "/a/", "/a/x\ty.db"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct mlq_msg m = {.type = MLQ_MSG_BACKUP, .rid = 1};
        m.u.backup.path = (char *)bad[i];
        expect_msg_reject(&m, "key 'path'");
    }
}

static void test_reject_why(void **state)
{
    (void)state;
    struct mlq_msg m;
    fill_sample(MLQ_MSG_WHY, &m);
    m.u.why.job = "";
    expect_msg_reject(&m, "why: key 'job' must not be empty");
    /* a job name may stand for the id: as long as a name, no longer */
    char longref[MLQ_MAX_JOBREF + 2];
    memset(longref, 'n', sizeof longref - 1);
    longref[sizeof longref - 1] = '\0';
    m.u.why.job = longref;
    expect_msg_reject(&m, "'job' is longer than 128 bytes");
    fill_sample(MLQ_MSG_WHY_REPLY, &m);
    m.u.why_reply.blocker = NULL;
    expect_msg_reject(&m, "why_reply: key 'blocker'");
    fill_sample(MLQ_MSG_WHY_REPLY, &m);
    m.u.why_reply.text = NULL;
    expect_msg_reject(&m, "why_reply: key 'text'");
    fill_sample(MLQ_MSG_WHY_REPLY, &m);
    m.u.why_reply.state = MLQ_JOB_STATE_COUNT;
    expect_msg_reject(&m, "'state' has an unknown value");
    fill_sample(MLQ_MSG_WHY_REPLY, &m);
    strcpy(m.u.why_reply.job_id, "0b8e7c1e");
    expect_msg_reject(&m, "'job_id' is not a full lower-case id");

    struct mlq_mpk_out o; /* ahead is a uint32 */
    raw_begin(&o, 10, "why_reply");
    mlq_mpk_kv_str(&o.pk, "job_id", ID1);
    mlq_mpk_kv_str(&o.pk, "state", "PENDING");
    mlq_mpk_kv_str(&o.pk, "blocker", "priority");
    mlq_mpk_kv_str(&o.pk, "text", "t");
    mlq_mpk_kv_str(&o.pk, "closest_worker", NULL);
    mlq_mpk_kv_str(&o.pk, "lacks", NULL);
    mlq_mpk_kv_uint(&o.pk, "ahead", (uint64_t)UINT32_MAX + 1);
    raw_reject(&o, "'ahead' is above 4294967295");

    char long_kind[MLQ_MAX_NAME + 2];
    memset(long_kind, 'k', sizeof long_kind - 1);
    long_kind[sizeof long_kind - 1] = '\0';
    fill_sample(MLQ_MSG_WHY_REPLY, &m);
    m.u.why_reply.est_kind = long_kind; /* no scheduler sends one: refused whole */
    expect_msg_reject(&m, "'est_kind' is longer");
}

/* A why_reply from a scheduler that predates start estimates (no estimate
 * keys) reads as no estimate. */
static void test_why_reply_without_estimate(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    struct mlq_msg m;
    struct mlq_err err = {0};
    raw_begin(&o, 10, "why_reply");
    mlq_mpk_kv_str(&o.pk, "job_id", ID1);
    mlq_mpk_kv_str(&o.pk, "state", "PENDING");
    mlq_mpk_kv_str(&o.pk, "blocker", "priority");
    mlq_mpk_kv_str(&o.pk, "text", "t");
    mlq_mpk_kv_str(&o.pk, "closest_worker", NULL);
    mlq_mpk_kv_str(&o.pk, "lacks", NULL);
    mlq_mpk_kv_uint(&o.pk, "ahead", 3);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    assert_int_equal(m.u.why_reply.ahead, 3);
    assert_false(m.u.why_reply.fits_ever);
    assert_null(m.u.why_reply.start_worker);
    assert_null(m.u.why_reply.est_kind);
    assert_int_equal(m.u.why_reply.est_at_ms, 0);
    mlq_proto_msg_free(&m);
}

/* job_spec names a job; its reply's is_array agrees with the spec. */
static void test_reject_job_spec(void **state)
{
    (void)state;
    struct mlq_msg m;
    fill_sample(MLQ_MSG_JOB_SPEC, &m);
    m.u.why.job = "";
    expect_msg_reject(&m, "job_spec: key 'job' must not be empty");
    fill_sample(MLQ_MSG_JOB_SPEC_REPLY, &m);
    m.u.job_spec_reply.spec.array = NULL;
    expect_msg_reject(&m, "an array's spec without 'array'");
    fill_sample(MLQ_MSG_JOB_SPEC_REPLY, &m);
    m.u.job_spec_reply.spec.image = "docker-archive:/etc/shadow";
    expect_msg_reject(&m, "transport");
}

/* worker_set and worker_summary_list: values out of range are refused
 * whole. */
static void test_worker_admin_rejects(void **state)
{
    (void)state;
    struct mlq_msg m;
    static char *bad_label[] = {"no label"};
    fill_sample(MLQ_MSG_WORKER_SET, &m);
    m.u.worker_set.worker = "";
    expect_msg_reject(&m, "worker");
    fill_sample(MLQ_MSG_WORKER_SET, &m);
    m.u.worker_set.gpus = -1; /* a type cap needs a count */
    expect_msg_reject(&m, "gpu_type");
    fill_sample(MLQ_MSG_WORKER_SET, &m);
    m.u.worker_set.gpus = -2;
    expect_msg_reject(&m, "gpus");
    fill_sample(MLQ_MSG_WORKER_SET, &m);
    m.u.worker_set.gpus = MLQ_MAX_GPUS + 1;
    expect_msg_reject(&m, "gpus");
    fill_sample(MLQ_MSG_WORKER_SET, &m);
    m.u.worker_set.cpus_m = MLQ_MAX_CPUS_M + 1;
    expect_msg_reject(&m, "cpus_m");
    fill_sample(MLQ_MSG_WORKER_SET, &m);
    m.u.worker_set.labels = bad_label;
    m.u.worker_set.nlabels = 1;
    expect_msg_reject(&m, "labels");
    fill_sample(MLQ_MSG_WORKER_SET, &m);
    m.u.worker_set.pool = "a/b";
    expect_msg_reject(&m, "pool");
    fill_sample(MLQ_MSG_WORKER_SET, &m);
    m.u.worker_set.gpu_type = "H100";
    expect_msg_reject(&m, "gpu_type");
    struct mlq_gpusum more_free[] = {{"a100", 9, 8}};
    struct mlq_poolsum pools[] = {{"gpu", 1, 0, 0, 0, 1000, 1000, 1, 1, more_free, 1}};
    fill_sample(MLQ_MSG_WORKER_SUMMARY_LIST, &m);
    m.u.worker_summary.pools = pools;
    m.u.worker_summary.npools = 1;
    expect_msg_reject(&m, "free");
    more_free[0].free = 8;
    pools[0].cpus_free_m = 2000; /* more free than in all */
    expect_msg_reject(&m, "free");
}

/* Only submit_many and its reply may be larger than MLQ_MAX_MSG. */
static void test_only_bulk_may_be_large(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    size_t pad = MLQ_MAX_MSG + 1024;
    char *zeros = calloc(1, pad);
    assert_non_null(zeros);
    raw_begin(&o, 4, "ok");
    mlq_mpk_kv_bin(&o.pk, "pad", zeros, pad);
    raw_reject(&o, "exceeds");
    free(zeros);

    uint32_t n = 20000; /* far over 4 MiB encoded */
    struct mlq_jobspec *specs = calloc(n, sizeof *specs);
    assert_non_null(specs);
    for (uint32_t i = 0; i < n; i++) {
        fill_spec(&specs[i]);
        specs[i].array = NULL;
        specs[i].idempotency_key = NULL;
    }
    struct mlq_msg m = {.type = MLQ_MSG_SUBMIT_MANY, .rid = 9}, got;
    m.u.submit_many.specs = specs;
    m.u.submit_many.nspecs = n;
    char *buf;
    size_t len;
    encode_ok(&m, &buf, &len);
    assert_true(len > MLQ_MAX_MSG);
    struct mlq_err err = {0};
    assert_int_equal(mlq_proto_decode(buf, len, &got, &err), 0);
    assert_int_equal(got.u.submit_many.nspecs, n);
    assert_spec_eq(&specs[n - 1], &got.u.submit_many.specs[n - 1]);
    mlq_proto_msg_free(&got);
    free(buf);
    free(specs);
}

/* submit_many's specs go lean (no optional key at its default) unless
 * full_specs asks for every key, for a scheduler that predates lean specs;
 * both decode to the same spec. */
static void test_submit_many_lean_specs(void **state)
{
    (void)state;
    char *argv[] = {"python3", "score.py", "7"};
    struct mlq_jobspec spec = {.name = "score-7",
                               .owner = "alice",
                               .argv = argv,
                               .argc = 3,
                               .workdir = "/work",
                               .cpus_m = 1000,
                               .mem = 1LL << 31};
    struct mlq_msg m = {.type = MLQ_MSG_SUBMIT_MANY, .rid = 9}, got;
    m.u.submit_many.specs = &spec;
    m.u.submit_many.nspecs = 1;
    char *buf[2];
    size_t len[2];
    for (int full = 0; full < 2; full++) {
        m.u.submit_many.full_specs = full;
        encode_ok(&m, &buf[full], &len[full]);
        struct mlq_err err = {0};
        assert_int_equal(mlq_proto_decode(buf[full], len[full], &got, &err), 0);
        assert_int_equal(got.u.submit_many.nspecs, 1);
        assert_spec_eq(&spec, &got.u.submit_many.specs[0]);
        assert_false(got.u.submit_many.full_specs); /* not on the wire */
        mlq_proto_msg_free(&got);
    }
    assert_true(len[0] * 2 < len[1]);
    assert_null(memmem(buf[0], len[0], "max_running", 11));
    assert_non_null(memmem(buf[1], len[1], "max_running", 11));
    free(buf[0]);
    free(buf[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worker_admin_rejects),
        cmocka_unit_test(test_only_bulk_may_be_large),
        cmocka_unit_test(test_submit_many_lean_specs),
        cmocka_unit_test(test_reject_backup_path),
        cmocka_unit_test(test_reject_why),
        cmocka_unit_test(test_why_reply_without_estimate),
        cmocka_unit_test(test_reject_job_spec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
