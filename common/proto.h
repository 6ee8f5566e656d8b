/* proto: every message of the mlq wire protocol, encoded and decoded in one
 * place. docs/protocol.md is the normative description; keep them in step.
 *
 * A body is one msgpack map with "v" (MLQ_PROTO_VERSION), "t" (type name) and
 * "rid" (request id, echoed in the reply) plus the type's fields. Unknown keys
 * are ignored; a missing or mistyped required key is MLQ_EPROTO. Before
 * unpacking, the raw bytes are validated (every declared array/map/str/bin
 * length fits in what remains, nesting <= MLQ_MAX_DEPTH) so a tiny frame can
 * never make msgpack-c reserve huge amounts of memory; after unpacking, each
 * field is checked against the bounds in bounds.h.
 *
 * Ownership: mlq_proto_decode() allocates every string and array inside the
 * message; mlq_proto_msg_free() releases them (the struct itself belongs to the
 * caller, usually on the stack). Encoders never take ownership of anything. */
#ifndef MLQ_PROTO_H
#define MLQ_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "jobstate.h"
#include "bounds.h"
#include "keys.h"
#include "jobspec.h"

enum mlq_msg_type {
    /* replies usable by anyone */
    MLQ_MSG_ERROR = 0, /* "error"      code, msg */
    MLQ_MSG_OK,        /* "ok"         (no fields) */
    /* client -> scheduler, and their replies */
    MLQ_MSG_SUBMIT,         /* "submit"      spec */
    MLQ_MSG_SUBMITTED,      /* "submitted"   id */
    MLQ_MSG_JOBS,           /* "jobs"        ids[] (prefixes), state, limit */
    MLQ_MSG_JOB_LIST,       /* "job_list"    jobs[] */
    MLQ_MSG_CANCEL,         /* "cancel"      ids[] (prefixes); reply job_list */
    MLQ_MSG_WORKERS,        /* "workers"     cursor (optional) */
    MLQ_MSG_WORKER_LIST,    /* "worker_list" workers[] */
    MLQ_MSG_LOGS,           /* "logs"        job (prefix), stream, offset, max */
    MLQ_MSG_LOG_DATA,       /* "log_data"    data, offset, size, state, done */
    MLQ_MSG_DRAIN,          /* "drain"       worker, reason; reply worker_list */
    MLQ_MSG_RESUME,         /* "resume"      worker; reply worker_list */
    MLQ_MSG_WHY,            /* "why"         job (prefix) */
    MLQ_MSG_WHY_REPLY,      /* "why_reply"   job_id, state, blocker, text, ... */
    MLQ_MSG_SCHEDULE_ADD,   /* "schedule_add"  schedule (scheduleinfo); reply schedule_list */
    MLQ_MSG_SCHEDULE_CMD,   /* "schedule_cmd"  name, op; reply schedule_list (or ok for rm) */
    MLQ_MSG_SCHEDULES,      /* "schedules"     name|nil; reply schedule_list */
    MLQ_MSG_SCHEDULE_LIST,  /* "schedule_list" schedules[] */
    MLQ_MSG_USER_ADD,       /* "user_add"    name, key, role; reply user_list */
    MLQ_MSG_USER_RM,        /* "user_rm"     name, kind; reply ok */
    MLQ_MSG_USERS,          /* "users"       (no fields); reply user_list */
    MLQ_MSG_USER_LIST,      /* "user_list"   users[] */
    MLQ_MSG_EVENTS,         /* "events"      job|nil, since_ms, limit; reply event_list */
    MLQ_MSG_EVENT_LIST,     /* "event_list"  events[] */
    MLQ_MSG_METRICS,        /* "metrics"      (no fields); reply metrics_text */
    MLQ_MSG_METRICS_TEXT,   /* "metrics_text" text (Prometheus text format) */
    MLQ_MSG_TOKEN_CREATE,   /* "token_create" name, principal, role, expires_in_ms; reply token_list
                             */
    MLQ_MSG_TOKEN_RM,       /* "token_rm"     name; reply ok */
    MLQ_MSG_TOKENS,         /* "tokens"       (no fields); reply token_list */
    MLQ_MSG_TOKEN_LIST,     /* "token_list"   tokens[] (secret only in a create's reply) */
    MLQ_MSG_USAGE,          /* "usage"        (no fields); reply usage_list */
    MLQ_MSG_USAGE_LIST,     /* "usage_list"   users[] (fair-share use) */
    MLQ_MSG_BACKUP,         /* "backup"       path (absolute, on the scheduler's host) */
    MLQ_MSG_BACKUP_DONE,    /* "backup_done"  path, size, pages, page_size, duration_ms, schema,
                               integrity */
    MLQ_MSG_WORKER_SET,     /* "worker_set"   worker, reset, pool, labels, clear_labels,
                               cpus_m, mem, gpus, gpu_type; reply worker_list */
    MLQ_MSG_WORKER_SUMMARY, /* "worker_summary"      (no fields); reply worker_summary_list */
    MLQ_MSG_WORKER_SUMMARY_LIST, /* "worker_summary_list" pools[] */
    MLQ_MSG_JOB_SPEC,            /* "job_spec"       job (prefix, or ARRAY/N) */
    MLQ_MSG_JOB_SPEC_REPLY,      /* "job_spec_reply" id, is_array, spec (owner and admins) */
    MLQ_MSG_MANIFEST,            /* "manifest"      job (prefix), attempt (0 = latest) */
    MLQ_MSG_MANIFEST_DATA,       /* "manifest_data" job_id, attempt, attempt_id, json */
    MLQ_MSG_HOLD,                /* "hold"   ids[] (prefixes), release; reply job_list */
    MLQ_MSG_UPDATE,              /* "update" job (prefix), changes; reply job_list */
    MLQ_MSG_TEAM_CMD,       /* "team_cmd"    op (add|rm|list|set), name|nil, preempt_within; reply
                               team_list (ok for rm) */
    MLQ_MSG_TEAM_LIST,      /* "team_list"   teams[] */
    MLQ_MSG_USER_SET,       /* "user_set"    name, team|nil; reply user_list */
    MLQ_MSG_ACCT,           /* "acct"        since_ms, until_ms, by; reply acct_report */
    MLQ_MSG_ACCT_REPORT,    /* "acct_report" since_ms, until_ms, by, rows[] */
    MLQ_MSG_ESTIMATE,       /* "estimate"    spec (in u.submit); reply why_reply. A dry
                               run of a submit: nothing is stored */
    MLQ_MSG_SUBMIT_MANY,    /* "submit_many"    env[], specs[], idempotency_key; all or none */
    MLQ_MSG_SUBMITTED_MANY, /* "submitted_many" ids[], in the order of specs */
    MLQ_MSG_QUOTA_CMD,      /* "quota_cmd"  op (set|rm|list), quota (quotainfo); reply
                               quota_list (ok for rm) */
    MLQ_MSG_QUOTA_LIST,     /* "quota_list" quotas[] */
    /* worker -> scheduler */
    MLQ_MSG_REGISTER,   /* "register"  name, cpus_m, mem, gpus, attempts[] */
    MLQ_MSG_HEARTBEAT,  /* "heartbeat" name, draining, gpu_load[] */
    MLQ_MSG_REPORT,     /* "report"    attempt report */
    MLQ_MSG_LOG_CHUNK,  /* "log_chunk" token, data, size, err */
    MLQ_MSG_LOG_UPLOAD, /* "log_upload" attempt_id, stream, offset, data, skipped, eof */
    /* scheduler -> worker */
    MLQ_MSG_REGISTERED,     /* "registered" heartbeat_ms, lease_ms, batch */
    MLQ_MSG_HB_ACK,         /* "hb_ack"     (no fields) */
    MLQ_MSG_ASSIGN,         /* "assign"     attempt_id, job_id, attempt, spec, gpu_ids[] */
    MLQ_MSG_KILL,           /* "kill"       attempt_id, reason, preempt */
    MLQ_MSG_REPORT_ACK,     /* "report_ack" attempt_id, phase, accepted */
    MLQ_MSG_LOG_READ,       /* "log_read"   token, attempt_id, stream, offset, max */
    MLQ_MSG_LOG_UPLOAD_ACK, /* "log_upload_ack" attempt_id, stream, offset, err */
    /* worker -> scheduler, on a clean exit; reply ok */
    MLQ_MSG_GOODBYE, /* "goodbye"  name, drained */
    /* scheduler -> worker that registered with "batch", and worker ->
     * scheduler whose "registered" said "batch": several messages */
    MLQ_MSG_BATCH, /* "batch"    msgs[] (encoded bodies) */
    MLQ_MSG_TYPE_COUNT
};

enum mlq_stream { MLQ_STREAM_STDOUT = 0, MLQ_STREAM_STDERR = 1 };

/* Summary of a job array, for `mlq status ARRAY`. */
struct mlq_arrayinfo {
    char id[MLQ_ID_LEN + 1];
    char *name;
    char *owner;
    char **argv;
    uint32_t argc;
    uint32_t size;        /* tasks */
    uint32_t max_running; /* 0 = no limit */
    int64_t submit_ms;
    uint32_t counts[MLQ_JOB_STATE_COUNT]; /* tasks per state */
    char *failed; /* indices of FAILED/TIMED_OUT/CANCELLED tasks, "3,17-19" (may be NULL) */
};

/* A recurring submission. */
struct mlq_scheduleinfo {
    char *name;     /* [A-Za-z0-9_.-], 1..128 */
    char *cron;     /* five-field cron expression */
    char *timezone; /* IANA name; NULL = UTC */
    struct mlq_jobspec spec;
    char *concurrency;   /* "allow", "skip" (default), "replace" */
    int64_t catch_up_ms; /* default 1 h */
    bool paused;
    /* Filled by the scheduler in replies. */
    int64_t *next_fires; /* wall ms, up to 5 */
    uint32_t nnext;
    struct mlq_schedrun *runs; /* newest first, up to 10 */
    uint32_t nruns;
};

struct mlq_schedrun {
    int64_t fire_ms;
    char job_id[MLQ_ID_LEN + 1];
    enum mlq_job_state state;
    /* When the run submitted an array (optional on the wire): its tasks,
     * those that ended and those running; array_size 0 = a plain job. */
    uint32_t array_size, array_ended, array_running;
};

/* A registered key, as `users` lists it. */
#define MLQ_ROLE_NAME_MAX 8 /* "worker" and its NUL, with room */
struct mlq_userinfo {
    char name[MLQ_MAX_NAME + 1];   /* mlq_proto_principal_name_check */
    char role[MLQ_ROLE_NAME_MAX];  /* "user", "admin", "worker" */
    char key[MLQ_KEY_Z85_LEN + 1]; /* z85 public key */
    int64_t added_ms;              /* wall clock */
    char team[MLQ_MAX_NAME + 1];   /* optional on the wire; "" = none */
};

/* A team, for `mlq admin teams`. */
struct mlq_teaminfo {
    char name[MLQ_MAX_NAME + 1]; /* mlq_proto_principal_name_check */
    int64_t created_ms;
    char **members; /* user names */
    uint32_t nmembers;
    int64_t running, pending; /* its jobs now */
    bool preempt_within;      /* its higher-priority jobs may preempt its lower ones */
};

/* A quota of a team in a pool (`mlq admin quota`): GPUs in hundredths,
 * CPUs in millicores, memory in bytes; MLQ_QUOTA_UNLIMITED where a nominal
 * amount or user limit does not limit. The use figures are the
 * scheduler's, from the jobs running now (ignored in a set). */
#define MLQ_QUOTA_UNLIMITED (-1)
/* A quota may cap GPUs per type (`--gpus h100:8,a100:4`): at most
 * MLQ_QUOTA_MAX_TYPES types, on the wire as one string of "TYPE:HUNDREDTHS"
 * joined by ',' ("h100:800,a100:400"; "" = none). */
#define MLQ_QUOTA_MAX_TYPES 8
#define MLQ_QUOTA_TYPES_LEN (MLQ_QUOTA_MAX_TYPES * (MLQ_MAX_GPU_TYPE + 22))
struct mlq_quota_type {
    char type[MLQ_MAX_GPU_TYPE + 1]; /* normalised ("h100") */
    int64_t gpus_h;                  /* hundredths, >= 0 */
};
struct mlq_quotainfo {
    char team[MLQ_MAX_NAME + 1];                      /* "" in a list request: every team */
    char pool[MLQ_MAX_NAME + 1];                      /* "" = "default" (list: every pool) */
    int64_t gpus_h, cpus_m, mem;                      /* nominal */
    int64_t borrow_gpus_h, borrow_cpus_m, borrow_mem; /* borrow caps, >= 0 */
    int64_t user_max_running, user_max_gpus_h;        /* per user of the team */
    int64_t used_gpus_h, used_cpus_m, used_mem, running;
    int64_t borrowed_gpus_h, borrowed_cpus_m, borrowed_mem;
    char gpu_types[MLQ_QUOTA_TYPES_LEN + 1]; /* caps per GPU type, wire form; "" none */
};
/* Parses the wire form of a quota's GPU types into out[0..*n): distinct
 * normalised types, amounts 0..2^50; MLQ_EINVAL naming the problem. */
int mlq_proto_quota_types_parse(const char *s, struct mlq_quota_type out[MLQ_QUOTA_MAX_TYPES],
                                int *n, struct mlq_err *err);
/* The wire form of t[0..n) into buf (MLQ_QUOTA_TYPES_LEN + 1 bytes). */
void mlq_proto_quota_types_fmt(const struct mlq_quota_type *t, int n,
                               char buf[MLQ_QUOTA_TYPES_LEN + 1]);

/* How a usage report groups (`mlq usage --by`). */
enum mlq_acct_by {
    MLQ_ACCT_BY_USER = 0,
    MLQ_ACCT_BY_TEAM,
    MLQ_ACCT_BY_PROJECT,
    MLQ_ACCT_BY_POOL,
    MLQ_ACCT_BY_GPU_TYPE,
    MLQ_ACCT_BY_COUNT
};
extern const char *const mlq_acct_by_names[MLQ_ACCT_BY_COUNT];

/* Ended runs (attempts) by how they ended. */
enum mlq_acct_outcome {
    MLQ_ACCT_SUCCEEDED = 0,
    MLQ_ACCT_FAILED,
    MLQ_ACCT_TIMED_OUT,
    MLQ_ACCT_CANCELLED,
    MLQ_ACCT_LOST,
    MLQ_ACCT_OUTCOMES
};
extern const char *const mlq_acct_outcome_names[MLQ_ACCT_OUTCOMES];

/* One group of a usage report. Times are allocated resource-milliseconds:
 * cpu_ms = cpus x wall, gpu_ms = GPUs x wall; gpu_known_ms is the part of
 * gpu_ms whose utilisation was measured and gpu_idle_ms its idle part;
 * wait_ms sums n_waits queue waits (first start - submit). */
struct mlq_acctrow {
    char key[MLQ_MAX_NAME + 1]; /* the group: user, team, project, ... ("" none) */
    int64_t runs[MLQ_ACCT_OUTCOMES];
    int64_t cpu_ms, gpu_ms, gpu_known_ms, gpu_idle_ms, wait_ms, n_waits;
};

/* A bearer token of the HTTP API (`mlq admin tokens`). secret is the
 * token itself, "" except in the reply to the token_create that made it. */
#define MLQ_TOKEN_SECRET_LEN 68 /* "mlq_" and 64 hex digits */
struct mlq_tokeninfo {
    char name[MLQ_MAX_NAME + 1];      /* mlq_proto_principal_name_check */
    char principal[MLQ_MAX_NAME + 1]; /* whose token it is */
    char role[MLQ_ROLE_NAME_MAX];     /* "user" or "admin" */
    int64_t created_ms, expires_ms;   /* wall clock; expires 0 = never */
    char secret[MLQ_TOKEN_SECRET_LEN + 1];
};

/* One user's fair-share standing (`usage_list`). */
struct mlq_usageinfo {
    char user[MLQ_MAX_NAME + 1];
    int64_t core_s;        /* decayed weighted core-seconds (GPU-second = 10) */
    int64_t penalty_milli; /* priority points the use costs, x 1000 */
};

/* One row of the events history (`mlq events`). Strings may be NULL. */
#define MLQ_MAX_ACTOR 159 /* "ROLE:NAME" of whoever caused an event */
struct mlq_eventinfo {
    int64_t seq; /* increasing, the order events were written in */
    int64_t time_ms;
    char *kind; /* "submit", "state", "attempt", "key_added", ... */
    char *job_id;
    char *attempt_id;
    char *worker;
    char *actor; /* "admin:alice"; NULL for the scheduler's own doing */
    char *from;
    char *to;
    char *detail;
};

/* One GPU of a worker. In `register` it describes the device; in
 * workerinfo, job_id names the job holding it. */
struct mlq_gpuinfo {
    int32_t index; /* 0..MLQ_MAX_GPUS-1, what CUDA_VISIBLE_DEVICES uses */
    char *uuid;    /* "GPU-..."; NULL for fake GPUs */
    char *model;   /* "NVIDIA H100 80GB HBM3"; NULL for fake GPUs */
    char *type;    /* normalised lowercase type: "h100", "a100", "fake"; NULL unknown */
    int64_t mem;   /* bytes; 0 unknown */
    char *job_id;  /* workerinfo only; NULL when free */
    /* workerinfo only, optional on the wire: the last heartbeat's NVML
     * reading (util_known false where the worker has no NVML). */
    bool util_known;
    int32_t util;     /* percent, 0..100 */
    int64_t mem_used; /* bytes */
    int64_t idle_ms;  /* allocated and at 0% for this long; 0 = not idle */
    /* workerinfo only, optional on the wire: not offered, an admin's
     * `mlq admin worker set --gpus` took it out of service. */
    bool withheld;
    /* workerinfo only, optional on the wire: the share of it booked by
     * jobs sharing it (hundredths, 0..100) and how many they are; job_id
     * then names one of them. */
    int32_t share;
    int32_t nshares;
};

/* One GPU's load in a heartbeat, read from NVML; GPUs NVML cannot read are
 * left out (never made up). */
struct mlq_gpuload {
    int32_t index;               /* 0..MLQ_MAX_GPUS-1 */
    int32_t util;                /* percent busy over NVML's last sample, 0..100 */
    int64_t mem_used, mem_total; /* bytes */
};

/* One attempt of a job, for `mlq status`. */
/* What one attempt used (see protousage.h); -1 where not measured. */
#define MLQ_USAGE_SOURCE_MAX 15
struct mlq_usage {
    int64_t mem_peak;     /* bytes */
    int64_t cpu_us;       /* user + system CPU time, microseconds */
    int64_t wall_ms;      /* from the job's start to its end */
    int64_t gpu_mem_peak; /* bytes, over the attempt's GPUs (NVML only) */
    int32_t gpu_util;     /* mean percent over the attempt's GPUs (NVML only) */
    /* How memory and CPU were measured: "cgroup2", "cgroup1" (the job's
     * cgroup: every process together) or "proc" (getrusage of the job's
     * processes: the peak is the largest single process); "" none. */
    char source[MLQ_USAGE_SOURCE_MAX + 1];
};

struct mlq_attemptinfo {
    int32_t num;
    char id[MLQ_ID_LEN + 1];
    char *worker;
    enum mlq_attempt_state state;
    char *gpu_ids;
    int64_t start_ms, end_ms; /* 0 = not yet */
    int32_t exit_code;        /* -1 none */
    int32_t signal;           /* 0 none */
    char *detail;             /* may be NULL */
    struct mlq_usage usage;   /* optional on the wire */
};

/* One node part of a gang's attempt, for `mlq status`. */
struct mlq_partinfo {
    int32_t rank; /* 0..nodes-1 */
    char *worker;
    char *addr; /* the worker's advertised address; may be NULL */
    enum mlq_attempt_state state;
    char *gpu_ids;
    int64_t start_ms, end_ms; /* 0 = not yet */
    int32_t exit_code;        /* -1 none */
    int32_t signal;           /* 0 none */
    char *detail;             /* may be NULL */
};

/* One node of a gang, as the assign's "hosts" lists them (rank order). */
struct mlq_ganghost {
    char *worker;
    char *addr; /* the worker's advertised address, else its name */
    int32_t gpus;
};

/* The rendezvous a node part of a gang gets in its assign. nnodes 0: the
 * job is not a gang (the key is nil on the wire). */
struct mlq_ganginfo {
    int32_t nnodes; /* 1..MLQ_MAX_NODES */
    int32_t rank;   /* 0..nnodes-1 */
    char *master_addr;
    int32_t master_port;        /* 1..65535 */
    struct mlq_ganghost *hosts; /* nnodes entries */
    uint32_t nhosts;
};

/* What the scheduler tells about a job. Strings may be NULL when unknown. */
struct mlq_jobinfo {
    char id[MLQ_ID_LEN + 1];
    char *name;
    char *owner;
    enum mlq_job_state state;
    char *reason; /* why pending / why it ended, human text */
    char **argv;
    uint32_t argc;
    char *workdir;
    int64_t cpus_m;
    int64_t mem;
    int32_t gpus;
    int64_t submit_ms; /* wall clock ms; 0 when not yet */
    int64_t start_ms;
    int64_t end_ms;
    int32_t attempt; /* number of the current/last attempt; 0 = none yet */
    char *attempt_id;
    char *worker;
    char *gpu_ids;     /* "0,1" */
    int32_t exit_code; /* -1 when none */
    int32_t signal;    /* 0 when none */
    /* Optional on the wire. */
    int32_t retries;                  /* retries allowed */
    int32_t node_failures;            /* attempts lost with their worker */
    int64_t not_before_ms;            /* PENDING until then (retry backoff); 0 none */
    int64_t time_limit_ms;            /* 0 none */
    struct mlq_attemptinfo *attempts; /* oldest first; only in replies to
                                         `jobs` with ids (status) */
    uint32_t nattempts;               /* <= MLQ_MAX_ATTEMPT_INFO */
    /* Pipelines, optional on the wire. */
    char *array_id;       /* the array this job is a task of; NULL none */
    int32_t array_index;  /* -1 when not a task */
    struct mlq_dep *deps; /* full ids */
    uint32_t ndeps;
    /* Optional on the wire. */
    char *pool; /* the pool the job asked for; NULL = "default" */
    /* The GPU request and placement asked for, optional on the wire (as in
     * mlq_jobspec). */
    char *gpu_type;    /* "h100", "a100|h100"; NULL any */
    int32_t gpu_frac;  /* a share of one GPU in hundredths; 0 none */
    int64_t gpu_mem;   /* bytes of GPU memory asked; 0 none */
    char **require;    /* "k=v" labels the worker must carry */
    uint32_t nrequire; /* <= MLQ_MAX_LABELS */
    int32_t priority;
    /* Accounting, optional on the wire; NULL = none. */
    char *team;
    char *project;
    /* Gangs, optional on the wire. */
    int32_t nodes;              /* 0 = not a gang */
    struct mlq_partinfo *parts; /* rank order, of the current (or last)
                                   attempt; only in replies to `jobs` with ids */
    uint32_t nparts;            /* <= MLQ_MAX_NODES */
    /* A user hold (the spec's held_by/held_ms), optional on the wire. */
    char *held_by; /* NULL: not held */
    int64_t held_ms;
};

struct mlq_workerinfo {
    char *name;
    char *state; /* "UP", "LOST" */
    int64_t cpus_m, cpus_used_m;
    int64_t mem, mem_used;
    int32_t gpus, gpus_used; /* gpus_used: held whole or shared */
    int32_t gpus_used_h;     /* optional: in use in hundredths, a shared GPU
                                counting what its shares book */
    int32_t running;         /* running attempts */
    bool draining;           /* takes no new jobs (optional on the wire) */
    int64_t last_seen_ms;    /* wall clock of the last heartbeat */
    /* Placement, optional on the wire. */
    char *pool;
    char **labels; /* "k=v" */
    uint32_t nlabels;
    char *drain_reason; /* set when drained by an admin */
    struct mlq_gpuinfo *gpu_list;
    uint32_t ngpu_list;
    /* Optional on the wire: placed on no more until it proves healthy. */
    bool unhealthy;
    char *health; /* why unhealthy */
    char *addr;   /* optional: the address the worker advertised; NULL none */
    /* Optional: what the worker said in "register" (NULL: unknown). */
    char *version;
    char *git;
    char *limits; /* optional: "enforce/v1", "account/v2", "none"...; NULL unknown */
    /* Optional on the wire: an admin set pool, labels or resources
     * (`mlq admin worker set`); the fields above are what is in effect,
     * these what the worker itself reports. gpus counts offered GPUs. */
    bool set_by_admin;
    char *rep_pool;
    char **rep_labels;
    uint32_t rep_nlabels;
    int64_t rep_cpus_m, rep_mem;
    int32_t rep_gpus;
};

/* One GPU type of a pool in a worker summary. */
struct mlq_gpusum {
    char *type; /* "h100"; "unknown" where the worker did not say */
    int32_t free, total;
};

/* One pool of `mlq workers --summary`: workers by state and what the UP
 * ones offer. total counts UP workers; free only those open to placement
 * (not drained, draining or unhealthy). */
struct mlq_poolsum {
    char *pool;
    int32_t up, drained, down, unhealthy;
    int64_t cpus_m, cpus_free_m, mem, mem_free;
    struct mlq_gpusum *gpus; /* by type name */
    uint32_t ngpus;          /* <= MLQ_MAX_GPUS */
    /* optional: free GPU capacity nothing expected can use where it is
     * (stranded.h), hundredths of a GPU; absent = 0 */
    int64_t gpus_stranded_h;
};

/* An attempt a worker holds, named in "register". */
struct mlq_held_attempt {
    char attempt_id[MLQ_ID_LEN + 1];
    bool finished; /* outcome in spool, report not yet acknowledged */
};

enum mlq_report_phase { MLQ_PHASE_STARTED = 0, MLQ_PHASE_FINISHED = 1 };

enum mlq_outcome {
    MLQ_OUT_NONE = 0,     /* phase STARTED */
    MLQ_OUT_EXITED,       /* exit_code valid */
    MLQ_OUT_SIGNALED,     /* signal valid */
    MLQ_OUT_START_FAILED, /* could not be started (bad workdir, spool error) */
    MLQ_OUT_LOST,         /* shim vanished without writing an outcome */
    MLQ_OUT_TIMED_OUT,    /* killed at its time limit; signal valid */
    MLQ_OUT_REFUSED,      /* the worker could not take it (spool full...):
                             run it elsewhere, not the job's fault */
};

struct mlq_msg {
    enum mlq_msg_type type;
    uint64_t rid;
    /* The peer's wire protocol version when mlq_proto_decode failed with
     * MLQ_EVERSION (rid is kept too, so the refusal can be answered); on an
     * "error" to encode, the version written in its "v" (0: ours), so that
     * a peer of another version can read it. */
    uint32_t wire_v;
    union {
        struct {
            int32_t code;
            char *msg;
            /* The sender's wire protocol range (always sent; 0 when an
             * older peer did not say or said nonsense). */
            int32_t speaks_min, speaks_max;
        } error;
        struct {
            struct mlq_jobspec spec;
        } submit;
        struct {
            char id[MLQ_ID_LEN + 1];
        } submitted;
        struct {
            /* Every job's environment starts with these entries; a spec's
             * own env is added over them (mlq_envname_merge). */
            char **env;
            uint32_t envc;
            struct mlq_jobspec *specs; /* 1..MLQ_MAX_BULK_JOBS */
            uint32_t nspecs;
            /* Optional: the whole request's key (same key + owner + number
             * of jobs = the same ids, within 7 days); NULL = none. */
            char *idempotency_key;
            /* Encoding only: each spec with every key (what a scheduler
             * that predates lean specs needs) rather than lean, without
             * the optional keys at their default. Not on the wire. */
            bool full_specs;
        } submit_many;
        struct {
            char (*ids)[MLQ_ID_LEN + 1];
            uint32_t nids;
        } submitted_many;
        struct {
            char **ids;
            uint32_t nids;  /* references (id prefixes, ARRAY/N, names); 0 = all */
            int32_t state;  /* -1 = any */
            uint32_t limit; /* 0 = default */
            char *cursor;   /* optional: the `next` of the previous reply */
            /* Filters of a listing (nids == 0), all optional; together
             * with `state` they must all hold. */
            char *name;       /* the job's name exactly */
            char *owner;      /* the job's owner */
            char *array;      /* tasks of the one array this id prefix names */
            uint32_t states;  /* bit (1 << state) per state allowed; 0 = any */
            int64_t since_ms; /* submitted at or after this wall time; 0 = any */
            bool mine;        /* the asker's own jobs only */
        } jobs;
        struct {
            struct mlq_jobinfo *jobs;
            uint32_t njobs;
            struct mlq_arrayinfo *arrays; /* optional: ids that named arrays */
            uint32_t narrays;
            char *next; /* optional: set when the reply stopped early (size or
                           limit); send it back as `cursor` for the rest */
        } job_list;
        struct {
            char **ids;
            uint32_t nids;
        } cancel;
        struct {
            char **ids;
            uint32_t nids;
            bool release; /* false: hold */
        } hold;
        struct mlq_jobchange update;
        struct {
            char *cursor; /* optional: the `next` of the previous reply */
        } workers;
        struct {
            struct mlq_workerinfo *workers;
            uint32_t nworkers;
            char *next; /* optional: as job_list.next */
        } worker_list;
        struct {
            char *job; /* id prefix */
            enum mlq_stream stream;
            int64_t offset;  /* >= 0 */
            uint32_t max;    /* <= MLQ_MAX_LOG_CHUNK */
            int32_t node;    /* optional: a gang's node rank (0) */
            int32_t attempt; /* optional: attempt number N (1..); 0 = the current one */
        } logs;
        struct {
            uint8_t *data;
            uint32_t len;
            int64_t offset; /* offset of data */
            int64_t size;   /* file size known to the worker */
            enum mlq_job_state state;
            bool done; /* job terminal and no more data */
        } log_data;
        struct {
            char *name;
            int64_t cpus_m, mem;
            int32_t gpus;
            struct mlq_held_attempt *attempts;
            uint32_t nattempts;
            bool draining; /* optional: --drain-and-exit in progress */
            char *pool;    /* optional; NULL = "default" */
            char **labels; /* optional "k=v" */
            uint32_t nlabels;
            struct mlq_gpuinfo *gpu_list; /* optional; when present, gpus == ngpu_list */
            uint32_t ngpu_list;
            char *addr;    /* optional: where other hosts reach the worker (hostaddr.h) */
            char *version; /* optional: the worker's release ("0.1.0") */
            char *git;     /* optional: its git description */
            /* optional: TCP ports offered for gang rendezvous; 0, 0 = none */
            int32_t rdv_lo, rdv_hi;
            char *limits; /* optional: how jobs are held to their requests
                             (mlq_proto_limits_check); NULL unknown */
            bool batch;   /* optional: the worker reads "batch" messages */
        } reg;
        struct {
            char *name;
            bool draining;                /* optional */
            struct mlq_gpuload *gpu_load; /* optional; <= MLQ_MAX_GPUS, distinct indexes */
            uint32_t ngpu_load;
        } heartbeat;
        struct {
            char *text; /* <= MLQ_MAX_METRICS_TEXT bytes */
        } metrics_text;
        struct {
            char *name;
            bool drained; /* true: it holds nothing; false: its running jobs
                             stay under their shims */
        } goodbye;
        struct {
            char attempt_id[MLQ_ID_LEN + 1];
            enum mlq_report_phase phase;
            enum mlq_outcome outcome;
            int32_t exit_code;        /* when EXITED */
            int32_t signal;           /* when SIGNALED */
            int64_t pid;              /* shim pid, STARTED */
            int64_t start_ms, end_ms; /* worker wall clock; end_ms is recorded,
                                         clamped to [start, now] */
            char *detail;             /* may be NULL */
            struct mlq_usage usage;   /* FINISHED; optional on the wire */
            char *manifest;           /* FINISHED, optional: the run manifest (JSON
                                         object, <= MLQ_MAX_MANIFEST bytes) */
            bool no_retry;            /* START_FAILED: the request itself cannot start (optional) */
        } report;
        struct {
            uint64_t token;
            uint8_t *data;
            uint32_t len;
            int64_t size;
            int32_t err; /* 0 or MLQ_E* */
        } log_chunk;
        struct {
            int64_t heartbeat_ms, lease_ms;
            bool batch; /* optional: the scheduler reads "batch" messages */
        } registered;
        struct {
            char attempt_id[MLQ_ID_LEN + 1];
            char job_id[MLQ_ID_LEN + 1];
            int32_t attempt;
            struct mlq_jobspec spec;
            int32_t *gpu_ids;
            uint32_t ngpu_ids;
            int64_t kill_grace_ms;
            /* optional: the job is task array_index of array_id (array_size tasks) */
            char array_id[MLQ_ID_LEN + 1]; /* "" when not a task */
            int32_t array_index;
            uint32_t array_size;
            bool allow_root;          /* optional: the scheduler's --allow-root-jobs */
            struct mlq_ganginfo gang; /* optional: nnodes 0 = not a gang */
        } assign;
        struct {
            struct mlq_scheduleinfo sched;
        } schedule_add;
        struct {
            char *name;
            char *op; /* "pause", "resume", "rm", "run_now" */
        } schedule_cmd;
        struct {
            char *name;   /* NULL = all */
            char *cursor; /* optional: the `next` of the previous reply */
        } schedules;
        struct {
            struct mlq_scheduleinfo *schedules;
            uint32_t nschedules;
            char *next; /* optional: as job_list.next */
        } schedule_list;
        struct {
            char attempt_id[MLQ_ID_LEN + 1];
            char *reason;
            bool preempt; /* optional: a preemption, not a cancel: the job's
                             preemption signal and grace (its spec) apply */
        } kill;
        struct {
            char attempt_id[MLQ_ID_LEN + 1];
            enum mlq_report_phase phase;
            bool accepted; /* false: fenced, kill the attempt */
        } report_ack;
        struct {
            uint64_t token;
            char attempt_id[MLQ_ID_LEN + 1];
            enum mlq_stream stream;
            int64_t offset;
            uint32_t max;
        } log_read;
        struct {
            char attempt_id[MLQ_ID_LEN + 1];
            enum mlq_stream stream;
            int64_t offset; /* of data within the uploaded tail */
            uint8_t *data;  /* <= MLQ_MAX_LOG_CHUNK */
            uint32_t len;
            int64_t skipped; /* bytes dropped from the head to respect the cap */
            bool eof;        /* last chunk of this stream */
        } log_upload;
        struct {
            char attempt_id[MLQ_ID_LEN + 1];
            enum mlq_stream stream;
            int64_t offset; /* next offset the scheduler expects */
            int32_t err;    /* 0, or MLQ_E*: retry later (e.g. disk full) */
        } log_upload_ack;
        struct {
            char *worker;
            char *reason; /* drain only; may be NULL */
        } drain;          /* also "resume" (reason unused) */
        struct {
            char *job; /* id prefix */
        } why;         /* also "job_spec" */
        struct {
            char id[MLQ_ID_LEN + 1];
            bool is_array;           /* spec is an array's (its "array" set) */
            struct mlq_jobspec spec; /* as submitted, environment included */
        } job_spec_reply;
        struct {
            char *worker;
            bool reset;          /* drop the override first */
            char *pool;          /* NULL: unchanged */
            bool clear_labels;   /* drop the worker's own labels */
            char **labels;       /* "k=v" set by key */
            uint32_t nlabels;    /* <= MLQ_MAX_LABELS */
            int64_t cpus_m, mem; /* 0: unchanged */
            int32_t gpus;        /* -1: unchanged */
            char *gpu_type;      /* with gpus: cap only this type; NULL any */
        } worker_set;
        struct {
            struct mlq_poolsum *pools;
            uint32_t npools; /* <= MLQ_MAX_WORKERS */
        } worker_summary;
        struct {
            char *job;       /* id, prefix or ARRAY/N */
            int32_t attempt; /* 0: the latest attempt */
        } manifest;
        struct {
            char job_id[MLQ_ID_LEN + 1];
            char attempt_id[MLQ_ID_LEN + 1];
            int32_t attempt;
            char *json; /* <= MLQ_MAX_MANIFEST bytes */
        } manifest_data;
        struct {
            char name[MLQ_MAX_NAME + 1];
            char key[MLQ_KEY_Z85_LEN + 1];
            char role[MLQ_ROLE_NAME_MAX]; /* "user", "admin", "worker" */
            char team[MLQ_MAX_NAME + 1];  /* optional; "" = leave as is */
        } user_add;
        struct {
            char op[8];                  /* "add", "rm", "list", "set" */
            char name[MLQ_MAX_NAME + 1]; /* "" with list: every team */
            int32_t preempt_within;      /* set: 0 off, 1 on; -1 (or absent): unchanged */
        } team_cmd;
        struct {
            struct mlq_teaminfo *teams;
            uint32_t nteams; /* <= MLQ_MAX_LIST */
        } team_list;
        struct {
            char op[8]; /* "set", "rm", "list" */
            struct mlq_quotainfo q;
        } quota_cmd;
        struct {
            struct mlq_quotainfo *quotas;
            uint32_t nquotas; /* <= MLQ_MAX_LIST */
        } quota_list;
        struct {
            char name[MLQ_MAX_NAME + 1];
            char team[MLQ_MAX_NAME + 1]; /* "" = no team */
        } user_set;
        struct {
            int64_t since_ms, until_ms; /* wall clock; 0 = the default window */
            enum mlq_acct_by by;
        } acct;
        struct {
            int64_t since_ms, until_ms; /* the window reported */
            enum mlq_acct_by by;
            struct mlq_acctrow *rows;
            uint32_t nrows; /* <= MLQ_MAX_LIST */
        } acct_report;
        struct {
            char name[MLQ_MAX_NAME + 1];
            char kind[MLQ_ROLE_NAME_MAX]; /* "user" (users and admins) or "worker" */
        } user_rm;
        struct {
            struct mlq_userinfo *users;
            uint32_t nusers; /* <= MLQ_MAX_LIST */
        } user_list;
        struct {
            char *job;        /* id prefix; NULL = every event */
            int64_t since_ms; /* wall clock; 0 = from the start */
            uint32_t limit;   /* 0 = 100; <= MLQ_MAX_LIST */
        } events;
        struct {
            struct mlq_eventinfo *events; /* oldest first */
            uint32_t nevents;             /* <= MLQ_MAX_LIST */
        } event_list;
        struct {
            char name[MLQ_MAX_NAME + 1];
            char principal[MLQ_MAX_NAME + 1]; /* whose token */
            char role[MLQ_ROLE_NAME_MAX];     /* "user" or "admin" */
            int64_t expires_in_ms;            /* 0 = never */
        } token_create;
        struct {
            char name[MLQ_MAX_NAME + 1];
        } token_rm;
        struct {
            struct mlq_tokeninfo *tokens;
            uint32_t ntokens; /* <= MLQ_MAX_LIST */
        } token_list;
        struct {
            struct mlq_usageinfo *users;
            uint32_t nusers; /* <= MLQ_MAX_LIST */
        } usage_list;
        struct {
            char *path; /* absolute; the file must not exist yet */
        } backup;
        struct {
            char *path;
            int64_t size;        /* bytes */
            int64_t pages;       /* database pages copied */
            int64_t page_size;   /* bytes */
            int64_t duration_ms; /* copy, check, fsync and rename */
            int32_t schema;      /* the copy's schema version (PRAGMA user_version) */
            char *integrity;     /* "ok" (PRAGMA integrity_check of the copy) */
        } backup_done;
        struct {
            char job_id[MLQ_ID_LEN + 1];
            enum mlq_job_state state;
            char *blocker;        /* "none", "dependency", "retry_wait", "priority",
                                     "reservation", "pool", "labels", "gpu_type",
                                     "never_fits", "admin_limit", "resources", "drained",
                                     "no_workers", "fragmented", "quota" */
            char *text;           /* one line for humans */
            char *closest_worker; /* may be NULL */
            char *lacks;          /* what the closest worker lacks; may be NULL */
            uint32_t ahead;       /* ready jobs that go first */
            /* The start estimate (optional keys; estimate.h). */
            bool fits_ever;     /* some worker could ever run it */
            char *start_worker; /* would start now there; NULL otherwise */
            char *start_gpus;   /* its GPUs there ("0,1"); NULL when none */
            char *est_kind;     /* "latest", "not_before", "unknown"; NULL: none */
            int64_t est_at_ms;  /* wall clock; 0 with "unknown" */
            char *est_why;      /* one line for humans; NULL with est_kind */
            /* The quota the job counts against (optional keys; NULL: none
             * applies). */
            char *quota_team; /* "" for jobs without a team */
            char *quota_pool;
            char *quota_text;   /* one line for humans */
            bool quota_borrows; /* it would start by borrowing */
            bool quota_admits;  /* the quota lets it start now */
        } why_reply;
        struct {
            /* Encoded message bodies, none of them a batch: the caller's
             * when encoding; when decoded, all in the one allocation store. */
            const char **bodies;
            size_t *lens;
            uint32_t n; /* 1..MLQ_MAX_BATCH */
            void *store;
        } batch;
    } u;
};

/* Encodes msg into a malloc'd buffer the caller frees. */
int mlq_proto_encode(const struct mlq_msg *msg, char **out, size_t *out_len, struct mlq_err *err);
/* Validates and decodes one body. On success *msg owns its allocations (free
 * with mlq_proto_msg_free); on failure *msg holds nothing to free. */
int mlq_proto_decode(const void *buf, size_t len, struct mlq_msg *msg, struct mlq_err *err);
/* Releases everything a decoded message owns; leaves *msg zeroed. */
void mlq_proto_msg_free(struct mlq_msg *msg);
/* Decodes message i of a decoded batch into *out (free it with
 * mlq_proto_msg_free); a batch inside a batch is refused (MLQ_EPROTO). */
int mlq_proto_batch_item(const struct mlq_msg *batch, uint32_t i, struct mlq_msg *out,
                         struct mlq_err *err);
/* Whether m is an "error" from a peer whose wire protocol range excludes
 * this build's version: retrying cannot help. */
bool mlq_proto_error_refuses_us(const struct mlq_msg *m);
/* Wire name of a type ("submit"); "?" when out of range. */
const char *mlq_proto_type_name(enum mlq_msg_type t);

/* Field-level helpers shared by decoders elsewhere (also freeing helpers). */
void mlq_proto_jobinfo_free(struct mlq_jobinfo *info);
void mlq_proto_workerinfo_free(struct mlq_workerinfo *w);
void mlq_proto_gpuinfo_free(struct mlq_gpuinfo *g);
void mlq_proto_ganginfo_free(struct mlq_ganginfo *g); /* leaves it zeroed */
/* A gang host's address (an advertised address or a worker name): 1 to
 * MLQ_MAX_HOST bytes of printable ASCII without spaces; 0 or MLQ_EINVAL. */
int mlq_proto_gang_addr_check(const char *addr, struct mlq_err *err);
void mlq_proto_gpuinfo_free(struct mlq_gpuinfo *g); /* the strings inside */
void mlq_proto_arrayinfo_free(struct mlq_arrayinfo *a);
void mlq_proto_scheduleinfo_free(struct mlq_scheduleinfo *s);
/* Schedule helpers shared by the CLI, the scheduler and the decoder.
 * - a schedule name: 1..MLQ_MAX_NAME bytes of A-Z a-z 0-9 _ . -;
 * - a schedule concurrency: "allow", "skip" or "replace";
 * - a schedule op: "pause", "resume", "rm" or "run_now". */
int mlq_proto_schedule_name_check(const char *name, struct mlq_err *err);
/* Checks a schedule as submitted by `schedule_add`: name, cron and time zone
 * lengths and alphabet (the scheduler parses them), concurrency, catch-up
 * range, and its spec (mlq_proto_jobspec_check). */
int mlq_proto_scheduleinfo_check(const struct mlq_scheduleinfo *s, struct mlq_err *err);
/* Key and audit helpers shared by the CLI, the scheduler, the store and the
 * decoder.
 * - a principal (user, admin or worker) name: 1..MLQ_MAX_NAME bytes of
 *   A-Z a-z 0-9 _ . @ -. */
int mlq_proto_principal_name_check(const char *name, struct mlq_err *err);
void mlq_proto_eventinfo_free(struct mlq_eventinfo *e); /* the strings inside */
/* A worker's limits field: "enforce/v2", "enforce/v1", "account/v2",
 * "account/v1" or "none". */
int mlq_proto_limits_check(const char *s, struct mlq_err *err);

#endif
