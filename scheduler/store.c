/* store: the core of the store, which holds every SQL statement of the
 * scheduler behind a small typed API (store.h): migrating (the steps are in
 * storeschema.c) and opening the database, the caller's transaction,
 * savepoints and the helpers the parts share (storeint.h). The tables' rows live in the
 * parts named in storeint.h.
 *
 * Invariants (of every part):
 * - Every statement is prepared once in mlq_store_open() and kept by the
 *   store (st->stmt[] here, each part's own table there); values always
 *   travel as bound parameters, never as SQL text. After each use a statement
 *   is reset and its bindings cleared, which is what makes binding caller
 *   strings with SQLITE_STATIC safe.
 * - The schema is the list of steps in storeschema.c; step i takes a database
 *   from user_version i to i + 1 and sets that version itself, inside one
 *   transaction. Never edit a released step: add a new one.
 * - A write that touches several rows (a job and its event) runs inside a
 *   savepoint, so it is applied whole or not at all, except the hot writes
 *   (job insert and save, attempt save) inside the caller's transaction: a
 *   failure of theirs is MLQ_EDB and the caller rolls the whole transaction
 *   back (see mlq_storei_hot_begin).
 * - st->tx is the caller's view ("I called begin"). SQLite may roll a
 *   transaction back by itself after SQLITE_FULL or SQLITE_IOERR; then every
 *   write and the commit fail until the caller rolls back, so half an
 *   iteration is never committed as if it were whole.
 * - Any SQLite failure is MLQ_EDB with sqlite3_errmsg() in the message. */
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storeint.h"
#include "storeschema.h"

#define BUSY_TIMEOUT_MS 5000
/* WAL pages past which mlq_store_checkpoint_idle copies the WAL into the
 * database: SQLite's own threshold (4 MiB) when no request waits, 8 times
 * that while requests keep coming. A busy scheduler rewrites the same hot
 * pages (index leaves, the newest table pages) in commit after commit, and
 * a checkpoint copies each page once however often the WAL holds it: one
 * copy of 32 MiB of WAL costs far less than eight of 4 MiB. */
#define CHECKPOINT_PAGES      1000
#define CHECKPOINT_BUSY_PAGES 8000

/* ---- statements ------------------------------------------------------ */

enum stmt_id { S_BEGIN, S_COMMIT, S_ROLLBACK, S_SAVEPOINT, S_RELEASE, S_ROLLBACK_TO, S_COUNT };

static const char *const stmt_sql[S_COUNT] = {
    /* the caller's transaction */
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    /* one multi-row write inside it, or on its own */
    [S_SAVEPOINT] = "SAVEPOINT store_op",
    [S_RELEASE] = "RELEASE store_op",
    [S_ROLLBACK_TO] = "ROLLBACK TO store_op",
};

/* The core's statements (transactions and savepoints) and each part's. */
struct mlq_store {
    sqlite3 *db;
    sqlite3_stmt *stmt[S_COUNT];
    struct mlq_storejob *job;         /* storejob.c's statements */
    struct mlq_storeattempt *attempt; /* storeattempt.c's statements */
    struct mlq_storejobinfo *jobinfo; /* storejobinfo.c's statements */
    struct mlq_storeevent *event;     /* storeevent.c's statements and actor */
    struct mlq_storepipe *pipe;       /* storepipe.c's statements */
    struct mlq_storeauth *auth;       /* storeauth.c's statements */
    struct mlq_storetoken *token;     /* storetoken.c's statements */
    struct mlq_storeworker *worker;   /* storeworker.c's statements */
    struct mlq_storeretain *retain;   /* storeretain.c's statements */
    struct mlq_storeteam *team;       /* storeteam.c's statements */
    struct mlq_storeacct *acct;       /* storeacct.c's statements */
    struct mlq_storequota *quota;     /* storequota.c's statements */
    struct mlq_storeenv *env;         /* storeenv.c's statements */
    bool tx;                          /* the caller's transaction is open */
    int wal_pages; /* pages in the WAL after the last commit (mlq_store_defer_checkpoints) */
    int64_t
        last_seq; /* the newest job's seq; -1: read it from the table first (after a rollback) */
};

sqlite3 *mlq_storei_db(struct mlq_store *st)
{
    return st->db;
}

struct mlq_storejob *mlq_storei_job(struct mlq_store *st)
{
    return st->job;
}

struct mlq_storeattempt *mlq_storei_attempt(struct mlq_store *st)
{
    return st->attempt;
}

struct mlq_storejobinfo *mlq_storei_jobinfo(struct mlq_store *st)
{
    return st->jobinfo;
}

struct mlq_storeevent *mlq_storei_event(struct mlq_store *st)
{
    return st->event;
}

struct mlq_storepipe *mlq_storei_pipe(struct mlq_store *st)
{
    return st->pipe;
}

struct mlq_storeteam *mlq_storei_team(struct mlq_store *st)
{
    return st->team;
}

struct mlq_storeacct *mlq_storei_acct(struct mlq_store *st)
{
    return st->acct;
}

struct mlq_storequota *mlq_storei_quota(struct mlq_store *st)
{
    return st->quota;
}

struct mlq_storeenv *mlq_storei_env(struct mlq_store *st)
{
    return st->env;
}

struct mlq_storetoken *mlq_storei_token(struct mlq_store *st)
{
    return st->token;
}

struct mlq_storeworker *mlq_storei_worker(struct mlq_store *st)
{
    return st->worker;
}

struct mlq_storeauth *mlq_storei_auth(struct mlq_store *st)
{
    return st->auth;
}

struct mlq_storeretain *mlq_storei_retain(struct mlq_store *st)
{
    return st->retain;
}

int64_t *mlq_storei_last_seq(struct mlq_store *st)
{
    return &st->last_seq;
}

/* ---- small helpers ---------------------------------------------------- */

int mlq_storei_db_err(struct mlq_store *st, struct mlq_err *err, const char *what)
{
    st->last_seq = -1; /* whatever failed may be rolled back */
    return mlq_err_set(err, MLQ_EDB, "%s: %s", what, sqlite3_errmsg(st->db));
}

int mlq_storei_bind_err(int rc, struct mlq_err *err, const char *what)
{
    return mlq_err_set(err, MLQ_EDB, "%s: binding parameters: %s", what, sqlite3_errstr(rc));
}

void mlq_storei_finish(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

int mlq_storei_step_key(struct mlq_store *st, sqlite3_stmt *s, const char *key, const char *what,
                        const char *shown, struct mlq_err *err)
{
    char loading[64];
    snprintf(loading, sizeof loading, "loading %s", what);
    int rc = sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, loading);
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc != SQLITE_DONE)
        rc = mlq_storei_db_err(st, err, loading);
    else if (shown)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no %s %s", what, shown);
    else
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no %s %.36s", what, key);
    mlq_storei_finish(s);
    return rc;
}

/* Steps s once expecting no row (or, for RETURNING, ignores the row), then
 * resets it. */
int mlq_storei_exec_stmt(struct mlq_store *st, sqlite3_stmt *s, const char *what,
                         struct mlq_err *err)
{
    int rc = sqlite3_step(s);
    int ret = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 : mlq_storei_db_err(st, err, what);
    mlq_storei_finish(s);
    return ret;
}

int mlq_storei_exec_bound(struct mlq_store *st, sqlite3_stmt *s, int bind_rc, const char *what,
                          struct mlq_err *err)
{
    if (bind_rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(bind_rc, err, what);
    }
    return mlq_storei_exec_stmt(st, s, what, err);
}

int mlq_storei_step_int(struct mlq_store *st, sqlite3_stmt *s, int64_t v, const char *what,
                        const char *none, struct mlq_err *err)
{
    int rc = sqlite3_bind_int64(s, 1, v);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, what);
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 1;
    rc = rc == SQLITE_DONE ? mlq_err_set(err, MLQ_ENOTFOUND, "%s", none)
                           : mlq_storei_db_err(st, err, what);
    mlq_storei_finish(s);
    return rc;
}

/* NULL or "" is stored as NULL. */
int mlq_storei_bind_opt(sqlite3_stmt *s, int i, const char *v)
{
    if (!v || !*v)
        return sqlite3_bind_null(s, i);
    return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* True when a fixed-size field holds a terminated string. */
bool mlq_storei_fixed_ok(const char *v, size_t cap)
{
    return strnlen(v, cap) < cap;
}

/* Ids are canonical lowercase UUID text; resolve's range query relies on it. */
bool mlq_storei_id_chars_ok(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || s[i] == '-'))
            return false;
    return true;
}

/* Copies untrusted text for an error message: at most 40 printable chars. */
void mlq_storei_quote_safe(char *dst, size_t cap, const char *src)
{
    size_t max = cap - 4 < 40 ? cap - 4 : 40; /* room for "..." and the NUL */
    size_t i = 0;
    for (; src && src[i] && i < max; i++)
        dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
    if (src && src[i]) {
        memcpy(dst + i, "...", 3);
        i += 3;
    }
    dst[i] = '\0';
}

/* Column text as a new string; SQL NULL gives NULL. */
int mlq_storei_col_dup(sqlite3_stmt *s, int i, char **out)
{
    *out = NULL;
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return 0;
    const char *t = (const char *)sqlite3_column_text(s, i);
    if (t)
        *out = strdup(t);
    return *out ? 0 : MLQ_ENOMEM;
}

/* Column text into a fixed buffer; SQL NULL gives "". */
int mlq_storei_col_fixed(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
    dst[0] = '\0';
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return 0;
    const char *t = (const char *)sqlite3_column_text(s, i);
    if (!t)
        return MLQ_ENOMEM;
    size_t n = (size_t)sqlite3_column_bytes(s, i);
    if (n >= cap)
        return MLQ_EDB;
    memcpy(dst, t, n + 1);
    return 0;
}

int mlq_storei_row_err(int rc, struct mlq_err *err, const char *what)
{
    if (rc == MLQ_ENOMEM)
        return mlq_err_set(err, MLQ_ENOMEM, "%s: out of memory", what);
    return mlq_err_set(err, MLQ_EDB, "%s: corrupt row", what);
}

/* Refuses to restart a walk whose statement is already stepping (a callback
 * calling the same walk again). */
int mlq_storei_walk_start(sqlite3_stmt *s, struct mlq_err *err)
{
    if (sqlite3_stmt_busy(s))
        return mlq_err_set(err, MLQ_ESTATE, "store walk re-entered from its own callback");
    return 0;
}

/* ---- open, close, transactions ------------------------------------- */

static int pragma_text(struct mlq_store *st, const char *sql, char *out, size_t cap,
                       struct mlq_err *err)
{
    sqlite3_stmt *s = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return mlq_storei_db_err(st, err, sql);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
    int ret = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? 0 : mlq_storei_db_err(st, err, sql);
    sqlite3_finalize(s);
    return ret;
}

static int exec_sql(struct mlq_store *st, const char *sql, const char *what, struct mlq_err *err)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return mlq_storei_db_err(st, err, what);
    return 0;
}

static int set_pragmas(struct mlq_store *st, const char *path, struct mlq_err *err)
{
    char v[32];
    int rc = pragma_text(st, "PRAGMA journal_mode = WAL", v, sizeof v, err);
    if (rc < 0)
        return rc;
    if (strcmp(path, ":memory:") != 0 && strcmp(v, "wal") != 0)
        return mlq_err_set(err, MLQ_EDB, "%s: cannot use WAL journal (journal_mode is %s)", path,
                           v);
    /* The page cache keeps 8 MiB between transactions: with a million
     * pending jobs every MiB of it is a MiB of the scheduler's resident
     * memory, and a miss costs a read from the kernel's page cache. A big
     * transaction (a 10,000-task array) may still hold up to 16,384 pages
     * (64 MiB at 4 KiB) before it spills any into the WAL ahead of its
     * commit (cache_spill); the pages above cache_size are freed as the
     * transaction ends. */
    rc = exec_sql(st,
                  "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
                  "PRAGMA cache_size = -8192; PRAGMA cache_spill = 16384; "
                  "PRAGMA temp_store = MEMORY;",
                  "setting pragmas", err);
    if (rc < 0)
        return rc;
    /* foreign_keys is silently ignored by a SQLite built without them. */
    rc = pragma_text(st, "PRAGMA foreign_keys", v, sizeof v, err);
    if (rc == 0 && strcmp(v, "1") != 0)
        return mlq_err_set(err, MLQ_EDB, "%s: SQLite refuses foreign keys", path);
    return rc;
}

/* Runs the next migration step when one is due; *done is set when the
 * database is at target. The version is read inside the write transaction so
 * two processes opening one file cannot both migrate it. */
static int migrate_step(struct mlq_store *st, int target, bool *done, struct mlq_err *err)
{
    char v[32];
    int rc = exec_sql(st, "BEGIN IMMEDIATE", "migrating schema", err);
    if (rc < 0)
        return rc;
    rc = pragma_text(st, "PRAGMA user_version", v, sizeof v, err);
    int ver = atoi(v);
    if (rc == 0 && ver > MLQ_STORE_SCHEMA_VERSION)
        rc = mlq_err_set(err, MLQ_EDB,
                         "database schema version %d is newer than this mlq-scheduler supports "
                         "(%d); upgrade mlq",
                         ver, MLQ_STORE_SCHEMA_VERSION);
    else if (rc == 0 && (ver < 0 || ver > target))
        rc = mlq_err_set(err, MLQ_EDB, "database schema version %d is invalid here (want %d)", ver,
                         target);
    *done = rc == 0 && ver == target;
    if (rc == 0 && !*done)
        rc = exec_sql(st, mlq_storeschema_step(ver), "migrating schema", err);
    if (rc == 0 && !*done) {
        rc = pragma_text(st, "PRAGMA user_version", v, sizeof v, err);
        if (rc == 0 && atoi(v) != ver + 1)
            rc = mlq_err_set(err, MLQ_EDB, "schema step %d did not set its version", ver + 1);
    }
    if (rc == 0)
        rc = exec_sql(st, "COMMIT", "migrating schema", err);
    if (rc < 0 && !sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Fails unless every foreign key holds. */
static int fk_check(struct mlq_store *st, struct mlq_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "PRAGMA foreign_key_check", -1, &s, NULL) != SQLITE_OK)
        return mlq_storei_db_err(st, err, "checking foreign keys");
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc == SQLITE_ROW)
        return mlq_err_set(err, MLQ_EDB, "migrated database breaks a foreign key");
    return rc == SQLITE_DONE ? 0 : mlq_storei_db_err(st, err, "checking foreign keys");
}

/* Steps run with foreign keys off, as rebuilding a referenced table needs
 * (pragma foreign_keys is only honoured outside a transaction), and are
 * checked once all have run. */
static int migrate(struct mlq_store *st, int target, struct mlq_err *err)
{
    bool done = false;
    int steps = 0;
    int rc = exec_sql(st, "PRAGMA foreign_keys = OFF", "migrating schema", err);
    for (int i = 0; rc == 0 && i <= target && !done; i++) {
        rc = migrate_step(st, target, &done, err);
        steps += !done;
    }
    int on = exec_sql(st, "PRAGMA foreign_keys = ON", "migrating schema", err);
    if (rc == 0)
        rc = on;
    if (rc == 0 && steps > 0)
        rc = fk_check(st, err);
    if (rc == 0 && !done)
        rc = mlq_err_set(err, MLQ_EDB, "schema migration did not finish");
    return rc;
}

int mlq_storei_prepare(sqlite3 *db, const char *const *sql, int n, sqlite3_stmt **out,
                       struct mlq_err *err)
{
    for (int i = 0; i < n; i++) {
        if (sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &out[i], NULL) !=
            SQLITE_OK) {
            int rc = mlq_err_set(err, MLQ_EDB, "preparing statements: %s", sqlite3_errmsg(db));
            mlq_storei_finalize(out, n);
            return rc;
        }
    }
    return 0;
}

void mlq_storei_finalize(sqlite3_stmt **s, int n)
{
    for (int i = 0; i < n; i++) {
        sqlite3_finalize(s[i]);
        s[i] = NULL;
    }
}

/* The core's statements, then each part's. */
static int prepare_all(struct mlq_store *st, struct mlq_err *err)
{
    int rc = mlq_storei_prepare(st->db, stmt_sql, S_COUNT, st->stmt, err);
    if (rc == 0)
        rc = mlq_storejob_open(st->db, &st->job, err);
    if (rc == 0)
        rc = mlq_storeattempt_open(st->db, &st->attempt, err);
    if (rc == 0)
        rc = mlq_storejobinfo_open(st->db, &st->jobinfo, err);
    if (rc == 0)
        rc = mlq_storeevent_open(st->db, &st->event, err);
    if (rc == 0)
        rc = mlq_storepipe_open(st->db, &st->pipe, err);
    if (rc == 0)
        rc = mlq_storeauth_open(st->db, &st->auth, err);
    if (rc == 0)
        rc = mlq_storetoken_open(st->db, &st->token, err);
    if (rc == 0)
        rc = mlq_storeworker_open(st->db, &st->worker, err);
    if (rc == 0)
        rc = mlq_storeretain_open(st->db, &st->retain, err);
    if (rc == 0)
        rc = mlq_storeteam_open(st->db, &st->team, err);
    if (rc == 0)
        rc = mlq_storeacct_open(st->db, &st->acct, err);
    if (rc == 0)
        rc = mlq_storequota_open(st->db, &st->quota, err);
    if (rc == 0)
        rc = mlq_storeenv_open(st->db, &st->env, err);
    return rc;
}

/* No memory statistics: they take a global mutex around every SQLite
 * allocation. Effective only before SQLite initialises, i.e. at the first
 * open. */
static void sqlite_setup(void)
{
    static bool done;
    if (!done)
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    done = true;
}

int mlq_store_open(const char *path, struct mlq_store **out, struct mlq_err *err)
{
    *out = NULL;
    sqlite_setup();
    struct mlq_store *st = calloc(1, sizeof *st);
    if (st)
        st->last_seq = -1;
    if (!st)
        return mlq_err_set(err, MLQ_ENOMEM, "opening %s: out of memory", path);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = 0;
    if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK)
        rc = st->db ? mlq_err_set(err, MLQ_EDB, "opening %s: %s", path, sqlite3_errmsg(st->db))
                    : mlq_err_set(err, MLQ_ENOMEM, "opening %s: out of memory", path);
    if (rc == 0) {
        sqlite3_extended_result_codes(st->db, 1);
        sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
        /* Refuse writes to sqlite_master and other ways of corrupting the file. */
        sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
        rc = set_pragmas(st, path, err);
    }
    if (rc == 0)
        rc = migrate(st, MLQ_STORE_SCHEMA_VERSION, err);
    if (rc == 0)
        rc = prepare_all(st, err);
    if (rc < 0) {
        mlq_store_close(&st);
        return rc;
    }
    *out = st;
    return 0;
}

int mlq_store_migrate_to(const char *path, int version, struct mlq_err *err)
{
    if (version < 1 || version > MLQ_STORE_SCHEMA_VERSION)
        return mlq_err_set(err, MLQ_EINVAL, "schema version %d is not 1..%d", version,
                           MLQ_STORE_SCHEMA_VERSION);
    sqlite_setup();
    struct mlq_store st = {.last_seq = -1};
    int rc = 0;
    if (sqlite3_open_v2(path, &st.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK)
        rc = mlq_err_set(err, MLQ_EDB, "opening %s: %s", path,
                         st.db ? sqlite3_errmsg(st.db) : "out of memory");
    if (rc == 0)
        rc = set_pragmas(&st, path, err);
    if (rc == 0)
        rc = migrate(&st, version, err);
    sqlite3_close(st.db);
    return rc;
}

void mlq_store_close(struct mlq_store **stp)
{
    struct mlq_store *st = stp ? *stp : NULL;
    if (!st)
        return;
    if (st->db && !sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    mlq_storei_finalize(st->stmt, S_COUNT);
    mlq_storejob_close(&st->job);
    mlq_storeattempt_close(&st->attempt);
    mlq_storejobinfo_close(&st->jobinfo);
    mlq_storeevent_close(&st->event);
    mlq_storepipe_close(&st->pipe);
    mlq_storeauth_close(&st->auth);
    mlq_storetoken_close(&st->token);
    mlq_storeworker_close(&st->worker);
    mlq_storeretain_close(&st->retain);
    mlq_storeteam_close(&st->team);
    mlq_storeacct_close(&st->acct);
    mlq_storequota_close(&st->quota);
    mlq_storeenv_close(&st->env);
    sqlite3_close(st->db);
    free(st);
    *stp = NULL;
}

/* Fails when the caller's transaction was rolled back under it by SQLite. */
int mlq_storei_tx_check(struct mlq_store *st, struct mlq_err *err)
{
    if (st->tx && sqlite3_get_autocommit(st->db))
        return mlq_err_set(err, MLQ_EDB,
                           "transaction was rolled back after an earlier database error");
    return 0;
}

int mlq_store_begin(struct mlq_store *st, struct mlq_err *err)
{
    if (st->tx)
        return mlq_storei_tx_check(st, err);
    int rc = mlq_storei_exec_stmt(st, st->stmt[S_BEGIN], "starting transaction", err);
    if (rc == 0)
        st->tx = true;
    return rc;
}

int mlq_store_commit(struct mlq_store *st, struct mlq_err *err)
{
    if (!st->tx)
        return 0;
    int rc = mlq_storei_tx_check(st, err);
    st->tx = false;
    if (rc < 0)
        return rc;
    rc = mlq_storei_exec_stmt(st, st->stmt[S_COMMIT], "committing", err);
    /* A COMMIT can fail and leave the transaction open (deferred constraint,
     * busy): end it, so the next iteration starts clean. */
    if (rc < 0 && !sqlite3_get_autocommit(st->db))
        mlq_storei_exec_stmt(st, st->stmt[S_ROLLBACK], "rolling back", NULL);
    if (rc < 0)
        st->last_seq = -1;
    return rc;
}

void mlq_store_rollback(struct mlq_store *st)
{
    st->tx = false;
    if (!sqlite3_get_autocommit(st->db))
        mlq_storei_exec_stmt(st, st->stmt[S_ROLLBACK], "rolling back", NULL);
    st->last_seq = -1;
}

/* The WAL hook in place of SQLite's auto-checkpoint: only notes the size. */
static int note_wal_size(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    ((struct mlq_store *)arg)->wal_pages = pages;
    return SQLITE_OK;
}

void mlq_store_defer_checkpoints(struct mlq_store *st)
{
    sqlite3_wal_hook(st->db, note_wal_size, st);
}

void mlq_store_checkpoint_idle(struct mlq_store *st, bool busy)
{
    if (st->tx || st->wal_pages < (busy ? CHECKPOINT_BUSY_PAGES : CHECKPOINT_PAGES))
        return;
    /* PASSIVE: copies what no reader still needs and never waits; what it
     * leaves is copied by a later one. Durability does not depend on it. */
    if (sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) == SQLITE_OK)
        st->wal_pages = 0;
}

bool mlq_store_in_tx(const struct mlq_store *st)
{
    return st->tx;
}

/* The hot writes (job insert and save, attempt save) skip their savepoint
 * inside the caller's transaction: every failure they can have after their
 * first write is MLQ_EDB, on which the caller rolls the whole transaction
 * back (the scheduler's loop does), so the savepoint would only cost two
 * statements per write. Outside one, they are atomic on their own. */
int mlq_storei_hot_begin(struct mlq_store *st, struct mlq_err *err)
{
    return st->tx ? mlq_storei_tx_check(st, err) : mlq_storei_op_begin(st, err);
}

int mlq_storei_hot_end(struct mlq_store *st, int rc, struct mlq_err *err)
{
    return st->tx ? rc : mlq_storei_op_end(st, rc, err);
}

/* Opens a savepoint around one multi-row write. */
int mlq_storei_op_begin(struct mlq_store *st, struct mlq_err *err)
{
    int rc = mlq_storei_tx_check(st, err);
    if (rc == 0)
        rc = mlq_storei_exec_stmt(st, st->stmt[S_SAVEPOINT], "starting write", err);
    return rc;
}

/* Releases the savepoint when rc is 0 (committing when it was the outermost
 * transaction), otherwise undoes it; returns the resulting code. */
int mlq_storei_op_end(struct mlq_store *st, int rc, struct mlq_err *err)
{
    if (rc == 0) {
        rc = mlq_storei_exec_stmt(st, st->stmt[S_RELEASE], "finishing write", err);
        if (rc == 0)
            return 0;
    }
    /* Either may fail when SQLite already rolled back; the first error wins. */
    st->last_seq = -1;
    mlq_storei_exec_stmt(st, st->stmt[S_ROLLBACK_TO], "undoing write", NULL);
    mlq_storei_exec_stmt(st, st->stmt[S_RELEASE], "undoing write", NULL);
    return rc;
}
