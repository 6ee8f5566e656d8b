/* Unit tests for common/protoagent and common/protoworkerinfo through
 * common/proto: what a worker and the scheduler exchange (goodbye, usage in
 * a report, log uploads and chunks, GPU load in a heartbeat) and the worker
 * and GPU descriptions of register and worker_list, refused when out of
 * bounds. */
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

/* A batch holds 1..MLQ_MAX_BATCH non-empty encoded bodies; each decodes on
 * its own, and one that is itself a batch is refused. */
static void test_batch(void **state)
{
    (void)state;
    struct mlq_msg m, one;
    struct mlq_err err = {0};
    fill_sample(MLQ_MSG_BATCH, &m);
    roundtrip(&m);
    char *buf;
    size_t len;
    encode_ok(&m, &buf, &len);
    struct mlq_msg b;
    assert_int_equal(mlq_proto_decode(buf, len, &b, &err), 0);
    assert_int_equal(mlq_proto_batch_item(&b, 1, &one, &err), 0);
    assert_int_equal(one.type, MLQ_MSG_HB_ACK);
    assert_true(one.rid == 6);
    mlq_proto_msg_free(&one);
    assert_int_equal(mlq_proto_batch_item(&b, 2, &one, &err), MLQ_EINVAL);
    mlq_proto_msg_free(&b);

    /* a batch inside a batch decodes as a batch, but is no entry */
    struct mlq_msg outer = {.type = MLQ_MSG_BATCH};
    const char *bodies[] = {buf};
    outer.u.batch.bodies = bodies;
    outer.u.batch.lens = &len;
    outer.u.batch.n = 1;
    char *obuf;
    size_t olen;
    encode_ok(&outer, &obuf, &olen);
    assert_int_equal(mlq_proto_decode(obuf, olen, &b, &err), 0);
    assert_int_equal(mlq_proto_batch_item(&b, 0, &one, &err), MLQ_EPROTO);
    assert_non_null(strstr(err.msg, "itself a batch"));
    assert_int_equal(one.type, 0);
    mlq_proto_msg_free(&b);
    free(obuf);
    free(buf);

    struct mlq_mpk_out o;
    raw_begin(&o, 4, "batch");
    mlq_mpk_kv_array(&o.pk, "msgs", 0);
    raw_reject(&o, "'msgs'");
    raw_begin(&o, 4, "batch");
    mlq_mpk_kv_array(&o.pk, "msgs", 1);
    mlq_mpk_put_str(&o.pk, "not bin");
    raw_reject(&o, "binary strings");
    raw_begin(&o, 4, "batch");
    mlq_mpk_kv_array(&o.pk, "msgs", 1);
    msgpack_pack_bin(&o.pk, 0);
    raw_reject(&o, "non-empty");
    raw_begin(&o, 4, "batch");
    mlq_mpk_kv_array(&o.pk, "msgs", MLQ_MAX_BATCH + 1);
    for (int i = 0; i <= MLQ_MAX_BATCH; i++) {
        msgpack_pack_bin(&o.pk, 1);
        msgpack_pack_bin_body(&o.pk, "x", 1);
    }
    raw_reject(&o, "'msgs'");
}

/* A worker's batch is held to MLQ_MAX_BATCH_BYTES of bodies, the bound the
 * senders split at; exactly that much is accepted. */
static void test_batch_bytes(void **state)
{
    (void)state;
    size_t half = MLQ_MAX_BATCH_BYTES / 2;
    char *big = malloc(half + 1);
    assert_non_null(big);
    memset(big, 'x', half + 1);
    struct mlq_mpk_out o;
    raw_begin(&o, 4, "batch");
    mlq_mpk_kv_array(&o.pk, "msgs", 2);
    for (int i = 0; i < 2; i++) {
        msgpack_pack_bin(&o.pk, half + (size_t)i);
        msgpack_pack_bin_body(&o.pk, big, half + (size_t)i);
    }
    raw_reject(&o, "exceed");
    raw_begin(&o, 4, "batch");
    mlq_mpk_kv_array(&o.pk, "msgs", 2);
    for (int i = 0; i < 2; i++) {
        msgpack_pack_bin(&o.pk, half);
        msgpack_pack_bin_body(&o.pk, big, half);
    }
    struct mlq_msg m;
    struct mlq_err err = {0};
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    assert_int_equal(m.u.batch.n, 2);
    mlq_proto_msg_free(&m);
    free(big);
}

/* registered's batch key: true when the scheduler reads batches; an older
 * scheduler sends none, which reads as false (one message each). */
static void test_registered_batch(void **state)
{
    (void)state;
    struct mlq_msg m;
    fill_sample(MLQ_MSG_REGISTERED, &m);
    assert_true(m.u.registered.batch);
    roundtrip(&m);
    struct mlq_mpk_out o;
    struct mlq_err err = {0};
    raw_begin(&o, 5, "registered");
    mlq_mpk_kv_int(&o.pk, "heartbeat_ms", 1000);
    mlq_mpk_kv_int(&o.pk, "lease_ms", 30000);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    assert_false(m.u.registered.batch);
    mlq_proto_msg_free(&m);
    raw_begin(&o, 6, "registered");
    mlq_mpk_kv_int(&o.pk, "heartbeat_ms", 1000);
    mlq_mpk_kv_int(&o.pk, "lease_ms", 30000);
    mlq_mpk_kv_bool(&o.pk, "batch", true);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    assert_true(m.u.registered.batch);
    mlq_proto_msg_free(&m);
}

/* A goodbye names its worker; the name may not be empty. */
static void test_goodbye(void **state)
{
    (void)state;
    struct mlq_msg m;
    fill_sample(MLQ_MSG_GOODBYE, &m);
    m.u.goodbye.drained = false;
    roundtrip(&m);
    assert_string_equal(mlq_proto_type_name(MLQ_MSG_GOODBYE), "goodbye");
    m.u.goodbye.name = "";
    expect_msg_reject(&m, "'name' must not be empty");
}

/* The report's and the attemptinfo's optional usage: partial usage
 * round-trips with the rest unknown, none at all reads as cleared, and
 * values out of range or an unknown source are refused. */
static void test_usage(void **state)
{
    (void)state;
    struct mlq_msg m;
    fill_sample(MLQ_MSG_REPORT, &m);
    m.u.report.usage = (struct mlq_usage){.mem_peak = -1,
                                          .cpu_us = 5,
                                          .wall_ms = -1,
                                          .gpu_mem_peak = -1,
                                          .gpu_util = -1,
                                          .source = "proc"};
    roundtrip(&m);
    memset(&m.u.report.usage, 0, sizeof m.u.report.usage); /* an older worker: no usage */
    roundtrip(&m);
    m.u.report.usage = (struct mlq_usage){.mem_peak = 1,
                                          .cpu_us = 1,
                                          .wall_ms = 1,
                                          .gpu_mem_peak = 1,
                                          .gpu_util = 101,
                                          .source = "proc"};
    expect_msg_reject(&m, "'gpu_util'");
    m.u.report.usage.gpu_util = 50;
    snprintf(m.u.report.usage.source, sizeof m.u.report.usage.source, "guess");
    expect_msg_reject(&m, "unknown 'guess'");
    snprintf(m.u.report.usage.source, sizeof m.u.report.usage.source, "cgroup1");
    m.u.report.usage.mem_peak = MLQ_MAX_MEM + 1;
    expect_msg_reject(&m, "'mem_peak'");
    fill_sample(MLQ_MSG_REGISTER, &m);
    m.u.reg.limits = "enforce/v3";
    expect_msg_reject(&m, "unknown 'enforce/v3'");
    m.u.reg.limits = NULL; /* an older worker says nothing */
    roundtrip(&m);
    char text[256];
    struct mlq_usage u = sample_attempts[0].usage;
    mlq_usage_format(&u, 34359738368LL, 4000, text, sizeof text);
    assert_string_equal(text, "mem: asked 32G, peak 3.1G; cpu: asked 4, used 2.3 cpu-h over "
                              "36 min; gpu: mem peak 10G, util 85%");
    mlq_usage_clear(&u);
    mlq_usage_format(&u, 0, 0, text, sizeof text);
    assert_string_equal(text, "");
}

static void test_reject_upload(void **state)
{
    (void)state;
    struct mlq_msg m;
    uint8_t *data = calloc(1, MLQ_MAX_LOG_CHUNK + 1);
    assert_non_null(data);
    fill_sample(MLQ_MSG_LOG_UPLOAD, &m);
    m.u.log_upload.data = data;
    m.u.log_upload.len = MLQ_MAX_LOG_CHUNK + 1;
    expect_msg_reject(&m, "'data' is longer than 1048576 bytes");
    m.u.log_upload.len = MLQ_MAX_LOG_CHUNK;
    roundtrip(&m);
    m.u.log_upload.len = 0; /* an empty stream is one empty chunk with eof */
    m.u.log_upload.data = NULL;
    roundtrip(&m);
    free(data);
    fill_sample(MLQ_MSG_LOG_UPLOAD, &m);
    m.u.log_upload.offset = -1;
    expect_msg_reject(&m, "'offset' out of range");
    fill_sample(MLQ_MSG_LOG_UPLOAD, &m);
    m.u.log_upload.skipped = -1;
    expect_msg_reject(&m, "'skipped' out of range");
    fill_sample(MLQ_MSG_LOG_UPLOAD, &m);
    m.u.log_upload.stream = (enum mlq_stream)2;
    expect_msg_reject(&m, "'stream' has an unknown value");
    fill_sample(MLQ_MSG_LOG_UPLOAD_ACK, &m);
    m.u.log_upload_ack.err = 1; /* errors are negative */
    expect_msg_reject(&m, "'err' out of range");
    fill_sample(MLQ_MSG_LOG_UPLOAD_ACK, &m);
    m.u.log_upload_ack.err = 0;
    roundtrip(&m);

    struct mlq_mpk_out o; /* eof is required in this new message */
    raw_begin(&o, 8, "log_upload");
    mlq_mpk_kv_str(&o.pk, "attempt_id", ID1);
    mlq_mpk_kv_str(&o.pk, "stream", "stdout");
    mlq_mpk_kv_int(&o.pk, "offset", 0);
    mlq_mpk_kv_bin(&o.pk, "data", NULL, 0);
    mlq_mpk_kv_int(&o.pk, "skipped", 0);
    raw_reject(&o, "log_upload: missing key 'eof'");
}

/* GPU lists in register and worker_list. */
static void test_reject_gpu_lists(void **state)
{
    (void)state;
    struct mlq_msg m;
    fill_sample(MLQ_MSG_REGISTER, &m);
    m.u.reg.ngpu_list = 2; /* must describe all 8 GPUs, or none */
    expect_msg_reject(&m, "'gpu_list' has 2 entries for 8 GPUs");
    fill_sample(MLQ_MSG_REGISTER, &m);
    sample_gpu_list[5].index = 63; /* already used by entry 2 */
    expect_msg_reject(&m, "names GPU 63 twice");
    fill_sample(MLQ_MSG_REGISTER, &m);
    sample_gpu_list[3].index = MLQ_MAX_GPUS;
    expect_msg_reject(&m, "gpuinfo: key 'index' out of range");
    fill_sample(MLQ_MSG_REGISTER, &m);
    sample_gpu_list[3].index = -1;
    expect_msg_reject(&m, "gpuinfo: key 'index' out of range");
    fill_sample(MLQ_MSG_REGISTER, &m);
    sample_gpu_list[4].type = NULL; /* a GPU nobody described: allowed */
    roundtrip(&m);
    sample_gpu_list[4].type = "";
    expect_msg_reject(&m, "gpuinfo: key 'type': GPU type is empty");
    fill_sample(MLQ_MSG_REGISTER, &m);
    sample_gpu_list[4].type = "Tesla V100";
    expect_msg_reject(&m, "GPU type may hold only a-z 0-9 _ -");
    fill_sample(MLQ_MSG_REGISTER, &m);
    sample_gpu_list[4].mem = -1;
    expect_msg_reject(&m, "gpuinfo: key 'mem' out of range");
    fill_sample(MLQ_MSG_WORKER_LIST, &m);
    sample_gpu_list[1].job_id = "0b8e7c1e";
    expect_msg_reject(&m, "'job_id' is not a full lower-case id");

    static struct mlq_gpuinfo many[MLQ_MAX_GPUS + 1];
    for (size_t i = 0; i < N(many); i++)
        many[i] = (struct mlq_gpuinfo){.index = (int32_t)(i % MLQ_MAX_GPUS), .type = "fake"};
    fill_sample(MLQ_MSG_WORKER_LIST, &m);
    sample_workers[0].gpu_list = many;
    sample_workers[0].ngpu_list = MLQ_MAX_GPUS + 1;
    expect_msg_reject(&m, "'gpu_list' must have 0..64 entries");
    sample_workers[0].ngpu_list = MLQ_MAX_GPUS; /* 0..63, each once */
    roundtrip(&m);
}

/* The address a worker advertises: an IP or a host name, bounded. */
static void test_reject_worker_addr(void)
{
    struct mlq_msg m;
    char host[MLQ_MAX_HOST + 2];
    fill_sample(MLQ_MSG_REGISTER, &m);
    m.u.reg.addr = "gpu 1";
    expect_msg_reject(&m, "register: key 'addr': 'gpu 1' is neither an IP address nor a host name");
    m.u.reg.addr = "10.0.0.300";
    expect_msg_reject(&m, "register: key 'addr': '10.0.0.300' is not a valid IPv4 address");
    m.u.reg.addr = "";
    expect_msg_reject(&m, "register: key 'addr': empty address");
    memset(host, 'a', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    for (size_t i = 60; i < sizeof host - 1; i += 61)
        host[i] = '.'; /* labels of 60 */
    m.u.reg.addr = host;
    expect_msg_reject(&m, "'addr' is longer than 253 bytes");
    host[MLQ_MAX_HOST] = '\0';
    roundtrip(&m);
    fill_sample(MLQ_MSG_WORKER_LIST, &m);
    host[MLQ_MAX_HOST] = 'a';
    sample_workers[1].addr = host;
    expect_msg_reject(&m, "'addr' is longer than 253 bytes");
    sample_workers[1].addr = NULL;
}

static void test_reject_worker_desc(void **state)
{
    (void)state;
    struct mlq_msg m;
    char *bad_labels[] = {"zone=eu", "no equals"};
    fill_sample(MLQ_MSG_REGISTER, &m);
    m.u.reg.labels = bad_labels;
    m.u.reg.nlabels = 2;
    expect_msg_reject(&m, "register: key 'labels': entry 1 must be KEY=VALUE");
    fill_sample(MLQ_MSG_REGISTER, &m);
    m.u.reg.pool = "my pool";
    expect_msg_reject(&m, "register: key 'pool': pool name may hold only");
    fill_sample(MLQ_MSG_WORKER_LIST, &m);
    sample_workers[1].labels = bad_labels;
    sample_workers[1].nlabels = 2;
    expect_msg_reject(&m, "workerinfo: key 'labels': entry 1");
    char reason[MLQ_MAX_REASON + 2];
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    fill_sample(MLQ_MSG_WORKER_LIST, &m);
    sample_workers[0].drain_reason = reason;
    expect_msg_reject(&m, "'drain_reason' is longer than 255 bytes");
    fill_sample(MLQ_MSG_DRAIN, &m);
    m.u.drain.reason = reason;
    expect_msg_reject(&m, "'reason' is longer than 255 bytes");
    reason[MLQ_MAX_REASON] = '\0';
    roundtrip(&m);
    m.u.drain.reason = "line one\nline two";
    expect_msg_reject(&m, "drain: key 'reason' holds control characters");
    m.u.drain.reason = "\x1b[2J";
    expect_msg_reject(&m, "control characters");
    m.u.drain.reason = NULL;
    m.u.drain.worker = "";
    expect_msg_reject(&m, "drain: key 'worker' must not be empty");
    fill_sample(MLQ_MSG_RESUME, &m);
    m.u.drain.worker = NULL;
    expect_msg_reject(&m, "resume: key 'worker'");
    test_reject_worker_addr();
}

/* The heartbeat's GPU load: bounded like everything a worker says; absent
 * (an older worker, or no NVML) is no load at all. */
static void test_gpu_load(void **state)
{
    (void)state;
    struct mlq_gpuload v[3];
    struct mlq_msg m;
    const struct {
        int k;
        struct mlq_gpuload g;
        const char *why;
    } bad[] = {
        {0, {.index = 1, .util = 101}, "key 'util' out of range"},
        {0, {.index = 1, .util = -1}, "key 'util' out of range"},
        {1, {.index = MLQ_MAX_GPUS}, "key 'index' out of range"},
        {1, {.index = 5}, "names GPU 5 twice"},
        {2, {.index = 2, .mem_used = -1}, "key 'mem_used' out of range"},
        {2, {.index = 2, .mem_total = MLQ_MAX_MEM + 1}, "key 'mem_total' out of range"},
    };
    for (size_t i = 0; i < N(bad); i++) {
        fill_sample(MLQ_MSG_HEARTBEAT, &m);
        memcpy(v, sample_gpu_load, sizeof v);
        v[bad[i].k] = bad[i].g;
        m.u.heartbeat.gpu_load = v;
        expect_msg_reject(&m, bad[i].why);
    }
    static struct mlq_gpuload many[MLQ_MAX_GPUS + 1];
    fill_sample(MLQ_MSG_HEARTBEAT, &m);
    m.u.heartbeat.gpu_load = many;
    m.u.heartbeat.ngpu_load = N(many);
    expect_msg_reject(&m, "'gpu_load' must have 0..64 entries");
    /* none at all: decodes as no load */
    fill_sample(MLQ_MSG_HEARTBEAT, &m);
    m.u.heartbeat.gpu_load = NULL;
    m.u.heartbeat.ngpu_load = 0;
    roundtrip(&m);
}

static void test_reject_big_log(void **state)
{
    (void)state;
    struct mlq_msg m;
    uint8_t *data = calloc(1, MLQ_MAX_LOG_CHUNK + 1);
    assert_non_null(data);
    fill_sample(MLQ_MSG_LOG_CHUNK, &m);
    m.u.log_chunk.data = data;
    m.u.log_chunk.len = MLQ_MAX_LOG_CHUNK + 1;
    expect_msg_reject(&m, "'data' is longer than 1048576 bytes");
    m.u.log_chunk.len = MLQ_MAX_LOG_CHUNK;
    roundtrip(&m);
    free(data);

    /* the encoder refuses to build a body the receiver would refuse */
    uint8_t *huge = calloc(1, MLQ_MAX_MSG + 1);
    char *buf = (char *)&m;
    size_t len = 99;
    struct mlq_err err = {0};
    assert_non_null(huge);
    fill_sample(MLQ_MSG_LOG_DATA, &m);
    m.u.log_data.data = huge;
    m.u.log_data.len = MLQ_MAX_MSG + 1;
    assert_int_equal(mlq_proto_encode(&m, &buf, &len, &err), MLQ_ETOOBIG);
    assert_null(buf);
    assert_int_equal(len, 0);
    free(huge);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reject_big_log),   cmocka_unit_test(test_reject_upload),
        cmocka_unit_test(test_goodbye),          cmocka_unit_test(test_usage),
        cmocka_unit_test(test_gpu_load),         cmocka_unit_test(test_batch),
        cmocka_unit_test(test_batch_bytes),      cmocka_unit_test(test_registered_batch),
        cmocka_unit_test(test_reject_gpu_lists), cmocka_unit_test(test_reject_worker_desc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
