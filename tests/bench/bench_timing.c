/* bench_timing: the latency figures, submit-to-start on a real worker and
 * one placement decision under a long queue (see bench_figs.h). */
#include "bench_figs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench_load.h"
#include "bench_proc.h"
#include "bench_sim.h"
#include "bench_util.h"

#define REPLY_TIMEOUT_MS 60000
#define START_TIMEOUT_NS (10LL * 1000000000)
#define STAMP_POLL_US    100   /* how often to look for the stamp file */
#define STATE_POLL_US    2000  /* how often to ask for the job's state */
#define IDLE_GAP_US      50000 /* after a job: let the worker finish its log upload */
#define PIPELINE_DEPTH   256
#define PLACE_CPUS_M     1000 /* a simulated worker's CPUs, and a small job's */
#define PLACE_MEM        (1LL << 30)
#define SMALL_MEM        (64LL << 20)
#define DECISION_TIMEOUT 600000 /* ms: a pass that takes longer is a hang */
#define MAX_SAMPLES      100000

/* ---- submit-to-start ---------------------------------------------------- */

/* Waits for the job's stamp file and returns the monotonic ns it holds. */
static int read_stamp(struct benv *e, const char *path, int64_t *ns, struct mlq_err *err)
{
    int64_t deadline = bproc_now_ns() + START_TIMEOUT_NS;
    struct stat sb;
    while (stat(path, &sb) < 0) {
        if (errno != ENOENT || benv_stopped(e) || bproc_now_ns() > deadline)
            return mlq_err_set(err, MLQ_EUNREACH, "the job did not start within 10 s (%s)", path);
        bproc_sleep_us(STAMP_POLL_US);
    }
    FILE *f = fopen(path, "re");
    long long v = 0;
    bool ok = f && fscanf(f, "%lld", &v) == 1;
    if (f)
        fclose(f);
    if (!ok)
        return mlq_err_set(err, MLQ_EIO, "cannot read %s", path);
    *ns = v;
    return 0;
}

/* Polls `jobs` until the job is SUCCEEDED (the worker is then idle again). */
static int await_success(struct benv *e, void *sock, const char *id, struct mlq_err *err)
{
    int64_t deadline = bproc_now_ns() + START_TIMEOUT_NS;
    for (;;) {
        enum mlq_job_state st;
        int rc = benv_job_state(sock, id, &st, err);
        if (rc < 0)
            return rc;
        if (st == MLQ_JOB_SUCCEEDED)
            return 0;
        if (mlq_job_state_terminal(st) || benv_stopped(e) || bproc_now_ns() > deadline)
            return mlq_err_set(err, MLQ_ESTATE, "job %.8s is %s, not SUCCEEDED", id,
                               mlq_job_state_name(st));
        bproc_sleep_us(STATE_POLL_US);
    }
}

/* One sample: ms from sending `submit` to the job's first instruction
 * (*start_ms), and to the `submitted` reply (*reply_ms). */
static int one_start(struct benv *e, void *sock, int i, double *start_ms, double *reply_ms,
                     struct mlq_err *err)
{
    char bin[BENV_PATH + 32], path[BENV_PATH + 64];
    snprintf(bin, sizeof bin, "%s/mlq-bench-stamp", e->bin_dir);
    snprintf(path, sizeof path, "%s/stamp-%d", e->run_dir, i);
    char *argv[] = {bin, path};
    struct mlq_msg req = {.type = MLQ_MSG_SUBMIT, .rid = (uint64_t)i + 1}, reply;
    benv_spec(e, &req.u.submit.spec, argv, 2, PLACE_CPUS_M, SMALL_MEM);
    int64_t t0 = bproc_now_ns(), started = 0;
    int rc = bload_request(sock, &req, &reply, REPLY_TIMEOUT_MS, err);
    if (rc < 0)
        return rc;
    *reply_ms = (double)(bproc_now_ns() - t0) / 1e6;
    char id[MLQ_ID_LEN + 1];
    snprintf(id, sizeof id, "%s", reply.u.submitted.id);
    mlq_proto_msg_free(&reply);
    rc = read_stamp(e, path, &started, err);
    if (rc == 0)
        rc = await_success(e, sock, id, err);
    *start_ms = (double)(started - t0) / 1e6;
    return rc;
}

/* v[0..n) get the submit-to-start samples, v[n..2n) the submit-to-reply
 * ones. */
static int latency_body(struct benv *e, int n, double *v, struct mlq_err *err)
{
    int rc = benv_worker_start(e, BENV_WORKER, err);
    void *sock = NULL;
    if (rc == 0)
        rc = benv_dealer(e, &sock, err);
    for (int i = 0; rc == 0 && i < n; i++) {
        rc = one_start(e, sock, i, &v[i], &v[n + i], err);
        bproc_sleep_us(IDLE_GAP_US);
    }
    benv_close(&sock);
    return rc;
}

int bfig_latency(struct benv *e, const struct bfig_cfg *c, struct mlq_err *err)
{
    int n = c->latency_jobs < MAX_SAMPLES ? c->latency_jobs : MAX_SAMPLES;
    n = n > 0 ? n : 1;
    double *v = calloc(2 * (size_t)n, sizeof *v);
    if (!v)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    bool secure = e->secure;
    e->secure = true; /* a real worker, which needs keys as root */
    int rc = benv_run_start(e, err);
    if (rc == 0)
        rc = latency_body(e, n, v, err);
    if (rc == 0)
        rc = benv_check_alive(e, err);
    benv_run_end(e, rc < 0);
    e->secure = secure;
    if (rc == 0) {
        fprintf(stderr,
                "# submit_to_start: %d jobs, min %.2f ms, max %.2f ms; the `submitted` reply "
                "(durable commit) came after %.2f ms (median)\n",
                n, bu_percentile(v, n, 0), bu_percentile(v, n, 100), bu_median(v + n, n));
        bfig_print(e, "submit_to_start_p50_ms", bu_percentile(v, n, 50), 2, "ms");
        bfig_print(e, "submit_to_start_p99_ms", bu_percentile(v, n, 99), 2, "ms");
    }
    free(v);
    return rc;
}

/* ---- placement ---------------------------------------------------------- */

/* Submits n jobs of cpus_m (in `shapes` sizes from there up) while sim
 * keeps answering. */
static int submit_polling(struct benv *e, struct bsim *sim, uint64_t n, int64_t cpus_m,
                          uint32_t shapes, struct mlq_err *err)
{
    char *argv[] = {"/bin/true"};
    struct mlq_jobspec spec;
    benv_spec(e, &spec, argv, 1, cpus_m, SMALL_MEM);
    struct bload_opts o = {.endpoint = e->endpoint,
                           .clients = 1,
                           .depth = PIPELINE_DEPTH,
                           .njobs = n,
                           .spec = &spec,
                           .shapes = shapes,
                           .timeout_ms = REPLY_TIMEOUT_MS,
                           .stop = e->stop};
    benv_load_keys(e, &o);
    struct bload_result res;
    return bu_load_polling(e, sim, &o, &res, err);
}

/* One decision: worker idx ends its job, which frees exactly the room of
 * one small job; the time until the `assign` of the next one arrives. */
static int one_decision(struct benv *e, struct bsim *sim, int idx, double *us, struct mlq_err *err)
{
    const struct bsim_stats *st = bsim_stats(sim);
    uint64_t assigned = st->assigned, started = st->started_acked, done = st->finished_acked;
    int64_t t0 = bproc_now_ns();
    int rc = bsim_finish(sim, idx, err);
    if (rc == 0)
        rc = bu_await_count(e, sim, &st->assigned, assigned + 1, DECISION_TIMEOUT, err);
    if (rc < 0)
        return rc;
    *us = (double)(st->last_assign_ns - t0) / 1e3;
    if (st->last_assign_worker != idx)
        return mlq_err_set(err, MLQ_ESTATE, "the job went to worker %d, not %d",
                           st->last_assign_worker, idx);
    /* Quiet again before the next sample: both reports acknowledged. */
    rc = bu_await_count(e, sim, &st->finished_acked, done + 1, DECISION_TIMEOUT, err);
    if (rc == 0)
        rc = bu_await_count(e, sim, &st->started_acked, started + 1, DECISION_TIMEOUT, err);
    return rc;
}

/* reps decisions; returns their mean in *mean_us. */
static int decisions(struct benv *e, struct bsim *sim, const struct bfig_cfg *c, int first,
                     double *mean_us, struct mlq_err *err)
{
    double *v = calloc((size_t)c->place_reps, sizeof *v);
    if (!v)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    int rc = 0;
    for (int i = 0; rc == 0 && i < c->place_reps; i++)
        rc = one_decision(e, sim, (first + i) % c->place_workers, &v[i], err);
    if (rc == 0) {
        *mean_us = bu_mean(v, c->place_reps);
        double median = bu_median(v, c->place_reps); /* sorts v */
        fprintf(stderr,
                "#   %d decisions: mean %.0f us, median %.0f us, min %.0f us, max %.0f us\n",
                c->place_reps, *mean_us, median, v[0], v[c->place_reps - 1]);
    }
    free(v);
    return rc;
}

/* Fills every worker with one small job (held running). */
static int fill_workers(struct benv *e, struct bsim *sim, const struct bfig_cfg *c,
                        struct mlq_err *err)
{
    const struct bsim_stats *st = bsim_stats(sim);
    uint64_t n = (uint64_t)c->place_workers;
    int rc = bu_await_registered(e, sim, n, err);
    if (rc == 0)
        rc = submit_polling(e, sim, n, PLACE_CPUS_M, 1, err);
    if (rc == 0)
        rc = bu_await_count(e, sim, &st->started_acked, n, REPLY_TIMEOUT_MS, err);
    return rc;
}

struct place_result {
    double base_us; /* mean decision with only the small jobs queued */
    double full_us; /* mean decision behind the jobs that fit nowhere */
};

/* Baseline: the same event with only the small jobs queued. */
static int baseline(struct benv *e, struct bsim *sim, const struct bfig_cfg *c, double *us,
                    struct mlq_err *err)
{
    int rc = submit_polling(e, sim, (uint64_t)c->place_reps, PLACE_CPUS_M, 1, err);
    if (rc == 0) {
        fprintf(stderr, "# placement baseline (%d workers, %d jobs queued):\n", c->place_workers,
                c->place_reps);
        rc = decisions(e, sim, c, 0, us, err);
    }
    return rc;
}

/* The figure: jobs that fit nowhere (more CPUs than any worker has), in
 * `shapes` different sizes, queued ahead of the small ones. */
static int behind_queue(struct benv *e, struct bsim *sim, const struct bfig_cfg *c, uint32_t shapes,
                        double *us, struct mlq_err *err)
{
    int rc = submit_polling(e, sim, c->place_pending, PLACE_CPUS_M + 1, shapes, err);
    if (rc == 0)
        rc = submit_polling(e, sim, (uint64_t)c->place_reps, PLACE_CPUS_M, 1, err);
    if (rc == 0) {
        fprintf(stderr,
                "# placement (%d workers, %llu jobs in %u shapes + %d small jobs queued):\n",
                c->place_workers, (unsigned long long)c->place_pending, shapes, c->place_reps);
        rc = decisions(e, sim, c, c->place_reps, us, err);
    }
    return rc;
}

static int placement_run(struct benv *e, const struct bfig_cfg *c, uint32_t shapes,
                         struct place_result *r, struct mlq_err *err)
{
    int rc = benv_run_start(e, err);
    struct bsim_opts so = {e->endpoint, "sim", c->place_workers, PLACE_CPUS_M, PLACE_MEM, true};
    struct bsim *sim = NULL;
    if (rc == 0)
        rc = benv_sim_create(e, &so, &sim, err);
    if (rc == 0)
        rc = fill_workers(e, sim, c, err);
    if (rc == 0 && shapes == 1)
        rc = baseline(e, sim, c, &r->base_us, err);
    if (rc == 0)
        rc = behind_queue(e, sim, c, shapes, &r->full_us, err);
    bsim_destroy(&sim);
    if (rc == 0)
        rc = benv_check_alive(e, err);
    benv_run_end(e, rc < 0);
    return rc;
}

int bfig_placement(struct benv *e, const struct bfig_cfg *c, struct mlq_err *err)
{
    struct place_result r = {0};
    int rc = placement_run(e, c, 1, &r, err);
    if (rc < 0)
        return rc;
    bfig_print(e, "placement_us", r.full_us, 0, "us");
    bfig_print(e, "placement_baseline_us", r.base_us, 0, "us");
    if (c->place_shapes <= 1) {
        bfig_skip(e, "placement_shapes_us", "quick");
        return 0;
    }
    rc = placement_run(e, c, c->place_shapes, &r, err);
    if (rc == 0)
        bfig_print(e, "placement_shapes_us", r.full_us, 0, "us");
    return rc;
}
