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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shim.h"
#include "shim_fixture.h"
#include "spool.h"
#include "testdir.h"
#include "testuser.h"

#define JOB_ID "99999999-9999-4999-8999-999999999999"
#define ATT_ID "11111111-1111-4111-8111-111111111111"

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
    if (f->shim > 0) {
        kill(f->shim, SIGKILL);
        waitpid(f->shim, NULL, 0);
    }
    testdir_remove(f->dir);
    free(f);
    return 0;
}

struct job {
    char **argv;
    uint32_t argc;
    char **env;
    uint32_t envc;
    int32_t *gpus;
    uint32_t ngpus;
    int32_t gpu_frac; /* a share of its one GPU (spec.gpus is then 0) */
    int64_t gpu_mem;
    const char *array_id; /* NULL: not a task */
    int32_t array_index;
    uint32_t array_size;
};

static void write_assign(struct fx *f, const struct job *j)
{
    struct mlq_msg m;
    memset(&m, 0, sizeof m);
    m.type = MLQ_MSG_ASSIGN;
    snprintf(m.u.assign.attempt_id, sizeof m.u.assign.attempt_id, "%s", ATT_ID);
    snprintf(m.u.assign.job_id, sizeof m.u.assign.job_id, "%s", JOB_ID);
    m.u.assign.attempt = 3;
    m.u.assign.spec.owner = (char *)testuser_self();
    m.u.assign.allow_root = true;
    m.u.assign.spec.argv = j->argv;
    m.u.assign.spec.argc = j->argc;
    m.u.assign.spec.env = j->env;
    m.u.assign.spec.envc = j->envc;
    m.u.assign.spec.workdir = f->dir;
    m.u.assign.spec.cpus_m = 500;
    m.u.assign.spec.mem = 1 << 20;
    m.u.assign.spec.gpus = j->gpu_frac || j->gpu_mem ? 0 : (int32_t)j->ngpus;
    m.u.assign.spec.gpu_frac = j->gpu_frac;
    m.u.assign.spec.gpu_mem = j->gpu_mem;
    m.u.assign.gpu_ids = j->gpus;
    m.u.assign.ngpu_ids = j->ngpus;
    m.u.assign.kill_grace_ms = 5000;
    if (j->array_id) {
        snprintf(m.u.assign.array_id, sizeof m.u.assign.array_id, "%s", j->array_id);
        m.u.assign.array_index = j->array_index;
        m.u.assign.array_size = j->array_size;
    }
    struct mlq_err e;
    assert_int_equal(mlq_spool_write_assign(f->dir, &m, &e), 0);
}

/* Runs the shim to its end (at most 10 s); it must exit 0. */
static void run_shim(struct fx *f)
{
    f->shim = shim_fx_start(f->dir, 0, 0);
    assert_int_equal(shim_fx_wait(&f->shim, 10000), 0);
}

static char *read_file(struct fx *f, const char *name)
{
    return testdir_read(f->dir, name);
}

static void test_environment(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c",
                    "echo \"$MLQ_JOB_ID|$MLQ_ATTEMPT|$MLQ_CPUS|$MLQ_GPUS|$CUDA_VISIBLE_DEVICES|"
                    "$NVIDIA_VISIBLE_DEVICES|$FOO|${HERITAGE-unset}|$(pwd)\""};
    char *env[] = {"FOO=bar=baz", "MLQ_JOB_ID=forged", "CUDA_VISIBLE_DEVICES=7"};
    int32_t gpus[] = {1, 3};
    struct job j = {.argv = argv, .argc = 3, .env = env, .envc = 3, .gpus = gpus, .ngpus = 2};
    write_assign(f, &j);
    setenv("HERITAGE", "not passed", 1); /* the worker's environment is not the job's */
    run_shim(f);
    unsetenv("HERITAGE");
    char *out = read_file(f, "stdout");
    char want[512];
    snprintf(want, sizeof want, "%s|3|0.5|1,3|1,3|1,3|bar=baz|unset|%s\n", JOB_ID, f->dir);
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
    struct job j = {.argv = argv, .argc = 1, .env = env, .envc = 8};
    write_assign(f, &j);
    setenv("MLQ_WORKER", "wtest", 1);
    setenv("HERITAGE", "not passed", 1);
    run_shim(f);
    unsetenv("HERITAGE");
    unsetenv("MLQ_WORKER");
    char *out = read_file(f, "stdout");
    struct passwd *pw = getpwuid(geteuid());
    assert_non_null(pw);
    char want[2048];
    snprintf(want, sizeof want,
             "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
             "MLQ_SCHEDULE=nightly\nLD_LIBRARY_PATH=/opt/l\nHOME=%s\nUSER=%s\nLOGNAME=%s\n"
             "SHELL=%s\nMLQ_JOB_ID=%s\nMLQ_ATTEMPT=3\nMLQ_CPUS=0.5\nMLQ_GPUS=\n"
             "CUDA_VISIBLE_DEVICES=\nNVIDIA_VISIBLE_DEVICES=\nMLQ_WORKER=wtest\n",
             pw->pw_dir, pw->pw_name, pw->pw_name, pw->pw_shell[0] ? pw->pw_shell : "/bin/sh",
             JOB_ID);
    assert_string_equal(out, want);
    free(out);
}

/* A PATH the user sends (an activated virtualenv's) replaces the base one. */
static void test_environment_user_path(void **state)
{
    struct fx *f = *state;
    char *env[] = {"PATH=/opt/venv/bin:/usr/bin"};
    char *argv[] = {"/bin/sh", "-c", "echo \"$PATH\""};
    struct job j = {.argv = argv, .argc = 3, .env = env, .envc = 1};
    write_assign(f, &j);
    run_shim(f);
    char *out = read_file(f, "stdout");
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
    struct job j = {.argv = argv,
                    .argc = 3,
                    .env = env,
                    .envc = 1,
                    .array_id = arr,
                    .array_index = 17,
                    .array_size = 1000};
    write_assign(f, &j);
    run_shim(f);
    char *out = read_file(f, "stdout");
    char want[128];
    snprintf(want, sizeof want, "%s|17|1000\n", arr);
    assert_string_equal(out, want);
    free(out);
}

static void test_plain_job_no_array_env(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "echo \"${MLQ_ARRAY_JOB_ID-unset}|${MLQ_ARRAY_SIZE-unset}\""};
    struct job j = {.argv = argv, .argc = 3};
    write_assign(f, &j);
    run_shim(f);
    char *out = read_file(f, "stdout");
    assert_string_equal(out, "unset|unset\n");
    free(out);
}

static void test_no_gpus_hides_all(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "echo \"[${CUDA_VISIBLE_DEVICES-unset}][$MLQ_GPUS]\""};
    struct job j = {.argv = argv, .argc = 3};
    write_assign(f, &j);
    setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3", 1);
    run_shim(f);
    unsetenv("CUDA_VISIBLE_DEVICES");
    char *out = read_file(f, "stdout");
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
    struct job j = {.argv = argv, .argc = 3, .gpus = gpus, .ngpus = 2};
    write_assign(f, &j);
    setenv("MLQ_GPU_CUDA_NAMES", "MIG-a0,MIG-b1,MIG-GPU-c2/1/0,1", 1);
    run_shim(f);
    char *out = read_file(f, "stdout");
    assert_string_equal(out, "MIG-GPU-c2/1/0,1|MIG-GPU-c2/1/0,1|2,3|unset\n");
    free(out);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -f '%s/status' '%s/stdout'", f->dir, f->dir);
    assert_int_equal(system(cmd), 0);
    write_assign(f, &j);
    setenv("MLQ_GPU_CUDA_NAMES", "MIG-a0,MIG-b1", 1); /* lacks GPU 2 */
    run_shim(f);
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
    struct job j = {.argv = argv,
                    .argc = 3,
                    .env = env,
                    .envc = 1,
                    .gpus = gpus,
                    .ngpus = 1,
                    .gpu_frac = 25,
                    .gpu_mem = 10LL << 30};
    write_assign(f, &j);
    run_shim(f);
    char *out = read_file(f, "stdout");
    assert_string_equal(out, "2|0.25|10737418240\n");
    free(out);
}

static void test_whole_gpu_no_share_env(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "echo \"${MLQ_GPU_FRACTION-unset}|${MLQ_GPU_MEM-unset}\""};
    int32_t gpus[] = {0};
    struct job j = {.argv = argv, .argc = 3, .gpus = gpus, .ngpus = 1};
    write_assign(f, &j);
    run_shim(f);
    char *out = read_file(f, "stdout");
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
