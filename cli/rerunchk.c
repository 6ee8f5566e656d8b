/* rerunchk: see rerunchk.h. */
#include "rerunchk.h"

int mlq_rerunchk_run(struct mlq_cli *cli, const char *ref, const struct mlq_jobspec *spec,
                     bool strict)
{
    (void)cli;
    (void)ref;
    (void)spec;
    (void)strict;
    return 0;
}
