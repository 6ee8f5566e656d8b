/* spool: attempt folders, assign/status/shim.pid round trips, ack markers,
 * upload progress, notes and the lease, the start-up scan in every state an
 * attempt can be left in (uploading included), creation failing cleanly on
 * an unwritable spool, the worker lock, log reads, refusal of attempt ids
 * that could escape the spool, a standby shim's prepared folder; and drainctl, which looks at a
 * spool from outside (lock owner, counts by state). */
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
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "drainctl.h"
#include "fsutil.h"
#include "logupload.h"
#include "protousage.h"
#include "spool.h"
#include "spool_fixture.h"

#define ID_A "11111111-1111-4111-8111-111111111111"
#define ID_B "22222222-2222-4222-8222-222222222222"
#define ID_C "33333333-3333-4333-8333-333333333333"
#define ID_D "44444444-4444-4444-8444-444444444444"
#define ID_E "55555555-5555-4555-8555-555555555555"
#define ID_F "66666666-6666-4666-8666-666666666666"
#define ID_G "77777777-7777-4777-8777-777777777777"
#define JOB  "99999999-9999-4999-8999-999999999999"

static int setup(void **state)
{
    return spool_fx_open(state, "spool");
}

static char *argv_echo[] = {"/bin/echo", "hello"};
static char *env_foo[] = {"FOO=bar"};
static int32_t gpus_01[] = {0, 1};

static struct mlq_msg make_assign(const char *attempt_id)
{
    struct mlq_msg m;
    memset(&m, 0, sizeof m);
    m.type = MLQ_MSG_ASSIGN;
    m.rid = 7;
    snprintf(m.u.assign.attempt_id, sizeof m.u.assign.attempt_id, "%s", attempt_id);
    snprintf(m.u.assign.job_id, sizeof m.u.assign.job_id, "%s", JOB);
    m.u.assign.attempt = 2;
    m.u.assign.spec.owner = "alice";
    m.u.assign.spec.argv = argv_echo;
    m.u.assign.spec.argc = 2;
    m.u.assign.spec.env = env_foo;
    m.u.assign.spec.envc = 1;
    m.u.assign.spec.workdir = "/tmp";
    m.u.assign.spec.cpus_m = 500;
    m.u.assign.spec.mem = 1 << 20;
    m.u.assign.spec.gpus = 2;
    m.u.assign.gpu_ids = gpus_01;
    m.u.assign.ngpu_ids = 2;
    m.u.assign.kill_grace_ms = 1500;
    return m;
}

static void create(struct spool_fx *f, const char *id, char *dir, size_t len)
{
    struct mlq_msg m = make_assign(id);
    struct mlq_err e;
    assert_int_equal(mlq_spool_create_attempt(f->sp, &m, dir, len, &e), 0);
}

static void test_create_and_read_assign(void **state)
{
    struct spool_fx *f = *state;
    char dir[4096];
    assert_false(mlq_spool_attempt_exists(f->sp, ID_A));
    create(f, ID_A, dir, sizeof dir);
    assert_true(mlq_spool_attempt_exists(f->sp, ID_A));
    char want[4096];
    snprintf(want, sizeof want, "%s/attempts/%s", f->root, ID_A);
    assert_string_equal(dir, want);

    struct mlq_msg back;
    struct mlq_err e;
    assert_int_equal(mlq_spool_read_assign(dir, &back, &e), 0);
    assert_int_equal(back.type, MLQ_MSG_ASSIGN);
    assert_string_equal(back.u.assign.attempt_id, ID_A);
    assert_string_equal(back.u.assign.job_id, JOB);
    assert_int_equal(back.u.assign.attempt, 2);
    assert_int_equal(back.u.assign.spec.argc, 2);
    assert_string_equal(back.u.assign.spec.argv[1], "hello");
    assert_string_equal(back.u.assign.spec.env[0], "FOO=bar");
    assert_int_equal(back.u.assign.spec.cpus_m, 500);
    assert_int_equal(back.u.assign.ngpu_ids, 2);
    assert_int_equal(back.u.assign.gpu_ids[1], 1);
    assert_int_equal(back.u.assign.kill_grace_ms, 1500);
    mlq_proto_msg_free(&back);

    /* The same attempt is never created twice. */
    struct mlq_msg again = make_assign(ID_A);
    assert_int_equal(mlq_spool_create_attempt(f->sp, &again, dir, sizeof dir, &e), MLQ_ESTATE);
}

static void test_read_assign_garbage(void **state)
{
    struct spool_fx *f = *state;
    char path[4200];
    snprintf(path, sizeof path, "%s/assign", f->root);
    assert_int_equal(mlq_fs_write_atomic(path, "\x93\x01\x02", 3, NULL), 0);
    struct mlq_msg m;
    struct mlq_err e;
    assert_true(mlq_spool_read_assign(f->root, &m, &e) < 0);
    /* A missing file is an error too. */
    assert_int_equal(mlq_spool_read_assign("/nonexistent-dir", &m, &e), MLQ_ENOTFOUND);
}

static void test_status_round_trip(void **state)
{
    struct spool_fx *f = *state;
    char dir[4096];
    create(f, ID_A, dir, sizeof dir);
    struct mlq_status st, back;
    struct mlq_err e;
    assert_int_equal(mlq_spool_read_status(dir, &back, &e), MLQ_ENOTFOUND);

    memset(&st, 0, sizeof st);
    st.outcome = MLQ_OUT_SIGNALED;
    st.exit_code = -1;
    st.signal = 9;
    st.start_ms = 1700000000123;
    st.end_ms = 1700000004567;
    snprintf(st.detail, sizeof st.detail, "line one\nline=two");
    assert_int_equal(mlq_spool_write_status(dir, &st, &e), 0);
    assert_int_equal(mlq_spool_read_status(dir, &back, &e), 0);
    assert_int_equal(back.outcome, MLQ_OUT_SIGNALED);
    assert_int_equal(back.exit_code, -1);
    assert_int_equal(back.signal, 9);
    assert_int_equal(back.start_ms, 1700000000123);
    assert_int_equal(back.end_ms, 1700000004567);
    assert_string_equal(back.detail, "line one line=two");

    st.outcome = MLQ_OUT_EXITED;
    st.exit_code = 3;
    st.signal = 0;
    st.detail[0] = '\0';
    assert_int_equal(mlq_spool_write_status(dir, &st, &e), 0);
    assert_int_equal(mlq_spool_read_status(dir, &back, &e), 0);
    assert_int_equal(back.outcome, MLQ_OUT_EXITED);
    assert_int_equal(back.exit_code, 3);
    assert_string_equal(back.detail, "");
    assert_false(mlq_usage_any(&back.usage)); /* nothing measured */
    assert_int_equal(back.usage.mem_peak, -1);

    /* what the job used travels with its outcome */
    st.usage = (struct mlq_usage){.mem_peak = 67108864,
                                  .cpu_us = 136781,
                                  .wall_ms = 319,
                                  .gpu_mem_peak = -1,
                                  .gpu_util = -1,
                                  .source = "cgroup1"};
    assert_int_equal(mlq_spool_write_status(dir, &st, &e), 0);
    assert_int_equal(mlq_spool_read_status(dir, &back, &e), 0);
    assert_string_equal(back.usage.source, "cgroup1");
    assert_int_equal(back.usage.mem_peak, 67108864);
    assert_int_equal(back.usage.cpu_us, 136781);
    assert_int_equal(back.usage.wall_ms, 319);
    assert_int_equal(back.usage.gpu_mem_peak, -1);
    assert_int_equal(back.usage.gpu_util, -1);
}

static void test_status_malformed(void **state)
{
    struct spool_fx *f = *state;
    static const char *const bad[] = {
        "exit_code=3\n",                          /* no outcome */
        "outcome=exploded\n",                     /* unknown outcome */
        "outcome=none\n",                         /* not a final outcome */
        "outcome=exited\nexit_code=3x\n",         /* trailing garbage */
        "outcome=exited\nexit_code=9999999999\n", /* out of range */
        "outcome=exited\nnonsense\n",             /* not key=value */
        "outcome=exited\nusage_source=guess\n",   /* unknown way of measuring */
        "outcome=exited\nusage_cpu_us=-5\n",      /* not a measurement */
    };
    char path[4200];
    snprintf(path, sizeof path, "%s/status", f->root);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(mlq_fs_write_atomic(path, bad[i], strlen(bad[i]), NULL), 0);
        struct mlq_status st;
        struct mlq_err e;
        assert_int_equal(mlq_spool_read_status(f->root, &st, &e), MLQ_EINVAL);
    }
    /* An empty file (a folder's status before its shim writes it) is no
     * status yet, not a malformed one. */
    assert_int_equal(mlq_fs_write_atomic(path, "", 0, NULL), 0);
    struct mlq_status st;
    assert_int_equal(mlq_spool_read_status(f->root, &st, NULL), MLQ_ENOTFOUND);
}

static void test_shim_pid_round_trip(void **state)
{
    struct spool_fx *f = *state;
    struct mlq_shim_id id = {.pid = getpid(), .start_ms = 1234567};
    id.starttime = mlq_fs_pid_starttime(id.pid);
    struct mlq_shim_id back;
    struct mlq_err e;
    assert_int_equal(mlq_spool_read_shim(f->root, &back, &e), MLQ_ENOTFOUND);
    assert_int_equal(mlq_spool_write_shim(f->root, &id, &e), 0);
    assert_int_equal(mlq_spool_read_shim(f->root, &back, &e), 0);
    assert_int_equal(back.pid, id.pid);
    assert_int_equal(back.starttime, id.starttime);
    assert_int_equal(back.start_ms, 1234567);
    assert_true(mlq_spool_shim_alive(&back));
    back.starttime++; /* same pid, another process */
    assert_false(mlq_spool_shim_alive(&back));

    char path[4200];
    snprintf(path, sizeof path, "%s/shim.pid", f->root);
    assert_int_equal(mlq_fs_write_atomic(path, "12 x\n", 5, NULL), 0);
    assert_int_equal(mlq_spool_read_shim(f->root, &back, &e), MLQ_EINVAL);
}

static void test_markers(void **state)
{
    struct spool_fx *f = *state;
    char dir[4096];
    create(f, ID_A, dir, sizeof dir);
    struct mlq_err e;
    assert_false(mlq_spool_is_acked(dir, MLQ_PHASE_STARTED));
    assert_false(mlq_spool_is_acked(dir, MLQ_PHASE_FINISHED));
    assert_int_equal(mlq_spool_mark_acked(dir, MLQ_PHASE_STARTED, &e), 0);
    assert_true(mlq_spool_is_acked(dir, MLQ_PHASE_STARTED));
    assert_false(mlq_spool_is_acked(dir, MLQ_PHASE_FINISHED));
    assert_int_equal(mlq_spool_mark_acked(dir, MLQ_PHASE_FINISHED, &e), 0);
    assert_true(mlq_spool_is_acked(dir, MLQ_PHASE_FINISHED));
}

/* A pid that surely belongs to no process: a reaped child's. */
static pid_t dead_pid(void)
{
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    waitpid(p, NULL, 0);
    return p;
}

static const struct mlq_spool_held *find_held(const struct mlq_spool_held *h, size_t n,
                                              const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(h[i].attempt_id, id) == 0)
            return &h[i];
    return NULL;
}

/* Builds one attempt in each state a crashed worker can leave behind. */
static void make_scan_fixture(struct spool_fx *f)
{
    char dir[4096];
    struct mlq_err e;
    /* A: running under a live "shim" (this test process). */
    create(f, ID_A, dir, sizeof dir);
    struct mlq_shim_id me = {.pid = getpid(), .start_ms = 42};
    me.starttime = mlq_fs_pid_starttime(me.pid);
    assert_int_equal(mlq_spool_write_shim(dir, &me, &e), 0);
    assert_int_equal(mlq_spool_mark_acked(dir, MLQ_PHASE_STARTED, &e), 0);
    /* B: finished, report not acknowledged. */
    create(f, ID_B, dir, sizeof dir);
    assert_int_equal(mlq_spool_write_shim(dir, &me, &e), 0);
    struct mlq_status st = {.outcome = MLQ_OUT_EXITED, .exit_code = 4, .start_ms = 1, .end_ms = 2};
    assert_int_equal(mlq_spool_write_status(dir, &st, &e), 0);
    /* C: shim died without a status. */
    create(f, ID_C, dir, sizeof dir);
    struct mlq_shim_id dead = {.pid = dead_pid(), .starttime = 12345, .start_ms = 77};
    assert_int_equal(mlq_spool_write_shim(dir, &dead, &e), 0);
    /* D: finished and acknowledged: done. */
    create(f, ID_D, dir, sizeof dir);
    assert_int_equal(mlq_spool_write_status(dir, &st, &e), 0);
    assert_int_equal(mlq_spool_mark_acked(dir, MLQ_PHASE_FINISHED, &e), 0);
    /* G: the shim never wrote its pid. */
    create(f, ID_G, dir, sizeof dir);
    /* E: acknowledged, logs half uploaded; F: uploads done. */
    struct mlq_upload_state up = {.skipped = {0, 0}, .offset = {5, 0}};
    create(f, ID_E, dir, sizeof dir);
    assert_int_equal(mlq_spool_write_status(dir, &st, &e), 0);
    assert_int_equal(mlq_spool_write_upload(dir, &up, &e), 0);
    assert_int_equal(mlq_spool_mark_acked(dir, MLQ_PHASE_FINISHED, &e), 0);
    create(f, ID_F, dir, sizeof dir);
    assert_int_equal(mlq_spool_write_status(dir, &st, &e), 0);
    assert_int_equal(mlq_spool_write_upload(dir, &up, &e), 0);
    assert_int_equal(mlq_spool_mark_acked(dir, MLQ_PHASE_FINISHED, &e), 0);
    assert_int_equal(mlq_spool_mark_uploaded(dir, &e), 0);
    /* Debris: an interrupted creation and a foreign folder. */
    snprintf(dir, sizeof dir, "%s/attempts/.tmp-%s", f->root, ID_D);
    assert_int_equal(mkdir(dir, 0750), 0);
    snprintf(dir, sizeof dir, "%s/attempts/junk", f->root);
    assert_int_equal(mkdir(dir, 0750), 0);
}

static void test_scan(void **state)
{
    struct spool_fx *f = *state;
    make_scan_fixture(f);
    struct mlq_spool_held *h = NULL;
    size_t n = 0;
    struct mlq_err e;
    assert_int_equal(mlq_spool_scan(f->sp, &h, &n, &e), 0);
    assert_int_equal(n, 5);

    const struct mlq_spool_held *a = find_held(h, n, ID_A);
    assert_non_null(a);
    assert_false(a->finished);
    assert_true(a->acked_started);
    assert_int_equal(a->shim.pid, getpid());
    assert_int_equal(a->shim.start_ms, 42);

    const struct mlq_spool_held *b = find_held(h, n, ID_B);
    assert_non_null(b);
    assert_true(b->finished);
    assert_false(b->acked_started);
    assert_int_equal(b->status.outcome, MLQ_OUT_EXITED);
    assert_int_equal(b->status.exit_code, 4);

    const struct mlq_spool_held *c = find_held(h, n, ID_C);
    assert_non_null(c);
    assert_true(c->finished);
    assert_int_equal(c->status.outcome, MLQ_OUT_LOST);
    assert_string_equal(c->status.detail, "shim vanished");
    assert_int_equal(c->status.start_ms, 77);

    const struct mlq_spool_held *g = find_held(h, n, ID_G);
    assert_non_null(g);
    assert_true(g->finished);
    assert_int_equal(g->status.outcome, MLQ_OUT_LOST);

    const struct mlq_spool_held *up = find_held(h, n, ID_E);
    assert_non_null(up);
    assert_true(up->uploading);
    assert_true(up->finished);
    assert_int_equal(up->status.exit_code, 4);
    assert_false(b->uploading);

    assert_null(find_held(h, n, ID_D));
    assert_null(find_held(h, n, ID_F));
    free(h);

    /* The lost outcome was persisted, the debris removed, junk left alone. */
    char dir[4096];
    struct mlq_status st;
    snprintf(dir, sizeof dir, "%s/attempts/%s", f->root, ID_C);
    assert_int_equal(mlq_spool_read_status(dir, &st, &e), 0);
    assert_int_equal(st.outcome, MLQ_OUT_LOST);
    struct stat sb;
    snprintf(dir, sizeof dir, "%s/attempts/.tmp-%s", f->root, ID_D);
    assert_int_not_equal(stat(dir, &sb), 0);
    snprintf(dir, sizeof dir, "%s/attempts/junk", f->root);
    assert_int_equal(stat(dir, &sb), 0);
}

static void test_bad_attempt_ids(void **state)
{
    struct spool_fx *f = *state;
    static const char *const bad[] = {
        "",
        "..",
        "../../etc",
        "11111111-1111-4111-8111-11111111111",   /* too short */
        "11111111-1111-4111-8111-1111111111111", /* too long */
        "11111111-1111-4111-8111-11111111111/",
        "../11111111-1111-4111-8111-1111111111",
        "11111111/1111-4111-8111-111111111111",
        "AAAAAAAA-1111-4111-8111-111111111111", /* uppercase */
        "11111111-1111-4111-8111-11111111111g",
    };
    char dir[4096];
    struct mlq_err e;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(mlq_spool_attempt_dir(f->sp, bad[i], dir, sizeof dir, &e), MLQ_EINVAL);
        assert_false(mlq_spool_attempt_exists(f->sp, bad[i]));
        uint8_t *data;
        uint32_t len;
        int64_t size;
        assert_int_equal(
            mlq_spool_read_log(f->sp, bad[i], MLQ_STREAM_STDOUT, 0, 10, &data, &len, &size, &e),
            MLQ_EINVAL);
    }
    assert_int_equal(mlq_spool_attempt_dir(f->sp, NULL, dir, sizeof dir, &e), MLQ_EINVAL);
    struct mlq_msg m = make_assign("../../../tmp/evil-attempt-xx");
    assert_int_equal(mlq_spool_create_attempt(f->sp, &m, dir, sizeof dir, &e), MLQ_EINVAL);
    /* A buffer too small for the path is refused, not truncated. */
    char tiny[16];
    assert_int_equal(mlq_spool_attempt_dir(f->sp, ID_A, tiny, sizeof tiny, &e), MLQ_ETOOBIG);
}

static void test_read_log(void **state)
{
    struct spool_fx *f = *state;
    char dir[4096], path[4200];
    create(f, ID_A, dir, sizeof dir);
    uint8_t *data = NULL;
    uint32_t len = 0;
    int64_t size = 0;
    struct mlq_err e;
    /* No output yet (the folder is made with empty logs), unknown attempt. */
    assert_int_equal(
        mlq_spool_read_log(f->sp, ID_A, MLQ_STREAM_STDOUT, 0, 10, &data, &len, &size, &e), 0);
    assert_int_equal(len, 0);
    assert_int_equal(size, 0);
    assert_int_equal(
        mlq_spool_read_log(f->sp, ID_B, MLQ_STREAM_STDERR, 0, 10, &data, &len, &size, &e),
        MLQ_ENOTFOUND);

    snprintf(path, sizeof path, "%s/stdout", dir);
    assert_int_equal(mlq_fs_write_atomic(path, "0123456789", 10, NULL), 0);
    assert_int_equal(
        mlq_spool_read_log(f->sp, ID_A, MLQ_STREAM_STDOUT, 3, 4, &data, &len, &size, &e), 0);
    assert_int_equal(len, 4);
    assert_int_equal(size, 10);
    assert_memory_equal(data, "3456", 4);
    free(data);
    /* Past the end: nothing, but the size is still told. */
    assert_int_equal(
        mlq_spool_read_log(f->sp, ID_A, MLQ_STREAM_STDOUT, 8, 100, &data, &len, &size, &e), 0);
    assert_int_equal(len, 2);
    free(data);
    assert_int_equal(
        mlq_spool_read_log(f->sp, ID_A, MLQ_STREAM_STDOUT, 50, 100, &data, &len, &size, &e), 0);
    assert_int_equal(len, 0);
    assert_null(data);
    assert_int_equal(size, 10);
    /* Bounds. */
    assert_int_equal(mlq_spool_read_log(f->sp, ID_A, MLQ_STREAM_STDOUT, 0, MLQ_MAX_LOG_CHUNK + 1,
                                        &data, &len, &size, &e),
                     MLQ_EINVAL);
    assert_int_equal(
        mlq_spool_read_log(f->sp, ID_A, MLQ_STREAM_STDOUT, -1, 10, &data, &len, &size, &e),
        MLQ_EINVAL);
    /* A symlink planted as a log is not followed. */
    snprintf(path, sizeof path, "%s/stderr", dir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(symlink("/etc/passwd", path), 0);
    assert_true(mlq_spool_read_log(f->sp, ID_A, MLQ_STREAM_STDERR, 0, 10, &data, &len, &size, &e) <
                0);
}

static void test_lock(void **state)
{
    struct spool_fx *f = *state;
    struct mlq_err e;
    assert_int_equal(mlq_spool_lock(f->sp, &e), 0);
    char path[4200];
    snprintf(path, sizeof path, "%s/worker.pid", f->root);
    pid_t pid = 0;
    assert_int_equal(mlq_fs_read_pidfile(path, &pid, NULL), 0);
    assert_int_equal(pid, getpid());

    struct mlq_spool *other = NULL;
    assert_int_equal(mlq_spool_open(f->root, &other, &e), 0);
    assert_int_equal(mlq_spool_lock(other, &e), MLQ_ESTATE);
    assert_non_null(strstr(e.msg, "in use"));

    mlq_spool_release(f->sp);
    assert_int_equal(mlq_fs_read_pidfile(path, &pid, NULL), MLQ_ENOTFOUND);
    assert_int_equal(mlq_spool_lock(other, &e), 0);
    mlq_spool_release(other);
    mlq_spool_close(&other);
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* SPOOL/format: written when absent (a spool from before the marker is
 * adopted as format 1), a later format or a garbled marker refused. */
static void test_lock_format(void **state)
{
    struct spool_fx *f = *state;
    struct mlq_err e;
    char path[4200], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/format", f->root);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(mlq_spool_lock(f->sp, &e), 0);
    assert_int_equal(mlq_fs_read_all(path, 64, &text, &len, NULL), 0);
    char want[32];
    snprintf(want, sizeof want, "mlq-spool %d\n", MLQ_SPOOL_FORMAT);
    assert_string_equal(text, want);
    free(text);
    mlq_spool_release(f->sp);

    write_text(path, "mlq-spool 999\n");
    assert_int_equal(mlq_spool_lock(f->sp, &e), MLQ_ESTATE);
    assert_non_null(strstr(e.msg, "newer than this mlq-worker"));
    mlq_spool_release(f->sp);
    /* left alone by the refusal */
    assert_int_equal(mlq_fs_read_all(path, 64, &text, &len, NULL), 0);
    assert_string_equal(text, "mlq-spool 999\n");
    free(text);

    write_text(path, "version=3\n");
    assert_int_equal(mlq_spool_lock(f->sp, &e), MLQ_EINVAL);
    mlq_spool_release(f->sp);
    unlink(path);
}

static void test_upload_notes_lease(void **state)
{
    struct spool_fx *f = *state;
    char dir[4096];
    struct mlq_err e;
    create(f, ID_A, dir, sizeof dir);
    struct mlq_upload_state u, back;
    memset(&u, 0, sizeof u);
    assert_int_equal(mlq_spool_read_upload(dir, &back, &e), MLQ_ENOTFOUND);
    u.skipped[0] = 7;
    u.offset[0] = 1048576;
    u.offset[1] = 3;
    u.done[0] = true;
    assert_int_equal(mlq_spool_write_upload(dir, &u, &e), 0);
    assert_int_equal(mlq_spool_read_upload(dir, &back, &e), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(back.skipped[i], u.skipped[i]);
        assert_int_equal(back.offset[i], u.offset[i]);
        assert_int_equal(back.done[i], u.done[i]);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/upload", dir);
    assert_int_equal(mlq_fs_write_atomic(path, "stdout 1 -2 0\nstderr 0 0 0\n", 26, NULL), 0);
    assert_int_equal(mlq_spool_read_upload(dir, &back, &e), MLQ_EINVAL);

    assert_false(mlq_spool_is_uploaded(dir));
    assert_int_equal(mlq_spool_mark_uploaded(dir, &e), 0);
    assert_true(mlq_spool_is_uploaded(dir));

    char note[64];
    assert_false(mlq_spool_read_note(dir, MLQ_SPOOL_FENCED, note, sizeof note));
    assert_int_equal(mlq_spool_write_note(dir, MLQ_SPOOL_FENCED, "self-fenced: x", &e), 0);
    assert_true(mlq_spool_read_note(dir, MLQ_SPOOL_FENCED, note, sizeof note));
    assert_string_equal(note, "self-fenced: x");
    assert_false(mlq_spool_read_note(dir, MLQ_SPOOL_FENCED, note, 5)); /* too small */
    assert_int_equal(mlq_spool_write_note(dir, "x", "two\nlines", &e), MLQ_EINVAL);

    assert_int_equal(mlq_spool_read_lease(f->sp), 0);
    assert_int_equal(mlq_spool_write_lease(f->sp, 15000, &e), 0);
    assert_int_equal(mlq_spool_read_lease(f->sp), 15000);
}

/* An assignment the spool cannot hold fails with "spool ROOT: reason" and
 * leaves nothing behind; once the spool is fine again it works. */
static void test_create_unwritable(void **state)
{
    struct spool_fx *f = *state;
    char dir[4096], attempts[4200], aside[4200];
    snprintf(attempts, sizeof attempts, "%s/attempts", f->root);
    snprintf(aside, sizeof aside, "%s/attempts.aside", f->root);
    assert_int_equal(rename(attempts, aside), 0);
    assert_int_equal(mlq_fs_write_atomic(attempts, "x", 1, NULL), 0); /* not a folder */
    struct mlq_msg m = make_assign(ID_A);
    struct mlq_err e;
    assert_int_equal(mlq_spool_create_attempt(f->sp, &m, dir, sizeof dir, &e), MLQ_EIO);
    char want[4200];
    snprintf(want, sizeof want, "spool %s: Not a directory", f->root);
    assert_string_equal(e.msg, want);
    assert_int_equal(unlink(attempts), 0);
    assert_int_equal(rename(aside, attempts), 0);
    struct mlq_spool_held *h = NULL;
    size_t n = 0;
    assert_int_equal(mlq_spool_scan(f->sp, &h, &n, &e), 0);
    assert_int_equal(n, 0);
    free(h);
    create(f, ID_A, dir, sizeof dir);
    assert_true(mlq_spool_attempt_exists(f->sp, ID_A));
}

/* A standby shim's prepared folder: shim.pid and empty logs, then the
 * attempt made of it by one file and a rename; durable on request; a
 * second attempt of the same id is refused; leftovers go at the scan. */
static void test_prepared(void **state)
{
    struct spool_fx *f = *state;
    struct mlq_err e;
    struct mlq_shim_id me = {.pid = getpid(), .start_ms = 5};
    me.starttime = mlq_fs_pid_starttime(me.pid);
    char tmp[4200], dir[4200], path[4300];
    assert_int_equal(mlq_spool_prepare(f->sp, &me, tmp, sizeof tmp, &e), 0);
    assert_non_null(strstr(tmp, "/attempts/.tmp-standby-"));
    struct mlq_shim_id back;
    assert_int_equal(mlq_spool_read_shim(tmp, &back, &e), 0);
    assert_int_equal(back.pid, me.pid);
    struct mlq_msg m = make_assign(ID_A);
    assert_int_equal(mlq_spool_create_prepared(f->sp, tmp, &m, dir, sizeof dir, &e), 0);
    assert_true(mlq_spool_attempt_exists(f->sp, ID_A));
    assert_int_equal(access(tmp, F_OK), -1);
    struct mlq_msg got;
    assert_int_equal(mlq_spool_read_assign(dir, &got, &e), 0);
    mlq_proto_msg_free(&got);
    assert_int_equal(mlq_spool_read_shim(dir, &back, &e), 0);
    assert_int_equal(back.starttime, me.starttime);
    snprintf(path, sizeof path, "%s/stdout", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(mlq_spool_sync_attempt(f->sp, dir, &e), 0);
    /* The same id again, from a new prepared folder: refused, folder kept. */
    assert_int_equal(mlq_spool_prepare(f->sp, &me, tmp, sizeof tmp, &e), 0);
    assert_int_equal(mlq_spool_create_prepared(f->sp, tmp, &m, dir, sizeof dir, &e), MLQ_ESTATE);
    assert_int_equal(access(tmp, F_OK), 0);
    /* A leftover prepared folder is removed by the scan. */
    struct mlq_spool_held *held = NULL;
    size_t n = 0;
    assert_int_equal(mlq_spool_scan(f->sp, &held, &n, &e), 0);
    free(held);
    assert_int_equal(access(tmp, F_OK), -1);
    mlq_spool_discard(tmp); /* gone already: harmless */
}

static void test_drainctl(void **state)
{
    struct spool_fx *f = *state;
    struct mlq_err e;
    pid_t pid = 123;
    assert_int_equal(mlq_drainctl_owner("/nonexistent-mlq-spool", &pid, &e), MLQ_ENOTFOUND);
    assert_int_equal(mlq_spool_lock(f->sp, &e), 0);
    assert_int_equal(mlq_drainctl_owner(f->root, &pid, &e), 0);
    assert_int_equal(pid, getpid());
    mlq_spool_release(f->sp);
    assert_int_equal(mlq_drainctl_owner(f->root, &pid, &e), 0);
    assert_int_equal(pid, 0);
    /* A stale pid file alone names no owner. */
    char path[4200];
    snprintf(path, sizeof path, "%s/worker.pid", f->root);
    assert_int_equal(mlq_fs_write_pidfile(path, getpid(), &e), 0);
    assert_int_equal(mlq_drainctl_signal(f->root, &pid, &e), 0);
    assert_int_equal(pid, 0);

    make_scan_fixture(f); /* A running, B/C/G without ack, E uploading */
    struct mlq_drainctl_counts c;
    assert_int_equal(mlq_drainctl_count(f->root, &c, &e), 0);
    assert_int_equal(c.running, 3); /* A, C and G: no status yet */
    assert_int_equal(c.reporting, 1);
    assert_int_equal(c.uploading, 1);
}

static void test_outcome_names(void **state)
{
    (void)state;
    assert_string_equal(mlq_spool_outcome_name(MLQ_OUT_EXITED), "exited");
    assert_string_equal(mlq_spool_outcome_name(MLQ_OUT_START_FAILED), "start_failed");
    assert_string_equal(mlq_spool_outcome_name(MLQ_OUT_TIMED_OUT), "timed_out");
    assert_string_equal(mlq_spool_outcome_name(MLQ_OUT_REFUSED), "refused");
    assert_string_equal(mlq_spool_outcome_name((enum mlq_outcome)99), "?");
}

/* Empty logs (a short job's usual case) are uploaded as their end alone,
 * sized once when the upload is planned and not opened again: here each
 * file is swapped for a link the spool refuses to open, after the plan. */
static void test_upload_empty_logs(void **state)
{
    struct spool_fx *f = *state;
    char dir[4096], path[4200];
    struct mlq_err e;
    create(f, ID_A, dir, sizeof dir);
    struct mlq_logupload *up = NULL;
    assert_int_equal(mlq_logupload_open(f->sp, ID_A, 1 << 20, &up, &e), 0);
    assert_false(mlq_logupload_done(up));
    for (int s = 0; s < 2; s++) {
        snprintf(path, sizeof path, "%s/%s", dir, s == 0 ? "stdout" : "stderr");
        assert_int_equal(unlink(path), 0);
        assert_int_equal(symlink("/dev/null", path), 0);
    }
    for (int s = 0; s < 2; s++) {
        struct mlq_msg m;
        assert_int_equal(mlq_logupload_next(up, 0, &m, &e), 1);
        assert_int_equal(m.u.log_upload.stream, s);
        assert_int_equal(m.u.log_upload.len, 0);
        assert_true(m.u.log_upload.eof);
        struct mlq_msg ack;
        memset(&ack, 0, sizeof ack);
        ack.type = MLQ_MSG_LOG_UPLOAD_ACK;
        ack.u.log_upload_ack.stream = (enum mlq_stream)s;
        assert_int_equal(mlq_logupload_ack(up, &ack, 0, &e), s == 1 ? 1 : 0);
        mlq_proto_msg_free(&m);
    }
    assert_true(mlq_logupload_done(up));
    mlq_logupload_close(&up);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_read_assign, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_lock_format, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_read_assign_garbage, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_status_round_trip, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_status_malformed, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_shim_pid_round_trip, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_markers, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_scan, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_bad_attempt_ids, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_read_log, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_lock, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_upload_notes_lease, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_create_unwritable, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_prepared, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_drainctl, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_upload_empty_logs, setup, spool_fx_close),
        cmocka_unit_test(test_outcome_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
