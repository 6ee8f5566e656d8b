/* optloop and the listing helpers the commands share: -h prints the help,
 * --scheduler and --timeout go into the client and everything else to the
 * command's own function, a bad option or a left-over operand is a usage
 * error that names the command (exit 2), and a table or JSON document is
 * printed, freed and its write errors reported in one call. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "optloop.h"
#include "output.h"

enum { OPT_FLAG = MLQ_CLI_OPT_FIRST_FREE };

static const struct option longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"flag", no_argument, NULL, OPT_FLAG},
    {NULL, 0, NULL, 0},
};

struct opts {
    int flags;
};

static int own_opt(int c, void *p, struct mlq_err *err)
{
    struct opts *o = p;
    if (c != OPT_FLAG)
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "thing: unexpected option");
    return ++o->flags > 1 ? mlq_err_set(err, MLQ_CLI_EUSAGE, "thing: --flag once") : 0;
}

static const struct mlq_optloop loop = {"thing", "thing sub", "usage: mlq thing\n", longopts,
                                        own_opt};

/* Runs the loop over the words given (argv[0] "thing"). */
static int run(struct mlq_cli *cli, struct opts *o, struct mlq_err *err, int argc, ...)
{
    static char *argv[8];
    va_list ap;
    va_start(ap, argc);
    argv[0] = "thing";
    for (int i = 1; i < argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    memset(o, 0, sizeof *o);
    int rc = mlq_optloop_read(&loop, cli, argc, argv, o, err);
    if (rc == 0)
        rc = mlq_optloop_no_operands(&loop, argc, argv, err);
    return rc;
}

static void test_options(void **state)
{
    (void)state;
    struct mlq_cli cli;
    mlq_cli_init(&cli);
    struct opts o;
    struct mlq_err err = {0};
    assert_int_equal(run(&cli, &o, &err, 5, "--scheduler", "tcp://x:1", "--timeout", "2s"), 0);
    assert_string_equal(cli.scheduler_opt, "tcp://x:1");
    assert_int_equal(cli.timeout_ms, 2000);
    assert_int_equal(run(&cli, &o, &err, 2, "--flag"), 0);
    assert_int_equal(o.flags, 1);
    assert_int_equal(run(&cli, &o, &err, 3, "--flag", "--flag"), MLQ_CLI_EUSAGE);
    assert_string_equal(err.msg, "thing: --flag once");
    assert_int_equal(run(&cli, &o, &err, 2, "--bogus"), MLQ_CLI_EUSAGE);
    assert_non_null(strstr(err.msg, "thing: unknown option '--bogus'"));
    assert_int_equal(run(&cli, &o, &err, 2, "--timeout"), MLQ_CLI_EUSAGE); /* no value */
    assert_int_equal(run(&cli, &o, &err, 3, "--flag", "left"), MLQ_CLI_EUSAGE);
    assert_string_equal(err.msg, "thing: unexpected argument 'left'");
    assert_int_equal(mlq_optloop_result(&loop, MLQ_CLI_EUSAGE, &err), MLQ_EXIT_USAGE);
    assert_int_equal(mlq_optloop_result(&loop, 0, &err), -1); /* go on */
}

static void test_help(void **state)
{
    (void)state;
    struct mlq_cli cli;
    mlq_cli_init(&cli);
    struct opts o;
    struct mlq_err err = {0};
    fflush(stdout);
    assert_int_equal(run(&cli, &o, &err, 3, "--flag", "-h"), 1);
    assert_int_equal(mlq_optloop_result(&loop, 1, &err), MLQ_EXIT_OK);
}

static void test_table_finish(void **state)
{
    (void)state;
    static const char *const headers[] = {"A", "B"};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    struct mlq_table *t = mlq_table_create(2, headers);
    const char *row[] = {"x", "yy"};
    assert_int_equal(mlq_table_add_row(t, row, 2), 0);
    assert_int_equal(mlq_table_finish(&t, f, false, 0), 0);
    assert_null(t);
    fclose(f);
    assert_string_equal(buf, "A  B\nx  yy\n");
    free(buf);
    t = mlq_table_create(2, headers); /* building failed: nothing printed, rc kept */
    f = open_memstream(&buf, &len);
    assert_int_equal(mlq_table_finish(&t, f, false, MLQ_ENOMEM), MLQ_ENOMEM);
    assert_null(t);
    fclose(f);
    assert_int_equal(len, 0);
    free(buf);
    t = NULL;
    assert_int_equal(mlq_table_finish(&t, stdout, false, 0), MLQ_ENOMEM); /* create failed */
    assert_int_equal(mlq_out_json_emit(stdout, NULL), MLQ_ENOMEM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_table_finish),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
