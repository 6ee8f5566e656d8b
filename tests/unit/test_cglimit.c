/* cglimit and jobusage against a fake cgroup tree (a plain folder whose
 * files stand in for the kernel's): what the v2 and v1 limit files receive
 * for a job's --mem and --cpus, how usage and OOM kills are read back,
 * a job's cgroup made under the parent the worker chose (MLQ_LIMITS_PARENT)
 * and joined, the account and off modes, the worker's choice when cgroups
 * are off, the OOM detail of a failed attempt built from memory.events
 * (not guessed from the signal), and GPU usage sampled through a fake NVML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cglimit.h"
#include "fsutil.h"
#include "jobusage.h"
#include "protousage.h"

#define ATT "11111111-1111-4111-8111-111111111111"

struct fx {
    char root[64];
};

static void put(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The file's text ("" when absent). */
static const char *get(const char *dir, const char *name)
{
    static char buf[256];
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        buf[n] = '\0';
        fclose(f);
    }
    return buf;
}

/* A folder with the v2 files of a job cgroup, as the kernel makes them. */
static void fake_v2(const char *dir)
{
    mkdir(dir, 0755);
    put(dir, "cgroup.procs", "");
    put(dir, "memory.max", "max\n");
    put(dir, "memory.oom.group", "0\n");
    put(dir, "cpu.max", "max 100000\n");
    put(dir, "memory.peak", "0\n");
    put(dir, "cpu.stat", "usage_usec 0\nuser_usec 0\nsystem_usec 0\n");
    put(dir, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/mlq-cglimit-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    setenv("MLQ_CGROUP_FS", f->root, 1);
    setenv(MLQ_CGL_ENV_PARENT, f->root, 1);
    setenv(MLQ_CGL_ENV_HIER, "v2", 1);
    setenv(MLQ_CGL_ENV_MODE, "enforce", 1);
    unsetenv(MLQ_JOBUSAGE_GPU_ENV);
    *state = f;
    return 0;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void test_modes(void **state)
{
    (void)state;
    assert_int_equal(mlq_cglimit_mode_parse("enforce"), MLQ_CGL_ENFORCE);
    assert_int_equal(mlq_cglimit_mode_parse("account"), MLQ_CGL_ACCOUNT);
    assert_int_equal(mlq_cglimit_mode_parse("off"), MLQ_CGL_OFF);
    assert_int_equal(mlq_cglimit_mode_parse("Enforce"), -1);
    assert_int_equal(mlq_cglimit_mode_parse(""), -1);
    assert_int_equal(mlq_cglimit_mode_parse(NULL), -1);
}

static void test_v2_apply(void **state)
{
    struct fx *f = *state;
    char dir[128], err_dir[128];
    struct mlq_err e = {0};
    snprintf(dir, sizeof dir, "%s/job", f->root);
    fake_v2(dir);
    assert_int_equal(mlq_cglimit_v2_apply(dir, 64LL << 20, 1500, &e), 0);
    assert_string_equal(get(dir, "memory.max"), "67108864\n");
    assert_string_equal(get(dir, "cpu.max"), "150000 100000\n");
    assert_string_equal(get(dir, "memory.oom.group"), "1\n");
    /* nothing asked: no limit; a tiny --cpus gets the kernel's least quota */
    assert_int_equal(mlq_cglimit_v2_apply(dir, 0, 0, &e), 0);
    assert_string_equal(get(dir, "memory.max"), "max\n");
    assert_string_equal(get(dir, "cpu.max"), "max 100000\n");
    assert_int_equal(mlq_cglimit_v2_apply(dir, 0, 1, &e), 0);
    assert_string_equal(get(dir, "cpu.max"), "1000 100000\n");
    /* no memory controller there: an error naming the file */
    snprintf(err_dir, sizeof err_dir, "%s/bare", f->root);
    mkdir(err_dir, 0755);
    assert_int_equal(mlq_cglimit_v2_apply(err_dir, 1 << 20, 1000, &e), MLQ_EIO);
    assert_non_null(strstr(e.msg, "memory.max"));
}

static void test_v2_read(void **state)
{
    struct fx *f = *state;
    char dir[128];
    snprintf(dir, sizeof dir, "%s/job", f->root);
    fake_v2(dir);
    put(dir, "memory.peak", "3328599654\n");
    put(dir, "cpu.stat", "usage_usec 8280000000\nuser_usec 8000000000\nsystem_usec 280000000\n");
    put(dir, "memory.events", "low 0\nhigh 0\nmax 12\noom 1\noom_kill 2\noom_group_kill 1\n");
    struct mlq_cglimit_usage u;
    mlq_cglimit_v2_read(dir, &u);
    assert_int_equal(u.mem_peak, 3328599654LL);
    assert_int_equal(u.cpu_us, 8280000000LL);
    assert_int_equal(u.oom_kills, 2);
    /* an older kernel without memory.peak, a malformed cpu.stat */
    char path[256];
    snprintf(path, sizeof path, "%s/memory.peak", dir);
    unlink(path);
    put(dir, "cpu.stat", "usage_usec lots\n");
    mlq_cglimit_v2_read(dir, &u);
    assert_int_equal(u.mem_peak, -1);
    assert_int_equal(u.cpu_us, -1);
}

static void test_v1(void **state)
{
    struct fx *f = *state;
    char mem[128], cpu[128];
    struct mlq_err e = {0};
    snprintf(mem, sizeof mem, "%s/memory", f->root);
    snprintf(cpu, sizeof cpu, "%s/cpu", f->root);
    mkdir(mem, 0755);
    mkdir(cpu, 0755);
    put(mem, "memory.limit_in_bytes", "9223372036854771712\n");
    put(cpu, "cpu.cfs_period_us", "100000\n");
    put(cpu, "cpu.cfs_quota_us", "-1\n");
    /* no memsw (swap not accounted): the memory limit alone */
    assert_int_equal(mlq_cglimit_v1_apply(mem, cpu, 4LL << 30, 2000, &e), 0);
    assert_string_equal(get(mem, "memory.limit_in_bytes"), "4294967296\n");
    assert_string_equal(get(cpu, "cpu.cfs_quota_us"), "200000\n");
    put(mem, "memory.memsw.limit_in_bytes", "9223372036854771712\n");
    assert_int_equal(mlq_cglimit_v1_apply(mem, cpu, 64LL << 20, 500, &e), 0);
    assert_string_equal(get(mem, "memory.memsw.limit_in_bytes"), "67108864\n");
    assert_string_equal(get(cpu, "cpu.cfs_quota_us"), "50000\n");
    put(mem, "memory.max_usage_in_bytes", "67108864\n");
    put(mem, "memory.failcnt", "31\n");
    put(mem, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
    put(cpu, "cpuacct.usage", "2736908123\n");
    struct mlq_cglimit_usage u;
    mlq_cglimit_v1_read(mem, cpu, &u);
    assert_int_equal(u.mem_peak, 67108864);
    assert_int_equal(u.oom_kills, 1);
    assert_int_equal(u.failcnt, 31);
    assert_int_equal(u.cpu_us, 2736908);
    /* an older kernel: no oom_kill count in oom_control */
    put(mem, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n");
    mlq_cglimit_v1_read(mem, cpu, &u);
    assert_int_equal(u.oom_kills, -1);
}

/* A job's v2 cgroup under the worker's parent, with its limits, joined by
 * the calling process (the fake cgroup.procs records the "0" it writes). */
static void test_create_join(void **state)
{
    struct fx *f = *state;
    char dir[128];
    struct mlq_err e = {0};
    struct mlq_cglimit *c = NULL;
    snprintf(dir, sizeof dir, "%s/mlq-%s", f->root, ATT);
    fake_v2(dir);
    assert_int_equal(mlq_cglimit_create(ATT, 32LL << 30, 4000, &c, &e), 0);
    assert_non_null(c);
    assert_string_equal(mlq_cglimit_path(c), dir);
    assert_int_equal(mlq_cglimit_hier(c), MLQ_CGL_V2);
    assert_true(mlq_cglimit_mem_enforced(c));
    assert_string_equal(get(dir, "memory.max"), "34359738368\n");
    assert_string_equal(get(dir, "cpu.max"), "400000 100000\n");
    assert_int_equal(mlq_cglimit_join(c), 0);
    assert_string_equal(get(dir, "cgroup.procs"), "0");
    mlq_cglimit_destroy(&c);
    assert_null(c);
    /* account: a cgroup that measures, no limit written */
    fake_v2(dir);
    setenv(MLQ_CGL_ENV_MODE, "account", 1);
    assert_int_equal(mlq_cglimit_create(ATT, 1LL << 30, 1000, &c, &e), 0);
    assert_non_null(c);
    assert_false(mlq_cglimit_mem_enforced(c));
    assert_string_equal(get(dir, "memory.max"), "max\n");
    mlq_cglimit_destroy(&c);
    /* off, or no hierarchy: no cgroup at all */
    setenv(MLQ_CGL_ENV_MODE, "off", 1);
    assert_int_equal(mlq_cglimit_create(ATT, 1LL << 30, 1000, &c, &e), 0);
    assert_null(c);
    setenv(MLQ_CGL_ENV_MODE, "enforce", 1);
    setenv(MLQ_CGL_ENV_HIER, "none", 1);
    assert_int_equal(mlq_cglimit_create(ATT, 1LL << 30, 1000, &c, &e), 0);
    assert_null(c);
    /* a name that could leave the parent */
    setenv(MLQ_CGL_ENV_HIER, "v2", 1);
    assert_int_equal(mlq_cglimit_create("../x", 1, 1, &c, &e), MLQ_EINVAL);
    assert_int_equal(mlq_cglimit_join(NULL), 0);
}

static void test_setup_off(void **state)
{
    (void)state;
    char why[512];
    setenv("MLQ_CGROUP_FS", "none", 1);
    assert_int_equal(mlq_cglimit_setup(MLQ_CGL_ENFORCE, why, sizeof why), MLQ_CGL_NONE);
    assert_non_null(strstr(why, "cgroups are off"));
    assert_string_equal(getenv(MLQ_CGL_ENV_HIER), "none");
    assert_null(getenv(MLQ_CGL_ENV_PARENT));
    assert_int_equal(mlq_cglimit_setup(MLQ_CGL_OFF, why, sizeof why), MLQ_CGL_NONE);
    assert_string_equal(getenv(MLQ_CGL_ENV_MODE), "off");
}

static void fill_assign(struct mlq_msg *m, int64_t mem, int64_t cpus_m)
{
    memset(m, 0, sizeof *m);
    m->type = MLQ_MSG_ASSIGN;
    snprintf(m->u.assign.attempt_id, sizeof m->u.assign.attempt_id, "%s", ATT);
    m->u.assign.spec.mem = mem;
    m->u.assign.spec.cpus_m = cpus_m;
}

/* The OOM detail comes from the cgroup's own count, with the limit asked
 * and the peak measured; a SIGKILL without an OOM kill is no OOM. */
static void test_oom_detail(void **state)
{
    struct fx *f = *state;
    char dir[128];
    struct mlq_err e = {0};
    struct mlq_msg assign;
    struct mlq_jobusage *u = NULL;
    snprintf(dir, sizeof dir, "%s/mlq-%s", f->root, ATT);
    fake_v2(dir);
    fill_assign(&assign, 64LL << 20, 1000);
    assert_int_equal(mlq_jobusage_create(&assign, &u, &e), 0);
    assert_string_equal(mlq_jobusage_cgroup(u), dir);
    put(dir, "memory.peak", "67108864\n");
    put(dir, "cpu.stat", "usage_usec 136781\n");
    put(dir, "memory.events", "low 0\nhigh 0\nmax 40\noom 1\noom_kill 1\n");
    struct mlq_status st = {.outcome = MLQ_OUT_SIGNALED,
                            .signal = SIGKILL,
                            .exit_code = -1,
                            .start_ms = 1000,
                            .end_ms = 1319};
    mlq_jobusage_finish(u, &st, false);
    assert_string_equal(st.detail, "out of memory (limit 64M, peak 64M)");
    assert_string_equal(st.usage.source, "cgroup2");
    assert_int_equal(st.usage.mem_peak, 67108864);
    assert_int_equal(st.usage.cpu_us, 136781);
    assert_int_equal(st.usage.wall_ms, 319);
    assert_int_equal(st.usage.gpu_mem_peak, -1);
    /* killed, but not by the OOM killer */
    put(dir, "memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
    memset(st.detail, 0, sizeof st.detail);
    mlq_jobusage_finish(u, &st, false);
    assert_string_equal(st.detail, "");
    /* a job that succeeded although one of its processes was OOM-killed */
    put(dir, "memory.events", "oom_kill 1\n");
    st.outcome = MLQ_OUT_EXITED;
    st.exit_code = 0;
    st.signal = 0;
    mlq_jobusage_finish(u, &st, false);
    assert_string_equal(st.detail, "");
    /* a v2 kernel without memory.peak: the CPU time from the cgroup, the
     * peak of the largest process, and the source says so */
    char path[256];
    snprintf(path, sizeof path, "%s/memory.peak", dir);
    assert_int_equal(unlink(path), 0);
    mlq_jobusage_finish(u, &st, false);
    assert_string_equal(st.usage.source, "proc");
    assert_int_equal(st.usage.cpu_us, 136781);
    assert_true(st.usage.mem_peak >= 0); /* no child reaped yet here */
    mlq_jobusage_destroy(&u);
    assert_null(u);
}

/* Without cgroups: CPU time and the largest process's peak from
 * getrusage, and it says so. */
static void test_proc_usage(void **state)
{
    (void)state;
    struct mlq_err e = {0};
    struct mlq_msg assign;
    struct mlq_jobusage *u = NULL;
    setenv(MLQ_CGL_ENV_HIER, "none", 1);
    fill_assign(&assign, 64LL << 20, 1000);
    assert_int_equal(mlq_jobusage_create(&assign, &u, &e), 0);
    assert_null(mlq_jobusage_cgroup(u));
    pid_t pid = fork();
    if (pid == 0) {
        volatile char *p = malloc(16 << 20);
        for (size_t i = 0; p && i < (16u << 20); i += 4096)
            p[i] = 1;
        _exit(0);
    }
    assert_true(pid > 0);
    while (waitpid(pid, NULL, 0) < 0)
        ;
    struct mlq_status st = {.outcome = MLQ_OUT_EXITED, .start_ms = 5, .end_ms = 6};
    mlq_jobusage_finish(u, &st, false);
    assert_string_equal(st.usage.source, "proc");
    assert_true(st.usage.mem_peak >= 16 << 20);
    assert_true(st.usage.cpu_us >= 0);
    assert_int_equal(st.usage.wall_ms, 1);
    mlq_jobusage_destroy(&u);
}

/* A fake NVML: GPU i has (i + 1) GiB in use and is i * 73 % busy. */
static const char fake_nvml[] =
    "struct mem { unsigned long long total, free, used; };\n"
    "struct util { unsigned gpu, memory; };\n"
    "int nvmlInit_v2(void) { return 0; }\n"
    "int nvmlShutdown(void) { return 0; }\n"
    "int nvmlDeviceGetHandleByIndex_v2(unsigned i, void **d) { *d = (void *)(unsigned long)(i + "
    "1); return 0; }\n"
    "int nvmlDeviceGetUtilizationRates(void *d, struct util *u) { unsigned long i = (unsigned "
    "long)d - 1; u->gpu = (unsigned)(i * 73); u->memory = 1; return 0; }\n"
    "int nvmlDeviceGetMemoryInfo(void *d, struct mem *m) { unsigned long i = (unsigned long)d - "
    "1; m->total = 80ULL << 30; m->used = (i + 1) << 30; m->free = m->total - m->used; return 0; "
    "}\n";

/* Where the worker reads NVML, the shim samples the attempt's own GPUs
 * (0 and 1 of 4 here): the peak of their memory together and the mean of
 * their utilisation; GPU 3 (150 %, unreadable as such) is not the job's. */
static void test_gpu_usage(void **state)
{
    struct fx *f = *state;
    char src[128], lib[128], cmd[512];
    snprintf(src, sizeof src, "%s/fake.c", f->root);
    snprintf(lib, sizeof lib, "%s/libfake-nvml.so", f->root);
    put(f->root, "fake.c", fake_nvml);
    snprintf(cmd, sizeof cmd, "cc -shared -fPIC -o '%s' '%s'", lib, src);
    assert_int_equal(system(cmd), 0);
    setenv(MLQ_CGL_ENV_HIER, "none", 1);
    setenv(MLQ_JOBUSAGE_GPU_ENV, lib, 1);
    struct mlq_msg assign;
    int32_t gpus[] = {0, 1};
    fill_assign(&assign, 1LL << 30, 1000);
    assign.u.assign.gpu_ids = gpus;
    assign.u.assign.ngpu_ids = 2;
    struct mlq_err e = {0};
    struct mlq_jobusage *u = NULL;
    assert_int_equal(mlq_jobusage_create(&assign, &u, &e), 0);
    mlq_jobusage_tick(u, 1000);
    mlq_jobusage_tick(u, 1500); /* too soon: not sampled */
    mlq_jobusage_tick(u, 2000);
    struct mlq_status st = {.outcome = MLQ_OUT_EXITED, .start_ms = 1, .end_ms = 2};
    mlq_jobusage_finish(u, &st, false);
    assert_int_equal(st.usage.gpu_mem_peak, 3LL << 30);
    assert_int_equal(st.usage.gpu_util, 36); /* (0 + 73) / 2 */
    mlq_jobusage_destroy(&u);
    /* no NVML where the worker has none: nothing made up */
    unsetenv(MLQ_JOBUSAGE_GPU_ENV);
    assert_int_equal(mlq_jobusage_create(&assign, &u, &e), 0);
    mlq_jobusage_tick(u, 1000);
    mlq_jobusage_finish(u, &st, false);
    assert_int_equal(st.usage.gpu_mem_peak, -1);
    assert_int_equal(st.usage.gpu_util, -1);
    mlq_jobusage_destroy(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes),
        cmocka_unit_test_setup_teardown(test_v2_apply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v2_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_join, setup, teardown),
        cmocka_unit_test_setup_teardown(test_setup_off, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom_detail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proc_usage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gpu_usage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
