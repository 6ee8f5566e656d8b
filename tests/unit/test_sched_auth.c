/* auth: identities parsed from ZAP User-Ids, the key cache behind the ZAP
 * lookup (add, replace, move a key, remove), and ownership. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "auth.h"

#define KEY_A "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define KEY_B "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"

static struct mlq_store_principal principal(const char *kind, const char *name, const char *role,
                                            const char *key)
{
    struct mlq_store_principal p = {0};
    strcpy(p.kind, kind);
    strcpy(p.name, name);
    strcpy(p.role, role);
    strcpy(p.key, key);
    return p;
}

static void test_identity(void **state)
{
    (void)state;
    struct mlq_identity who;
    assert_int_equal(mlq_auth_identity("admin:alice", false, &who, NULL), 0);
    assert_int_equal(who.roles, MLQ_ROLE_ADMIN);
    assert_string_equal(who.name, "alice");
    assert_int_equal(mlq_auth_identity("worker:w1", false, &who, NULL), 0);
    assert_int_equal(who.roles, MLQ_ROLE_WORKER);
    const char *bad[] = {"", "alice", "root:alice", "user:", ":bob", "superuser:x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(mlq_auth_identity(bad[i], false, &who, NULL), MLQ_EPERM);
    assert_int_equal(mlq_auth_identity(NULL, false, &who, NULL), MLQ_EPERM);
    /* Insecure: no keys, every role. */
    assert_int_equal(mlq_auth_identity("", true, &who, NULL), 0);
    assert_true(who.insecure);
    assert_true(who.roles & MLQ_ROLE_WORKER);
    assert_true(mlq_auth_owns(&who, "anyone"));
}

static void test_ownership(void **state)
{
    (void)state;
    struct mlq_identity who;
    assert_int_equal(mlq_auth_identity("user:bob", false, &who, NULL), 0);
    assert_true(mlq_auth_owns(&who, "bob"));
    assert_false(mlq_auth_owns(&who, "alice"));
    assert_false(mlq_auth_owns(&who, NULL));
    assert_int_equal(mlq_auth_identity("admin:root", false, &who, NULL), 0);
    assert_true(mlq_auth_owns(&who, "alice"));
}

static void test_registry(void **state)
{
    (void)state;
    struct mlq_auth *a = mlq_auth_create();
    char uid[160];
    assert_int_equal(mlq_auth_lookup(a, KEY_A, uid, sizeof uid), -1);
    struct mlq_store_principal p = principal("user", "alice", "admin", KEY_A);
    assert_int_equal(mlq_auth_put(a, &p), 0);
    assert_int_equal(mlq_auth_lookup(a, KEY_A, uid, sizeof uid), 0);
    assert_string_equal(uid, "admin:alice");
    /* A new key for alice replaces the old one. */
    p = principal("user", "alice", "user", KEY_B);
    assert_int_equal(mlq_auth_put(a, &p), 0);
    assert_int_equal(mlq_auth_lookup(a, KEY_A, uid, sizeof uid), -1);
    assert_int_equal(mlq_auth_lookup(a, KEY_B, uid, sizeof uid), 0);
    assert_string_equal(uid, "user:alice");
    /* The same key given to a worker moves it. */
    p = principal("worker", "w1", "worker", KEY_B);
    assert_int_equal(mlq_auth_put(a, &p), 0);
    assert_int_equal(mlq_auth_lookup(a, KEY_B, uid, sizeof uid), 0);
    assert_string_equal(uid, "worker:w1");
    mlq_auth_remove(a, "user", "alice"); /* gone already: no effect */
    assert_int_equal(mlq_auth_lookup(a, KEY_B, uid, sizeof uid), 0);
    mlq_auth_remove(a, "worker", "w1");
    assert_int_equal(mlq_auth_lookup(a, KEY_B, uid, sizeof uid), -1);
    p = principal("user", "x", "superuser", KEY_A);
    assert_int_equal(mlq_auth_put(a, &p), MLQ_EINVAL);
    mlq_auth_destroy(&a);
    assert_null(a);
}

/* A refusal says, in the asker's words, what is refused and who they are;
 * never the wire's message type. */
static void test_refusal_words(void **state)
{
    (void)state;
    struct mlq_identity bob = {.roles = MLQ_ROLE_USER, .name = "bob"};
    struct mlq_identity w3 = {.roles = MLQ_ROLE_WORKER, .name = "w3"};
    struct mlq_err e = {0};
    assert_int_equal(mlq_auth_refuse(&bob, MLQ_MSG_DRAIN, MLQ_ROLE_ADMIN, &e), MLQ_EPERM);
    assert_string_equal(e.msg, "only admins may drain workers (you are bob, a user)");
    mlq_auth_refuse(&bob, MLQ_MSG_USER_ADD, MLQ_ROLE_ADMIN, &e);
    assert_string_equal(e.msg, "only admins may register keys (you are bob, a user)");
    mlq_auth_refuse(&bob, MLQ_MSG_REPORT, MLQ_ROLE_WORKER, &e);
    assert_string_equal(e.msg, "only workers may report how a job ended (you are bob, a user)");
    mlq_auth_refuse(&w3, MLQ_MSG_SUBMIT, MLQ_ROLE_USER | MLQ_ROLE_ADMIN, &e);
    assert_string_equal(
        e.msg, "a worker's key may not submit jobs (this key is worker w3's; use your own)");
    /* every request a person or a worker may send has words */
    static const enum mlq_msg_type requests[] = {
        MLQ_MSG_SUBMIT,     MLQ_MSG_JOBS,           MLQ_MSG_CANCEL,
        MLQ_MSG_WORKERS,    MLQ_MSG_DRAIN,          MLQ_MSG_RESUME,
        MLQ_MSG_WHY,        MLQ_MSG_SCHEDULE_ADD,   MLQ_MSG_SCHEDULE_CMD,
        MLQ_MSG_SCHEDULES,  MLQ_MSG_LOGS,           MLQ_MSG_USER_ADD,
        MLQ_MSG_USER_RM,    MLQ_MSG_USERS,          MLQ_MSG_EVENTS,
        MLQ_MSG_METRICS,    MLQ_MSG_TOKEN_CREATE,   MLQ_MSG_TOKEN_RM,
        MLQ_MSG_TOKENS,     MLQ_MSG_USAGE,          MLQ_MSG_BACKUP,
        MLQ_MSG_WORKER_SET, MLQ_MSG_WORKER_SUMMARY, MLQ_MSG_REGISTER,
        MLQ_MSG_HEARTBEAT,  MLQ_MSG_REPORT,         MLQ_MSG_LOG_CHUNK,
        MLQ_MSG_LOG_UPLOAD, MLQ_MSG_GOODBYE,
    };
    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        char wire[64];
        snprintf(wire, sizeof wire, "may send %s", mlq_proto_type_name(requests[i]));
        mlq_auth_refuse(&bob, requests[i], MLQ_ROLE_ADMIN, &e);
        assert_null(strstr(e.msg, wire));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_ownership),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_refusal_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
