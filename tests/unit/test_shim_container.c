/* The container run's command line (container.h): the runtime's options,
 * the account, GPUs through CDI, environment names only (never values),
 * then the image and the job's own argv untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "container.h"

static size_t count(char **v)
{
    size_t n = 0;
    while (v[n])
        n++;
    return n;
}

static bool has(char **v, const char *s)
{
    for (size_t i = 0; v[i]; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static void test_argv_as_user_with_gpus(void **state)
{
    (void)state;
    char *argv[] = {"python", "-c", "--env=not-ours"};
    char *names[] = {"MY_TOKEN", "MLQ_JOB_ID"};
    gid_t groups[] = {1000, 44};
    int32_t gpus[] = {2, 5};
    struct mlq_container_run r = {.runtime = "/usr/bin/podman",
                                  .image = "abc123",
                                  .workdir = "/home/ann/exp",
                                  .as_user = true,
                                  .uid = 1000,
                                  .gid = 1000,
                                  .groups = groups,
                                  .ngroups = 2,
                                  .gpu_ids = gpus,
                                  .ngpus = 2,
                                  .env_names = names,
                                  .nenv = 2,
                                  .argv = argv,
                                  .argc = 3};
    char **out = NULL;
    struct mlq_err err = {0};
    assert_int_equal(mlq_container_argv(&r, &out, &err), 0);
    assert_string_equal(out[0], "/usr/bin/podman");
    assert_string_equal(out[1], "run");
    const char *want[] = {"--rm",
                          "--init",
                          "--sig-proxy=true",
                          "--network=host",
                          "--cgroups=disabled",
                          "--pull=never",
                          "--volume=/home/ann/exp:/home/ann/exp",
                          "--workdir=/home/ann/exp",
                          "--user=1000:1000",
                          "--group-add=44",
                          "--device=nvidia.com/gpu=2",
                          "--device=nvidia.com/gpu=5",
                          "--env=MY_TOKEN",
                          "--env=MLQ_JOB_ID"};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!has(out, want[i]))
            fail_msg("missing %s", want[i]);
    assert_false(has(out, "--group-add=1000")); /* the primary group is --user's */
    size_t n = count(out);
    /* the image, then the job's argv as given, last */
    assert_string_equal(out[n - 4], "abc123");
    assert_string_equal(out[n - 3], "python");
    assert_string_equal(out[n - 1], "--env=not-ours");
    mlq_container_argv_free(out);
}

static void test_argv_plain(void **state)
{
    (void)state;
    char *argv[] = {"true"};
    struct mlq_container_run r = {
        .runtime = "/p", .image = "img", .workdir = "/w", .argv = argv, .argc = 1};
    char **out = NULL;
    struct mlq_err err = {0};
    assert_int_equal(mlq_container_argv(&r, &out, &err), 0);
    for (size_t i = 0; out[i]; i++) {
        assert_null(strstr(out[i], "--user"));
        assert_null(strstr(out[i], "--device"));
    }
    mlq_container_argv_free(out);
    r.ro_file = "/spool/hostfile";
    assert_int_equal(mlq_container_argv(&r, &out, &err), 0);
    assert_true(has(out, "--volume=/spool/hostfile:/spool/hostfile:ro"));
    mlq_container_argv_free(out);
    r.workdir = "/w:ro";
    assert_int_equal(mlq_container_argv(&r, &out, &err), MLQ_EINVAL);
    assert_null(out);
    assert_non_null(strstr(err.msg, "':'"));
}

static void test_passes(void **state)
{
    (void)state;
    assert_true(mlq_container_passes("MLQ_ARRAY_INDEX", false));
    assert_true(mlq_container_passes("CUDA_VISIBLE_DEVICES", false));
    assert_true(mlq_container_passes("WORLD_SIZE", false));
    assert_false(mlq_container_passes("PATH", false)); /* the image's own */
    assert_false(mlq_container_passes("HOME", false));
    assert_true(mlq_container_passes("HOME", true));
    assert_false(mlq_container_passes("LD_LIBRARY_PATH", true));
}

static void test_prepare_without_runtime(void **state)
{
    (void)state;
    char *argv[] = {"true"};
    struct mlq_container_run r = {.workdir = "/w", .argv = argv, .argc = 1};
    char id[MLQ_CONTAINER_MAX_ID + 1], **out = NULL;
    struct mlq_err err = {0};
    setenv("MLQ_WORKER", "w7", 1);
    setenv(MLQ_CONTAINER_ENV, "", 1);
    assert_int_not_equal(
        mlq_container_prepare(&r, "/nonexistent", "img", NULL, 0, NULL, -1, id, &out, &err), 0);
    assert_string_equal(err.msg, "no container runtime on worker w7");
    assert_null(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_argv_as_user_with_gpus),
        cmocka_unit_test(test_argv_plain),
        cmocka_unit_test(test_passes),
        cmocka_unit_test(test_prepare_without_runtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
