/* Unit tests for common/protospec through common/proto: job specs in
 * submit and assign refused when out of bounds (retry fields, placement
 * keys), the checks and copies of mlq_proto_jobspec_*, and the decoder
 * reading keys in any order (the first of a repeated key counts). */
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
#include "protospec.h"
#include "protousage.h"

static void test_reject_spec(void **state)
{
    (void)state;
    struct mlq_msg m;
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.argc = 0;
    expect_msg_reject(&m, "'argv' must have 1..1024 entries");

    char *empty_cmd[] = {""};
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.argv = empty_cmd;
    m.u.submit.spec.argc = 1;
    expect_msg_reject(&m, "argv[0]");

    fill_sample(MLQ_MSG_ASSIGN, &m);
    m.u.assign.spec.cpus_m = 0;
    expect_msg_reject(&m, "'cpus_m' out of range");

    fill_sample(MLQ_MSG_ASSIGN, &m);
    m.u.assign.spec.workdir = "relative";
    expect_msg_reject(&m, "workdir must be an absolute path");

    char *bad_env[] = {"=x"};
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.env = bad_env;
    m.u.submit.spec.envc = 1;
    expect_msg_reject(&m, "env[0] is not KEY=VALUE");

    int32_t bad_gpu[] = {MLQ_MAX_GPUS};
    fill_sample(MLQ_MSG_ASSIGN, &m);
    m.u.assign.gpu_ids = bad_gpu;
    m.u.assign.ngpu_ids = 1;
    expect_msg_reject(&m, "'gpu_ids' entries must be integers below 64");
}

static void test_reject_retry_fields(void **state)
{
    (void)state;
    struct mlq_msg m;
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.retries = MLQ_MAX_RETRIES + 1;
    expect_msg_reject(&m, "'retries' out of range");
    fill_sample(MLQ_MSG_ASSIGN, &m);
    m.u.assign.spec.time_limit_ms = MLQ_MAX_TIME_MS + 1;
    expect_msg_reject(&m, "'time_limit_ms' out of range");
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.kill_grace_ms = -1;
    expect_msg_reject(&m, "'kill_grace_ms' out of range");
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.warn_signal = 65;
    expect_msg_reject(&m, "'warn_signal' out of range");
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.warn_before_ms = m.u.submit.spec.time_limit_ms;
    expect_msg_reject(&m, "before the time limit");

    struct mlq_mpk_out o;
    raw_begin(&o, 5, "heartbeat");
    mlq_mpk_kv_str(&o.pk, "name", "w");
    mlq_mpk_kv_int(&o.pk, "draining", 1);
    raw_reject(&o, "'draining' must be a boolean");

    static struct mlq_attemptinfo many[MLQ_MAX_ATTEMPT_INFO + 1];
    for (size_t i = 0; i < N(many); i++) {
        many[i] = sample_attempts[2];
        many[i].num = (int32_t)i + 1;
    }
    fill_sample(MLQ_MSG_JOB_LIST, &m);
    sample_jobs[0].attempts = many;
    sample_jobs[0].nattempts = MLQ_MAX_ATTEMPT_INFO + 1;
    expect_msg_reject(&m, "'attempts' must have 0..256 entries");
    sample_jobs[0].nattempts = MLQ_MAX_ATTEMPT_INFO;
    roundtrip(&m);
    sample_jobs[0].nattempts = 1;
    many[0].state = MLQ_ATT_STATE_COUNT; /* encodes as "?" */
    expect_msg_reject(&m, "'state' has an unknown value");
}

static void test_reject_placement_spec(void **state)
{
    (void)state;
    struct mlq_msg m;
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.priority = MLQ_MAX_PRIORITY + 1;
    expect_msg_reject(&m, "'priority' out of range");
    m.u.submit.spec.priority = -MLQ_MAX_PRIORITY - 1;
    expect_msg_reject(&m, "'priority' out of range");
    fill_sample(MLQ_MSG_ASSIGN, &m);
    m.u.assign.spec.pool = "a b";
    expect_msg_reject(&m, "spec: pool may hold only printable");
    m.u.assign.spec.pool = "a/b";
    expect_msg_reject(&m, "spec: pool may hold only printable");
    m.u.assign.spec.pool = "";
    expect_msg_reject(&m, "spec: pool is empty");
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.gpu_type = "H100";
    expect_msg_reject(&m, "spec: gpu_type may hold only a-z 0-9 _ -");
    m.u.submit.spec.gpu_type = "abcdefghijabcdefghijabcdefghijabc"; /* 33 */
    expect_msg_reject(&m, "spec: gpu_type has an alternative longer than 32 bytes");
    m.u.submit.spec.gpu_type = "a100";
    m.u.submit.spec.gpus = 0;
    expect_msg_reject(&m, "a GPU type needs at least one GPU");

    static const struct {
        const char *label, *want;
    } bad[] = {
        {"noequals", "require[1] must be KEY=VALUE"},
        {"=v", "require[1] must be KEY=VALUE"},
        {"k=v w", "require[1] has a VALUE with spaces"},
        {"k=v\tw", "require[1] has a VALUE with spaces"},
        {"k!=v", "require[1] has a KEY with characters"},
        {"k y=v", "require[1] has a KEY with characters"},
    };
    char *req[2] = {"ok=1", NULL};
    for (size_t i = 0; i < N(bad); i++) {
        fill_sample(MLQ_MSG_SUBMIT, &m);
        req[1] = (char *)bad[i].label;
        m.u.submit.spec.require = req;
        m.u.submit.spec.nrequire = 2;
        expect_msg_reject(&m, bad[i].want);
    }
    char long_label[MLQ_MAX_LABEL_LEN + 2];
    memset(long_label, 'k', sizeof long_label - 1);
    long_label[1] = '=';
    long_label[sizeof long_label - 1] = '\0';
    req[1] = long_label;
    expect_msg_reject(&m, "'require' is longer than 128 bytes");
    long_label[MLQ_MAX_LABEL_LEN] = '\0'; /* exactly the bound */
    roundtrip(&m);

    char *many[MLQ_MAX_LABELS + 1];
    for (size_t i = 0; i < N(many); i++)
        many[i] = "k=v";
    m.u.submit.spec.require = many;
    m.u.submit.spec.nrequire = MLQ_MAX_LABELS + 1;
    expect_msg_reject(&m, "'require' must have 0..32 entries");
    m.u.submit.spec.nrequire = MLQ_MAX_LABELS;
    roundtrip(&m);
}

static void expect_spec_bad(const struct mlq_jobspec *s, const char *want)
{
    struct mlq_err err = {0};
    int rc = mlq_proto_jobspec_check(s, &err);
    if (rc != MLQ_EINVAL || !strstr(err.msg, want))
        fail_msg("rc %d, message \"%s\", wanted \"%s\"", rc, err.msg, want);
}

static void test_jobspec_check_limits(void)
{
    struct mlq_jobspec s;
    fill_spec(&s);
    s.retries = MLQ_MAX_RETRIES;
    s.retry_backoff_ms = s.kill_grace_ms = MLQ_MAX_TIME_MS;
    s.warn_signal = 64;
    assert_int_equal(mlq_proto_jobspec_check(&s, NULL), 0);
    s.retries = -1;
    expect_spec_bad(&s, "retries");
    fill_spec(&s);
    s.retry_backoff_ms = MLQ_MAX_TIME_MS + 1;
    expect_spec_bad(&s, "times must be");
    fill_spec(&s);
    s.warn_before_ms = -5;
    expect_spec_bad(&s, "times must be");
    fill_spec(&s);
    s.warn_signal = -1;
    expect_spec_bad(&s, "warn_signal");
    fill_spec(&s);
    s.warn_before_ms = s.time_limit_ms + 1;
    expect_spec_bad(&s, "before the time limit");
    s.time_limit_ms = 0; /* no limit: nothing to compare with */
    assert_int_equal(mlq_proto_jobspec_check(&s, NULL), 0);
}

static void test_jobspec_check(void **state)
{
    (void)state;
    struct mlq_jobspec s;
    fill_spec(&s);
    assert_int_equal(mlq_proto_jobspec_check(&s, NULL), 0);
    s.argc = 0;
    expect_spec_bad(&s, "argv must not be empty");
    fill_spec(&s);
    s.owner = NULL;
    expect_spec_bad(&s, "owner");
    fill_spec(&s);
    s.workdir = "tmp";
    expect_spec_bad(&s, "absolute");
    fill_spec(&s);
    s.cpus_m = MLQ_MAX_CPUS_M + 1;
    expect_spec_bad(&s, "cpus");
    fill_spec(&s);
    s.mem = 0;
    expect_spec_bad(&s, "memory");
    fill_spec(&s);
    s.gpus = MLQ_MAX_GPUS + 1;
    expect_spec_bad(&s, "gpus");
    fill_spec(&s);
    s.gpus = -1;
    expect_spec_bad(&s, "gpus");
    char *env_noeq[] = {"A=1", "NOEQUALS"};
    fill_spec(&s);
    s.env = env_noeq;
    s.envc = 2;
    expect_spec_bad(&s, "env[1] is not KEY=VALUE");
    fill_spec(&s);
    s.envc = MLQ_MAX_ENVC + 1;
    expect_spec_bad(&s, "environment entries");
    char longname[MLQ_MAX_NAME + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    fill_spec(&s);
    s.name = longname;
    expect_spec_bad(&s, "name is longer");
    char *big = malloc(MLQ_MAX_ARGV_BYTES / 2 + 1);
    assert_non_null(big);
    memset(big, 'a', MLQ_MAX_ARGV_BYTES / 2);
    big[MLQ_MAX_ARGV_BYTES / 2] = '\0';
    char *bigv[] = {"cmd", big, big};
    fill_spec(&s);
    s.argv = bigv;
    s.argc = 3;
    expect_spec_bad(&s, "arguments exceed");
    free(big);
    test_jobspec_check_limits();
}

/* GPU shares and type alternatives: round trip through the blob, and the
 * rules the decoder and the CLI share. */
static void test_jobspec_share(void **state)
{
    (void)state;
    struct mlq_jobspec s, u;
    struct mlq_err err = {0};
    char *buf;
    size_t len;
    fill_spec(&s);
    s.gpus = 0;
    s.gpu_frac = 25;
    s.gpu_mem = 10LL << 30;
    s.gpu_type = "a100|h100";
    assert_int_equal(mlq_proto_jobspec_check(&s, &err), 0);
    assert_int_equal(mlq_proto_jobspec_pack(&s, &buf, &len, &err), 0);
    assert_int_equal(mlq_proto_jobspec_unpack(buf, len, &u, &err), 0);
    assert_spec_eq(&s, &u);
    assert_int_equal(u.gpu_frac, 25);
    assert_int_equal(u.gpu_mem, 10LL << 30);
    assert_string_equal(u.gpu_type, "a100|h100");
    mlq_proto_jobspec_free(&u);
    free(buf);

    s.gpu_frac = 100;
    expect_spec_bad(&s, "gpu_frac must be between 0 and 99");
    s.gpu_frac = 25;
    s.gpus = 1;
    expect_spec_bad(&s, "cannot be combined with whole GPUs");
    s.gpus = 0;
    s.nodes = 2;
    expect_spec_bad(&s, "a gang (nodes) cannot use a share");
    s.nodes = 0;
    s.gpu_frac = 0;
    assert_int_equal(mlq_proto_jobspec_check(&s, &err), 0); /* gpu_mem alone is a share */
    s.gpu_frac = 50;
    s.gpu_mem = -1;
    expect_spec_bad(&s, "gpu_mem");
    s.gpu_mem = 0;
    s.gpu_frac = 0;
    expect_spec_bad(&s, "a GPU type needs at least one GPU");
    s.gpu_frac = 50;
    const char *bad_types[] = {"a100|",     "|a100",     "a100||h100",
                               "a100|a100", "A100|h100", "a|b|c|d|e|f|g|h|i"};
    for (size_t i = 0; i < sizeof bad_types / sizeof *bad_types; i++) {
        s.gpu_type = (char *)bad_types[i];
        expect_spec_bad(&s, "spec: gpu_type");
    }
    s.gpu_type = "a|b|c|d|e|f|g|h";
    assert_int_equal(mlq_proto_jobspec_check(&s, &err), 0);
    assert_true(mlq_proto_gpu_type_matches("a100|h100", "h100"));
    assert_true(mlq_proto_gpu_type_matches("a100|h100", "a100"));
    assert_false(mlq_proto_gpu_type_matches("a100|h100", "a10"));
    assert_false(mlq_proto_gpu_type_matches("a100|h100", "h1000"));
    assert_false(mlq_proto_gpu_type_matches("a100", ""));
    assert_true(mlq_proto_gpu_type_matches(NULL, ""));

    /* an old blob without the keys reads as no share */
    fill_spec(&s);
    assert_int_equal(mlq_proto_jobspec_pack(&s, &buf, &len, &err), 0);
    assert_int_equal(mlq_proto_jobspec_unpack(buf, len, &u, &err), 0);
    assert_int_equal(u.gpu_frac, 0);
    assert_int_equal(u.gpu_mem, 0);
    mlq_proto_jobspec_free(&u);
    free(buf);
}

/* The store's lean form reads back as the same spec as the full form, for
 * a spec with every key set and for a plain one, and the plain one is a
 * fraction of the full map. */
static void test_jobspec_pack_stored(void **state)
{
    (void)state;
    struct mlq_jobspec s, u;
    struct mlq_err err = {0};
    char *full, *lean;
    size_t full_len, lean_len;
    fill_spec(&s);
    assert_int_equal(mlq_proto_jobspec_pack_stored(&s, &lean, &lean_len, &err), 0);
    assert_int_equal(mlq_proto_jobspec_unpack(lean, lean_len, &u, &err), 0);
    assert_spec_eq(&s, &u);
    assert_string_equal(u.image, s.image);
    assert_int_equal(u.held_ms, s.held_ms);
    mlq_proto_jobspec_free(&u);
    free(lean);

    char *argv[] = {"python3", "score.py", "7"};
    struct mlq_jobspec p = {.owner = "alice",
                            .argv = argv,
                            .argc = 3,
                            .workdir = "/w",
                            .cpus_m = 1000,
                            .mem = 2LL << 30,
                            .kill_grace_ms = 30000};
    assert_int_equal(mlq_proto_jobspec_pack(&p, &full, &full_len, &err), 0);
    assert_int_equal(mlq_proto_jobspec_pack_stored(&p, &lean, &lean_len, &err), 0);
    assert_true(lean_len * 3 < full_len);
    assert_int_equal(mlq_proto_jobspec_unpack(lean, lean_len, &u, &err), 0);
    assert_spec_eq(&p, &u);
    assert_null(u.name);
    assert_null(u.team);
    assert_int_equal(u.nodes, 0);
    assert_int_equal(u.kill_grace_ms, 30000);
    mlq_proto_jobspec_free(&u);
    free(full);
    free(lean);
}

/* The decoder walks the map once whatever the order of its keys: keys in
 * reverse table order, an unknown one among them, and a key twice (the
 * first counts, as for every other message) read as in table order. */
static void test_spec_keys_any_order(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 10);
    mlq_mpk_kv_str(&pk, "project", "p1");
    mlq_mpk_kv_str(&pk, "pool", "gpu");
    mlq_mpk_kv_int(&pk, "retries", 2);
    mlq_mpk_kv_int(&pk, "gpus", 0);
    mlq_mpk_kv_int(&pk, "mem", 1 << 20);
    mlq_mpk_kv_int(&pk, "cpus_m", 2000);
    mlq_mpk_kv_int(&pk, "cpus_m", 3000);
    mlq_mpk_kv_str(&pk, "workdir", "/w");
    mlq_mpk_kv_str(&pk, "zz_unknown", "x");
    char *argv[] = {"true"};
    mlq_mpk_kv_strv(&pk, "argv", argv, 1);
    struct mlq_jobspec u;
    struct mlq_err err = {0};
    /* owner and env are required: missing, the decoder names owner first */
    assert_int_equal(mlq_proto_jobspec_unpack(sb.data, sb.size, &u, &err), MLQ_EPROTO);
    assert_non_null(strstr(err.msg, "'owner'"));
    msgpack_sbuffer_clear(&sb);
    msgpack_pack_map(&pk, 12);
    mlq_mpk_kv_str(&pk, "project", "p1");
    mlq_mpk_kv_str(&pk, "pool", "gpu");
    mlq_mpk_kv_int(&pk, "retries", 2);
    mlq_mpk_kv_int(&pk, "gpus", 0);
    mlq_mpk_kv_int(&pk, "mem", 1 << 20);
    mlq_mpk_kv_int(&pk, "cpus_m", 2000);
    mlq_mpk_kv_int(&pk, "cpus_m", 3000);
    mlq_mpk_kv_str(&pk, "workdir", "/w");
    mlq_mpk_kv_str(&pk, "zz_unknown", "x");
    mlq_mpk_kv_strv(&pk, "env", NULL, 0);
    mlq_mpk_kv_strv(&pk, "argv", argv, 1);
    mlq_mpk_kv_str(&pk, "owner", "alice");
    assert_int_equal(mlq_proto_jobspec_unpack(sb.data, sb.size, &u, &err), 0);
    assert_string_equal(u.owner, "alice");
    assert_string_equal(u.argv[0], "true");
    assert_int_equal(u.cpus_m, 2000);
    assert_int_equal(u.mem, 1 << 20);
    assert_int_equal(u.retries, 2);
    assert_string_equal(u.pool, "gpu");
    assert_string_equal(u.project, "p1");
    assert_null(u.name);
    assert_int_equal(u.envc, 0);
    mlq_proto_jobspec_free(&u);
    msgpack_sbuffer_destroy(&sb);
}

static void test_jobspec_copy_pack(void **state)
{
    (void)state;
    struct mlq_jobspec s, c, u;
    struct mlq_err err = {0};
    char *buf;
    size_t len;
    fill_spec(&s);
    assert_int_equal(mlq_proto_jobspec_copy(&c, &s, &err), 0);
    assert_spec_eq(&s, &c);
    assert_ptr_not_equal(c.argv, s.argv);
    assert_ptr_not_equal(c.owner, s.owner);
    assert_ptr_not_equal(c.require, s.require);
    assert_ptr_not_equal(c.require[0], s.require[0]);
    assert_ptr_not_equal(c.pool, s.pool);
    assert_ptr_not_equal(c.gpu_type, s.gpu_type);
    assert_int_equal(mlq_proto_jobspec_pack(&c, &buf, &len, &err), 0);
    assert_int_equal(mlq_proto_jobspec_unpack(buf, len, &u, &err), 0);
    assert_spec_eq(&s, &u);
    mlq_proto_jobspec_free(&u);
    /* a truncated blob is refused and leaves nothing behind */
    assert_int_equal(mlq_proto_jobspec_unpack(buf, len - 1, &u, &err), MLQ_EPROTO);
    assert_null(u.argv);
    free(buf);
    mlq_proto_jobspec_free(&u);
    mlq_proto_jobspec_free(&c);
    assert_null(c.owner);
    mlq_proto_jobspec_free(NULL);

    fill_spec(&c); /* unpack applies the same checks as decode */
    c.cpus_m = 0;
    assert_int_equal(mlq_proto_jobspec_pack(&c, &buf, &len, &err), 0);
    assert_int_equal(mlq_proto_jobspec_unpack(buf, len, &u, &err), MLQ_EPROTO);
    free(buf);

    memset(&s, 0, sizeof s); /* an empty spec copies as empty */
    assert_int_equal(mlq_proto_jobspec_copy(&c, &s, &err), 0);
    assert_null(c.argv);
    mlq_proto_jobspec_free(&c);
}

static void expect_check_bad(int (*check)(const char *, struct mlq_err *), const char *v,
                             const char *want)
{
    struct mlq_err err = {0};
    int rc = check(v, &err);
    if (rc != MLQ_EINVAL || !strstr(err.msg, want))
        fail_msg("'%s': rc %d, message \"%s\", wanted \"%s\"", v ? v : "(null)", rc, err.msg, want);
}

static void test_placement_checks(void **state)
{
    (void)state;
    const char *good_labels[] = {"a=b", "zone=eu-west-1", "K_.-9=", "x==y", "url=http://h/p?q=1"};
    for (size_t i = 0; i < N(good_labels); i++)
        assert_int_equal(mlq_proto_label_check(good_labels[i], NULL), 0);
    expect_check_bad(mlq_proto_label_check, NULL, "label is missing");
    expect_check_bad(mlq_proto_label_check, "", "KEY=VALUE");
    expect_check_bad(mlq_proto_label_check, "a", "KEY=VALUE");
    expect_check_bad(mlq_proto_label_check, "\xc3\xa9=1", "KEY with characters");
    expect_check_bad(mlq_proto_label_check, "a=\xc3\xa9", "VALUE with spaces or unprintable");
    expect_check_bad(mlq_proto_label_check, "a=\x7f", "VALUE");

    const char *good_pools[] = {"default", "a100", "team:ml@eu", "x"};
    for (size_t i = 0; i < N(good_pools); i++)
        assert_int_equal(mlq_proto_pool_check(good_pools[i], NULL), 0);
    char pool[MLQ_MAX_NAME + 2];
    memset(pool, 'p', sizeof pool - 1);
    pool[sizeof pool - 1] = '\0';
    expect_check_bad(mlq_proto_pool_check, pool, "longer than 128 bytes");
    pool[MLQ_MAX_NAME] = '\0';
    assert_int_equal(mlq_proto_pool_check(pool, NULL), 0);
    expect_check_bad(mlq_proto_pool_check, NULL, "pool name is empty");
    expect_check_bad(mlq_proto_pool_check, "a\tb", "printable");

    const char *good_types[] = {"h100", "a100",   "rtx4090", "fake",
                                "l4",   "mi300x", "a_b-c",   "a100-1g.10gb"};
    for (size_t i = 0; i < N(good_types); i++)
        assert_int_equal(mlq_proto_gpu_type_check(good_types[i], NULL), 0);
    expect_check_bad(mlq_proto_gpu_type_check, "", "GPU type is empty");
    expect_check_bad(mlq_proto_gpu_type_check, "A100", "a-z 0-9 _ -");
    expect_check_bad(mlq_proto_gpu_type_check, "a/100", "a-z 0-9 _ - .");
    expect_check_bad(mlq_proto_gpu_type_check, "1g+me", "a-z 0-9 _ - .");
    expect_check_bad(mlq_proto_gpu_type_check, "abcdefghijabcdefghijabcdefghijabc", "longer");

    struct mlq_jobspec s; /* the spec check applies them, and owns the ranges */
    fill_spec(&s);
    s.priority = MLQ_MAX_PRIORITY;
    assert_int_equal(mlq_proto_jobspec_check(&s, NULL), 0);
    s.priority = MLQ_MAX_PRIORITY + 1;
    expect_spec_bad(&s, "priority must be between -1000 and 1000");
    fill_spec(&s);
    s.nrequire = MLQ_MAX_LABELS + 1;
    expect_spec_bad(&s, "more than 32 required labels");
    fill_spec(&s);
    s.require = NULL;
    expect_spec_bad(&s, "require is missing");
    fill_spec(&s);
    s.pool = "a b";
    expect_spec_bad(&s, "spec: pool");
    fill_spec(&s);
    s.gpu_type = "H100";
    expect_spec_bad(&s, "spec: gpu_type");
}

/* --input / --output paths and a report's manifest: bounded on the wire
 * and by the spec's checks. */
static void test_manifest_bounds(void **state)
{
    (void)state;
    struct mlq_msg m;
    fill_sample(MLQ_MSG_SUBMIT, &m);
    char *many[MLQ_MAX_IO_PATHS + 1];
    for (size_t i = 0; i < N(many); i++)
        many[i] = "data.csv";
    m.u.submit.spec.inputs = many;
    m.u.submit.spec.ninputs = MLQ_MAX_IO_PATHS + 1;
    expect_msg_reject(&m, "'inputs' must have 0..64 entries");
    m.u.submit.spec.ninputs = MLQ_MAX_IO_PATHS;
    roundtrip(&m);
    char *empty[] = {"model.pt", ""};
    m.u.submit.spec.outputs = empty;
    m.u.submit.spec.noutputs = 2;
    expect_msg_reject(&m, "output path 1 must be 1 to 4096 bytes");

    struct mlq_jobspec s;
    fill_spec(&s);
    char *nl[] = {"a\nb"};
    s.inputs = nl;
    s.ninputs = 1;
    expect_spec_bad(&s, "input path 0 holds a newline");

    fill_sample(MLQ_MSG_REPORT, &m);
    char *big = malloc(MLQ_MAX_MANIFEST + 2);
    memset(big, ' ', MLQ_MAX_MANIFEST + 1);
    big[MLQ_MAX_MANIFEST + 1] = '\0';
    m.u.report.manifest = big;
    expect_msg_reject(&m, "'manifest' is longer than");
    big[MLQ_MAX_MANIFEST] = '\0';
    roundtrip(&m);
    free(big);
}

/* Every key of a job spec, written here a second time on purpose: a key
 * added to the packers' table (protospec.c) and not here, or the other way
 * round, fails test_spec_keys_both_forms. */
static const char *const all_keys[] = {
    "name",
    "owner",
    "argv",
    "env",
    "workdir",
    "cpus_m",
    "mem",
    "gpus",
    "retries",
    "retry_backoff_ms",
    "time_limit_ms",
    "kill_grace_ms",
    "warn_signal",
    "warn_before_ms",
    "priority",
    "pool",
    "require",
    "gpu_type",
    "gpu_frac",
    "gpu_mem",
    "deps",
    "array",
    "max_running",
    "idempotency_key",
    "nodes",
    "image",
    "inputs",
    "outputs",
    "held_by",
    "held_ms",
    "stdout_file",
    "stderr_file",
    "team",
    "project",
    "preempt_grace_ms",
    "min_runtime_ms",
    "no_preempt",
    "preemptions",
    "preempt_note",
};
#define NALL (sizeof all_keys / sizeof all_keys[0])

/* Marks in seen[] the keys of the packed map in buf. */
static void map_keys(const char *buf, size_t len, bool seen[NALL])
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    assert_int_equal(msgpack_unpack_next(&up, buf, len, NULL), MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(up.data.type, MSGPACK_OBJECT_MAP);
    memset(seen, 0, NALL * sizeof *seen);
    for (uint32_t i = 0; i < up.data.via.map.size; i++) {
        const msgpack_object *k = &up.data.via.map.ptr[i].key;
        assert_int_equal(k->type, MSGPACK_OBJECT_STR);
        size_t j = 0;
        while (j < NALL && (strlen(all_keys[j]) != k->via.str.size ||
                            memcmp(all_keys[j], k->via.str.ptr, k->via.str.size) != 0))
            j++;
        if (j == NALL)
            fail_msg("key %.*s is not in the test's list", (int)k->via.str.size, k->via.str.ptr);
        seen[j] = true;
    }
    msgpack_unpacked_destroy(&up);
}

static void pack_both(const struct mlq_jobspec *s, char **wire, size_t *wl, char **stored,
                      size_t *sl)
{
    struct mlq_err err = {0};
    assert_int_equal(mlq_proto_jobspec_pack(s, wire, wl, &err), 0);
    assert_int_equal(mlq_proto_jobspec_pack_stored(s, stored, sl, &err), 0);
}

/* A spec with every key set comes back the same from either form (read
 * back and packed again in the other form, byte for byte), and both forms
 * carry the same keys: a key one packer forgot, or the reader cannot
 * read, fails here. Three specs, as a gang can be neither an array nor
 * use a GPU share; between them every key is set. */
static void test_spec_keys_both_forms(void **state)
{
    (void)state;
    assert_int_equal(mlq_protospec_key_count(), NALL);
    for (size_t i = 0; i < NALL; i++)
        assert_string_equal(mlq_protospec_key_name(i), all_keys[i]);
    assert_null(mlq_protospec_key_name(NALL));
    struct mlq_jobspec v[3];
    for (int k = 0; k < 3; k++)
        fill_spec(&v[k]);
    v[1].gpus = 0;
    v[1].gpu_frac = 25;
    v[1].gpu_mem = 10LL << 30;
    v[2].array = NULL;
    v[2].max_running = 0;
    v[2].nodes = 4;
    bool any[NALL] = {0};
    for (int k = 0; k < 3; k++) {
        char *wire, *stored, *w2, *s2;
        size_t wl, sl, w2l, s2l;
        struct mlq_jobspec from_wire, from_stored;
        struct mlq_err err = {0};
        pack_both(&v[k], &wire, &wl, &stored, &sl);
        if (mlq_proto_jobspec_unpack(wire, wl, &from_wire, &err) != 0)
            fail_msg("spec %d: %s", k, err.msg);
        assert_int_equal(mlq_proto_jobspec_unpack(stored, sl, &from_stored, &err), 0);
        pack_both(&from_stored, &w2, &w2l, &s2, &s2l);
        assert_int_equal(w2l, wl); /* the stored form lost nothing of the wire's */
        assert_memory_equal(w2, wire, wl);
        free(w2);
        free(s2);
        pack_both(&from_wire, &w2, &w2l, &s2, &s2l);
        assert_int_equal(s2l, sl); /* nor the wire form of the stored one's */
        assert_memory_equal(s2, stored, sl);
        free(w2);
        free(s2);
        bool in_wire[NALL], in_stored[NALL];
        map_keys(wire, wl, in_wire);
        map_keys(stored, sl, in_stored);
        for (size_t i = 0; i < NALL; i++) {
            /* the wire has every key; the stored form those set */
            if (in_stored[i] && !in_wire[i])
                fail_msg("key %s stored but not on the wire", all_keys[i]);
            any[i] |= in_stored[i];
        }
        mlq_proto_jobspec_free(&from_wire);
        mlq_proto_jobspec_free(&from_stored);
        free(wire);
        free(stored);
    }
    for (size_t i = 0; i < NALL; i++)
        if (!any[i])
            fail_msg("key %s never stored", all_keys[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reject_spec),           cmocka_unit_test(test_jobspec_check),
        cmocka_unit_test(test_jobspec_copy_pack),     cmocka_unit_test(test_spec_keys_any_order),
        cmocka_unit_test(test_jobspec_pack_stored),   cmocka_unit_test(test_reject_retry_fields),
        cmocka_unit_test(test_placement_checks),      cmocka_unit_test(test_jobspec_share),
        cmocka_unit_test(test_reject_placement_spec), cmocka_unit_test(test_manifest_bounds),
        cmocka_unit_test(test_spec_keys_both_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
