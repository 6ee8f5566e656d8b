/* bench_env: where a benchmark runs: a temp dir, a ZeroMQ context, and the
 * real daemons of the current run.
 *
 * Every run gets a fresh scheduler on a fresh state dir (ROOT/run-N) and a
 * free loopback port; benv_run_end() stops its daemons and removes the dir
 * (kept with --keep; on failure the tail of the daemon logs goes to stderr
 * first). benv_fini() ends whatever is left and removes ROOT. */
#ifndef BENCH_ENV_H
#define BENCH_ENV_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bench_load.h"
#include "bench_sim.h"
#include "bounds.h"
#include "err.h"
#include "keys.h"
#include "proto.h"
#include "transport.h"

#define BENV_PATH 1024

struct benv {
    char bin_dir[BENV_PATH];      /* mlq-scheduler, mlq-worker, mlq-bench-stamp */
    char root[BENV_PATH];         /* temp dir of this benchmark */
    char run_dir[BENV_PATH + 32]; /* state of the current run */
    char endpoint[64];            /* the current scheduler */
    void *zctx;
    int run_no;
    int64_t run_start_ns; /* when the current run's scheduler answered */
    pid_t sched_pid;
    pid_t worker_pid;
    bool keep;
    const char *sched_wrap; /* command words put before mlq-scheduler, or NULL */
    const char *placement;  /* --placement for the next runs' schedulers, or NULL */
    char owner[64];         /* the jobs' owner: this account (a root worker runs jobs as it) */
    /* With keys (set secure before benv_run_start; the default
     * configuration): the run's scheduler takes ROOT/keys/server.key and
     * registers the owner's key as an admin and BENV_WORKER's as a worker;
     * every connection of benv, the load clients and the simulated workers
     * (each with a key of its own, benv_sim_keys) use CURVE. Without (the
     * lab set, --lab): plain TCP. */
    bool secure;
    /* The lab set: --insecure and --log-level warn, figures named lab.NAME;
     * otherwise the default configuration (keys, log level info). */
    bool lab;
    struct mlq_keypair admin_kp;
    char server_pub[MLQ_KEY_Z85_SIZE];
    char keydir[BENV_PATH + 16];
    volatile const sig_atomic_t *stop;
};

/* Creates a temp dir under tmp_parent and the ZeroMQ context. */
int benv_init(struct benv *e, const char *bin_dir, const char *tmp_parent, bool keep,
              volatile const sig_atomic_t *stop, struct mlq_err *err);
/* Stops every daemon, removes the temp dir (unless keep), ends ZeroMQ. */
void benv_fini(struct benv *e);

/* New run dir, scheduler started (--log-level warn in the lab set, the
 * default info otherwise), answering. */
int benv_run_start(struct benv *e, struct mlq_err *err);
/* Stops the run's daemons; shows their logs' tails when failed. */
void benv_run_end(struct benv *e, bool failed);
/* MLQ_EIO when the scheduler of the run has exited. */
int benv_check_alive(struct benv *e, struct mlq_err *err);

/* The name a real worker must have in a run with keys. */
#define BENV_WORKER "bench-real"

/* Starts a real mlq-worker (spool in the run dir; with its key in a run
 * with keys) and waits until the scheduler lists it UP. */
int benv_worker_start(struct benv *e, const char *name, struct mlq_err *err);

/* A DEALER connected to the current scheduler; benv_close accepts NULL. */
int benv_dealer(struct benv *e, void **sock, struct mlq_err *err);
void benv_close(void **sock);

/* Sets o's keys for the run's configuration (none without keys). */
void benv_load_keys(const struct benv *e, struct bload_opts *o);
/* bsim_create() for the run's configuration: in a run with keys each
 * simulated worker gets its own, registered through an admin connection. */
int benv_sim_create(struct benv *e, struct bsim_opts *o, struct bsim **sim, struct mlq_err *err);

/* Fills spec (pointing into argv and e; nothing to free). */
void benv_spec(const struct benv *e, struct mlq_jobspec *spec, char **argv, uint32_t argc,
               int64_t cpus_m, int64_t mem);

/* Number of jobs in state (at most limit) according to `jobs`. */
int benv_count_state(void *sock, enum mlq_job_state state, uint32_t limit, uint32_t *n,
                     struct mlq_err *err);
/* State of one job according to `jobs` with its id. */
int benv_job_state(void *sock, const char *id, enum mlq_job_state *st, struct mlq_err *err);

/* True once SIGINT/SIGTERM arrived. */
bool benv_stopped(const struct benv *e);

#endif
