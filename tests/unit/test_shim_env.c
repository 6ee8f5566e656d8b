/* shim, the job's environment: runs the real supervisor (mlq_shim_run) in a
 * forked child on a temp attempt folder and checks what the job sees: mlq's
 * variables over the user's (MLQ_*, CUDA_VISIBLE_DEVICES, HOME...), the
 * service manager's dropped, a base PATH unless the user sends one, an
 * array task's MLQ_ARRAY_*, no GPUs for a job without, and nothing of the
 * shim's (the worker's) own environment. Every wait is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shim.h"
#include "shim_fixture.h"
#include "spool.h"
#include "testdir.h"
#include "testuser.h"

struct fx {
    char dir[64];
    pid_t shim;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f || testdir_make(f->dir, sizeof f->dir, "shimenv") < 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    shim_fx_stop(&f->shim);
    testdir_remove(f->dir);
    free(f);
    return 0;
}

static void test_environment(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c",
                    "echo \"$MLQ_JOB_ID|$MLQ_ATTEMPT|$MLQ_CPUS|$MLQ_GPUS|$CUDA_VISIBLE_DEVICES|"
                    "$NVIDIA_VISIBLE_DEVICES|$FOO|${HERITAGE-unset}|$(pwd)\""};
    char *env[] = {"FOO=bar=baz", "MLQ_JOB_ID=forged", "CUDA_VISIBLE_DEVICES=7"};
    int32_t gpus[] = {1, 3};
    struct shim_fx_job j = {
        .argv = argv, .argc = 3, .env = env, .envc = 3, .gpus = gpus, .ngpus = 2};
    shim_fx_write_assign(f->dir, &j);
    setenv("HERITAGE", "not passed", 1); /* the worker's environment is not the job's */
    shim_fx_run(&f->shim, f->dir, 0, 0);
    unsetenv("HERITAGE");
    char *out = testdir_read(f->dir, "stdout");
    char want[512];
    snprintf(want, sizeof want, "%s|3|0.5|1,3|1,3|1,3|bar=baz|unset|%s\n", SHIM_FX_JOB_ID, f->dir);
    assert_string_equal(out, want);
    free(out);
}

/* The whole environment of a job with --export NONE: the base PATH, the
 * account's HOME, USER, LOGNAME and SHELL, mlq's variables; the user's
 * values of those, of MLQ_* and of the service manager's variables are
 * dropped, the scheduler's MLQ_SCHEDULE* pass, a user PATH wins. */
static void test_environment_whole(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/usr/bin/env"};
    char *env[] = {"HOME=/forged",           "SHELL=/forged",     "NOTIFY_SOCKET=/run/x",
                   "LISTEN_FDS=3",           "MLQ_WORKER=forged", "MLQ_SCHEDULE=nightly",
                   "LD_LIBRARY_PATH=/opt/l", "MLQ_LIMITS=enforce"};
    struct shim_fx_job j = {.argv = argv, .argc = 1, .env = env, .envc = 8};
    shim_fx_write_assign(f->dir, &j);
    setenv("MLQ_WORKER", "wtest", 1);
    setenv("HERITAGE", "not passed", 1);
    shim_fx_run(&f->shim, f->dir, 0, 0);
    unsetenv("HERITAGE");
    unsetenv("MLQ_WORKER");
    char *out = testdir_read(f->dir, "stdout");
    struct passwd *pw = getpwuid(geteuid());
    assert_non_null(pw);
    char want[2048];
    snprintf(want, sizeof want,
             "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
             "MLQ_SCHEDULE=nightly\nLD_LIBRARY_PATH=/opt/l\nHOME=%s\nUSER=%s\nLOGNAME=%s\n"
             "SHELL=%s\nMLQ_JOB_ID=%s\nMLQ_ATTEMPT=3\nMLQ_CPUS=0.5\nMLQ_GPUS=\n"
             "CUDA_VISIBLE_DEVICES=\nNVIDIA_VISIBLE_DEVICES=\nMLQ_WORKER=wtest\n",
             pw->pw_dir, pw->pw_name, pw->pw_name, pw->pw_shell[0] ? pw->pw_shell : "/bin/sh",
             SHIM_FX_JOB_ID);
    assert_string_equal(out, want);
    free(out);
}

/* A PATH the user sends (an activated virtualenv's) replaces the base one. */
static void test_environment_user_path(void **state)
{
    struct fx *f = *state;
    char *env[] = {"PATH=/opt/venv/bin:/usr/bin"};
    char *argv[] = {"/bin/sh", "-c", "echo \"$PATH\""};
    struct shim_fx_job j = {.argv = argv, .argc = 3, .env = env, .envc = 1};
    shim_fx_write_assign(f->dir, &j);
    shim_fx_run(&f->shim, f->dir, 0, 0);
    char *out = testdir_read(f->dir, "stdout");
    assert_string_equal(out, "/opt/venv/bin:/usr/bin\n");
    free(out);
}

/* A task of an array sees its array, index and size (which the user's
 * --env cannot forge); a plain job sees none of them. */
static void test_array_environment(void **state)
{
    struct fx *f = *state;
    static const char arr[] = "aaaa0000-0000-4000-8000-000000000001";
    char *argv[] = {"/bin/sh", "-c",
                    "echo \"${MLQ_ARRAY_JOB_ID-unset}|${MLQ_ARRAY_INDEX-unset}|"
                    "${MLQ_ARRAY_SIZE-unset}\""};
    char *env[] = {"MLQ_ARRAY_INDEX=99"};
    struct shim_fx_job j = {.argv = argv,
                            .argc = 3,
                            .env = env,
                            .envc = 1,
                            .array_id = arr,
                            .array_index = 17,
                            .array_size = 1000};
    shim_fx_write_assign(f->dir, &j);
    shim_fx_run(&f->shim, f->dir, 0, 0);
    char *out = testdir_read(f->dir, "stdout");
    char want[128];
    snprintf(want, sizeof want, "%s|17|1000\n", arr);
    assert_string_equal(out, want);
    free(out);
}

static void test_plain_job_no_array_env(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "echo \"${MLQ_ARRAY_JOB_ID-unset}|${MLQ_ARRAY_SIZE-unset}\""};
    struct shim_fx_job j = {.argv = argv, .argc = 3};
    shim_fx_write_assign(f->dir, &j);
    shim_fx_run(&f->shim, f->dir, 0, 0);
    char *out = testdir_read(f->dir, "stdout");
    assert_string_equal(out, "unset|unset\n");
    free(out);
}

static void test_no_gpus_hides_all(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "echo \"[${CUDA_VISIBLE_DEVICES-unset}][$MLQ_GPUS]\""};
    struct shim_fx_job j = {.argv = argv, .argc = 3};
    shim_fx_write_assign(f->dir, &j);
    setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3", 1);
    shim_fx_run(&f->shim, f->dir, 0, 0);
    unsetenv("CUDA_VISIBLE_DEVICES");
    char *out = testdir_read(f->dir, "stdout");
    assert_string_equal(out, "[][]\n");
    free(out);
}

/* On a worker that offers MIG devices, CUDA_VISIBLE_DEVICES names the
 * job's GPUs as the worker's MLQ_GPU_CUDA_NAMES says (a MIG UUID, a whole
 * GPU's physical index), MLQ_GPUS keeps the indexes, and the job never
 * sees the worker's variable; a malformed one fails the start. */
static void test_mig_cuda_names(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c",
                    "echo \"$CUDA_VISIBLE_DEVICES|$NVIDIA_VISIBLE_DEVICES|$MLQ_GPUS|"
                    "${MLQ_GPU_CUDA_NAMES-unset}\""};
    int32_t gpus[] = {2, 3};
    struct shim_fx_job j = {.argv = argv, .argc = 3, .gpus = gpus, .ngpus = 2};
    shim_fx_write_assign(f->dir, &j);
    setenv("MLQ_GPU_CUDA_NAMES", "MIG-a0,MIG-b1,MIG-GPU-c2/1/0,1", 1);
    shim_fx_run(&f->shim, f->dir, 0, 0);
    char *out = testdir_read(f->dir, "stdout");
    assert_string_equal(out, "MIG-GPU-c2/1/0,1|MIG-GPU-c2/1/0,1|2,3|unset\n");
    free(out);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -f '%s/status' '%s/stdout'", f->dir, f->dir);
    assert_int_equal(system(cmd), 0);
    shim_fx_write_assign(f->dir, &j);
    setenv("MLQ_GPU_CUDA_NAMES", "MIG-a0,MIG-b1", 1); /* lacks GPU 2 */
    shim_fx_run(&f->shim, f->dir, 0, 0);
    unsetenv("MLQ_GPU_CUDA_NAMES");
    struct mlq_status st = shim_fx_status(f->dir);
    assert_int_equal(st.outcome, MLQ_OUT_START_FAILED);
    if (!strstr(st.detail, "GPU names: MLQ_GPU_CUDA_NAMES names no GPU 2"))
        fail_msg("detail: %s", st.detail);
}

/* A share of a GPU: its GPU as for whole GPUs, MLQ_GPU_FRACTION and
 * MLQ_GPU_MEM (which the user's --env cannot forge); a whole GPU has
 * neither. */
static void test_share_environment(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c",
                    "echo \"$CUDA_VISIBLE_DEVICES|${MLQ_GPU_FRACTION-unset}|"
                    "${MLQ_GPU_MEM-unset}\""};
    char *env[] = {"MLQ_GPU_FRACTION=1"};
    int32_t gpus[] = {2};
    struct shim_fx_job j = {.argv = argv,
                            .argc = 3,
                            .env = env,
                            .envc = 1,
                            .gpus = gpus,
                            .ngpus = 1,
                            .gpu_frac = 25,
                            .gpu_mem = 10LL << 30};
    shim_fx_write_assign(f->dir, &j);
    shim_fx_run(&f->shim, f->dir, 0, 0);
    char *out = testdir_read(f->dir, "stdout");
    assert_string_equal(out, "2|0.25|10737418240\n");
    free(out);
}

static void test_whole_gpu_no_share_env(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "echo \"${MLQ_GPU_FRACTION-unset}|${MLQ_GPU_MEM-unset}\""};
    int32_t gpus[] = {0};
    struct shim_fx_job j = {.argv = argv, .argc = 3, .gpus = gpus, .ngpus = 1};
    shim_fx_write_assign(f->dir, &j);
    shim_fx_run(&f->shim, f->dir, 0, 0);
    char *out = testdir_read(f->dir, "stdout");
    assert_string_equal(out, "unset|unset\n");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_environment_user_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_array_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_job_no_array_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_gpus_hides_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_share_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whole_gpu_no_share_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mig_cuda_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
