/* gpumig and MIG discovery: the strict parser of `nvidia-smi -L` on output
 * as drivers print it (current and older MIG UUIDs) and a table of
 * malformed outputs; profiles, types and memory from MIG device names;
 * NVML discovery through the fake libnvidia-ml of tests/gpu/fake_nvml.c
 * (an A100 in MIG mode with three MIG devices and a plain H100; unused
 * slots; MIG mode without devices; a failing MIG query); the nvidia-smi
 * fallback with a script answering the GPU query and -L; the CUDA names
 * jobs see; and `--gpus` lists of fake GPUs of several types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gpu.h"
#include "gpumig.h"

#define N(a) (sizeof(a) / sizeof *(a))

#define A100_UUID "GPU-9434a402-0d94-4ef8-93d0-0528ee662e9c"
#define H100_UUID "GPU-c92e2d5d-4a69-f1cd-4df0-305f8606705a"
#define MIG0      "MIG-e138a708-679d-5075-ab88-ba8e298ec5d3"
#define MIG1      "MIG-ae9a37c7-4e38-5a4c-8229-7f07dc126721"
#define MIG2      "MIG-788dbffa-1d55-5ea9-a591-40d9575812f9"

/* `nvidia-smi -L` of an A100 in MIG mode (two 1g.10gb, one 2g.20gb) and a
 * plain H100, spaced as the driver spaces it. */
#define MIG_LIST                                                                                   \
    "GPU 0: NVIDIA A100-SXM4-80GB (UUID: " A100_UUID ")\n"                                         \
    "  MIG 1g.10gb     Device  0: (UUID: " MIG0 ")\n"                                              \
    "  MIG 1g.10gb     Device  1: (UUID: " MIG1 ")\n"                                              \
    "  MIG 2g.20gb     Device  2: (UUID: " MIG2 ")\n"                                              \
    "GPU 1: NVIDIA H100 80GB HBM3 (UUID: " H100_UUID ")\n"

/* The GPU query of the same machine. */
#define MIG_QUERY                                                                                  \
    "0, " A100_UUID ", NVIDIA A100-SXM4-80GB, 81920\n"                                             \
    "1, " H100_UUID ", NVIDIA H100 80GB HBM3, 81559\n"

/* ---- nvidia-smi -L ---- */

static void test_list_parse(void **state)
{
    (void)state;
    struct mlq_gpumig_list *l = calloc(1, sizeof *l);
    struct mlq_err e = {0};
    assert_int_equal(mlq_gpumig_parse_list(MIG_LIST, strlen(MIG_LIST), l, &e), 0);
    assert_int_equal(l->ngpu, 2);
    assert_int_equal(l->gpu[0].index, 0);
    assert_string_equal(l->gpu[0].uuid, A100_UUID);
    assert_string_equal(l->gpu[0].model, "NVIDIA A100-SXM4-80GB");
    assert_int_equal(l->gpu[0].nmig, 3);
    assert_string_equal(l->gpu[0].mig[0].profile, "1g.10gb");
    assert_string_equal(l->gpu[0].mig[0].uuid, MIG0);
    assert_string_equal(l->gpu[0].mig[2].profile, "2g.20gb");
    assert_string_equal(l->gpu[0].mig[2].uuid, MIG2);
    assert_int_equal(l->gpu[1].nmig, 0);
    assert_string_equal(l->gpu[1].model, "NVIDIA H100 80GB HBM3");

    /* older drivers: one space, UUIDs of GPU/instance/compute instance,
     * a profile with +me; CRLF and blank lines carry nothing */
    const char *old = "GPU 0: A100-SXM4-40GB (UUID: GPU-e91edf3b-b297-37c1-a2a7-7601c3238fa2)\r\n"
                      "  MIG 3g.20gb Device 0: (UUID: "
                      "MIG-GPU-e91edf3b-b297-37c1-a2a7-7601c3238fa2/1/0)\n"
                      "  MIG 1g.10gb+me Device 1: (UUID: "
                      "MIG-GPU-e91edf3b-b297-37c1-a2a7-7601c3238fa2/2/0)\n\n";
    assert_int_equal(mlq_gpumig_parse_list(old, strlen(old), l, &e), 0);
    assert_int_equal(l->gpu[0].nmig, 2);
    assert_string_equal(l->gpu[0].mig[0].uuid, "MIG-GPU-e91edf3b-b297-37c1-a2a7-7601c3238fa2/1/0");
    assert_string_equal(l->gpu[0].mig[1].profile, "1g.10gb-me");
    assert_int_equal(mlq_gpumig_parse_list("", 0, l, &e), 0);
    assert_int_equal(l->ngpu, 0);
    free(l);
}

static void test_list_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *text, *why;
    } cases[] = {
        {"No devices were found\n", "line 1: neither a GPU nor a MIG device"},
        {"  MIG 1g.10gb Device 0: (UUID: " MIG0 ")\n", "line 1: a MIG device before any GPU"},
        {"GPU x: NVIDIA A100 (UUID: " A100_UUID ")\n", "line 1: bad GPU index"},
        {"GPU 0 NVIDIA A100 (UUID: " A100_UUID ")\n", "line 1: bad GPU index"},
        {"GPU 0: NVIDIA A100\n", "line 1: no \"(UUID: ...)\""},
        {"GPU 0: NVIDIA A100 (UUID: GPU-1;rm)\n", "line 1: bad UUID"},
        {"GPU 0: NVIDIA A100 (UUID: GPU-1)\nGPU 0: NVIDIA A100 (UUID: GPU-2)\n",
         "line 2: GPU index 0 given twice"},
        {"GPU 0: NVIDIA A100 (UUID: GPU-1)\n  MIG 1g.10gb Device 1: (UUID: " MIG0 ")\n",
         "line 2: MIG device 1: where 0 was expected"},
        {"GPU 0: NVIDIA A100 (UUID: GPU-1)\n  MIG 1g.10gb Slot 0: (UUID: " MIG0 ")\n",
         "line 2: no \"Device N:\""},
        {"GPU 0: NVIDIA A100 (UUID: GPU-1)\n  MIG 1g.10gb Device 0: (UUID: GPU-2)\n",
         "line 2: a MIG UUID starts with MIG-"},
        {"GPU 0: NVIDIA A100 (UUID: GPU-1)\n  MIG g.10gb Device 0: (UUID: " MIG0 ")\n",
         "line 2: MIG profile \"g.10gb\" does not start with a digit"},
        {"GPU 0: NVIDIA A100 (UUID: GPU-1)\n  MIG 1g.10gb Device 0: (UUID: MIG-1/../x y)\n",
         "line 2: bad UUID"},
    };
    struct mlq_gpumig_list *l = calloc(1, sizeof *l);
    for (size_t i = 0; i < N(cases); i++) {
        struct mlq_err e = {0};
        int rc = mlq_gpumig_parse_list(cases[i].text, strlen(cases[i].text), l, &e);
        if (rc != MLQ_EPROTO || !strstr(e.msg, cases[i].why))
            fail_msg("case %zu: rc %d \"%s\", expected \"%s\"", i, rc, e.msg, cases[i].why);
        assert_non_null(strstr(e.msg, "nvidia-smi -L line"));
        assert_int_equal(l->ngpu, 0); /* rejected whole */
    }
    /* more MIG devices on one GPU than any GPU has */
    char many[4096];
    int used = snprintf(many, sizeof many, "GPU 0: NVIDIA A100 (UUID: GPU-1)\n");
    for (int k = 0; k <= MLQ_GPUMIG_PER_GPU; k++)
        used += snprintf(many + used, sizeof many - (size_t)used,
                         "  MIG 1g.5gb Device %d: (UUID: MIG-%d)\n", k, k);
    struct mlq_err e = {0};
    assert_int_equal(mlq_gpumig_parse_list(many, (size_t)used, l, &e), MLQ_ETOOBIG);
    assert_non_null(strstr(e.msg, "more than 16 MIG devices on GPU 0"));
    assert_int_equal(mlq_gpumig_parse_list("GPU 0: A\0B", 10, l, &e), MLQ_EPROTO);
    free(l);
}

static void test_profile_type_mem(void **state)
{
    (void)state;
    char prof[MLQ_GPUMIG_PROFILE_MAX + 1], type[MLQ_MAX_GPU_TYPE + 1];
    struct mlq_err e = {0};
    assert_int_equal(mlq_gpumig_profile("NVIDIA A100-SXM4-40GB MIG 1g.5gb", prof, sizeof prof, &e),
                     0);
    assert_string_equal(prof, "1g.5gb");
    assert_int_equal(
        mlq_gpumig_profile("NVIDIA H100 80GB HBM3 MIG 1g.10gb+me", prof, sizeof prof, &e), 0);
    assert_string_equal(prof, "1g.10gb-me");
    assert_int_equal(mlq_gpumig_profile("NVIDIA A100 MIG 1c.3g.40gb", prof, sizeof prof, &e), 0);
    assert_string_equal(prof, "1c.3g.40gb");
    assert_int_equal(mlq_gpumig_profile("NVIDIA A100-SXM4-40GB", prof, sizeof prof, &e),
                     MLQ_EPROTO);
    assert_non_null(strstr(e.msg, "names no MIG profile"));
    assert_int_equal(mlq_gpumig_profile("NVIDIA A100 MIG 1g.5gb extra", prof, sizeof prof, &e),
                     MLQ_EPROTO);
    assert_int_equal(mlq_gpumig_profile("NVIDIA A100 MIG", prof, sizeof prof, &e), MLQ_EPROTO);

    assert_int_equal(mlq_gpumig_type("a100", "1g.10gb", type, sizeof type, &e), 0);
    assert_string_equal(type, "a100-1g.10gb");
    assert_int_equal(mlq_proto_gpu_type_check(type, &e), 0); /* what the scheduler takes */
    assert_int_equal(
        mlq_gpumig_type("abcdefghijabcdefghij", "1c.3g.40gb-me", type, sizeof type, &e),
        MLQ_EINVAL);
    assert_non_null(strstr(e.msg, "longer than 32 bytes"));

    assert_int_equal(mlq_gpumig_profile_mem("1g.10gb"), 10LL << 30);
    assert_int_equal(mlq_gpumig_profile_mem("1c.3g.40gb"), 40LL << 30);
    assert_int_equal(mlq_gpumig_profile_mem("1g.10gb-me"), 10LL << 30);
    assert_int_equal(mlq_gpumig_profile_mem("7g"), -1);
    assert_int_equal(mlq_gpumig_profile_mem("1g.10tb"), -1);
}

/* ---- CUDA names ---- */

static void test_cuda_names(void **state)
{
    (void)state;
    char *names[] = {MIG0, MIG1, MIG2, "1"};
    char env[MLQ_GPUMIG_CUDA_ENV_MAX + 1], buf[512];
    struct mlq_err e = {0};
    assert_int_equal(mlq_gpumig_cuda_join(names, 4, env, sizeof env, &e), 0);
    assert_string_equal(env, MIG0 "," MIG1 "," MIG2 ",1");
    int32_t ids[] = {2, 3};
    assert_int_equal(mlq_gpumig_cuda_pick(env, ids, 2, buf, sizeof buf, &e), 0);
    assert_string_equal(buf, MIG2 ",1");
    /* without the variable: the indexes, as for every worker without MIG */
    assert_int_equal(mlq_gpumig_cuda_pick(NULL, ids, 2, buf, sizeof buf, &e), 0);
    assert_string_equal(buf, "2,3");
    assert_int_equal(mlq_gpumig_cuda_pick("", ids, 0, buf, sizeof buf, &e), 0);
    assert_string_equal(buf, "");
    int32_t beyond[] = {4};
    assert_int_equal(mlq_gpumig_cuda_pick(env, beyond, 1, buf, sizeof buf, &e), MLQ_EINVAL);
    assert_non_null(strstr(e.msg, "names no GPU 4"));
    int32_t one[] = {1};
    assert_int_equal(mlq_gpumig_cuda_pick("MIG-1,,2", one, 1, buf, sizeof buf, &e), MLQ_EINVAL);
    assert_int_equal(mlq_gpumig_cuda_pick("a,b,c;x", ids, 1, buf, sizeof buf, &e), MLQ_EINVAL);
    assert_int_equal(mlq_gpumig_cuda_pick(env, ids, 2, buf, 8, &e), MLQ_ETOOBIG);
    char *bad[] = {MIG0, NULL};
    assert_int_equal(mlq_gpumig_cuda_join(bad, 2, env, sizeof env, &e), MLQ_EINVAL);
}

/* ---- NVML through the fake library ---- */

static void nvml_discover(const char *spec, struct mlq_gpu_set *s, int want)
{
    struct mlq_gpu_opts o = {.method = MLQ_GPU_NVML, .nvml_library = MLQ_FAKE_NVML_LIB};
    struct mlq_err e = {0};
    setenv("MLQ_FAKE_NVML", spec, 1);
    int rc = mlq_gpu_discover(&o, s, &e);
    if (rc != want)
        fail_msg("%s: rc %d: %s", spec, rc, e.msg);
}

static void test_nvml_mig(void **state)
{
    (void)state;
    struct mlq_gpu_set s;
    nvml_discover("A100-SXM4-80GB=81920=1g.10gb,1g.10gb,2g.20gb;H100 80GB HBM3=81559", &s, 0);
    assert_string_equal(s.source, "nvml");
    assert_int_equal(s.n, 4); /* three MIG devices, not the A100 itself, and the H100 */
    assert_int_equal(s.nmig, 3);
    static const char *const types[] = {"a100-1g.10gb", "a100-1g.10gb", "a100-2g.20gb", "h100"};
    for (uint32_t i = 0; i < 4; i++) {
        assert_int_equal(s.gpus[i].index, (int32_t)i);
        assert_string_equal(s.gpus[i].type, types[i]);
    }
    assert_string_equal(s.gpus[0].uuid, "MIG-00000000-0000-5000-8000-000000000000");
    assert_string_equal(s.gpus[2].uuid, "MIG-00000000-0002-5000-8000-000000000000");
    assert_string_equal(s.gpus[0].model, "NVIDIA A100-SXM4-80GB MIG 1g.10gb");
    assert_int_equal(s.gpus[0].mem, (10LL * 1024 - 256) << 20);
    assert_int_equal(s.gpus[2].mem, (20LL * 1024 - 256) << 20);
    assert_string_equal(s.gpus[3].uuid, "GPU-00000001-0000-4000-8000-000000000000");
    assert_int_equal(s.gpus[3].mem, 81559LL << 20);
    /* jobs name MIG devices by UUID, the whole GPU by its physical index */
    assert_non_null(s.cuda);
    assert_string_equal(s.cuda[0], "MIG-00000000-0000-5000-8000-000000000000");
    assert_string_equal(s.cuda[3], "1");
    char buf[512];
    mlq_gpu_set_fmt(&s, buf, sizeof buf);
    assert_non_null(strstr(buf, "gpu0 a100-1g.10gb 9.75G MIG-00000000-0000"));
    mlq_gpu_set_clear(&s);
    assert_null(s.cuda);

    /* no GPU in MIG mode: as before, no CUDA names */
    nvml_discover("A100-SXM4-80GB=81920;L4=23034", &s, 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.nmig, 0);
    assert_null(s.cuda);
    assert_string_equal(s.gpus[0].type, "a100");
    assert_string_equal(s.gpus[1].type, "l4");
    mlq_gpu_set_clear(&s);

    /* unused slots are skipped; a GPU in MIG mode without devices is not offered */
    nvml_discover("L4=23034;A100-SXM4-40GB=40960=-,3g.20gb,-,1g.5gb;H100 PCIe=81559=", &s, 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.gpus[0].type, "l4");
    assert_string_equal(s.gpus[1].type, "a100-3g.20gb");
    assert_string_equal(s.gpus[1].uuid, "MIG-00000001-0001-5000-8000-000000000000");
    assert_string_equal(s.gpus[2].type, "a100-1g.5gb");
    assert_string_equal(s.cuda[0], "0");
    assert_non_null(strstr(s.note, "NVML GPU 2 (GPU-00000002-0000-4000-8000-000000000000) is in "
                                   "MIG mode without MIG devices: not offered"));
    mlq_gpu_set_clear(&s);

    /* a MIG mode NVML cannot tell: nothing is offered rather than a GPU
     * that CUDA may not reach */
    setenv("MLQ_FAKE_NVML_FAIL", "migmode", 1);
    nvml_discover("A100-SXM4-80GB=81920", &s, MLQ_EIO);
    assert_int_equal(s.n, 0);
    unsetenv("MLQ_FAKE_NVML_FAIL");
    /* a profile longer than any is refused with the device */
    nvml_discover("A100-SXM4-80GB=81920=1c.3g.40gb+gfx+me+extra+more", &s, MLQ_EPROTO);
    unsetenv("MLQ_FAKE_NVML");
}

/* ---- the nvidia-smi fallback ---- */

static void smi_script(const char *dir, const char *query, const char *list, char *path, size_t len)
{
    snprintf(path, len, "%s/smi", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp,
            "#!/bin/sh\nif [ \"$1\" = -L ]; then cat <<'EOF'\n%sEOF\nexit 0; fi\n"
            "[ \"$1\" = --query-gpu=index,uuid,name,memory.total ] || exit 3\n"
            "cat <<'EOF'\n%sEOF\n",
            list, query);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(path, 0755), 0);
}

static void test_smi_mig(void **state)
{
    (void)state;
    char dir[] = "/tmp/mlq-test-gpumig-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    smi_script(dir, MIG_QUERY, MIG_LIST, path, sizeof path);
    struct mlq_gpu_opts o = {.method = MLQ_GPU_NVIDIA_SMI, .smi = path, .timeout_ms = 5000};
    struct mlq_gpu_set s;
    struct mlq_err e = {0};
    if (mlq_gpu_discover(&o, &s, &e) != 0)
        fail_msg("%s", e.msg);
    assert_string_equal(s.source, "nvidia-smi");
    assert_int_equal(s.n, 4);
    assert_int_equal(s.nmig, 3);
    assert_string_equal(s.gpus[0].type, "a100-1g.10gb");
    assert_string_equal(s.gpus[0].uuid, MIG0);
    assert_string_equal(s.gpus[0].model, "NVIDIA A100-SXM4-80GB MIG 1g.10gb");
    assert_int_equal(s.gpus[0].mem, 10LL << 30); /* as the profile names it */
    assert_string_equal(s.gpus[2].type, "a100-2g.20gb");
    assert_string_equal(s.gpus[3].type, "h100");
    assert_string_equal(s.gpus[3].uuid, H100_UUID);
    assert_int_equal(s.gpus[3].index, 3);
    assert_string_equal(s.cuda[1], MIG1);
    assert_string_equal(s.cuda[3], "1");
    mlq_gpu_set_clear(&s);

    /* -L and the query must agree on the GPUs */
    smi_script(dir, MIG_QUERY, "GPU 0: NVIDIA A100-SXM4-80GB (UUID: " A100_UUID ")\n", path,
               sizeof path);
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), MLQ_EPROTO);
    assert_non_null(strstr(e.msg, "nvidia-smi -L lists 1 GPU(s), the GPU query 2"));
    smi_script(dir, MIG_QUERY,
               "GPU 0: NVIDIA A100-SXM4-80GB (UUID: " A100_UUID ")\n"
               "GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-00000000-1111)\n",
               path, sizeof path);
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), MLQ_EPROTO);
    assert_non_null(strstr(e.msg, "nvidia-smi -L does not list GPU 1 (" H100_UUID ")"));
    smi_script(dir, MIG_QUERY, "GPU 0: garbage\n", path, sizeof path);
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), MLQ_EPROTO);
    assert_non_null(strstr(e.msg, "nvidia-smi -L line 1"));
    assert_int_equal(s.n, 0);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- --gpus lists ---- */

static void test_fake_spec(void **state)
{
    (void)state;
    struct mlq_gpu_set s;
    struct mlq_err e = {0};
    assert_int_equal(mlq_gpu_fake_spec("a100:2,H100:2", &s, &e), 0);
    assert_string_equal(s.source, "fake");
    assert_int_equal(s.n, 4);
    static const char *const types[] = {"a100", "a100", "h100", "h100"};
    for (uint32_t i = 0; i < 4; i++) {
        assert_int_equal(s.gpus[i].index, (int32_t)i);
        assert_string_equal(s.gpus[i].type, types[i]);
        assert_null(s.gpus[i].uuid);
    }
    assert_null(s.cuda);
    mlq_gpu_set_clear(&s);
    assert_int_equal(mlq_gpu_fake_spec("a100-1g.10gb:7", &s, &e), 0);
    assert_int_equal(s.n, 7);
    assert_string_equal(s.gpus[6].type, "a100-1g.10gb");
    mlq_gpu_set_clear(&s);
    assert_int_equal(mlq_gpu_fake_spec("3", &s, &e), 0);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.gpus[0].type, "fake");
    mlq_gpu_set_clear(&s);
    assert_int_equal(mlq_gpu_fake_spec("0", &s, &e), 0);
    assert_int_equal(s.n, 0);

    static const struct {
        const char *spec, *why;
    } bad[] = {{"", "expected N or TYPE:N"},        {"a100:2,", "expected N or TYPE:N"},
               {",a100:2", "expected N or TYPE:N"}, {":2", "TYPE of 1 to 32 bytes"},
               {"a100:", "expected N or TYPE:N"},   {"a100:x", "\"a100:x\""},
               {"a/100:1", "a-z 0-9 _ - ."},        {"a100:40,h100:40", "more than 64 GPUs in all"},
               {"a100:1:2", "\"a100:1:2\""}};
    for (size_t i = 0; i < N(bad); i++) {
        int rc = mlq_gpu_fake_spec(bad[i].spec, &s, &e);
        if (rc != MLQ_EINVAL || !strstr(e.msg, bad[i].why))
            fail_msg("\"%s\": rc %d \"%s\", expected \"%s\"", bad[i].spec, rc, e.msg, bad[i].why);
        assert_int_equal(s.n, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_parse),       cmocka_unit_test(test_list_malformed),
        cmocka_unit_test(test_profile_type_mem), cmocka_unit_test(test_cuda_names),
        cmocka_unit_test(test_nvml_mig),         cmocka_unit_test(test_smi_mig),
        cmocka_unit_test(test_fake_spec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
