/* Unit tests of the run manifest's pieces on the worker: which names are
 * secret and how their values are shown (manifest.h), the bounded JSON text
 * (manifest.h), and the hashing of --input/--output paths (filehash.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "clock.h"
#include "filehash.h"
#include "gitinfo.h"
#include "manifest.h"
#include "runmanifest.h"
#include "testdir.h"

/* printf s3cret | sha256sum | cut -c1-16 */
#define S3CRET_HASH "sha256:1ec1c26b50d5d3c5"

static void test_default_patterns(void **state)
{
    (void)state;
    struct mlq_manifest_secrets s;
    mlq_manifest_secrets_init(&s);
    const char *secret[] = {"MY_API_TOKEN",          "my_api_token",  "GITHUB_TOKEN",
                            "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD",   "password",
                            "SSH_KEY_FILE",          "wandb_api_key", "Token"};
    const char *plain[] = {"PATH",       "HOME", "USER",  "CUDA_VISIBLE_DEVICES",
                           "MLQ_JOB_ID", "TOKE", "PASSWD"};
    for (size_t i = 0; i < sizeof secret / sizeof *secret; i++)
        assert_true(mlq_manifest_is_secret(&s, secret[i]));
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++)
        assert_false(mlq_manifest_is_secret(&s, plain[i]));
}

static void test_extra_patterns(void **state)
{
    (void)state;
    struct mlq_manifest_secrets s;
    mlq_manifest_secrets_init(&s);
    assert_false(mlq_manifest_is_secret(&s, "MY_DB_PASS"));
    assert_int_equal(mlq_manifest_secrets_add(&s, "MY_*_PASS"), 0);
    assert_true(mlq_manifest_is_secret(&s, "MY_DB_PASS"));
    assert_true(mlq_manifest_is_secret(&s, "my_db_pass"));
    assert_false(mlq_manifest_is_secret(&s, "MY_DB_PASSAGE"));
    /* the defaults stay */
    assert_true(mlq_manifest_is_secret(&s, "X_TOKEN"));
    assert_int_equal(mlq_manifest_secrets_add(&s, ""), -1);
    assert_int_equal(mlq_manifest_secrets_add(&s, "A\nB"), -1);
    char long_pat[MLQ_MANIFEST_MAX_PATTERN + 2];
    memset(long_pat, 'A', sizeof long_pat - 1);
    long_pat[sizeof long_pat - 1] = '\0';
    assert_int_equal(mlq_manifest_secrets_add(&s, long_pat), -1);
    while (s.n < MLQ_MANIFEST_MAX_PATTERNS)
        assert_int_equal(mlq_manifest_secrets_add(&s, "Z*"), 0);
    assert_int_equal(mlq_manifest_secrets_add(&s, "Y*"), -1);
}

static void test_redact(void **state)
{
    (void)state;
    char out[MLQ_MANIFEST_REDACTED_LEN + 1];
    mlq_manifest_redact("s3cret", out, sizeof out);
    assert_string_equal(out, S3CRET_HASH);
    assert_int_equal(strlen(out), MLQ_MANIFEST_REDACTED_LEN);
}

static void test_env_object(void **state)
{
    (void)state;
    struct mlq_manifest_secrets s;
    mlq_manifest_secrets_init(&s);
    char *envp[] = {
        "PATH=/usr/bin", "MY_API_TOKEN=s3cret", "EMPTY=", "NOEQUALS", "=nameless", "A=b=c", NULL};
    json_t *env = mlq_manifest_env(envp, &s);
    assert_non_null(env);
    assert_int_equal(json_object_size(env), 4);
    assert_string_equal(json_string_value(json_object_get(env, "PATH")), "/usr/bin");
    assert_string_equal(json_string_value(json_object_get(env, "MY_API_TOKEN")), S3CRET_HASH);
    assert_string_equal(json_string_value(json_object_get(env, "EMPTY")), "");
    assert_string_equal(json_string_value(json_object_get(env, "A")), "b=c");
    char *text = json_dumps(env, 0);
    assert_null(strstr(text, "s3cret"));
    free(text);
    json_decref(env);
}

/* A document with n env entries and n inputs. */
static json_t *big_doc(int n)
{
    json_t *doc = json_pack("{s:i,s:[s,s],s:o,s:o}", "format", 1, "argv", "python", "train.py",
                            "env", json_object(), "inputs", json_array());
    for (int i = 0; i < n; i++) {
        char k[32];
        snprintf(k, sizeof k, "VAR_%05d", i);
        json_object_set_new(json_object_get(doc, "env"), k, json_string("some value here"));
        json_array_append_new(json_object_get(doc, "inputs"),
                              json_pack("{s:s,s:i}", "path", k, "size", i));
    }
    return doc;
}

static void test_dump_fits(void **state)
{
    (void)state;
    json_t *doc = big_doc(10);
    char *text = NULL;
    assert_int_equal(mlq_manifest_dump(doc, 1 << 20, &text), 0);
    json_t *back = json_loads(text, 0, NULL);
    assert_true(json_equal(back, doc));
    assert_null(json_object_get(back, "env_truncated"));
    json_decref(back);
    free(text);
    json_decref(doc);
}

static void test_dump_truncates_lists(void **state)
{
    (void)state;
    json_t *doc = big_doc(5000);
    char *text = NULL;
    assert_int_equal(mlq_manifest_dump(doc, 8192, &text), 0);
    assert_true(strlen(text) <= 8192);
    json_t *back = json_loads(text, 0, NULL);
    assert_non_null(back);
    assert_true(json_is_true(json_object_get(back, "env_truncated")));
    assert_true(json_is_true(json_object_get(back, "inputs_truncated")));
    /* what is kept is the start, in order; the rest of the document stays */
    assert_true(json_array_size(json_object_get(back, "inputs")) > 0);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(back, "inputs"), 0), "path")),
                        "VAR_00000");
    assert_non_null(json_object_get(json_object_get(back, "env"), "VAR_00000"));
    assert_int_equal(json_array_size(json_object_get(back, "argv")), 2);
    json_decref(back);
    free(text);
    json_decref(doc);
}

static void test_dump_too_big_without_lists(void **state)
{
    (void)state;
    char *huge = malloc(20000);
    memset(huge, 'x', 19999);
    huge[19999] = '\0';
    json_t *doc = json_pack("{s:i,s:[s]}", "format", 1, "argv", huge);
    free(huge);
    char *text = NULL;
    assert_int_equal(mlq_manifest_dump(doc, 4096, &text), 0);
    assert_true(strlen(text) <= 4096);
    json_t *back = json_loads(text, 0, NULL);
    assert_true(json_is_true(json_object_get(back, "truncated")));
    json_decref(back);
    free(text);
    json_decref(doc);
}

/* ---- filehash ---- */

struct fix {
    char dir[128];
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof *f);
    if (!f || testdir_make(f->dir, sizeof f->dir, "manifest") < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    testdir_remove(f->dir);
    free(f);
    return 0;
}

static void put(const char *dir, const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static struct mlq_filehash_limits limits(void)
{
    return (struct mlq_filehash_limits){
        .max_file = 1 << 20, .deadline_ms = mlq_clock_mono_ms() + 10000, .max_entries = 100};
}

/* printf abc | sha256sum */
#define ABC_SHA "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void test_hash_file_and_walk(void **state)
{
    struct fix *f = *state;
    char p[512];
    snprintf(p, sizeof p, "%s/d", f->dir);
    assert_int_equal(mkdir(p, 0700), 0);
    snprintf(p, sizeof p, "%s/d/sub", f->dir);
    assert_int_equal(mkdir(p, 0700), 0);
    put(f->dir, "d/b.txt", "abc");
    put(f->dir, "d/a.txt", "");
    put(f->dir, "d/sub/c.txt", "abc");
    snprintf(p, sizeof p, "%s/d/", f->dir);
    struct mlq_filehash_limits lim = limits();
    json_t *arr = json_array();
    assert_int_equal(mlq_filehash_add(arr, p, &lim), 0);
    assert_int_equal(json_array_size(arr), 3);
    const char *want[] = {"d/a.txt", "d/b.txt", "d/sub/c.txt"};
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(arr, i);
        const char *path = json_string_value(json_object_get(e, "path"));
        assert_non_null(strstr(path, want[i]));
        assert_null(strstr(path, "//"));
    }
    json_t *b = json_array_get(arr, 1);
    assert_string_equal(json_string_value(json_object_get(b, "sha256")), ABC_SHA);
    assert_int_equal(json_integer_value(json_object_get(b, "size")), 3);
    assert_true(json_integer_value(json_object_get(b, "mtime_ms")) > 0);
    json_decref(arr);
}

static void test_hash_limits(void **state)
{
    struct fix *f = *state;
    char p[512];
    put(f->dir, "big", "0123456789");
    snprintf(p, sizeof p, "%s/big", f->dir);
    struct mlq_filehash_limits lim = limits();
    lim.max_file = 5;
    json_t *arr = json_array();
    assert_int_equal(mlq_filehash_add(arr, p, &lim), 0);
    json_t *e = json_array_get(arr, 0);
    assert_true(json_is_null(json_object_get(e, "sha256")));
    assert_non_null(json_object_get(e, "reason"));
    assert_int_equal(json_integer_value(json_object_get(e, "size")), 10);
    /* past the deadline: recorded, not hashed */
    lim = limits();
    lim.deadline_ms = mlq_clock_mono_ms() - 1;
    assert_int_equal(mlq_filehash_add(arr, p, &lim), 0);
    assert_true(json_is_null(json_object_get(json_array_get(arr, 1), "sha256")));
    /* full list */
    lim = limits();
    lim.max_entries = 2;
    assert_int_equal(mlq_filehash_add(arr, p, &lim), 2);
    assert_int_equal(json_array_size(arr), 2);
    /* missing */
    json_t *none = json_array();
    snprintf(p, sizeof p, "%s/nope", f->dir);
    lim = limits();
    assert_int_equal(mlq_filehash_add(none, p, &lim), 1);
    assert_int_equal(json_array_size(none), 0);
    json_decref(none);
    json_decref(arr);
}

/* ---- gitinfo ---- */

static void sh(const char *dir, const char *cmd)
{
    char line[1024];
    snprintf(line, sizeof line, "cd '%s' && (%s) >/dev/null 2>&1", dir, cmd);
    assert_int_equal(system(line), 0);
}

static void test_git(void **state)
{
    struct fix *f = *state;
    int64_t far = mlq_clock_mono_ms() + 10000;
    /* outside any work tree: nothing to record */
    assert_null(mlq_gitinfo_collect(f->dir, far));
    sh(f->dir, "git init -q -b main && git config user.email t@t && git config user.name t &&"
               " echo one >code.py && git add code.py && git commit -q -m one");
    char sub[512];
    snprintf(sub, sizeof sub, "%s/sub", f->dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    json_t *g = mlq_gitinfo_collect(sub, far);
    assert_non_null(g);
    assert_null(json_object_get(g, "error"));
    assert_int_equal(strlen(json_string_value(json_object_get(g, "commit"))), 40);
    assert_string_equal(json_string_value(json_object_get(g, "branch")), "main");
    assert_true(json_is_false(json_object_get(g, "dirty")));
    assert_true(json_is_null(json_object_get(g, "diff_sha256")));
    json_decref(g);
    /* an untracked file is counted, a changed tracked one makes it dirty */
    sh(f->dir, "echo new >notes.txt && echo two >code.py");
    g = mlq_gitinfo_collect(f->dir, far);
    assert_true(json_is_true(json_object_get(g, "dirty")));
    assert_int_equal(strlen(json_string_value(json_object_get(g, "diff_sha256"))), 64);
    assert_int_equal(json_integer_value(json_object_get(g, "untracked")), 1);
    json_decref(g);
    /* no time left: an error, not a wait */
    g = mlq_gitinfo_collect(f->dir, mlq_clock_mono_ms() - 1);
    assert_string_equal(json_string_value(json_object_get(g, "error")),
                        "git did not answer in time");
    json_decref(g);
}

/* ---- the start's reader child ---- */

/* Page faults of waited-for children: any forked child makes some (its
 * first writes copy pages), so an unchanged count means no child ran. */
static long child_faults(void)
{
    struct rusage ru;
    assert_int_equal(getrusage(RUSAGE_CHILDREN, &ru), 0);
    return ru.ru_minflt;
}

static json_t *start_in(const char *workdir, char **inputs, uint32_t ninputs, char *missing,
                        size_t len)
{
    struct mlq_msg m = {.type = MLQ_MSG_ASSIGN};
    char *argv[] = {"true", NULL}, *env[] = {"PATH=/usr/bin", NULL};
    snprintf(m.u.assign.job_id, sizeof m.u.assign.job_id, "%s",
             "0d3c1b9e-5a8f-4c2e-9b71-2f6a4e8d1c07");
    snprintf(m.u.assign.attempt_id, sizeof m.u.assign.attempt_id, "%s",
             "7e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b");
    m.u.assign.attempt = 1;
    m.u.assign.spec.argv = argv;
    m.u.assign.spec.argc = 1;
    m.u.assign.spec.workdir = (char *)workdir;
    m.u.assign.spec.inputs = inputs;
    m.u.assign.spec.ninputs = ninputs;
    struct mlq_runmanifest_ids ids = {.drop = false};
    return mlq_runmanifest_start(&m, env, &ids, missing, len);
}

/* Outside any git tree and without --input there is nothing to read as the
 * job's account: the manifest is recorded without forking a reader; an
 * input (here a missing one) still gets one. */
static void test_start_without_reader(void **state)
{
    struct fix *f = *state;
    char missing[512];
    long before = child_faults();
    json_t *doc = start_in(f->dir, NULL, 0, missing, sizeof missing);
    assert_non_null(doc);
    assert_string_equal(missing, "");
    assert_true(json_is_null(json_object_get(doc, "git")));
    assert_null(json_object_get(doc, "inputs_error"));
    assert_int_equal(child_faults(), before);
    json_decref(doc);
    char in[512], *inputs[] = {in};
    snprintf(in, sizeof in, "%s/absent", f->dir);
    doc = start_in(f->dir, inputs, 1, missing, sizeof missing);
    assert_string_equal(missing, in);
    assert_true(child_faults() > before);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_patterns),
        cmocka_unit_test(test_extra_patterns),
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_env_object),
        cmocka_unit_test(test_dump_fits),
        cmocka_unit_test(test_dump_truncates_lists),
        cmocka_unit_test(test_dump_too_big_without_lists),
        cmocka_unit_test_setup_teardown(test_hash_file_and_walk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hash_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_git, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_without_reader, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
