/* storeschema: the schema of the scheduler's database as the list of its
 * migration steps. Step i takes a database from user_version i to i + 1 and
 * sets that version itself; store.c runs each inside one transaction. Never
 * edit a released step: add a new one (and its undo in the hand-made old
 * databases of the store tests). */
#include "storeschema.h"

#include <stddef.h>

#include "store.h"

/* migrations[i] upgrades user_version i to i + 1. */
static const char *const migrations[] = {
    /* v1: jobs, attempts, workers, append-only events. */
    "CREATE TABLE jobs ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " seq INTEGER UNIQUE NOT NULL," /* submit order; the UNIQUE index serves ORDER BY seq */
    " name TEXT, owner TEXT, state INTEGER NOT NULL, reason TEXT,"
    " spec BLOB NOT NULL," /* mlq_proto_jobspec_pack(); the columns below copy it for queries */
    " cpus_m INTEGER NOT NULL, mem INTEGER NOT NULL, gpus INTEGER NOT NULL,"
    " workdir TEXT, argv0 TEXT,"
    " submit_ms INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL, node_failures INTEGER NOT NULL,"
    " current_attempt TEXT," /* NULL when none */
    " exit_code INTEGER NOT NULL, signal INTEGER NOT NULL);"
    "CREATE INDEX jobs_state ON jobs(state);"
    "CREATE TABLE attempts ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " job_id TEXT NOT NULL REFERENCES jobs(id),"
    " num INTEGER NOT NULL, worker TEXT NOT NULL, state INTEGER NOT NULL,"
    " gpu_ids TEXT, assigned_ms INTEGER NOT NULL, start_ms INTEGER NOT NULL,"
    " end_ms INTEGER NOT NULL, exit_code INTEGER NOT NULL, signal INTEGER NOT NULL,"
    " detail TEXT);"
    "CREATE INDEX attempts_state ON attempts(state);"
    "CREATE UNIQUE INDEX attempts_job ON attempts(job_id, num);"
    "CREATE TABLE workers ("
    " name TEXT PRIMARY KEY NOT NULL,"
    " cpus_m INTEGER NOT NULL, mem INTEGER NOT NULL, gpus INTEGER NOT NULL,"
    " first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL);"
    "CREATE TABLE events ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL,"
    " kind TEXT NOT NULL, job_id TEXT, attempt_id TEXT, worker TEXT,"
    " from_state TEXT, to_state TEXT, detail TEXT);"
    "CREATE INDEX events_job ON events(job_id);"
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "PRAGMA user_version = 1;",
    /* v2: a PENDING job waiting for its retry backoff or for a lost
     * worker's old run to be surely dead. Retries and time limits live in the
     * spec blob, whose new keys are optional, so old rows read as "none". */
    "ALTER TABLE jobs ADD COLUMN not_before_ms INTEGER NOT NULL DEFAULT 0;"
    "PRAGMA user_version = 2;",
    /* v3: worker pools and admin drains, which must outlive a
     * scheduler restart; an index on attempts.end_ms so that fair share reads
     * only recent attempts. Priority, pool and requirements of a job live in
     * its spec blob (optional keys again). */
    "ALTER TABLE workers ADD COLUMN pool TEXT NOT NULL DEFAULT 'default';"
    "ALTER TABLE workers ADD COLUMN drained INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE workers ADD COLUMN drain_reason TEXT;"
    "CREATE INDEX attempts_end ON attempts(end_ms);"
    "PRAGMA user_version = 3;",
    /* v4: job arrays (a task is a job row naming its array),
     * idempotency keys, cron schedules and the jobs they submitted.
     * Dependencies live in the spec blob (optional keys again). */
    "ALTER TABLE jobs ADD COLUMN array_id TEXT;" /* NULL unless a task */
    "ALTER TABLE jobs ADD COLUMN array_index INTEGER;"
    "CREATE INDEX jobs_array ON jobs(array_id, array_index);"
    "CREATE TABLE arrays ("
    " id TEXT PRIMARY KEY NOT NULL, name TEXT, owner TEXT,"
    " spec BLOB NOT NULL," /* as submitted: spec.array holds the index spec */
    " size INTEGER NOT NULL, max_running INTEGER NOT NULL, submit_ms INTEGER NOT NULL);"
    "CREATE TABLE idempotency ("
    " owner TEXT NOT NULL, key TEXT NOT NULL, id TEXT NOT NULL, created_ms INTEGER NOT NULL,"
    " PRIMARY KEY (owner, key));"
    "CREATE INDEX idempotency_created ON idempotency(created_ms);"
    "CREATE TABLE schedules ("
    " name TEXT PRIMARY KEY NOT NULL, cron TEXT NOT NULL, timezone TEXT,"
    " spec BLOB NOT NULL, concurrency INTEGER NOT NULL, catch_up_ms INTEGER NOT NULL,"
    " paused INTEGER NOT NULL, next_fire_ms INTEGER NOT NULL, last_fire_ms INTEGER NOT NULL,"
    " last_job TEXT, created_ms INTEGER NOT NULL);"
    "CREATE TABLE schedule_runs ("
    " name TEXT NOT NULL, fire_ms INTEGER NOT NULL, job_id TEXT NOT NULL);"
    "CREATE INDEX schedule_runs_name ON schedule_runs(name, fire_ms);"
    "PRAGMA user_version = 4;",
    /* v5: the keys the scheduler accepts (kind 'user' for users
     * and admins, 'worker' for workers; a key belongs to one principal),
     * and who caused each event (NULL: the scheduler itself). */
    "CREATE TABLE principals ("
    " kind TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL,"
    " key TEXT NOT NULL UNIQUE, added_ms INTEGER NOT NULL,"
    " PRIMARY KEY (kind, name));"
    "ALTER TABLE events ADD COLUMN actor TEXT;"
    "CREATE INDEX events_time ON events(time_ms);"
    "PRAGMA user_version = 5;",
    /* v6 (speed): fewer index pages written per job.
     * - jobs is rebuilt with its seq as the rowid: a job's row is reached
     *   directly, and the separate index on seq goes (migrations run with
     *   foreign keys off, checked after).
     * - Attempts and events of a job are indexed by the job's seq instead of
     *   its id: ids are random, so every row indexed by one lands on a random
     *   index page that the commit then writes whole; seqs grow, so the rows
     *   of the jobs in flight share the last few pages. Events without a job
     *   row (arrays) keep an index on the id.
     * - events loses AUTOINCREMENT (a sqlite_sequence write per event): rows
     *   are never deleted, so a plain rowid never reuses a seq either.
     * - Partial indexes: jobs_array holds only tasks, attempts_live only
     *   live attempts, attempts_end only ended ones (an attempt's start
     *   then leaves it alone). */
    "CREATE TABLE jobs_v6 ("
    " seq INTEGER PRIMARY KEY," /* submit order */
    " id TEXT NOT NULL UNIQUE,"
    " name TEXT, owner TEXT, state INTEGER NOT NULL, reason TEXT, spec BLOB NOT NULL,"
    " cpus_m INTEGER NOT NULL, mem INTEGER NOT NULL, gpus INTEGER NOT NULL,"
    " workdir TEXT, argv0 TEXT,"
    " submit_ms INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL, node_failures INTEGER NOT NULL, current_attempt TEXT,"
    " exit_code INTEGER NOT NULL, signal INTEGER NOT NULL,"
    " not_before_ms INTEGER NOT NULL DEFAULT 0, array_id TEXT, array_index INTEGER);"
    "INSERT INTO jobs_v6 (seq, id, name, owner, state, reason, spec, cpus_m, mem, gpus, workdir,"
    " argv0, submit_ms, start_ms, end_ms, attempts, node_failures, current_attempt, exit_code,"
    " signal, not_before_ms, array_id, array_index) SELECT seq, id, name, owner, state, reason,"
    " spec, cpus_m, mem, gpus, workdir, argv0, submit_ms, start_ms, end_ms, attempts,"
    " node_failures, current_attempt, exit_code, signal, not_before_ms, array_id, array_index"
    " FROM jobs;"
    "DROP TABLE jobs;"
    "ALTER TABLE jobs_v6 RENAME TO jobs;"
    "CREATE INDEX jobs_state ON jobs(state);"
    "ALTER TABLE attempts ADD COLUMN job_seq INTEGER;"
    "UPDATE attempts SET job_seq = (SELECT seq FROM jobs WHERE jobs.id = attempts.job_id);"
    "DROP INDEX attempts_job;"
    "CREATE UNIQUE INDEX attempts_job ON attempts(job_seq, num);"
    "DROP INDEX attempts_state;"
    "CREATE INDEX attempts_live ON attempts(state) WHERE state IN (0, 1);"
    "DROP INDEX attempts_end;"
    "CREATE INDEX attempts_end ON attempts(end_ms) WHERE end_ms > 0;"
    "CREATE INDEX jobs_array ON jobs(array_id, array_index) WHERE array_id IS NOT NULL;"
    "CREATE TABLE events_v6 ("
    " seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
    " kind TEXT NOT NULL, job_id TEXT, attempt_id TEXT, worker TEXT,"
    " from_state TEXT, to_state TEXT, detail TEXT, actor TEXT, job_seq INTEGER);"
    "INSERT INTO events_v6 SELECT seq, time_ms, kind, job_id, attempt_id, worker, from_state,"
    " to_state, detail, actor, (SELECT seq FROM jobs WHERE jobs.id = events.job_id) FROM events;"
    "DROP TABLE events;"
    "ALTER TABLE events_v6 RENAME TO events;"
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE INDEX events_job ON events(job_seq) WHERE job_seq IS NOT NULL;"
    "CREATE INDEX events_other ON events(job_id) WHERE job_seq IS NULL;"
    "CREATE INDEX events_time ON events(time_ms);"
    "PRAGMA user_version = 6;",
    /* v7: retention (scheduler/retention.c) deletes finished jobs with their
     * attempts and events, and old events, in small batches.
     * - events lose their delete trigger; the update trigger stays, so an
     *   event is still never changed, only dropped when old.
     * - attempts are rebuilt without their foreign key on jobs(id), which
     *   no index on the attempts side serves (every job deleted would scan
     *   all attempts), and with one on jobs(seq), served by attempts_job
     *   (NOT NULL: an attempt of no job is refused, as before).
     *   The columns keep their order.
     * - idempotency gets an index on the id a key names, so that retention
     *   finds at once whether a valid key still points at a job. */
    "CREATE TABLE attempts_v7 ("
    " id TEXT PRIMARY KEY NOT NULL, job_id TEXT NOT NULL,"
    " num INTEGER NOT NULL, worker TEXT NOT NULL, state INTEGER NOT NULL,"
    " gpu_ids TEXT, assigned_ms INTEGER NOT NULL, start_ms INTEGER NOT NULL,"
    " end_ms INTEGER NOT NULL, exit_code INTEGER NOT NULL, signal INTEGER NOT NULL,"
    " detail TEXT, job_seq INTEGER NOT NULL REFERENCES jobs(seq));"
    "INSERT INTO attempts_v7 SELECT id, job_id, num, worker, state, gpu_ids, assigned_ms,"
    " start_ms, end_ms, exit_code, signal, detail, job_seq FROM attempts;"
    "DROP TABLE attempts;"
    "ALTER TABLE attempts_v7 RENAME TO attempts;"
    "CREATE UNIQUE INDEX attempts_job ON attempts(job_seq, num);"
    "CREATE INDEX attempts_live ON attempts(state) WHERE state IN (0, 1);"
    "CREATE INDEX attempts_end ON attempts(end_ms) WHERE end_ms > 0;"
    "DROP TRIGGER events_no_delete;"
    "CREATE INDEX idempotency_id ON idempotency(id);"
    "PRAGMA user_version = 7;",
    /* 7 -> 8: bearer tokens of the HTTP API (storetoken.c). Only the
     * SHA-256 of a token is kept (hex); the token itself is shown once. */
    "CREATE TABLE tokens ("
    " name TEXT PRIMARY KEY NOT NULL, principal TEXT NOT NULL,"
    " role TEXT NOT NULL CHECK (role IN ('user', 'admin')),"
    " hash TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);"
    "PRAGMA user_version = 8;",
    /* 8 -> 9: what admins set on workers (storeworker.c): pool, labels and
     * offered resources that win over what the worker reports. Labels are
     * "k=v" lines joined by newlines (a label holds no whitespace). */
    "CREATE TABLE worker_overrides ("
    " worker TEXT PRIMARY KEY NOT NULL, pool TEXT,"
    " clear_labels INTEGER NOT NULL DEFAULT 0 CHECK (clear_labels IN (0, 1)),"
    " labels TEXT NOT NULL DEFAULT '',"
    " cpus_m INTEGER NOT NULL DEFAULT 0 CHECK (cpus_m >= 0),"
    " mem INTEGER NOT NULL DEFAULT 0 CHECK (mem >= 0),"
    " gpus INTEGER NOT NULL DEFAULT -1 CHECK (gpus >= -1), gpu_type TEXT);"
    "PRAGMA user_version = 9;",
    /* 9 -> 10: gangs (storegang.c). A gang's attempt keeps its row in
     * attempts; each node part has its own row here, its part_id being
     * the attempt id its worker knows. The gang's size is in the stored
     * spec ("nodes"). Parts go with their attempt (retention). */
    "CREATE TABLE attempt_parts ("
    " part_id TEXT PRIMARY KEY NOT NULL, attempt_id TEXT NOT NULL, job_id TEXT NOT NULL,"
    " rank INTEGER NOT NULL, worker TEXT NOT NULL, gpu_ids TEXT, state INTEGER NOT NULL,"
    " assigned_ms INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,"
    " exit_code INTEGER NOT NULL, signal INTEGER NOT NULL, detail TEXT,"
    " rdv_port INTEGER NOT NULL DEFAULT 0);"
    "CREATE UNIQUE INDEX attempt_parts_rank ON attempt_parts(attempt_id, rank);"
    "CREATE TRIGGER attempt_parts_gc AFTER DELETE ON attempts BEGIN"
    " DELETE FROM attempt_parts WHERE attempt_id = OLD.id; END;"
    "PRAGMA user_version = 10;",
    /* 10 -> 11: what each attempt used, as its worker measured it (NULL: not
     * measured; source says how: cgroup2, cgroup1 or proc). */
    "ALTER TABLE attempts ADD COLUMN usage_source TEXT;"
    "ALTER TABLE attempts ADD COLUMN usage_mem_peak INTEGER;"
    "ALTER TABLE attempts ADD COLUMN usage_cpu_us INTEGER;"
    "ALTER TABLE attempts ADD COLUMN usage_wall_ms INTEGER;"
    "ALTER TABLE attempts ADD COLUMN usage_gpu_mem_peak INTEGER;"
    "ALTER TABLE attempts ADD COLUMN usage_gpu_util INTEGER;"
    "PRAGMA user_version = 11;",
    /* 11 -> 12: jobs are looked up by name (a user's active job named so;
     * `mlq list --name`) without reading the whole table. */
    "CREATE INDEX jobs_name ON jobs(name, owner);"
    "PRAGMA user_version = 12;",
    /* 12 -> 13: each attempt's run manifest, as its worker recorded it
     * (storeattempt.c); goes with its attempt (retention). */
    "CREATE TABLE attempt_manifests (attempt_id TEXT PRIMARY KEY NOT NULL, json TEXT NOT NULL);"
    "CREATE TRIGGER attempt_manifests_gc AFTER DELETE ON attempts BEGIN"
    " DELETE FROM attempt_manifests WHERE attempt_id = OLD.id; END;"
    "PRAGMA user_version = 13;",
    /* 13 -> 14: the hash of the request an idempotency key was first used
     * with (NULL for keys stored before: any request matches them), so that
     * the key reused with another request is refused. */
    "ALTER TABLE idempotency ADD COLUMN request_hash TEXT;"
    "PRAGMA user_version = 14;",
    /* 14 -> 15: teams and usage accounting (storeteam.c, storeacct.c).
     * - teams an admin made; a user belongs to at most one (principals.team,
     *   NULL: none). Jobs keep the team their submitter had at submit time,
     *   an optional accounting project, their pool and GPU type as columns
     *   (copies of the spec's) for grouping reports (NULL in older rows).
     * - usage_daily holds what retention pruned, folded per day and group,
     *   so that reports over old periods stay right.
     * - jobs_submit lets a report pick jobs by submit time. */
    "CREATE TABLE teams (name TEXT PRIMARY KEY NOT NULL, created_ms INTEGER NOT NULL);"
    "ALTER TABLE principals ADD COLUMN team TEXT;"
    "ALTER TABLE jobs ADD COLUMN team TEXT;"
    "ALTER TABLE jobs ADD COLUMN project TEXT;"
    "ALTER TABLE jobs ADD COLUMN pool TEXT;"
    "ALTER TABLE jobs ADD COLUMN gpu_type TEXT;"
    "CREATE INDEX jobs_team_live ON jobs(team) WHERE state IN (0, 1, 2) AND team IS NOT NULL;"
    "CREATE TABLE usage_daily ("
    " day INTEGER NOT NULL, user TEXT NOT NULL, team TEXT NOT NULL, project TEXT NOT NULL,"
    " pool TEXT NOT NULL, gpu_type TEXT NOT NULL,"
    " succeeded INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,"
    " timed_out INTEGER NOT NULL DEFAULT 0, cancelled INTEGER NOT NULL DEFAULT 0,"
    " lost INTEGER NOT NULL DEFAULT 0, cpu_ms INTEGER NOT NULL DEFAULT 0,"
    " gpu_ms INTEGER NOT NULL DEFAULT 0, gpu_known_ms INTEGER NOT NULL DEFAULT 0,"
    " gpu_idle_ms INTEGER NOT NULL DEFAULT 0, wait_ms INTEGER NOT NULL DEFAULT 0,"
    " n_waits INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (day, user, team, project, pool, gpu_type));"
    "PRAGMA user_version = 15;",
    /* 15 -> 16: the GPU an attempt books, in hundredths per node (a share
     * of one GPU books its part, which for a share asked as GPU memory
     * depends on the GPU it got), so that usage reports, the daily fold and
     * fair share count a share as its fraction of a GPU. NULL in older
     * rows: their job's whole GPUs count. */
    "ALTER TABLE attempts ADD COLUMN gpu_h INTEGER;"
    "PRAGMA user_version = 16;",
    /* 16 -> 17: quotas per team and pool (storequota.c). Only what an admin
     * set is stored: the use figures are derived from the live jobs at
     * start-up, so that a crash cannot leave them wrong. -1 = not limited. */
    "CREATE TABLE quotas (team TEXT NOT NULL, pool TEXT NOT NULL,"
    " gpus_h INTEGER NOT NULL, cpus_m INTEGER NOT NULL, mem INTEGER NOT NULL,"
    " borrow_gpus_h INTEGER NOT NULL, borrow_cpus_m INTEGER NOT NULL,"
    " borrow_mem INTEGER NOT NULL, user_max_running INTEGER NOT NULL,"
    " user_max_gpus_h INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    " gpu_types TEXT," /* caps per GPU type, "h100:800,a100:400"; NULL: none */
    " PRIMARY KEY (team, pool));"
    "PRAGMA user_version = 17;",
    /* 17 -> 18: whether a team's higher-priority jobs may preempt its
     * lower-priority ones (preempt.h); off unless an admin turns it on. */
    "ALTER TABLE teams ADD COLUMN preempt_within INTEGER NOT NULL DEFAULT 0;"
    "PRAGMA user_version = 18;",
    /* 18 -> 19: log streams uploaded with no bytes, 1 << stream (logs_empty
     * in storeattempt.c), kept here rather than as empty files. */
    "ALTER TABLE attempts ADD COLUMN logs_empty INTEGER NOT NULL DEFAULT 0;"
    "PRAGMA user_version = 19;",
    /* 19 -> 20: environments many jobs share (storeenv.c): a batch's
     * environment is stored once and each of its jobs names it (env_id,
     * NULL: the job's spec carries its own). refs counts the job rows that
     * name a row; retention deletes it with its last job (its id may then
     * be handed out again: sharedenv.h). No index on env_id: nothing looks
     * jobs up by it. */
    "CREATE TABLE envs (id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE,"
    " env BLOB NOT NULL, refs INTEGER NOT NULL);"
    "ALTER TABLE jobs ADD COLUMN env_id INTEGER;"
    "PRAGMA user_version = 20;",
    /* 20 -> 21: jobs_team_live says "live" as state <= 2. SQLite evaluates
     * a partial index's "state IN (0, 1, 2)" through a temporary table it
     * builds twice in every UPDATE of a job (old and new row) and once per
     * INSERT: half of a job save's time. The two spellings select the same
     * rows (a state is never negative). */
    "DROP INDEX jobs_team_live;"
    "CREATE INDEX jobs_team_live ON jobs(team) WHERE state <= 2 AND team IS NOT NULL;"
    "PRAGMA user_version = 21;",
    /* 21 -> 22: the jobs of one submit_many share one "submit" event, a
     * row (job_id, job_seq NULL) naming their seqs batch_first..batch_last;
     * events_batch finds the row covering a job's seq (storeevent.c). */
    "ALTER TABLE events ADD COLUMN batch_first INTEGER;"
    "ALTER TABLE events ADD COLUMN batch_last INTEGER;"
    "CREATE INDEX events_batch ON events(batch_last) WHERE batch_last IS NOT NULL;"
    "PRAGMA user_version = 22;",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == MLQ_STORE_SCHEMA_VERSION,
               "one migration step per schema version");

const char *mlq_storeschema_step(int ver)
{
    if (ver < 0 || ver >= MLQ_STORE_SCHEMA_VERSION)
        return NULL;
    return migrations[ver];
}
