/* mlq-shim ATTEMPT_DIR: the per-job supervisor the worker starts (shim.h).
 * Its stdin and stdout are /dev/null when the worker starts it and its
 * stderr is the worker's (its log): the shim's own complaints go there,
 * whatever goes wrong with the job ends up in the attempt's status file.
 * The shim outlives the worker, so stderr may become a pipe nobody reads:
 * SIGPIPE is ignored (the job gets the default back, shim.c). With --standby it
 * is started ahead of need and forks one shim per folder the worker names
 * (shimzygote.h). */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bounds.h"

#include "shim.h"
#include "shimzygote.h"
#include "version.h"

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        mlq_version_print(stdout, "mlq-shim");
        return 0;
    }
    bool standby = argc == 3 && strcmp(argv[1], MLQ_SHIM_STANDBY_ARG) == 0;
    bool help = argc == 2 && strcmp(argv[1], "--help") == 0;
    if ((argc != 2 && !standby) || help) {
        /* --help answers on stdout with 0 (help2man reads it); a wrong
         * command line gets the same text on stderr and exit 2. */
        fprintf(help ? stdout : stderr,
                "usage: mlq-shim ATTEMPT_DIR\n"
                "       mlq-shim " MLQ_SHIM_STANDBY_ARG " ATTEMPTS_DIR\n"
                "Runs the attempt described in ATTEMPT_DIR/assign and writes its\n"
                "outcome to ATTEMPT_DIR/status. Started by mlq-worker; with\n" MLQ_SHIM_STANDBY_ARG
                ", ahead of need: it waits on descriptor %d for the worker to\n"
                "name attempt folders and forks one shim for each.\n"
                "\n"
                "  --help     show this help\n"
                "  --version  show the version and the wire protocol's\n",
                MLQ_SHIM_STANDBY_FD);
        return help ? 0 : 2;
    }
    const char *dir = argv[1];
    char named[MLQ_SHIMZYGOTE_LINE_MAX];
    if (standby) {
        mlq_shim_warm();
        int rc = mlq_shimzygote_serve(MLQ_SHIM_STANDBY_FD, argv[2], named, sizeof named);
        if (rc == 0)
            return 0; /* the worker has no use for it any more */
        if (rc < 0) {
            fprintf(stderr, "mlq-shim: malformed attempt folder from the worker\n");
            return 1;
        }
        dir = named;
    }
    struct mlq_err err;
    mlq_err_clear(&err);
    if (mlq_shim_run(dir, &err) < 0) {
        fprintf(stderr, "mlq-shim: %s\n", err.msg);
        return 1;
    }
    return 0;
}
