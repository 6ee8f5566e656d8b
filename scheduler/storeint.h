/* storeint: what the parts of the store share, and nobody else.
 *
 * store.c is the core: opening and migrating (the steps are storeschema.c's),
 * the caller's transaction, savepoints and the row helpers below. Each table group lives
 * in a part of its own, which prepares its statements when the store opens:
 * storejob.c (job rows), storeattempt.c (attempt rows, and what attempts
 * used), storejobinfo.c (the CLI's job views and listings), storeevent.c
 * (the events history), storeworker.c (worker rows and admin overrides),
 * storeauth.c (principals), storetoken.c (bearer tokens), storepipe.c
 * (arrays, idempotency keys, schedules, the general resolver),
 * storeretain.c (retention), storeenv.c (shared environments) and
 * storegang.c (gang parts). All keep the
 * invariants written at the top of store.c: statements prepared once,
 * parameters always bound, each statement reset and its bindings cleared
 * after use, multi-row writes inside a savepoint. The public API stays in
 * store.h. */
#ifndef MLQ_STOREINT_H
#define MLQ_STOREINT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

#include "store.h"

/* Each part's prepared statements, owned by the store. */
struct mlq_storepipe;
struct mlq_storeauth;
struct mlq_storeretain;
struct mlq_storetoken;
struct mlq_storeworker;
struct mlq_storejob;
struct mlq_storeattempt;
struct mlq_storejobinfo;
struct mlq_storeevent;
struct mlq_storeteam;
struct mlq_storeacct;
struct mlq_storequota;
struct mlq_storeenv;

/* ---- provided by store.c ---------------------------------------------- */

sqlite3 *mlq_storei_db(struct mlq_store *st);
struct mlq_storepipe *mlq_storei_pipe(struct mlq_store *st);
struct mlq_storeauth *mlq_storei_auth(struct mlq_store *st);
struct mlq_storeretain *mlq_storei_retain(struct mlq_store *st);
struct mlq_storetoken *mlq_storei_token(struct mlq_store *st);
struct mlq_storeworker *mlq_storei_worker(struct mlq_store *st);
struct mlq_storejob *mlq_storei_job(struct mlq_store *st);
struct mlq_storeattempt *mlq_storei_attempt(struct mlq_store *st);
struct mlq_storejobinfo *mlq_storei_jobinfo(struct mlq_store *st);
struct mlq_storeevent *mlq_storei_event(struct mlq_store *st);
struct mlq_storeteam *mlq_storei_team(struct mlq_store *st);
struct mlq_storeacct *mlq_storei_acct(struct mlq_store *st);
struct mlq_storequota *mlq_storei_quota(struct mlq_store *st);
struct mlq_storeenv *mlq_storei_env(struct mlq_store *st);
/* Prepares the n statements of sql[] on db into out[] (kept for the life
 * of the store); MLQ_EDB "preparing statements: ..." when one fails. */
int mlq_storei_prepare(sqlite3 *db, const char *const *sql, int n, sqlite3_stmt **out,
                       struct mlq_err *err);
/* Finalizes the n statements of s (NULL ones too). */
void mlq_storei_finalize(sqlite3_stmt **s, int n);
/* The newest job's seq, cached for storejob.c; -1 means read it from the
 * table first. Every failure and rollback sets it to -1, since whatever
 * failed may have been undone. */
int64_t *mlq_storei_last_seq(struct mlq_store *st);
/* MLQ_EDB "<what>: <sqlite message>". */
int mlq_storei_db_err(struct mlq_store *st, struct mlq_err *err, const char *what);
int mlq_storei_bind_err(int rc, struct mlq_err *err, const char *what);
/* MLQ_EDB when the caller's transaction was rolled back under it by SQLite
 * (after SQLITE_FULL or SQLITE_IOERR). */
int mlq_storei_tx_check(struct mlq_store *st, struct mlq_err *err);
/* The hot writes' savepoint: none inside the caller's transaction (see
 * store.c), mlq_storei_op_begin / op_end outside one. */
int mlq_storei_hot_begin(struct mlq_store *st, struct mlq_err *err);
int mlq_storei_hot_end(struct mlq_store *st, int rc, struct mlq_err *err);
/* Resets s and clears its bindings. */
void mlq_storei_finish(sqlite3_stmt *s);
/* Binds key to ?1 of s and steps once. 1: a row is ready to read, and the
 * caller reads it and calls mlq_storei_finish. Otherwise s is reset and the
 * result is MLQ_ENOTFOUND "no <what> <shown>" (shown NULL: the key, at most
 * 36 characters) or the error of "loading <what>". */
int mlq_storei_step_key(struct mlq_store *st, sqlite3_stmt *s, const char *key, const char *what,
                        const char *shown, struct mlq_err *err);
/* Steps s once expecting no row (a RETURNING row is ignored), then resets it. */
int mlq_storei_exec_stmt(struct mlq_store *st, sqlite3_stmt *s, const char *what,
                         struct mlq_err *err);
/* The end of every write with bound parameters: bind_rc is the binds'
 * results or'ed together; SQLITE_OK steps s as mlq_storei_exec_stmt, any
 * other resets s and is the bind error of what. */
int mlq_storei_exec_bound(struct mlq_store *st, sqlite3_stmt *s, int bind_rc, const char *what,
                          struct mlq_err *err);
/* Binds v to ?1 of s and steps once. 1: a row is ready, which the caller
 * reads before mlq_storei_finish. Otherwise s is reset and the result is
 * MLQ_ENOTFOUND with the text none, or the database error of what. */
int mlq_storei_step_int(struct mlq_store *st, sqlite3_stmt *s, int64_t v, const char *what,
                        const char *none, struct mlq_err *err);
/* Binds v as SQLITE_STATIC text; NULL or "" binds NULL. */
int mlq_storei_bind_opt(sqlite3_stmt *s, int i, const char *v);
/* True when a fixed-size field holds a terminated string. */
bool mlq_storei_fixed_ok(const char *v, size_t cap);
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

/* ---- provided by storeenv.c -------------------------------------------- */

/* Prepares storeenv's statements on db (after migration). */
int mlq_storeenv_open(sqlite3 *db, struct mlq_storeenv **out, struct mlq_err *err);
/* Finalizes them and frees *p; accepts NULL. */
void mlq_storeenv_close(struct mlq_storeenv **p);
/* One job row less names environment id; the row goes with the last. */
int mlq_storei_env_release(struct mlq_store *st, int64_t id, struct mlq_err *err);

/* ---- provided by storeretain.c ----------------------------------------- */

/* Prepares storeretain's statements on db (after migration). */
int mlq_storeretain_open(sqlite3 *db, struct mlq_storeretain **out, struct mlq_err *err);
/* Finalizes them and frees *p; accepts NULL. */
void mlq_storeretain_close(struct mlq_storeretain **p);

/* ---- provided by storejob.c -------------------------------------------- */

int mlq_storejob_open(sqlite3 *db, struct mlq_storejob **out, struct mlq_err *err);
void mlq_storejob_close(struct mlq_storejob **p);
/* The newest job's seq as handed out so far (none reserved by this call). */
int mlq_storei_peek_seq(struct mlq_store *st, int64_t *last, struct mlq_err *err);
/* Unpacks the spec blob in column i; id names the row in errors. */
int mlq_storei_spec_from_col(sqlite3_stmt *s, int i, struct mlq_jobspec *spec, const char *id,
                             struct mlq_err *err);

/* ---- provided by storeattempt.c ---------------------------------------- */

int mlq_storeattempt_open(sqlite3 *db, struct mlq_storeattempt **out, struct mlq_err *err);
void mlq_storeattempt_close(struct mlq_storeattempt **p);
/* Fills info->attempts with the attempts of job info->id in their listing
 * form, oldest first, the newest MLQ_MAX_ATTEMPT_INFO kept. */
int mlq_storei_info_attempts(struct mlq_store *st, struct mlq_jobinfo *info, struct mlq_err *err);

/* ---- provided by storejobinfo.c ---------------------------------------- */

int mlq_storejobinfo_open(sqlite3 *db, struct mlq_storejobinfo **out, struct mlq_err *err);
void mlq_storejobinfo_close(struct mlq_storejobinfo **p);

/* ---- provided by storeevent.c ------------------------------------------ */

int mlq_storeevent_open(sqlite3 *db, struct mlq_storeevent **out, struct mlq_err *err);
void mlq_storeevent_close(struct mlq_storeevent **p);
/* One event row; NULL fields are stored as NULL. */
struct mlq_storei_event {
    const char *kind, *job_id, *attempt_id, *worker, *from, *to, *detail;
    int64_t job_seq; /* 0: looked up from job_id */
};
/* Appends ev, stamped with the time and the current actor. */
int mlq_storei_event_insert(struct mlq_store *st, const struct mlq_storei_event *ev,
                            struct mlq_err *err);
/* With a submit batch open (mlq_store_submit_batch_begin): 1 when the job
 * of seq is the batch's next, whose "submit" event is the batch's row;
 * MLQ_EDB when it is not. 0 when no batch is open. */
int mlq_storei_batch_take(struct mlq_store *st, int64_t seq, struct mlq_err *err);

/* ---- provided by storeworker.c ----------------------------------------- */

int mlq_storeworker_open(sqlite3 *db, struct mlq_storeworker **out, struct mlq_err *err);
void mlq_storeworker_close(struct mlq_storeworker **p);

/* ---- provided by storeteam.c and storeacct.c ---------------------------- */

int mlq_storeteam_open(sqlite3 *db, struct mlq_storeteam **out, struct mlq_err *err);
void mlq_storeteam_close(struct mlq_storeteam **p);
int mlq_storeacct_open(sqlite3 *db, struct mlq_storeacct **out, struct mlq_err *err);
void mlq_storeacct_close(struct mlq_storeacct **p);
/* Folds the ended attempts of the job with this seq into usage_daily (the
 * caller deletes them next, in the same transaction). */
int mlq_storeacct_fold_job(struct mlq_store *st, int64_t seq, struct mlq_err *err);

/* ---- provided by storequota.c ------------------------------------------ */

int mlq_storequota_open(sqlite3 *db, struct mlq_storequota **out, struct mlq_err *err);
void mlq_storequota_close(struct mlq_storequota **p);
/* Deletes every quota of team (inside the team's removal). */
int mlq_storequota_rm_team(struct mlq_store *st, const char *team, struct mlq_err *err);

/* ---- provided by storetoken.c ------------------------------------------ */

int mlq_storetoken_open(sqlite3 *db, struct mlq_storetoken **out, struct mlq_err *err);
void mlq_storetoken_close(struct mlq_storetoken **p);

#endif
