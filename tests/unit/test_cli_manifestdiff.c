/* Unit tests of `mlq diff`'s comparison of two run manifests
 * (cli/manifestdiff.h), on JSON documents alone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "manifestdiff.h"

static const char base[] =
    "{\"format\":1,\"job_id\":\"J1\",\"attempt\":1,\"started_ms\":1,\"host\":\"h1\","
    "\"argv\":[\"python\",\"train.py\"],\"workdir\":\"/w\","
    "\"env\":{\"PATH\":\"/bin\",\"MLQ_JOB_ID\":\"J1\",\"MLQ_ATTEMPT\":\"1\","
    "\"TOKEN\":\"sha256:1111111111111111\"},"
    "\"git\":{\"commit\":\"c1\",\"branch\":\"main\",\"dirty\":false,\"diff_sha256\":null,"
    "\"untracked\":0},"
    "\"gpus\":[{\"index\":0,\"model\":\"NVIDIA H100\"}],"
    "\"gpu_driver\":{\"version\":\"550.1\",\"cuda\":\"12.4\"},"
    "\"inputs\":[{\"path\":\"a.csv\",\"sha256\":\"aa\",\"size\":1,\"mtime_ms\":5},"
    "{\"path\":\"b.csv\",\"sha256\":\"bb\",\"size\":2,\"mtime_ms\":5}],"
    "\"outputs\":[]}";

static json_t *doc(void)
{
    json_t *d = json_loads(base, 0, NULL);
    assert_non_null(d);
    return d;
}

static char *diff_text(json_t *a, json_t *b)
{
    json_t *d = mlq_mdiff(a, b);
    assert_non_null(d);
    char *t = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(d);
    return t;
}

static void check(json_t *a, json_t *b, const char *want)
{
    char *got = diff_text(a, b);
    assert_string_equal(got, want);
    free(got);
}

static void test_identical_but_per_run_fields(void **state)
{
    (void)state;
    json_t *a = doc(), *b = doc();
    /* what differs for every run is not a difference */
    json_object_set_new(b, "job_id", json_string("J2"));
    json_object_set_new(b, "started_ms", json_integer(99));
    json_object_set_new(b, "host", json_string("h2"));
    json_object_set_new(json_object_get(b, "env"), "MLQ_JOB_ID", json_string("J2"));
    json_object_set_new(json_object_get(b, "env"), "CUDA_VISIBLE_DEVICES", json_string("3"));
    json_object_set_new(json_array_get(json_object_get(b, "gpus"), 0), "index", json_integer(3));
    json_object_set_new(json_object_get(b, "git"), "untracked", json_integer(3));
    /* an mtime alone, where both sides have a hash */
    json_object_set_new(json_array_get(json_object_get(b, "inputs"), 0), "mtime_ms",
                        json_integer(77));
    check(a, b, "{}");
    json_decref(a);
    json_decref(b);
}

static void test_code(void **state)
{
    (void)state;
    json_t *a = doc(), *b = doc();
    json_object_set_new(json_object_get(b, "git"), "commit", json_string("c2"));
    check(a, b, "{\"code\":{\"commit\":[\"c1\",\"c2\"]}}");
    json_object_set_new(json_object_get(b, "git"), "commit", json_string("c1"));
    json_object_set_new(json_object_get(b, "git"), "dirty", json_true());
    json_object_set_new(json_object_get(b, "git"), "diff_sha256", json_string("dd"));
    check(a, b, "{\"code\":{\"diff_sha256\":[null,\"dd\"],\"dirty\":[false,true]}}");
    json_object_set_new(b, "git", json_null());
    char *t = diff_text(a, b);
    assert_non_null(strstr(t, "\"code\":{\"git\":[{"));
    free(t);
    json_decref(a);
    json_decref(b);
}

static void test_argv_workdir_env(void **state)
{
    (void)state;
    json_t *a = doc(), *b = doc();
    json_array_append_new(json_object_get(b, "argv"), json_string("--lr=0.1"));
    json_object_set_new(b, "workdir", json_string("/x"));
    json_t *env = json_object_get(b, "env");
    json_object_del(env, "PATH");
    json_object_set_new(env, "SEED", json_string("7"));
    json_object_set_new(env, "TOKEN", json_string("sha256:2222222222222222"));
    check(a, b,
          "{\"argv\":[[\"python\",\"train.py\"],[\"python\",\"train.py\",\"--lr=0.1\"]],"
          "\"env\":{\"added\":{\"SEED\":\"7\"},\"changed\":{\"TOKEN\":"
          "[\"sha256:1111111111111111\",\"sha256:2222222222222222\"]},"
          "\"removed\":{\"PATH\":\"/bin\"}},\"workdir\":[\"/w\",\"/x\"]}");
    json_decref(a);
    json_decref(b);
}

static void test_files(void **state)
{
    (void)state;
    json_t *a = doc(), *b = doc();
    json_t *in = json_object_get(b, "inputs");
    json_object_set_new(json_array_get(in, 0), "sha256", json_string("a2"));
    json_array_remove(in, 1);
    json_array_append_new(
        in, json_pack("{s:s,s:n,s:i,s:i}", "path", "c.csv", "sha256", "size", 3, "mtime_ms", 1));
    json_array_append_new(json_object_get(b, "outputs"),
                          json_pack("{s:s,s:s}", "path", "model.pt", "sha256", "mm"));
    check(a, b,
          "{\"inputs\":{\"added\":[\"c.csv\"],\"changed\":{\"a.csv\":{\"sha256\":[\"aa\",\"a2\"]}},"
          "\"removed\":[\"b.csv\"]},\"outputs\":{\"added\":[\"model.pt\"]}}");
    json_decref(a);
    json_decref(b);
}

static void test_gpus_and_image(void **state)
{
    (void)state;
    json_t *a = doc(), *b = doc();
    json_object_set_new(json_array_get(json_object_get(b, "gpus"), 0), "model",
                        json_string("NVIDIA A100"));
    json_object_set_new(json_object_get(b, "gpu_driver"), "cuda", json_string("12.2"));
    json_object_set_new(b, "image", json_pack("{s:s,s:s}", "ref", "r:1", "digest", "sha256:x"));
    check(a, b,
          "{\"gpus\":{\"cuda\":[\"12.4\",\"12.2\"],\"models\":[[\"NVIDIA H100\"],"
          "[\"NVIDIA A100\"]]},\"image\":{\"digest\":[null,\"sha256:x\"],\"ref\":[null,"
          "\"r:1\"]}}");
    json_decref(a);
    json_decref(b);
}

static void test_print(void **state)
{
    (void)state;
    json_t *a = doc(), *b = doc();
    json_object_set_new(json_object_get(b, "git"), "commit", json_string("c2"));
    json_object_set_new(json_object_get(b, "env"), "SEED", json_string("7\x1b[31m"));
    json_t *d = mlq_mdiff(a, b);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(mlq_mdiff_print(f, d), 0);
    fclose(f);
    assert_non_null(strstr(buf, "code.commit: c1 -> c2\n"));
    assert_non_null(strstr(buf, "env: + SEED=7"));
    assert_null(strchr(buf, '\x1b')); /* control characters are not passed on */
    free(buf);
    json_decref(d);
    json_decref(a);
    json_decref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identical_but_per_run_fields),
        cmocka_unit_test(test_code),
        cmocka_unit_test(test_argv_workdir_env),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_gpus_and_image),
        cmocka_unit_test(test_print),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
