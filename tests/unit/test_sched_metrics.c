/* metrics: counters bumped by the real job operations on a real store, and
 * the rendered text checked line by line against the Prometheus text format
 * (HELP/TYPE, label escaping, cumulative buckets, +Inf, _sum/_count). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ctx.h"
#include "deps.h"
#include "fairshare.h"
#include "jobops.h"
#include "logrelay.h"
#include "metrics.h"
#include "version.h"
#include "sched_fixture.h"
#include "pipeline.h"
#include "queue.h"
#include "schedules.h"
#include "strmap.h"
#include "wproto.h"

struct fx {
    struct mlq_ctx c;
    char dir[64];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/mlq-test-metrics-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char path[128];
    snprintf(path, sizeof path, "%s/mlq.db", f->dir);
    struct mlq_ctx *c = &f->c;
    sched_ctx_open(c, path, 5000);
    c->metrics = mlq_metrics_create(f->dir);
    assert_non_null(c->metrics);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    mlq_metrics_destroy(&f->c.metrics);
    sched_ctx_close(&f->c);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static struct mlq_worker *up(struct mlq_ctx *c, const char *name, int gpus, int64_t cpus_m)
{
    struct mlq_worker *w = sched_worker_up(c, name, gpus);
    w->cpus_m = cpus_m;
    return w;
}

static struct mlq_job *submit(struct mlq_ctx *c, const char *owner, int64_t cpus_m, int32_t gpus,
                              const char *pool)
{
    struct mlq_jobspec spec = sched_spec(owner, cpus_m, gpus);
    spec.pool = pool ? strdup(pool) : NULL;
    char id[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
    struct mlq_job *job = mlq_jobtab_get(c->jobs, id);
    assert_non_null(job);
    return job;
}

static char *render(struct mlq_ctx *c)
{
    char *text;
    size_t len;
    assert_int_equal(mlq_metrics_render(c, &text, &len, NULL), 0);
    assert_int_equal(strlen(text), len);
    assert_true(len > 0 && text[len - 1] == '\n');
    return text;
}

/* The value of the sample line that starts with series + ' ', or fails. */
static double value_of(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    fail_msg("no sample %s", series);
    return -1;
}

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, line, n) == 0 && p[n] == '\n')
            return true;
    return false;
}

/* Submits, dispatches, starts and ends jobs through jobops; the counters
 * and gauges say exactly what happened. */
static void test_counters_follow_jobs(void **state)
{
    struct mlq_ctx *c = &((struct fx *)*state)->c;
    up(c, "w1", 2, 4000);
    struct mlq_job *a = submit(c, "alice", 1000, 1, NULL);
    struct mlq_job *b = submit(c, "bob", 1000, 0, NULL);
    submit(c, "bob", 64000, 0, NULL); /* fits nowhere: stays PENDING */
    sched_commit(c);
    c->now_wall += 2000; /* waited 2 s */
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    c->now_wall += 500;
    assert_int_equal(mlq_jobops_started(c, a, NULL), 0);
    assert_int_equal(mlq_jobops_started(c, b, NULL), 0);
    sched_commit(c);
    c->now_wall += 10000; /* a holds its GPU for 10.5 s in all */
    sched_report_exit(c, a, 0);
    sched_report_exit(c, b, 3);
    sched_commit(c);

    struct mlq_metrics_counts n;
    mlq_metrics_counts(c->metrics, &n);
    assert_int_equal(n.submitted, 3);
    assert_int_equal(n.dispatched, 2);
    assert_int_equal(n.started, 2);
    assert_int_equal(n.completed[MLQ_JOB_SUCCEEDED], 1);
    assert_int_equal(n.completed[MLQ_JOB_FAILED], 1);

    char *t = render(c);
    assert_true(value_of(t, "mlq_submissions_total{outcome=\"accepted\"}") == 3);
    assert_true(value_of(t, "mlq_dispatches_total{outcome=\"assigned\"}") == 2);
    assert_true(value_of(t, "mlq_completions_total{outcome=\"SUCCEEDED\"}") == 1);
    assert_true(value_of(t, "mlq_completions_total{outcome=\"FAILED\"}") == 1);
    assert_true(value_of(t, "mlq_completions_total{outcome=\"CANCELLED\"}") == 0);
    assert_true(value_of(t, "mlq_jobs{state=\"PENDING\",pool=\"default\"}") == 1);
    assert_true(value_of(t, "mlq_jobs{state=\"RUNNING\",pool=\"default\"}") == 0);
    assert_true(value_of(t, "mlq_jobs{state=\"SUCCEEDED\",pool=\"default\"}") == 1);
    /* queue wait: both waited 2 s; submit to start 2.5 s */
    assert_true(value_of(t, "mlq_queue_wait_seconds_count") == 2);
    assert_true(value_of(t, "mlq_queue_wait_seconds_sum") == 4.0);
    assert_true(value_of(t, "mlq_queue_wait_seconds_bucket{le=\"1\"}") == 0);
    assert_true(value_of(t, "mlq_queue_wait_seconds_bucket{le=\"5\"}") == 2);
    assert_true(value_of(t, "mlq_submit_to_start_seconds_sum") == 5.0);
    assert_true(value_of(t, "mlq_user_gpu_seconds_total{user=\"alice\"}") == 10.5);
    assert_true(value_of(t, "mlq_user_running_jobs{user=\"alice\"}") == 0);
    assert_true(value_of(t, "mlq_workers{state=\"UP\"}") == 1);
    assert_true(value_of(t, "mlq_cpus{pool=\"default\",resource=\"total\"}") == 4);
    assert_true(value_of(t, "mlq_gpus{pool=\"default\",gpu_type=\"unknown\",resource=\"total\"}") ==
                2);
    assert_true(value_of(t, "mlq_store_file_bytes{file=\"db\"}") > 0);
    free(t);
}

/* The text format's rules: every family has HELP and TYPE before its
 * samples, histogram buckets are cumulative and end with +Inf == _count. */
static void test_format(void **state)
{
    struct mlq_ctx *c = &((struct fx *)*state)->c;
    mlq_metrics_commit_us(c->metrics, 80);      /* le 0.0001 */
    mlq_metrics_commit_us(c->metrics, 700);     /* le 0.001 */
    mlq_metrics_commit_us(c->metrics, 5000000); /* +Inf only */
    char *t = render(c);
    assert_true(has_line(t, "# HELP mlq_store_commit_seconds Latency of the store's group commit "
                            "(one per loop iteration that wrote)."));
    assert_true(has_line(t, "# TYPE mlq_store_commit_seconds histogram"));
    assert_true(has_line(t, "# TYPE mlq_jobs gauge"));
    assert_true(has_line(t, "# TYPE mlq_completions_total counter"));
    assert_true(value_of(t, "mlq_store_commit_seconds_bucket{le=\"5e-05\"}") == 0);
    assert_true(value_of(t, "mlq_store_commit_seconds_bucket{le=\"0.0001\"}") == 1);
    assert_true(value_of(t, "mlq_store_commit_seconds_bucket{le=\"0.001\"}") == 2);
    assert_true(value_of(t, "mlq_store_commit_seconds_bucket{le=\"1\"}") == 2);
    assert_true(value_of(t, "mlq_store_commit_seconds_bucket{le=\"+Inf\"}") == 3);
    assert_true(value_of(t, "mlq_store_commit_seconds_count") == 3);
    assert_true(value_of(t, "mlq_store_commit_seconds_sum") == 5.00078);

    /* Every sample's family was announced by a TYPE line before it; every
     * line is a comment or "name{labels} value". */
    char seen[64][64];
    int nseen = 0;
    for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n")) {
        char name[64];
        if (sscanf(line, "# TYPE %63s", name) == 1) {
            assert_true(nseen < 64);
            strcpy(seen[nseen++], name);
            continue;
        }
        if (line[0] == '#') {
            assert_true(strncmp(line, "# HELP ", 7) == 0);
            continue;
        }
        size_t k = strcspn(line, "{ ");
        assert_true(k > 0 && k < sizeof name);
        memcpy(name, line, k);
        name[k] = '\0';
        bool ok = false;
        for (int i = 0; i < nseen && !ok; i++) {
            size_t l = strlen(seen[i]);
            ok = strncmp(name, seen[i], l) == 0 &&
                 (name[l] == '\0' || strcmp(name + l, "_bucket") == 0 ||
                  strcmp(name + l, "_sum") == 0 || strcmp(name + l, "_count") == 0);
        }
        if (!ok)
            fail_msg("sample before its TYPE: %s", line);
        const char *v = strrchr(line, ' ');
        assert_non_null(v);
        char *end;
        strtod(v + 1, &end);
        assert_true(*end == '\0');
    }
    free(t);
}

static void test_escaping(void **state)
{
    struct mlq_ctx *c = &((struct fx *)*state)->c;
    char out[64];
    assert_int_equal(mlq_metrics_escape("a\"b\\c\nd", out, sizeof out), 10);
    assert_string_equal(out, "a\\\"b\\\\c\\nd");
    assert_int_equal(mlq_metrics_escape("abcdef", out, 4), 6); /* truncates like snprintf */
    assert_string_equal(out, "abc");
    /* A pool name may hold a quote and a backslash (pool names are
     * printable ASCII without spaces): escaped in the label. */
    up(c, "w1", 0, 4000);
    submit(c, "alice", 1000, 0, "p\"q\\r");
    sched_commit(c);
    char *t = render(c);
    assert_true(value_of(t, "mlq_jobs{state=\"PENDING\",pool=\"p\\\"q\\\\r\"}") == 1);
    free(t);
}

/* The scheduler's release, and each worker's as it registered: a worker
 * that did not say has no series. */
static void test_versions(void **state)
{
    struct mlq_ctx *c = &((struct fx *)*state)->c;
    struct mlq_worker *w = up(c, "w1", 0, 4000);
    snprintf(w->version, sizeof w->version, "0.1.0");
    snprintf(w->git, sizeof w->git, "v0.1.0-3-g36d90e1");
    up(c, "w2", 0, 4000);
    char *t = render(c);
    char want[256];
    snprintf(want, sizeof want, "mlq_build_info{version=\"%s\",git=\"%s\"} 1", mlq_version(),
             mlq_version_git());
    assert_true(has_line(t, want));
    assert_true(has_line(
        t, "mlq_worker_build_info{worker=\"w1\",version=\"0.1.0\",git=\"v0.1.0-3-g36d90e1\"} 1"));
    assert_null(strstr(t, "worker=\"w2\",version"));
    free(t);
}

/* A free GPU is stranded while neither a ready GPU job nor a typical
 * request of the recent mix can use it: here the worker's CPUs are all
 * taken. With no GPU demand known, nothing is. */
static void test_stranded(void **state)
{
    struct mlq_ctx *c = &((struct fx *)*state)->c;
    up(c, "w1", 4, 2000);
    char *t = render(c);
    assert_true(value_of(t, "mlq_gpus_stranded{pool=\"default\",gpu_type=\"unknown\"}") == 0);
    free(t);
    submit(c, "alice", 2000, 1, NULL); /* takes all CPUs and one GPU */
    sched_commit(c);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    sched_commit(c);
    /* Nothing waits, but the typical GPU job (2 CPUs, 1 GPU) fits no more. */
    t = render(c);
    assert_true(value_of(t, "mlq_gpus_stranded{pool=\"default\",gpu_type=\"unknown\"}") == 3);
    free(t);
    submit(c, "bob", 1000, 1, NULL); /* needs CPUs w1 no longer has */
    sched_commit(c);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    t = render(c);
    assert_true(value_of(t, "mlq_gpus_stranded{pool=\"default\",gpu_type=\"unknown\"}") == 3);
    assert_true(
        value_of(t, "mlq_gpus{pool=\"default\",gpu_type=\"unknown\",resource=\"allocated\"}") == 1);
    assert_true(value_of(t, "mlq_user_running_jobs{user=\"alice\"}") == 1);
    free(t);
}

/* Heartbeat GPU load: exported per GPU; an allocated GPU at 0% counts idle
 * seconds from the first such heartbeat; GPUs not reported have no series. */
static void test_gpu_load(void **state)
{
    struct mlq_ctx *c = &((struct fx *)*state)->c;
    struct mlq_worker *w = up(c, "w1", 3, 4000);
    struct mlq_job *a = submit(c, "alice", 1000, 1, NULL); /* gets GPU 0 */
    sched_commit(c);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    sched_commit(c);
    assert_int_equal(w->gpu_used, 1);
    (void)a;
    c->who.roles = MLQ_ROLE_WORKER;
    snprintf(c->who.name, sizeof c->who.name, "w1");
    struct mlq_gpuload load[] = {{.index = 0, .util = 0, .mem_used = 1000, .mem_total = 8000},
                                 {.index = 1, .util = 55, .mem_used = 2000, .mem_total = 8000}};
    struct mlq_msg hb = {.type = MLQ_MSG_HEARTBEAT};
    hb.u.heartbeat.name = "w1";
    hb.u.heartbeat.gpu_load = load;
    hb.u.heartbeat.ngpu_load = 2;
    assert_int_equal(mlq_wproto_on_heartbeat(c, &w->peer, &hb, NULL), 0);
    c->now_mono += 90000;
    assert_int_equal(mlq_wproto_on_heartbeat(c, &w->peer, &hb, NULL), 0);
    char *t = render(c);
    assert_true(
        value_of(t, "mlq_gpu_utilization_ratio{worker=\"w1\",gpu=\"0\",gpu_type=\"unknown\"}") ==
        0);
    assert_true(
        value_of(t, "mlq_gpu_utilization_ratio{worker=\"w1\",gpu=\"1\",gpu_type=\"unknown\"}") ==
        0.55);
    assert_true(
        value_of(t, "mlq_gpu_memory_used_bytes{worker=\"w1\",gpu=\"1\",gpu_type=\"unknown\"}") ==
        2000);
    assert_true(value_of(t, "mlq_gpu_idle_seconds{worker=\"w1\",gpu=\"0\",gpu_type=\"unknown\"}") ==
                90);
    assert_true(value_of(t, "mlq_gpu_idle_seconds{worker=\"w1\",gpu=\"1\",gpu_type=\"unknown\"}") ==
                0);
    assert_null(strstr(t, "gpu=\"2\"")); /* not reported: no series */
    free(t);
    load[0].util = 3; /* busy again */
    assert_int_equal(mlq_wproto_on_heartbeat(c, &w->peer, &hb, NULL), 0);
    t = render(c);
    assert_true(value_of(t, "mlq_gpu_idle_seconds{worker=\"w1\",gpu=\"0\",gpu_type=\"unknown\"}") ==
                0);
    free(t);
    mlq_outbox_destroy(&c->out); /* the acks */
    c->out = mlq_outbox_create();
}

/* Series past the caps are summed into "(other)"; the text stays bounded. */
static void test_user_cap(void **state)
{
    struct mlq_ctx *c = &((struct fx *)*state)->c;
    char name[32];
    for (int i = 0; i < MLQ_METRICS_MAX_USERS + 5; i++) {
        snprintf(name, sizeof name, "u%d", i);
        mlq_metrics_gpu_time(c->metrics, name, 1, 1000, 2000);
    }
    char *t = render(c);
    assert_true(value_of(t, "mlq_user_gpu_seconds_total{user=\"u0\"}") == 1);
    assert_true(value_of(t, "mlq_user_gpu_seconds_total{user=\"(other)\"}") == 5);
    assert_null(strstr(t, "user=\"u1000\""));
    free(t);
}

/* The text of the last reply queued in the outbox. */
static char *last_reply(struct mlq_ctx *c)
{
    size_t n = mlq_outbox_count(c->out), len;
    assert_true(n > 0);
    const char *body = mlq_outbox_body(c->out, n - 1, &len);
    struct mlq_msg m;
    assert_int_equal(mlq_proto_decode(body, len, &m, NULL), 0);
    assert_int_equal(m.type, MLQ_MSG_METRICS_TEXT);
    char *t = strdup(m.u.metrics_text.text);
    mlq_proto_msg_free(&m);
    return t;
}

/* The `metrics` request renders at most once per MLQ_METRICS_CACHE_MS:
 * within it the same text comes back, after it a fresh one. */
static void test_request_cache(void **state)
{
    struct mlq_ctx *c = &((struct fx *)*state)->c;
    struct mlq_peer peer = {.len = 3};
    memcpy(peer.id, "cli", 3);
    struct mlq_msg req = {.type = MLQ_MSG_METRICS, .rid = 7};
    assert_int_equal(mlq_metrics_on_request(c, &peer, &req, NULL), 0);
    char *a = last_reply(c);
    assert_true(value_of(a, "mlq_submissions_total{outcome=\"accepted\"}") == 0);
    submit(c, "alice", 1000, 0, NULL);
    sched_commit(c);
    c->now_mono += MLQ_METRICS_CACHE_MS - 1;
    assert_int_equal(mlq_metrics_on_request(c, &peer, &req, NULL), 0);
    char *b = last_reply(c);
    assert_string_equal(a, b); /* served again */
    c->now_mono += 1;
    assert_int_equal(mlq_metrics_on_request(c, &peer, &req, NULL), 0);
    char *d = last_reply(c);
    assert_true(value_of(d, "mlq_submissions_total{outcome=\"accepted\"}") == 1);
    free(a);
    free(b);
    free(d);
}

/* Pools (x GPU types) past the cap are summed into one row. */
static void test_pool_cap(void **state)
{
    struct mlq_ctx *c = &((struct fx *)*state)->c;
    char name[32];
    for (int i = 0; i < 40; i++) { /* two rows each: CPUs, and GPUs of type unknown */
        snprintf(name, sizeof name, "w%d", i);
        struct mlq_worker *w = up(c, name, 1, 1000);
        snprintf(w->pool, sizeof w->pool, "p%d", i);
    }
    char *t = render(c);
    assert_true(value_of(t, "mlq_cpus{pool=\"p0\",resource=\"total\"}") == 1);
    assert_true(value_of(t, "mlq_gpus{pool=\"p31\",gpu_type=\"unknown\",resource=\"total\"}") == 1);
    assert_null(strstr(t, "pool=\"p32\""));
    assert_true(value_of(t, "mlq_cpus{pool=\"(other pools)\",resource=\"total\"}") == 8);
    assert_true(value_of(t, "mlq_gpus{pool=\"(other pools)\",gpu_type=\"(other)\",resource="
                            "\"total\"}") == 8);
    free(t);
}

/* What a scrape costs with a long queue (MLQ_METRICS_BENCH=N pending jobs;
 * skipped without it): printed, and bounded loosely so a regression to
 * something quadratic fails. */
static void test_render_cost(void **state)
{
    struct mlq_ctx *c = &((struct fx *)*state)->c;
    const char *env = getenv("MLQ_METRICS_BENCH");
    long n = env ? strtol(env, NULL, 10) : 0;
    if (n <= 0)
        skip();
    up(c, "w1", 8, 1000);
    for (long i = 0; i < n; i++) {
        char owner[16];
        snprintf(owner, sizeof owner, "u%ld", i % 50);
        submit(c, owner, 2000, (int32_t)(i % 3), i % 2 ? "a" : NULL); /* fits nowhere */
        if (i % 1000 == 999)
            sched_commit(c);
    }
    sched_commit(c);
    int64_t t0 = mlq_metrics_now_us();
    char *t = render(c);
    int64_t us = mlq_metrics_now_us() - t0;
    printf("render with %ld pending jobs: %.2f ms, %zu bytes\n", n, us / 1000.0, strlen(t));
    assert_true(value_of(t, "mlq_jobs{state=\"PENDING\",pool=\"a\"}") == (double)(n / 2));
    assert_true(us < 2000000);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_counters_follow_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format, setup, teardown),
        cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stranded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gpu_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_render_cost, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
