/* Unit tests for the pipelines half of common/proto (protopipe.c and the new
 * jobspec keys in protospec.c): the helpers, sparse and old bodies, deep
 * copies, and rejection of every new key when mistyped or out of bounds.
 * test_proto.c round-trips a filled-in sample of every message type. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mpk.h"
#include "proto.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char ID1[] = "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f";
static const char ID2[] = "f0e1d2c3-b4a5-4968-8776-655443322110";

static char *k_argv[] = {"python", "score.py"};

static void base_spec(struct mlq_jobspec *s)
{
    memset(s, 0, sizeof *s);
    s->owner = "alice";
    s->argv = k_argv;
    s->argc = N(k_argv);
    s->workdir = "/w";
    s->cpus_m = 1000;
    s->mem = 1 << 20;
}

static void encode_ok(const struct mlq_msg *m, char **buf, size_t *len)
{
    struct mlq_err err = {0};
    if (mlq_proto_encode(m, buf, len, &err) != 0)
        fail_msg("encode %s: %s", mlq_proto_type_name(m->type), err.msg);
}

static void decode_ok(const struct mlq_msg *in, struct mlq_msg *out)
{
    char *buf;
    size_t len;
    struct mlq_err err = {0};
    encode_ok(in, &buf, &len);
    int rc = mlq_proto_decode(buf, len, out, &err);
    free(buf);
    if (rc != 0)
        fail_msg("decode %s: %s", mlq_proto_type_name(in->type), err.msg);
}

static void expect_reject_buf(const char *buf, size_t len, const char *want)
{
    struct mlq_msg m;
    struct mlq_err err = {0};
    int rc = mlq_proto_decode(buf, len, &m, &err);
    if (rc != MLQ_EPROTO || (want && !strstr(err.msg, want)))
        fail_msg("rc %d, message \"%s\", wanted \"%s\"", rc, err.msg, want ? want : "");
}

static void expect_reject(const struct mlq_msg *m, const char *want)
{
    char *buf;
    size_t len;
    encode_ok(m, &buf, &len);
    expect_reject_buf(buf, len, want);
    free(buf);
}

static void raw_begin(struct mlq_mpk_out *o, uint32_t nkeys, const char *t)
{
    mlq_mpk_out_init(o, 2 * MLQ_MAX_MSG);
    msgpack_pack_map(&o->pk, nkeys);
    mlq_mpk_kv_uint(&o->pk, "v", MLQ_PROTO_VERSION);
    mlq_mpk_kv_str(&o->pk, "t", t);
    mlq_mpk_kv_uint(&o->pk, "rid", 1);
}

static int raw_decode(struct mlq_mpk_out *o, struct mlq_msg *m, struct mlq_err *err)
{
    char *buf;
    size_t len;
    assert_int_equal(mlq_mpk_out_finish(o, &buf, &len, NULL), 0);
    int rc = mlq_proto_decode(buf, len, m, err);
    free(buf);
    return rc;
}

static void raw_reject(struct mlq_mpk_out *o, const char *want)
{
    char *buf;
    size_t len;
    assert_int_equal(mlq_mpk_out_finish(o, &buf, &len, NULL), 0);
    expect_reject_buf(buf, len, want);
    free(buf);
}

/* ---- helpers --------------------------------------------------------------- */

static void test_dep_targets(void **state)
{
    (void)state;
    const char *good[] = {"0", "0b8e", ID1, "0b8e/0", "0b8e/1000000", "0b8e7c1e-4a4f-4c5e-9d3a/17"};
    const char *bad[] = {"",
                         "/5",
                         "0b8e/",
                         "0b8e/12345678",
                         "0B8E",
                         "0b8e/1a",
                         "0b8g",
                         "0b8e//1",
                         "0b8e/1/2",
                         " 0b8e",
                         "0b8e ",
                         "0b8e/-1",
                         "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f/1", /* 38 bytes */
                         "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f0"};
    for (size_t i = 0; i < N(good); i++)
        if (!mlq_proto_dep_target_ok(good[i]))
            fail_msg("refused \"%s\"", good[i]);
    for (size_t i = 0; i < N(bad); i++)
        if (mlq_proto_dep_target_ok(bad[i]))
            fail_msg("accepted \"%s\"", bad[i]);
    assert_false(mlq_proto_dep_target_ok(NULL));
    assert_string_equal(mlq_proto_dep_kind_name(MLQ_DEP_OK), "ok");
    assert_string_equal(mlq_proto_dep_kind_name(MLQ_DEP_ANY), "any");
    assert_string_equal(mlq_proto_dep_kind_name(MLQ_DEP_FAILED), "failed");
    assert_string_equal(mlq_proto_dep_kind_name((enum mlq_dep_kind)7), "?");
}

static void test_name_and_key_checks(void **state)
{
    (void)state;
    struct mlq_err err = {0};
    char long_name[MLQ_MAX_NAME + 2];
    memset(long_name, 'a', sizeof long_name);
    long_name[MLQ_MAX_NAME] = '\0';
    assert_int_equal(mlq_proto_schedule_name_check(long_name, &err), 0);
    assert_int_equal(mlq_proto_schedule_name_check("nightly.eval_v2-A", &err), 0);
    long_name[MLQ_MAX_NAME] = 'a';
    long_name[MLQ_MAX_NAME + 1] = '\0';
    assert_int_equal(mlq_proto_schedule_name_check(long_name, &err), MLQ_EINVAL);
    assert_int_equal(mlq_proto_schedule_name_check("", &err), MLQ_EINVAL);
    assert_int_equal(mlq_proto_schedule_name_check(NULL, &err), MLQ_EINVAL);
    assert_int_equal(mlq_proto_schedule_name_check("a b", &err), MLQ_EINVAL);
    assert_int_equal(mlq_proto_schedule_name_check("a/b", &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "A-Z a-z 0-9 _ . -"));

    char key[MLQ_MAX_IDEM_KEY + 2];
    memset(key, '~', sizeof key);
    key[MLQ_MAX_IDEM_KEY] = '\0';
    assert_int_equal(mlq_proto_idem_key_check(key, &err), 0);
    assert_int_equal(mlq_proto_idem_key_check("nightly 2024-05-01 #1", &err), 0);
    key[MLQ_MAX_IDEM_KEY] = 'x';
    key[MLQ_MAX_IDEM_KEY + 1] = '\0';
    assert_int_equal(mlq_proto_idem_key_check(key, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "longer than 128"));
    assert_int_equal(mlq_proto_idem_key_check("", &err), MLQ_EINVAL);
    assert_int_equal(mlq_proto_idem_key_check("a\tb", &err), MLQ_EINVAL);
    assert_int_equal(mlq_proto_idem_key_check("caf\xc3\xa9", &err), MLQ_EINVAL);
}

/* Image references: registry forms pass; transports and paths that would
 * make the runtime read files on the worker do not. */
static void test_image_check(void **state)
{
    (void)state;
    struct mlq_err err = {0};
    const char *good[] = {"busybox", "localhost/mlqtest:1", "registry.example.com:5000/a/b:1.2",
                          "ghcr.io/org/img@sha256:0123abcd"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(mlq_proto_image_check(good[i], &err), 0);
    const char *bad[] = {"",
                         "/root/img.tar",
                         "./x",
                         "docker-archive:/root/x.tar",
                         "oci:/tmp/layout",
                         "dir:x",
                         "docker://busybox",
                         "a b",
                         "a;b",
                         "-x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(mlq_proto_image_check(bad[i], &err), MLQ_EINVAL);
    char big[MLQ_MAX_IMAGE + 2];
    memset(big, 'a', sizeof big);
    big[MLQ_MAX_IMAGE + 1] = '\0';
    assert_int_equal(mlq_proto_image_check(big, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "longer than"));
}

/* ---- jobspec keys ------------------------------------------------------------ */

/* The check refuses s with want in its message; the decoder refuses it too
 * (with want_dec, or the same message when NULL). */
static void expect_spec_bad2(const struct mlq_jobspec *s, const char *want, const char *want_dec)
{
    struct mlq_err err = {0};
    assert_int_equal(mlq_proto_jobspec_check(s, &err), MLQ_EINVAL);
    if (!strstr(err.msg, want))
        fail_msg("message \"%s\", wanted \"%s\"", err.msg, want);
    struct mlq_msg m = {.type = MLQ_MSG_SUBMIT};
    m.u.submit.spec = *s;
    expect_reject(&m, want_dec ? want_dec : want);
}

static void expect_spec_bad(const struct mlq_jobspec *s, const char *want)
{
    expect_spec_bad2(s, want, NULL);
}

static void test_spec_checks(void **state)
{
    (void)state;
    struct mlq_jobspec s;
    struct mlq_err err = {0};
    struct mlq_dep deps[MLQ_MAX_DEPS + 1];
    memset(deps, 0, sizeof deps);
    for (size_t i = 0; i < N(deps); i++)
        snprintf(deps[i].target, sizeof deps[i].target, "%zx", i + 1);
    base_spec(&s);
    s.deps = deps;
    s.ndeps = MLQ_MAX_DEPS;
    s.array = "0-99999";
    s.max_running = MLQ_MAX_ARRAY;
    assert_int_equal(mlq_proto_jobspec_check(&s, &err), 0);
    s.ndeps = MLQ_MAX_DEPS + 1;
    assert_int_equal(mlq_proto_jobspec_check(&s, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "more than 64 dependencies"));
    s.ndeps = 2;
    strcpy(deps[1].target, "XYZ");
    expect_spec_bad2(&s, "deps[1] is not a job id", "dep: key 'target' must be a job or array id");
    strcpy(deps[1].target, "ab/");
    expect_spec_bad2(&s, "deps[1]", "dep: key 'target'");
    strcpy(deps[1].target, "ab/3");
    deps[1].kind = (enum mlq_dep_kind)3;
    assert_int_equal(mlq_proto_jobspec_check(&s, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "unknown kind"));
    deps[1].kind = MLQ_DEP_FAILED;
    s.deps = NULL;
    assert_int_equal(mlq_proto_jobspec_check(&s, &err), MLQ_EINVAL);
    s.deps = deps;
    s.array = "";
    expect_spec_bad(&s, "array is empty");
    s.array = "0-9 ";
    expect_spec_bad(&s, "array may hold only digits");
    s.array = "1;2";
    expect_spec_bad(&s, "array may hold only digits");
    s.array = NULL;
    s.max_running = MLQ_MAX_ARRAY + 1;
    assert_int_equal(mlq_proto_jobspec_check(&s, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "max_running"));
    s.max_running = 0;
    s.idempotency_key = "";
    expect_spec_bad(&s, "idempotency key is empty");
    s.idempotency_key = "a\nb";
    expect_spec_bad(&s, "printable");
}

static void test_spec_copy_pack(void **state)
{
    (void)state;
    struct mlq_jobspec s, c, u;
    struct mlq_err err = {0};
    struct mlq_dep deps[] = {{"0b8e", MLQ_DEP_ANY}, {"f0e1/17", MLQ_DEP_FAILED}};
    base_spec(&s);
    s.deps = deps;
    s.ndeps = N(deps);
    s.array = "0-99:10";
    s.max_running = 3;
    s.idempotency_key = "k1";
    assert_int_equal(mlq_proto_jobspec_copy(&c, &s, &err), 0);
    assert_ptr_not_equal(c.deps, s.deps);
    assert_ptr_not_equal(c.array, s.array);
    assert_int_equal(c.ndeps, 2);
    assert_string_equal(c.deps[1].target, "f0e1/17");
    assert_int_equal(c.deps[1].kind, MLQ_DEP_FAILED);
    assert_string_equal(c.array, "0-99:10");
    assert_int_equal(c.max_running, 3);
    assert_string_equal(c.idempotency_key, "k1");
    char *blob;
    size_t len;
    assert_int_equal(mlq_proto_jobspec_pack(&c, &blob, &len, &err), 0);
    assert_int_equal(mlq_proto_jobspec_unpack(blob, len, &u, &err), 0);
    free(blob);
    assert_int_equal(u.ndeps, 2);
    assert_string_equal(u.deps[0].target, "0b8e");
    assert_int_equal(u.deps[0].kind, MLQ_DEP_ANY);
    assert_string_equal(u.array, "0-99:10");
    assert_int_equal(u.max_running, 3);
    assert_string_equal(u.idempotency_key, "k1");
    mlq_proto_jobspec_free(&u);
    mlq_proto_jobspec_free(&c);
    /* a spec without the new keys copies to one without them */
    base_spec(&s);
    assert_int_equal(mlq_proto_jobspec_copy(&c, &s, &err), 0);
    assert_null(c.deps);
    assert_null(c.array);
    assert_null(c.idempotency_key);
    mlq_proto_jobspec_free(&c);
}

/* A spec map of the version-1 keys plus one extra key/value pair. */
static void raw_submit_with(struct mlq_mpk_out *o, const char *key)
{
    raw_begin(o, 4, "submit");
    mlq_mpk_put_str(&o->pk, "spec");
    msgpack_pack_map(&o->pk, 9);
    mlq_mpk_kv_str(&o->pk, "name", NULL);
    mlq_mpk_kv_str(&o->pk, "owner", "alice");
    mlq_mpk_kv_strv(&o->pk, "argv", k_argv, 1);
    mlq_mpk_kv_strv(&o->pk, "env", NULL, 0);
    mlq_mpk_kv_str(&o->pk, "workdir", "/");
    mlq_mpk_kv_int(&o->pk, "cpus_m", 1000);
    mlq_mpk_kv_int(&o->pk, "mem", 1 << 20);
    mlq_mpk_kv_int(&o->pk, "gpus", 0);
    mlq_mpk_put_str(&o->pk, key); /* the caller packs the value */
}

static void test_reject_spec_keys(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    struct mlq_msg m;
    struct mlq_err err = {0};
    raw_submit_with(&o, "deps");
    msgpack_pack_array(&o.pk, 1);
    msgpack_pack_map(&o.pk, 2);
    mlq_mpk_kv_str(&o.pk, "target", "0b8e");
    mlq_mpk_kv_str(&o.pk, "kind", "maybe");
    raw_reject(&o, "dep: key 'kind' has an unknown value");
    raw_submit_with(&o, "deps");
    msgpack_pack_array(&o.pk, 1);
    msgpack_pack_map(&o.pk, 1);
    mlq_mpk_kv_str(&o.pk, "kind", "ok");
    raw_reject(&o, "dep: missing key 'target'");
    raw_submit_with(&o, "deps");
    msgpack_pack_array(&o.pk, MLQ_MAX_DEPS + 1);
    for (int i = 0; i <= MLQ_MAX_DEPS; i++)
        msgpack_pack_nil(&o.pk);
    raw_reject(&o, "'deps' must have 0..64 entries");
    raw_submit_with(&o, "deps");
    mlq_mpk_put_str(&o.pk, "0b8e");
    raw_reject(&o, "'deps' must be an array");
    raw_submit_with(&o, "max_running");
    msgpack_pack_int64(&o.pk, -1);
    raw_reject(&o, "'max_running'");
    raw_submit_with(&o, "max_running");
    msgpack_pack_uint64(&o.pk, MLQ_MAX_ARRAY + 1);
    raw_reject(&o, "'max_running' is above 100000");
    raw_submit_with(&o, "array");
    msgpack_pack_int64(&o.pk, 5);
    raw_reject(&o, "'array' must be a string");
    raw_submit_with(&o, "idempotency_key");
    char key[MLQ_MAX_IDEM_KEY + 2];
    memset(key, 'k', sizeof key - 1);
    key[sizeof key - 1] = '\0';
    mlq_mpk_put_str(&o.pk, key);
    raw_reject(&o, "'idempotency_key' is longer than 128");
    /* nil reads as absent */
    raw_submit_with(&o, "deps");
    msgpack_pack_nil(&o.pk);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    assert_null(m.u.submit.spec.deps);
    assert_int_equal(m.u.submit.spec.ndeps, 0);
    assert_null(m.u.submit.spec.array);
    assert_int_equal(m.u.submit.spec.max_running, 0);
    assert_null(m.u.submit.spec.idempotency_key);
    mlq_proto_msg_free(&m);
}

/* ---- jobinfo, job_list, arrays ------------------------------------------------ */

static void test_jobinfo_deps_full_ids(void **state)
{
    (void)state;
    struct mlq_jobinfo j[1];
    struct mlq_dep deps[] = {{"0b8e", MLQ_DEP_OK}};
    memset(j, 0, sizeof j);
    strcpy(j[0].id, ID1);
    j[0].deps = deps;
    j[0].ndeps = 1;
    struct mlq_msg m = {.type = MLQ_MSG_JOB_LIST};
    m.u.job_list.jobs = j;
    m.u.job_list.njobs = 1;
    expect_reject(&m, "dep: key 'target' is not a full lower-case id");
    strcpy(deps[0].target, ID2);
    j[0].array_id = (char *)"0b8e";
    expect_reject(&m, "'array_id' is not a full lower-case id");
    j[0].array_id = (char *)ID2;
    j[0].array_index = MLQ_MAX_ARRAY;
    struct mlq_msg out;
    decode_ok(&m, &out);
    assert_string_equal(out.u.job_list.jobs[0].array_id, ID2);
    assert_int_equal(out.u.job_list.jobs[0].array_index, MLQ_MAX_ARRAY);
    assert_string_equal(out.u.job_list.jobs[0].deps[0].target, ID2);
    assert_int_equal(out.u.job_list.narrays, 0);
    assert_null(out.u.job_list.arrays);
    mlq_proto_msg_free(&out);
    /* not a task: the index reads -1 whatever the sender left in it */
    j[0].array_id = NULL;
    j[0].array_index = 5;
    decode_ok(&m, &out);
    assert_null(out.u.job_list.jobs[0].array_id);
    assert_int_equal(out.u.job_list.jobs[0].array_index, -1);
    mlq_proto_msg_free(&out);
}

/* An older scheduler's job_list (no arrays key, no pipeline jobinfo keys). */
static void test_old_job_list(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    struct mlq_msg m;
    struct mlq_err err = {0};
    raw_begin(&o, 4, "job_list");
    mlq_mpk_kv_array(&o.pk, "jobs", 1);
    msgpack_pack_map(&o.pk, 19);
    mlq_mpk_kv_str(&o.pk, "id", ID1);
    const char *strs[] = {"name", "owner", "reason", "workdir", "attempt_id", "worker", "gpu_ids"};
    for (size_t i = 0; i < N(strs); i++)
        mlq_mpk_kv_str(&o.pk, strs[i], NULL);
    mlq_mpk_kv_str(&o.pk, "state", "PENDING");
    mlq_mpk_kv_strv(&o.pk, "argv", NULL, 0);
    const char *nums[] = {"cpus_m", "mem",     "gpus",      "submit_ms", "start_ms",
                          "end_ms", "attempt", "exit_code", "signal"};
    for (size_t i = 0; i < N(nums); i++)
        mlq_mpk_kv_int(&o.pk, nums[i], 1);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    assert_null(m.u.job_list.jobs[0].array_id);
    assert_int_equal(m.u.job_list.jobs[0].array_index, -1);
    assert_null(m.u.job_list.jobs[0].deps);
    assert_int_equal(m.u.job_list.narrays, 0);
    mlq_proto_msg_free(&m);
}

static void fill_array(struct mlq_arrayinfo *a)
{
    memset(a, 0, sizeof *a);
    strcpy(a->id, ID2);
    a->name = "score";
    a->owner = "alice";
    a->argv = k_argv;
    a->argc = N(k_argv);
    a->size = 10;
    a->counts[MLQ_JOB_SUCCEEDED] = 7;
    a->counts[MLQ_JOB_FAILED] = 3;
    a->failed = "1-3";
}

static void test_arrays(void **state)
{
    (void)state;
    struct mlq_arrayinfo a[1];
    struct mlq_msg m = {.type = MLQ_MSG_JOB_LIST}, out;
    fill_array(&a[0]);
    m.u.job_list.arrays = a;
    m.u.job_list.narrays = 1;
    decode_ok(&m, &out); /* jobs may be empty while arrays is not */
    assert_int_equal(out.u.job_list.njobs, 0);
    assert_int_equal(out.u.job_list.narrays, 1);
    assert_int_equal(out.u.job_list.arrays[0].counts[MLQ_JOB_SUCCEEDED], 7);
    assert_int_equal(out.u.job_list.arrays[0].counts[MLQ_JOB_PENDING], 0);
    assert_string_equal(out.u.job_list.arrays[0].failed, "1-3");
    mlq_proto_msg_free(&out);
    a[0].counts[MLQ_JOB_PENDING] = 1; /* 11 tasks counted out of 10 */
    expect_reject(&m, "counts add up to more than size");
    fill_array(&a[0]);
    a[0].size = MLQ_MAX_ARRAY + 1;
    expect_reject(&m, "'size' is above 100000");
}

/* counts is a map: a state it leaves out counts 0, one it does not know is
 * ignored, a value that is not a count is refused. */
static void test_array_counts_map(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    struct mlq_msg m;
    struct mlq_err err = {0};
    for (int bad = 0; bad < 2; bad++) {
        raw_begin(&o, 5, "job_list");
        mlq_mpk_kv_array(&o.pk, "jobs", 0);
        mlq_mpk_kv_array(&o.pk, "arrays", 1);
        msgpack_pack_map(&o.pk, 9);
        mlq_mpk_kv_str(&o.pk, "id", ID1);
        mlq_mpk_kv_str(&o.pk, "name", NULL);
        mlq_mpk_kv_str(&o.pk, "owner", "bob");
        mlq_mpk_kv_strv(&o.pk, "argv", k_argv, 1);
        mlq_mpk_kv_uint(&o.pk, "size", 5);
        mlq_mpk_kv_uint(&o.pk, "max_running", 0);
        mlq_mpk_kv_int(&o.pk, "submit_ms", 1);
        mlq_mpk_kv_str(&o.pk, "failed", NULL);
        mlq_mpk_kv_map(&o.pk, "counts", 2);
        mlq_mpk_kv_uint(&o.pk, "RUNNING", 2);
        if (bad)
            mlq_mpk_kv_str(&o.pk, "PENDING", "3");
        else
            mlq_mpk_kv_uint(&o.pk, "HELD", 3);
        if (bad) {
            raw_reject(&o, "key 'PENDING' must be a non-negative integer");
            continue;
        }
        assert_int_equal(raw_decode(&o, &m, &err), 0);
        assert_int_equal(m.u.job_list.arrays[0].counts[MLQ_JOB_RUNNING], 2);
        assert_int_equal(m.u.job_list.arrays[0].counts[MLQ_JOB_PENDING], 0);
        assert_null(m.u.job_list.arrays[0].failed);
        mlq_proto_msg_free(&m);
    }
}

/* ---- assign -------------------------------------------------------------------- */

static void fill_assign(struct mlq_msg *m)
{
    memset(m, 0, sizeof *m);
    m->type = MLQ_MSG_ASSIGN;
    strcpy(m->u.assign.attempt_id, ID1);
    strcpy(m->u.assign.job_id, ID2);
    m->u.assign.attempt = 1;
    base_spec(&m->u.assign.spec);
}

static void test_assign_array(void **state)
{
    (void)state;
    struct mlq_msg m, out;
    fill_assign(&m);
    m.u.assign.array_index = 4; /* ignored without an array id */
    decode_ok(&m, &out);
    assert_string_equal(out.u.assign.array_id, "");
    assert_int_equal(out.u.assign.array_index, -1);
    assert_int_equal(out.u.assign.array_size, 0);
    mlq_proto_msg_free(&out);
    strcpy(m.u.assign.array_id, ID1);
    m.u.assign.array_index = 0;
    m.u.assign.array_size = 1;
    decode_ok(&m, &out);
    assert_string_equal(out.u.assign.array_id, ID1);
    assert_int_equal(out.u.assign.array_index, 0);
    assert_int_equal(out.u.assign.array_size, 1);
    mlq_proto_msg_free(&out);
    m.u.assign.array_size = 0;
    expect_reject(&m, "'array_size' must be at least 1");
    m.u.assign.array_size = MLQ_MAX_ARRAY + 1;
    expect_reject(&m, "'array_size' is above");
    m.u.assign.array_size = 1;
    m.u.assign.array_index = -1;
    expect_reject(&m, "'array_index' out of range");
    strcpy(m.u.assign.array_id, "0b8e7c1e");
    m.u.assign.array_index = 0;
    expect_reject(&m, "'array_id' is not a full lower-case id");
}

/* ---- schedules ------------------------------------------------------------------ */

static void fill_sched(struct mlq_scheduleinfo *s)
{
    memset(s, 0, sizeof *s);
    s->name = "nightly";
    s->cron = "0 3 * * *";
    base_spec(&s->spec);
    s->catch_up_ms = 60000;
}

static struct mlq_msg add_msg(const struct mlq_scheduleinfo *s)
{
    struct mlq_msg m = {.type = MLQ_MSG_SCHEDULE_ADD};
    m.u.schedule_add.sched = *s;
    return m;
}

static void test_reject_scheduleinfo(void **state)
{
    (void)state;
    struct mlq_scheduleinfo s;
    struct mlq_msg m;
    char big[400];
    memset(big, '*', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    fill_sched(&s);
    s.name = "a b";
    m = add_msg(&s);
    expect_reject(&m, "schedule name may hold only");
    fill_sched(&s);
    s.name = "";
    m = add_msg(&s);
    expect_reject(&m, "schedule name is empty");
    fill_sched(&s);
    s.cron = "";
    m = add_msg(&s);
    expect_reject(&m, "cron expression must be 1..256");
    s.cron = "0 3 * * *\n";
    m = add_msg(&s);
    expect_reject(&m, "cron expression");
    s.cron = big;
    m = add_msg(&s);
    expect_reject(&m, "'cron' is longer than 256");
    fill_sched(&s);
    big[65] = '\0';
    s.timezone = big;
    m = add_msg(&s);
    expect_reject(&m, "'timezone' is longer than 64");
    fill_sched(&s);
    s.concurrency = "sometimes";
    m = add_msg(&s);
    expect_reject(&m, "concurrency must be allow, skip or replace");
    fill_sched(&s);
    s.catch_up_ms = -1;
    m = add_msg(&s);
    expect_reject(&m, "'catch_up_ms' out of range");
    s.catch_up_ms = MLQ_MAX_TIME_MS + 1;
    m = add_msg(&s);
    expect_reject(&m, "'catch_up_ms' out of range");
    fill_sched(&s);
    s.spec.argc = 0;
    m = add_msg(&s);
    expect_reject(&m, "argv");
}

static void test_reject_sched_lists(void **state)
{
    (void)state;
    struct mlq_scheduleinfo s;
    struct mlq_msg m;
    int64_t fires[MLQ_MAX_NEXT_FIRES + 1] = {1, 2, 3, 4, 5, 6};
    struct mlq_schedrun runs[MLQ_MAX_SCHED_RUNS + 1];
    memset(runs, 0, sizeof runs);
    for (size_t i = 0; i < N(runs); i++)
        strcpy(runs[i].job_id, ID1);
    fill_sched(&s);
    s.next_fires = fires;
    s.nnext = N(fires);
    m = add_msg(&s);
    expect_reject(&m, "'next_fires' must have 0..5 entries");
    s.nnext = MLQ_MAX_NEXT_FIRES;
    s.runs = runs;
    s.nruns = N(runs);
    m = add_msg(&s);
    expect_reject(&m, "'runs' must have 0..10 entries");
    s.nruns = MLQ_MAX_SCHED_RUNS;
    strcpy(runs[3].job_id, "0b8e");
    m = add_msg(&s);
    expect_reject(&m, "schedrun: key 'job_id' is not a full lower-case id");
    strcpy(runs[3].job_id, ID2);
    fires[2] = -5;
    m = add_msg(&s);
    expect_reject(&m, "'next_fires' entries must be times");
}

/* catch_up_ms left out means the default (one hour); paused, next_fires
 * and runs left out mean false and none. */
static void test_schedule_defaults(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    struct mlq_msg m;
    struct mlq_err err = {0};
    struct mlq_jobspec spec;
    base_spec(&spec);
    raw_begin(&o, 4, "schedule_add");
    mlq_mpk_kv_map(&o.pk, "schedule", 3);
    mlq_mpk_kv_str(&o.pk, "name", "n");
    mlq_mpk_kv_str(&o.pk, "cron", "@hourly");
    mlq_mpk_put_str(&o.pk, "spec"); /* followed by a packed spec's own bytes */
    char *sb;
    size_t sl;
    assert_int_equal(mlq_proto_jobspec_pack(&spec, &sb, &sl, &err), 0);
    msgpack_sbuffer_write(&o.sb, sb, sl);
    free(sb);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    const struct mlq_scheduleinfo *s = &m.u.schedule_add.sched;
    assert_string_equal(s->name, "n");
    assert_int_equal(s->catch_up_ms, 3600 * 1000);
    assert_false(s->paused);
    assert_null(s->timezone);
    assert_null(s->concurrency);
    assert_int_equal(s->nnext + s->nruns, 0);
    mlq_proto_msg_free(&m);
}

static void test_schedule_cmds(void **state)
{
    (void)state;
    struct mlq_msg m = {.type = MLQ_MSG_SCHEDULE_CMD}, out;
    const char *ops[] = {"pause", "resume", "rm", "run_now"};
    m.u.schedule_cmd.name = "nightly";
    for (size_t i = 0; i < N(ops); i++) {
        m.u.schedule_cmd.op = (char *)ops[i];
        decode_ok(&m, &out);
        assert_string_equal(out.u.schedule_cmd.op, ops[i]);
        mlq_proto_msg_free(&out);
    }
    m.u.schedule_cmd.op = "run-now";
    expect_reject(&m, "schedule_cmd: key 'op' has an unknown value");
    m.u.schedule_cmd.op = NULL;
    expect_reject(&m, "'op'");
    m.u.schedule_cmd.op = "rm";
    m.u.schedule_cmd.name = "../etc";
    expect_reject(&m, "schedule_cmd: key 'name': schedule name may hold only");
    m.u.schedule_cmd.name = NULL;
    expect_reject(&m, "'name'");

    struct mlq_msg q = {.type = MLQ_MSG_SCHEDULES};
    decode_ok(&q, &out); /* nil name: all schedules */
    assert_null(out.u.schedules.name);
    mlq_proto_msg_free(&out);
    q.u.schedules.name = "bad name";
    expect_reject(&q, "schedules: key 'name'");
}

static void test_reject_schedule_list(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    raw_begin(&o, 4, "schedule_list");
    mlq_mpk_kv_array(&o.pk, "schedules", MLQ_MAX_SCHEDULES + 1);
    for (int i = 0; i <= MLQ_MAX_SCHEDULES; i++)
        msgpack_pack_nil(&o.pk);
    raw_reject(&o, "'schedules' must have 0..10000 entries");
    raw_begin(&o, 4, "schedule_list");
    mlq_mpk_kv_array(&o.pk, "schedules", 1);
    msgpack_pack_nil(&o.pk);
    raw_reject(&o, "scheduleinfo: not a map");
    struct mlq_scheduleinfo s[2];
    struct mlq_schedrun run = {.fire_ms = 5, .state = MLQ_JOB_SUCCEEDED};
    strcpy(run.job_id, ID1);
    fill_sched(&s[0]);
    fill_sched(&s[1]);
    s[1].runs = &run;
    s[1].nruns = 1;
    struct mlq_msg m = {.type = MLQ_MSG_SCHEDULE_LIST}, out;
    m.u.schedule_list.schedules = s;
    m.u.schedule_list.nschedules = 2;
    decode_ok(&m, &out);
    assert_int_equal(out.u.schedule_list.nschedules, 2);
    assert_int_equal(out.u.schedule_list.schedules[1].runs[0].state, MLQ_JOB_SUCCEEDED);
    mlq_proto_msg_free(&out);
    s[1].cron = NULL;
    expect_reject(&m, "'cron'");
}

/* The free functions accept NULL and half-filled values. */
static void test_free_helpers(void **state)
{
    (void)state;
    mlq_proto_arrayinfo_free(NULL);
    mlq_proto_scheduleinfo_free(NULL);
    struct mlq_arrayinfo a = {0};
    a.name = strdup("x");
    a.failed = strdup("1");
    mlq_proto_arrayinfo_free(&a);
    assert_null(a.name);
    struct mlq_scheduleinfo s = {0};
    s.name = strdup("x");
    s.next_fires = calloc(2, sizeof *s.next_fires);
    s.nnext = 2;
    mlq_proto_scheduleinfo_free(&s);
    assert_null(s.name);
    assert_int_equal(s.nnext, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dep_targets),          cmocka_unit_test(test_name_and_key_checks),
        cmocka_unit_test(test_spec_checks),          cmocka_unit_test(test_spec_copy_pack),
        cmocka_unit_test(test_reject_spec_keys),     cmocka_unit_test(test_jobinfo_deps_full_ids),
        cmocka_unit_test(test_old_job_list),         cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_array_counts_map),     cmocka_unit_test(test_assign_array),
        cmocka_unit_test(test_reject_scheduleinfo),  cmocka_unit_test(test_reject_sched_lists),
        cmocka_unit_test(test_schedule_defaults),    cmocka_unit_test(test_schedule_cmds),
        cmocka_unit_test(test_reject_schedule_list), cmocka_unit_test(test_free_helpers),
        cmocka_unit_test(test_image_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
