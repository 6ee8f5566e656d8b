/* store, retention (schema v7): which finished jobs may go (old enough,
 * no live attempt, no valid idempotency key on them or their array, never
 * the newest job, never an active one), deleting one with its attempts and
 * events, array rows once empty, shared environments with their last job,
 * old events in bounded batches keeping the
 * newest, a submit batch's one event shown per job and deleted with its
 * last job; and the migration of a v6 database, rows kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_fixture.h"

#define OLD    1000000LL   /* ended long ago */
#define RECENT 900000000LL /* ended after the cutoff */
#define CUTOFF 500000000LL /* jobs that ended before this may go */
#define IDEM   400000000LL /* keys created after this are valid */

static char *k_argv[] = {"/bin/true"};

static int setup(void **state)
{
    return store_fx_open(state, "retain", sizeof(struct store_fx));
}

/* Job n in state with end_ms, and one attempt in att_state (unless < 0),
 * naming shared environment env_id (0: none). */
static void add_job_env(struct store_fx *f, unsigned n, enum mlq_job_state state, int64_t end_ms,
                        int att_state, const char *array_id, int64_t env_id)
{
    struct mlq_store_job j;
    struct mlq_err err = {0};
    memset(&j, 0, sizeof j);
    snprintf(j.id, sizeof j.id, "%08x-0000-4000-8000-%012x", n, n);
    j.spec.owner = "alice";
    j.spec.argv = k_argv;
    j.spec.argc = 1;
    j.spec.cpus_m = 1000;
    j.spec.mem = 1 << 20;
    j.exit_code = -1;
    j.submit_ms = 1;
    j.env_id = env_id;
    if (array_id) {
        j.task_of = (char *)array_id; /* borrowed: j is never freed */
        j.array_index = (int32_t)n;
    }
    assert_int_equal(mlq_store_job_insert(f->st, &j, &err), 0);
    if (att_state >= 0) {
        struct mlq_store_attempt a;
        memset(&a, 0, sizeof a);
        snprintf(a.id, sizeof a.id, "%08x-1111-4000-8000-%012x", n, n);
        snprintf(a.job_id, sizeof a.job_id, "%s", j.id);
        a.num = 1;
        snprintf(a.worker, sizeof a.worker, "w1");
        a.state = att_state;
        a.assigned_ms = 1;
        a.end_ms = att_state > MLQ_ATT_RUNNING ? end_ms : 0;
        a.exit_code = -1;
        assert_int_equal(mlq_store_attempt_save(f->st, &a, -1, true, &err), 0);
    }
    j.state = state;
    j.end_ms = end_ms;
    assert_int_equal(mlq_store_job_save(f->st, &j, MLQ_JOB_PENDING, &err), 0);
}

static void add_job(struct store_fx *f, unsigned n, enum mlq_job_state state, int64_t end_ms,
                    int att_state, const char *array_id)
{
    add_job_env(f, n, state, end_ms, att_state, array_id, 0);
}

static void candidates(struct store_fx *f, int64_t upto, struct mlq_store_old_job *out, size_t max,
                       size_t *n)
{
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_retain_candidates(f->st, 0, upto, CUTOFF, IDEM, out, max, n, &err),
                     0);
}

static void got_attempt(void *ctx, const char *id)
{
    snprintf(ctx, MLQ_ID_LEN + 1, "%s", id);
}

static void test_which_jobs_go(void **state)
{
    struct store_fx *f = *state;
    struct mlq_err err = {0};
    add_job(f, 1, MLQ_JOB_SUCCEEDED, OLD, MLQ_ATT_SUCCEEDED, NULL); /* goes */
    add_job(f, 2, MLQ_JOB_SUCCEEDED, RECENT, MLQ_ATT_SUCCEEDED, NULL);
    add_job(f, 3, MLQ_JOB_CANCELLED, OLD, MLQ_ATT_RUNNING, NULL); /* still running */
    add_job(f, 4, MLQ_JOB_FAILED, OLD, MLQ_ATT_FAILED, NULL);     /* valid key */
    add_job(f, 5, MLQ_JOB_PENDING, 0, -1, NULL);
    add_job(f, 6, MLQ_JOB_RUNNING, OLD, MLQ_ATT_RUNNING, NULL);
    add_job(f, 7, MLQ_JOB_CANCELLED, OLD, -1, NULL);                /* never ran: goes */
    add_job(f, 8, MLQ_JOB_FAILED, OLD, MLQ_ATT_LOST, NULL);         /* key expired: goes */
    add_job(f, 9, MLQ_JOB_SUCCEEDED, OLD, MLQ_ATT_SUCCEEDED, NULL); /* the newest */
    assert_int_equal(mlq_store_idem_put(f->st, "alice", "k4",
                                        "00000004-0000-4000-8000-000000000004", NULL, IDEM + 1,
                                        &err),
                     0);
    assert_int_equal(mlq_store_idem_put(f->st, "alice", "k8",
                                        "00000008-0000-4000-8000-000000000008", NULL, IDEM - 1,
                                        &err),
                     0);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);

    struct mlq_store_old_job out[16];
    size_t n;
    candidates(f, 100, out, 16, &n);
    assert_int_equal(n, 3);
    assert_string_equal(out[0].id, "00000001-0000-4000-8000-000000000001");
    assert_string_equal(out[1].id, "00000007-0000-4000-8000-000000000007");
    assert_string_equal(out[2].id, "00000008-0000-4000-8000-000000000008");
    assert_string_equal(out[0].array_id, "");
    /* bounded: the window and the limit */
    candidates(f, 6, out, 16, &n);
    assert_int_equal(n, 1);
    candidates(f, 100, out, 2, &n);
    assert_int_equal(n, 2);
    int64_t max = 0;
    assert_int_equal(mlq_store_retain_max_seq(f->st, &max, &err), 0);
    assert_int_equal(max, 9);

    /* run manifests: stored for attempts only, and they go with them */
    assert_int_equal(mlq_store_manifest_put(f->st, "00000001-1111-4000-8000-000000000001",
                                            "{\"argv\":[\"one\"]}", &err),
                     0);
    assert_int_equal(mlq_store_manifest_put(f->st, "00000002-1111-4000-8000-000000000002",
                                            "{\"argv\":[\"two\"]}", &err),
                     0);
    assert_int_equal(
        mlq_store_manifest_put(f->st, "0000000f-1111-4000-8000-00000000000f", "{}", &err),
        0); /* no such attempt: nothing kept */
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM attempt_manifests"), 2);
    char mid[MLQ_ID_LEN + 1];
    int32_t mnum = 0;
    char *mjson = NULL;
    assert_int_equal(mlq_store_manifest_get(f->st, "00000002-0000-4000-8000-000000000002", 0, mid,
                                            &mnum, &mjson, &err),
                     0);
    assert_string_equal(mjson, "{\"argv\":[\"two\"]}");
    assert_int_equal(mnum, 1);
    free(mjson);
    assert_int_equal(mlq_store_manifest_get(f->st, "00000002-0000-4000-8000-000000000002", 2, mid,
                                            &mnum, &mjson, &err),
                     MLQ_ENOTFOUND);
    assert_int_equal(mlq_store_manifest_get(f->st, "00000004-0000-4000-8000-000000000004", 0, mid,
                                            &mnum, &mjson, &err),
                     MLQ_ENOTFOUND); /* an attempt without a manifest */
    assert_non_null(strstr(err.msg, "no run manifest"));

    /* Deleting one takes its attempts and events along, nothing else. */
    long long events = store_fx_int(f->db, "SELECT count(*) FROM events");
    long long mine = store_fx_int(f->db, "SELECT count(*) FROM events WHERE job_seq = 1");
    assert_true(mine >= 2);
    char att[MLQ_ID_LEN + 1] = "";
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    assert_int_equal(mlq_store_job_delete(f->st, &out[0], got_attempt, att, &err), 0);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    assert_string_equal(att, "00000001-1111-4000-8000-000000000001");
    struct mlq_store_job row;
    assert_int_equal(mlq_store_job_get(f->st, out[0].id, &row, &err), MLQ_ENOTFOUND);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM attempts WHERE job_seq = 1"), 0);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM events"), events - mine);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM jobs"), 8);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM attempts"), 6);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM attempt_manifests"), 1);
    candidates(f, 100, out, 16, &n);
    assert_int_equal(n, 2);
}

static void delete_one(struct store_fx *f, const struct mlq_store_old_job *j)
{
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    assert_int_equal(mlq_store_job_delete(f->st, j, NULL, NULL, &err), 0);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
}

/* A shared environment (schema v20) stays while a job row names it and is
 * deleted with the last one; the same environment stored again later gets
 * a row again. */
static void test_env_goes_with_last_job(void **state)
{
    struct store_fx *f = *state;
    struct mlq_err err = {0};
    char *env[] = {"A=1", "B=2"};
    int64_t id = 0, refs = 0;
    assert_int_equal(mlq_store_env_put(f->st, env, 2, 2, &id, &err), 0);
    assert_true(id > 0);
    add_job_env(f, 1, MLQ_JOB_SUCCEEDED, OLD, MLQ_ATT_SUCCEEDED, NULL, id);
    add_job_env(f, 2, MLQ_JOB_FAILED, OLD, MLQ_ATT_FAILED, NULL, id);
    add_job(f, 3, MLQ_JOB_PENDING, 0, -1, NULL);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    struct mlq_store_old_job out[4];
    size_t n;
    candidates(f, 100, out, 4, &n);
    assert_int_equal(n, 2);
    assert_int_equal(out[0].env_id, id);
    delete_one(f, &out[0]);
    assert_int_equal(mlq_store_env_refs(f->st, id, &refs, &err), 0);
    assert_int_equal(refs, 1);
    char **got = NULL;
    uint32_t gotc = 0;
    assert_int_equal(mlq_store_env_get(f->st, id, &got, &gotc, &err), 0);
    assert_int_equal(gotc, 2);
    assert_string_equal(got[1], "B=2");
    for (uint32_t i = 0; i < gotc; i++)
        free(got[i]);
    free(got);
    delete_one(f, &out[1]);
    assert_int_equal(mlq_store_env_refs(f->st, id, &refs, &err), MLQ_ENOTFOUND);
    assert_int_equal(mlq_store_env_get(f->st, id, &got, &gotc, &err), MLQ_ENOTFOUND);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM envs"), 0);
    int64_t again = 0;
    assert_int_equal(mlq_store_env_put(f->st, env, 2, 1, &again, &err), 0);
    assert_true(again > 0);
    assert_int_equal(store_fx_int(f->db, "SELECT refs FROM envs"), 1);
}

/* The events of job n, newest last: their count, and each one's kind and
 * job id checked against want_kind[i] and n. */
static uint32_t job_events(struct store_fx *f, unsigned n, const char *const *want_kind)
{
    char id[MLQ_ID_LEN + 1];
    snprintf(id, sizeof id, "%08x-0000-4000-8000-%012x", n, n);
    struct mlq_eventinfo *ev = NULL;
    uint32_t got = 0;
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_events_list(f->st, id, 0, 0, &ev, &got, &err), 0);
    for (uint32_t i = 0; i < got; i++) {
        assert_string_equal(ev[i].kind, want_kind[i]);
        assert_string_equal(ev[i].job_id, id);
        assert_string_equal(ev[i].actor, "user:alice");
    }
    mlq_store_eventinfo_array_free(&ev, got);
    return got;
}

/* The job ids of the whole history's "submit" events, in order, into ids
 * (each its first 8 characters, "" for none). */
static uint32_t submit_events(struct store_fx *f, char ids[][9], uint32_t max)
{
    struct mlq_eventinfo *ev = NULL;
    uint32_t got = 0, k = 0;
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_events_list(f->st, NULL, 0, 0, &ev, &got, &err), 0);
    for (uint32_t i = 0; i < got && k < max; i++)
        if (strcmp(ev[i].kind, "submit") == 0)
            snprintf(ids[k++], 9, "%s", ev[i].job_id ? ev[i].job_id : "");
    mlq_store_eventinfo_array_free(&ev, got);
    return k;
}

/* A submit batch (schema v22) writes one "submit" row for its jobs; each
 * job's history and the whole history still show every job's submit,
 * with its actor; retention deletes the row with the batch's last job. */
static void test_batch_submit_event(void **state)
{
    struct store_fx *f = *state;
    struct mlq_err err = {0};
    static const char *const kinds[] = {"submit", "attempt", "state"};
    add_job(f, 1, MLQ_JOB_PENDING, 0, -1, NULL); /* before the batch: its own row */
    mlq_store_set_actor(f->st, "user:alice");
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    assert_int_equal(mlq_store_submit_batch_begin(f->st, 3, &err), 0);
    add_job(f, 2, MLQ_JOB_SUCCEEDED, OLD, MLQ_ATT_SUCCEEDED, NULL);
    add_job(f, 3, MLQ_JOB_FAILED, OLD, MLQ_ATT_FAILED, NULL);
    add_job(f, 4, MLQ_JOB_PENDING, 0, -1, NULL);
    assert_int_equal(mlq_store_submit_batch_end(f->st, 0, &err), 0);
    add_job(f, 5, MLQ_JOB_PENDING, 0, -1, NULL); /* after it: its own row again */
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM events WHERE kind = 'submit'"), 3);
    assert_int_equal(store_fx_int(f->db, "SELECT batch_last - batch_first FROM events"
                                         " WHERE batch_last IS NOT NULL"),
                     2);
    assert_int_equal(job_events(f, 2, kinds), 3);
    assert_int_equal(job_events(f, 3, kinds), 3);
    assert_int_equal(job_events(f, 4, kinds), 1);
    char ids[8][9];
    assert_int_equal(submit_events(f, ids, 8), 5);
    for (unsigned i = 0; i < 5; i++) {
        char want[9];
        snprintf(want, sizeof want, "%08x", i + 1);
        assert_string_equal(ids[i], want);
    }
    struct mlq_store_old_job out[4];
    size_t n;
    candidates(f, 100, out, 4, &n);
    assert_int_equal(n, 2);
    delete_one(f, &out[0]);
    delete_one(f, &out[1]);
    assert_int_equal(submit_events(f, ids, 8), 3); /* jobs 1, 4 and 5 */
    assert_string_equal(ids[1], "00000004");
    assert_int_equal(job_events(f, 4, kinds), 1);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM events WHERE batch_last > 0"), 1);
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    struct mlq_store_old_job last = {.seq = 4};
    snprintf(last.id, sizeof last.id, "%08x-0000-4000-8000-%012x", 4, 4);
    assert_int_equal(mlq_store_job_delete(f->st, &last, NULL, NULL, &err), 0);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM events WHERE batch_last > 0"), 0);
    assert_int_equal(submit_events(f, ids, 8), 2);
}

/* A batch is all of its jobs, in order: one inserted out of turn, or fewer
 * than it named, is a database error (the iteration rolls back). */
static void test_batch_refuses_gaps(void **state)
{
    struct store_fx *f = *state;
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_submit_batch_begin(f->st, 2, &err), MLQ_EINVAL); /* no tx */
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    assert_int_equal(mlq_store_submit_batch_begin(f->st, 2, &err), 0);
    add_job(f, 1, MLQ_JOB_PENDING, 0, -1, NULL);
    assert_int_equal(mlq_store_submit_batch_end(f->st, 0, &err), MLQ_EDB);
    assert_non_null(strstr(err.msg, "before all of its jobs"));
    assert_int_equal(mlq_store_submit_batch_begin(f->st, 1, &err), 0);
    int64_t seq = 0;
    assert_int_equal(mlq_store_job_reserve_seq(f->st, &seq, &err), 0); /* one out of turn */
    struct mlq_store_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.id, sizeof j.id, "%08x-0000-4000-8000-%012x", 9, 9);
    j.spec.argv = k_argv;
    j.spec.argc = 1;
    assert_int_equal(mlq_store_job_insert(f->st, &j, &err), MLQ_EDB);
    assert_int_equal(mlq_store_submit_batch_end(f->st, -1, &err), -1);
    mlq_store_rollback(f->st);
}

static void test_arrays(void **state)
{
    struct store_fx *f = *state;
    struct mlq_err err = {0};
    const char *arr = "aaaaaaaa-0000-4000-8000-00000000aaaa";
    store_fx_exec(f->db, "INSERT INTO arrays (id, spec, size, max_running, submit_ms) VALUES"
                         " ('aaaaaaaa-0000-4000-8000-00000000aaaa', x'80', 2, 0, 1)");
    add_job(f, 1, MLQ_JOB_SUCCEEDED, OLD, MLQ_ATT_SUCCEEDED, arr);
    add_job(f, 2, MLQ_JOB_PENDING, 0, -1, arr);
    add_job(f, 3, MLQ_JOB_SUCCEEDED, OLD, -1, NULL);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    bool live = false;
    assert_int_equal(mlq_store_array_live(f->st, arr, &live, &err), 0);
    assert_true(live);
    struct mlq_store_old_job out[4];
    size_t n;
    candidates(f, 100, out, 4, &n);
    assert_int_equal(n, 1); /* the store leaves the array check to the caller */
    assert_string_equal(out[0].array_id, arr);
    /* an array row goes only with its last task */
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    assert_int_equal(mlq_store_job_delete(f->st, &out[0], NULL, NULL, &err), 0);
    assert_int_equal(mlq_store_array_delete_if_empty(f->st, arr, &err), 0);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM arrays"), 1);
    store_fx_exec(f->db, "UPDATE jobs SET state = 3, end_ms = 1000000 WHERE array_id IS NOT NULL");
    assert_int_equal(mlq_store_array_live(f->st, arr, &live, &err), 0);
    assert_false(live);
    store_fx_exec(f->db, "DELETE FROM events WHERE job_seq = 2; DELETE FROM jobs WHERE seq = 2");
    assert_int_equal(mlq_store_array_delete_if_empty(f->st, arr, &err), 0);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM arrays"), 0);
    /* an idempotency key on the array protects its tasks */
    add_job(f, 4, MLQ_JOB_SUCCEEDED, OLD, -1, "bbbbbbbb-0000-4000-8000-00000000bbbb");
    add_job(f, 5, MLQ_JOB_SUCCEEDED, OLD, -1, NULL);
    assert_int_equal(mlq_store_idem_put(f->st, "alice", "k", "bbbbbbbb-0000-4000-8000-00000000bbbb",
                                        NULL, IDEM + 1, &err),
                     0);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    candidates(f, 100, out, 4, &n);
    assert_int_equal(n, 1);
    assert_int_equal(out[0].seq, 3);
}

static void test_old_events(void **state)
{
    struct store_fx *f = *state;
    struct mlq_err err = {0};
    store_fx_exec(f->db,
                  "INSERT INTO events (time_ms, kind) VALUES (50, 'e'), (100, 'a'), (200, 'b'),"
                  " (300, 'c'), (900, 'd')");
    int deleted = 0;
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    assert_int_equal(mlq_store_events_delete_old(f->st, 250, 2, &deleted, &err), 0);
    assert_int_equal(deleted, 2); /* the oldest two: 50 and 100 */
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM events WHERE time_ms IN (50, 100)"),
                     0);
    assert_int_equal(mlq_store_events_delete_old(f->st, 250, 2, &deleted, &err), 0);
    assert_int_equal(deleted, 1);
    /* the newest event stays even when old: its seq is never reused */
    assert_int_equal(mlq_store_events_delete_old(f->st, 100000, 100, &deleted, &err), 0);
    assert_int_equal(deleted, 1);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM events"), 1);
    assert_int_equal(store_fx_int(f->db, "SELECT time_ms FROM events"), 900);
    /* still never changed */
    assert_int_not_equal(sqlite3_exec(f->db, "UPDATE events SET kind = 'x'", NULL, NULL, NULL),
                         SQLITE_OK);
}

/* Step 14 undone: no request hash on idempotency keys. */
#define UNDO_V14 "ALTER TABLE idempotency DROP COLUMN request_hash; PRAGMA user_version = 13;"
/* Step 13 undone: no run manifests. */
#define UNDO_V13                                                                                   \
    "DROP TRIGGER attempt_manifests_gc; DROP TABLE attempt_manifests; PRAGMA user_version = 12;"

/* Step 9 undone: no usage columns on attempts. */
#define UNDO_V11                                                                                   \
    "ALTER TABLE attempts DROP COLUMN usage_source;"                                               \
    " ALTER TABLE attempts DROP COLUMN usage_mem_peak;"                                            \
    " ALTER TABLE attempts DROP COLUMN usage_cpu_us;"                                              \
    " ALTER TABLE attempts DROP COLUMN usage_wall_ms;"                                             \
    " ALTER TABLE attempts DROP COLUMN usage_gpu_mem_peak;"                                        \
    " ALTER TABLE attempts DROP COLUMN usage_gpu_util; PRAGMA user_version = 10;"

/* The v6 schema, made from the current one by undoing step 7. */
/* Takes a database back from version 9 to 8: no gang parts. */
#define UNDO_V10 "DROP TRIGGER attempt_parts_gc; DROP TABLE attempt_parts; PRAGMA user_version = 9;"

#define UNDO_V7                                                                                    \
    "DROP INDEX idempotency_id; CREATE TRIGGER events_no_delete BEFORE DELETE ON events"           \
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"                                   \
    " CREATE TABLE attempts_v6 (id TEXT PRIMARY KEY NOT NULL,"                                     \
    " job_id TEXT NOT NULL REFERENCES jobs(id), num INTEGER NOT NULL, worker TEXT NOT NULL,"       \
    " state INTEGER NOT NULL, gpu_ids TEXT, assigned_ms INTEGER NOT NULL,"                         \
    " start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, exit_code INTEGER NOT NULL,"             \
    " signal INTEGER NOT NULL, detail TEXT, job_seq INTEGER);"                                     \
    " INSERT INTO attempts_v6 SELECT * FROM attempts; DROP TABLE attempts;"                        \
    " ALTER TABLE attempts_v6 RENAME TO attempts;"                                                 \
    " CREATE UNIQUE INDEX attempts_job ON attempts(job_seq, num);"                                 \
    " CREATE INDEX attempts_live ON attempts(state) WHERE state IN (0, 1);"                        \
    " CREATE INDEX attempts_end ON attempts(end_ms) WHERE end_ms > 0; PRAGMA user_version = 6;"

static void test_migrate_v6(void **state)
{
    struct store_fx *f = *state;
    struct mlq_err err = {0};
    add_job(f, 1, MLQ_JOB_SUCCEEDED, OLD, MLQ_ATT_SUCCEEDED, NULL);
    add_job(f, 2, MLQ_JOB_RUNNING, 0, MLQ_ATT_RUNNING, NULL);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    long long events = store_fx_int(f->db, "SELECT count(*) FROM events");
    mlq_store_close(&f->st);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    store_fx_exec(db, "DROP INDEX events_batch; ALTER TABLE events DROP COLUMN batch_last;"
                      " ALTER TABLE events DROP COLUMN batch_first; PRAGMA user_version = 21;");
    store_fx_exec(db, "DROP INDEX jobs_team_live; CREATE INDEX jobs_team_live ON jobs(team)"
                      " WHERE state IN (0, 1, 2) AND team IS NOT NULL; PRAGMA user_version = 20;");
    store_fx_exec(db, "ALTER TABLE jobs DROP COLUMN env_id; DROP TABLE envs;"
                      " PRAGMA user_version = 19;");
    store_fx_exec(db, "ALTER TABLE attempts DROP COLUMN logs_empty; PRAGMA user_version = 18;");
    store_fx_exec(db, "ALTER TABLE teams DROP COLUMN preempt_within; PRAGMA user_version = 17;");
    store_fx_exec(db, "DROP TABLE quotas; PRAGMA user_version = 16;");
    store_fx_exec(db, "ALTER TABLE attempts DROP COLUMN gpu_h; PRAGMA user_version = 15;");
    store_fx_exec(db, "DROP TABLE usage_daily; DROP INDEX jobs_team_live;"
                      " ALTER TABLE jobs DROP COLUMN gpu_type; ALTER TABLE jobs DROP COLUMN pool;"
                      " ALTER TABLE jobs DROP COLUMN project; ALTER TABLE jobs DROP COLUMN team;"
                      " ALTER TABLE principals DROP COLUMN team; DROP TABLE teams;"
                      " PRAGMA user_version = 14;");
    store_fx_exec(db, UNDO_V14);
    store_fx_exec(db, UNDO_V13);
    store_fx_exec(db, "DROP INDEX jobs_name; PRAGMA user_version = 11;");
    store_fx_exec(db, UNDO_V11);
    store_fx_exec(db, UNDO_V10);
    store_fx_exec(db, "DROP TABLE worker_overrides; DROP TABLE tokens; PRAGMA user_version = 7;");
    store_fx_exec(db, UNDO_V7);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM events", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    store_fx_reopen(f);
    assert_int_equal(store_fx_int(f->db, "PRAGMA user_version"), MLQ_STORE_SCHEMA_VERSION);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM events"), events);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM attempts"), 2);
    assert_int_equal(store_fx_int(f->db, "SELECT job_seq FROM attempts WHERE state = 1"), 2);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM pragma_foreign_key_list('attempts')"
                                         " WHERE \"from\" = 'job_seq' AND \"to\" = 'seq'"),
                     1);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM sqlite_master WHERE name IN"
                                         " ('attempts_job', 'attempts_live', 'attempts_end',"
                                         " 'idempotency_id', 'events_no_update')"),
                     5);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM sqlite_master WHERE name ="
                                         " 'events_no_delete'"),
                     0);
    struct mlq_store_attempt a;
    assert_int_equal(mlq_store_attempt_get(f->st, "00000002-1111-4000-8000-000000000002", &a, &err),
                     0);
    assert_int_equal(a.state, MLQ_ATT_RUNNING);
    mlq_store_attempt_free(&a);
    struct mlq_store_old_job out[4];
    size_t n;
    candidates(f, 100, out, 4, &n);
    assert_int_equal(n, 1);
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    assert_int_equal(mlq_store_job_delete(f->st, &out[0], NULL, NULL, &err), 0);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM jobs"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_which_jobs_go, setup, store_fx_close),
        cmocka_unit_test_setup_teardown(test_arrays, setup, store_fx_close),
        cmocka_unit_test_setup_teardown(test_env_goes_with_last_job, setup, store_fx_close),
        cmocka_unit_test_setup_teardown(test_old_events, setup, store_fx_close),
        cmocka_unit_test_setup_teardown(test_batch_submit_event, setup, store_fx_close),
        cmocka_unit_test_setup_teardown(test_batch_refuses_gaps, setup, store_fx_close),
        cmocka_unit_test_setup_teardown(test_migrate_v6, setup, store_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
