/* fixture: see fixture.h. Plain SQL on a connection of its own: the
 * store's statements are written for the current schema, these rows for
 * an older one. Times are relative to now, so that retention (30 days by
 * default) keeps every finished job when a scheduler opens the file. */
#include "fixture.h"

#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "proto.h"
#include "store.h"

#define KEY_ALICE "raj>LODIwg27-AAQ%{e]RoL0:?#QEUIHb29}&e*G"
#define KEY_WOLD  "nB[I@b4U6Ywy63oW?1l]bQm^*uRc-2yTUV2j@my7"

struct fx_job {
    const char *id;
    int seq;
    const char *name;
    int state;     /* enum mlq_job_state */
    int attempts;  /* rows in attempts */
    int att_state; /* enum mlq_attempt_state of each */
    int exit_code; /* of the job and of each attempt */
    int min_ver;   /* first schema version with this row */
    int array_idx; /* -1: not a task of FX_ARRAY */
};

static const struct fx_job jobs[] = {
    {FX_OK, 1, "ok", MLQ_JOB_SUCCEEDED, 1, MLQ_ATT_SUCCEEDED, 0, 1, -1},
    {FX_FAILED, 2, "failed", MLQ_JOB_FAILED, 2, MLQ_ATT_FAILED, 3, 1, -1},
    {FX_PENDING, 3, "pending", MLQ_JOB_PENDING, 0, 0, -1, 1, -1},
    {FX_RUNNING, 4, "running", MLQ_JOB_RUNNING, 1, MLQ_ATT_RUNNING, -1, 1, -1},
    {FX_CANCELLED, 5, "cancelled", MLQ_JOB_CANCELLED, 0, 0, -1, 1, -1},
    {FX_TASK0, 6, "sweep", MLQ_JOB_SUCCEEDED, 1, MLQ_ATT_SUCCEEDED, 0, 4, 0},
    {FX_TASK1, 7, "sweep", MLQ_JOB_PENDING, 0, 0, -1, 4, 1},
};

struct fx {
    sqlite3 *db;
    int ver;
    int64_t now;
    struct mlq_err *err;
};

static int fx_fail(struct fx *f, const char *what)
{
    return mlq_err_set(f->err, MLQ_EDB, "fixture v%d: %s: %s", f->ver, what, sqlite3_errmsg(f->db));
}

/* Runs sql (printf-style) with the spec of job name bound as ?1 when name
 * is set. */
static int run(struct fx *f, const char *spec_name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int run(struct fx *f, const char *spec_name, const char *fmt, ...)
{
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3_stmt *s = NULL;
    char *blob = NULL;
    size_t len = 0;
    if (sqlite3_prepare_v2(f->db, sql, -1, &s, NULL) != SQLITE_OK)
        return fx_fail(f, sql);
    int rc = 0;
    if (spec_name) {
        char *argv[] = {"python", "train.py"};
        struct mlq_jobspec spec = {.name = (char *)spec_name,
                                   .owner = "alice",
                                   .argv = argv,
                                   .argc = 2,
                                   .workdir = "/tmp",
                                   .cpus_m = 1000,
                                   .mem = 1 << 20};
        rc = mlq_proto_jobspec_pack(&spec, &blob, &len, f->err);
        if (rc == 0)
            sqlite3_bind_blob(s, 1, blob, (int)len, SQLITE_TRANSIENT);
    }
    if (rc == 0 && sqlite3_step(s) != SQLITE_DONE)
        rc = fx_fail(f, sql);
    sqlite3_finalize(s);
    free(blob);
    return rc;
}

static int add_job(struct fx *f, const struct fx_job *j)
{
    bool ended = mlq_job_state_terminal(j->state), started = j->attempts > 0;
    char cur[64] = "NULL", extra[160] = "", extra_cols[64] = "";
    if (started)
        snprintf(cur, sizeof cur, "'%.8s-%d%d%d%d%s'", j->id, j->attempts, j->attempts, j->attempts,
                 j->attempts, j->id + 13);
    if (f->ver >= 2) {
        strcat(extra_cols, ", not_before_ms");
        snprintf(extra, sizeof extra, ", %lld",
                 (long long)(j->state == MLQ_JOB_PENDING ? f->now + 3600000 : 0));
    }
    if (f->ver >= 4 && j->array_idx >= 0) {
        strcat(extra_cols, ", array_id, array_index");
        snprintf(extra + strlen(extra), sizeof extra - strlen(extra), ", '%s', %d", FX_ARRAY,
                 j->array_idx);
    }
    return run(f, j->name,
               "INSERT INTO jobs (id, seq, name, owner, state, reason, spec, cpus_m, mem, gpus,"
               " workdir, argv0, submit_ms, start_ms, end_ms, attempts, node_failures,"
               " current_attempt, exit_code, signal%s) VALUES ('%s', %d, '%s', 'alice', %d,"
               " %s, ?1, 1000, 1048576, 0, '/tmp', 'python', %lld, %lld, %lld, %d, 0, %s, %d,"
               " 0%s)",
               extra_cols, j->id, j->seq, j->name, j->state,
               j->state == MLQ_JOB_PENDING ? "'retry'" : "NULL", (long long)(f->now - 7200000),
               (long long)(started ? f->now - 3600000 : 0), (long long)(ended ? f->now - 60000 : 0),
               j->attempts, cur, j->exit_code, extra);
}

static int add_attempt(struct fx *f, const struct fx_job *j, int num)
{
    bool ended = mlq_attempt_state_terminal(j->att_state);
    char seqcol[16] = "", seqval[16] = "";
    if (f->ver >= 6) {
        snprintf(seqcol, sizeof seqcol, ", job_seq");
        snprintf(seqval, sizeof seqval, ", %d", j->seq);
    }
    return run(f, NULL,
               "INSERT INTO attempts (id, job_id, num, worker, state, gpu_ids, assigned_ms,"
               " start_ms, end_ms, exit_code, signal, detail%s) VALUES ('%.8s-%d%d%d%d%s', '%s',"
               " %d, 'w-old', %d, NULL, %lld, %lld, %lld, %d, 0, NULL%s)",
               seqcol, j->id, num, num, num, num, j->id + 13, j->id, num, j->att_state,
               (long long)(f->now - 3600000), (long long)(f->now - 3590000),
               (long long)(ended ? f->now - 60000 : 0), j->exit_code, seqval);
}

/* A submit event and, when it moved on, the job's last state change. */
static int add_events(struct fx *f, const struct fx_job *j)
{
    char cols[32] = "", vals[48] = "";
    if (f->ver >= 5) {
        strcat(cols, ", actor");
        strcat(vals, ", 'alice'");
    }
    if (f->ver >= 6) {
        strcat(cols, ", job_seq");
        snprintf(vals + strlen(vals), sizeof vals - strlen(vals), ", %d", j->seq);
    }
    int rc = run(f, NULL,
                 "INSERT INTO events (time_ms, kind, job_id, attempt_id, worker, from_state,"
                 " to_state, detail%s) VALUES (%lld, 'submit', '%s', NULL, NULL, NULL, 'PENDING',"
                 " NULL%s)",
                 cols, (long long)(f->now - 7200000), j->id, vals);
    if (rc == 0 && j->state != MLQ_JOB_PENDING)
        rc = run(f, NULL,
                 "INSERT INTO events (time_ms, kind, job_id, attempt_id, worker, from_state,"
                 " to_state, detail%s) VALUES (%lld, 'state', '%s', NULL, NULL, 'PENDING', '%s',"
                 " NULL%s)",
                 cols, (long long)(f->now - 60000), j->id, mlq_job_state_name(j->state), vals);
    return rc;
}

static int add_worker(struct fx *f)
{
    if (f->ver < 3)
        return run(f, NULL, "INSERT INTO workers VALUES ('w-old', 4000, 8589934592, 0, %lld, %lld)",
                   (long long)(f->now - 86400000), (long long)(f->now - 60000));
    return run(f, NULL,
               "INSERT INTO workers (name, cpus_m, mem, gpus, first_seen_ms, last_seen_ms, pool,"
               " drained, drain_reason) VALUES ('w-old', 4000, 8589934592, 0, %lld, %lld, 'gpu',"
               " 1, 'disk swap')",
               (long long)(f->now - 86400000), (long long)(f->now - 60000));
}

/* Arrays, schedules, idempotency keys (v4), principals (v5), tokens (v8). */
static int add_pipeline_and_keys(struct fx *f)
{
    long long now = (long long)f->now;
    int rc = 0;
    if (f->ver >= 4) {
        rc = run(f, "sweep", "INSERT INTO arrays VALUES ('%s', 'sweep', 'alice', ?1, 2, 0, %lld)",
                 FX_ARRAY, now - 7200000);
        if (rc == 0)
            rc = run(f, "nightly",
                     "INSERT INTO schedules VALUES ('nightly', '0 3 * * *', NULL, ?1, 0, 0, 1,"
                     " %lld, %lld, '%s', %lld)",
                     now + 86400000, now - 3600000, FX_OK, now - 86400000);
        if (rc == 0)
            rc = run(f, NULL, "INSERT INTO schedule_runs VALUES ('nightly', %lld, '%s')",
                     now - 3600000, FX_OK);
        if (rc == 0)
            rc = run(f, NULL,
                     "INSERT INTO idempotency (owner, key, id, created_ms)"
                     " VALUES ('alice', 'key-1', '%s', %lld)",
                     FX_OK, now - 7200000);
    }
    if (rc == 0 && f->ver >= 5)
        rc = run(f, NULL,
                 "INSERT INTO principals (kind, name, role, key, added_ms)"
                 " VALUES ('user', 'alice', 'user', '%s', %lld),"
                 " ('worker', 'w-old', 'worker', '%s', %lld)",
                 KEY_ALICE, now, KEY_WOLD, now);
    if (rc == 0 && f->ver >= 8)
        rc = run(f, NULL, "INSERT INTO tokens VALUES ('ci', 'alice', 'user', '%064d', %lld, 0)", 7,
                 now);
    return rc;
}

static int write_rows(struct fx *f)
{
    int rc = run(f, NULL, "BEGIN");
    for (size_t i = 0; rc == 0 && i < sizeof jobs / sizeof jobs[0]; i++) {
        if (jobs[i].min_ver > f->ver)
            continue;
        rc = add_job(f, &jobs[i]);
        for (int n = 1; rc == 0 && n <= jobs[i].attempts; n++)
            rc = add_attempt(f, &jobs[i], n);
        if (rc == 0)
            rc = add_events(f, &jobs[i]);
    }
    if (rc == 0)
        rc = add_worker(f);
    if (rc == 0)
        rc = add_pipeline_and_keys(f);
    if (rc == 0)
        rc = run(f, NULL, "COMMIT");
    return rc;
}

int mlq_fixture_write(const char *path, int version, struct mlq_err *err)
{
    int rc = mlq_store_migrate_to(path, version, err);
    if (rc < 0)
        return rc;
    struct fx f = {.ver = version, .now = mlq_clock_wall_ms(), .err = err};
    if (sqlite3_open_v2(path, &f.db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        rc = fx_fail(&f, "open");
    if (rc == 0)
        rc = write_rows(&f);
    sqlite3_close(f.db);
    return rc;
}

/* "a, b, c": the columns of table t that both main and src have. */
static int common_columns(struct fx *f, const char *t, char *out, size_t cap)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT group_concat(m.name, ', ') FROM pragma_table_info('%s', 'main') m"
             " JOIN pragma_table_info('%s', 'src') s ON s.name = m.name",
             t, t);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(f->db, sql, -1, &s, NULL) == SQLITE_OK ? 0 : fx_fail(f, sql);
    out[0] = '\0';
    if (rc == 0 && sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return rc;
}

static int copy_tables(struct fx *f)
{
    static const char *const tables[] = {"jobs",       "attempts",    "workers",   "events",
                                         "arrays",     "idempotency", "schedules", "schedule_runs",
                                         "principals", "tokens"};
    int rc = run(f, NULL, "BEGIN");
    for (size_t i = 0; rc == 0 && i < sizeof tables / sizeof tables[0]; i++) {
        char cols[1024];
        rc = common_columns(f, tables[i], cols, sizeof cols);
        if (rc == 0 && cols[0])
            rc = run(f, NULL, "INSERT INTO main.%s (%s) SELECT %s FROM src.%s", tables[i], cols,
                     cols, tables[i]);
    }
    if (rc == 0)
        rc = run(f, NULL, "COMMIT");
    return rc;
}

int mlq_fixture_downgrade(const char *src, const char *dst, int version, struct mlq_err *err)
{
    int rc = mlq_store_migrate_to(dst, version, err);
    if (rc < 0)
        return rc;
    struct fx f = {.ver = version, .err = err};
    if (sqlite3_open_v2(dst, &f.db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        rc = fx_fail(&f, "open");
    if (rc == 0)
        rc = run(&f, NULL, "ATTACH DATABASE '%s' AS src", src);
    if (rc == 0)
        rc = copy_tables(&f);
    sqlite3_close(f.db);
    return rc;
}
