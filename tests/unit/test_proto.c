/* Unit tests for common/proto (and its private helper common/mpk): the
 * message table, the body framing and the version check. A round trip of a
 * filled-in sample of every message type compared field by field (the
 * sample and the comparisons are in proto_sample.c and proto_fixture.c),
 * sparse and optional keys, then hostile and malformed input: wrong version,
 * missing or unknown type, mistyped and oversized fields, huge declared
 * lengths in a few bytes, trailing garbage, every truncation, deep nesting,
 * flipped bytes. The checks of one message family are in test_proto_spec.c
 * (job specs), test_proto_agent.c (worker traffic, worker and GPU info) and
 * test_proto_client.c (client requests).
 *
 * With MLQ_PROTO_SEED_DIR set, the encoded samples are also written there
 * (that is how tests/fuzz/corpus/fuzz_proto/ was seeded). */
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

static void test_every_type_roundtrips(void **state)
{
    (void)state;
    const char *seed_dir = getenv("MLQ_PROTO_SEED_DIR");
    for (int t = 0; t < MLQ_MSG_TYPE_COUNT; t++) {
        struct mlq_msg m;
        fill_sample((enum mlq_msg_type)t, &m);
        roundtrip(&m);
        if (seed_dir) {
            char *buf, name[64];
            size_t len;
            encode_ok(&m, &buf, &len);
            snprintf(name, sizeof name, "valid_%s", mlq_proto_type_name(m.type));
            write_seed(seed_dir, name, buf, len);
            free(buf);
        }
    }
}

static void test_type_names(void **state)
{
    (void)state;
    for (int t = 0; t < MLQ_MSG_TYPE_COUNT; t++) {
        const char *name = mlq_proto_type_name((enum mlq_msg_type)t);
        assert_string_not_equal(name, "?");
        for (int u = 0; u < t; u++)
            assert_string_not_equal(name, mlq_proto_type_name((enum mlq_msg_type)u));
    }
    assert_string_equal(mlq_proto_type_name(MLQ_MSG_SUBMIT), "submit");
    assert_string_equal(mlq_proto_type_name(MLQ_MSG_TYPE_COUNT), "?");
}

/* Every enum value survives, and job states use mlq_job_state_name()'s
 * spelling on the wire. */
static void test_enum_values_roundtrip(void **state)
{
    (void)state;
    struct mlq_msg m;
    fill_sample(MLQ_MSG_LOG_DATA, &m);
    for (int s = 0; s < MLQ_JOB_STATE_COUNT; s++) {
        char *buf;
        size_t len;
        m.u.log_data.state = (enum mlq_job_state)s;
        encode_ok(&m, &buf, &len);
        assert_non_null(memmem(buf, len, mlq_job_state_name(s), strlen(mlq_job_state_name(s))));
        free(buf);
        roundtrip(&m);
    }
    fill_sample(MLQ_MSG_REPORT, &m);
    for (int o = MLQ_OUT_NONE; o <= MLQ_OUT_REFUSED; o++) {
        m.u.report.outcome = (enum mlq_outcome)o;
        m.u.report.phase = o == MLQ_OUT_NONE ? MLQ_PHASE_STARTED : MLQ_PHASE_FINISHED;
        roundtrip(&m);
    }
    fill_sample(MLQ_MSG_LOGS, &m);
    m.u.logs.stream = MLQ_STREAM_STDOUT;
    roundtrip(&m);
    fill_sample(MLQ_MSG_JOB_LIST, &m); /* attempt states use their own names */
    for (int s = 0; s < MLQ_ATT_STATE_COUNT; s++) {
        char *buf;
        size_t len;
        const char *name = mlq_attempt_state_name((enum mlq_attempt_state)s);
        sample_attempts[1].state = (enum mlq_attempt_state)s;
        encode_ok(&m, &buf, &len);
        assert_non_null(memmem(buf, len, name, strlen(name)));
        free(buf);
        roundtrip(&m);
    }
}

/* Placement parts left out: no pool, labels, GPU list, reason, closest worker. */
static void test_sparse_placement(void)
{
    struct mlq_msg m;
    fill_sample(MLQ_MSG_REGISTER, &m);
    m.u.reg.pool = NULL;
    m.u.reg.labels = NULL;
    m.u.reg.nlabels = 0;
    m.u.reg.gpu_list = NULL;
    m.u.reg.ngpu_list = 0; /* GPUs without descriptions */
    roundtrip(&m);
    fill_sample(MLQ_MSG_WORKER_LIST, &m);
    sample_workers[0].pool = NULL;
    sample_workers[0].labels = NULL;
    sample_workers[0].nlabels = 0;
    sample_workers[0].drain_reason = NULL;
    sample_workers[0].gpu_list = NULL;
    sample_workers[0].ngpu_list = 0;
    roundtrip(&m);
    fill_sample(MLQ_MSG_DRAIN, &m);
    m.u.drain.reason = NULL;
    roundtrip(&m);
    fill_sample(MLQ_MSG_WHY_REPLY, &m);
    m.u.why_reply.state = MLQ_JOB_SUCCEEDED;
    m.u.why_reply.blocker = "none";
    m.u.why_reply.closest_worker = NULL;
    m.u.why_reply.lacks = NULL;
    m.u.why_reply.ahead = 0;
    roundtrip(&m);
}

/* Optional parts left out: nil strings, empty arrays and bins, extremes. */
static void test_sparse_roundtrips(void **state)
{
    (void)state;
    struct mlq_msg m;
    fill_sample(MLQ_MSG_JOBS, &m);
    m.u.jobs.ids = NULL;
    m.u.jobs.nids = 0;
    m.u.jobs.state = -1;
    m.u.jobs.limit = 0;
    roundtrip(&m);
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.name = NULL;
    m.u.submit.spec.env = NULL;
    m.u.submit.spec.envc = 0;
    m.u.submit.spec.gpus = 0;
    m.u.submit.spec.gpu_type = NULL;
    m.u.submit.spec.pool = NULL;
    m.u.submit.spec.require = NULL;
    m.u.submit.spec.nrequire = 0;
    m.u.submit.spec.priority = MLQ_MAX_PRIORITY;
    roundtrip(&m);
    test_sparse_placement();
    fill_sample(MLQ_MSG_REPORT, &m);
    m.u.report.detail = NULL;
    m.u.report.exit_code = INT32_MIN;
    m.u.report.pid = -1;
    roundtrip(&m);
    fill_sample(MLQ_MSG_LOG_DATA, &m);
    m.u.log_data.data = NULL;
    m.u.log_data.len = 0;
    roundtrip(&m);
    fill_sample(MLQ_MSG_JOB_LIST, &m);
    m.u.job_list.njobs = 0;
    roundtrip(&m);
    fill_sample(MLQ_MSG_KILL, &m);
    m.u.kill.reason = NULL;
    m.rid = 0;
    roundtrip(&m);
}

/* Bodies from a peer that predates the optional keys still
 * decode, with every new field 0 / false / NULL. */
static void test_optional_keys_absent(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    struct mlq_msg m;
    struct mlq_err err = {0};
    raw_begin(&o, 4, "heartbeat");
    mlq_mpk_kv_str(&o.pk, "name", "old");
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    assert_false(m.u.heartbeat.draining);
    mlq_proto_msg_free(&m);

    raw_begin(&o, 5, "heartbeat"); /* nil counts as absent */
    mlq_mpk_kv_str(&o.pk, "name", "old");
    mlq_mpk_kv_str(&o.pk, "draining", NULL);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    assert_false(m.u.heartbeat.draining);
    mlq_proto_msg_free(&m);

    raw_begin(&o, 4, "submit"); /* a version-1 spec: the 8 original keys */
    mlq_mpk_put_str(&o.pk, "spec");
    msgpack_pack_map(&o.pk, 8);
    mlq_mpk_kv_str(&o.pk, "name", NULL);
    mlq_mpk_kv_str(&o.pk, "owner", "alice");
    mlq_mpk_kv_strv(&o.pk, "argv", spec_argv, 1);
    mlq_mpk_kv_strv(&o.pk, "env", NULL, 0);
    mlq_mpk_kv_str(&o.pk, "workdir", "/");
    mlq_mpk_kv_int(&o.pk, "cpus_m", 1000);
    mlq_mpk_kv_int(&o.pk, "mem", 1 << 20);
    mlq_mpk_kv_int(&o.pk, "gpus", 0);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    const struct mlq_jobspec *sp = &m.u.submit.spec;
    assert_int_equal(sp->retries + sp->warn_signal, 0);
    assert_int_equal(sp->retry_backoff_ms + sp->time_limit_ms + sp->kill_grace_ms, 0);
    assert_int_equal(sp->warn_before_ms, 0);
    assert_int_equal(sp->priority, 0);
    assert_null(sp->pool);
    assert_null(sp->require);
    assert_int_equal(sp->nrequire, 0);
    assert_null(sp->gpu_type);
    mlq_proto_msg_free(&m);

    raw_begin(&o, 8, "register"); /* an older worker: no pool, labels, GPU list */
    mlq_mpk_kv_str(&o.pk, "name", "old");
    mlq_mpk_kv_int(&o.pk, "cpus_m", 1000);
    mlq_mpk_kv_int(&o.pk, "mem", 1 << 20);
    mlq_mpk_kv_int(&o.pk, "gpus", 2);
    mlq_mpk_kv_array(&o.pk, "attempts", 0);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    assert_int_equal(m.u.reg.gpus, 2);
    assert_null(m.u.reg.pool);
    assert_null(m.u.reg.labels);
    assert_null(m.u.reg.gpu_list);
    assert_null(m.u.reg.addr);    /* no address advertised */
    assert_null(m.u.reg.version); /* an older worker does not say */
    assert_null(m.u.reg.git);
    assert_int_equal(m.u.reg.nlabels + m.u.reg.ngpu_list, 0);
    mlq_proto_msg_free(&m);
}

static void test_optional_lists_absent(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    struct mlq_msg m;
    struct mlq_err err = {0};
    raw_begin(&o, 4, "worker_list");
    mlq_mpk_kv_array(&o.pk, "workers", 1);
    msgpack_pack_map(&o.pk, 10);
    mlq_mpk_kv_str(&o.pk, "name", "w");
    mlq_mpk_kv_str(&o.pk, "state", "UP");
    const char *nums[] = {"cpus_m", "cpus_used_m", "mem",     "mem_used",
                          "gpus",   "gpus_used",   "running", "last_seen_ms"};
    for (size_t i = 0; i < N(nums); i++)
        mlq_mpk_kv_int(&o.pk, nums[i], 1);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    assert_int_equal(m.u.worker_list.nworkers, 1);
    assert_false(m.u.worker_list.workers[0].draining);
    assert_null(m.u.worker_list.workers[0].pool);
    assert_null(m.u.worker_list.workers[0].labels);
    assert_null(m.u.worker_list.workers[0].drain_reason);
    assert_null(m.u.worker_list.workers[0].gpu_list);
    assert_int_equal(m.u.worker_list.workers[0].nlabels + m.u.worker_list.workers[0].ngpu_list, 0);
    mlq_proto_msg_free(&m);

    /* a version-1 jobinfo: the 19 original keys only */
    raw_begin(&o, 4, "job_list");
    mlq_mpk_kv_array(&o.pk, "jobs", 1);
    msgpack_pack_map(&o.pk, 19);
    mlq_mpk_kv_str(&o.pk, "id", ID1);
    const char *strs[] = {"name", "owner", "reason", "workdir", "attempt_id", "worker", "gpu_ids"};
    for (size_t i = 0; i < N(strs); i++)
        mlq_mpk_kv_str(&o.pk, strs[i], NULL);
    mlq_mpk_kv_str(&o.pk, "state", "PENDING");
    mlq_mpk_kv_strv(&o.pk, "argv", NULL, 0);
    const char *jnums[] = {"cpus_m", "mem",     "gpus",      "submit_ms", "start_ms",
                           "end_ms", "attempt", "exit_code", "signal"};
    for (size_t i = 0; i < N(jnums); i++)
        mlq_mpk_kv_int(&o.pk, jnums[i], 7);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    const struct mlq_jobinfo *j = &m.u.job_list.jobs[0];
    assert_int_equal(j->exit_code, 7);
    assert_int_equal(j->retries + j->node_failures, 0);
    assert_int_equal(j->not_before_ms + j->time_limit_ms, 0);
    assert_null(j->attempts);
    assert_int_equal(j->nattempts, 0);
    assert_null(j->pool); /* absent: the default pool */
    mlq_proto_msg_free(&m);

    char *buf; /* the encoder leaves "attempts" out when there are none */
    size_t len;
    fill_sample(MLQ_MSG_JOB_LIST, &m);
    m.u.job_list.jobs = &sample_jobs[1];
    m.u.job_list.njobs = 1;
    encode_ok(&m, &buf, &len);
    assert_null(memmem(buf, len, "attempts", 8));
    free(buf);
    fill_sample(MLQ_MSG_JOB_LIST, &m);
    encode_ok(&m, &buf, &len);
    assert_non_null(memmem(buf, len, "attempts", 8));
    free(buf);
}

/* A body from a peer of another wire protocol version: refused with
 * MLQ_EVERSION, keeping its rid and version so that the refusal can be
 * answered; an "error" of any version is read (its layout never changes),
 * and an error answer is written in the version it is given. */
static void test_version_range(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    struct mlq_msg m;
    struct mlq_err err = {0};
    raw_begin(&o, 3, "ok");
    assert_int_equal(raw_decode(&o, &m, &err), 0); /* MLQ_PROTO_MAX: accepted */
    mlq_proto_msg_free(&m);

    mlq_mpk_out_init(&o, MLQ_MAX_MSG);
    msgpack_pack_map(&o.pk, 4);
    mlq_mpk_kv_uint(&o.pk, "v", MLQ_PROTO_MAX + 1);
    mlq_mpk_kv_str(&o.pk, "t", "a_type_of_a_later_version");
    mlq_mpk_kv_uint(&o.pk, "rid", 77);
    mlq_mpk_kv_str(&o.pk, "field", "x");
    assert_int_equal(raw_decode(&o, &m, &err), MLQ_EVERSION);
    assert_int_equal(err.code, MLQ_EVERSION);
    assert_non_null(strstr(err.msg, "is not in 1..1"));
    assert_int_equal(m.rid, 77);
    assert_int_equal(m.wire_v, MLQ_PROTO_MAX + 1);

    mlq_mpk_out_init(&o, MLQ_MAX_MSG);
    msgpack_pack_map(&o.pk, 3);
    mlq_mpk_kv_int(&o.pk, "v", -1);
    mlq_mpk_kv_str(&o.pk, "t", "ok");
    mlq_mpk_kv_uint(&o.pk, "rid", 5);
    assert_int_equal(raw_decode(&o, &m, &err), MLQ_EVERSION);
    assert_non_null(strstr(err.msg, "wire protocol version -1 is not in 1..1"));
    assert_int_equal(m.rid, 5);
    assert_int_equal(m.wire_v, 0); /* not a version to answer in */

    mlq_mpk_out_init(&o, MLQ_MAX_MSG);
    msgpack_pack_map(&o.pk, 2);
    mlq_mpk_kv_uint(&o.pk, "v", 0);
    mlq_mpk_kv_str(&o.pk, "t", "ok");
    assert_int_equal(raw_decode(&o, &m, &err), MLQ_EVERSION);
    assert_int_equal(m.rid, 0); /* no rid: none kept */

    /* A scheduler speaking only a later version: its error is read, and
     * says that it refuses this build's version. */
    mlq_mpk_out_init(&o, MLQ_MAX_MSG);
    msgpack_pack_map(&o.pk, 7);
    mlq_mpk_kv_uint(&o.pk, "v", MLQ_PROTO_MAX + 5);
    mlq_mpk_kv_str(&o.pk, "t", "error");
    mlq_mpk_kv_uint(&o.pk, "rid", 9);
    mlq_mpk_kv_int(&o.pk, "code", MLQ_EPROTO);
    mlq_mpk_kv_str(&o.pk, "msg", "scheduler 9.0.0 speaks wire protocol 6..6");
    mlq_mpk_kv_int(&o.pk, "speaks_min", MLQ_PROTO_MAX + 5);
    mlq_mpk_kv_int(&o.pk, "speaks_max", MLQ_PROTO_MAX + 5);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    assert_int_equal(m.type, MLQ_MSG_ERROR);
    assert_int_equal(m.rid, 9);
    assert_int_equal(m.u.error.code, MLQ_EPROTO);
    assert_string_equal(m.u.error.msg, "scheduler 9.0.0 speaks wire protocol 6..6");
    assert_true(mlq_proto_error_refuses_us(&m));
    mlq_proto_msg_free(&m);

    /* An older peer's error (no speaks_*), or one with nonsense there: read,
     * and not taken for a refusal of our version. */
    raw_begin(&o, 6, "error");
    mlq_mpk_kv_int(&o.pk, "code", MLQ_EPROTO);
    mlq_mpk_kv_str(&o.pk, "msg", "malformed");
    mlq_mpk_kv_str(&o.pk, "speaks_min", "one");
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    assert_int_equal(m.u.error.speaks_min, 0);
    assert_false(mlq_proto_error_refuses_us(&m));
    mlq_proto_msg_free(&m);

    /* Ours always says our range. */
    struct mlq_msg plain = {.type = MLQ_MSG_ERROR, .rid = 3};
    plain.u.error.code = MLQ_EINVAL;
    plain.u.error.msg = "bad";
    char *pbuf;
    size_t plen;
    assert_int_equal(mlq_proto_encode(&plain, &pbuf, &plen, &err), 0);
    assert_int_equal(mlq_proto_decode(pbuf, plen, &m, &err), 0);
    free(pbuf);
    assert_int_equal(m.u.error.speaks_min, MLQ_PROTO_MIN);
    assert_int_equal(m.u.error.speaks_max, MLQ_PROTO_MAX);
    assert_false(mlq_proto_error_refuses_us(&m));
    mlq_proto_msg_free(&m);

    /* The answer to a version-2 peer says v=2; an ordinary one says ours. */
    struct mlq_msg e = {.type = MLQ_MSG_ERROR, .rid = 77, .wire_v = 2};
    e.u.error.code = MLQ_EPROTO;
    e.u.error.msg = "speaks 1..1";
    char *buf;
    size_t len;
    assert_int_equal(mlq_proto_encode(&e, &buf, &len, &err), 0);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, buf, len, NULL), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(up.data.via.map.ptr[0].val.via.u64, 2);
    msgpack_unpacked_destroy(&up);
    free(buf);
    struct mlq_msg ok = {.type = MLQ_MSG_OK, .rid = 1, .wire_v = 2};
    assert_int_equal(mlq_proto_encode(&ok, &buf, &len, &err), 0);
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, buf, len, NULL), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(up.data.via.map.ptr[0].val.via.u64, MLQ_PROTO_VERSION);
    msgpack_unpacked_destroy(&up);
    free(buf);
}

static void test_reject_version(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    mlq_mpk_out_init(&o, MLQ_MAX_MSG);
    msgpack_pack_map(&o.pk, 2);
    mlq_mpk_kv_str(&o.pk, "t", "ok");
    mlq_mpk_kv_uint(&o.pk, "rid", 1);
    raw_reject(&o, "'v'");
}

static void test_reject_type(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    mlq_mpk_out_init(&o, MLQ_MAX_MSG);
    msgpack_pack_map(&o.pk, 2);
    mlq_mpk_kv_uint(&o.pk, "v", 1);
    mlq_mpk_kv_uint(&o.pk, "rid", 1);
    raw_reject(&o, "missing key 't'");

    raw_begin(&o, 3, "launch_missiles");
    raw_reject(&o, "unknown message type");

    raw_begin(&o, 3, "o"); /* a prefix is not a match */
    raw_reject(&o, "unknown message type");
    raw_begin(&o, 3, "okay");
    raw_reject(&o, "unknown message type");

    mlq_mpk_out_init(&o, MLQ_MAX_MSG);
    msgpack_pack_map(&o.pk, 3);
    mlq_mpk_kv_uint(&o.pk, "v", 1);
    mlq_mpk_kv_int(&o.pk, "t", 1);
    mlq_mpk_kv_uint(&o.pk, "rid", 1);
    raw_reject(&o, "key 't' must be a string");

    mlq_mpk_out_init(&o, MLQ_MAX_MSG); /* rid is required */
    msgpack_pack_map(&o.pk, 2);
    mlq_mpk_kv_uint(&o.pk, "v", 1);
    mlq_mpk_kv_str(&o.pk, "t", "ok");
    raw_reject(&o, "missing key 'rid'");

    mlq_mpk_out_init(&o, MLQ_MAX_MSG); /* the body must be a map */
    msgpack_pack_array(&o.pk, 0);
    raw_reject(&o, "not a map");
}

static void test_reject_field_types(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    raw_begin(&o, 4, "heartbeat");
    mlq_mpk_kv_int(&o.pk, "name", 5);
    raw_reject(&o, "heartbeat: key 'name' must be a string");

    raw_begin(&o, 3, "heartbeat");
    raw_reject(&o, "heartbeat: missing key 'name'");

    raw_begin(&o, 4, "heartbeat");
    mlq_mpk_kv_str(&o.pk, "name", NULL); /* nil where a string is required */
    raw_reject(&o, "'name'");

    raw_begin(&o, 5, "registered");
    mlq_mpk_kv_str(&o.pk, "heartbeat_ms", "1000");
    mlq_mpk_kv_int(&o.pk, "lease_ms", 1);
    raw_reject(&o, "'heartbeat_ms' must be an integer");

    raw_begin(&o, 5, "registered");
    mlq_mpk_put_str(&o.pk, "heartbeat_ms");
    msgpack_pack_double(&o.pk, 1.5);
    mlq_mpk_kv_int(&o.pk, "lease_ms", 1);
    raw_reject(&o, "'heartbeat_ms' must be an integer");

    raw_begin(&o, 6, "report_ack");
    mlq_mpk_kv_str(&o.pk, "attempt_id", ID1);
    mlq_mpk_kv_str(&o.pk, "phase", "started");
    mlq_mpk_kv_int(&o.pk, "accepted", 1);
    raw_reject(&o, "'accepted' must be a boolean");

    raw_begin(&o, 6, "report_ack");
    mlq_mpk_kv_str(&o.pk, "attempt_id", ID1);
    mlq_mpk_kv_str(&o.pk, "phase", "STARTED"); /* enums are exact */
    mlq_mpk_kv_bool(&o.pk, "accepted", true);
    raw_reject(&o, "'phase' has an unknown value");

    raw_begin(&o, 5, "log_chunk"); /* data must be bin, not str */
    mlq_mpk_kv_uint(&o.pk, "token", 1);
    mlq_mpk_kv_str(&o.pk, "data", "text");
    raw_reject(&o, "'data' must be binary");
}

static void test_reject_ints(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    mlq_mpk_out_init(&o, MLQ_MAX_MSG);
    msgpack_pack_map(&o.pk, 3);
    mlq_mpk_kv_uint(&o.pk, "v", 1);
    mlq_mpk_kv_str(&o.pk, "t", "ok");
    mlq_mpk_kv_int(&o.pk, "rid", -1);
    raw_reject(&o, "'rid' must be a non-negative integer");

    raw_begin(&o, 9, "log_read");
    mlq_mpk_kv_uint(&o.pk, "token", 1);
    mlq_mpk_kv_str(&o.pk, "attempt_id", ID1);
    mlq_mpk_kv_str(&o.pk, "stream", "stdout");
    mlq_mpk_kv_int(&o.pk, "offset", -5);
    mlq_mpk_kv_uint(&o.pk, "max", 10);
    mlq_mpk_kv_uint(&o.pk, "extra", 10); /* unknown keys are ignored */
    raw_reject(&o, "'offset' out of range");

    raw_begin(&o, 8, "log_read");
    mlq_mpk_kv_uint(&o.pk, "token", 1);
    mlq_mpk_kv_str(&o.pk, "attempt_id", ID1);
    mlq_mpk_kv_str(&o.pk, "stream", "stdout");
    mlq_mpk_kv_int(&o.pk, "offset", 0);
    mlq_mpk_kv_uint(&o.pk, "max", MLQ_MAX_LOG_CHUNK + 1);
    raw_reject(&o, "'max' is above");

    raw_begin(&o, 5, "error");
    mlq_mpk_kv_int(&o.pk, "code", (int64_t)INT32_MAX + 1);
    mlq_mpk_kv_str(&o.pk, "msg", "x");
    raw_reject(&o, "'code' out of range");

    raw_begin(&o, 5, "error");
    mlq_mpk_kv_uint(&o.pk, "code", UINT64_MAX);
    mlq_mpk_kv_str(&o.pk, "msg", "x");
    raw_reject(&o, "'code' is out of range");
}

static void test_unknown_keys_ignored(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    struct mlq_msg m;
    struct mlq_err err = {0};
    raw_begin(&o, 6, "registered");
    mlq_mpk_kv_map(&o.pk, "future", 1); /* any shape, even nested */
    mlq_mpk_kv_array(&o.pk, "x", 2);
    msgpack_pack_nil(&o.pk);
    msgpack_pack_double(&o.pk, 2.5);
    mlq_mpk_kv_int(&o.pk, "lease_ms", 30000);
    mlq_mpk_kv_int(&o.pk, "heartbeat_ms", 1000);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    assert_int_equal(m.type, MLQ_MSG_REGISTERED);
    assert_int_equal(m.u.registered.heartbeat_ms, 1000);
    assert_int_equal(m.u.registered.lease_ms, 30000);
    mlq_proto_msg_free(&m);
}

static void test_reject_strings(void **state)
{
    (void)state;
    struct mlq_msg m;
    char name[MLQ_MAX_NAME + 2];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    fill_sample(MLQ_MSG_HEARTBEAT, &m);
    m.u.heartbeat.name = name;
    expect_msg_reject(&m, "'name' is longer than 128 bytes");
    name[MLQ_MAX_NAME] = '\0'; /* exactly the bound is fine */
    roundtrip(&m);

    static char big[MLQ_MAX_STR + 2];
    memset(big, 'x', sizeof big - 1);
    fill_sample(MLQ_MSG_ERROR, &m);
    m.u.error.msg = big;
    expect_msg_reject(&m, "'msg' is longer than 4096 bytes");

    struct mlq_mpk_out o; /* a NUL inside a string would cut it short */
    raw_begin(&o, 4, "heartbeat");
    mlq_mpk_put_str(&o.pk, "name");
    msgpack_pack_str(&o.pk, 5);
    msgpack_pack_str_body(&o.pk, "ab\0cd", 5);
    raw_reject(&o, "contains a NUL byte");

    fill_sample(MLQ_MSG_SUBMITTED, &m);
    strcpy(m.u.submitted.id, "0B8E7C1E-4A4F-4C5E-9D3A-2F1B6C7D8E9F");
    expect_msg_reject(&m, "'id' is not a full lower-case id");
    strcpy(m.u.submitted.id, "0b8e7c1e");
    expect_msg_reject(&m, "'id' is not a full lower-case id");
    strcpy(m.u.submitted.id, "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9g");
    expect_msg_reject(&m, "'id'");
    strcpy(m.u.submitted.id, "0b8e7c1e04a4f-4c5e-9d3a-2f1b6c7d8e9f");
    expect_msg_reject(&m, "'id'");

    fill_sample(MLQ_MSG_JOB_LIST, &m); /* a job's pool is checked like a worker's */
    m.u.job_list.jobs[0].pool = "a b";
    expect_msg_reject(&m, "key 'pool'");
    m.u.job_list.jobs[0].pool = "gpu-a100";

    fill_sample(MLQ_MSG_LOGS, &m);
    m.u.logs.job = "";
    expect_msg_reject(&m, "'job' must not be empty");
    m.u.logs.job = "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f/1234567"; /* ARRAY/N fits */
    roundtrip(&m);
    char longref[MLQ_MAX_JOBREF + 2]; /* a job's name is the longest reference */
    memset(longref, 'n', sizeof longref - 1);
    longref[sizeof longref - 1] = '\0';
    m.u.logs.job = longref + 1; /* exactly as long as a name */
    roundtrip(&m);
    m.u.logs.job = longref;
    expect_msg_reject(&m, "'job' is longer");
}

static char **make_ids(uint32_t n)
{
    char **ids = calloc(n, sizeof *ids);
    assert_non_null(ids);
    for (uint32_t i = 0; i < n; i++)
        ids[i] = "abcd";
    return ids;
}

static void test_reject_counts(void **state)
{
    (void)state;
    struct mlq_msg m;
    char **ids = make_ids(MLQ_MAX_IDS + 1);
    fill_sample(MLQ_MSG_CANCEL, &m);
    m.u.cancel.ids = ids;
    m.u.cancel.nids = MLQ_MAX_IDS + 1;
    expect_msg_reject(&m, "'ids' must have 1..1024 entries");
    m.u.cancel.nids = MLQ_MAX_IDS;
    roundtrip(&m);
    m.u.cancel.nids = 0; /* cancel names at least one job */
    expect_msg_reject(&m, "'ids' must have 1..1024 entries");

    fill_sample(MLQ_MSG_JOBS, &m);
    m.u.jobs.ids = ids;
    m.u.jobs.nids = MLQ_MAX_IDS + 1;
    expect_msg_reject(&m, "'ids' must have 0..1024 entries");
    free(ids);

    fill_sample(MLQ_MSG_JOBS, &m);
    m.u.jobs.limit = MLQ_MAX_LIST + 1;
    expect_msg_reject(&m, "'limit' is above 10000");

    int32_t gpus[MLQ_MAX_GPUS + 1] = {0};
    fill_sample(MLQ_MSG_ASSIGN, &m);
    m.u.assign.gpu_ids = gpus;
    m.u.assign.ngpu_ids = MLQ_MAX_GPUS + 1;
    expect_msg_reject(&m, "'gpu_ids' must have 0..64 entries");
}

/* A few bytes that declare gigabytes: refused before msgpack-c allocates. */
static void test_reject_hostile_lengths(void **state)
{
    (void)state;
    static const struct {
        uint8_t b[16];
        size_t len;
        const char *want;
    } t[] = {
        {{0xdd, 0xff, 0xff, 0xff, 0xff}, 5, "declared count exceeds"}, /* array 32 */
        {{0xdf, 0xff, 0xff, 0xff, 0xff}, 5, "declared count exceeds"}, /* map 32 */
        {{0xdc, 0xff, 0xff, 1, 2, 3}, 6, "declared count exceeds"},    /* array 16 */
        {{0xde, 0x00, 0x02, 1, 2, 3}, 6, "declared count exceeds"},    /* 2 pairs, 3 bytes */
        {{0xdb, 0xff, 0xff, 0xff, 0xff, 'a'}, 6, "declared length"},   /* str 32 */
        {{0xc6, 0x7f, 0xff, 0xff, 0xff}, 5, "declared length"},        /* bin 32 */
        {{0xc9, 0xff, 0xff, 0xff, 0xff, 1}, 6, "declared length"},     /* ext 32 */
        {{0x81, 0xa1, 'v', 0xdd, 0x10, 0, 0, 0}, 8, "declared count"}, /* nested */
        {{0x81, 0xa1, 'v', 0xd9, 0x20, 'x'}, 6, "declared length"},    /* str 8 */
        {{0xc1}, 1, "0xc1"},                                           /* never used */
        {{0x81, 0xa1, 'v', 0xcf, 0, 0}, 6, "truncated"},               /* uint 64 */
        {{0x81, 0xa1, 'v', 0xd8, 0, 0}, 6, "truncated"},               /* fixext 16 */
    };
    for (size_t i = 0; i < N(t); i++) {
        struct mlq_err err = {0};
        assert_int_equal(mlq_mpk_validate(t[i].b, t[i].len, MLQ_MAX_DEPTH, &err), MLQ_EPROTO);
        expect_reject(t[i].b, t[i].len, t[i].want);
    }
}

static void test_reject_trailing(void **state)
{
    (void)state;
    struct mlq_msg m;
    char *buf;
    size_t len;
    fill_sample(MLQ_MSG_SUBMITTED, &m);
    encode_ok(&m, &buf, &len);
    char *more = malloc(len + 1);
    assert_non_null(more);
    memcpy(more, buf, len);
    more[len] = (char)0xc0; /* a second object, nil */
    expect_reject(more, len + 1, "1 bytes of trailing garbage");
    expect_reject(NULL, 0, "empty message");
    free(more);
    free(buf);
}

/* Every strict prefix of every sample is refused, without a crash. */
static void test_reject_truncations(void **state)
{
    (void)state;
    for (int t = 0; t < MLQ_MSG_TYPE_COUNT; t++) {
        struct mlq_msg m;
        char *buf;
        size_t len;
        fill_sample((enum mlq_msg_type)t, &m);
        encode_ok(&m, &buf, &len);
        for (size_t cut = 0; cut < len; cut++) {
            /* a copy of exactly cut bytes, so ASan sees any over-read */
            char *part = malloc(cut ? cut : 1);
            assert_non_null(part);
            memcpy(part, buf, cut);
            expect_reject(part, cut, NULL);
            free(part);
        }
        free(buf);
    }
}

static void pack_nested(msgpack_packer *pk, int levels)
{
    for (int i = 0; i < levels; i++)
        msgpack_pack_array(pk, 1);
    msgpack_pack_nil(pk);
}

static void test_reject_depth(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    struct mlq_msg m;
    struct mlq_err err = {0};
    /* the body map is level 1, so 7 nested arrays inside it are allowed */
    raw_begin(&o, 4, "ok");
    mlq_mpk_put_str(&o.pk, "deep");
    pack_nested(&o.pk, MLQ_MAX_DEPTH - 1);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    mlq_proto_msg_free(&m);

    raw_begin(&o, 4, "ok");
    mlq_mpk_put_str(&o.pk, "deep");
    pack_nested(&o.pk, MLQ_MAX_DEPTH);
    raw_reject(&o, "nesting deeper than 8 levels");

    uint8_t deep[4000]; /* far past msgpack-c's own stack of 32 */
    memset(deep, 0x91, sizeof deep);
    deep[sizeof deep - 1] = 0xc0;
    expect_reject(deep, sizeof deep, "nesting deeper");
}

/* Flipping any byte of a valid body must never crash or leak; whatever
 * still decodes must encode again. */
static void test_flipped_bytes(void **state)
{
    (void)state;
    static const uint8_t subst[] = {0x00, 0xff, 0xc1, 0xdd, 0xdb, 0x7f, 0x90, 0xc0};
    for (int t = 0; t < MLQ_MSG_TYPE_COUNT; t++) {
        struct mlq_msg m;
        char *buf;
        size_t len;
        fill_sample((enum mlq_msg_type)t, &m);
        encode_ok(&m, &buf, &len);
        for (size_t i = 0; i < len; i++) {
            char saved = buf[i];
            for (size_t k = 0; k < N(subst); k++) {
                struct mlq_msg out;
                buf[i] = (char)subst[k];
                if (mlq_proto_decode(buf, len, &out, NULL) == 0) {
                    char *again;
                    size_t again_len;
                    encode_ok(&out, &again, &again_len);
                    free(again);
                    mlq_proto_msg_free(&out);
                }
            }
            buf[i] = saved;
        }
        free(buf);
    }
}

static void test_encode_bad_type(void **state)
{
    (void)state;
    struct mlq_msg m = {.type = MLQ_MSG_TYPE_COUNT};
    char *buf;
    size_t len;
    assert_int_equal(mlq_proto_encode(&m, &buf, &len, NULL), MLQ_EINVAL);
    mlq_proto_msg_free(NULL);
    mlq_proto_msg_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_roundtrips),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_enum_values_roundtrip),
        cmocka_unit_test(test_sparse_roundtrips),
        cmocka_unit_test(test_reject_version),
        cmocka_unit_test(test_version_range),
        cmocka_unit_test(test_reject_type),
        cmocka_unit_test(test_reject_field_types),
        cmocka_unit_test(test_reject_ints),
        cmocka_unit_test(test_unknown_keys_ignored),
        cmocka_unit_test(test_reject_strings),
        cmocka_unit_test(test_reject_counts),
        cmocka_unit_test(test_reject_hostile_lengths),
        cmocka_unit_test(test_reject_trailing),
        cmocka_unit_test(test_reject_truncations),
        cmocka_unit_test(test_reject_depth),
        cmocka_unit_test(test_flipped_bytes),
        cmocka_unit_test(test_encode_bad_type),
        cmocka_unit_test(test_optional_keys_absent),
        cmocka_unit_test(test_optional_lists_absent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
