/* store_fixture: see store_fixture.h. The store does not hand out its
 * connection, so an auto extension catches the first one opened after a
 * reset: the store's own, opened next. */
#include "store_fixture.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

static sqlite3 *g_last_db;

static int capture_db(sqlite3 *db, const char **errmsg, const struct sqlite3_api_routines *api)
{
    (void)errmsg;
    (void)api;
    if (!g_last_db)
        g_last_db = db;
    return SQLITE_OK;
}

void store_fx_reopen(struct store_fx *f)
{
    struct mlq_err err = {0};
    sqlite3_auto_extension((void (*)(void))capture_db); /* once: a repeat is a no-op */
    g_last_db = NULL;
    if (mlq_store_open(f->path, &f->st, &err) != 0)
        fail_msg("open: %s", err.msg);
    f->db = g_last_db;
}

int store_fx_open(void **state, const char *name, size_t size)
{
    struct store_fx *f = calloc(1, size);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/mlq-%s-XXXXXX", name);
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/mlq.db", f->dir);
    store_fx_reopen(f);
    *state = f;
    return 0;
}

int store_fx_close(void **state)
{
    struct store_fx *f = *state;
    char p[160];
    mlq_store_close(&f->st);
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, sfx[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

long long store_fx_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    long long v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

void store_fx_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}
