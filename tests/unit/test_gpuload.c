/* gpuload against a stand-in libnvidia-ml built here: readings per GPU,
 * GPUs NVML cannot read (or reads nonsense for) left out, no probe at all
 * when the library lacks the calls or does not initialise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "gpuload.h"

/* FAKE_NVML picks what it does; GPU 2 cannot be read, GPU 3 says 150%. */
static const char fake_src[] =
    "#include <stdlib.h>\n#include <string.h>\n"
    "struct mem { unsigned long long total, free, used; };\n"
    "struct util { unsigned gpu, memory; };\n"
    "static const char *mode(void) { const char *m = getenv(\"FAKE_NVML\"); return m ? m : \"\"; "
    "}\n"
    "int nvmlInit_v2(void) { return strcmp(mode(), \"initfail\") == 0 ? 9 : 0; }\n"
    "int nvmlShutdown(void) { return 0; }\n"
    "int nvmlDeviceGetHandleByIndex_v2(unsigned i, void **d) { *d = (void *)(size_t)(i + 1); "
    "return 0; }\n"
    "#ifndef NO_UTIL\n"
    "int nvmlDeviceGetUtilizationRates(void *d, struct util *u) { size_t i = (size_t)d - 1; "
    "if (i == 2) return 15; u->gpu = i == 3 ? 150 : (unsigned)(i * 73); u->memory = 1; return 0; "
    "}\n"
    "#endif\n"
    "int nvmlDeviceGetMemoryInfo(void *d, struct mem *m) { size_t i = (size_t)d - 1; "
    "m->total = 80ULL << 30; m->used = (i + 1) << 30; m->free = m->total - m->used; return 0; }\n";

struct fx {
    char dir[64], lib[128], nolib[128];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/mlq-test-gpuload-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char src[128], cmd[1024];
    snprintf(src, sizeof src, "%s/fake.c", f->dir);
    snprintf(f->lib, sizeof f->lib, "%s/libfake-nvml.so", f->dir);
    snprintf(f->nolib, sizeof f->nolib, "%s/libfake-nvml-old.so", f->dir);
    FILE *fp = fopen(src, "w");
    assert_non_null(fp);
    fputs(fake_src, fp);
    fclose(fp);
    snprintf(cmd, sizeof cmd,
             "cc -shared -fPIC -o '%s' '%s' && cc -DNO_UTIL -shared -fPIC -o '%s' '%s'", f->lib,
             src, f->nolib, src);
    *state = f;
    return system(cmd) == 0 ? 0 : -1; /* no C compiler: the group reports it */
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void test_readings(void **state)
{
    struct fx *f = *state;
    setenv("FAKE_NVML", "ok", 1);
    struct mlq_gpuload_probe *p = mlq_gpuload_open(f->lib, 4);
    assert_non_null(p);
    struct mlq_gpuload v[MLQ_MAX_GPUS];
    memset(v, 0xff, sizeof v);
    assert_int_equal(mlq_gpuload_read(p, v, MLQ_MAX_GPUS), 2); /* GPUs 2 and 3 left out */
    assert_int_equal(v[0].index, 0);
    assert_int_equal(v[0].util, 0);
    assert_true(v[0].mem_used == 1LL << 30 && v[0].mem_total == 80LL << 30);
    assert_int_equal(v[1].index, 1);
    assert_int_equal(v[1].util, 73);
    assert_true(v[1].mem_used == 2LL << 30);
    assert_int_equal(mlq_gpuload_read(p, v, 1), 1); /* never more than asked */
    mlq_gpuload_close(&p);
    assert_null(p);
    mlq_gpuload_close(&p); /* accepts NULL */
}

static void test_no_probe(void **state)
{
    struct fx *f = *state;
    setenv("FAKE_NVML", "ok", 1);
    assert_null(mlq_gpuload_open(f->nolib, 4)); /* a driver without the call */
    assert_null(mlq_gpuload_open("/nonexistent/libnvidia-ml.so.1", 4));
    setenv("FAKE_NVML", "initfail", 1);
    assert_null(mlq_gpuload_open(f->lib, 4));
    unsetenv("FAKE_NVML");
    struct mlq_gpuload v[4];
    assert_int_equal(mlq_gpuload_read(NULL, v, 4), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readings),
        cmocka_unit_test(test_no_probe),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
