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
    m.u.why.job = "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f/12345678";
    expect_msg_reject(&m, "'job' is longer than 44 bytes");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worker_admin_rejects),
        cmocka_unit_test(test_reject_backup_path),
        cmocka_unit_test(test_reject_why),
        cmocka_unit_test(test_reject_job_spec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
