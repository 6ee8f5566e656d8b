/* ha_commit: commit latency of the stores an mlq scheduler could keep its
 * state in. Manual benchmark, built and run by run.sh (see README.md); not
 * part of the build or of ctest.
 *
 * One commit is what one scheduler loop iteration writes for G submissions:
 * BEGIN; G x (insert a job row, insert its event row); COMMIT. The time of a
 * commit runs from BEGIN to COMMIT's answer, which is what a submitter waits
 * for before it gets its job id. Printed: percentiles of that time and the
 * jobs per second the whole run reached. With HA_COMMIT_RAW=FILE set, each
 * timed commit's latency (ns) is also appended to FILE, one per line, so
 * that runs interleaved with other backends can be pooled.
 *
 * Backends:
 *   sqlite-full    SQLite, WAL, synchronous=FULL (what mlq-scheduler does)
 *   sqlite-normal  SQLite, WAL, synchronous=NORMAL (a commit is not fsynced)
 *   pg             PostgreSQL through libpq, one round trip per statement
 *                  (a straight port of store.c's step-by-step calls)
 *   pg-pipeline    PostgreSQL, the whole transaction sent in one libpq
 *                  pipeline (one round trip per commit) */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SPEC_BYTES  300 /* about a packed job spec of a short command */
#define MAX_COMMITS 1000000
#define MAX_GROUP   10000

struct opts {
    const char *backend, *target;
    long commits, group, warmup;
};

struct row {
    int64_t seq, now_ms;
    char id[37];
    unsigned char spec[SPEC_BYTES];
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A random UUID-shaped id: random ids land on random index pages, as
 * mlq's job ids do. */
static void next_row(struct row *r)
{
    static const char hex[] = "0123456789abcdef";
    r->seq++;
    r->now_ms = wall_ms();
    for (int i = 0; i < 36; i++)
        r->id[i] = (i == 8 || i == 13 || i == 18 || i == 23) ? '-' : hex[rand() & 15];
    r->id[36] = '\0';
    for (int i = 0; i < SPEC_BYTES; i++)
        r->spec[i] = (unsigned char)rand();
}

/* ---- SQLite ----------------------------------------------------------- */

struct lite {
    sqlite3 *db;
    sqlite3_stmt *begin, *commit, *job, *event;
};

static int lite_fail(struct lite *l, const char *what)
{
    fprintf(stderr, "ha_commit: sqlite: %s: %s\n", what, sqlite3_errmsg(l->db));
    return -1;
}

static int lite_open(struct lite *l, const char *path, int full)
{
    if (sqlite3_open(path, &l->db) != SQLITE_OK)
        return lite_fail(l, "open");
    char sql[512];
    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode = WAL; PRAGMA synchronous = %s; PRAGMA cache_size = -65536;"
             "DROP TABLE IF EXISTS events; DROP TABLE IF EXISTS jobs;"
             "CREATE TABLE jobs (seq INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL,"
             " state INTEGER NOT NULL, spec BLOB NOT NULL, submit_ms INTEGER NOT NULL);"
             "CREATE TABLE events (seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
             " kind TEXT NOT NULL, job_seq INTEGER, detail TEXT);",
             full ? "FULL" : "NORMAL");
    if (sqlite3_exec(l->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return lite_fail(l, "schema");
    if (sqlite3_prepare_v2(l->db, "BEGIN IMMEDIATE", -1, &l->begin, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(l->db, "COMMIT", -1, &l->commit, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(l->db, "INSERT INTO jobs VALUES (?1, ?2, 0, ?3, ?4)", -1, &l->job,
                           NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(l->db,
                           "INSERT INTO events (time_ms, kind, job_seq) VALUES (?1, 'submit', ?2)",
                           -1, &l->event, NULL) != SQLITE_OK)
        return lite_fail(l, "prepare");
    return 0;
}

static int lite_step(struct lite *l, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : lite_fail(l, what);
}

static int lite_commit(struct lite *l, struct row *r, long group)
{
    if (lite_step(l, l->begin, "begin") < 0)
        return -1;
    for (long i = 0; i < group; i++) {
        next_row(r);
        sqlite3_bind_int64(l->job, 1, r->seq);
        sqlite3_bind_text(l->job, 2, r->id, -1, SQLITE_STATIC);
        sqlite3_bind_blob(l->job, 3, r->spec, SPEC_BYTES, SQLITE_STATIC);
        sqlite3_bind_int64(l->job, 4, r->now_ms);
        sqlite3_bind_int64(l->event, 1, r->now_ms);
        sqlite3_bind_int64(l->event, 2, r->seq);
        if (lite_step(l, l->job, "insert job") < 0 || lite_step(l, l->event, "insert event") < 0)
            return -1;
    }
    return lite_step(l, l->commit, "commit");
}

static void lite_close(struct lite *l)
{
    sqlite3_finalize(l->begin);
    sqlite3_finalize(l->commit);
    sqlite3_finalize(l->job);
    sqlite3_finalize(l->event);
    sqlite3_close(l->db);
}

/* ---- PostgreSQL ------------------------------------------------------- */

static int pg_ok(PGconn *c, PGresult *res, const char *what)
{
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        fprintf(stderr, "ha_commit: postgres: %s: %s", what, PQerrorMessage(c));
    PQclear(res);
    return ok ? 0 : -1;
}

static int pg_open(PGconn **cp, const char *conninfo)
{
    PGconn *c = *cp = PQconnectdb(conninfo);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "ha_commit: postgres: connect: %s", PQerrorMessage(c));
        return -1;
    }
    if (pg_ok(c,
              PQexec(c, "DROP TABLE IF EXISTS events; DROP TABLE IF EXISTS jobs;"
                        "CREATE TABLE jobs (seq BIGINT PRIMARY KEY, id TEXT UNIQUE NOT NULL,"
                        " state INT NOT NULL, spec BYTEA NOT NULL, submit_ms BIGINT NOT NULL);"
                        "CREATE TABLE events (seq BIGSERIAL PRIMARY KEY, time_ms BIGINT NOT NULL,"
                        " kind TEXT NOT NULL, job_seq BIGINT, detail TEXT);"),
              "schema") < 0)
        return -1;
    PGresult *show = PQexec(c, "SHOW synchronous_commit");
    if (PQresultStatus(show) == PGRES_TUPLES_OK)
        fprintf(stderr, "# synchronous_commit = %s\n", PQgetvalue(show, 0, 0));
    PQclear(show);
    if (pg_ok(c, PQprepare(c, "job", "INSERT INTO jobs VALUES ($1, $2, 0, $3, $4)", 4, NULL),
              "prepare") < 0 ||
        pg_ok(c,
              PQprepare(c, "event",
                        "INSERT INTO events (time_ms, kind, job_seq) VALUES ($1, 'submit', $2)", 2,
                        NULL),
              "prepare") < 0)
        return -1;
    return 0;
}

/* Parameters of one row: text for numbers, binary for the spec. */
struct pg_params {
    char seq[24], ms[24];
    const char *job_v[4], *event_v[2];
    int job_len[4], job_fmt[4];
};

static void pg_bind(struct pg_params *p, const struct row *r)
{
    snprintf(p->seq, sizeof p->seq, "%" PRId64, r->seq);
    snprintf(p->ms, sizeof p->ms, "%" PRId64, r->now_ms);
    p->job_v[0] = p->seq;
    p->job_v[1] = r->id;
    p->job_v[2] = (const char *)r->spec;
    p->job_v[3] = p->ms;
    memset(p->job_len, 0, sizeof p->job_len);
    memset(p->job_fmt, 0, sizeof p->job_fmt);
    p->job_len[2] = SPEC_BYTES;
    p->job_fmt[2] = 1;
    p->event_v[0] = p->ms;
    p->event_v[1] = p->seq;
}

static int pg_commit_seq(PGconn *c, struct row *r, long group)
{
    struct pg_params p;
    if (pg_ok(c, PQexec(c, "BEGIN"), "begin") < 0)
        return -1;
    for (long i = 0; i < group; i++) {
        next_row(r);
        pg_bind(&p, r);
        if (pg_ok(c, PQexecPrepared(c, "job", 4, p.job_v, p.job_len, p.job_fmt, 0), "job") < 0 ||
            pg_ok(c, PQexecPrepared(c, "event", 2, p.event_v, NULL, NULL, 0), "event") < 0)
            return -1;
    }
    return pg_ok(c, PQexec(c, "COMMIT"), "commit");
}

/* Reads every result up to the pipeline's sync; -1 if any failed. */
static int pg_drain(PGconn *c)
{
    int rc = 0;
    for (;;) {
        PGresult *res = PQgetResult(c);
        if (!res)
            continue; /* end of one query's results */
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(res);
            return rc;
        }
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
            if (rc == 0)
                fprintf(stderr, "ha_commit: postgres: pipeline: %s", PQerrorMessage(c));
            rc = -1;
        }
        PQclear(res);
    }
}

static int pg_commit_pipe(PGconn *c, struct row *r, long group)
{
    struct pg_params p;
    int ok = PQenterPipelineMode(c) && PQsendQueryParams(c, "BEGIN", 0, NULL, NULL, NULL, NULL, 0);
    for (long i = 0; ok && i < group; i++) {
        next_row(r);
        pg_bind(&p, r);
        ok = PQsendQueryPrepared(c, "job", 4, p.job_v, p.job_len, p.job_fmt, 0) &&
             PQsendQueryPrepared(c, "event", 2, p.event_v, NULL, NULL, 0);
    }
    ok = ok && PQsendQueryParams(c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) && PQpipelineSync(c);
    if (!ok) {
        fprintf(stderr, "ha_commit: postgres: sending: %s", PQerrorMessage(c));
        return -1;
    }
    int rc = pg_drain(c);
    return PQexitPipelineMode(c) && rc == 0 ? 0 : -1;
}

/* ---- the run ---------------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static double pct_ms(const int64_t *v, long n, double p)
{
    long k = (long)(p / 100.0 * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    return (double)v[k - 1] / 1e6;
}

/* Appends the latencies to $HA_COMMIT_RAW, when set. */
static int dump_raw(const int64_t *lat, long n)
{
    const char *path = getenv("HA_COMMIT_RAW");
    if (!path || !*path)
        return 0;
    FILE *f = fopen(path, "a");
    if (!f) {
        perror(path);
        return -1;
    }
    for (long i = 0; i < n; i++)
        fprintf(f, "%" PRId64 "\n", lat[i]);
    return fclose(f) == 0 ? 0 : -1;
}

static void report(const struct opts *o, int64_t *lat, int64_t total_ns)
{
    qsort(lat, (size_t)o->commits, sizeof *lat, cmp_i64);
    double sum = 0;
    for (long i = 0; i < o->commits; i++)
        sum += (double)lat[i];
    printf("%s group=%ld commits=%ld p50=%.3f ms p90=%.3f ms p99=%.3f ms max=%.3f ms "
           "mean=%.3f ms jobs/s=%.0f\n",
           o->backend, o->group, o->commits, pct_ms(lat, o->commits, 50),
           pct_ms(lat, o->commits, 90), pct_ms(lat, o->commits, 99),
           (double)lat[o->commits - 1] / 1e6, sum / (double)o->commits / 1e6,
           (double)(o->commits * o->group) / ((double)total_ns / 1e9));
}

static int usage(void)
{
    fprintf(stderr, "usage: ha_commit BACKEND TARGET [COMMITS [GROUP [WARMUP]]]\n"
                    "  BACKEND  sqlite-full | sqlite-normal | pg | pg-pipeline\n"
                    "  TARGET   database file (sqlite) or libpq conninfo (pg)\n"
                    "  COMMITS  timed commits (default 2000), GROUP jobs per commit\n"
                    "           (default 1), WARMUP untimed commits first (default 50)\n");
    return 2;
}

static int parse(int argc, char **argv, struct opts *o)
{
    if (argc < 3 || argc > 6)
        return -1;
    o->backend = argv[1];
    o->target = argv[2];
    o->commits = argc > 3 ? strtol(argv[3], NULL, 10) : 2000;
    o->group = argc > 4 ? strtol(argv[4], NULL, 10) : 1;
    o->warmup = argc > 5 ? strtol(argv[5], NULL, 10) : 50;
    if (o->commits < 1 || o->commits > MAX_COMMITS || o->group < 1 || o->group > MAX_GROUP ||
        o->warmup < 0 || o->warmup > MAX_COMMITS)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    if (parse(argc, argv, &o) < 0)
        return usage();
    int lite = strncmp(o.backend, "sqlite-", 7) == 0;
    int full = strcmp(o.backend, "sqlite-full") == 0;
    int pipe = strcmp(o.backend, "pg-pipeline") == 0;
    if (!lite && !pipe && strcmp(o.backend, "pg") != 0)
        return usage();
    if (lite && !full && strcmp(o.backend, "sqlite-normal") != 0)
        return usage();
    struct lite l = {0};
    PGconn *pg = NULL;
    int rc = lite ? lite_open(&l, o.target, full) : pg_open(&pg, o.target);
    int64_t *lat = calloc((size_t)o.commits, sizeof *lat);
    struct row r = {0};
    srand(1);
    int64_t t0 = 0;
    for (long i = 0; rc == 0 && lat && i < o.warmup + o.commits; i++) {
        if (i == o.warmup)
            t0 = now_ns();
        int64_t s = now_ns();
        rc = lite   ? lite_commit(&l, &r, o.group)
             : pipe ? pg_commit_pipe(pg, &r, o.group)
                    : pg_commit_seq(pg, &r, o.group);
        if (i >= o.warmup)
            lat[i - o.warmup] = now_ns() - s;
    }
    if (rc == 0 && lat) {
        int64_t total = now_ns() - t0;
        rc = dump_raw(lat, o.commits);
        report(&o, lat, total);
    }
    free(lat);
    if (lite)
        lite_close(&l);
    else
        PQfinish(pg);
    return rc == 0 && lat ? 0 : 1;
}
