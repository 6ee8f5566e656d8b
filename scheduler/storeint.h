/* storeint: what store.c shares with storepipe.c, and nobody else.
 *
 * store.c grew past what one file should hold; the pipeline tables (arrays,
 * idempotency keys, schedules and their runs) and the general resolver live
 * in storepipe.c, the key ones (principals, the events listing) in
 * storeauth.c. All keep the invariants written at the top of store.c:
 * statements prepared once, parameters always bound, each statement reset
 * and its bindings cleared after use, multi-row writes inside a savepoint.
 * The public API stays in store.h. */
#ifndef MLQ_STOREINT_H
#define MLQ_STOREINT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "store.h"

/* storepipe.c's prepared statements; owned by the store. */
struct mlq_storepipe;
/* storeauth.c's prepared statements; owned by the store. */
struct mlq_storeauth;
/* storeretain.c's prepared statements; owned by the store. */
struct mlq_storeretain;
/* storetoken.c's prepared statements; owned by the store. */
struct mlq_storetoken;
struct mlq_storetoken *mlq_storei_token(struct mlq_store *st);
int mlq_storetoken_open(sqlite3 *db, struct mlq_storetoken **out, struct mlq_err *err);
void mlq_storetoken_close(struct mlq_storetoken **p);
/* storeworker.c's prepared statements; owned by the store. */
struct mlq_storeworker;
struct mlq_storeworker *mlq_storei_worker(struct mlq_store *st);
int mlq_storeworker_open(sqlite3 *db, struct mlq_storeworker **out, struct mlq_err *err);
void mlq_storeworker_close(struct mlq_storeworker **p);

/* ---- provided by store.c ---------------------------------------------- */

sqlite3 *mlq_storei_db(struct mlq_store *st);
struct mlq_storepipe *mlq_storei_pipe(struct mlq_store *st);
struct mlq_storeauth *mlq_storei_auth(struct mlq_store *st);
struct mlq_storeretain *mlq_storei_retain(struct mlq_store *st);
/* MLQ_EDB "<what>: <sqlite message>". */
int mlq_storei_db_err(struct mlq_store *st, struct mlq_err *err, const char *what);
int mlq_storei_bind_err(int rc, struct mlq_err *err, const char *what);
/* Resets s and clears its bindings. */
void mlq_storei_finish(sqlite3_stmt *s);
/* Steps s once expecting no row (a RETURNING row is ignored), then resets it. */
int mlq_storei_exec_stmt(struct mlq_store *st, sqlite3_stmt *s, const char *what,
                         struct mlq_err *err);
/* Binds v as SQLITE_STATIC text; NULL or "" binds NULL. */
int mlq_storei_bind_opt(sqlite3_stmt *s, int i, const char *v);
/* s is 1..max characters of 0-9 a-f '-'. */
bool mlq_storei_id_chars_ok(const char *s, size_t max);
/* Untrusted text made printable and short, for error messages. */
void mlq_storei_quote_safe(char *dst, size_t cap, const char *src);
/* Column i as a new string (NULL for SQL NULL) / into a fixed buffer ("" for
 * NULL); 0, MLQ_ENOMEM or MLQ_EDB (does not fit). */
int mlq_storei_col_dup(sqlite3_stmt *s, int i, char **out);
int mlq_storei_col_fixed(sqlite3_stmt *s, int i, char *dst, size_t cap);
/* Turns a col_* failure into an error message about what. */
int mlq_storei_row_err(int rc, struct mlq_err *err, const char *what);
/* Savepoint around one multi-row write; op_end releases it when rc is 0 and
 * undoes it otherwise, returning the resulting code. */
int mlq_storei_op_begin(struct mlq_store *st, struct mlq_err *err);
int mlq_storei_op_end(struct mlq_store *st, int rc, struct mlq_err *err);
/* MLQ_ESTATE when s is already stepping (a walk re-entered). */
int mlq_storei_walk_start(sqlite3_stmt *s, struct mlq_err *err);
/* Unpacks the spec blob in column i; id names the row in errors. */
int mlq_storei_spec_from_col(sqlite3_stmt *s, int i, struct mlq_jobspec *spec, const char *id,
                             struct mlq_err *err);

/* ---- provided by storepipe.c ------------------------------------------- */

/* Prepares storepipe's statements on db (after migration). */
int mlq_storepipe_open(sqlite3 *db, struct mlq_storepipe **out, struct mlq_err *err);
/* Finalizes them and frees *p; accepts NULL. */
void mlq_storepipe_close(struct mlq_storepipe **p);

/* ---- provided by storeauth.c ------------------------------------------- */

/* Prepares storeauth's statements on db (after migration). */
int mlq_storeauth_open(sqlite3 *db, struct mlq_storeauth **out, struct mlq_err *err);
/* Finalizes them and frees *p; accepts NULL. */
void mlq_storeauth_close(struct mlq_storeauth **p);

/* ---- provided by storeretain.c ----------------------------------------- */

/* Prepares storeretain's statements on db (after migration). */
int mlq_storeretain_open(sqlite3 *db, struct mlq_storeretain **out, struct mlq_err *err);
/* Finalizes them and frees *p; accepts NULL. */
void mlq_storeretain_close(struct mlq_storeretain **p);

#endif
