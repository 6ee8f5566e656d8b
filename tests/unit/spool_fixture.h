/* spool_fixture: an empty worker spool, opened as mlq-worker opens it, in
 * a throwaway folder; for the spool's unit tests (test_spool*). */
#ifndef MLQ_SPOOL_FIXTURE_H
#define MLQ_SPOOL_FIXTURE_H

#include "spool.h"

struct spool_fx {
    char root[64];
    struct mlq_spool *sp;
};

/* A cmocka setup's body: a spool_fx into *state, its spool opened in a
 * fresh folder /tmp/mlq-test-NAME-XXXXXX; -1 when either cannot be made. */
int spool_fx_open(void **state, const char *name);
/* A cmocka teardown: closes the spool, removes its folder, frees the fx. */
int spool_fx_close(void **state);

#endif
