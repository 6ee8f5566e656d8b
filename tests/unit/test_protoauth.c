/* Unit tests for common/protoauth.c, the key and audit messages: principal name
 * syntax, and every way user_add, user_rm, user_list, events, event_list
 * and assign.allow_root can be malformed (the round trip of each type is
 * in test_proto.c). Bad values are produced by the encoder itself, which
 * does not validate, so each case changes exactly one field. */
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

static const char KEY1[] = "raj>LODIwg27-AAQ%{e]RoL0:?#QEUIHb29}&e*G";

static void expect_reject(const struct mlq_msg *m, const char *want)
{
    char *buf;
    size_t len;
    struct mlq_err err = {0};
    assert_int_equal(mlq_proto_encode(m, &buf, &len, &err), 0);
    struct mlq_msg out;
    int rc = mlq_proto_decode(buf, len, &out, &err);
    free(buf);
    if (rc != MLQ_EPROTO || !strstr(err.msg, want))
        fail_msg("rc %d, message \"%s\", wanted \"%s\"", rc, err.msg, want);
}

static void decode_ok(const struct mlq_msg *m, struct mlq_msg *out)
{
    char *buf;
    size_t len;
    struct mlq_err err = {0};
    assert_int_equal(mlq_proto_encode(m, &buf, &len, &err), 0);
    int rc = mlq_proto_decode(buf, len, out, &err);
    free(buf);
    if (rc != 0)
        fail_msg("decode: %s", err.msg);
}

static void test_name_check(void **state)
{
    (void)state;
    struct mlq_err err = {0};
    char longest[MLQ_MAX_NAME + 2];
    memset(longest, 'a', MLQ_MAX_NAME);
    longest[MLQ_MAX_NAME] = '\0';
    assert_int_equal(mlq_proto_principal_name_check("alice", &err), 0);
    assert_int_equal(mlq_proto_principal_name_check("a.b-c_d@e.org", &err), 0);
    assert_int_equal(mlq_proto_principal_name_check(longest, &err), 0);
    longest[MLQ_MAX_NAME] = 'a';
    longest[MLQ_MAX_NAME + 1] = '\0';
    assert_int_equal(mlq_proto_principal_name_check(longest, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "at most 128"));
    static const char *const bad[] = {"", "a b", "a/b", "a:b", "é", "a\n", "a,b", "$USER"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(mlq_proto_principal_name_check(bad[i], &err), MLQ_EINVAL);
    assert_int_equal(mlq_proto_principal_name_check(NULL, &err), MLQ_EINVAL);
}

static void test_user_add_rejects(void **state)
{
    (void)state;
    struct mlq_msg m = {.type = MLQ_MSG_USER_ADD};
    strcpy(m.u.user_add.name, "alice");
    strcpy(m.u.user_add.key, KEY1);
    strcpy(m.u.user_add.role, "admin");
    struct mlq_msg out;
    decode_ok(&m, &out);
    assert_string_equal(out.u.user_add.role, "admin");
    mlq_proto_msg_free(&out);

    strcpy(m.u.user_add.role, "root");
    expect_reject(&m, "user_add: key 'role'");
    strcpy(m.u.user_add.role, "worker");
    strcpy(m.u.user_add.name, "al ice");
    expect_reject(&m, "user_add: key 'name': a name may hold only");
    strcpy(m.u.user_add.name, "alice");
    m.u.user_add.key[39] = '\0';
    expect_reject(&m, "user_add: key 'key' is not a z85 public key");
    strcpy(m.u.user_add.key, KEY1);
    m.u.user_add.key[5] = ' ';
    expect_reject(&m, "user_add: key 'key' is not a z85 public key");
    m.u.user_add.key[0] = '\0';
    expect_reject(&m, "user_add: key 'key'");
}

static void test_user_rm_rejects(void **state)
{
    (void)state;
    struct mlq_msg m = {.type = MLQ_MSG_USER_RM};
    strcpy(m.u.user_rm.name, "w1");
    strcpy(m.u.user_rm.kind, "worker");
    struct mlq_msg out;
    decode_ok(&m, &out);
    assert_string_equal(out.u.user_rm.kind, "worker");
    strcpy(m.u.user_rm.kind, "admin"); /* admins are users */
    expect_reject(&m, "user_rm: key 'kind'");
    strcpy(m.u.user_rm.kind, "user");
    m.u.user_rm.name[0] = '\0';
    expect_reject(&m, "user_rm: key 'name'");
}

static void test_user_list_rejects(void **state)
{
    (void)state;
    struct mlq_userinfo u[2] = {{"alice", "admin", "", 5}, {"w1", "worker", "", 6}};
    strcpy(u[0].key, KEY1);
    strcpy(u[1].key, KEY1);
    struct mlq_msg m = {.type = MLQ_MSG_USER_LIST};
    m.u.user_list.users = u;
    m.u.user_list.nusers = 2;
    struct mlq_msg out;
    decode_ok(&m, &out);
    assert_int_equal(out.u.user_list.nusers, 2);
    mlq_proto_msg_free(&out);
    /* a failure in the second entry frees the first */
    strcpy(u[1].role, "boss");
    expect_reject(&m, "userinfo: key 'role'");
    strcpy(u[1].role, "user");
    u[1].added_ms = -1;
    expect_reject(&m, "userinfo: key 'added_ms'");
    u[1].added_ms = 0;
    strcpy(u[1].name, "a;b");
    expect_reject(&m, "userinfo: key 'name'");
    /* empty and absent lists are fine */
    m.u.user_list.users = NULL;
    decode_ok(&m, &out);
    assert_int_equal(out.u.user_list.nusers, 0);
    assert_null(out.u.user_list.users);
}

static void test_events_rejects(void **state)
{
    (void)state;
    struct mlq_msg m = {.type = MLQ_MSG_EVENTS};
    struct mlq_msg out;
    decode_ok(&m, &out); /* job nil, since 0, limit 0 */
    assert_null(out.u.events.job);
    mlq_proto_msg_free(&out);
    m.u.events.job = "";
    expect_reject(&m, "events: key 'job' must not be empty");
    char longref[MLQ_MAX_JOBREF + 2]; /* a job's name may stand for its id */
    memset(longref, 'a', sizeof longref - 1);
    longref[sizeof longref - 1] = '\0';
    m.u.events.job = longref + 1;
    decode_ok(&m, &out);
    assert_string_equal(out.u.events.job, longref + 1);
    mlq_proto_msg_free(&out);
    m.u.events.job = longref;
    expect_reject(&m, "events: key 'job'");
    m.u.events.job = NULL;
    m.u.events.limit = MLQ_MAX_LIST + 1;
    expect_reject(&m, "events: key 'limit'");
    m.u.events.limit = 0;
    m.u.events.since_ms = -5;
    expect_reject(&m, "events: key 'since_ms'");
}

static void test_event_list_rejects(void **state)
{
    (void)state;
    struct mlq_eventinfo e[2] = {{.seq = 1, .time_ms = 2, .kind = "submit"},
                                 {.seq = 2, .time_ms = 3, .kind = "state"}};
    struct mlq_msg m = {.type = MLQ_MSG_EVENT_LIST};
    m.u.event_list.events = e;
    m.u.event_list.nevents = 2;
    struct mlq_msg out;
    decode_ok(&m, &out);
    assert_int_equal(out.u.event_list.nevents, 2);
    assert_null(out.u.event_list.events[1].actor);
    mlq_proto_msg_free(&out);

    e[1].kind = NULL;
    expect_reject(&m, "eventinfo: key 'kind'");
    e[1].kind = "state";
    e[1].time_ms = -1;
    expect_reject(&m, "eventinfo: key 'time_ms'");
    e[1].time_ms = 3;
    char actor[MLQ_MAX_ACTOR + 2];
    memset(actor, 'a', sizeof actor - 1);
    actor[sizeof actor - 1] = '\0';
    e[1].actor = actor;
    expect_reject(&m, "eventinfo: key 'actor'");
    e[1].actor = NULL;
    char *detail = malloc(MLQ_MAX_STR + 2);
    assert_non_null(detail);
    memset(detail, 'd', MLQ_MAX_STR + 1);
    detail[MLQ_MAX_STR + 1] = '\0';
    e[0].detail = detail;
    expect_reject(&m, "eventinfo: key 'detail'");
    free(detail);
}

/* assign.allow_root is optional: a body without it reads as false, and a
 * non-bool is refused. */
static void test_assign_allow_root(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    char *buf;
    size_t len;
    struct mlq_err err = {0};
    static char *argv[] = {"true"};
    for (int variant = 0; variant < 3; variant++) {
        mlq_mpk_out_init(&o, MLQ_MAX_MSG);
        msgpack_pack_map(&o.pk, 9 + (variant > 0));
        mlq_mpk_kv_uint(&o.pk, "v", MLQ_PROTO_VERSION);
        mlq_mpk_kv_str(&o.pk, "t", "assign");
        mlq_mpk_kv_uint(&o.pk, "rid", 1);
        mlq_mpk_kv_str(&o.pk, "attempt_id", "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f");
        mlq_mpk_kv_str(&o.pk, "job_id", "f0e1d2c3-b4a5-4968-8776-655443322110");
        mlq_mpk_kv_int(&o.pk, "attempt", 1);
        mlq_mpk_put_str(&o.pk, "spec");
        msgpack_pack_map(&o.pk, 8);
        mlq_mpk_kv_str(&o.pk, "name", NULL);
        mlq_mpk_kv_str(&o.pk, "owner", "alice");
        mlq_mpk_kv_strv(&o.pk, "argv", argv, 1);
        mlq_mpk_kv_strv(&o.pk, "env", NULL, 0);
        mlq_mpk_kv_str(&o.pk, "workdir", "/tmp");
        mlq_mpk_kv_int(&o.pk, "cpus_m", 1000);
        mlq_mpk_kv_int(&o.pk, "mem", 1 << 20);
        mlq_mpk_kv_int(&o.pk, "gpus", 0);
        mlq_mpk_kv_array(&o.pk, "gpu_ids", 0);
        mlq_mpk_kv_int(&o.pk, "kill_grace_ms", 1000);
        if (variant == 1)
            mlq_mpk_kv_bool(&o.pk, "allow_root", true);
        if (variant == 2)
            mlq_mpk_kv_int(&o.pk, "allow_root", 1);
        assert_int_equal(mlq_mpk_out_finish(&o, &buf, &len, &err), 0);
        struct mlq_msg out;
        int rc = mlq_proto_decode(buf, len, &out, &err);
        free(buf);
        if (variant == 2) {
            assert_int_equal(rc, MLQ_EPROTO);
            assert_non_null(strstr(err.msg, "allow_root"));
            continue;
        }
        if (rc != 0)
            fail_msg("variant %d: %s", variant, err.msg);
        assert_int_equal(out.u.assign.allow_root, variant == 1);
        mlq_proto_msg_free(&out);
    }
}

static void test_free_helpers(void **state)
{
    (void)state;
    struct mlq_eventinfo e = {.kind = strdup("k"), .detail = strdup("d")};
    mlq_proto_eventinfo_free(&e);
    assert_null(e.kind);
    assert_null(e.detail);
    mlq_proto_eventinfo_free(NULL);
    assert_string_equal(mlq_proto_type_name(MLQ_MSG_USER_ADD), "user_add");
    assert_string_equal(mlq_proto_type_name(MLQ_MSG_EVENT_LIST), "event_list");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_check),        cmocka_unit_test(test_user_add_rejects),
        cmocka_unit_test(test_user_rm_rejects),   cmocka_unit_test(test_user_list_rejects),
        cmocka_unit_test(test_events_rejects),    cmocka_unit_test(test_event_list_rejects),
        cmocka_unit_test(test_assign_allow_root), cmocka_unit_test(test_free_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
