/* bench_gang: gang placement (see bench_figs.h and README.md, "Benchmarks").
 *
 * A fleet of simulated workers of one CPU each, so that every node part of
 * a gang needs a worker of its own and the scheduler must pick N distinct
 * workers out of the whole fleet for every gang. The simulated workers offer
 * rendezvous ports (register rdv_ports) and answer each part's `assign` at
 * once with started then finished, so a gang ends as soon as all its parts
 * have been placed and acknowledged. */
#include "bench_figs.h"

#include <stdio.h>
#include <stdlib.h>

#include "bench_load.h"
#include "bench_proc.h"
#include "bench_sim.h"
#include "bench_util.h"

#define GANG_CPUS_M      1000
#define GANG_MEM         (64LL << 20)
#define SIM_MEM          (4LL << 30)
#define SIM_RDV_LO       29400
#define SIM_RDV_HI       29499
#define PIPELINE_DEPTH   256
#define REPLY_TIMEOUT_MS 60000
#define GANG_TIMEOUT_MS  30000

static void gang_spec(const struct benv *e, struct mlq_jobspec *spec, char **argv, uint32_t nodes)
{
    benv_spec(e, spec, argv, 1, GANG_CPUS_M, GANG_MEM);
    spec->nodes = nodes;
}

static int fleet_start(struct benv *e, const struct bfig_cfg *c, struct bsim **sim,
                       struct mlq_err *err)
{
    struct bsim_opts so = {.endpoint = e->endpoint,
                           .prefix = "sim",
                           .nworkers = c->gang_workers,
                           .cpus_m = GANG_CPUS_M,
                           .mem = SIM_MEM,
                           .rdv_lo = SIM_RDV_LO,
                           .rdv_hi = SIM_RDV_HI};
    int rc = benv_sim_create(e, &so, sim, err);
    if (rc == 0)
        rc = bu_await_registered(e, *sim, (uint64_t)c->gang_workers, err);
    return rc;
}

/* Every part's assign must carry the gang map, and every report of it must
 * have been accepted. */
static int check_fleet(const struct bsim_stats *st, uint64_t parts, struct mlq_err *err)
{
    if (st->fenced || st->errors || st->kills)
        return mlq_err_set(err, MLQ_EPROTO,
                           "%llu fenced reports, %llu errors, %llu kills (last: %s)",
                           (unsigned long long)st->fenced, (unsigned long long)st->errors,
                           (unsigned long long)st->kills, st->last_error);
    if (st->gang_assigned != parts || st->assigned != parts)
        return mlq_err_set(err, MLQ_EPROTO, "%llu assigns, %llu with a gang map, expected %llu",
                           (unsigned long long)st->assigned, (unsigned long long)st->gang_assigned,
                           (unsigned long long)parts);
    return 0;
}

/* One gang submitted alone on an idle fleet: from sending `submit` to the
 * last of its parts' assigns. Then quiet again: every report acknowledged
 * and the `submitted` reply read. */
static int one_gang(struct benv *e, struct bsim *sim, void *sock, uint64_t rid, uint32_t nodes,
                    double *ms, struct mlq_err *err)
{
    const struct bsim_stats *st = bsim_stats(sim);
    char *argv[] = {"/bin/true"};
    struct mlq_msg req = {.type = MLQ_MSG_SUBMIT, .rid = rid}, reply = {0};
    gang_spec(e, &req.u.submit.spec, argv, nodes);
    uint64_t assigned = st->assigned, done = st->finished_acked;
    int64_t t0 = bproc_now_ns();
    int rc = mlq_transport_send(sock, &req, err);
    if (rc == 0)
        rc = bu_await_count(e, sim, &st->assigned, assigned + nodes, GANG_TIMEOUT_MS, err);
    if (rc < 0)
        return rc;
    *ms = (double)(st->last_assign_ns - t0) / 1e6;
    rc = bu_await_count(e, sim, &st->finished_acked, done + nodes, GANG_TIMEOUT_MS, err);
    if (rc == 0)
        rc = mlq_transport_recv(sock, &reply, GANG_TIMEOUT_MS, err);
    if (rc == 0 && (reply.type != MLQ_MSG_SUBMITTED || reply.rid != rid))
        rc = mlq_err_set(err, MLQ_EPROTO, "a gang's submit answered %s",
                         mlq_proto_type_name(reply.type));
    mlq_proto_msg_free(&reply);
    return rc;
}

/* gang_place_ms: the median of c->gang_lat single gangs. */
static int latency(struct benv *e, struct bsim *sim, const struct bfig_cfg *c, double *med,
                   struct mlq_err *err)
{
    double *v = calloc((size_t)c->gang_lat, sizeof *v);
    void *sock = NULL;
    int rc = v ? benv_dealer(e, &sock, err) : mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < c->gang_lat; i++)
        rc = one_gang(e, sim, sock, (uint64_t)i + 1, c->gang_nodes, &v[i], err);
    if (rc == 0) {
        *med = bu_median(v, c->gang_lat); /* sorts v */
        fprintf(stderr, "#   %d gangs of %u alone: median %.2f ms, min %.2f ms, max %.2f ms\n",
                c->gang_lat, c->gang_nodes, *med, v[0], v[c->gang_lat - 1]);
    }
    benv_close(&sock);
    free(v);
    return rc;
}

/* gang_place_per_s, one run: c->gang_jobs gangs submitted by one pipelining
 * client; from the first submit until every part's finished report was
 * acknowledged. */
static int throughput(struct benv *e, struct bsim *sim, const struct bfig_cfg *c, double *rate,
                      struct mlq_err *err)
{
    const struct bsim_stats *st = bsim_stats(sim);
    char *argv[] = {"/bin/true"};
    struct mlq_jobspec spec;
    gang_spec(e, &spec, argv, c->gang_nodes);
    uint64_t parts = c->gang_jobs * c->gang_nodes, base = st->finished_acked;
    struct bload_opts o = {.endpoint = e->endpoint,
                           .clients = 1,
                           .depth = PIPELINE_DEPTH,
                           .njobs = c->gang_jobs,
                           .spec = &spec,
                           .timeout_ms = REPLY_TIMEOUT_MS,
                           .stop = e->stop};
    benv_load_keys(e, &o);
    struct bload_thread load;
    int64_t t0 = bproc_now_ns();
    int rc = bload_spawn(e->zctx, &o, &load, err);
    if (rc < 0)
        return rc;
    rc = bu_await_count(e, sim, &st->finished_acked, base + parts, REPLY_TIMEOUT_MS * 5, err);
    int64_t t1 = bproc_now_ns();
    if (bload_join(&load) < 0 && rc == 0) {
        rc = load.res.rc;
        *err = load.res.err;
    }
    if (rc == 0)
        *rate = (double)c->gang_jobs / bu_secs(t1 - t0);
    return rc;
}

static int gang_run(struct benv *e, const struct bfig_cfg *c, bool with_latency, double *med_ms,
                    double *rate, struct mlq_err *err)
{
    struct bsim *sim = NULL;
    int rc = benv_run_start(e, err);
    if (rc == 0)
        rc = fleet_start(e, c, &sim, err);
    uint64_t parts = 0;
    if (rc == 0 && with_latency) {
        fprintf(stderr, "# gang placement (%d workers of 1 CPU, gangs of %u x 1 CPU):\n",
                c->gang_workers, c->gang_nodes);
        rc = latency(e, sim, c, med_ms, err);
        parts += (uint64_t)c->gang_lat * c->gang_nodes;
    }
    if (rc == 0)
        rc = throughput(e, sim, c, rate, err);
    parts += c->gang_jobs * c->gang_nodes;
    if (rc == 0)
        rc = check_fleet(bsim_stats(sim), parts, err);
    bsim_destroy(&sim);
    if (rc == 0)
        rc = benv_check_alive(e, err);
    benv_run_end(e, rc < 0);
    return rc;
}

int bfig_gang(struct benv *e, const struct bfig_cfg *c, struct mlq_err *err)
{
    double rates[BU_MAX_REPS], med_ms = 0;
    int n = c->reps < BU_MAX_REPS ? c->reps : BU_MAX_REPS;
    for (int i = 0; i < n; i++) {
        int rc = gang_run(e, c, i == 0, &med_ms, &rates[i], err);
        if (rc < 0)
            return rc;
        fprintf(
            stderr, "# gang_place_per_s run %d/%d: %.0f gangs/s (%llu gangs of %u, %d workers)\n",
            i + 1, n, rates[i], (unsigned long long)c->gang_jobs, c->gang_nodes, c->gang_workers);
    }
    bfig_print(e, "gang_place_per_s", bu_median(rates, n), 0, "gangs/s");
    bfig_print(e, "gang_place_ms", med_ms, 2, "ms");
    return 0;
}
