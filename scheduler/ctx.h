/* ctx: the scheduler's state, shared by its modules (loop, job operations,
 * client and worker handlers). One thread owns it; nothing else touches it.
 * main() creates one per process; there is no global instance. */
#ifndef MLQ_CTX_H
#define MLQ_CTX_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "jobtab.h"
#include "outbox.h"
#include "placepolicy.h"
#include "store.h"
#include "workers.h"

struct mlq_logrelay;
struct mlq_logstore;
struct mlq_queue;
struct mlq_fairshare;
struct mlq_deps;
struct mlq_strmap;
struct mlq_sharedenv;
struct mlq_schedules;
struct mlq_resend;
struct mlq_metrics;
struct mlq_zap;
struct mlq_backup;
struct mlq_acctrun;
struct mlq_qbook;
struct mlq_preempt_hold;

struct mlq_ctx {
    void *router;
    void *local; /* ROUTER at MLQ_LOOP_API_ENDPOINT: the HTTP threads' requests */
    struct mlq_store *store;
    struct mlq_jobtab *jobs;
    struct mlq_queue *queue; /* the PENDING jobs of jobs */
    struct mlq_workers *workers;
    struct mlq_outbox *out;
    struct mlq_resend *resend; /* ASSIGN/KILL resend timers (deliver.h) */
    struct mlq_logrelay *logs;
    struct mlq_logstore *logstore; /* uploaded job logs */
    int64_t heartbeat_ms;          /* told to workers */
    int64_t lease_ms;              /* a worker silent this long is lost */
    int64_t kill_grace_ms;
    /* Preemption (preempt.h, the admin's options): a job's grace when it
     * names none, the most it may name, the default minimum run time. */
    int64_t preempt_grace_default_ms, preempt_grace_max_ms, preempt_min_runtime_ms;
    /* No preemption at all: false in the scheduler; mlq-bench-quota sets it
     * to time the same pass without preemption. */
    bool preempt_off;
    /* Workers held for jobs whose victims drain (preemptrun.h). */
    struct mlq_preempt_hold *holds;
    size_t nholds, cap_holds;
    int64_t now_mono, now_wall; /* read once per loop iteration */
    /* While a finished report is recorded (jobops.c, record_outcome): its
     * job and when the run ended by its worker's clock, the job's end time
     * if the report ends it. Kept here, not in every job, because it lasts
     * one call; other jobs that end within it (dependants) end now. */
    const struct mlq_job *ending;
    int64_t ending_ms;
    bool dirty;               /* something changed that may let a job start */
    bool unconfirmed_left;    /* recovered attempts still await their workers */
    struct mlq_fairshare *fs; /* recent use per owner */
    struct mlq_qbook *quota;  /* quotas and their use per team and pool (quota.h) */
    int64_t fs_half_life_ms;
    int64_t age_step_ms;      /* waiting this long is worth one priority point */
    int64_t default_limit_ms; /* time limit assumed for jobs without one */
    struct mlq_placer placer; /* placement policy and the recent GPU request mix */
    /* The reservation the last pass made (for `mlq why`). */
    bool resv_on;
    char resv_job[MLQ_ID_LEN + 1];
    char resv_worker[MLQ_MAX_NAME + 1];
    int64_t resv_at_ms;
    /* Pipelines. */
    struct mlq_deps *deps;         /* jobs held on dependencies */
    struct mlq_strmap *arrays;     /* array id -> struct mlq_arrstate */
    struct mlq_sharedenv *envs;    /* shared environments jobs name (sharedenv.h) */
    struct mlq_strmap *fencing;    /* attempt id -> worker epoch + 1 (deliver.h) */
    struct mlq_schedules *scheds;  /* cron schedules */
    char (*ended)[MLQ_ID_LEN + 1]; /* targets that ended this iteration */
    size_t nended, cap_ended;
    /* Jobs with a row or attempt row left for the end of the iteration
     * (jobops.c, "rows written late"); NULL: written since. */
    struct mlq_job **late;
    size_t nlate, cap_late;
    /* Keys and audit. */
    struct mlq_auth *auth;       /* key registry for the ZAP handler */
    struct mlq_identity who;     /* sender of the request being handled */
    bool insecure;               /* plain TCP, no identities */
    bool allow_root;             /* jobs may run as root on workers */
    struct mlq_metrics *metrics; /* counters for /metrics (metrics.h); may be NULL */
    struct mlq_zap *zap;         /* the ZAP handler, for its counts; NULL when insecure */
    struct mlq_backup *backup;   /* `mlq admin backup` (backup.h); may be NULL */
    struct mlq_acctrun *acctrun; /* `mlq usage` off the loop (acctrun.h); NULL: on it */
};

/* The in-memory state rebuilt from the database at start and after a
 * rollback: job table, queue, workers, fair share, quotas, dependency index,
 * arrays, shared environments, schedules, resend timers and fencing KILLs. MLQ_ENOMEM when any
 * is missing (free what was made with mlq_ctx_free_memory). */
int mlq_ctx_init_memory(struct mlq_ctx *c, struct mlq_err *err);
/* Everything mlq_ctx_init_memory made, in reverse. */
void mlq_ctx_free_memory(struct mlq_ctx *c);

#endif
