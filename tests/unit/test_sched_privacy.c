/* Who may see and do what, checked on what would go on the wire (the
 * outbox holds the encoded replies): a schedule's environment, and a job's
 * whole spec (job_spec), reach only their owner and admins; a worker key speaks only for its own
 * worker name, whatever routing id its connection chose; key changes take effect only once their
 * transaction has committed; a listing bigger than one message comes in pages linked by cursors
 * instead of failing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "admin.h"
#include "deps.h"
#include "fairshare.h"
#include "jobops.h"
#include "logrelay.h"
#include "pipeline.h"
#include "queue.h"
#include "sched_fixture.h"
#include "schedules.h"
#include "specreq.h"
#include "strmap.h"
#include "wproto.h"

#define G      (1024LL * 1024 * 1024)
#define SECRET "TOKEN=hunter2-very-secret"
#define KEY_W1 "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"

static int setup(void **state)
{
    sched_fx_open(state, "privacy", 5000);
    struct sched_fx *f = *state;
    f->c.auth = mlq_auth_create();
    assert_non_null(f->c.auth);
    return 0;
}

static int teardown(void **state)
{
    struct sched_fx *f = *state;
    mlq_auth_destroy(&f->c.auth);
    return sched_fx_close(state);
}

static void as(struct mlq_ctx *c, const char *user_id)
{
    assert_int_equal(mlq_auth_identity(user_id, false, &c->who, NULL), 0);
}

static const struct mlq_peer *peer_named(const char *id)
{
    static struct mlq_peer p;
    memset(&p, 0, sizeof p);
    p.len = strlen(id);
    memcpy(p.id, id, p.len);
    return &p;
}

/* The last queued message, decoded; its raw bytes in raw/rawlen. */
static void last_reply(struct mlq_ctx *c, struct mlq_msg *m, const char **raw, size_t *rawlen)
{
    size_t n = mlq_outbox_count(c->out);
    assert_true(n > 0);
    *raw = mlq_outbox_body(c->out, n - 1, rawlen);
    assert_non_null(*raw);
    assert_int_equal(mlq_proto_decode(*raw, *rawlen, m, NULL), 0);
}

static bool raw_has(const char *raw, size_t len, const char *s)
{
    return memmem(raw, len, s, strlen(s)) != NULL;
}

static void add_schedule(struct mlq_ctx *c)
{
    struct mlq_msg msg = {.type = MLQ_MSG_SCHEDULE_ADD, .rid = 1};
    struct mlq_scheduleinfo *si = &msg.u.schedule_add.sched;
    si->name = strdup("nightly");
    si->cron = strdup("0 3 * * *");
    si->concurrency = strdup("skip");
    struct mlq_jobspec *s = &si->spec;
    s->argc = 1;
    s->argv = calloc(1, sizeof(char *));
    s->argv[0] = strdup("/bin/train");
    s->envc = 1;
    s->env = calloc(1, sizeof(char *));
    s->env[0] = strdup(SECRET);
    s->workdir = strdup("/tmp");
    s->cpus_m = 1000;
    s->mem = G;
    struct mlq_err e = {0};
    assert_int_equal(mlq_schedules_on_add(c, peer_named("alice"), &msg, &e), 0);
    mlq_proto_msg_free(&msg);
}

/* Lists schedules as user_id; true when the reply (raw bytes and decoded)
 * carries the environment. */
static bool schedules_show_env(struct mlq_ctx *c, const char *user_id)
{
    as(c, user_id);
    struct mlq_msg req = {.type = MLQ_MSG_SCHEDULES, .rid = 2};
    assert_int_equal(mlq_schedules_on_list(c, peer_named("x"), &req, NULL), 0);
    struct mlq_msg m;
    const char *raw;
    size_t len;
    last_reply(c, &m, &raw, &len);
    assert_int_equal(m.type, MLQ_MSG_SCHEDULE_LIST);
    assert_int_equal(m.u.schedule_list.nschedules, 1);
    const struct mlq_jobspec *s = &m.u.schedule_list.schedules[0].spec;
    assert_string_equal(s->argv[0], "/bin/train"); /* argv stays visible to all */
    assert_string_equal(s->workdir, "/tmp");
    bool shown = raw_has(raw, len, "hunter2");
    assert_int_equal(shown, s->envc == 1);
    mlq_proto_msg_free(&m);
    return shown;
}

static void test_schedule_env_only_to_owner(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    as(c, "user:alice");
    add_schedule(c);
    assert_false(schedules_show_env(c, "user:bob"));
    assert_true(schedules_show_env(c, "user:alice"));
    assert_true(schedules_show_env(c, "admin:root"));
    /* A job's status never carries its environment, to anyone. */
    struct mlq_jobspec spec = {.argc = 1, .cpus_m = 1000, .mem = G, .envc = 1};
    spec.argv = calloc(1, sizeof(char *));
    spec.argv[0] = strdup("/bin/true");
    spec.env = calloc(1, sizeof(char *));
    spec.env[0] = strdup(SECRET);
    spec.owner = strdup("alice");
    spec.workdir = strdup("/tmp");
    char id[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
    mlq_proto_jobspec_free(&spec);
    assert_int_equal(mlq_jobops_flush(c, NULL), 0); /* the row is written late */
    as(c, "user:bob");
    char *ids[] = {id};
    struct mlq_msg req = {.type = MLQ_MSG_JOBS, .rid = 3};
    req.u.jobs.ids = ids;
    req.u.jobs.nids = 1;
    req.u.jobs.state = -1;
    assert_int_equal(mlq_client_on_jobs(c, peer_named("x"), &req, NULL), 0);
    struct mlq_msg m;
    const char *raw;
    size_t len;
    last_reply(c, &m, &raw, &len);
    assert_int_equal(m.u.job_list.njobs, 1);
    assert_false(raw_has(raw, len, "hunter2"));
    mlq_proto_msg_free(&m);
}

/* job_spec (mlq rerun) carries the environment: to the owner and admins
 * only; others get -7 and nothing of it. A task answers with its index as
 * a one-index array spec. */
static void test_job_spec_only_to_owner(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_jobspec spec = {.argc = 1, .cpus_m = 1000, .mem = G, .envc = 1};
    spec.argv = calloc(1, sizeof(char *));
    spec.argv[0] = strdup("/bin/true");
    spec.env = calloc(1, sizeof(char *));
    spec.env[0] = strdup(SECRET);
    spec.owner = strdup("alice");
    spec.workdir = strdup("/tmp");
    spec.image = strdup("localhost/img:1");
    char id[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
    mlq_proto_jobspec_free(&spec);
    assert_int_equal(mlq_jobops_flush(c, NULL), 0);
    struct mlq_msg req = {.type = MLQ_MSG_JOB_SPEC, .rid = 4}, m;
    req.u.why.job = id;
    struct mlq_err e = {0};
    as(c, "user:bob");
    size_t before = mlq_outbox_count(c->out);
    assert_int_equal(mlq_specreq_on_request(c, peer_named("x"), &req, &e), MLQ_EPERM);
    assert_int_equal(mlq_outbox_count(c->out), before);
    for (int i = 0; i < 2; i++) {
        as(c, i == 0 ? "user:alice" : "admin:root");
        assert_int_equal(mlq_specreq_on_request(c, peer_named("x"), &req, &e), 0);
        const char *raw;
        size_t len;
        last_reply(c, &m, &raw, &len);
        assert_int_equal(m.type, MLQ_MSG_JOB_SPEC_REPLY);
        assert_string_equal(m.u.job_spec_reply.id, id);
        assert_false(m.u.job_spec_reply.is_array);
        assert_null(m.u.job_spec_reply.spec.array);
        assert_int_equal(m.u.job_spec_reply.spec.envc, 1);
        assert_string_equal(m.u.job_spec_reply.spec.env[0], SECRET);
        assert_string_equal(m.u.job_spec_reply.spec.image, "localhost/img:1");
        mlq_proto_msg_free(&m);
    }
}

static struct mlq_worker *up(struct mlq_ctx *c, const char *name)
{
    struct mlq_worker *w = mlq_workers_add(c->workers, name);
    w->state = MLQ_WORKER_UP;
    w->cpus_m = 4000;
    w->mem = 8 * G;
    assert_int_equal(mlq_workers_connect(c->workers, w, peer_named(name)), 0);
    w->last_seen_mono = c->now_mono;
    return w;
}

static void test_worker_key_speaks_only_for_its_name(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    up(c, "w1");
    struct mlq_worker *w2 = up(c, "w2");
    w2->last_seen_mono = 5;
    /* The key of w1 on a connection that took w2's routing id. */
    as(c, "worker:w1");
    struct mlq_worker *w = NULL;
    struct mlq_err e = {0};
    assert_int_equal(mlq_wproto_sender(c, peer_named("w2"), &w, &e), MLQ_EPERM);
    assert_null(w);
    assert_non_null(strstr(e.msg, "may not speak for worker w2"));
    struct mlq_msg hb = {.type = MLQ_MSG_HEARTBEAT, .rid = 1};
    hb.u.heartbeat.name = "w2";
    assert_int_equal(mlq_wproto_on_heartbeat(c, peer_named("w2"), &hb, &e), MLQ_EPERM);
    assert_int_equal(w2->last_seen_mono, 5); /* not kept alive by someone else */
    struct mlq_msg rep = {.type = MLQ_MSG_REPORT, .rid = 2};
    strcpy(rep.u.report.attempt_id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
    rep.u.report.phase = MLQ_PHASE_FINISHED;
    rep.u.report.outcome = MLQ_OUT_EXITED;
    assert_int_equal(mlq_wproto_on_report(c, peer_named("w2"), &rep, &e), MLQ_EPERM);
    assert_int_equal(mlq_outbox_count(c->out), 0); /* nothing acknowledged */
    /* Registering as w2 with w1's key is refused too. */
    struct mlq_msg reg = {.type = MLQ_MSG_REGISTER, .rid = 3};
    reg.u.reg.name = "w2";
    reg.u.reg.cpus_m = 1000;
    reg.u.reg.mem = G;
    assert_int_equal(mlq_wproto_on_register(c, peer_named("zz"), &reg, &e), MLQ_EPERM);
    /* Its own name, and a heartbeat that names another worker. */
    assert_int_equal(mlq_wproto_sender(c, peer_named("w1"), &w, &e), 0);
    assert_string_equal(w->name, "w1");
    assert_int_equal(mlq_wproto_on_heartbeat(c, peer_named("w1"), &hb, &e), MLQ_EPERM);
    hb.u.heartbeat.name = "w1";
    assert_int_equal(mlq_wproto_on_heartbeat(c, peer_named("w1"), &hb, &e), 0);
}

static bool key_active(struct mlq_ctx *c)
{
    char uid[160];
    return mlq_auth_lookup(c->auth, KEY_W1, uid, sizeof uid) == 0;
}

static int add_key(struct mlq_ctx *c)
{
    as(c, "admin:root");
    struct mlq_msg msg = {.type = MLQ_MSG_USER_ADD, .rid = 1};
    strcpy(msg.u.user_add.name, "carol");
    strcpy(msg.u.user_add.key, KEY_W1);
    strcpy(msg.u.user_add.role, "user");
    return mlq_admin_on_user_add(c, peer_named("x"), &msg, NULL);
}

static int count_key(const struct mlq_store_principal *p, void *arg)
{
    if (strcmp(p->key, KEY_W1) == 0)
        *(bool *)arg = true;
    return 0;
}

static bool key_stored(struct mlq_ctx *c)
{
    bool found = false;
    assert_int_equal(mlq_store_each_principal(c->store, count_key, &found, NULL), 0);
    return found;
}

static void test_key_changes_wait_for_commit(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    /* Added, then the iteration is rolled back: neither stored nor active. */
    assert_int_equal(add_key(c), 0);
    assert_false(key_active(c)); /* not before the commit */
    mlq_store_rollback(c->store);
    mlq_auth_drop_staged(c->auth);
    assert_false(key_stored(c));
    assert_false(key_active(c));
    /* Added and committed: active from then on. */
    assert_int_equal(add_key(c), 0);
    assert_int_equal(mlq_store_commit(c->store, NULL), 0);
    assert_int_equal(mlq_auth_apply_staged(c->auth), 0);
    assert_true(key_stored(c));
    assert_true(key_active(c));
    /* Removed, then rolled back: still stored, so still active. */
    struct mlq_msg rm = {.type = MLQ_MSG_USER_RM, .rid = 2};
    strcpy(rm.u.user_rm.name, "carol");
    strcpy(rm.u.user_rm.kind, "user");
    assert_int_equal(mlq_admin_on_user_rm(c, peer_named("x"), &rm, NULL), 0);
    mlq_store_rollback(c->store);
    mlq_auth_drop_staged(c->auth);
    assert_true(key_stored(c));
    assert_true(key_active(c));
    /* Removed and committed: gone. */
    assert_int_equal(mlq_admin_on_user_rm(c, peer_named("x"), &rm, NULL), 0);
    assert_true(key_active(c)); /* not before the commit */
    assert_int_equal(mlq_store_commit(c->store, NULL), 0);
    assert_int_equal(mlq_auth_apply_staged(c->auth), 0);
    assert_false(key_stored(c));
    assert_false(key_active(c));
}

/* One page of `jobs` (no ids) from cursor; returns the reply's job count
 * and copies its names and next cursor out. */
static uint32_t jobs_page(struct mlq_ctx *c, uint32_t limit, const char *cursor, char names[][16],
                          char *next)
{
    struct mlq_msg req = {.type = MLQ_MSG_JOBS, .rid = 9};
    req.u.jobs.state = -1;
    req.u.jobs.limit = limit;
    req.u.jobs.cursor = (char *)cursor;
    assert_int_equal(mlq_client_on_jobs(c, peer_named("x"), &req, NULL), 0);
    struct mlq_msg m;
    const char *raw;
    size_t len;
    last_reply(c, &m, &raw, &len);
    assert_true(len <= MLQ_MAX_MSG);
    uint32_t n = m.u.job_list.njobs;
    for (uint32_t i = 0; i < n; i++)
        snprintf(names[i], 16, "%s", m.u.job_list.jobs[i].name);
    snprintf(next, MLQ_MAX_CURSOR + 1, "%s", m.u.job_list.next ? m.u.job_list.next : "");
    mlq_proto_msg_free(&m);
    return n;
}

static void test_listing_too_big_comes_in_pages(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    enum { JOBS = 30, ARG = 100000 };
    char *big = malloc(ARG + 1);
    memset(big, 'a', ARG);
    big[ARG] = '\0';
    for (int i = 0; i < JOBS; i++) { /* 30 x 200 KB: more than 4 MiB */
        struct mlq_jobspec spec = {.argc = 3, .cpus_m = 1000, .mem = G};
        spec.argv = calloc(3, sizeof(char *));
        spec.argv[0] = strdup("/bin/echo");
        spec.argv[1] = strdup(big);
        spec.argv[2] = strdup(big);
        char name[16];
        snprintf(name, sizeof name, "j%02d", i);
        spec.name = strdup(name);
        spec.owner = strdup("alice");
        spec.workdir = strdup("/tmp");
        char id[MLQ_ID_LEN + 1];
        assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
        mlq_proto_jobspec_free(&spec);
    }
    free(big);
    assert_int_equal(mlq_jobops_flush(c, NULL), 0);
    as(c, "user:bob");
    char names[JOBS][16], next[MLQ_MAX_CURSOR + 1], cursor[MLQ_MAX_CURSOR + 1];
    uint32_t total = 0, pages = 0, n = jobs_page(c, 100, NULL, names, next);
    assert_true(n > 0 && n < JOBS); /* cut to what fits */
    assert_true(next[0]);
    for (;;) {
        for (uint32_t i = 0; i < n; i++) { /* newest first, each once */
            char want[16];
            snprintf(want, sizeof want, "j%02u", JOBS - 1 - total - i);
            assert_string_equal(names[i], want);
        }
        total += n;
        pages++;
        if (!next[0])
            break;
        strcpy(cursor, next);
        n = jobs_page(c, 100, cursor, names, next);
    }
    assert_int_equal(total, JOBS);
    assert_true(pages >= 2);
    /* A limit below what fits: that many, and a cursor for the rest. */
    assert_int_equal(jobs_page(c, 2, NULL, names, next), 2);
    assert_string_equal(names[1], "j28");
    strcpy(cursor, next);
    assert_int_equal(jobs_page(c, 2, cursor, names, next), 2);
    assert_string_equal(names[0], "j27");
    struct mlq_msg bad = {.type = MLQ_MSG_JOBS, .rid = 1};
    bad.u.jobs.state = -1;
    bad.u.jobs.cursor = "12x";
    assert_int_equal(mlq_client_on_jobs(c, peer_named("x"), &bad, NULL), MLQ_EINVAL);
}

/* Workers with 32 labels of 120 bytes each: 1500 of them are about 6 MB. */
static void test_worker_listing_comes_in_pages(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    enum { WORKERS = 1500, LABELS = 32 };
    char *labels[LABELS];
    for (int i = 0; i < LABELS; i++) {
        labels[i] = malloc(121);
        snprintf(labels[i], 121, "k%02d=", i);
        memset(labels[i] + 4, 'v', 116);
        labels[i][120] = '\0';
    }
    for (int i = 0; i < WORKERS; i++) {
        char name[16];
        snprintf(name, sizeof name, "w%04d", i);
        struct mlq_worker *w = up(c, name);
        assert_int_equal(mlq_workers_describe(w, NULL, labels, LABELS, NULL, 0, NULL), 0);
    }
    for (int i = 0; i < LABELS; i++)
        free(labels[i]);
    as(c, "user:bob");
    char cursor[MLQ_MAX_CURSOR + 1] = "";
    uint32_t total = 0, pages = 0;
    do {
        struct mlq_msg req = {.type = MLQ_MSG_WORKERS, .rid = 5};
        req.u.workers.cursor = cursor[0] ? cursor : NULL;
        assert_int_equal(mlq_admin_on_workers(c, peer_named("x"), &req, NULL), 0);
        struct mlq_msg m;
        const char *raw;
        size_t len;
        last_reply(c, &m, &raw, &len);
        assert_true(m.u.worker_list.nworkers > 0);
        for (uint32_t i = 0; i < m.u.worker_list.nworkers; i++) {
            char want[16];
            snprintf(want, sizeof want, "w%04u", total + i);
            assert_string_equal(m.u.worker_list.workers[i].name, want);
        }
        total += m.u.worker_list.nworkers;
        pages++;
        snprintf(cursor, sizeof cursor, "%s", m.u.worker_list.next ? m.u.worker_list.next : "");
        mlq_proto_msg_free(&m);
    } while (cursor[0]);
    assert_int_equal(total, WORKERS);
    assert_true(pages >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_schedule_env_only_to_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_spec_only_to_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_key_speaks_only_for_its_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_changes_wait_for_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_listing_too_big_comes_in_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_worker_listing_comes_in_pages, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
