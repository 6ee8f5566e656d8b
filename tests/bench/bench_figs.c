/* bench_figs: throughput and memory figures (see bench_figs.h). The
 * latency and placement figures live in bench_timing.c. */
#include "bench_figs.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "bench_load.h"
#include "bench_proc.h"
#include "bench_sim.h"
#include "bench_util.h"

#define REPLY_TIMEOUT_MS 60000
#define PIPELINE_DEPTH   256
#define SINGLE_CLIENTS   8
#define JOB_CPUS_M       1000
#define JOB_MEM          (64LL << 20)
#define SIM_CPUS_M       64000
#define SIM_MEM          (256LL << 30)
#define STALL_TIMEOUT_NS (60LL * 1000000000) /* no progress this long: fail */

void bfig_print(const struct benv *e, const char *name, double value, int decimals,
                const char *unit)
{
    printf("%s%s: %.*f %s\n", e->lab ? "lab." : "", name, decimals, value, unit);
    fflush(stdout);
}

void bfig_skip(const struct benv *e, const char *name, const char *why)
{
    printf("%s%s: skipped (%s)\n", e->lab ? "lab." : "", name, why);
    fflush(stdout);
}

/* One run: fresh scheduler, njobs submitted by clients x depth. */
static int submit_run(struct benv *e, int clients, int depth, uint64_t njobs, double *rate,
                      struct mlq_err *err)
{
    int rc = benv_run_start(e, err);
    char *argv[] = {"/bin/true"};
    struct mlq_jobspec spec;
    benv_spec(e, &spec, argv, 1, JOB_CPUS_M, JOB_MEM);
    struct bload_opts o = {.endpoint = e->endpoint,
                           .clients = clients,
                           .depth = depth,
                           .njobs = njobs,
                           .spec = &spec,
                           .timeout_ms = REPLY_TIMEOUT_MS,
                           .stop = e->stop};
    benv_load_keys(e, &o);
    struct bload_result res;
    if (rc == 0 && (rc = bload_run(e->zctx, &o, &res)) < 0)
        *err = res.err;
    if (rc == 0)
        rc = benv_check_alive(e, err);
    if (rc == 0)
        *rate = (double)njobs / bu_secs(res.end_ns - res.start_ns);
    benv_run_end(e, rc < 0);
    return rc;
}

static int submit_figure(struct benv *e, const struct bfig_cfg *c, const char *name, int clients,
                         int depth, uint64_t njobs, struct mlq_err *err)
{
    double rates[BU_MAX_REPS];
    int n = c->reps < BU_MAX_REPS ? c->reps : BU_MAX_REPS;
    for (int i = 0; i < n; i++) {
        int rc = submit_run(e, clients, depth, njobs, &rates[i], err);
        if (rc < 0)
            return rc;
        fprintf(stderr, "# %s run %d/%d: %.0f jobs/s (%llu jobs)\n", name, i + 1, n, rates[i],
                (unsigned long long)njobs);
    }
    bfig_print(e, name, bu_median(rates, n), 0, "jobs/s");
    return 0;
}

int bfig_submit_single(struct benv *e, const struct bfig_cfg *c, struct mlq_err *err)
{
    return submit_figure(e, c, "submit_single_per_s", SINGLE_CLIENTS, 1, c->single_jobs, err);
}

int bfig_submit_bulk(struct benv *e, const struct bfig_cfg *c, struct mlq_err *err)
{
    return submit_figure(e, c, "submit_bulk_per_s", 1, PIPELINE_DEPTH, c->bulk_jobs, err);
}

/* Polls the fleet until every job's finished report was acknowledged. */
static int await_finished(struct benv *e, struct bsim *sim, uint64_t njobs,
                          struct bload_thread *load, struct mlq_err *err)
{
    const struct bsim_stats *st = bsim_stats(sim);
    uint64_t seen = 0;
    int64_t progress_ns = bproc_now_ns();
    while (st->finished_acked < njobs) {
        if (benv_stopped(e))
            return mlq_err_set(err, MLQ_EINVAL, "interrupted");
        if (atomic_load(&load->done) && load->res.rc < 0) {
            *err = load->res.err;
            return load->res.rc;
        }
        int rc = bsim_poll(sim, 50, err);
        if (rc < 0)
            return rc;
        if (st->finished_acked != seen) {
            seen = st->finished_acked;
            progress_ns = bproc_now_ns();
        } else if (bproc_now_ns() - progress_ns > STALL_TIMEOUT_NS) {
            return mlq_err_set(err, MLQ_EUNREACH, "stalled at %llu of %llu jobs finished",
                               (unsigned long long)seen, (unsigned long long)njobs);
        }
    }
    return 0;
}

/* Every job the load submitted must have ended SUCCEEDED: no job is left
 * in any other state. */
static int check_all_succeeded(struct benv *e, const struct bsim_stats *st, struct mlq_err *err)
{
    if (st->fenced || st->errors)
        return mlq_err_set(err, MLQ_EPROTO, "%llu fenced reports, %llu errors (last: %s)",
                           (unsigned long long)st->fenced, (unsigned long long)st->errors,
                           st->last_error);
    void *sock = NULL;
    int rc = benv_dealer(e, &sock, err);
    static const enum mlq_job_state others[] = {MLQ_JOB_PENDING,   MLQ_JOB_ASSIGNED,
                                                MLQ_JOB_RUNNING,   MLQ_JOB_FAILED,
                                                MLQ_JOB_CANCELLED, MLQ_JOB_TIMED_OUT};
    for (size_t i = 0; rc == 0 && i < sizeof others / sizeof others[0]; i++) {
        uint32_t n = 0;
        rc = benv_count_state(sock, others[i], 1, &n, err);
        if (rc == 0 && n > 0)
            rc = mlq_err_set(err, MLQ_ESTATE, "a job is still %s", mlq_job_state_name(others[i]));
    }
    benv_close(&sock);
    return rc;
}

/* The benchmark's own CPU time (all its threads: the loading client, the
 * simulated workers, their ZeroMQ I/O threads), in microseconds. */
static int64_t self_cpu_us(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_usec;
}

static int dispatch_body(struct benv *e, const struct bfig_cfg *c, double *rate,
                         struct mlq_err *err)
{
    struct bsim_opts so = {e->endpoint, "sim", c->dispatch_workers, SIM_CPUS_M, SIM_MEM, false};
    struct bsim *sim = NULL;
    int rc = benv_sim_create(e, &so, &sim, err);
    if (rc == 0)
        rc = bu_await_registered(e, sim, (uint64_t)c->dispatch_workers, err);
    char *argv[] = {"/bin/true"};
    struct mlq_jobspec spec;
    benv_spec(e, &spec, argv, 1, JOB_CPUS_M, JOB_MEM);
    struct bload_opts o = {.endpoint = e->endpoint,
                           .clients = 1,
                           .depth = PIPELINE_DEPTH,
                           .njobs = c->dispatch_jobs,
                           .spec = &spec,
                           .timeout_ms = REPLY_TIMEOUT_MS,
                           .stop = e->stop};
    benv_load_keys(e, &o);
    struct bload_thread load;
    int64_t cpu0 = self_cpu_us();
    int64_t t0 = bproc_now_ns();
    bool spawned = rc == 0 && (rc = bload_spawn(e->zctx, &o, &load, err)) == 0;
    if (rc == 0)
        rc = await_finished(e, sim, c->dispatch_jobs, &load, err);
    int64_t t1 = bproc_now_ns();
    if (spawned && bload_join(&load) < 0 && rc == 0) {
        rc = load.res.rc;
        *err = load.res.err;
    }
    if (rc == 0)
        rc = check_all_succeeded(e, bsim_stats(sim), err);
    if (rc == 0) {
        *rate = (double)c->dispatch_jobs / bu_secs(t1 - t0);
        /* so that one can tell whether the benchmark itself is the bound */
        fprintf(stderr,
                "# workers got %llu assigns in %llu batch messages and sent %llu batch "
                "messages; the benchmark's own CPU: %.1f us per job\n",
                (unsigned long long)bsim_stats(sim)->assigned,
                (unsigned long long)bsim_stats(sim)->batches,
                (unsigned long long)bsim_stats(sim)->batches_sent,
                (double)(self_cpu_us() - cpu0) / (double)c->dispatch_jobs);
    }
    bsim_destroy(&sim);
    return rc;
}

int bfig_dispatch(struct benv *e, const struct bfig_cfg *c, struct mlq_err *err)
{
    double rates[BU_MAX_REPS];
    int n = c->reps < BU_MAX_REPS ? c->reps : BU_MAX_REPS;
    for (int i = 0; i < n; i++) {
        int rc = benv_run_start(e, err);
        if (rc == 0)
            rc = dispatch_body(e, c, &rates[i], err);
        if (rc == 0)
            rc = benv_check_alive(e, err);
        benv_run_end(e, rc < 0);
        if (rc < 0)
            return rc;
        fprintf(stderr, "# dispatch_per_s run %d/%d: %.0f jobs/s (%llu jobs, %d workers)\n", i + 1,
                n, rates[i], (unsigned long long)c->dispatch_jobs, c->dispatch_workers);
    }
    bfig_print(e, "dispatch_per_s", bu_median(rates, n), 0, "jobs/s");
    return 0;
}

/* Submits njobs more (pipelined) and prints the scheduler's RSS. */
static int rss_step(struct benv *e, uint64_t njobs, uint64_t total, const char *name,
                    struct mlq_err *err)
{
    char *argv[] = {"/bin/true"};
    struct mlq_jobspec spec;
    benv_spec(e, &spec, argv, 1, JOB_CPUS_M, JOB_MEM);
    struct bload_opts o = {.endpoint = e->endpoint,
                           .clients = 1,
                           .depth = PIPELINE_DEPTH,
                           .njobs = njobs,
                           .spec = &spec,
                           .timeout_ms = REPLY_TIMEOUT_MS,
                           .stop = e->stop};
    benv_load_keys(e, &o);
    struct bload_result res;
    int rc = bload_run(e->zctx, &o, &res);
    if (rc < 0) {
        *err = res.err;
        return rc;
    }
    int64_t kib = bproc_rss_kib(e->sched_pid, err);
    if (kib < 0)
        return (int)kib;
    fprintf(stderr, "# %llu pending jobs: submitted %llu at %.0f jobs/s\n",
            (unsigned long long)total, (unsigned long long)njobs,
            (double)njobs / bu_secs(res.end_ns - res.start_ns));
    bfig_print(e, name, (double)kib / 1024.0, 1, "MiB");
    return 0;
}

int bfig_rss(struct benv *e, const struct bfig_cfg *c, struct mlq_err *err)
{
    int rc = benv_run_start(e, err);
    if (rc == 0)
        rc = rss_step(e, c->rss_small, c->rss_small, "rss_100k_pending_mib", err);
    if (rc == 0 && c->rss_big > c->rss_small)
        rc = rss_step(e, c->rss_big - c->rss_small, c->rss_big, "rss_1m_pending_mib", err);
    else if (rc == 0)
        bfig_skip(e, "rss_1m_pending_mib", "quick");
    if (rc == 0)
        rc = benv_check_alive(e, err);
    benv_run_end(e, rc < 0);
    return rc;
}

/* One `mlq submit --array 0-9999`: a single request that must create the
 * array and its 10,000 tasks in one transaction (target: under a second). */
static int array_run(struct benv *e, double *ms, struct mlq_err *err)
{
    int rc = benv_run_start(e, err);
    void *sock = NULL;
    if (rc == 0)
        rc = benv_dealer(e, &sock, err);
    char *argv[] = {"/bin/true"};
    struct mlq_msg req = {.type = MLQ_MSG_SUBMIT, .rid = 1}, reply = {0};
    benv_spec(e, &req.u.submit.spec, argv, 1, JOB_CPUS_M, JOB_MEM);
    req.u.submit.spec.array = "0-9999";
    int64_t t0 = bproc_now_ns();
    if (rc == 0)
        rc = bload_request(sock, &req, &reply, REPLY_TIMEOUT_MS, err);
    int64_t t1 = bproc_now_ns();
    if (rc == 0 && reply.type != MLQ_MSG_SUBMITTED)
        rc = mlq_err_set(err, MLQ_EPROTO, "array submit answered %s: %s",
                         mlq_proto_type_name(reply.type),
                         reply.type == MLQ_MSG_ERROR && reply.u.error.msg ? reply.u.error.msg : "");
    mlq_proto_msg_free(&reply);
    benv_close(&sock);
    *ms = (double)(t1 - t0) / 1e6;
    benv_run_end(e, rc < 0);
    return rc;
}

int bfig_array(struct benv *e, const struct bfig_cfg *c, struct mlq_err *err)
{
    double ms[BU_MAX_REPS];
    int n = c->reps < BU_MAX_REPS ? c->reps : BU_MAX_REPS;
    for (int i = 0; i < n; i++) {
        int rc = array_run(e, &ms[i], err);
        if (rc < 0)
            return rc;
        fprintf(stderr, "# submit_array_10k run %d/%d: %.1f ms\n", i + 1, n, ms[i]);
    }
    bfig_print(e, "submit_array_10k_ms", bu_median(ms, n), 1, "ms");
    return 0;
}
