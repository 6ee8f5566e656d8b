/* mlq: the command-line client. Parses the global options, looks the command
 * up in one table and runs it; every command lives in a cmd_*.c file and
 * returns the process exit code (DESIGN.md "CLI conventions"). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "cmd_admin.h"
#include "cmd_cluster.h"
#include "cmd_drain.h"
#include "cmd_events.h"
#include "cmd_hold.h"
#include "cmd_jobs.h"
#include "cmd_keys.h"
#include "cmd_logs.h"
#include "cmd_manifest.h"
#include "cmd_schedule.h"
#include "cmd_rerun.h"
#include "cmd_submit.h"
#include "cmd_usage.h"
#include "cmd_wait.h"
#include "cmd_why.h"
#include "cmd_workers.h"
#include "output.h"
#include "version.h"

struct command {
    const char *name;
    int (*fn)(struct mlq_cli *cli, int argc, char **argv);
    const char *summary;
};

static int cmd_help(struct mlq_cli *cli, int argc, char **argv);

static const struct command commands[] = {
    {"submit", mlq_cmd_submit, "submit a job (or a job array); prints its id"},
    {"rerun", mlq_cmd_rerun, "submit a job (or an array's failed tasks) again, as it was"},
    {"status", mlq_cmd_status, "show everything about one or more jobs"},
    {"list", mlq_cmd_list, "list jobs, newest first"},
    {"logs", mlq_cmd_logs, "print (or follow) a job's output"},
    {"wait", mlq_cmd_wait, "wait until jobs (and arrays) end; exit 0 when all succeeded"},
    {"cancel", mlq_cmd_cancel, "cancel jobs"},
    {"hold", mlq_cmd_hold, "keep pending jobs from starting until released"},
    {"release", mlq_cmd_release, "let held jobs start again"},
    {"update", mlq_cmd_update, "change a pending job's resources, priority, limit, retries"},
    {"schedule", mlq_cmd_schedule, "add, list, show, pause, resume, rm, run-now schedules"},
    {"why", mlq_cmd_why, "say why a job is pending"},
    {"manifest", mlq_cmd_manifest, "show what an attempt ran: code, command, env, data, GPUs"},
    {"diff", mlq_cmd_diff, "show what differs between two runs (exit 1 when they differ)"},
    {"workers", mlq_cmd_workers,
     "list workers, their pools, resources and GPUs (--summary: per pool)"},
    {"drain", mlq_cmd_drain, "stop placing new jobs on a worker"},
    {"resume", mlq_cmd_resume, "let a drained worker take new jobs again"},
    {"events", mlq_cmd_events, "show the history: state changes, workers, keys, who did what"},
    {"usage", mlq_cmd_usage, "CPU- and GPU-hours, outcomes and waits per user, team, project"},
    {"keygen", mlq_cmd_keygen, "make a key pair to talk to a scheduler that requires keys"},
    {"admin", mlq_cmd_admin, "register and remove keys; change what a worker offers (admins)"},
    {"up", mlq_cmd_up, "start a local cluster (scheduler + workers)"},
    {"down", mlq_cmd_down, "stop the local cluster"},
    {"help", cmd_help, "show this help"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
    fprintf(f, "usage: mlq [--scheduler ADDR] [--timeout DUR] [--insecure] COMMAND [ARGS...]\n\n"
               "commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\nglobal options:\n"
            "  --scheduler ADDR  scheduler address (default: $MLQ_SCHEDULER, the client\n"
            "                    config written by `mlq up`, then %s)\n"
            "  --timeout DUR     how long to wait for each reply (default 10s)\n"
            "  --insecure        plain TCP without keys, for a scheduler started with\n"
            "                    --insecure (default: CURVE with the client config's `key`\n"
            "                    and `scheduler_key`; $MLQ_KEY overrides `key`)\n"
            "  -h, --help        show this help\n"
            "  --version         show the version and the wire protocol's\n\n"
            "`mlq COMMAND --help` describes a command.\n",
            MLQ_CLI_DEFAULT_SCHEDULER);
}

static int cmd_help(struct mlq_cli *cli, int argc, char **argv)
{
    (void)cli;
    (void)argc;
    (void)argv;
    usage(stdout);
    return MLQ_EXIT_OK;
}

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* Parses the options before the command; returns -1 to go on, else the exit
 * code. */
static int parse_global(struct mlq_cli *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"scheduler", required_argument, NULL, MLQ_CLI_OPT_SCHEDULER},
        {"timeout", required_argument, NULL, MLQ_CLI_OPT_TIMEOUT},
        {"insecure", no_argument, NULL, 'I'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct mlq_err err = {0};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
        switch (c) {
        case MLQ_CLI_OPT_SCHEDULER:
            cli->scheduler_opt = optarg;
            break;
        case MLQ_CLI_OPT_TIMEOUT:
            if (mlq_cli_parse_timeout(optarg, &cli->timeout_ms, &err) < 0) {
                fprintf(stderr, "mlq: %s\n", err.msg);
                return MLQ_EXIT_USAGE;
            }
            break;
        case 'I':
            cli->insecure = true;
            break;
        case 'h':
            usage(stdout);
            return MLQ_EXIT_OK;
        case 'V':
            mlq_version_print(stdout, "mlq");
            return MLQ_EXIT_OK;
        default:
            mlq_cli_getopt_error("mlq", c, argc, argv, &err);
            fprintf(stderr, "mlq: %s (see `mlq --help`)\n", err.msg);
            return MLQ_EXIT_USAGE;
        }
    }
    return -1;
}

/* Ends the process once the command is done and its output flushed. Each
 * request had its reply or gave up, and its socket was closed without
 * linger, so nothing is left to send: terminating the ZeroMQ context would
 * only join its I/O and reaper threads, a dozen wake-ups between three
 * threads (about a millisecond of every call, more on a busy machine) that
 * the exit ends anyway. Sanitizer builds take the whole way, so that their
 * leak check sees everything freed. */
#if defined(__SANITIZE_ADDRESS__)
#define LEAK_CHECKED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LEAK_CHECKED 1
#endif
#endif

static int leave(struct mlq_cli *cli, int rc)
{
#ifdef LEAK_CHECKED
    mlq_cli_fini(cli);
    return rc;
#else
    mlq_cli_fini_at_exit(cli);
    fflush(stderr);
    _exit(rc);
#endif
}

int main(int argc, char **argv)
{
    struct mlq_cli cli;
    mlq_cli_init(&cli);
    int rc = parse_global(&cli, argc, argv);
    if (rc >= 0)
        return rc;
    if (optind >= argc) {
        usage(stderr);
        return MLQ_EXIT_USAGE;
    }
    const struct command *cmd = find_command(argv[optind]);
    if (!cmd) {
        fprintf(stderr, "mlq: unknown command '%.40s' (see `mlq help`)\n", argv[optind]);
        return MLQ_EXIT_USAGE;
    }
    /* `mlq logs | head` should end quietly: the default SIGPIPE does that. */
    signal(SIGPIPE, SIG_DFL);
    cli.stdout_tty = mlq_out_colour(stdout);
    rc = cmd->fn(&cli, argc - optind, argv + optind);
    if (fflush(stdout) == EOF && rc == MLQ_EXIT_OK) {
        fprintf(stderr, "mlq: cannot write output\n");
        rc = MLQ_EXIT_FAILED;
    }
    return leave(&cli, rc);
}
