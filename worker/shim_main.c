/* mlq-shim ATTEMPT_DIR: the per-job supervisor the worker starts (shim.h).
 * Its stdio is /dev/null when the worker starts it; whatever goes wrong with
 * the job ends up in the attempt's status file instead. */
#include <stdio.h>
#include <string.h>

#include "shim.h"

int main(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[1], "--help") == 0) {
        fprintf(stderr, "usage: mlq-shim ATTEMPT_DIR\n"
                        "Runs the attempt described in ATTEMPT_DIR/assign and writes its\n"
                        "outcome to ATTEMPT_DIR/status. Started by mlq-worker.\n");
        return 2;
    }
    struct mlq_err err;
    mlq_err_clear(&err);
    if (mlq_shim_run(argv[1], &err) < 0) {
        fprintf(stderr, "mlq-shim: %s\n", err.msg);
        return 1;
    }
    return 0;
}
