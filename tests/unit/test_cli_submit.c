/* Unit tests for `mlq submit` option parsing (no network): defaults,
 * resources, repeated --env, --export and the environment sent, `--`
 * handling, job arguments that look like options, and every kind of bad
 * input with its error code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cmd_submit.h"
#include "envname.h"

#define GIB (1024LL * 1024 * 1024)
#define MIB (1024LL * 1024)

/* Runs the parser on a NULL-terminated list of words (argv[0] = "submit"). */
static int parse(struct mlq_jobspec *spec, struct mlq_cli_submit_opts *opts, struct mlq_err *err,
                 ...)
{
    char *words[64];
    int n = 0;
    va_list ap;
    va_start(ap, err);
    words[n++] = "submit";
    for (char *w; (w = va_arg(ap, char *)) != NULL && n < 63;)
        words[n++] = w;
    va_end(ap);
    words[n] = NULL;
    mlq_err_clear(err);
    return mlq_cli_submit_parse(n, words, spec, opts, err);
}

/* The value of name in the spec's environment, NULL when absent. */
static const char *spec_env(const struct mlq_jobspec *spec, const char *name)
{
    size_t len = strlen(name);
    for (uint32_t i = 0; i < spec->envc; i++)
        if (strncmp(spec->env[i], name, len) == 0 && spec->env[i][len] == '=')
            return spec->env[i] + len + 1;
    return NULL;
}

static void test_defaults(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    setenv("SUBMIT_TEST_EXPORTED", "yes", 1);
    assert_int_equal(parse(&spec, &opts, &err, "--", "true", NULL), 0);
    unsetenv("SUBMIT_TEST_EXPORTED");
    assert_int_equal(spec.argc, 1);
    assert_string_equal(spec.argv[0], "true");
    assert_int_equal(spec.cpus_m, 1000);
    assert_int_equal(spec.mem, GIB);
    assert_int_equal(spec.gpus, 0);
    /* --export ALL: this environment goes with the job */
    assert_non_null(spec_env(&spec, "SUBMIT_TEST_EXPORTED"));
    assert_string_equal(spec_env(&spec, "SUBMIT_TEST_EXPORTED"), "yes");
    /* no retries or limits unless asked: the scheduler fills its defaults */
    assert_int_equal(spec.retries, 0);
    assert_int_equal(spec.retry_backoff_ms, 0);
    assert_int_equal(spec.time_limit_ms, 0);
    assert_int_equal(spec.kill_grace_ms, 0);
    assert_int_equal(spec.warn_signal, 0);
    assert_int_equal(spec.warn_before_ms, 0);
    assert_int_equal(spec.priority, 0);
    assert_null(spec.pool);
    assert_null(spec.require);
    assert_null(spec.gpu_type);
    assert_null(spec.name);
    assert_non_null(spec.owner);
    assert_true(spec.owner[0] != '\0');
    char *cwd = getcwd(NULL, 0);
    assert_string_equal(spec.workdir, cwd);
    free(cwd);
    assert_false(opts.json);
    assert_false(opts.help);
    assert_null(opts.scheduler);
    assert_int_equal(opts.timeout_ms, 0);
    mlq_proto_jobspec_free(&spec);
}

static void test_resources_and_name(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    assert_int_equal(parse(&spec, &opts, &err, "--cpus", "0.5", "--mem", "512M", "--gpus", "2",
                           "--name", "train", "--json", "--scheduler", "tcp://127.0.0.1:9",
                           "--timeout", "2s", "python", "x.py", NULL),
                     0);
    assert_int_equal(spec.cpus_m, 500);
    assert_int_equal(spec.mem, 512 * MIB);
    assert_int_equal(spec.gpus, 2);
    assert_string_equal(spec.name, "train");
    assert_int_equal(spec.argc, 2);
    assert_string_equal(spec.argv[0], "python");
    assert_string_equal(spec.argv[1], "x.py");
    assert_true(opts.json);
    assert_string_equal(opts.scheduler, "tcp://127.0.0.1:9");
    assert_int_equal(opts.timeout_ms, 2000);
    mlq_proto_jobspec_free(&spec);
}

/* --gpus shares and type alternatives, --gpu-mem. */
static void test_gpu_shares(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    assert_int_equal(parse(&spec, &opts, &err, "--gpus", "0.25", "true", NULL), 0);
    assert_int_equal(spec.gpus, 0);
    assert_int_equal(spec.gpu_frac, 25);
    assert_null(spec.gpu_type);
    mlq_proto_jobspec_free(&spec);
    assert_int_equal(parse(&spec, &opts, &err, "--gpus", "A100|H100:2", "true", NULL), 0);
    assert_int_equal(spec.gpus, 2);
    assert_int_equal(spec.gpu_frac, 0);
    assert_string_equal(spec.gpu_type, "a100|h100");
    mlq_proto_jobspec_free(&spec);
    assert_int_equal(
        parse(&spec, &opts, &err, "--gpus", "h100:0.5", "--gpu-mem", "10G", "true", NULL), 0);
    assert_int_equal(spec.gpu_frac, 50);
    assert_int_equal(spec.gpu_mem, 10 * 1024 * MIB);
    assert_string_equal(spec.gpu_type, "h100");
    mlq_proto_jobspec_free(&spec);
    assert_int_equal(parse(&spec, &opts, &err, "--gpu-mem", "8G", "true", NULL), 0);
    assert_int_equal(spec.gpus, 0);
    assert_int_equal(spec.gpu_frac, 0);
    assert_int_equal(spec.gpu_mem, 8 * 1024 * MIB);
    mlq_proto_jobspec_free(&spec);
    assert_int_equal(parse(&spec, &opts, &err, "--gpus", "0", "true", NULL), 0);
    assert_int_equal(spec.gpus, 0);
    assert_int_equal(spec.gpu_frac, 0);
    mlq_proto_jobspec_free(&spec);
    assert_int_equal(parse(&spec, &opts, &err, "--gpus", "1.5", "true", NULL), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "1.5"));
    mlq_proto_jobspec_free(&spec);
    assert_int_equal(parse(&spec, &opts, &err, "--nodes", "2", "--gpus", "0.5", "true", NULL),
                     MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "--nodes cannot be combined with a share"));
    mlq_proto_jobspec_free(&spec);
    assert_int_equal(parse(&spec, &opts, &err, "--gpus", "2", "--gpu-mem", "1G", "true", NULL),
                     MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "--gpu-mem asks for a share of one GPU"));
    mlq_proto_jobspec_free(&spec);
}

static void test_fractional_cpus(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    assert_int_equal(parse(&spec, &opts, &err, "--cpus", "1.25", "true", NULL), 0);
    assert_int_equal(spec.cpus_m, 1250);
    mlq_proto_jobspec_free(&spec);
    assert_int_equal(parse(&spec, &opts, &err, "--cpus=0.001", "true", NULL), 0);
    assert_int_equal(spec.cpus_m, 1);
    mlq_proto_jobspec_free(&spec);
}

static void test_repeated_env(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    assert_int_equal(parse(&spec, &opts, &err, "--export", "NONE", "--env", "A=1", "--env", "B=x=y",
                           "--env", "C=", "--env", "A=2", "--", "cmd", NULL),
                     0);
    assert_int_equal(spec.envc, 3); /* the later A wins */
    assert_string_equal(spec.env[0], "B=x=y");
    assert_string_equal(spec.env[1], "C=");
    assert_string_equal(spec.env[2], "A=2");
    mlq_proto_jobspec_free(&spec);
}

/* --export ALL leaves out what the worker sets or drops and what is not a
 * variable name (bash's exported functions); --env wins over an export. */
static void test_export_all_filters(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    setenv("MLQ_JOB_ID", "parent", 1);
    setenv("CUDA_VISIBLE_DEVICES", "0,1", 1);
    setenv("NOTIFY_SOCKET", "/run/x", 1);
    setenv("BASH_FUNC_f%%", "() { :; }", 1);
    setenv("SUBMIT_TEST_A", "exported", 1);
    int rc = parse(&spec, &opts, &err, "--env", "SUBMIT_TEST_A=given", "true", NULL);
    unsetenv("MLQ_JOB_ID");
    unsetenv("CUDA_VISIBLE_DEVICES");
    unsetenv("NOTIFY_SOCKET");
    unsetenv("BASH_FUNC_f%%");
    unsetenv("SUBMIT_TEST_A");
    assert_int_equal(rc, 0);
    assert_null(spec_env(&spec, "MLQ_JOB_ID"));
    assert_null(spec_env(&spec, "CUDA_VISIBLE_DEVICES"));
    assert_null(spec_env(&spec, "NOTIFY_SOCKET"));
    assert_null(spec_env(&spec, "HOME"));
    assert_null(spec_env(&spec, "BASH_FUNC_f%%"));
    assert_string_equal(spec_env(&spec, "SUBMIT_TEST_A"), "given");
    int seen = 0;
    for (uint32_t i = 0; i < spec.envc; i++)
        seen += strncmp(spec.env[i], "SUBMIT_TEST_A=", 14) == 0;
    assert_int_equal(seen, 1);
    mlq_proto_jobspec_free(&spec);
}

/* --export NONE sends nothing but --env; a list sends exactly the listed
 * variables that are set; --env VAR takes this environment's value. */
static void test_export_none_and_list(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    setenv("SUBMIT_TEST_A", "a", 1);
    setenv("SUBMIT_TEST_B", "b", 1);
    setenv("SUBMIT_TEST_C", "c", 1);
    assert_int_equal(parse(&spec, &opts, &err, "--export", "NONE", "true", NULL), 0);
    assert_int_equal(spec.envc, 0);
    mlq_proto_jobspec_free(&spec);
    assert_int_equal(parse(&spec, &opts, &err, "--export", "none", "true", NULL), 0);
    assert_int_equal(spec.envc, 0);
    mlq_proto_jobspec_free(&spec);
    assert_int_equal(
        parse(&spec, &opts, &err, "--export", "SUBMIT_TEST_A,SUBMIT_TEST_B,UNSET_X", "true", NULL),
        0);
    assert_int_equal(spec.envc, 2);
    assert_string_equal(spec_env(&spec, "SUBMIT_TEST_A"), "a");
    assert_string_equal(spec_env(&spec, "SUBMIT_TEST_B"), "b");
    mlq_proto_jobspec_free(&spec);
    assert_int_equal(
        parse(&spec, &opts, &err, "--export", "NONE", "--env", "SUBMIT_TEST_C", "true", NULL), 0);
    assert_int_equal(spec.envc, 1);
    assert_string_equal(spec.env[0], "SUBMIT_TEST_C=c");
    mlq_proto_jobspec_free(&spec);
    unsetenv("SUBMIT_TEST_A");
    unsetenv("SUBMIT_TEST_B");
    unsetenv("SUBMIT_TEST_C");
}

/* Names that are not variable names, and --env VAR of an unset VAR, are
 * invalid requests naming the culprit. */
static void test_env_bad_names(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    assert_int_equal(parse(&spec, &opts, &err, "--env", "1X=2", "true", NULL), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "'1X'"));
    assert_int_equal(parse(&spec, &opts, &err, "--env", "A-B=1", "true", NULL), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "'A-B'"));
    assert_int_equal(parse(&spec, &opts, &err, "--env", "=x", "true", NULL), MLQ_EINVAL);
    assert_int_equal(parse(&spec, &opts, &err, "--export", "A,B.C", "true", NULL), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "'B.C'"));
    assert_int_equal(parse(&spec, &opts, &err, "--export", "A,", "true", NULL), MLQ_EINVAL);
    unsetenv("SUBMIT_TEST_UNSET");
    assert_int_equal(parse(&spec, &opts, &err, "--env", "SUBMIT_TEST_UNSET", "true", NULL),
                     MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "SUBMIT_TEST_UNSET is not set"));
}

/* An environment over the bounds is refused, telling to use --export. */
static void test_env_too_large(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    char *big = malloc(MLQ_MAX_ENV_ENTRY + 1);
    assert_non_null(big);
    memset(big, 'x', MLQ_MAX_ENV_ENTRY);
    big[MLQ_MAX_ENV_ENTRY] = '\0';
    setenv("SUBMIT_TEST_BIG", big, 1);
    assert_int_equal(parse(&spec, &opts, &err, "true", NULL), MLQ_ETOOBIG);
    assert_non_null(strstr(err.msg, "SUBMIT_TEST_BIG"));
    assert_non_null(strstr(err.msg, "--export"));
    /* left out, it is fine */
    assert_int_equal(parse(&spec, &opts, &err, "--export", "PATH", "true", NULL), 0);
    mlq_proto_jobspec_free(&spec);
    unsetenv("SUBMIT_TEST_BIG");
    big[MLQ_MAX_ENV_ENTRY / 2] = '\0'; /* 16 KiB each: eight are too many bytes */
    char name[32];
    for (int i = 0; i < 8; i++) {
        snprintf(name, sizeof name, "SUBMIT_TEST_BIG%d", i);
        setenv(name, big, 1);
    }
    assert_int_equal(parse(&spec, &opts, &err, "true", NULL), MLQ_ETOOBIG);
    assert_non_null(strstr(err.msg, "too large"));
    assert_non_null(strstr(err.msg, "--export"));
    for (int i = 0; i < 8; i++) {
        snprintf(name, sizeof name, "SUBMIT_TEST_BIG%d", i);
        unsetenv(name);
    }
    free(big);
}

/* Over a base spec (rerun): only what is given changes; --env KEY=VALUE
 * replaces KEY's value; the command, name and workdir stay unless given;
 * --image is checked as on submit. */
static void test_parse_over_base(void **state)
{
    (void)state;
    static char *argv[] = {"python", "train.py"};
    static char *env[] = {"A=1", "B=2"};
    struct mlq_jobspec base = {.name = "orig",
                               .owner = "someone",
                               .argv = argv,
                               .argc = 2,
                               .env = env,
                               .envc = 2,
                               .workdir = "/data/exp",
                               .cpus_m = 2000,
                               .mem = 1 << 30,
                               .image = "localhost/img:1"};
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err = {0};
    char *w1[] = {"JOB", "--env", "B=3", "--env", "C=4", "--cpus", "4", NULL};
    assert_int_equal(mlq_cli_submit_parse_over(7, w1, NULL, &base, &spec, &opts, &err), 0);
    assert_int_equal(spec.argc, 2);
    assert_string_equal(spec.argv[1], "train.py");
    assert_string_equal(spec.workdir, "/data/exp");
    assert_string_equal(spec.name, "orig");
    assert_string_equal(spec.image, "localhost/img:1");
    assert_int_equal(spec.cpus_m, 4000);
    assert_int_equal(spec.envc, 3);
    assert_string_equal(spec.env[0], "A=1");
    assert_string_equal(spec.env[1], "B=3");
    assert_string_equal(spec.env[2], "C=4");
    assert_string_not_equal(spec.owner, "someone");
    mlq_proto_jobspec_free(&spec);
    char *w2[] = {"JOB", "--name", "n2", "--", "sh", "-c", "true", NULL};
    assert_int_equal(mlq_cli_submit_parse_over(7, w2, NULL, &base, &spec, &opts, &err), 0);
    assert_int_equal(spec.argc, 3);
    assert_string_equal(spec.argv[0], "sh");
    assert_string_equal(spec.name, "n2");
    mlq_proto_jobspec_free(&spec);
    char *w3[] = {"JOB", "--image", "oci:/etc", NULL};
    assert_int_equal(mlq_cli_submit_parse_over(3, w3, NULL, &base, &spec, &opts, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "--image"));
    /* without a base, no command is still a usage error */
    char *w4[] = {"submit", "--cpus", "1", NULL};
    assert_int_equal(mlq_cli_submit_parse_over(3, w4, NULL, NULL, &spec, &opts, &err),
                     MLQ_CLI_EUSAGE);
}

/* The job's own options stay the job's, with or without `--`. */
static void test_command_options_preserved(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    assert_int_equal(parse(&spec, &opts, &err, "--cpus", "2", "python", "--cpus", "5", "-h", "--",
                           "--json", NULL),
                     0);
    assert_int_equal(spec.cpus_m, 2000);
    assert_false(opts.help);
    assert_false(opts.json);
    const char *want[] = {"python", "--cpus", "5", "-h", "--", "--json"};
    assert_int_equal(spec.argc, 6);
    for (int i = 0; i < 6; i++)
        assert_string_equal(spec.argv[i], want[i]);
    mlq_proto_jobspec_free(&spec);

    /* After `--`, even a command starting with '-' is the command. */
    assert_int_equal(parse(&spec, &opts, &err, "--", "-weird", "--x", NULL), 0);
    assert_int_equal(spec.argc, 2);
    assert_string_equal(spec.argv[0], "-weird");
    assert_string_equal(spec.argv[1], "--x");
    mlq_proto_jobspec_free(&spec);
}

static void test_workdir_made_absolute(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    assert_int_equal(parse(&spec, &opts, &err, "--workdir", "sub/dir", "true", NULL), 0);
    char *cwd = getcwd(NULL, 0);
    char want[4096];
    snprintf(want, sizeof(want), "%s/sub/dir", strcmp(cwd, "/") == 0 ? "" : cwd);
    assert_string_equal(spec.workdir, want);
    free(cwd);
    mlq_proto_jobspec_free(&spec);
    assert_int_equal(parse(&spec, &opts, &err, "--workdir", "/data/run", "true", NULL), 0);
    assert_string_equal(spec.workdir, "/data/run");
    mlq_proto_jobspec_free(&spec);
}

static void test_help(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    assert_int_equal(parse(&spec, &opts, &err, "--help", NULL), 0);
    assert_true(opts.help);
    mlq_proto_jobspec_free(&spec);
}

struct bad_case {
    const char *what;
    const char *words[6];
    int code;
};

static const struct bad_case bad_cases[] = {
    {"negative gpus", {"--gpus", "-1", "--", "true"}, MLQ_EINVAL},
    {"too many gpus", {"--gpus", "65", "true"}, MLQ_EINVAL},
    {"share above one", {"--gpus", "1.5", "true"}, MLQ_EINVAL},
    {"share too small", {"--gpus", "0.001", "true"}, MLQ_EINVAL},
    {"share three decimals", {"--gpus", "0.255", "true"}, MLQ_EINVAL},
    {"typed zero share", {"--gpus", "h100:0", "true"}, MLQ_EINVAL},
    {"empty type alternative", {"--gpus", "a100|:1", "true"}, MLQ_EINVAL},
    {"repeated type alternative", {"--gpus", "a100|a100:1", "true"}, MLQ_EINVAL},
    {"bad gpu mem", {"--gpu-mem", "0", "true"}, MLQ_EINVAL},
    {"gpu mem suffix", {"--gpu-mem", "5Q", "true"}, MLQ_EINVAL},
    {"bad mem suffix", {"--mem", "5Q", "true"}, MLQ_EINVAL},
    {"zero mem", {"--mem", "0", "true"}, MLQ_EINVAL},
    {"zero cpus", {"--cpus", "0", "true"}, MLQ_EINVAL},
    {"too precise cpus", {"--cpus", "0.0001", "true"}, MLQ_EINVAL},
    {"cpus garbage", {"--cpus", "1x", "true"}, MLQ_EINVAL},
    {"no command", {NULL}, MLQ_CLI_EUSAGE},
    {"only --", {"--"}, MLQ_CLI_EUSAGE},
    {"options but no command", {"--cpus", "1"}, MLQ_CLI_EUSAGE},
    {"unknown option", {"--bogus", "--", "true"}, MLQ_CLI_EUSAGE},
    {"unknown short option", {"-x", "true"}, MLQ_CLI_EUSAGE},
    {"missing value", {"--cpus"}, MLQ_CLI_EUSAGE},
    {"env empty key", {"--env", "=x", "true"}, MLQ_EINVAL},
    {"env without =", {"--env", "NOEQUALS", "true"}, MLQ_EINVAL},
    {"empty command", {"--", ""}, MLQ_EINVAL},
    {"bad timeout", {"--timeout", "soon", "true"}, MLQ_CLI_EUSAGE},
    {"retries above 100", {"--retries", "101", "true"}, MLQ_EINVAL},
    {"negative retries", {"--retries", "-1", "true"}, MLQ_EINVAL},
    {"fractional retries", {"--retries", "1.5", "true"}, MLQ_EINVAL},
    {"empty retries", {"--retries", "", "true"}, MLQ_EINVAL},
    {"retries garbage", {"--retries", "3x", "true"}, MLQ_EINVAL},
    {"zero time limit", {"--time-limit", "0", "true"}, MLQ_EINVAL},
    {"time limit garbage", {"--time-limit", "soon", "true"}, MLQ_EINVAL},
    {"time limit too long", {"--time-limit", "400d", "true"}, MLQ_EINVAL},
    {"negative backoff", {"--retry-backoff", "-5s", "true"}, MLQ_EINVAL},
    {"kill grace suffix", {"--kill-grace", "5x", "true"}, MLQ_EINVAL},
    {"signal without limit", {"--signal", "USR1@1m", "true"}, MLQ_EINVAL},
    {"signal not before limit", {"--time-limit", "5m", "--signal", "USR1@5m", "true"}, MLQ_EINVAL},
    {"signal after limit", {"--signal", "USR1@10m", "--time-limit", "5m", "true"}, MLQ_EINVAL},
    {"signal unknown", {"--time-limit", "1h", "--signal", "FOO@1m", "true"}, MLQ_EINVAL},
    {"signal number 0", {"--time-limit", "1h", "--signal", "0@1m", "true"}, MLQ_EINVAL},
    {"signal number 65", {"--time-limit", "1h", "--signal", "65@1m", "true"}, MLQ_EINVAL},
    {"signal unknown without @", {"--signal", "FOO", "true"}, MLQ_EINVAL},
    {"signal without name", {"--time-limit", "1h", "--signal", "@1m", "true"}, MLQ_EINVAL},
    {"signal without time", {"--time-limit", "1h", "--signal", "USR1@", "true"}, MLQ_EINVAL},
    {"signal bad time", {"--time-limit", "1h", "--signal", "USR1@1y", "true"}, MLQ_EINVAL},
    {"signal only SIG", {"--time-limit", "1h", "--signal", "SIG@1m", "true"}, MLQ_EINVAL},
    {"priority above 1000", {"--priority", "1001", "true"}, MLQ_EINVAL},
    {"priority below -1000", {"--priority", "-1001", "true"}, MLQ_EINVAL},
    {"priority fraction", {"--priority", "1.5", "true"}, MLQ_EINVAL},
    {"priority empty", {"--priority", "", "true"}, MLQ_EINVAL},
    {"priority garbage", {"--priority", "high", "true"}, MLQ_EINVAL},
    {"priority huge", {"--priority", "99999999999999999999", "true"}, MLQ_EINVAL},
    {"priority space", {"--priority", " 5", "true"}, MLQ_EINVAL},
    {"pool empty", {"--pool", "", "true"}, MLQ_EINVAL},
    {"pool with space", {"--pool", "a b", "true"}, MLQ_EINVAL},
    {"pool with slash", {"--pool", "a/b", "true"}, MLQ_EINVAL},
    {"require without =", {"--require", "gpu", "true"}, MLQ_EINVAL},
    {"require empty key", {"--require", "=x", "true"}, MLQ_EINVAL},
    {"require bad key", {"--require", "k y=x", "true"}, MLQ_EINVAL},
    {"require value space", {"--require", "k=x y", "true"}, MLQ_EINVAL},
    {"gpus type no count", {"--gpus", "h100:", "true"}, MLQ_EINVAL},
    {"gpus type zero", {"--gpus", "h100:0", "true"}, MLQ_EINVAL},
    {"gpus no type", {"--gpus", ":2", "true"}, MLQ_EINVAL},
    {"gpus bad type", {"--gpus", "h/100:2", "true"}, MLQ_EINVAL},
    {"gpus type too many", {"--gpus", "h100:65", "true"}, MLQ_EINVAL},
    {"gpus two colons", {"--gpus", "a:b:2", "true"}, MLQ_EINVAL},
    {"gpus type too long", {"--gpus", "abcdefghijabcdefghijabcdefghijabc:1", "true"}, MLQ_EINVAL},
};

static void test_bad_input(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        char *words[8] = {"submit"};
        int n = 1;
        for (int k = 0; k < 6 && c->words[k]; k++)
            words[n++] = (char *)c->words[k];
        words[n] = NULL;
        struct mlq_jobspec spec;
        struct mlq_cli_submit_opts opts;
        struct mlq_err err;
        mlq_err_clear(&err);
        int rc = mlq_cli_submit_parse(n, words, &spec, &opts, &err);
        if (rc != c->code)
            fail_msg("%s: expected %d, got %d (%s)", c->what, c->code, rc, err.msg);
        assert_true(err.msg[0] != '\0');
        /* Nothing is left to free after a failure. */
        assert_null(spec.argv);
        assert_null(spec.env);
        assert_null(spec.owner);
        assert_null(spec.pool);
        assert_null(spec.require);
        assert_null(spec.gpu_type);
    }
}

static void test_too_many_env(void **state)
{
    (void)state;
    char *words[2 * MLQ_ENV_USER_MAX_C + 10];
    static char kv[MLQ_ENV_USER_MAX_C + 1][16];
    int n = 0;
    words[n++] = "submit";
    words[n++] = "--export";
    words[n++] = "NONE";
    for (int i = 0; i <= MLQ_ENV_USER_MAX_C; i++) {
        snprintf(kv[i], sizeof(kv[i]), "K%d=v", i);
        words[n++] = "--env";
        words[n++] = kv[i];
    }
    words[n++] = "true";
    words[n] = NULL;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    assert_int_equal(mlq_cli_submit_parse(n, words, &spec, &opts, &err), MLQ_ETOOBIG);
    assert_non_null(strstr(err.msg, "--export"));
    /* One fewer is fine. */
    words[n - 3] = "true";
    words[n - 2] = NULL;
    assert_int_equal(mlq_cli_submit_parse(n - 2, words, &spec, &opts, &err), 0);
    assert_int_equal(spec.envc, MLQ_ENV_USER_MAX_C);
    mlq_proto_jobspec_free(&spec);
}

static void test_long_name_rejected(void **state)
{
    (void)state;
    char name[MLQ_MAX_NAME + 2];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    assert_int_equal(parse(&spec, &opts, &err, "--name", name, "true", NULL), MLQ_EINVAL);
    name[MLQ_MAX_NAME] = '\0';
    assert_int_equal(parse(&spec, &opts, &err, "--name", name, "true", NULL), 0);
    mlq_proto_jobspec_free(&spec);
}

static void test_placement(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    assert_int_equal(parse(&spec, &opts, &err, "--priority", "-1000", "--pool", "a100", "--require",
                           "zone=eu", "--require", "ib=hdr", "--gpus", "H100:2", "--", "train",
                           NULL),
                     0);
    assert_int_equal(spec.priority, -1000);
    assert_string_equal(spec.pool, "a100");
    assert_int_equal(spec.nrequire, 2);
    assert_string_equal(spec.require[0], "zone=eu");
    assert_string_equal(spec.require[1], "ib=hdr");
    assert_string_equal(spec.gpu_type, "h100"); /* lowercased */
    assert_int_equal(spec.gpus, 2);
    mlq_proto_jobspec_free(&spec);

    /* the last --gpus and --pool win; a plain count drops an earlier type */
    assert_int_equal(parse(&spec, &opts, &err, "--gpus", "a100:1", "--gpus", "3", "--pool", "x",
                           "--pool", "y", "--priority", "+7", "true", NULL),
                     0);
    assert_null(spec.gpu_type);
    assert_int_equal(spec.gpus, 3);
    assert_string_equal(spec.pool, "y");
    assert_int_equal(spec.priority, 7);
    assert_null(spec.require);
    mlq_proto_jobspec_free(&spec);

    assert_int_equal(parse(&spec, &opts, &err, "--gpus", "fake:1", "true", NULL), 0);
    assert_string_equal(spec.gpu_type, "fake");
    assert_int_equal(spec.gpus, 1);
    mlq_proto_jobspec_free(&spec);

    /* messages name the option and the value */
    assert_int_equal(parse(&spec, &opts, &err, "--require", "noeq", "true", NULL), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "--require 'noeq'"));
    assert_int_equal(parse(&spec, &opts, &err, "--priority", "2000", "true", NULL), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "-1000 to 1000"));
    assert_int_equal(parse(&spec, &opts, &err, "--gpus", "V100:0", "true", NULL), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "count of 1 or more"));
}

static void test_too_many_require(void **state)
{
    (void)state;
    char *words[2 * MLQ_MAX_LABELS + 8];
    static char kv[MLQ_MAX_LABELS + 1][16];
    int n = 0;
    words[n++] = "submit";
    for (int i = 0; i <= MLQ_MAX_LABELS; i++) {
        snprintf(kv[i], sizeof(kv[i]), "k%d=v", i);
        words[n++] = "--require";
        words[n++] = kv[i];
    }
    words[n++] = "true";
    words[n] = NULL;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    assert_int_equal(mlq_cli_submit_parse(n, words, &spec, &opts, &err), MLQ_ETOOBIG);
    assert_null(spec.require);
    words[n - 3] = "true";
    words[n - 2] = NULL;
    assert_int_equal(mlq_cli_submit_parse(n - 2, words, &spec, &opts, &err), 0);
    assert_int_equal(spec.nrequire, MLQ_MAX_LABELS);
    mlq_proto_jobspec_free(&spec);
}

static void test_retries_and_limits(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    /* --signal may come before --time-limit */
    assert_int_equal(parse(&spec, &opts, &err, "--signal", "SIGUSR1@5m", "--retries", "3",
                           "--retry-backoff", "10s", "--time-limit", "2h", "--kill-grace", "1m",
                           "--", "train", "--retries", "9", NULL),
                     0);
    assert_int_equal(spec.retries, 3);
    assert_int_equal(spec.retry_backoff_ms, 10000);
    assert_int_equal(spec.time_limit_ms, 2 * 3600 * 1000);
    assert_int_equal(spec.kill_grace_ms, 60000);
    assert_int_equal(spec.warn_signal, SIGUSR1);
    assert_int_equal(spec.warn_before_ms, 300000);
    assert_int_equal(spec.argc, 3); /* the job's own --retries stays the job's */
    assert_string_equal(spec.argv[1], "--retries");
    mlq_proto_jobspec_free(&spec);

    static const struct {
        const char *arg;
        int sig;
    } sigs[] = {{"USR1@1s", SIGUSR1},  {"usr2@1s", SIGUSR2}, {"TERM@1s", SIGTERM},
                {"sigint@1s", SIGINT}, {"10@1s", 10},        {"64@1s", 64}};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        assert_int_equal(
            parse(&spec, &opts, &err, "--time-limit", "1m", "--signal", sigs[i].arg, "true", NULL),
            0);
        assert_int_equal(spec.warn_signal, sigs[i].sig);
        assert_int_equal(spec.warn_before_ms, 1000);
        mlq_proto_jobspec_free(&spec);
    }
    assert_int_equal(parse(&spec, &opts, &err, "--retries", "0", "--retries", "100", "true", NULL),
                     0);
    assert_int_equal(spec.retries, 100); /* last wins */
    mlq_proto_jobspec_free(&spec);
}

/* Bad values name the option in one line. */
static void test_limit_messages(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    assert_int_equal(
        parse(&spec, &opts, &err, "--time-limit", "5m", "--signal", "USR1@10m", "true", NULL),
        MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "--signal"));
    assert_non_null(strstr(err.msg, "--time-limit"));
    assert_null(strchr(err.msg, '\n'));
    assert_int_equal(parse(&spec, &opts, &err, "--kill-grace", "x", "true", NULL), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "--kill-grace"));
    assert_int_equal(parse(&spec, &opts, &err, "--signal", "USR1@1m", "true", NULL), MLQ_EINVAL);
    assert_string_equal(err.msg,
                        "--signal SIG@DUR needs --time-limit (--signal SIG alone does not)");
    /* --signal SIG alone: the signal of preemption and cancel, no warning,
     * no time limit needed. */
    assert_int_equal(parse(&spec, &opts, &err, "--signal", "USR1", "true", NULL), 0);
    assert_int_equal(spec.warn_signal, 10);
    assert_int_equal(spec.warn_before_ms, 0);
    assert_int_equal(spec.time_limit_ms, 0);
    mlq_proto_jobspec_free(&spec);
    assert_int_equal(parse(&spec, &opts, &err, "--signal", "USR1@", "true", NULL), MLQ_EINVAL);
    assert_int_equal(mlq_cli_exit_code(MLQ_EINVAL), 6);
}

/* The parser can run twice in one process (getopt state is reset). */
static void test_reparse(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(parse(&spec, &opts, &err, "--gpus", "1", "a", "b", NULL), 0);
        assert_int_equal(spec.gpus, 1);
        assert_int_equal(spec.argc, 2);
        mlq_proto_jobspec_free(&spec);
    }
}

/* --after, --after-any, --after-failed: repeatable comma lists, in order,
 * lowercased; ARRAY/N with a full id is cut to fit the protocol. */
static void test_dependencies(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    assert_int_equal(parse(&spec, &opts, &err, "--after", "0b8e,F0E1/17", "--after-any", "abcd",
                           "--after", "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f/1234567",
                           "--after-failed", "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f", "--", "merge",
                           NULL),
                     0);
    assert_int_equal(spec.ndeps, 5);
    assert_string_equal(spec.deps[0].target, "0b8e");
    assert_int_equal(spec.deps[0].kind, MLQ_DEP_OK);
    assert_string_equal(spec.deps[1].target, "f0e1/17");
    assert_int_equal(spec.deps[1].kind, MLQ_DEP_OK);
    assert_string_equal(spec.deps[2].target, "abcd");
    assert_int_equal(spec.deps[2].kind, MLQ_DEP_ANY);
    assert_string_equal(spec.deps[3].target, "0b8e7c1e-4a4f-4c5e-9d3a-2f1b/1234567");
    assert_int_equal(strlen(spec.deps[3].target), MLQ_ID_LEN);
    assert_string_equal(spec.deps[4].target, "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f");
    assert_int_equal(spec.deps[4].kind, MLQ_DEP_FAILED);
    assert_null(spec.array);
    mlq_proto_jobspec_free(&spec);

    const char *bad[] = {"", "a,,b", "xyz", "ab/", "ab/1x", "ab/12345678", "/3", "ab cd", "a,"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(parse(&spec, &opts, &err, "--after", bad[i], "--", "x", NULL), MLQ_EINVAL);
        assert_non_null(strstr(err.msg, "--after"));
    }
    /* at most MLQ_MAX_DEPS in all */
    char list[MLQ_MAX_DEPS * 3 + 8] = "";
    for (int i = 0; i <= MLQ_MAX_DEPS; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%x", i ? "," : "", i % 16);
    assert_int_equal(parse(&spec, &opts, &err, "--after-any", list, "--", "x", NULL), MLQ_ETOOBIG);
}

static void test_array_options(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    struct mlq_err err;
    assert_int_equal(parse(&spec, &opts, &err, "--array", "0-99:10,500", "--max-running", "2",
                           "--idempotency-key", "nightly 2024-05-01", "--", "score", NULL),
                     0);
    assert_string_equal(spec.array, "0-99:10,500");
    assert_int_equal(spec.max_running, 2);
    assert_string_equal(spec.idempotency_key, "nightly 2024-05-01");
    mlq_proto_jobspec_free(&spec);
    assert_int_equal(parse(&spec, &opts, &err, "--array", "5-1", "x", NULL), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "bad --array"));
    assert_non_null(strstr(err.msg, "reversed"));
    assert_int_equal(parse(&spec, &opts, &err, "--array", "0-100000", "x", NULL), MLQ_EINVAL);
    assert_int_equal(parse(&spec, &opts, &err, "--max-running", "2", "x", NULL), MLQ_CLI_EUSAGE);
    assert_non_null(strstr(err.msg, "--max-running needs --array"));
    const char *bad_max[] = {"0", "-1", "100001", "2x", ""};
    for (size_t i = 0; i < sizeof(bad_max) / sizeof(bad_max[0]); i++)
        assert_int_equal(
            parse(&spec, &opts, &err, "--array", "1", "--max-running", bad_max[i], "x", NULL),
            MLQ_EINVAL);
    char key[MLQ_MAX_IDEM_KEY + 2];
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    assert_int_equal(parse(&spec, &opts, &err, "--idempotency-key", key, "x", NULL), MLQ_EINVAL);
    assert_int_equal(parse(&spec, &opts, &err, "--idempotency-key", "", "x", NULL), MLQ_EINVAL);
    assert_int_equal(parse(&spec, &opts, &err, "--idempotency-key", "a\tb", "x", NULL), MLQ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_resources_and_name),
        cmocka_unit_test(test_fractional_cpus),
        cmocka_unit_test(test_gpu_shares),
        cmocka_unit_test(test_repeated_env),
        cmocka_unit_test(test_parse_over_base),
        cmocka_unit_test(test_command_options_preserved),
        cmocka_unit_test(test_workdir_made_absolute),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_too_many_env),
        cmocka_unit_test(test_long_name_rejected),
        cmocka_unit_test(test_reparse),
        cmocka_unit_test(test_retries_and_limits),
        cmocka_unit_test(test_limit_messages),
        cmocka_unit_test(test_placement),
        cmocka_unit_test(test_too_many_require),
        cmocka_unit_test(test_export_all_filters),
        cmocka_unit_test(test_export_none_and_list),
        cmocka_unit_test(test_env_bad_names),
        cmocka_unit_test(test_env_too_large),
        cmocka_unit_test(test_dependencies),
        cmocka_unit_test(test_array_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
