/* store: all of the scheduler's SQL, and nothing else.
 *
 * One SQLite file (WAL, synchronous=FULL, foreign keys on, busy timeout) with
 * a versioned schema migrated forward on open (PRAGMA user_version). Tables:
 * jobs, attempts, workers, and an append-only events history that gets a row
 * for every job/attempt state change.
 *
 * Transactions are grouped by the caller: the scheduler loop calls
 * mlq_store_begin() before its first write of an iteration (a no-op when one
 * is already open) and mlq_store_commit() once at the end, before any reply
 * leaves. Reads inside an open transaction see its own writes.
 *
 * Rows are plain structs; strings inside rows filled by the store belong to
 * the caller and are released with the matching *_free function. */
#ifndef MLQ_STORE_H
#define MLQ_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "id.h"
#include "jobstate.h"
#include "bounds.h"
#include "proto.h"

#define MLQ_STORE_SCHEMA_VERSION 22
#define MLQ_GPU_IDS_MAX          256 /* "0,1,...,63" */

struct mlq_store;

/* The row is kept in memory for each of up to a million pending jobs
 * (struct mlq_job), so the two ids a pending job rarely has are not held
 * as text: the current attempt's id in its 16 bytes (set at each dispatch
 * from a generated id, so setting it never allocates) and the array's id
 * behind a pointer (the job table shares it among the array's tasks,
 * strpool.h). Together 24 bytes instead of 74. The 4-byte fields sit in
 * pairs so that the row has no padding. */
struct mlq_store_job {
    char id[MLQ_ID_LEN + 1];
    struct mlq_idbin cur_att; /* the current attempt; none when none: see
                                 mlq_store_job_cur_att */
    enum mlq_job_state state;
    int32_t array_index; /* schema v4: -1 unless a task */
    int64_t seq;         /* submit order, assigned by insert */
    char *task_of;       /* schema v4: the array's id; NULL unless a task of
                            an array. Owned by the row (freed with it). */
    char *reason;        /* may be NULL */
    struct mlq_jobspec spec;
    int64_t submit_ms, start_ms, end_ms; /* wall clock; 0 = not yet */
    int64_t not_before_ms; /* wall clock; a PENDING job waits until then (schema v2) */
    int32_t attempts;      /* attempts created so far */
    int32_t node_failures; /* attempts lost with their worker */
    /* An exit code (0-255, -1 none) and a signal number (0 none) fit 16
     * bits, and env_id 32: together 8 bytes less per job than 32/32/64, and
     * a scheduler holds a million of these. */
    int16_t exit_code;
    int16_t signal;
    /* schema v20: the shared environment the job runs with (an envs row,
     * mlq_store_env_put; ids stay far below 2^31), 0 when none; the spec
     * then has no env of its own. */
    int32_t env_id;
};

/* The current attempt's id as text into out ("" when none). */
static inline void mlq_store_job_cur_att(const struct mlq_store_job *j, char out[MLQ_ID_LEN + 1])
{
    mlq_idbin_text(&j->cur_att, out);
}

/* The array's id of a task, "" for a job that is not one. */
static inline const char *mlq_store_job_array(const struct mlq_store_job *j)
{
    return j->task_of ? j->task_of : "";
}

struct mlq_store_attempt {
    char id[MLQ_ID_LEN + 1];
    char job_id[MLQ_ID_LEN + 1];
    int32_t num; /* 1-based */
    char worker[MLQ_MAX_NAME + 1];
    enum mlq_attempt_state state;
    char gpu_ids[MLQ_GPU_IDS_MAX]; /* "0,1" or "" */
    int64_t assigned_ms, start_ms, end_ms;
    int32_t exit_code;      /* -1 none */
    int32_t signal;         /* 0 none */
    char *detail;           /* may be NULL */
    struct mlq_usage usage; /* schema v9: what it used (source "" unknown) */
    /* Hundredths of a GPU it books per node: 100 a whole GPU, a share its
     * part of one (gpushare.h); 0 not recorded (rows from before: the
     * job's gpus x 100 hold). Set at dispatch; an update keeps it. */
    int32_t gpu_h;
    /* The job's seq (its row's rowid) when the writer knows it: the insert
     * then needs no look-up of the job by id; 0: looked up. Not read back. */
    int64_t job_seq;
};

/* One node part of a gang's attempt (schema v10, storegang.c). a.id is the
 * part id, a.num the gang attempt's number. */
struct mlq_store_part {
    struct mlq_store_attempt a;
    char attempt_id[MLQ_ID_LEN + 1]; /* the gang's attempt */
    int32_t rank;
    int32_t rdv_port; /* rank 0: the rendezvous port booked; 0 otherwise */
};

struct mlq_store_worker {
    char name[MLQ_MAX_NAME + 1];
    int64_t cpus_m, mem;
    int32_t gpus;
    int64_t first_seen_ms, last_seen_ms;
    char pool[MLQ_MAX_NAME + 1]; /* schema v3; "default" when unset */
    bool drained;                /* schema v3: drained by an admin */
    char drain_reason[256];      /* schema v3 */
};

/* Resource use of one ended (or still running: end_ms = 0) attempt, for
 * fair share. */
struct mlq_store_usage {
    const char *owner;
    const char *team; /* the job's team; NULL none */
    int64_t cpus_m;
    int32_t gpu_h; /* hundredths of a GPU (mlq_store_attempt.gpu_h) */
    int64_t start_ms, end_ms;
};

/* Opens (creating when absent) the database at path (":memory:" for tests)
 * and migrates it to MLQ_STORE_SCHEMA_VERSION. */
int mlq_store_open(const char *path, struct mlq_store **out, struct mlq_err *err);
/* For upgrade tests and fixtures: creates (or opens) the database at path
 * and applies the schema steps up to version (1..MLQ_STORE_SCHEMA_VERSION)
 * only, leaving it as the mlq of that schema version made it; MLQ_EDB when
 * the file is already past version. Nothing else of the store is used. */
int mlq_store_migrate_to(const char *path, int version, struct mlq_err *err);
/* Rolls back any open transaction, closes, sets *st to NULL; accepts NULL. */
void mlq_store_close(struct mlq_store **st);

int mlq_store_begin(struct mlq_store *st, struct mlq_err *err);  /* no-op when open */
int mlq_store_commit(struct mlq_store *st, struct mlq_err *err); /* no-op when none */
void mlq_store_rollback(struct mlq_store *st);
bool mlq_store_in_tx(const struct mlq_store *st);
/* Moves the WAL checkpoint out of the commit: SQLite's auto-checkpoint
 * copies the WAL into the database inside the COMMIT that crosses its
 * threshold, so the request whose commit it is waits for the copy and its
 * fsync too. After this call commits only note the WAL's size, and
 * mlq_store_checkpoint_idle(), called once the replies are out, copies it
 * once it holds 1,000 pages (4 MiB), or 8,000 (32 MiB) when busy (more
 * requests already wait): what a commit waits for stays the WAL append and
 * its fsync (acknowledged = committed and fsynced). */
void mlq_store_defer_checkpoints(struct mlq_store *st);
void mlq_store_checkpoint_idle(struct mlq_store *st, bool busy);

/* Inserts a new PENDING job (spec stored as a msgpack blob plus its resource
 * columns), sets job->seq, appends a "submit" event. job->id must be set. */
int mlq_store_job_insert(struct mlq_store *st, struct mlq_store_job *job, struct mlq_err *err);
/* The next submit order, for a job whose row is written later with
 * mlq_store_job_insert_row (any rollback forgets what was handed out). */
int mlq_store_job_reserve_seq(struct mlq_store *st, int64_t *seq, struct mlq_err *err);
/* Opens a submit batch (schema v22) of the n jobs about to be inserted
 * one after the other with mlq_store_job_insert, inside a transaction: one
 * "submit" event names their seqs (the next n), in place of one row each;
 * the listings show it as each job's own. mlq_store_submit_batch_end
 * closes it and returns rc, or MLQ_EDB when rc is 0 but fewer jobs were
 * inserted (another job inserted inside the batch is MLQ_EDB at once). */
int mlq_store_submit_batch_begin(struct mlq_store *st, uint32_t n, struct mlq_err *err);
int mlq_store_submit_batch_end(struct mlq_store *st, int rc, struct mlq_err *err);
/* Inserts job's row alone (no event); uses job->seq when set. */
int mlq_store_job_insert_row(struct mlq_store *st, struct mlq_store_job *job, struct mlq_err *err);
/* Appends job's event alone: "submit" when from < 0, else a "state" event
 * from -> job->state (nothing when equal), naming its current attempt. */
int mlq_store_job_note(struct mlq_store *st, const struct mlq_store_job *job, int from,
                       struct mlq_err *err);
/* Writes every mutable column of job, the row found by job->seq and id
 * (as inserted or loaded) (state, reason, times, attempts,
 * node_failures, current_attempt, exit_code, signal). When from != job->state
 * appends a "state" event (from -> to, reason). */
int mlq_store_job_save(struct mlq_store *st, const struct mlq_store_job *job,
                       enum mlq_job_state from, struct mlq_err *err);
/* Appends a `kind` event about job alone (its row may still be written
 * late: the event names it by its reserved seq). */
int mlq_store_job_event(struct mlq_store *st, const struct mlq_store_job *job, const char *kind,
                        const char *detail, struct mlq_err *err);
/* Stores job's spec again (blob and resource columns; a job whose row is
 * still to be written late gets it with that row) and appends a `kind`
 * event ("hold", "release", "update") with detail, in one transaction. */
int mlq_store_job_respec(struct mlq_store *st, const struct mlq_store_job *job, const char *kind,
                         const char *detail, struct mlq_err *err);
/* Inserts or updates an attempt. prev < 0 means new (event "attempt");
 * otherwise an "attempt_state" event is appended when prev != a->state.
 * With event false none is appended: the job transition that the caller
 * saves next in the same transaction records the step (its "state" event
 * names the attempt), one event row per step instead of two. */
int mlq_store_attempt_save(struct mlq_store *st, const struct mlq_store_attempt *a, int prev,
                           bool event, struct mlq_err *err);
/* Appends a free-form event (e.g. "worker_up", "worker_lost"). Any of the ids
 * may be NULL. */
int mlq_store_event_add(struct mlq_store *st, const char *kind, const char *job_id,
                        const char *attempt_id, const char *worker, const char *detail,
                        struct mlq_err *err);

/* Loads one job by full id. MLQ_ENOTFOUND when absent. */
int mlq_store_job_get(struct mlq_store *st, const char *id, struct mlq_store_job *out,
                      struct mlq_err *err);
/* The run manifest of an attempt (schema v12), stored once its finished
 * report brings it; a repeat replaces it (reports are idempotent). */
int mlq_store_manifest_put(struct mlq_store *st, const char *attempt_id, const char *json,
                           struct mlq_err *err);
/* The manifest of attempt num (0: the latest attempt) of job_id: its
 * attempt's id and number, and the JSON text (caller frees *json).
 * MLQ_ENOTFOUND when the job has no such attempt, or it has no manifest
 * (yet). */
int mlq_store_manifest_get(struct mlq_store *st, const char *job_id, int32_t num,
                           char attempt_id[MLQ_ID_LEN + 1], int32_t *num_out, char **json,
                           struct mlq_err *err);
/* A log stream the attempt's worker uploaded with no bytes is recorded on
 * its attempt row (schema v19) instead of as an empty file in the log
 * store: no file to create, fsync and rename per job. 1 recorded, 0 no
 * such attempt row (a gang's node part: its logs stay files). */
int mlq_store_log_empty_set(struct mlq_store *st, const char *attempt_id, enum mlq_stream stream,
                            struct mlq_err *err);
/* True when the stream was recorded empty by mlq_store_log_empty_set. */
bool mlq_store_log_empty(struct mlq_store *st, const char *attempt_id, enum mlq_stream stream);

/* Loads one attempt by id. MLQ_ENOTFOUND when absent. */
int mlq_store_attempt_get(struct mlq_store *st, const char *id, struct mlq_store_attempt *out,
                          struct mlq_err *err);
/* Resolves a unique id prefix to a full id. MLQ_ENOTFOUND / MLQ_EAMBIG with a
 * message naming the prefix. */
int mlq_store_job_resolve(struct mlq_store *st, const char *prefix, char out[MLQ_ID_LEN + 1],
                          struct mlq_err *err);

/* Calls fn for every non-terminal job, in seq order. A non-zero return from fn
 * stops the walk and is returned. The row is only valid during the call. */
typedef int (*mlq_store_job_fn)(const struct mlq_store_job *job, void *ctx);
int mlq_store_each_active_job(struct mlq_store *st, mlq_store_job_fn fn, void *ctx,
                              struct mlq_err *err);
/* Calls fn for every attempt in state ASSIGNED or RUNNING (whatever its job's
 * state: a cancelled job's attempt stays RUNNING until its worker reports). */
typedef int (*mlq_store_attempt_fn)(const struct mlq_store_attempt *a, void *ctx);
int mlq_store_each_live_attempt(struct mlq_store *st, mlq_store_attempt_fn fn, void *ctx,
                                struct mlq_err *err);

/* Fills a jobinfo for the CLI (job row joined with its current attempt),
 * including retries, node_failures, not_before_ms and time_limit_ms. With
 * with_attempts, also every attempt of the job, oldest first (at most
 * MLQ_MAX_ATTEMPT_INFO, the newest kept). */
int mlq_store_job_info_full(struct mlq_store *st, const char *id, bool with_attempts,
                            struct mlq_jobinfo *out, struct mlq_err *err);
/* Same as mlq_store_job_info_full(st, id, false, out, err). */
int mlq_store_job_info(struct mlq_store *st, const char *id, struct mlq_jobinfo *out,
                       struct mlq_err *err);
/* Newest first; state < 0 for any; at most limit rows (limit <= MLQ_MAX_LIST).
 * *out is a calloc'd array the caller frees with mlq_store_jobinfo_array_free. */
int mlq_store_job_list(struct mlq_store *st, int state, uint32_t limit, struct mlq_jobinfo **out,
                       uint32_t *n, struct mlq_err *err);
/* The same, only jobs whose seq (submission order) is below before; when
 * seqs is not NULL (limit entries, limit 1..MLQ_MAX_LIST) it receives each listed job's seq, the
 * key of the next page. */
int mlq_store_job_page(struct mlq_store *st, int state, int64_t before, uint32_t limit,
                       struct mlq_jobinfo **out, uint32_t *n, int64_t *seqs, struct mlq_err *err);
/* What a filtered listing keeps: every field set must hold (NULL / 0 =
 * any). */
struct mlq_store_job_filter {
    uint32_t states;   /* bit (1 << state) per state kept */
    const char *name;  /* exactly this name */
    const char *owner; /* exactly this owner */
    const char *array; /* tasks of this array (full id) */
    int64_t since_ms;  /* submitted at or after */
};
/* mlq_store_job_page() with a filter (NULL: none). */
int mlq_store_job_page_filtered(struct mlq_store *st, const struct mlq_store_job_filter *f,
                                int64_t before, uint32_t limit, struct mlq_jobinfo **out,
                                uint32_t *n, int64_t *seqs, struct mlq_err *err);
/* Up to max jobs (not array tasks) and arrays named name, of owner (NULL:
 * anyone's), whose state is in the set states (bit 1 << state; an array
 * counts while one of its tasks does): their ids, and which are arrays. */
int mlq_store_jobs_named(struct mlq_store *st, const char *name, const char *owner, uint32_t states,
                         uint32_t max, char (*ids)[MLQ_ID_LEN + 1], bool *is_array, uint32_t *n,
                         struct mlq_err *err);
void mlq_store_jobinfo_array_free(struct mlq_jobinfo **arr, uint32_t n);

int mlq_store_worker_save(struct mlq_store *st, const struct mlq_store_worker *w,
                          struct mlq_err *err);
/* Deletes worker name's row and its admin override (nothing when it has
 * none) and appends a "worker_removed" event with detail (may be NULL). */
int mlq_store_worker_forget(struct mlq_store *st, const char *name, const char *detail,
                            struct mlq_err *err);
typedef int (*mlq_store_worker_fn)(const struct mlq_store_worker *w, void *ctx);
int mlq_store_each_worker(struct mlq_store *st, mlq_store_worker_fn fn, void *ctx,
                          struct mlq_err *err);

/* What an admin set on a worker (`mlq admin worker set`, schema v9): it wins
 * over what the worker reports, also across its re-registrations and the
 * scheduler's restarts, until reset. */
struct mlq_store_override {
    char worker[MLQ_MAX_NAME + 1];
    char pool[MLQ_MAX_NAME + 1];         /* "" = the worker's own */
    bool clear_labels;                   /* the worker's own labels are dropped */
    const char *labels;                  /* "k=v" lines joined by '\n'; NULL or "" = none */
    int64_t cpus_m, mem;                 /* 0 = the worker's own */
    int32_t gpus;                        /* -1 = the worker's own */
    char gpu_type[MLQ_MAX_GPU_TYPE + 1]; /* with gpus: only this type is capped */
};
/* Inserts or replaces the worker's override (inside the caller's
 * transaction); names, pool, labels and numbers are checked first. */
int mlq_store_override_save(struct mlq_store *st, const struct mlq_store_override *o,
                            struct mlq_err *err);
/* Drops the worker's override; 0 also when it had none. */
int mlq_store_override_delete(struct mlq_store *st, const char *worker, struct mlq_err *err);
typedef int (*mlq_store_override_fn)(const struct mlq_store_override *o, void *ctx);
int mlq_store_each_override(struct mlq_store *st, mlq_store_override_fn fn, void *ctx,
                            struct mlq_err *err);

/* Calls fn for every attempt that started and had not ended before
 * since_ms (end_ms = 0 when still running), with its job's owner and
 * resources: what fair share decays over. In no particular order. */
typedef int (*mlq_store_usage_fn)(const struct mlq_store_usage *u, void *ctx);
int mlq_store_each_usage(struct mlq_store *st, int64_t since_ms, mlq_store_usage_fn fn, void *ctx,
                         struct mlq_err *err);

/* ---- Pipelines (schema v4) ---------------------------------------------- */

struct mlq_store_array {
    char id[MLQ_ID_LEN + 1];
    struct mlq_jobspec spec; /* as submitted (array = the index spec) */
    uint32_t size, max_running;
    int64_t submit_ms;
};
/* Inserts the array row (tasks are inserted as jobs with array_id set) and
 * an "array_submit" event. */
int mlq_store_array_insert(struct mlq_store *st, const struct mlq_store_array *a,
                           struct mlq_err *err);
/* ---- shared environments (schema v20, storeenv.c) ----------------------
 * An environment that many jobs run with (those of one `submit --from`
 * batch) is stored once, keyed by the SHA-256 of its content, and each job
 * row names it (env_id) instead of carrying a copy in its spec. */

/* Stores env (or finds it stored) and adds refs references to it, inside
 * the caller's transaction; *id names it. MLQ_ESTATE when another
 * environment has the same hash (the caller then keeps per-job copies). */
int mlq_store_env_put(struct mlq_store *st, char *const *env, uint32_t envc, uint32_t refs,
                      int64_t *id, struct mlq_err *err);
/* The stored environment id as a new vector (NULL when empty);
 * MLQ_ENOTFOUND when there is none. */
int mlq_store_env_get(struct mlq_store *st, int64_t id, char ***env, uint32_t *envc,
                      struct mlq_err *err);
/* How many job rows name environment id; MLQ_ENOTFOUND once it is gone. */
int mlq_store_env_refs(struct mlq_store *st, int64_t id, int64_t *refs, struct mlq_err *err);

int mlq_store_array_get(struct mlq_store *st, const char *id, struct mlq_store_array *out,
                        struct mlq_err *err);
void mlq_store_array_free(struct mlq_store_array *a);
/* The array's summary: counts of its tasks per state, failed indices. */
int mlq_store_array_info(struct mlq_store *st, const char *id, struct mlq_arrayinfo *out,
                         struct mlq_err *err);
/* Ids of the array's tasks that are not terminal (for cancel). *out is
 * malloc'd; the caller frees it. */
int mlq_store_array_active_tasks(struct mlq_store *st, const char *id, char (**out)[MLQ_ID_LEN + 1],
                                 uint32_t *n, struct mlq_err *err);

/* Resolves what a user typed: a job id or prefix, an array id or prefix, or
 * "ARRAY/N" (task N of the array). *is_array says which kind the result is.
 * MLQ_ENOTFOUND / MLQ_EAMBIG / MLQ_EINVAL with a message naming the text. */
int mlq_store_resolve(struct mlq_store *st, const char *ref, char out[MLQ_ID_LEN + 1],
                      bool *is_array, struct mlq_err *err);

/* Idempotency keys: (owner, key) -> the job or array id first submitted
 * with them. Entries older than 7 days count as absent. */
int mlq_store_idem_get(struct mlq_store *st, const char *owner, const char *key, int64_t now_ms,
                       char out[MLQ_ID_LEN + 1], struct mlq_err *err);
/* The same, plus the hash of the request the key was first used with
 * (hash "" when it was stored without one). */
#define MLQ_STORE_HASH_HEX 64
int mlq_store_idem_lookup(struct mlq_store *st, const char *owner, const char *key, int64_t now_ms,
                          char out[MLQ_ID_LEN + 1], char hash[MLQ_STORE_HASH_HEX + 1],
                          struct mlq_err *err);
/* hash may be NULL (no request to compare with later). */
int mlq_store_idem_put(struct mlq_store *st, const char *owner, const char *key, const char *id,
                       const char *hash, int64_t now_ms, struct mlq_err *err);
int mlq_store_idem_purge(struct mlq_store *st, int64_t before_ms, struct mlq_err *err);
/* A submit_many with a key stores (owner, key) -> its first job and
 * (owner, key MLQ_STORE_IDEM_LAST) -> its last: the jobs of one request
 * have consecutive seqs. This reads the n ids back, in order. MLQ_ENOTFOUND
 * when the key is unused; MLQ_EINVAL when it names a single submit, another
 * number of jobs, or jobs no longer all kept. */
#define MLQ_STORE_IDEM_LAST "\x1flast" /* no key a client sends has \x1f */
int mlq_store_idem_many_get(struct mlq_store *st, const char *owner, const char *key,
                            int64_t now_ms, uint32_t n, char (*ids)[MLQ_ID_LEN + 1],
                            struct mlq_err *err);

enum mlq_concurrency { MLQ_CONC_SKIP = 0, MLQ_CONC_ALLOW, MLQ_CONC_REPLACE };

struct mlq_store_schedule {
    char name[MLQ_MAX_NAME + 1];
    char *cron;
    char *timezone; /* NULL = UTC */
    struct mlq_jobspec spec;
    enum mlq_concurrency concurrency;
    int64_t catch_up_ms;
    bool paused;
    int64_t next_fire_ms;          /* 0 = not computed */
    int64_t last_fire_ms;          /* 0 = never */
    char last_job[MLQ_ID_LEN + 1]; /* "" = none */
    int64_t created_ms;
};
/* Insert or replace by name; appends a "schedule" event with the detail. */
int mlq_store_schedule_save(struct mlq_store *st, const struct mlq_store_schedule *s,
                            const char *event_detail, struct mlq_err *err);
int mlq_store_schedule_get(struct mlq_store *st, const char *name, struct mlq_store_schedule *out,
                           struct mlq_err *err);
int mlq_store_schedule_delete(struct mlq_store *st, const char *name, struct mlq_err *err);
typedef int (*mlq_store_schedule_fn)(const struct mlq_store_schedule *s, void *ctx);
int mlq_store_each_schedule(struct mlq_store *st, mlq_store_schedule_fn fn, void *ctx,
                            struct mlq_err *err);
void mlq_store_schedule_free(struct mlq_store_schedule *s);
/* Records that the schedule fired at fire_ms and submitted job_id. */
int mlq_store_schedrun_add(struct mlq_store *st, const char *name, int64_t fire_ms,
                           const char *job_id, struct mlq_err *err);
/* The newest runs first (at most limit), with their jobs' current states. */
int mlq_store_schedrun_list(struct mlq_store *st, const char *name, uint32_t limit,
                            struct mlq_schedrun **out, uint32_t *n, struct mlq_err *err);

/* ---- Keys (schema v5): principals, audit actor, events listing ----- */

/* A registered key. kind "user" holds roles "user" and "admin"; kind
 * "worker" holds role "worker". Names are 1..MLQ_MAX_NAME bytes of
 * A-Z a-z 0-9 _ . @ - (mlq_proto_principal_name_check); keys are z85
 * public keys, each registered at most once. */
struct mlq_store_principal {
    char kind[8];
    char name[MLQ_MAX_NAME + 1];
    char role[8];
    char key[41];
    int64_t added_ms;            /* 0 on save = now */
    char team[MLQ_MAX_NAME + 1]; /* users: "" = none; saving leaves it as it is */
};
/* Inserts or replaces the principal (kind, name) and appends a "key_added"
 * event with detail "ROLE NAME". MLQ_EINVAL for a bad kind, role, name or
 * key, or a key already registered to another principal. */
int mlq_store_principal_save(struct mlq_store *st, const struct mlq_store_principal *p,
                             struct mlq_err *err);
/* Deletes (kind, name) and appends a "key_removed" event; MLQ_ENOTFOUND
 * when there is no such principal. */
int mlq_store_principal_delete(struct mlq_store *st, const char *kind, const char *name,
                               struct mlq_err *err);
/* Calls fn for every principal, ordered by kind then name. */
typedef int (*mlq_store_principal_fn)(const struct mlq_store_principal *p, void *ctx);
int mlq_store_each_principal(struct mlq_store *st, mlq_store_principal_fn fn, void *ctx,
                             struct mlq_err *err);

/* Every event appended after this call carries actor ("admin:alice", at
 * most MLQ_MAX_ACTOR bytes, longer is cut) until it is set
 * again; NULL or "" clears it (events of the scheduler itself). */
#define MLQ_STORE_ACTOR_MAX (MLQ_MAX_ACTOR + 1)
void mlq_store_set_actor(struct mlq_store *st, const char *actor);

/* Events oldest first: those of job_id (a full id; NULL for all) at or
 * after since_ms (0 = all), the newest limit of them when more match
 * (limit 0 = 100, at most MLQ_MAX_LIST). Strings longer than the protocol
 * allows are cut. *out is calloc'd (NULL when n is 0); free it with
 * mlq_store_eventinfo_array_free. */
int mlq_store_events_list(struct mlq_store *st, const char *job_id, int64_t since_ms,
                          uint32_t limit, struct mlq_eventinfo **out, uint32_t *n,
                          struct mlq_err *err);
void mlq_store_eventinfo_array_free(struct mlq_eventinfo **arr, uint32_t n);

/* ---- retention (storeretain.c), inside the caller's transaction ---- */

/* A finished job retention may delete. */
struct mlq_store_old_job {
    int64_t seq;
    int64_t env_id; /* its shared environment, 0 none: released with it */
    char id[MLQ_ID_LEN + 1];
    char array_id[MLQ_ID_LEN + 1]; /* "" unless a task */
};
/* Terminal jobs with seq in (after, upto] that ended before end_before,
 * have no live attempt, are not named (nor is their array) by an
 * idempotency key created after idem_after, and are not the newest job (its
 * seq is never handed out again), in seq order; at most max into out. */
int mlq_store_retain_candidates(struct mlq_store *st, int64_t after, int64_t upto,
                                int64_t end_before, int64_t idem_after,
                                struct mlq_store_old_job *out, size_t max, size_t *n,
                                struct mlq_err *err);
/* The highest job seq (0 when none). */
int mlq_store_retain_max_seq(struct mlq_store *st, int64_t *seq, struct mlq_err *err);
/* True when some task of the array is not terminal. */
int mlq_store_array_live(struct mlq_store *st, const char *array_id, bool *live,
                         struct mlq_err *err);
/* Deletes the job, its attempts and its events (one savepoint), calling
 * on_attempt with each attempt id first (for its logs). What the attempts
 * used is folded into usage_daily first, in the same savepoint. */
typedef void (*mlq_store_attempt_id_fn)(void *ctx, const char *attempt_id);
int mlq_store_job_delete(struct mlq_store *st, const struct mlq_store_old_job *job,
                         mlq_store_attempt_id_fn on_attempt, void *ctx, struct mlq_err *err);
/* Deletes the array's row once it has no task left. */
int mlq_store_array_delete_if_empty(struct mlq_store *st, const char *array_id,
                                    struct mlq_err *err);
/* Deletes at most limit events older than before_ms, oldest first, never the
 * newest event (its seq is never handed out again); *deleted is how many. */
int mlq_store_events_delete_old(struct mlq_store *st, int64_t before_ms, int limit, int *deleted,
                                struct mlq_err *err);

void mlq_store_job_free(struct mlq_store_job *job);       /* frees the strings inside */
void mlq_store_attempt_free(struct mlq_store_attempt *a); /* frees detail */
/* The GPU hundredths a books per node: its gpu_h, or for an attempt from
 * before it was recorded, its job's job_gpus whole GPUs (as the usage
 * queries read it). */
int32_t mlq_store_attempt_gpu_h(const struct mlq_store_attempt *a, int32_t job_gpus);

/* ---- schema v8: bearer tokens of the HTTP API (storetoken.c) --------- */

struct mlq_store_token {
    char name[MLQ_MAX_NAME + 1];
    char principal[MLQ_MAX_NAME + 1];
    char role[8];  /* "user" or "admin" */
    char hash[65]; /* SHA-256 of the token, lower-case hex */
    int64_t created_ms;
    int64_t expires_ms; /* wall clock; 0 = never */
};

/* Inserts the token; MLQ_ESTATE when the name is taken. Appends a
 * "token_added" event. */
int mlq_store_token_add(struct mlq_store *st, const struct mlq_store_token *t, struct mlq_err *err);
/* Deletes it; MLQ_ENOTFOUND when there is none. Appends "token_removed". */
int mlq_store_token_delete(struct mlq_store *st, const char *name, struct mlq_err *err);
/* The token with that hash; MLQ_ENOTFOUND when there is none. */
int mlq_store_token_by_hash(struct mlq_store *st, const char *hash, struct mlq_store_token *out,
                            struct mlq_err *err);
/* Calls fn for every token, by name; stops at fn's first non-zero. */
typedef int (*mlq_store_token_fn)(const struct mlq_store_token *t, void *ctx);
int mlq_store_token_each(struct mlq_store *st, mlq_store_token_fn fn, void *ctx,
                         struct mlq_err *err);

/* ---- schema v12: teams (storeteam.c) and usage (storeacct.c) --------- */

/* Adds a team; MLQ_EINVAL for a bad name or one that exists. Appends a
 * "team_added" event. */
int mlq_store_team_add(struct mlq_store *st, const char *name, int64_t now_ms, struct mlq_err *err);
int mlq_store_team_exists(struct mlq_store *st, const char *name, bool *exists,
                          struct mlq_err *err);
/* Removes a team: MLQ_ENOTFOUND when there is none, MLQ_EINVAL (naming
 * them) while it has members or pending or running jobs. Appends
 * "team_removed". */
int mlq_store_team_rm(struct mlq_store *st, const char *name, struct mlq_err *err);
/* Whether team's higher-priority jobs may preempt its lower-priority ones
 * (schema v16; `mlq admin team set --preempt-within`), with a
 * "team_preempt_within" event. MLQ_ENOTFOUND naming the team when absent. */
int mlq_store_team_set_preempt(struct mlq_store *st, const char *name, bool on,
                               struct mlq_err *err);
/* That setting; false for an unknown team. */
int mlq_store_team_preempt_within(struct mlq_store *st, const char *name, bool *on,
                                  struct mlq_err *err);
/* Every team (only: that one), by name, with members and live jobs. Free
 * with mlq_store_teaminfo_array_free. */
int mlq_store_teams_list(struct mlq_store *st, const char *only, struct mlq_teaminfo **out,
                         uint32_t *n, struct mlq_err *err);
void mlq_store_teaminfo_array_free(struct mlq_teaminfo **v, uint32_t n);
/* Puts the user in team ("" or NULL: in none): MLQ_ENOTFOUND for an
 * unknown user or team. Appends "team_set" ("USER TEAM", "-" for none). */
int mlq_store_user_team_set(struct mlq_store *st, const char *user, const char *team,
                            struct mlq_err *err);
/* The user's team ("" none or no such user). */
int mlq_store_user_team_get(struct mlq_store *st, const char *user, char team[MLQ_MAX_NAME + 1],
                            struct mlq_err *err);
/* ---- schema v16: quotas per team and pool (storequota.c) ------------- */

/* Adds or replaces the quota of (q->team, q->pool; "" = "default") with
 * q's nominal amounts, borrow caps and user limits (the use fields are
 * ignored): MLQ_ENOTFOUND "no team named ..." for an unknown team. Appends
 * "quota_set" ("TEAM POOL"). */
int mlq_store_quota_set(struct mlq_store *st, const struct mlq_quotainfo *q, int64_t now_ms,
                        struct mlq_err *err);
/* Removes the quota of (team, pool): MLQ_ENOTFOUND when there is none.
 * Appends "quota_removed". */
int mlq_store_quota_rm(struct mlq_store *st, const char *team, const char *pool,
                       struct mlq_err *err);
/* Calls fn for every stored quota (use fields zero), by team and pool;
 * stops at fn's first non-zero, which it returns. */
typedef int (*mlq_store_quota_fn)(const struct mlq_quotainfo *q, void *ctx);
int mlq_store_quota_each(struct mlq_store *st, mlq_store_quota_fn fn, void *ctx,
                         struct mlq_err *err);

/* A usage report: the attempts that ended in [since_ms, until_ms) and the
 * folded days overlapping it, grouped by `by`; only_user: that user's jobs
 * only ("": everyone's). */
struct mlq_acct_query {
    int64_t since_ms, until_ms;
    enum mlq_acct_by by;
    char only_user[MLQ_MAX_NAME + 1];
};
/* One row per group (see storeacct.c), sorted by group. Free *out. */
int mlq_store_acct_report(struct mlq_store *st, const struct mlq_acct_query *q,
                          struct mlq_acctrow **out, uint32_t *n, struct mlq_err *err);
/* The same on a read-only connection of its own to the database file at
 * path, for a thread other than the loop's (acctrun.h). */
int mlq_store_acct_report_file(const char *path, const struct mlq_acct_query *q,
                               struct mlq_acctrow **out, uint32_t *n, struct mlq_err *err);

/* ---- gang parts (storegang.c) ----------------------------------------- */

/* Inserts or replaces a part's row. */
int mlq_store_part_save(struct mlq_store *st, const struct mlq_store_part *p, struct mlq_err *err);
/* Loads one part by its part id; MLQ_ENOTFOUND when absent. Free with
 * mlq_store_attempt_free(&p->a). */
int mlq_store_part_get(struct mlq_store *st, const char *part_id, struct mlq_store_part *out,
                       struct mlq_err *err);
/* Calls fn for every part of the attempt, in rank order. */
typedef int (*mlq_store_part_fn)(const struct mlq_store_part *p, void *ctx);
int mlq_store_each_part(struct mlq_store *st, const char *attempt_id, mlq_store_part_fn fn,
                        void *ctx, struct mlq_err *err);

#endif
