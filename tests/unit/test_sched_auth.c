/* auth: identities parsed from ZAP User-Ids, the key cache behind the ZAP
 * lookup (add, replace, move a key, remove), and ownership. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_ownership),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
