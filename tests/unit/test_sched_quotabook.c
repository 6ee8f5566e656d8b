/* scheduler, quota arithmetic (quotabook.h): a team runs up to its nominal
 * amount, borrows beyond it up to its cap and only what the cohort leaves
 * idle (other teams' unused nominal plus unclaimed capacity); teams without
 * a quota have nominal 0 and no cap; GPU shares count in hundredths;
 * per-user limits; pools without quotas are not checked; booking and
 * unbooking leave nothing behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "quotabook.h"

#define G(n) ((struct mlq_quota_amount){.gpus_h = (n), .cpus_m = 1000, .mem = 1 << 20})

static struct mlq_qdef def(const char *team, int64_t gpus_h, int64_t borrow_h)
{
    struct mlq_qdef d = {.nominal = {gpus_h, MLQ_QUOTA_NONE, MLQ_QUOTA_NONE},
                         .borrow = {borrow_h, 0, 0},
                         .user_max_running = MLQ_QUOTA_NONE,
                         .user_max_gpus_h = MLQ_QUOTA_NONE};
    snprintf(d.team, sizeof d.team, "%s", team);
    snprintf(d.pool, sizeof d.pool, "default");
    return d;
}

static enum mlq_qv_kind check(struct mlq_qbook *b, const char *team, const char *user,
                              int64_t gpus_h, struct mlq_qverdict *v)
{
    struct mlq_quota_amount a = G(gpus_h);
    mlq_qbook_check(b, team, NULL, user, NULL, &a, NULL, v);
    return v->kind;
}

static void run(struct mlq_qbook *b, const char *team, const char *user, int64_t gpus_h)
{
    struct mlq_quota_amount a = G(gpus_h);
    assert_int_equal(mlq_qbook_add_use(b, team, "default", user, NULL, &a), 0);
}

static void end(struct mlq_qbook *b, const char *team, const char *user, int64_t gpus_h)
{
    struct mlq_quota_amount a = G(gpus_h);
    mlq_qbook_sub_use(b, team, NULL, user, NULL, &a);
}

static void test_no_quota_no_check(void **state)
{
    (void)state;
    struct mlq_qbook *b = mlq_qbook_create();
    struct mlq_qverdict v;
    run(b, "vision", "ann", 100000);
    assert_int_equal(check(b, "vision", "ann", 800, &v), MLQ_QV_NONE);
    assert_true(mlq_qbook_admits(&v));
    struct mlq_qdef d = def("vision", 800, 0);
    d.pool[0] = '\0';
    snprintf(d.pool, sizeof d.pool, "big");
    assert_int_equal(mlq_qbook_set(b, &d), 0);
    assert_false(mlq_qbook_pool_has(b, "default"));
    assert_int_equal(check(b, "vision", "ann", 800, &v), MLQ_QV_NONE); /* quota elsewhere */
    mlq_qbook_destroy(&b);
    assert_null(b);
}

static void test_nominal_then_cohort(void **state)
{
    (void)state;
    struct mlq_qbook *b = mlq_qbook_create();
    struct mlq_qdef a = def("vision", 1600, 800), n = def("nlp", 800, 0);
    assert_int_equal(mlq_qbook_set(b, &a), 0);
    assert_int_equal(mlq_qbook_set(b, &n), 0);
    struct mlq_qverdict v;
    for (int i = 0; i < 16; i++) {
        assert_int_equal(check(b, "vision", "ann", 100, &v), MLQ_QV_OK);
        run(b, "vision", "ann", 100);
    }
    /* nlp runs all of its 8: nothing idle to borrow */
    for (int i = 0; i < 8; i++)
        run(b, "nlp", "bob", 100);
    assert_int_equal(check(b, "vision", "ann", 100, &v), MLQ_QV_COHORT);
    assert_false(mlq_qbook_admits(&v));
    char text[256];
    mlq_qbook_explain(&v, "vision", NULL, "ann", text, sizeof text);
    assert_string_equal(text, "team vision uses 16/16 GPUs of its quota in pool default; "
                              "borrowing 0 of 8 allowed because other teams use their quotas");
    /* nlp ends 5: vision borrows up to what is idle (5), not its cap (8) */
    for (int i = 0; i < 5; i++)
        end(b, "nlp", "bob", 100);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(check(b, "vision", "ann", 100, &v), MLQ_QV_BORROW);
        run(b, "vision", "ann", 100);
    }
    assert_int_equal(check(b, "vision", "ann", 100, &v), MLQ_QV_COHORT);
    struct mlq_quota_amount br;
    mlq_qbook_borrowed(b, "vision", NULL, &br);
    assert_int_equal(br.gpus_h, 500);
    /* nlp's own jobs stay within its nominal whatever vision borrowed */
    assert_int_equal(check(b, "nlp", "bob", 100, &v), MLQ_QV_OK);
    mlq_qbook_destroy(&b);
}

static void test_borrow_cap_and_unclaimed(void **state)
{
    (void)state;
    struct mlq_qbook *b = mlq_qbook_create();
    struct mlq_qdef a = def("vision", 200, 200);
    assert_int_equal(mlq_qbook_set(b, &a), 0);
    struct mlq_quota_amount cap = {.gpus_h = 800, .cpus_m = 64000, .mem = 1LL << 40}, one = G(100);
    struct mlq_qverdict v;
    run(b, "vision", "ann", 200);
    /* nobody else has a quota: the 6 unclaimed GPUs may be borrowed, up to the cap */
    mlq_qbook_check(b, "vision", NULL, "ann", NULL, &one, &cap, &v);
    assert_int_equal(v.kind, MLQ_QV_BORROW);
    run(b, "vision", "ann", 200);
    mlq_qbook_check(b, "vision", NULL, "ann", NULL, &one, &cap, &v);
    assert_int_equal(v.kind, MLQ_QV_CAP);
    char text[256];
    mlq_qbook_explain(&v, "vision", NULL, "ann", text, sizeof text);
    assert_string_equal(text, "team vision uses 4/2 GPUs of its quota in pool default; "
                              "borrowing 2 of 2 allowed: its borrow cap is reached");
    /* without the capacity, nothing is unclaimed */
    mlq_qbook_check(b, "vision", NULL, "ann", NULL, &one, NULL, &v);
    assert_int_equal(v.kind, MLQ_QV_CAP);
    /* a lowered quota holds from the next check; running use is kept */
    a.borrow.gpus_h = 0;
    assert_int_equal(mlq_qbook_set(b, &a), 0);
    mlq_qbook_check(b, "vision", NULL, "ann", NULL, &one, &cap, &v);
    assert_int_equal(v.kind, MLQ_QV_CAP);
    assert_int_equal(v.borrowing, 200);
    mlq_qbook_destroy(&b);
}

static void test_teams_without_quota(void **state)
{
    (void)state;
    struct mlq_qbook *b = mlq_qbook_create();
    struct mlq_qdef a = def("vision", 400, 0);
    assert_int_equal(mlq_qbook_set(b, &a), 0);
    struct mlq_qverdict v;
    /* nominal 0, no cap: runs what vision leaves idle */
    for (int i = 0; i < 4; i++) {
        assert_int_equal(check(b, "nlp", "bob", 100, &v), MLQ_QV_BORROW);
        run(b, "nlp", "bob", 100);
    }
    assert_int_equal(check(b, "nlp", "bob", 100, &v), MLQ_QV_COHORT);
    assert_int_equal(check(b, "", "joe", 100, &v), MLQ_QV_COHORT); /* no team at all */
    char text[256];
    mlq_qbook_explain(&v, "", NULL, "joe", text, sizeof text);
    assert_non_null(strstr(text, "no quota in pool default (nominal 0)"));
    /* vision still gets its nominal share */
    assert_int_equal(check(b, "vision", "ann", 400, &v), MLQ_QV_OK);
    end(b, "nlp", "bob", 100);
    assert_int_equal(check(b, NULL, "joe", 100, &v), MLQ_QV_BORROW);
    mlq_qbook_destroy(&b);
}

static void test_shares(void **state)
{
    (void)state;
    struct mlq_qbook *b = mlq_qbook_create();
    struct mlq_qdef a = def("vision", 150, 0); /* 1.5 GPUs */
    assert_int_equal(mlq_qbook_set(b, &a), 0);
    struct mlq_qverdict v;
    run(b, "vision", "ann", 100);
    assert_int_equal(check(b, "vision", "ann", 50, &v), MLQ_QV_OK);
    run(b, "vision", "ann", 50);
    assert_int_equal(check(b, "vision", "ann", 25, &v), MLQ_QV_CAP);
    char text[256];
    mlq_qbook_explain(&v, "vision", NULL, "ann", text, sizeof text);
    assert_non_null(strstr(text, "uses 1.5/1.5 GPUs"));
    end(b, "vision", "ann", 50);
    assert_int_equal(check(b, "vision", "ann", 25, &v), MLQ_QV_OK);
    mlq_qbook_destroy(&b);
}

static void test_user_limits(void **state)
{
    (void)state;
    struct mlq_qbook *b = mlq_qbook_create();
    struct mlq_qdef a = def("vision", 1600, 0);
    a.user_max_running = 4;
    a.user_max_gpus_h = 300;
    assert_int_equal(mlq_qbook_set(b, &a), 0);
    struct mlq_qverdict v;
    for (int i = 0; i < 3; i++)
        run(b, "vision", "ann", 100);
    assert_int_equal(check(b, "vision", "ann", 100, &v), MLQ_QV_USER_GPUS);
    assert_int_equal(check(b, "vision", "ann", 0, &v), MLQ_QV_OK); /* CPU only */
    run(b, "vision", "ann", 0);
    assert_int_equal(check(b, "vision", "ann", 0, &v), MLQ_QV_USER_RUNNING);
    char text[256];
    mlq_qbook_explain(&v, "vision", NULL, "ann", text, sizeof text);
    assert_string_equal(text, "user ann runs 4/4 jobs allowed by team vision");
    assert_int_equal(check(b, "vision", "bob", 100, &v), MLQ_QV_OK); /* per user */
    mlq_qbook_destroy(&b);
}

/* A cap per GPU type holds the jobs asking for that type, not others; the
 * type's use comes back when its jobs end. */
static void test_gpu_type_caps(void **state)
{
    (void)state;
    struct mlq_qbook *b = mlq_qbook_create();
    struct mlq_qdef a = def("vision", 300, 0);
    int n = 0;
    struct mlq_err err = {0};
    assert_int_equal(mlq_proto_quota_types_parse("h100:100,a100:200", a.types, &n, &err), 0);
    a.ntypes = n;
    assert_int_equal(mlq_qbook_set(b, &a), 0);
    struct mlq_quota_amount one = G(100);
    struct mlq_qverdict v;
    assert_int_equal(mlq_qbook_add_use(b, "vision", NULL, "ann", "h100", &one), 0);
    mlq_qbook_check(b, "vision", NULL, "ann", "h100", &one, NULL, &v);
    assert_int_equal(v.kind, MLQ_QV_TYPE);
    char text[256];
    mlq_qbook_explain(&v, "vision", NULL, "ann", text, sizeof text);
    assert_string_equal(text, "team vision uses 1/1 h100 GPUs of its quota in pool default; a "
                              "cap per GPU type is not borrowed beyond");
    mlq_qbook_check(b, "vision", NULL, "ann", "a100", &one, NULL, &v);
    assert_int_equal(v.kind, MLQ_QV_OK);
    mlq_qbook_check(b, "vision", NULL, "ann", NULL, &one, NULL, &v); /* any type: the total */
    assert_int_equal(v.kind, MLQ_QV_OK);
    mlq_qbook_sub_use(b, "vision", NULL, "ann", "h100", &one);
    assert_int_equal(mlq_qbook_type_used(b, "vision", NULL, "h100"), 0);
    mlq_qbook_check(b, "vision", NULL, "ann", "h100", &one, NULL, &v);
    assert_int_equal(v.kind, MLQ_QV_OK);
    /* the wire form: round trip and refusals */
    char wire[MLQ_QUOTA_TYPES_LEN + 1];
    mlq_proto_quota_types_fmt(a.types, a.ntypes, wire);
    assert_string_equal(wire, "h100:100,a100:200");
    struct mlq_quota_type t[MLQ_QUOTA_MAX_TYPES];
    const char *bad[] = {"h100",
                         "h100:",
                         "h100:1,h100:2",
                         "H 100:1",
                         "h100:-1",
                         "h100:1x",
                         "a:1,b:1,c:1,d:1,e:1,f:1,g:1,h:1,i:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(mlq_proto_quota_types_parse(bad[i], t, &n, &err), MLQ_EINVAL);
    mlq_qbook_destroy(&b);
}

/* Booked and unbooked in any order, the sums come back to nothing, and a
 * quota removed and set again sees the same use. */
static void test_book_balance(void **state)
{
    (void)state;
    struct mlq_qbook *b = mlq_qbook_create();
    struct mlq_qdef a = def("vision", 300, 100), n = def("nlp", 300, 0);
    assert_int_equal(mlq_qbook_set(b, &a), 0);
    assert_int_equal(mlq_qbook_set(b, &n), 0);
    for (int i = 0; i < 40; i++)
        run(b, i % 2 ? "vision" : "nlp", "u", 10 * (i % 7));
    assert_true(mlq_qbook_rm(b, "nlp", "default"));
    assert_false(mlq_qbook_rm(b, "nlp", "default"));
    assert_int_equal(mlq_qbook_set(b, &n), 0);
    for (int i = 39; i >= 0; i--)
        end(b, i % 2 ? "vision" : "nlp", "u", 10 * (i % 7));
    struct mlq_quota_amount u, br;
    int64_t running;
    mlq_qbook_used(b, "vision", "default", &u, &running);
    mlq_qbook_borrowed(b, "vision", "default", &br);
    assert_int_equal(u.gpus_h + u.cpus_m + u.mem + running + br.gpus_h, 0);
    struct mlq_qverdict v;
    assert_int_equal(check(b, "vision", "u", 400, &v), MLQ_QV_BORROW); /* all of nlp idle */
    assert_int_equal(check(b, "vision", "u", 401, &v), MLQ_QV_CAP);
    mlq_qbook_rm_team(b, "vision");
    assert_null(mlq_qbook_def(b, "vision", NULL));
    assert_non_null(mlq_qbook_def(b, "nlp", NULL));
    mlq_qbook_destroy(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_quota_no_check),
        cmocka_unit_test(test_nominal_then_cohort),
        cmocka_unit_test(test_borrow_cap_and_unclaimed),
        cmocka_unit_test(test_teams_without_quota),
        cmocka_unit_test(test_shares),
        cmocka_unit_test(test_user_limits),
        cmocka_unit_test(test_book_balance),
        cmocka_unit_test(test_gpu_type_caps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
