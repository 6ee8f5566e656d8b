/* version: the release and git description compiled in (version.h). */
#include "version.h"

#include "bounds.h"
#include "mlq_gitdesc.h"

#ifndef MLQ_RELEASE
#error "MLQ_RELEASE must be defined by the build"
#endif

const char *mlq_version(void)
{
    return MLQ_RELEASE;
}

const char *mlq_version_git(void)
{
    return MLQ_GIT_DESC;
}

void mlq_version_print(FILE *f, const char *prog)
{
    fprintf(f, "%s %s (git %s)\nwire protocol %d\n", prog, MLQ_RELEASE, MLQ_GIT_DESC,
            MLQ_PROTO_VERSION);
}
