/* store_fixture: a store opened as the scheduler opens it, on a database
 * file in a throwaway folder, with the SQLite connection under it for
 * checks in SQL; for the store's unit tests on files (test_store_acct,
 * test_store_retain, test_store_worker). */
#ifndef MLQ_STORE_FIXTURE_H
#define MLQ_STORE_FIXTURE_H

#include <stddef.h>

#include <sqlite3.h>

#include "store.h"

struct store_fx {
    struct mlq_store *st;
    sqlite3 *db; /* the store's own connection (NULL once closed) */
    char dir[64];
    char path[128]; /* DIR/mlq.db */
};

/* A cmocka setup's body: a zeroed fixture of size bytes into *state (a
 * test's own fixture starts with a struct store_fx; sizeof(struct
 * store_fx) when it is only that), its store opened in a fresh folder
 * /tmp/mlq-NAME-XXXXXX. -1 when the folder cannot be made. */
int store_fx_open(void **state, const char *name, size_t size);
/* Opens f's store again (after a test closed it to change the file). */
void store_fx_reopen(struct store_fx *f);
/* A cmocka teardown: closes the store, removes its files and folder, frees
 * the fixture. */
int store_fx_close(void **state);
/* The integer the first row of sql's first column holds (a failed test when
 * there is no row). */
long long store_fx_int(sqlite3 *db, const char *sql);
/* Runs sql (several statements may follow each other); a failed test with
 * SQLite's message when it fails. */
void store_fx_exec(sqlite3 *db, const char *sql);

#endif
