/* jobtab: the scheduler's in-memory set of active jobs.
 *
 * A job is here while it is not terminal or while it still has a live
 * attempt (a cancelled job's process runs until its worker reports the end).
 * Jobs are indexed by id and by live attempt id; PENDING ones are also in
 * the queue (queue.h), which must drop a job before the table frees it. The
 * table owns every job and the strings inside its rows; the strings jobs
 * repeat are shared among them (strpool.h: never free or write one). */
#ifndef MLQ_JOBTAB_H
#define MLQ_JOBTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct mlq_job;

/* One node part of a gang's live attempt (gang.h). To its worker it is an
 * ordinary attempt whose id is row.a.id. */
struct mlq_gpart {
    struct mlq_store_part row; /* as persisted */
    struct mlq_job *job;
    size_t widx;        /* its worker, index in the registry */
    uint64_t gpu_mask;  /* its GPUs */
    bool booked;        /* its resources count on its worker */
    bool confirmed;     /* its worker confirmed it since this scheduler started */
    int64_t confirm_by; /* monotonic deadline for that confirmation */
    bool acked;         /* the worker acknowledged the ASSIGN */
    struct mlq_gpart *h_part;
};

/* The node parts of a gang's live attempt, in rank order, and how the
 * attempt is ending. Owned by the job; indexed by part id in the table. */
struct mlq_gang {
    uint32_t n;
    struct mlq_gpart *parts;
    bool stopping;        /* a part ended badly (or the job was cancelled): the
                             others were told to stop */
    bool lost;            /* the first part to end badly was lost, not failed */
    int32_t first_rank;   /* that part; -1 none */
    enum mlq_outcome out; /* its outcome, exit code and signal */
    int32_t exit_code, signal;
    char first[320]; /* "node 2 (worker w3) exited 1" */
};

/* What a job holds only while it has a live attempt: the attempt's row
 * and where and how it runs. Allocated with the attempt
 * (mlq_jobtab_set_attempt) and freed with it, so that a pending job, which
 * has none, does not carry these fields. att comes first: job->att is
 * the start of this record (mlq_job_run). */
struct mlq_jobrun {
    struct mlq_store_attempt att; /* first member: see mlq_job_run */
    int64_t confirm_by;           /* monotonic deadline for att's confirmation */
    uint64_t gpu_mask;            /* att's GPUs */
    size_t widx;                  /* att's worker, index in the registry */
    struct mlq_job *h_att;        /* the table's hash chain by attempt id */
    uint32_t assign_epoch;        /* its worker's epoch when this scheduler sent att's
                                     ASSIGN; 0: not sent by this scheduler */
    struct mlq_gang *gang;        /* a gang's parts (mlq_job_gang); NULL otherwise */
};

/* One job in memory. A scheduler holds one for each of up to a million
 * pending jobs, so the layout is kept tight: what only a live attempt uses
 * (a gang's parts included) is behind att (struct mlq_jobrun), wide fields
 * come first, and the flags share one word as bit-fields at the end (a
 * bool each, with their padding, cost 24 bytes more per job). 488 bytes on
 * x86-64, packed back to back in the table's blocks (slab.h). */
struct mlq_job {
    struct mlq_store_job row;      /* as persisted */
    struct mlq_store_attempt *att; /* the live attempt, the head of its struct
                                      mlq_jobrun; NULL unless live */
    struct mlq_job *h_id;          /* the table's hash chain by job id */
    /* Pending-queue bookkeeping, owned by queue.c. */
    int64_t qkey;  /* order in the queue: lower runs first */
    void *qshape;  /* its shape while ready */
    uint32_t qpos; /* index in its heap (a queue holds fewer than 2^32 jobs) */
    /* Rows left for the end of the iteration (jobops.c, "rows written late"). */
    uint32_t late_idx; /* its place in c->late while late */
    /* When it last became ready to run, in ms after its submit time
     * (metrics: queue wait; mlq_job_pending_ms). 32 bits rather than a
     * wall time's 64: saturates after 49 days, past the histogram's top
     * bucket. */
    uint32_t pending_after;
    bool late : 1;     /* listed in c->late[late_idx] */
    bool fresh : 1;    /* submitted this iteration: no row yet */
    bool row_late : 1; /* the row is behind memory */
    bool att_late : 1; /* att's row is behind memory */
    /* The live attempt's state. */
    bool live : 1;         /* att is ASSIGNED or RUNNING on a worker */
    bool confirmed : 1;    /* the worker confirmed att since this scheduler started */
    bool acked : 1;        /* the worker named att in its register (deliver.h) */
    bool kill_armed : 1;   /* a KILL of att is being resent (deliver.h) */
    bool quota_booked : 1; /* its live attempt counts in c->quota (quota.h) */
    /* The queue's (queue.c). */
    bool held : 1;     /* PENDING on dependencies, listed in deps.c, not queued */
    bool queued : 1;   /* in the queue (ready or waiting) */
    bool qwaiting : 1; /* in the waiting heap (not-before time ahead) */
};

/* The live attempt's record of a job that has one (job->att non-NULL);
 * NULL otherwise. */
static inline struct mlq_jobrun *mlq_job_run(const struct mlq_job *job)
{
    return (struct mlq_jobrun *)job->att;
}

/* The parts of a gang's live attempt; NULL for a job without one. */
static inline struct mlq_gang *mlq_job_gang(const struct mlq_job *job)
{
    return job->att ? mlq_job_run(job)->gang : NULL;
}

/* Wall ms the job last became ready to run. */
static inline int64_t mlq_job_pending_ms(const struct mlq_job *job)
{
    return job->row.submit_ms + job->pending_after;
}

/* Records that the job became ready to run at wall ms. */
static inline void mlq_job_set_pending(struct mlq_job *job, int64_t ms)
{
    int64_t d = ms - job->row.submit_ms; /* never before its submit; at most 49 days */
    job->pending_after = d <= 0 ? 0 : d >= (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

struct mlq_jobtab;

struct mlq_jobtab *mlq_jobtab_create(void);
/* Frees every job; sets *tab to NULL; accepts NULL. */
void mlq_jobtab_destroy(struct mlq_jobtab **tab);

/* Adds a job, moving row's strings into the table (row is zeroed). NULL on
 * allocation failure (row untouched) or when the id is already present. */
struct mlq_job *mlq_jobtab_add(struct mlq_jobtab *tab, struct mlq_store_job *row);
struct mlq_job *mlq_jobtab_get(struct mlq_jobtab *tab, const char *id);
struct mlq_job *mlq_jobtab_by_attempt(struct mlq_jobtab *tab, const char *attempt_id);
/* Replaces job's spec with spec, moving its strings into the table (spec
 * is zeroed). The spec's strings belong to the table: change a job's spec
 * only through this (held_by and preempt_note, kept private, excepted). */
void mlq_jobtab_respec(struct mlq_jobtab *tab, struct mlq_job *job, struct mlq_jobspec *spec);
/* Removes and frees job. */
void mlq_jobtab_remove(struct mlq_jobtab *tab, struct mlq_job *job);
size_t mlq_jobtab_count(const struct mlq_jobtab *tab);
/* Distinct strings the jobs share (tests). */
size_t mlq_jobtab_shared_count(const struct mlq_jobtab *tab);

/* Makes a (copied) the job's live attempt, indexed by its id; replaces any
 * previous one. Clearing drops the index and frees att.detail. */
int mlq_jobtab_set_attempt(struct mlq_jobtab *tab, struct mlq_job *job,
                           const struct mlq_store_attempt *a); /* MLQ_ENOMEM */
void mlq_jobtab_clear_attempt(struct mlq_jobtab *tab, struct mlq_job *job);

/* Gives job (which must have a live attempt) the parts of a gang, taking
 * ownership of g, and indexes them by part id. The gang goes with the live
 * attempt (clear_attempt frees it). */
void mlq_jobtab_set_gang(struct mlq_jobtab *tab, struct mlq_job *job, struct mlq_gang *g);
/* The live gang part with this part id, or NULL. */
struct mlq_gpart *mlq_jobtab_part(struct mlq_jobtab *tab, const char *part_id);

/* Calls fn for every job; fn must not add or remove jobs. */
typedef void (*mlq_jobtab_fn)(struct mlq_job *job, void *ctx);
void mlq_jobtab_each(struct mlq_jobtab *tab, mlq_jobtab_fn fn, void *ctx);

#endif
