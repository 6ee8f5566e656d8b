/* Changes to a job before it starts (jobedit.h) and how an attempt that
 * could not start or that exited after mlq's signal ends (jobops.c), on a
 * real store: a held job is never placed and stays held across a restart;
 * only its owner or an admin may hold, release or update it, and only while
 * it is pending; an update is checked as a submit is and stored; an
 * idempotency key reused with a different request is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "auth.h"
#include "client.h"
#include "jobedit.h"
#include "jobops.h"
#include "sched_fixture.h"
#include "why.h"

static int setup(void **state)
{
    return sched_fx_open(state, "jobedit", 5000);
}

static struct mlq_job *submit(struct mlq_ctx *c, const char *owner, int32_t retries)
{
    struct mlq_jobspec spec = sched_spec(owner, 1000, 0);
    spec.retries = retries;
    char id[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
    struct mlq_job *job = mlq_jobtab_get(c->jobs, id);
    assert_non_null(job);
    return job;
}

static int hold(struct mlq_ctx *c, const char *id, bool release, struct mlq_err *err)
{
    char *ids[] = {(char *)id};
    struct mlq_msg m = {.type = MLQ_MSG_HOLD, .rid = 1};
    m.u.hold.ids = ids;
    m.u.hold.nids = 1;
    m.u.hold.release = release;
    assert_int_equal(mlq_jobops_flush(c, NULL), 0); /* as the loop does before a request */
    static const struct mlq_peer peer = {.id = "cli", .len = 3};
    return mlq_jobedit_on_hold(c, &peer, &m, err);
}

static int update_mem(struct mlq_ctx *c, const char *id, int64_t mem, int64_t cpus_m,
                      struct mlq_err *err)
{
    struct mlq_msg m = {.type = MLQ_MSG_UPDATE, .rid = 2};
    m.u.update.job = (char *)id;
    m.u.update.set = MLQ_CHANGE_MEM | MLQ_CHANGE_CPUS;
    m.u.update.mem = mem;
    m.u.update.cpus_m = cpus_m;
    assert_int_equal(mlq_jobops_flush(c, NULL), 0);
    static const struct mlq_peer peer = {.id = "cli", .len = 3};
    return mlq_jobedit_on_update(c, &peer, &m, err);
}

/* "kind(actor):detail" of the job's events of the given kind, joined. */
static void events_of(struct mlq_ctx *c, const char *id, const char *kind, char *buf, size_t len)
{
    struct mlq_eventinfo *ev = NULL;
    uint32_t n = 0;
    assert_int_equal(mlq_store_events_list(c->store, id, 0, 0, &ev, &n, NULL), 0);
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < n && used < len; i++)
        if (strcmp(ev[i].kind, kind) == 0)
            used +=
                (size_t)snprintf(buf + used, len - used, "%s%s(%s):%s", used ? " " : "", ev[i].kind,
                                 ev[i].actor ? ev[i].actor : "", ev[i].detail ? ev[i].detail : "");
    mlq_store_eventinfo_array_free(&ev, n);
}

static void test_held_job_is_never_placed(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_ctx *c = &f->c;
    struct mlq_err err = {0};
    char id[MLQ_ID_LEN + 1], buf[512];
    sched_worker_up(c, "w1", 0);
    sched_speak_as(c, "alice", MLQ_ROLE_USER);
    mlq_store_set_actor(c->store, "user:alice");
    strcpy(id, submit(c, "alice", 0)->row.id);
    assert_int_equal(hold(c, id, false, &err), 0);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    struct mlq_job *job = mlq_jobtab_get(c->jobs, id);
    assert_int_equal(job->row.state, MLQ_JOB_PENDING);
    struct mlq_why why;
    mlq_why_explain(c, job, false, &why);
    assert_string_equal(why.blocker, "hold");
    assert_non_null(strstr(why.text, "held by alice at "));
    sched_commit(c);

    /* a restart keeps the hold */
    sched_fx_restart(f);
    c = &f->c;
    sched_worker_up(c, "w1", 0);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    job = mlq_jobtab_get(c->jobs, id);
    assert_non_null(job);
    assert_int_equal(job->row.state, MLQ_JOB_PENDING);
    assert_string_equal(job->row.spec.held_by, "alice");

    sched_speak_as(c, "alice", MLQ_ROLE_USER);
    mlq_store_set_actor(c->store, "user:alice");
    assert_int_equal(hold(c, id, true, &err), 0);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
    sched_commit(c);
    events_of(c, id, "hold", buf, sizeof buf);
    assert_string_equal(buf, "hold(user:alice):held by alice");
    events_of(c, id, "release", buf, sizeof buf);
    assert_string_equal(buf, "release(user:alice):released by alice (held by alice)");
}

static void test_only_owner_and_only_pending(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_err err = {0};
    sched_worker_up(c, "w1", 0);
    struct mlq_job *job = submit(c, "alice", 0);
    sched_speak_as(c, "bob", MLQ_ROLE_USER);
    assert_int_equal(hold(c, job->row.id, false, &err), MLQ_EPERM);
    assert_int_equal(update_mem(c, job->row.id, 2 * SCHED_GIB, 1000, &err), MLQ_EPERM);
    assert_null(job->row.spec.held_by);
    sched_speak_as(c, "root", MLQ_ROLE_ADMIN); /* an admin may */
    assert_int_equal(hold(c, job->row.id, false, &err), 0);
    assert_int_equal(hold(c, job->row.id, true, &err), 0);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(job->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(hold(c, job->row.id, false, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "is ASSIGNED; only pending jobs can be held"));
    assert_int_equal(update_mem(c, job->row.id, 2 * SCHED_GIB, 1000, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "is ASSIGNED; only pending jobs can be updated"));
}

static void test_update_checked_and_stored(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_ctx *c = &f->c;
    struct mlq_err err = {0};
    char id[MLQ_ID_LEN + 1], buf[512];
    sched_speak_as(c, "alice", MLQ_ROLE_USER);
    strcpy(id, submit(c, "alice", 0)->row.id);
    /* the submit's rules: zero CPUs is refused and changes nothing */
    assert_int_equal(update_mem(c, id, 2 * SCHED_GIB, 0, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "cpus must be between"));
    struct mlq_job *job = mlq_jobtab_get(c->jobs, id);
    assert_true(job->row.spec.mem == SCHED_GIB);
    assert_int_equal(update_mem(c, id, 2 * SCHED_GIB, 500, &err), 0);
    assert_true(job->row.spec.mem == 2 * SCHED_GIB);
    sched_commit(c);
    events_of(c, id, "update", buf, sizeof buf);
    assert_non_null(strstr(buf, "cpus 1 -> 0.5, mem 1G -> 2G"));
    sched_fx_restart(f);
    job = mlq_jobtab_get(f->c.jobs, id);
    assert_true(job->row.spec.mem == 2 * SCHED_GIB);
    assert_true(job->row.spec.cpus_m == 500);
    /* the resource columns follow the spec */
    struct mlq_jobinfo info;
    assert_int_equal(mlq_store_job_info_full(f->c.store, id, false, &info, NULL), 0);
    assert_true(info.mem == 2 * SCHED_GIB);
    mlq_proto_jobinfo_free(&info);
}

static struct mlq_msg finished(const struct mlq_job *job, enum mlq_outcome out, int code, int sig)
{
    struct mlq_msg m = {.type = MLQ_MSG_REPORT};
    memcpy(m.u.report.attempt_id, job->att->id, sizeof m.u.report.attempt_id);
    m.u.report.phase = MLQ_PHASE_FINISHED;
    m.u.report.outcome = out;
    m.u.report.exit_code = code;
    m.u.report.signal = sig;
    return m;
}

/* A start failure of the request itself uses no retry; one of the worker
 * does; an exit after mlq's SIGTERM at the time limit keeps both facts. */
static void test_start_failure_and_exit_after_term(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_store_job row;
    char id[MLQ_ID_LEN + 1];
    sched_worker_up(c, "w1", 0);
    struct mlq_job *a = submit(c, "alice", 3);
    strcpy(id, a->row.id);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    struct mlq_msg rep = finished(a, MLQ_OUT_START_FAILED, -1, 0);
    rep.u.report.detail = "train.py: command not found";
    rep.u.report.no_retry = true;
    assert_int_equal(mlq_jobops_finished(c, a, &rep, NULL), 0); /* a ended: may be freed */
    sched_commit(c);
    assert_int_equal(mlq_store_job_get(c->store, id, &row, NULL), 0);
    assert_int_equal(row.state, MLQ_JOB_FAILED);
    assert_int_equal(row.attempts, 1);
    assert_string_equal(row.reason, "could not start: train.py: command not found");
    mlq_store_job_free(&row);

    struct mlq_job *b = submit(c, "alice", 3);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    rep = finished(b, MLQ_OUT_START_FAILED, -1, 0);
    rep.u.report.detail = "cannot open the job's log files";
    assert_int_equal(mlq_jobops_finished(c, b, &rep, NULL), 0);
    assert_int_equal(b->row.state, MLQ_JOB_PENDING); /* retried */

    struct mlq_job *t = submit(c, "alice", 0);
    strcpy(id, t->row.id);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    rep = finished(t, MLQ_OUT_TIMED_OUT, 143, 15);
    assert_int_equal(mlq_jobops_finished(c, t, &rep, NULL), 0);
    sched_commit(c);
    assert_int_equal(mlq_store_job_get(c->store, id, &row, NULL), 0);
    assert_int_equal(row.state, MLQ_JOB_TIMED_OUT);
    assert_string_equal(row.reason, "timed out; exited 143 after SIGTERM");
    assert_int_equal(row.exit_code, 143);
    assert_int_equal(row.signal, 15);
    mlq_store_job_free(&row);
}

static int submit_key(struct mlq_ctx *c, const char *key, const char *env0, const char *env1,
                      char id[MLQ_ID_LEN + 1], struct mlq_err *err)
{
    struct mlq_msg m = {.type = MLQ_MSG_SUBMIT, .rid = 3};
    m.u.submit.spec = sched_spec("alice", 1000, 0);
    m.u.submit.spec.idempotency_key = strdup(key);
    char **env = calloc(2, sizeof *env);
    env[0] = strdup(env0);
    env[1] = strdup(env1);
    m.u.submit.spec.env = env;
    m.u.submit.spec.envc = 2;
    static const struct mlq_peer peer = {.id = "cli", .len = 3};
    size_t before = mlq_outbox_count(c->out);
    int rc = mlq_client_on_submit(c, &peer, &m, err);
    mlq_proto_jobspec_free(&m.u.submit.spec);
    if (rc == 0) {
        size_t len;
        const char *raw = mlq_outbox_body(c->out, before, &len);
        struct mlq_msg r;
        assert_int_equal(mlq_proto_decode(raw, len, &r, NULL), 0);
        memcpy(id, r.u.submitted.id, MLQ_ID_LEN + 1);
        mlq_proto_msg_free(&r);
    }
    return rc;
}

static void test_idempotency_key_other_request(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_err err = {0};
    char a[MLQ_ID_LEN + 1], b[MLQ_ID_LEN + 1];
    sched_speak_as(c, "alice", MLQ_ROLE_USER);
    assert_int_equal(submit_key(c, "k1", "A=1", "B=2", a, &err), 0);
    sched_commit(c);
    /* the same request, env in another order: the same job */
    assert_int_equal(submit_key(c, "k1", "B=2", "A=1", b, &err), 0);
    assert_string_equal(a, b);
    /* another request: refused, naming the first job */
    assert_int_equal(submit_key(c, "k1", "B=3", "A=1", b, &err), MLQ_EINVAL);
    char want[128];
    snprintf(want, sizeof want, "key k1 was used for a different request (job %.8s)", a);
    assert_string_equal(err.msg, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_held_job_is_never_placed, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_only_owner_and_only_pending, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_update_checked_and_stored, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_start_failure_and_exit_after_term, setup,
                                        sched_fx_close),
        cmocka_unit_test_setup_teardown(test_idempotency_key_other_request, setup, sched_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
