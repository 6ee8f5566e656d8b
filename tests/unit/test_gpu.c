/* gpu: model -> type normalisation (table), strict parsing of nvidia-smi
 * output (good, reordered, and one table of malformed outputs that must be
 * rejected whole), and discovery for real: fake nvidia-smi scripts selected
 * with MLQ_NVIDIA_SMI (two GPUs, garbage, failure, a script that never
 * answers or never exits, whose whole process group must be gone
 * afterwards), NVML absent -> fallback, NVML through a fake library built
 * with cc at test time (skipped without a compiler), and fake GPUs; and
 * the worker's "register" carrying the GPUs, its pool and labels, decoded
 * by a fake scheduler. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "agent.h"
#include "bounds.h"
#include "clock.h"
#include "gpu.h"
#include "spool.h"
#include "transport.h"

#define UUID0 "GPU-11111111-2222-3333-4444-555555555555"
#define UUID1 "GPU-66666666-7777-8888-9999-000000000000"

#define TWO_GPUS                                                                                   \
    "0, " UUID0 ", NVIDIA H100 80GB HBM3, 81559\n"                                                 \
    "1, " UUID1 ", NVIDIA H100 80GB HBM3, 81559\n"

/* `nvidia-smi -L` of the same two GPUs, in MIG mode neither */
#define TWO_GPUS_LIST                                                                              \
    "GPU 0: NVIDIA H100 80GB HBM3 (UUID: " UUID0 ")\n"                                             \
    "GPU 1: NVIDIA H100 80GB HBM3 (UUID: " UUID1 ")\n"

struct fx {
    char dir[64];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/mlq-test-gpu-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    unsetenv("MLQ_NVIDIA_SMI");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    int rc = system(cmd);
    (void)rc;
    unsetenv("MLQ_NVIDIA_SMI");
    free(f);
    return 0;
}

/* Writes an executable /bin/sh script named name with body; returns its
 * path in buf. */
static const char *script(struct fx *f, const char *name, const char *body, char *buf, size_t len)
{
    snprintf(buf, len, "%s/%s", f->dir, name);
    FILE *fp = fopen(buf, "w");
    assert_non_null(fp);
    fprintf(fp, "#!/bin/sh\n%s", body);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(chmod(buf, 0755), 0);
    return buf;
}

/* The GPUs of the TWO_GPUS output. */
static void assert_two_h100(const struct mlq_gpu_set *s)
{
    assert_int_equal(s->n, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s->gpus[i].index, i);
        assert_string_equal(s->gpus[i].uuid, i == 0 ? UUID0 : UUID1);
        assert_string_equal(s->gpus[i].model, "NVIDIA H100 80GB HBM3");
        assert_string_equal(s->gpus[i].type, "h100");
        assert_int_equal(s->gpus[i].mem, 81559LL * 1024 * 1024);
        assert_null(s->gpus[i].job_id);
    }
}

/* ---- types ---- */

static void test_type_table(void **state)
{
    (void)state;
    static const struct {
        const char *model, *type;
    } cases[] = {
        {"NVIDIA H100 80GB HBM3", "h100"},
        {"NVIDIA H100 PCIe", "h100"},
        {"NVIDIA H200", "h200"},
        {"NVIDIA A100-SXM4-40GB", "a100"},
        {"NVIDIA A100 80GB PCIe", "a100"},
        {"Tesla V100-SXM2-16GB", "v100"},
        {"Tesla T4", "t4"},
        {"NVIDIA GeForce RTX 4090", "rtx4090"},
        {"NVIDIA GeForce GTX 1080 Ti", "gtx1080"},
        {"Quadro RTX 8000", "rtx8000"},
        {"NVIDIA RTX A6000", "a6000"},
        {"NVIDIA L4", "l4"},
        {"NVIDIA L40S", "l40s"},
        {"NVIDIA A10G", "a10g"},
        {"NVIDIA GH200 480GB", "gh200"},
        /* not recognised: the first word */
        {"NVIDIA Graphics Device", "nvidia"},
        {"Foo Bar 9", "foo"},
        {"  --Weird_Card--  ", "weird"},
        {"NVIDIA TITAN RTX", "nvidia"},
        {"", "unknown"},
        {"---", "unknown"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789XYZ", "abcdefghijklmnopqrstuvwxyz012345"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char buf[MLQ_GPU_TYPE_MAX + 1];
        mlq_gpu_type_of(cases[i].model, buf, sizeof buf);
        if (strcmp(buf, cases[i].type) != 0)
            fail_msg("\"%s\" -> \"%s\", expected \"%s\"", cases[i].model, buf, cases[i].type);
        assert_true(strlen(buf) <= MLQ_GPU_TYPE_MAX);
        assert_int_equal(strspn(buf, "abcdefghijklmnopqrstuvwxyz0123456789_-"), strlen(buf));
        assert_int_equal(mlq_proto_gpu_type_check(buf, NULL), 0); /* what the scheduler takes */
    }
    char small[4];
    mlq_gpu_type_of("NVIDIA GeForce RTX 4090", small, sizeof small);
    assert_string_equal(small, "rtx");
}

/* ---- parsing ---- */

static void test_parse_two(void **state)
{
    (void)state;
    struct mlq_gpu_set s;
    struct mlq_err e = {0};
    assert_int_equal(mlq_gpu_parse_smi(TWO_GPUS, strlen(TWO_GPUS), &s, &e), 0);
    assert_string_equal(s.source, "nvidia-smi");
    assert_two_h100(&s);
    assert_string_equal(s.note, "");
    mlq_gpu_set_clear(&s);
    assert_int_equal(s.n, 0);
    assert_null(s.gpus);
}

static void test_parse_lenient_layout(void **state)
{
    (void)state;
    /* reordered lines, CRLF, spaces, blank lines: same GPUs, by index */
    const char *text = "\n1," UUID1 ",  NVIDIA H100 80GB HBM3 ,81559\r\n\n"
                       "0 , " UUID0 " , NVIDIA H100 80GB HBM3, 81559\r\n\n";
    struct mlq_gpu_set s;
    struct mlq_err e = {0};
    if (mlq_gpu_parse_smi(text, strlen(text), &s, &e) != 0)
        fail_msg("%s", e.msg);
    assert_two_h100(&s);
    mlq_gpu_set_clear(&s);

    assert_int_equal(mlq_gpu_parse_smi("", 0, &s, NULL), 0); /* no GPUs is an answer */
    assert_int_equal(s.n, 0);
    mlq_gpu_set_clear(&s);
}

static void test_parse_beyond_max(void **state)
{
    (void)state;
    char text[16384];
    size_t used = 0;
    for (int i = 0; i < MLQ_MAX_GPUS + 2; i++)
        used += (size_t)snprintf(text + used, sizeof text - used,
                                 "%d, GPU-%08d-0000-0000-0000-000000000000, NVIDIA A100-SXM4-40GB, "
                                 "40960\n",
                                 i, i);
    struct mlq_gpu_set s;
    assert_int_equal(mlq_gpu_parse_smi(text, used, &s, NULL), 0);
    assert_int_equal(s.n, MLQ_MAX_GPUS);
    assert_int_equal(s.gpus[MLQ_MAX_GPUS - 1].index, MLQ_MAX_GPUS - 1);
    assert_string_equal(s.gpus[5].type, "a100");
    assert_non_null(strstr(s.note, "2 GPU(s) beyond the first 64 left out"));
    mlq_gpu_set_clear(&s);
}

static void test_parse_malformed(void **state)
{
    (void)state;
    char longline[700];
    memset(longline, 'x', sizeof longline - 1);
    longline[sizeof longline - 1] = '\0';
    const struct {
        const char *text, *why;
    } cases[] = {
        {"0, " UUID0 ", NVIDIA H100\n", "line 1: 3 field(s) where 4 were expected"},
        {"0, " UUID0 ", NVIDIA, H100, 81559\n", "line 1: more than 4 comma-separated fields"},
        {"0, " UUID0 ", H100, 81559\nhello\n", "line 2: 1 field(s)"},
        {"-1, " UUID0 ", H100, 81559\n", "line 1: bad GPU index \"-1\""},
        {"zero, " UUID0 ", H100, 81559\n", "bad GPU index \"zero\""},
        {", " UUID0 ", H100, 81559\n", "bad GPU index"},
        {"99999, " UUID0 ", H100, 81559\n", "bad GPU index"},
        {"0, " UUID0 ", H100, 81559\n0, " UUID1 ", H100, 81559\n", "GPU index 0 given twice"},
        {"0, " UUID0 ", H100, 81559\n2, " UUID1 ", H100, 81559\n", "not 0..1 (no GPU 1)"},
        {"1, " UUID0 ", H100, 81559\n", "not 0..0 (no GPU 0)"},
        {"0, " UUID0 ", H100, 0\n", "memory size 0 or above"},
        {"0, " UUID0 ", H100, 99999999999\n", "memory size 0 or above"},
        {"0, " UUID0 ", H100, [N/A]\n", "bad memory size \"[N/A]\""},
        {"0, " UUID0 ", H100, 80 GB\n", "bad memory size"},
        {"0, " UUID0 ", H100, \n", "bad memory size"},
        {"0, GPU 1, H100, 81559\n", "bad GPU UUID"},
        {"0, , H100, 81559\n", "bad GPU UUID"},
        {"0, " UUID0 ", , 81559\n", "bad GPU name"},
        {"0, " UUID0 ", H\x01"
         "100, 81559\n",
         "bad GPU name"},
        {"0, " UUID0 ", H\xc3\xa9, 81559\n", "bad GPU name"},
        {longline, "line 1: longer than 512 bytes"},
        {"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n",
         "line 1: 1 field(s)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct mlq_gpu_set s;
        struct mlq_err e = {0};
        int rc = mlq_gpu_parse_smi(cases[i].text, strlen(cases[i].text), &s, &e);
        if (rc >= 0 || !strstr(e.msg, cases[i].why))
            fail_msg("case %zu: rc %d, message \"%s\", expected \"%s\"", i, rc, e.msg,
                     cases[i].why);
        assert_int_equal(s.n, 0);
        assert_null(s.gpus);
        assert_non_null(strstr(e.msg, "nvidia-smi output"));
    }
    /* a NUL inside, and too many lines */
    struct mlq_gpu_set s;
    struct mlq_err e = {0};
    assert_int_equal(mlq_gpu_parse_smi("0, a\0b, c, 1\n", 13, &s, &e), MLQ_EPROTO);
    assert_non_null(strstr(e.msg, "NUL"));
    char *many = calloc(1, 5000);
    assert_non_null(many);
    memset(many, '\n', 4999);
    assert_int_equal(mlq_gpu_parse_smi(many, 4999, &s, &e), MLQ_ETOOBIG);
    assert_null(s.gpus);
    free(many);
}

/* ---- discovery with nvidia-smi ---- */

static struct mlq_gpu_opts smi_opts(enum mlq_gpu_method m, int timeout_ms)
{
    return (struct mlq_gpu_opts){
        .method = m, .nvml_library = "/nonexistent/libnvidia-ml.so.1", .timeout_ms = timeout_ms};
}

static void test_smi_script_two(void **state)
{
    struct fx *f = *state;
    char path[256];
    /* the script checks it was asked the right question */
    script(f, "smi",
           "if [ \"$1\" = -L ]; then cat <<EOF\n" TWO_GPUS_LIST "EOF\nexit 0; fi\n"
           "[ \"$1\" = --query-gpu=index,uuid,name,memory.total ] || exit 3\n"
           "[ \"$2\" = --format=csv,noheader,nounits ] || exit 4\n"
           "cat <<EOF\n" TWO_GPUS "EOF\n",
           path, sizeof path);
    setenv("MLQ_NVIDIA_SMI", path, 1);
    struct mlq_gpu_opts o = smi_opts(MLQ_GPU_NVIDIA_SMI, 5000);
    struct mlq_gpu_set s;
    struct mlq_err e = {0};
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), 0);
    assert_string_equal(s.source, "nvidia-smi");
    assert_two_h100(&s);
    char buf[512];
    mlq_gpu_set_fmt(&s, buf, sizeof buf);
    assert_string_equal(buf,
                        "2 (nvidia-smi: gpu0 h100 79.64G " UUID0 ", gpu1 h100 79.64G " UUID1 ")");
    mlq_gpu_set_clear(&s);

    /* auto: NVML absent, then the script; the note says why NVML gave nothing */
    o.method = MLQ_GPU_AUTO;
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), 0);
    assert_string_equal(s.source, "nvidia-smi");
    assert_int_equal(s.n, 2);
    assert_non_null(strstr(s.note, "NVML: "));
    mlq_gpu_set_clear(&s);

    /* opts.smi wins over the environment */
    setenv("MLQ_NVIDIA_SMI", "/nonexistent/nvidia-smi", 1);
    o.smi = path;
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), 0);
    assert_int_equal(s.n, 2);
    mlq_gpu_set_clear(&s);
}

static void test_smi_script_garbage(void **state)
{
    struct fx *f = *state;
    char path[256];
    script(f, "smi", "echo '0, " UUID0 ", NVIDIA H100 80GB HBM3'\n", path, sizeof path);
    setenv("MLQ_NVIDIA_SMI", path, 1);
    struct mlq_gpu_opts o = smi_opts(MLQ_GPU_NVIDIA_SMI, 5000);
    struct mlq_gpu_set s;
    struct mlq_err e = {0};
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), MLQ_EPROTO);
    assert_non_null(strstr(e.msg, "nvidia-smi: nvidia-smi output line 1: 3 field(s)"));
    assert_int_equal(s.n, 0);
    assert_null(s.gpus);

    o.method = MLQ_GPU_AUTO; /* never fails: no GPUs, and why */
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), 0);
    assert_string_equal(s.source, "none");
    assert_int_equal(s.n, 0);
    assert_non_null(strstr(s.note, "NVML: "));
    assert_non_null(strstr(s.note, "; nvidia-smi: nvidia-smi output line 1"));
    mlq_gpu_set_clear(&s);
}

static void test_smi_script_fails(void **state)
{
    struct fx *f = *state;
    char path[256];
    script(f, "smi",
           "echo 'NVIDIA-SMI has failed because it could not communicate with the driver' >&2\n"
           "exit 9\n",
           path, sizeof path);
    struct mlq_gpu_opts o = smi_opts(MLQ_GPU_NVIDIA_SMI, 5000);
    o.smi = path;
    struct mlq_gpu_set s;
    struct mlq_err e = {0};
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), MLQ_EIO);
    assert_non_null(strstr(e.msg, "exit status 9: NVIDIA-SMI has failed"));
    assert_int_equal(s.n, 0);

    script(f, "smi2", "kill -USR1 $$\n", path, sizeof path);
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), MLQ_EIO);
    assert_non_null(strstr(e.msg, "killed by signal 10"));

    /* not executable, absent, not in PATH */
    snprintf(path, sizeof path, "%s/plain", f->dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), MLQ_ENOTFOUND);
    assert_non_null(strstr(e.msg, "Permission denied"));
    o.smi = "/nonexistent/nvidia-smi";
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), MLQ_ENOTFOUND);
    o.smi = "mlq-no-such-nvidia-smi";
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), MLQ_ENOTFOUND);
    assert_non_null(strstr(e.msg, "mlq-no-such-nvidia-smi not found in PATH"));
    o.method = MLQ_GPU_AUTO;
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), 0);
    assert_string_equal(s.source, "none");
    assert_non_null(strstr(s.note, "not found in PATH"));
}

/* True once pid is gone or a zombie (killed, waiting for its reaper),
 * waiting up to 3 s. */
static bool dead_soon(pid_t pid)
{
    for (int i = 0; i < 300; i++) {
        char p[64], buf[256] = "";
        snprintf(p, sizeof p, "/proc/%ld/stat", (long)pid);
        FILE *fp = fopen(p, "r");
        if (!fp)
            return true;
        size_t n = fread(buf, 1, sizeof buf - 1, fp);
        fclose(fp);
        buf[n] = '\0';
        const char *rp = strrchr(buf, ')');
        if (rp && rp[1] == ' ' && rp[2] == 'Z')
            return true;
        struct timespec ts = {0, 10000000L};
        nanosleep(&ts, NULL);
    }
    return false;
}

static pid_t read_pid(const char *path)
{
    long pid = 0;
    FILE *fp = fopen(path, "r");
    if (fp) {
        if (fscanf(fp, "%ld", &pid) != 1)
            pid = 0;
        fclose(fp);
    }
    return (pid_t)pid;
}

static void check_hang(struct fx *f, const char *body, const char *why)
{
    char path[256], pidfile[256], full[512];
    snprintf(pidfile, sizeof pidfile, "%s/pid", f->dir);
    unlink(pidfile);
    snprintf(full, sizeof full, body, pidfile);
    script(f, "smi", full, path, sizeof path);
    setenv("MLQ_NVIDIA_SMI", path, 1);
    struct mlq_gpu_opts o = smi_opts(MLQ_GPU_NVIDIA_SMI, 300);
    struct mlq_gpu_set s;
    struct mlq_err e = {0};
    int64_t t0 = mlq_clock_mono_ms();
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), MLQ_EUNAVAIL);
    int64_t took = mlq_clock_mono_ms() - t0;
    assert_non_null(strstr(e.msg, why));
    assert_true(took >= 250 && took < 2500);
    assert_int_equal(s.n, 0);
    pid_t sleeper = read_pid(pidfile);
    assert_true(sleeper > 0);
    assert_true(dead_soon(sleeper)); /* the whole process group was killed */
}

static void test_smi_script_hangs(void **state)
{
    struct fx *f = *state;
    /* never answers; its child holds stdout open */
    check_hang(f, "sleep 1000 &\necho $! > %s\nwait\n", "nvidia-smi: no answer within 300 ms");
    /* prints and closes its output, then never exits */
    check_hang(f,
               "echo '"
               "0, " UUID0 ", H100, 1"
               "'\nexec >&- 2>&-\nsleep 1000 &\necho $! > %s\n"
               "wait\n",
               "nvidia-smi: did not exit within 300 ms");
}

static void test_smi_output_too_big(void **state)
{
    struct fx *f = *state;
    char path[256];
    script(f, "smi", "yes '0, GPU-1, H100, 1'\n", path, sizeof path);
    struct mlq_gpu_opts o = smi_opts(MLQ_GPU_NVIDIA_SMI, 5000);
    o.smi = path;
    struct mlq_gpu_set s;
    struct mlq_err e = {0};
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), MLQ_ETOOBIG);
    assert_non_null(strstr(e.msg, "printed more than 65536 bytes"));
}

/* ---- NVML ---- */

static void test_nvml_absent(void **state)
{
    (void)state;
    struct mlq_gpu_opts o = {.method = MLQ_GPU_NVML, .nvml_library = "libmlq-no-such-nvml.so.1"};
    struct mlq_gpu_set s;
    struct mlq_err e = {0};
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), MLQ_ENOTFOUND);
    assert_non_null(strstr(e.msg, "NVML: "));
    assert_non_null(strstr(e.msg, "libmlq-no-such-nvml.so.1"));
    assert_int_equal(s.n, 0);

    /* the real library name: absent on this test machine, so auto falls
     * back (to nvidia-smi, absent too) and finds nothing */
    o.method = MLQ_GPU_AUTO;
    o.nvml_library = NULL;
    o.smi = "mlq-no-such-nvidia-smi";
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), 0);
    if (strcmp(s.source, "nvml") == 0) { /* a machine with a driver */
        mlq_gpu_set_clear(&s);
        skip();
    }
    assert_string_equal(s.source, "none");
    assert_int_equal(s.n, 0);
    assert_non_null(strstr(s.note, "NVML: "));
    assert_non_null(strstr(s.note, "nvidia-smi: mlq-no-such-nvidia-smi not found in PATH"));
}

/* A stand-in for libnvidia-ml with the same entry points; FAKE_NVML picks
 * what it does. */
static const char fake_nvml_src[] =
    "#include <stdlib.h>\n#include <string.h>\n#include <stdio.h>\n"
    "struct mem { unsigned long long total, free, used; };\n"
    "static const char *mode(void) { const char *m = getenv(\"FAKE_NVML\"); return m ? m : \"\"; "
    "}\n"
    "int nvmlInit_v2(void) { return strcmp(mode(), \"initfail\") == 0 ? 9 : 0; }\n"
    "int nvmlShutdown(void) { return 0; }\n"
    "const char *nvmlErrorString(int r) { return r == 9 ? \"Driver Not Loaded\" : \"Unknown\"; }\n"
    "int nvmlDeviceGetCount_v2(unsigned *n) { *n = strcmp(mode(), \"many\") == 0 ? 70 : 2; "
    "return 0; }\n"
    "int nvmlDeviceGetHandleByIndex_v2(unsigned i, void **d) { *d = (void *)(size_t)(i + 1); "
    "return 0; }\n"
    "int nvmlDeviceGetName(void *d, char *b, unsigned n) { (void)d; snprintf(b, n, "
    "\"NVIDIA A100-SXM4-80GB\"); return 0; }\n"
    "int nvmlDeviceGetUUID(void *d, char *b, unsigned n) { snprintf(b, n, "
    "\"GPU-%08zu-0000-0000-0000-000000000000\", (size_t)d - 1); return 0; }\n"
    "int nvmlDeviceGetMemoryInfo(void *d, struct mem *m) { (void)d; m->total = "
    "strcmp(mode(), \"bigmem\") == 0 ? ~0ULL : 85899345920ULL; m->free = m->used = 0; "
    "return strcmp(mode(), \"memfail\") == 0 ? 3 : 0; }\n";

static void test_nvml_fake_library(void **state)
{
    struct fx *f = *state;
    char src[256], lib[256], cmd[700];
    snprintf(src, sizeof src, "%s/fake_nvml.c", f->dir);
    snprintf(lib, sizeof lib, "%s/libfake-nvml.so", f->dir);
    FILE *fp = fopen(src, "w");
    assert_non_null(fp);
    fputs(fake_nvml_src, fp);
    fclose(fp);
    snprintf(cmd, sizeof cmd, "cc -shared -fPIC -o '%s' '%s' 2>/dev/null", lib, src);
    if (system(cmd) != 0)
        skip(); /* no C compiler here */
    struct mlq_gpu_opts o = {.method = MLQ_GPU_NVML, .nvml_library = lib};
    struct mlq_gpu_set s;
    struct mlq_err e = {0};
    setenv("FAKE_NVML", "ok", 1);
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), 0);
    assert_string_equal(s.source, "nvml");
    assert_int_equal(s.n, 2);
    assert_int_equal(s.gpus[1].index, 1);
    assert_string_equal(s.gpus[1].uuid, "GPU-00000001-0000-0000-0000-000000000000");
    assert_string_equal(s.gpus[1].model, "NVIDIA A100-SXM4-80GB");
    assert_string_equal(s.gpus[1].type, "a100");
    assert_int_equal(s.gpus[1].mem, 85899345920LL);
    mlq_gpu_set_clear(&s);

    setenv("FAKE_NVML", "many", 1);
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), 0);
    assert_int_equal(s.n, MLQ_MAX_GPUS);
    assert_non_null(strstr(s.note, "6 GPU(s) beyond the first 64"));
    mlq_gpu_set_clear(&s);

    static const struct {
        const char *mode, *why;
    } bad[] = {{"initfail", "NVML: nvmlInit_v2: Driver Not Loaded"},
               {"bigmem", "NVML GPU 0: memory size 0 or above"},
               {"memfail", "NVML GPU 0: nvmlDeviceGetMemoryInfo: Unknown"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("FAKE_NVML", bad[i].mode, 1);
        assert_true(mlq_gpu_discover(&o, &s, &e) < 0);
        if (!strstr(e.msg, bad[i].why))
            fail_msg("%s: \"%s\"", bad[i].mode, e.msg);
        assert_int_equal(s.n, 0);
    }
    unsetenv("FAKE_NVML");
}

/* The driver's and CUDA's versions for run manifests, from a stand-in
 * with only the calls mlq_gpu_driver_versions makes. */
static const char fake_versions_src[] =
    "#include <stdio.h>\n"
    "int nvmlInit_v2(void) { return 0; }\n"
    "int nvmlShutdown(void) { return 0; }\n"
    "int nvmlSystemGetDriverVersion(char *b, unsigned n) { snprintf(b, n, \"550.54.15\"); "
    "return 0; }\n"
    "int nvmlSystemGetCudaDriverVersion(int *v) { *v = 12040; return 0; }\n";

static void test_nvml_driver_versions(void **state)
{
    struct fx *f = *state;
    char src[256], lib[256], cmd[700], drv[96], cuda[16];
    assert_int_equal(
        mlq_gpu_driver_versions("libmlq-no-such-nvml.so.1", drv, sizeof drv, cuda, sizeof cuda),
        -1);
    assert_string_equal(drv, "");
    assert_string_equal(cuda, "");
    snprintf(src, sizeof src, "%s/fake_versions.c", f->dir);
    snprintf(lib, sizeof lib, "%s/libfake-versions.so", f->dir);
    FILE *fp = fopen(src, "w");
    assert_non_null(fp);
    fputs(fake_versions_src, fp);
    fclose(fp);
    snprintf(cmd, sizeof cmd, "cc -shared -fPIC -o '%s' '%s' 2>/dev/null", lib, src);
    if (system(cmd) != 0)
        skip(); /* no C compiler here */
    assert_int_equal(mlq_gpu_driver_versions(lib, drv, sizeof drv, cuda, sizeof cuda), 0);
    assert_string_equal(drv, "550.54.15");
    assert_string_equal(cuda, "12.4");
}

/* ---- fake GPUs, methods, formatting ---- */

static void test_fake(void **state)
{
    (void)state;
    struct mlq_gpu_set s;
    struct mlq_err e = {0};
    assert_int_equal(mlq_gpu_fake(3, &s, &e), 0);
    assert_string_equal(s.source, "fake");
    assert_int_equal(s.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(s.gpus[i].index, i);
        assert_string_equal(s.gpus[i].type, "fake");
        assert_null(s.gpus[i].uuid);
        assert_null(s.gpus[i].model);
        assert_int_equal(s.gpus[i].mem, 0);
    }
    char buf[64];
    assert_string_equal(mlq_gpu_set_fmt(&s, buf, sizeof buf), "3 (fake)");
    mlq_gpu_set_clear(&s);
    assert_int_equal(mlq_gpu_fake(0, &s, &e), 0);
    assert_int_equal(s.n, 0);
    assert_string_equal(mlq_gpu_set_fmt(&s, buf, sizeof buf), "0");
    assert_int_equal(mlq_gpu_fake(MLQ_MAX_GPUS + 1, &s, &e), MLQ_EINVAL);
    assert_int_equal(mlq_gpu_fake(-1, &s, &e), MLQ_EINVAL);
    assert_int_equal(mlq_gpu_fake(MLQ_MAX_GPUS, &s, &e), 0);
    assert_int_equal(s.n, MLQ_MAX_GPUS);
    assert_string_equal(mlq_gpu_set_fmt(&s, buf, 4), "64 "); /* cut, terminated */
    mlq_gpu_set_clear(&s);
}

/* --gpus TYPE:N: fake GPUs of a type, so that tests can mix types. */
static void test_fake_typed(void **state)
{
    (void)state;
    struct mlq_gpu_set s;
    struct mlq_err e = {0};
    assert_int_equal(mlq_gpu_fake_typed(2, "h100", &s, &e), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.gpus[0].type, "h100");
    assert_string_equal(s.gpus[1].type, "h100");
    assert_null(s.gpus[1].uuid);
    mlq_gpu_set_clear(&s);
    assert_int_equal(mlq_gpu_fake_typed(1, NULL, &s, &e), 0);
    assert_string_equal(s.gpus[0].type, "fake");
    mlq_gpu_set_clear(&s);
    assert_int_equal(mlq_gpu_fake_typed(1, "H100", &s, &e), MLQ_EINVAL);
    assert_int_equal(mlq_gpu_fake_typed(1, "", &s, &e), MLQ_EINVAL);
}

static void test_methods(void **state)
{
    (void)state;
    enum mlq_gpu_method m;
    assert_int_equal(mlq_gpu_method_parse("auto", &m, NULL), 0);
    assert_int_equal(m, MLQ_GPU_AUTO);
    assert_int_equal(mlq_gpu_method_parse("nvml", &m, NULL), 0);
    assert_int_equal(m, MLQ_GPU_NVML);
    assert_int_equal(mlq_gpu_method_parse("nvidia-smi", &m, NULL), 0);
    assert_int_equal(m, MLQ_GPU_NVIDIA_SMI);
    assert_int_equal(mlq_gpu_method_parse("none", &m, NULL), 0);
    assert_int_equal(m, MLQ_GPU_NONE);
    struct mlq_err e = {0};
    assert_int_equal(mlq_gpu_method_parse("cuda", &m, &e), MLQ_EINVAL);
    assert_non_null(strstr(e.msg, "expected auto, nvml, nvidia-smi or none"));

    struct mlq_gpu_opts o = {.method = MLQ_GPU_NONE};
    struct mlq_gpu_set s;
    setenv("MLQ_NVIDIA_SMI", "/nonexistent", 1);
    assert_int_equal(mlq_gpu_discover(&o, &s, &e), 0);
    assert_string_equal(s.source, "none");
    assert_int_equal(s.n, 0);
    assert_string_equal(s.note, "");
}

/* ---- the worker's register ---- */

/* An agent with these GPUs, pool and labels registers with a ROUTER on
 * inproc://; returns the decoded register message. */
static void register_with(struct fx *f, const struct mlq_gpu_set *gpus, const char *pool,
                          const char *const *labels, uint32_t nlabels, struct mlq_msg *out)
{
    char endpoint[64], spool_dir[128];
    snprintf(endpoint, sizeof endpoint, "inproc://gpu-%ld", (long)getpid());
    snprintf(spool_dir, sizeof spool_dir, "%s/spool", f->dir);
    void *zctx = zmq_ctx_new(), *router = NULL;
    struct mlq_spool *sp = NULL;
    struct mlq_agent *agent = NULL;
    struct mlq_err e = {0};
    assert_int_equal(mlq_transport_router(zctx, endpoint, &router, &e), 0);
    assert_int_equal(mlq_spool_open(spool_dir, &sp, &e), 0);
    struct mlq_agent_config cfg = {
        .endpoint = endpoint,
        .name = "w1",
        .shim_path = "/nonexistent/mlq-shim", /* no job runs here */
        .cpus_m = 1000,
        .mem = 1 << 30,
        .gpus = (int32_t)gpus->n,
        .gpu_list = gpus->gpus,
        .pool = pool,
        .labels = labels,
        .nlabels = nlabels,
        .heartbeat_ms = 1000,
        .signal_fd = -1,
        .zctx = zctx,
    };
    assert_int_equal(mlq_agent_create(&cfg, sp, &agent, &e), 0);
    int64_t end = mlq_clock_mono_ms() + 5000;
    struct mlq_peer peer;
    int rc = MLQ_EUNAVAIL;
    while (rc < 0 && mlq_clock_mono_ms() < end) {
        assert_int_equal(mlq_agent_step(agent, 10, &e), 0);
        rc = mlq_transport_recv_from(router, &peer, out, &e);
        if (rc == 0 && out->type != MLQ_MSG_REGISTER) {
            mlq_proto_msg_free(out);
            rc = MLQ_EUNAVAIL;
        }
    }
    if (rc < 0)
        fail_msg("no register: %s", e.msg);
    mlq_agent_destroy(&agent);
    mlq_spool_close(&sp);
    zmq_close(router);
    zmq_ctx_term(zctx);
}

static void test_register_carries_gpus(void **state)
{
    struct fx *f = *state;
    struct mlq_gpu_set gpus;
    assert_int_equal(mlq_gpu_parse_smi(TWO_GPUS, strlen(TWO_GPUS), &gpus, NULL), 0);
    const char *labels[] = {"zone=eu-1", "ib=yes"};
    struct mlq_msg m;
    register_with(f, &gpus, "gpu", labels, 2, &m);
    assert_int_equal(m.u.reg.gpus, 2);
    assert_int_equal(m.u.reg.ngpu_list, 2);
    assert_string_equal(m.u.reg.pool, "gpu");
    assert_int_equal(m.u.reg.nlabels, 2);
    assert_string_equal(m.u.reg.labels[0], "zone=eu-1");
    assert_string_equal(m.u.reg.labels[1], "ib=yes");
    for (int i = 0; i < 2; i++) {
        assert_int_equal(m.u.reg.gpu_list[i].index, i);
        assert_string_equal(m.u.reg.gpu_list[i].uuid, i == 0 ? UUID0 : UUID1);
        assert_string_equal(m.u.reg.gpu_list[i].model, "NVIDIA H100 80GB HBM3");
        assert_string_equal(m.u.reg.gpu_list[i].type, "h100");
        assert_int_equal(m.u.reg.gpu_list[i].mem, 81559LL * 1024 * 1024);
        assert_null(m.u.reg.gpu_list[i].job_id);
    }
    mlq_proto_msg_free(&m);
    mlq_gpu_set_clear(&gpus);

    /* fake GPUs, default pool, no labels */
    assert_int_equal(mlq_gpu_fake(3, &gpus, NULL), 0);
    register_with(f, &gpus, NULL, NULL, 0, &m);
    assert_int_equal(m.u.reg.gpus, 3);
    assert_int_equal(m.u.reg.ngpu_list, 3);
    assert_null(m.u.reg.pool);
    assert_int_equal(m.u.reg.nlabels, 0);
    assert_string_equal(m.u.reg.gpu_list[2].type, "fake");
    assert_null(m.u.reg.gpu_list[2].uuid);
    mlq_proto_msg_free(&m);

    /* a list whose indexes are not 0..n-1 is refused before anything is sent */
    gpus.gpus[1].index = 2;
    struct mlq_agent_config cfg = {.endpoint = "inproc://x",
                                   .name = "w1",
                                   .shim_path = "/x",
                                   .cpus_m = 1000,
                                   .mem = 1,
                                   .gpus = 3,
                                   .gpu_list = gpus.gpus,
                                   .heartbeat_ms = 1000,
                                   .signal_fd = -1};
    struct mlq_agent *agent = NULL;
    struct mlq_err e = {0};
    assert_int_equal(mlq_agent_create(&cfg, NULL, &agent, &e), MLQ_EINVAL);
    assert_non_null(strstr(e.msg, "GPU list entry 1"));
    assert_null(agent);
    mlq_gpu_set_clear(&gpus);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_table),
        cmocka_unit_test(test_parse_two),
        cmocka_unit_test(test_parse_lenient_layout),
        cmocka_unit_test(test_parse_beyond_max),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test_setup_teardown(test_smi_script_two, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smi_script_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smi_script_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smi_script_hangs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_smi_output_too_big, setup, teardown),
        cmocka_unit_test(test_nvml_absent),
        cmocka_unit_test_setup_teardown(test_nvml_fake_library, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nvml_driver_versions, setup, teardown),
        cmocka_unit_test(test_fake),
        cmocka_unit_test(test_fake_typed),
        cmocka_unit_test(test_methods),
        cmocka_unit_test_setup_teardown(test_register_carries_gpus, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
