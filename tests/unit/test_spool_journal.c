/* The spool's records that make and free no inode: in-place record files
 * (spoolrec.h: round trip, a torn, zeroed, empty or corrupt record reads as
 * none, files of the earlier layout read whole), the journal
 * (spooljournal.h: state kept across a reopen, a torn tail cut off, a
 * corrupt record skipped, compaction; the memory of done records bounded,
 * an old done attempt still known), and the folder pool (spoolpool.h,
 * with a locked spool: a done folder is recycled with nothing of its
 * attempt left, and the next attempt takes it); a spool of the earlier
 * layout (format 1: marker files, done records as files) is still read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "protousage.h"
#include "spool.h"
#include "spool_fixture.h"
#include "spooldone.h"
#include "spoolgc.h"
#include "spooljournal.h"
#include "spoolpool.h"
#include "spoolrec.h"
#include "testdir.h"

#define ID_A "11111111-1111-4111-8111-111111111111"
#define ID_B "22222222-2222-4222-8222-222222222222"
#define ID_C "33333333-3333-4333-8333-333333333333"
#define JOB  "99999999-9999-4999-8999-999999999999"

static int setup(void **state)
{
    return spool_fx_open(state, "spooljournal");
}

static char *argv_true[] = {"/bin/true"};

static struct mlq_msg make_assign(const char *attempt_id)
{
    struct mlq_msg m;
    memset(&m, 0, sizeof m);
    m.type = MLQ_MSG_ASSIGN;
    snprintf(m.u.assign.attempt_id, sizeof m.u.assign.attempt_id, "%s", attempt_id);
    snprintf(m.u.assign.job_id, sizeof m.u.assign.job_id, "%s", JOB);
    m.u.assign.attempt = 1;
    m.u.assign.spec.owner = "alice";
    m.u.assign.spec.argv = argv_true;
    m.u.assign.spec.argc = 1;
    m.u.assign.spec.workdir = "/tmp";
    m.u.assign.spec.cpus_m = 100;
    m.u.assign.spec.mem = 1 << 20;
    return m;
}

static void path_of(char *buf, size_t len, const char *dir, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

static void put_file(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static void test_record_round_trip_and_torn(void **state)
{
    struct spool_fx *f = *state;
    char path[256], *out = NULL;
    size_t len = 0;
    struct mlq_err e;
    path_of(path, sizeof path, f->root, "rec");
    assert_int_equal(mlq_spoolrec_read(path, 100, &out, &len, &e), MLQ_ENOTFOUND); /* no file */
    put_file(path, "", 0);
    assert_int_equal(mlq_spoolrec_read(path, 100, &out, &len, &e), MLQ_ENOTFOUND); /* empty */
    const char *long_text = "a longer first record that a shorter one overwrites\n";
    assert_int_equal(mlq_spoolrec_write(path, long_text, strlen(long_text), true, &e), 0);
    assert_int_equal(mlq_spoolrec_write(path, "short\n", 6, false, &e), 0);
    assert_int_equal(mlq_spoolrec_read(path, 100, &out, &len, &e), 0);
    assert_int_equal(len, 6);
    assert_string_equal(out, "short\n"); /* not what is left of the first */
    free(out);
    assert_int_equal(mlq_spoolrec_read(path, 5, &out, &len, &e), MLQ_ETOOBIG);
    /* torn: the payload cut short */
    assert_int_equal(truncate(path, MLQ_SPOOLREC_HDR + 3), 0);
    assert_int_equal(mlq_spoolrec_read(path, 100, &out, &len, &e), MLQ_ENOTFOUND);
    /* corrupt: one payload byte changed */
    assert_int_equal(mlq_spoolrec_write(path, "short\n", 6, false, &e), 0);
    int fd = open(path, O_WRONLY);
    assert_int_equal(pwrite(fd, "S", 1, MLQ_SPOOLREC_HDR), 1);
    close(fd);
    assert_int_equal(mlq_spoolrec_read(path, 100, &out, &len, &e), MLQ_ENOTFOUND);
    /* zeroed (a crash after the size grew, before the data) */
    char zeros[40] = {0};
    put_file(path, zeros, sizeof zeros);
    assert_int_equal(mlq_spoolrec_read(path, 100, &out, &len, &e), MLQ_ENOTFOUND);
    /* a whole file of the earlier layout */
    put_file(path, "outcome=exited\n", 15);
    assert_int_equal(mlq_spoolrec_read(path, 100, &out, &len, &e), 0);
    assert_string_equal(out, "outcome=exited\n");
    free(out);
    /* the CRC is zlib's */
    assert_int_equal(mlq_spoolrec_crc32(0, "123456789", 9), 0xCBF43926u);
}

static void test_status_in_place(void **state)
{
    struct spool_fx *f = *state;
    char dir[256], path[300];
    struct mlq_status st = {.outcome = MLQ_OUT_EXITED, .exit_code = 3, .end_ms = 5}, back;
    mlq_usage_clear(&st.usage);
    struct mlq_err e;
    path_of(dir, sizeof dir, f->root, "attempts");
    path_of(path, sizeof path, dir, "status");
    put_file(path, "", 0); /* made with the folder */
    struct stat before, after;
    assert_int_equal(stat(path, &before), 0);
    assert_int_equal(mlq_spool_read_status(dir, &back, &e), MLQ_ENOTFOUND);
    assert_int_equal(mlq_spool_write_status(dir, &st, &e), 0);
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(before.st_ino, after.st_ino); /* the same inode, written in place */
    assert_int_equal(mlq_spool_read_status(dir, &back, &e), 0);
    assert_int_equal(back.exit_code, 3);
    /* torn: no status yet, as for a shim that died before writing it */
    assert_int_equal(truncate(path, file_size(path) - 4), 0);
    assert_int_equal(mlq_spool_read_status(dir, &back, &e), MLQ_ENOTFOUND);
}

/* A status that a power loss brought back into a recycled folder (its
 * emptying was not durable) is the previous attempt's: read as none. */
static void test_status_of_another_attempt(void **state)
{
    struct spool_fx *f = *state;
    char a[256], b[256], path[300];
    struct mlq_err e;
    path_of(a, sizeof a, mlq_spool_attempts(f->sp), ID_A);
    path_of(b, sizeof b, mlq_spool_attempts(f->sp), ID_B);
    assert_int_equal(mkdir(a, 0750), 0);
    path_of(path, sizeof path, a, "status");
    put_file(path, "", 0);
    struct mlq_status st = {.outcome = MLQ_OUT_EXITED, .exit_code = 4}, back;
    mlq_usage_clear(&st.usage);
    assert_int_equal(mlq_spool_write_status(a, &st, &e), 0);
    assert_int_equal(mlq_spool_read_status(a, &back, &e), 0);
    assert_int_equal(back.exit_code, 4);
    assert_int_equal(rename(a, b), 0);
    assert_int_equal(mlq_spool_read_status(b, &back, &e), MLQ_ENOTFOUND);
    assert_int_equal(mlq_spool_write_status(b, &st, &e), 0);
    assert_int_equal(mlq_spool_read_status(b, &back, &e), 0);
}

static void test_journal_reopen_torn_corrupt(void **state)
{
    struct spool_fx *f = *state;
    struct mlq_spooljournal *j = NULL;
    struct mlq_err e;
    const char *att = mlq_spool_attempts(f->sp);
    assert_int_equal(mlq_spooljournal_open(f->root, att, &j, &e), 0);
    struct mlq_upload_state up = {.skipped = {1, 2}, .offset = {30, 40}, .done = {true, false}};
    assert_int_equal(mlq_spooljournal_set(j, ID_A, MLQ_SJ_ACKED_STARTED, NULL, &e), 0);
    assert_int_equal(mlq_spooljournal_set(j, ID_A, MLQ_SJ_ACKED_FINISHED, &up, &e), 0);
    assert_int_equal(mlq_spooljournal_set(j, ID_B, MLQ_SJ_ACKED_STARTED, NULL, &e), 0);
    assert_int_equal(mlq_spooljournal_set(j, "../x", MLQ_SJ_DONE, NULL, &e), MLQ_EINVAL);
    assert_int_equal(mlq_spooljournal_sync(j, &e), 0);
    mlq_spooljournal_close(&j);
    char path[256];
    path_of(path, sizeof path, f->root, MLQ_SPOOLJOURNAL_FILE);
    assert_int_equal(file_size(path), 3 * MLQ_SPOOLJOURNAL_REC);
    /* a torn append at the end: cut off at the open, the rest intact */
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, "MLQJ garbage", 12), 12);
    close(fd);
    assert_int_equal(mlq_spooljournal_open(f->root, att, &j, &e), 0);
    assert_int_equal(file_size(path), 3 * MLQ_SPOOLJOURNAL_REC);
    struct mlq_upload_state back;
    assert_int_equal(mlq_spooljournal_get(j, ID_A, &back, NULL),
                     MLQ_SJ_ACKED_STARTED | MLQ_SJ_ACKED_FINISHED | MLQ_SJ_UPLOAD);
    assert_int_equal(back.offset[1], 40);
    assert_int_equal(back.skipped[0], 1);
    assert_true(back.done[0] && !back.done[1]);
    assert_int_equal(mlq_spooljournal_get(j, ID_C, NULL, NULL), 0);
    assert_int_equal(mlq_spooljournal_set(j, ID_B, MLQ_SJ_UPLOADED, NULL, &e), 0);
    mlq_spooljournal_close(&j);
    /* a corrupt record in the middle is skipped: B's earlier state (last
     * valid record) stands, A's records around it are read */
    fd = open(path, O_WRONLY);
    assert_int_equal(pwrite(fd, "X", 1, 3 * MLQ_SPOOLJOURNAL_REC + 20), 1);
    close(fd);
    assert_int_equal(mlq_spooljournal_open(f->root, att, &j, &e), 0);
    assert_int_equal(mlq_spooljournal_get(j, ID_B, NULL, NULL), MLQ_SJ_ACKED_STARTED);
    assert_true(mlq_spooljournal_get(j, ID_A, NULL, NULL) & MLQ_SJ_ACKED_FINISHED);
    mlq_spooljournal_close(&j);
}

static void test_journal_compaction(void **state)
{
    struct spool_fx *f = *state;
    struct mlq_spooljournal *j = NULL;
    struct mlq_err e;
    const char *att = mlq_spool_attempts(f->sp);
    char dir[256], path[256];
    path_of(dir, sizeof dir, att, ID_A); /* A's folder exists: kept */
    assert_int_equal(mkdir(dir, 0750), 0);
    assert_int_equal(mlq_spooljournal_open(f->root, att, &j, &e), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(mlq_spooljournal_set(j, ID_A, MLQ_SJ_ACKED_STARTED, NULL, &e), 0);
    assert_int_equal(mlq_spooljournal_set(j, ID_B, MLQ_SJ_ACKED_STARTED, NULL, &e),
                     0); /* no folder */
    assert_int_equal(mlq_spooljournal_set(j, ID_C, MLQ_SJ_DONE, NULL, &e), 0);
    assert_int_equal(mlq_spooljournal_records(j), 12);
    assert_int_equal(mlq_spooljournal_compact(j, 3600, &e), 0);
    assert_int_equal(mlq_spooljournal_records(j), 2); /* A, and C done within the hour */
    assert_int_equal(mlq_spooljournal_entries(j), 2);
    assert_int_equal(mlq_spooljournal_get(j, ID_B, NULL, NULL), 0);
    path_of(path, sizeof path, f->root, MLQ_SPOOLJOURNAL_FILE);
    assert_int_equal(file_size(path), 2 * MLQ_SPOOLJOURNAL_REC);
    /* appends after a compaction go to the new file */
    assert_int_equal(mlq_spooljournal_set(j, ID_A, MLQ_SJ_UPLOADED, NULL, &e), 0);
    assert_int_equal(file_size(path), 3 * MLQ_SPOOLJOURNAL_REC);
    /* done records past the keep time go */
    assert_int_equal(mlq_spooljournal_compact(j, -10, &e), 0);
    assert_int_equal(mlq_spooljournal_get(j, ID_C, NULL, NULL), 0);
    mlq_spooljournal_close(&j);
    assert_int_equal(mlq_spooljournal_open(f->root, att, &j, &e), 0);
    assert_int_equal(mlq_spooljournal_get(j, ID_A, NULL, NULL),
                     MLQ_SJ_ACKED_STARTED | MLQ_SJ_UPLOADED);
    assert_int_equal(mlq_spooljournal_entries(j), 1);
    mlq_spooljournal_close(&j);
}

static void id_of(int i, char *out)
{
    snprintf(out, MLQ_ID_LEN + 1, "%08x-0000-4000-8000-%012x", (unsigned)i, (unsigned)i);
}

/* Attempt i acknowledged, its logs uploaded, then done (its folder gone). */
static void done_attempt(struct mlq_spooljournal *j, int i)
{
    char id[MLQ_ID_LEN + 1];
    struct mlq_err e;
    id_of(i, id);
    assert_int_equal(mlq_spooljournal_set(j, id, MLQ_SJ_ACKED_FINISHED | MLQ_SJ_UPLOADED, NULL, &e),
                     0);
    assert_int_equal(mlq_spooljournal_set(j, id, MLQ_SJ_DONE, NULL, &e), 0);
}

/* Attempts below n (the first, the last and every 61st: one that left
 * memory is read from the file) are known as done to the worker's
 * duplicate check (mlq_spoolgc_was_removed, what a repeated assign
 * meets); one never seen is not. */
static void all_done(struct spool_fx *f, int n)
{
    char id[MLQ_ID_LEN + 1];
    for (int i = 0; i < n; i = i + 61 < n || i == n - 1 ? i + 61 : n - 1) {
        id_of(i, id);
        if (!mlq_spoolgc_was_removed(f->sp, id))
            fail_msg("attempt %d of %d not known as done", i, n);
    }
    id_of(n + 7, id);
    assert_false(mlq_spoolgc_was_removed(f->sp, id));
}

/* A worker that finished many attempts keeps in memory only the recent
 * done ones (and a filter): the journal's memory after 6x as many is what
 * it was after 3x (a table of ~100 bytes an attempt would double it),
 * while the oldest is still known as done, after a reopen, and after a
 * compaction within the keep time, and is gone only past it. */
static void test_journal_done_memory_bounded(void **state)
{
    struct spool_fx *f = *state;
    struct mlq_err e;
    assert_int_equal(mlq_spool_lock(f->sp, &e), 0);
    struct mlq_spooljournal *j = mlq_spool_journal(f->sp);
    int n = 3 * MLQ_SPOOLDONE_RECENT;
    for (int i = 0; i < n; i++)
        done_attempt(j, i);
    size_t mem = mlq_spooljournal_mem_bytes(j);
    assert_true(mlq_spooljournal_entries(j) <= MLQ_SPOOLDONE_RECENT);
    for (int i = n; i < 2 * n; i++)
        done_attempt(j, i);
    assert_true(mlq_spooljournal_entries(j) <= MLQ_SPOOLDONE_RECENT);
    if (mlq_spooljournal_mem_bytes(j) > mem + mem / 8)
        fail_msg("journal memory grew from %zu to %zu bytes", mem, mlq_spooljournal_mem_bytes(j));
    all_done(f, 2 * n);
    /* an attempt that left memory and is set again goes on from its record */
    char id[MLQ_ID_LEN + 1];
    int64_t done_s = 0;
    id_of(1, id);
    assert_int_equal(mlq_spooljournal_set(j, id, MLQ_SJ_DONE, NULL, &e), 0);
    assert_int_equal(mlq_spooljournal_get(j, id, NULL, &done_s),
                     MLQ_SJ_ACKED_FINISHED | MLQ_SJ_UPLOADED | MLQ_SJ_DONE);
    assert_true(done_s > 0);
    assert_int_equal(mlq_spooljournal_compact(j, 3600, &e), 0);
    all_done(f, 2 * n);
    assert_true(mlq_spooljournal_entries(j) <= MLQ_SPOOLDONE_RECENT);
    mlq_spool_close(&f->sp);
    assert_int_equal(mlq_spool_open(f->root, &f->sp, &e), 0);
    assert_int_equal(mlq_spool_lock(f->sp, &e), 0);
    j = mlq_spool_journal(f->sp);
    assert_true(mlq_spooljournal_entries(j) <= MLQ_SPOOLDONE_RECENT);
    all_done(f, 2 * n);
    assert_int_equal(mlq_spooljournal_compact(j, -10, &e), 0);
    id_of(0, id);
    assert_false(mlq_spoolgc_was_removed(f->sp, id));
    assert_int_equal(mlq_spooljournal_records(j), 0);
}

/* A finished attempt of a locked spool, acknowledged and uploaded. */
static void finish(struct spool_fx *f, const char *id, char *dir, size_t len)
{
    struct mlq_msg m = make_assign(id);
    struct mlq_err e;
    assert_int_equal(mlq_spool_create_attempt(f->sp, &m, dir, len, &e), 0);
    char path[300];
    path_of(path, sizeof path, dir, "stdout");
    put_file(path, "output\n", 7);
    struct mlq_shim_id sid = {.pid = 12345, .starttime = 9, .start_ms = 1};
    assert_int_equal(mlq_spool_write_shim(dir, &sid, &e), 0);
    struct mlq_status st = {.outcome = MLQ_OUT_EXITED, .exit_code = 0};
    mlq_usage_clear(&st.usage);
    assert_int_equal(mlq_spool_write_status(dir, &st, &e), 0);
    assert_int_equal(mlq_spool_mark_acked(dir, MLQ_PHASE_STARTED, &e), 0);
    assert_int_equal(mlq_spool_mark_acked(dir, MLQ_PHASE_FINISHED, &e), 0);
    assert_int_equal(mlq_spool_mark_uploaded(dir, &e), 0);
    assert_true(mlq_spoolgc_is_done(dir));
}

static void test_pool_recycles_folders(void **state)
{
    struct spool_fx *f = *state;
    struct mlq_err e;
    assert_int_equal(mlq_spool_lock(f->sp, &e), 0);
    char dir[256], dir2[256], path[300];
    finish(f, ID_A, dir, sizeof dir);
    path_of(path, sizeof path, dir, "stdout");
    struct stat st_before;
    assert_int_equal(stat(path, &st_before), 0);
    /* markers are journal records, not files */
    path_of(path, sizeof path, dir, "acked_finished");
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(mlq_spoolgc_remove(f->sp, ID_A, &e), 0);
    assert_true(mlq_spool_attempt_exists(f->sp, ID_A)); /* until the batch's sync */
    assert_true(mlq_spoolgc_was_removed(f->sp, ID_A));
    mlq_spoolgc_flush(f->sp);
    assert_false(mlq_spool_attempt_exists(f->sp, ID_A));
    assert_true(mlq_spoolgc_was_removed(f->sp, ID_A));
    assert_int_equal(mlq_spoolpool_count(mlq_spool_pool(f->sp)), 1);
    /* the next attempt takes the folder: same inodes, nothing of A left */
    struct mlq_msg m = make_assign(ID_B);
    assert_int_equal(mlq_spool_create_attempt(f->sp, &m, dir2, sizeof dir2, &e), 0);
    assert_int_equal(mlq_spoolpool_count(mlq_spool_pool(f->sp)), 0);
    path_of(path, sizeof path, dir2, "stdout");
    struct stat st_after;
    assert_int_equal(stat(path, &st_after), 0);
    assert_int_equal(st_before.st_ino, st_after.st_ino);
    assert_int_equal(st_after.st_size, 0);
    struct mlq_status status;
    struct mlq_shim_id sid;
    assert_int_equal(mlq_spool_read_status(dir2, &status, &e), MLQ_ENOTFOUND);
    assert_int_equal(mlq_spool_read_shim(dir2, &sid, &e), MLQ_ENOTFOUND);
    /* the records were emptied in place: they kept their blocks for the
     * next attempt's (no block freed and allocated again per job) */
    const char *records[] = {"status", "shim.pid"};
    for (size_t i = 0; i < 2; i++) {
        path_of(path, sizeof path, dir2, records[i]);
        assert_int_equal(stat(path, &st_after), 0);
        assert_true(st_after.st_size > 0);
        assert_true(st_after.st_blocks > 0);
    }
    sid.pid = 777;
    sid.starttime = 5;
    sid.start_ms = 2;
    assert_int_equal(mlq_spool_write_shim(dir2, &sid, &e), 0);
    struct mlq_shim_id sid2;
    assert_int_equal(mlq_spool_read_shim(dir2, &sid2, &e), 0);
    assert_int_equal(sid2.pid, 777);
    assert_false(mlq_spool_is_acked(dir2, MLQ_PHASE_STARTED));
    struct mlq_msg back;
    assert_int_equal(mlq_spool_read_assign(dir2, &back, &e), 0);
    assert_string_equal(back.u.assign.attempt_id, ID_B);
    mlq_proto_msg_free(&back);
    /* the journal survives a restart of the worker */
    mlq_spool_close(&f->sp);
    assert_int_equal(mlq_spool_open(f->root, &f->sp, &e), 0);
    assert_int_equal(mlq_spool_lock(f->sp, &e), 0);
    assert_true(mlq_spoolgc_was_removed(f->sp, ID_A));
    assert_false(mlq_spoolgc_was_removed(f->sp, ID_B));
    char *fmt = testdir_read(f->root, "format");
    assert_non_null(fmt);
    assert_string_equal(fmt, "mlq-spool 2\n");
    free(fmt);
}

static void test_format1_spool_read(void **state)
{
    struct spool_fx *f = *state;
    struct mlq_err e;
    /* as an earlier worker left it: marker files, whole-file status and
     * shim.pid, a done record as a file */
    put_file(strcat(strcpy((char[256]){0}, f->root), "/format"), "mlq-spool 1\n", 12);
    char dir[256], path[300], done[256];
    path_of(dir, sizeof dir, mlq_spool_attempts(f->sp), ID_A);
    assert_int_equal(mkdir(dir, 0750), 0);
    struct mlq_msg m = make_assign(ID_A);
    assert_int_equal(mlq_spool_write_assign(dir, &m, &e), 0);
    path_of(path, sizeof path, dir, "shim.pid");
    put_file(path, "4242 77 1000\n", 13);
    path_of(path, sizeof path, dir, "status");
    put_file(path, "outcome=exited\nexit_code=7\n", 27);
    path_of(path, sizeof path, dir, "acked_started");
    put_file(path, "1\n", 2);
    path_of(path, sizeof path, dir, "upload");
    put_file(path, "stdout 0 5 1\nstderr 0 0 0\n", 26);
    path_of(done, sizeof done, f->root, "done");
    assert_int_equal(mkdir(done, 0750), 0);
    path_of(path, sizeof path, done, ID_C);
    put_file(path, "", 0);
    assert_int_equal(mlq_spool_lock(f->sp, &e), 0);
    struct mlq_spool_held *held = NULL;
    size_t n = 0;
    assert_int_equal(mlq_spool_scan(f->sp, &held, &n, &e), 0);
    assert_int_equal(n, 1);
    assert_string_equal(held[0].attempt_id, ID_A);
    assert_true(held[0].finished && held[0].acked_started);
    assert_int_equal(held[0].status.exit_code, 7);
    assert_int_equal(held[0].shim.pid, 4242);
    free(held);
    struct mlq_upload_state up;
    assert_int_equal(mlq_spool_read_upload(dir, &up, &e), 0);
    assert_int_equal(up.offset[0], 5);
    assert_true(mlq_spoolgc_was_removed(f->sp, ID_C));
    /* recorded from now on in the journal; the marker file still counts */
    assert_int_equal(mlq_spool_mark_acked(dir, MLQ_PHASE_FINISHED, &e), 0);
    assert_true(mlq_spool_is_acked(dir, MLQ_PHASE_FINISHED));
    assert_true(mlq_spool_is_acked(dir, MLQ_PHASE_STARTED));
    char *fmt = testdir_read(f->root, "format");
    assert_string_equal(fmt, "mlq-spool 2\n");
    free(fmt);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_record_round_trip_and_torn, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_status_in_place, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_status_of_another_attempt, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_journal_reopen_torn_corrupt, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_journal_compaction, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_journal_done_memory_bounded, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_pool_recycles_folders, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_format1_spool_read, setup, spool_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
