/* replay: mlq-replay, a trace replay against a real mlq-scheduler with
 * simulated workers (README.md, "Placement and fragmentation").
 *
 * One run per placement policy, each on a fresh scheduler: the nodes of
 * NODES.csv register as simulated workers (bench_sim.h) and the tasks of
 * TASKS.csv are submitted as jobs that the workers hold running for their
 * duration (replay mode) or forever (fill mode). */
#ifndef REPLAY_H
#define REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "bench_env.h"
#include "bench_sim.h"
#include "trace.h"

#define RP_MAX_POLICIES 3

enum rp_mode { RP_FILL, RP_REPLAY };

struct rp_opts {
    const char *tasks_path, *nodes_path;
    enum rp_mode mode;
    const char *policies[RP_MAX_POLICIES];
    int npolicies;
    double time_scale; /* replay: trace seconds per real second */
    unsigned seed;     /* fill: sampling once the file is exhausted */
    double step_pct;   /* fill: a line every this much arrived demand */
    double timeout_s;  /* replay: give up after this long (real) */
};

enum rp_state { RP_PENDING, RP_RUNNING, RP_DONE, RP_CANCELLED };

struct rp_job {
    char id[MLQ_ID_LEN + 1];
    char attempt[MLQ_ID_LEN + 1];
    const struct trace_task *task;
    int32_t h; /* GPU hundredths */
    int widx;
    enum rp_state st;
    int64_t submit_ns, assign_ns, due_ns;
};

/* What one policy's run measured. */
struct rp_result {
    const char *policy;
    /* fill */
    bool failed_once;
    double first_fail_demand, first_fail_alloc; /* percent */
    double end_demand, end_alloc, end_stranded;
    uint64_t placed, failed, tasks;
    /* replay */
    double wait_p50, wait_p99, mean_alloc, mean_stranded;
    uint64_t finished, never_placed;
};

struct rp_run {
    const struct rp_opts *o;
    struct benv *e;
    struct bsim *sim;
    struct bsim_node *simnodes; /* what sim's workers register with */
    void *sock;
    const struct trace_node *nodes;
    size_t nnodes;
    const struct trace_task *tasks;
    size_t ntasks;
    int64_t cluster_h; /* GPU hundredths of all nodes */
    int64_t alloc_h;   /* held by running jobs */
    struct rp_job *jobs;
    size_t njobs, cap;
    int32_t *slots; /* open-addressing index of jobs by id; -1 free */
    size_t nslots;
    uint64_t rid;
    uint64_t bad_assigns; /* assigns of unknown jobs or beyond a node */
    struct rp_result *res;
};

/* Starts the scheduler and the simulated workers for one policy. */
int rp_run_start(struct rp_run *r, const char *policy, struct mlq_err *err);
void rp_run_end(struct rp_run *r, bool failed);
/* Submits task t; *job is its record (valid until the next submit). */
int rp_submit(struct rp_run *r, const struct trace_task *t, struct rp_job **job,
              struct mlq_err *err);
int rp_job_state(struct rp_run *r, const struct rp_job *j, enum mlq_job_state *st,
                 struct mlq_err *err);
int rp_cancel(struct rp_run *r, struct rp_job *j, struct mlq_err *err);
/* Reports j finished on its worker; frees its GPUs in the bookkeeping. */
int rp_finish(struct rp_run *r, struct rp_job *j, struct mlq_err *err);
/* Stranded GPU capacity (hundredths) and GPUs the scheduler counts in all,
 * from `mlq workers --summary`'s request. */
int rp_summary(struct rp_run *r, int64_t *stranded_h, int64_t *gpus_total, struct mlq_err *err);

int rp_fill(struct rp_run *r, struct mlq_err *err);
int rp_replay(struct rp_run *r, struct mlq_err *err);

#endif
