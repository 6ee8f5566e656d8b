/* Unit tests for the key and audit parts of the CLI, without a network: where
 * the credentials come from (creds.c: --insecure, `insecure`, `key`,
 * MLQ_KEY, the default key next to the config, `scheduler_key`, relative
 * paths, broken setups), `mlq keygen` (modes, no overwrite without
 * --force), the public key check of `mlq admin`, `mlq events --since`
 * parsing, the events and users tables and JSON, and the keys and daemon
 * options of `mlq up` (upkeys.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd_admin.h"
#include "cmd_events.h"
#include "cmd_keys.h"
#include "creds.h"
#include "keys.h"
#include "upkeys.h"

struct fix {
    char dir[64];
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/mlq-clikeys-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static char *path_in(const struct fix *f, const char *name)
{
    static char buf[4][256];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, 256, "%s/%s", f->dir, name);
    return p;
}

static void make_pair(const char *path, struct mlq_keypair *kp)
{
    struct mlq_err err = {0};
    assert_int_equal(mlq_keys_generate(kp, &err), 0);
    assert_int_equal(mlq_keys_write(path, kp, false, &err), 0);
}

static void expect_creds_fail(const struct mlq_creds_src *src, int code, const char *want)
{
    struct mlq_creds c;
    struct mlq_err err = {0};
    int rc = mlq_creds_load(src, &c, &err);
    if (rc != code || !strstr(err.msg, want))
        fail_msg("rc %d \"%s\", wanted %d \"%s\"", rc, err.msg, code, want);
}

/* ---- creds ------------------------------------------------------------ */

static void test_creds_plain(void **state)
{
    struct fix *f = *state;
    struct mlq_creds c;
    struct mlq_err err = {0};
    struct mlq_creds_src src = {.insecure = true, .config_path = path_in(f, "none")};
    assert_int_equal(mlq_creds_load(&src, &c, &err), 0);
    assert_true(c.plain);
    src.insecure = false;
    write_file(path_in(f, "config"), "scheduler = tcp://127.0.0.1:1\ninsecure = yes\n");
    src.config_path = path_in(f, "config");
    assert_int_equal(mlq_creds_load(&src, &c, &err), 0);
    assert_true(c.plain);
    write_file(path_in(f, "config"), "insecure = perhaps\n");
    expect_creds_fail(&src, MLQ_EINVAL, "insecure must be yes or no");
    write_file(path_in(f, "config"), "insecure = no\n");
    expect_creds_fail(&src, MLQ_EINVAL, "no client key");
}

static void test_creds_missing(void **state)
{
    struct fix *f = *state;
    /* no config at all: keys are required, plain is never a fallback */
    struct mlq_creds_src src = {.config_path = path_in(f, "nothing/config")};
    expect_creds_fail(&src, MLQ_EINVAL, "no client key");
    expect_creds_fail(&src, MLQ_EINVAL, "mlq keygen");
    /* a key but no scheduler_key */
    struct mlq_keypair kp;
    make_pair(path_in(f, "key"), &kp);
    src.config_path = path_in(f, "config");
    write_file(src.config_path, "key = key\n");
    expect_creds_fail(&src, MLQ_EINVAL, "no scheduler_key");
    /* a scheduler_key file that is not there */
    write_file(src.config_path, "key = key\nscheduler_key = server.pub\n");
    expect_creds_fail(&src, MLQ_ENOTFOUND, "server.pub");
    /* a malformed one */
    write_file(path_in(f, "server.pub"), "not a key\n");
    expect_creds_fail(&src, MLQ_EINVAL, "server.pub");
}

static void test_creds_curve(void **state)
{
    struct fix *f = *state;
    struct mlq_keypair me, other, server;
    make_pair(path_in(f, "key"), &me); /* the default, next to the config */
    make_pair(path_in(f, "other.key"), &other);
    make_pair(path_in(f, "server.key"), &server);
    struct mlq_creds c;
    struct mlq_err err = {0};
    struct mlq_creds_src src = {.config_path = path_in(f, "config")};
    write_file(src.config_path, "scheduler_key = server.key.pub\n");
    assert_int_equal(mlq_creds_load(&src, &c, &err), 0);
    assert_false(c.plain);
    assert_string_equal(c.curve.server_public, server.public_z85);
    assert_string_equal(c.curve.own_public, me.public_z85);
    assert_string_equal(c.curve.own_secret, me.secret_z85);
    /* `key` in the config (relative to its directory) */
    write_file(src.config_path, "key = other.key\nscheduler_key = server.key.pub\n");
    assert_int_equal(mlq_creds_load(&src, &c, &err), 0);
    assert_string_equal(c.curve.own_public, other.public_z85);
    /* MLQ_KEY beats the config */
    src.env_key = path_in(f, "key");
    assert_int_equal(mlq_creds_load(&src, &c, &err), 0);
    assert_string_equal(c.curve.own_public, me.public_z85);
    /* --insecure beats everything */
    src.insecure = true;
    assert_int_equal(mlq_creds_load(&src, &c, &err), 0);
    assert_true(c.plain);
    mlq_creds_wipe(&c);
    assert_int_equal(c.curve.own_secret[0], '\0');
    /* a secret key others may read is refused, like ssh does */
    src.insecure = false;
    assert_int_equal(chmod(path_in(f, "key"), 0644), 0);
    expect_creds_fail(&src, MLQ_EPERM, "key");
}

static void test_config_dir(void **state)
{
    (void)state;
    char *d = mlq_creds_config_dir("/a/b/config");
    assert_string_equal(d, "/a/b");
    free(d);
    d = mlq_creds_config_dir("/config");
    assert_string_equal(d, "/");
    free(d);
    d = mlq_creds_config_dir("config");
    assert_string_equal(d, ".");
    free(d);
}

/* ---- keygen and admin ------------------------------------------------- */

static void test_keygen(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    struct stat st;
    const char *key = path_in(f, "sub/dir/key");
    assert_int_equal(mlq_cli_keygen_write(key, false, &err), 0);
    assert_int_equal(stat(key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(path_in(f, "sub/dir/key.pub"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
    assert_int_equal(stat(path_in(f, "sub/dir"), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    struct mlq_keypair a, b;
    assert_int_equal(mlq_keys_read_secret(key, &a, &err), 0);
    /* no silent overwrite; --force makes a new pair */
    assert_int_equal(mlq_cli_keygen_write(key, false, &err), MLQ_ESTATE);
    assert_int_equal(mlq_keys_read_secret(key, &b, &err), 0);
    assert_string_equal(a.public_z85, b.public_z85);
    assert_int_equal(mlq_cli_keygen_write(key, true, &err), 0);
    assert_int_equal(mlq_keys_read_secret(key, &b, &err), 0);
    assert_string_not_equal(a.public_z85, b.public_z85);
    assert_int_equal(mlq_cli_keygen_write(path_in(f, "x.pub"), false, &err), MLQ_EINVAL);
    assert_int_equal(mlq_cli_keygen_write("", false, &err), MLQ_EINVAL);
}

static void test_admin_read_pub(void **state)
{
    struct fix *f = *state;
    struct mlq_keypair kp;
    struct mlq_err err = {0};
    char out[MLQ_KEY_Z85_LEN + 1];
    make_pair(path_in(f, "alice"), &kp);
    assert_int_equal(mlq_cli_admin_read_pub(path_in(f, "alice.pub"), out, &err), 0);
    assert_string_equal(out, kp.public_z85);
    /* the secret key file, with its .pub beside it: refused */
    assert_int_equal(mlq_cli_admin_read_pub(path_in(f, "alice"), out, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "looks like a secret key"));
    /* a public key under another name is fine */
    write_file(path_in(f, "bob-key.txt"), kp.public_z85);
    assert_int_equal(mlq_cli_admin_read_pub(path_in(f, "bob-key.txt"), out, &err), 0);
    write_file(path_in(f, "junk.pub"), "hello\n");
    assert_int_equal(mlq_cli_admin_read_pub(path_in(f, "junk.pub"), out, &err), MLQ_EINVAL);
    assert_int_equal(mlq_cli_admin_read_pub(path_in(f, "none.pub"), out, &err), MLQ_ENOTFOUND);
}

/* ---- events --since ----------------------------------------------------- */

static int64_t since(const char *s)
{
    int64_t out = -1;
    struct mlq_err err = {0};
    if (mlq_cli_parse_since(s, 1700000000000LL, &out, &err) != 0)
        fail_msg("'%s': %s", s, err.msg);
    return out;
}

static void test_parse_since(void **state)
{
    (void)state;
    assert_true(since("2h") == 1700000000000LL - 7200000);
    assert_true(since("90s") == 1700000000000LL - 90000);
    assert_true(since("45") == 1700000000000LL - 45000);
    assert_true(since("2024-05-01T12:00:00Z") == 1714564800000LL);
    assert_true(since("2024-05-01T12:00Z") == 1714564800000LL);
    assert_true(since("2024-05-01 12:00:00.250Z") == 1714564800250LL);
    assert_true(since("2024-05-01T14:00:00+02:00") == 1714564800000LL);
    assert_true(since("2024-05-01T10:30:00-0130") == 1714564800000LL);
    assert_true(since("2024-05-01T12:00:60Z") == 1714564859000LL); /* leap second */
    /* local time without a zone */
    struct tm tm = {.tm_year = 124, .tm_mon = 4, .tm_mday = 1, .tm_hour = 9, .tm_isdst = -1};
    assert_true(since("2024-05-01T09:00") == (int64_t)mktime(&tm) * 1000);
    struct tm day = {.tm_year = 124, .tm_mon = 1, .tm_mday = 29, .tm_isdst = -1};
    assert_true(since("2024-02-29") == (int64_t)mktime(&day) * 1000);

    static const char *const bad[] = {
        "",
        "yesterday",
        "2024-02-30",
        "2023-02-29",
        "2024-13-01",
        "2024-05-01T25:00",
        "2024-05-01T12:00:00X",
        "2024-05-01T12",
        "1969-12-31",
        "2024-05-01T12:00+2",
        "-5m",
        "2024-5-1",
        "2024-05-01T12:00:00.Z",
        "2024-05-01T12:00:00+24:00",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t out;
        struct mlq_err err = {0};
        if (mlq_cli_parse_since(bad[i], 1700000000000LL, &out, &err) != MLQ_CLI_EUSAGE)
            fail_msg("'%s' accepted as %lld", bad[i], (long long)out);
        assert_non_null(strstr(err.msg, "--since"));
    }
}

/* ---- tables and JSON ---------------------------------------------------- */

static char *capture_events(const struct mlq_eventinfo *e, uint32_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    assert_int_equal(mlq_cli_events_print(fp, e, n, false), 0);
    fclose(fp);
    return buf;
}

static void test_events_output(void **state)
{
    (void)state;
    struct mlq_eventinfo e[] = {
        {.seq = 1,
         .time_ms = 1714564800000LL,
         .kind = "state",
         .job_id = "1a2b3c4d-0000-4000-8000-000000000001",
         .actor = "user:alice",
         .from = "RUNNING",
         .to = "CANCELLED",
         .detail = "cancelled\033[2J by alice"},
        {.seq = 2, .time_ms = 1714564801000LL, .kind = "key_added", .detail = "admin root"},
        {.seq = 3, .time_ms = 1714564802000LL, .kind = "worker_up", .worker = "w1"},
    };
    char *out = capture_events(e, 3);
    assert_non_null(strstr(out, "TIME"));
    assert_non_null(strstr(out, "ACTOR"));
    assert_non_null(strstr(out, "1a2b3c4d "));
    assert_null(strstr(out, "1a2b3c4d-"));
    assert_non_null(strstr(out, "RUNNING -> CANCELLED: cancelled?[2J by alice"));
    assert_null(strchr(out, '\033'));
    assert_non_null(strstr(out, "admin root"));
    assert_non_null(strstr(out, "user:alice"));
    free(out);

    json_t *doc = mlq_cli_events_json(e, 3);
    assert_non_null(doc);
    json_t *arr = json_object_get(doc, "events");
    assert_int_equal(json_array_size(arr), 3);
    json_t *first = json_array_get(arr, 0);
    assert_int_equal(json_integer_value(json_object_get(first, "seq")), 1);
    assert_string_equal(json_string_value(json_object_get(first, "time")),
                        "2024-05-01T12:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(first, "from")), "RUNNING");
    assert_true(json_is_null(json_object_get(first, "worker")));
    assert_true(json_is_null(json_object_get(json_array_get(arr, 2), "actor")));
    json_decref(doc);

    /* bytes that are not UTF-8 still make a document */
    struct mlq_eventinfo bad = {.seq = 9, .time_ms = 1, .kind = "state", .detail = "caf\xe9"};
    doc = mlq_cli_events_json(&bad, 1);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(doc, "events"), 0), "detail")),
                        "caf?");
    json_decref(doc);
    doc = mlq_cli_events_json(NULL, 0);
    assert_int_equal(json_array_size(json_object_get(doc, "events")), 0);
    json_decref(doc);
}

static void test_users_output(void **state)
{
    (void)state;
    struct mlq_userinfo u[] = {
        {"w10", "worker", "raj>LODIwg27-AAQ%{e]RoL0:?#QEUIHb29}&e*G", 1714564800000LL},
        {"w2", "worker", "nB[I@b4U6Ywy63oW?1l]bQm^*uRc-2yTUV2j@my7", 1714564800000LL},
        {"bob", "user", "1Kdl9145S[QKNEOg>t8HP7o@a9:{4q@}n%#aFn/r", 1714564800000LL},
        {"root", "admin", "raj>LODIwg27-AAQ%{e]RoL0:?#QEUIHb29}&e*G", 0},
    };
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    assert_non_null(fp);
    assert_int_equal(mlq_cli_users_print(fp, u, 4, false), 0);
    fclose(fp);
    /* admins, users, then workers in version order */
    char *root = strstr(buf, "root"), *bob = strstr(buf, "bob"), *w2 = strstr(buf, "w2 ");
    char *w10 = strstr(buf, "w10");
    assert_true(root && bob && w2 && w10);
    assert_true(root < bob && bob < w2 && w2 < w10);
    assert_non_null(strstr(buf, "1Kdl9145S[QKNEOg>t8HP7o@a9:{4q@}n%#aFn/r"));
    free(buf);

    json_t *doc = mlq_cli_users_json(u, 4);
    json_t *arr = json_object_get(doc, "users");
    assert_int_equal(json_array_size(arr), 4);
    json_t *first = json_array_get(arr, 0);
    assert_string_equal(json_string_value(json_object_get(first, "name")), "root");
    assert_string_equal(json_string_value(json_object_get(first, "role")), "admin");
    assert_true(json_is_null(json_object_get(first, "added")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 1), "added")),
                        "2024-05-01T12:00:00.000Z");
    json_decref(doc);
}

/* ---- mlq up's keys ---------------------------------------------------- */

static bool argv_has(char **v, const char *a, const char *b)
{
    for (; v && v[0]; v++)
        if (strcmp(v[0], a) == 0 && (!b || (v[1] && strcmp(v[1], b) == 0)))
            return true;
    return false;
}

static void test_upkeys(void **state)
{
    struct fix *f = *state;
    struct mlq_upkeys k;
    struct mlq_err err = {0};
    struct mlq_keypair s1, s2, w;
    char user[MLQ_MAX_NAME + 1], path[MLQ_MAX_PATH], spec[2 * MLQ_MAX_PATH + 256];
    assert_int_equal(mlq_upkeys_user(user, sizeof user, &err), 0);
    assert_int_equal(mlq_upkeys_prepare(f->dir, 2, false, &k, &err), 0);
    assert_string_equal(k.user_name, user);
    assert_int_equal(mlq_keys_read_secret(k.server, &s1, &err), 0);
    assert_int_equal(mlq_keys_read_secret(k.user, &w, &err), 0);
    mlq_upkeys_worker_path(&k, 2, path, sizeof path);
    assert_int_equal(mlq_keys_read_secret(path, &w, &err), 0);
    struct stat st;
    assert_int_equal(stat(k.dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    /* a second `up` keeps the keys (and adds the new worker's) */
    assert_int_equal(mlq_upkeys_prepare(f->dir, 3, false, &k, &err), 0);
    assert_int_equal(mlq_keys_read_secret(k.server, &s2, &err), 0);
    assert_string_equal(s1.public_z85, s2.public_z85);
    mlq_upkeys_worker_path(&k, 3, path, sizeof path);
    assert_int_equal(mlq_keys_read_secret(path, &w, &err), 0);

    char **v = NULL;
    assert_int_equal(mlq_upkeys_sched_argv(&k, 3, &v, &err), 0);
    assert_true(argv_has(v, "--key", k.server));
    snprintf(spec, sizeof spec, "admin:%s:%s.pub", user, k.user);
    assert_true(argv_has(v, "--authorize", spec));
    snprintf(spec, sizeof spec, "worker:w3:%s.pub", path);
    assert_true(argv_has(v, "--authorize", spec));
    assert_false(argv_has(v, "--insecure", NULL));
    assert_int_equal(argv_has(v, "--allow-root-jobs", NULL), getuid() == 0);
    mlq_upkeys_argv_free(&v);
    assert_null(v);
    assert_int_equal(mlq_upkeys_worker_argv(&k, 3, &v, &err), 0);
    assert_true(argv_has(v, "--key", path));
    snprintf(spec, sizeof spec, "%s.pub", k.server);
    assert_true(argv_has(v, "--scheduler-key", spec));
    mlq_upkeys_argv_free(&v);

    /* a secret key whose .pub went missing is not silently replaced */
    snprintf(spec, sizeof spec, "%s.pub", k.server);
    assert_int_equal(unlink(spec), 0);
    assert_int_equal(mlq_upkeys_prepare(f->dir, 1, false, &k, &err), MLQ_ESTATE);

    /* --insecure: nothing made, the daemons are told --insecure */
    char other[128];
    snprintf(other, sizeof other, "%s/plain", f->dir);
    assert_int_equal(mlq_upkeys_prepare(other, 1, true, &k, &err), 0);
    assert_int_equal(stat(other, &st), -1);
    assert_int_equal(mlq_upkeys_sched_argv(&k, 1, &v, &err), 0);
    assert_true(argv_has(v, "--insecure", NULL));
    assert_false(argv_has(v, "--key", NULL));
    mlq_upkeys_argv_free(&v);
    assert_int_equal(mlq_upkeys_worker_argv(&k, 1, &v, &err), 0);
    assert_true(argv_has(v, "--insecure", NULL));
    assert_false(argv_has(v, "--scheduler-key", NULL));
    mlq_upkeys_argv_free(&v);
}

/* keygen suggests the admin command that fits the key: a worker's by its
 * file name. */
static void test_keygen_kind(void **state)
{
    (void)state;
    assert_string_equal(mlq_cli_keygen_kind("/etc/mlq/worker.key"), "worker");
    assert_string_equal(mlq_cli_keygen_kind("keys/worker-gpu3.key"), "worker");
    assert_string_equal(mlq_cli_keygen_kind("worker.key"), "worker");
    assert_string_equal(mlq_cli_keygen_kind("/home/bob/.config/mlq/key"), "user");
    assert_string_equal(mlq_cli_keygen_kind("/srv/worker/bob.key"), "user"); /* the file's name */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keygen_kind),
        cmocka_unit_test_setup_teardown(test_creds_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_creds_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_creds_curve, setup, teardown),
        cmocka_unit_test(test_config_dir),
        cmocka_unit_test_setup_teardown(test_keygen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_admin_read_pub, setup, teardown),
        cmocka_unit_test(test_parse_since),
        cmocka_unit_test(test_events_output),
        cmocka_unit_test(test_users_output),
        cmocka_unit_test_setup_teardown(test_upkeys, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
