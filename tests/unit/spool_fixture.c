/* spool_fixture: see spool_fixture.h. */
#include <stdlib.h>

#include "spool_fixture.h"
#include "testdir.h"

int spool_fx_open(void **state, const char *name)
{
    struct spool_fx *f = calloc(1, sizeof *f);
    struct mlq_err e;
    if (!f)
        return -1;
    if (testdir_make(f->root, sizeof f->root, name) < 0 ||
        mlq_spool_open(f->root, &f->sp, &e) < 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

int spool_fx_close(void **state)
{
    struct spool_fx *f = *state;
    mlq_spool_close(&f->sp);
    testdir_remove(f->root);
    free(f);
    return 0;
}
