/* bounds: every bound on untrusted input, in one place (DESIGN.md rule 6). */
#ifndef MLQ_BOUNDS_H
#define MLQ_BOUNDS_H

/* The wire protocol this build speaks when it sends, and the range of
 * versions it accepts (docs/protocol.md "Versions"). An "error" body keeps
 * the same layout in every version, so a refusal is readable by any peer. */
#define MLQ_PROTO_VERSION 1
#define MLQ_PROTO_MIN     1
#define MLQ_PROTO_MAX     MLQ_PROTO_VERSION

#define MLQ_MAX_VERSION       64                /* a program's release or git description */
#define MLQ_MAX_MSG           (4 * 1024 * 1024) /* any body but the bulk ones below */
#define MLQ_MAX_DEPTH         8                 /* msgpack nesting depth */
#define MLQ_MAX_STR           4096              /* any single string field */
#define MLQ_MAX_NAME          128               /* job and worker names */
#define MLQ_MAX_PATH          4096              /* working directory, spool paths */
#define MLQ_MAX_ARGC          1024              /* argv entries */
#define MLQ_MAX_ARGV_BYTES    (256 * 1024)      /* sum of argv string lengths */
#define MLQ_MAX_ENVC          1024              /* a job's environment entries */
#define MLQ_MAX_ENV_ENTRY     (32 * 1024)       /* one "KEY=VALUE" */
#define MLQ_MAX_ENV_BYTES     (128 * 1024)      /* sum of a job's "KEY=VALUE" lengths */
#define MLQ_MAX_IDS           1024              /* job ids in one request */
#define MLQ_MAX_LIST          10000             /* rows in one listing reply */
#define MLQ_MAX_WORKERS       4096              /* workers in one listing */
#define MLQ_MAX_GPUS          64                /* GPUs per worker (bitmap width) */
#define MLQ_MAX_ATTEMPTS_LIST 4096              /* attempts named in one register */
#define MLQ_MAX_BATCH         1024              /* messages in one batch */
#define MLQ_MAX_BATCH_BYTES   (1024 * 1024)     /* their bodies together */
#define MLQ_MAX_LOG_CHUNK     (1024 * 1024)     /* bytes of log in one reply */
#define MLQ_MAX_METRICS_TEXT  (3 * 1024 * 1024) /* the `metrics` reply's text */
#define MLQ_MAX_MANIFEST      (256 * 1024)      /* an attempt's run manifest (JSON text) */
#define MLQ_MAX_CPUS_M        (1024 * 1000)     /* 1024 CPUs, in millicores */
#define MLQ_MAX_MEM           (1LL << 50)       /* 1 PiB */

/* A submit_many body and its reply (protocol.md): many jobs in one request
 * need more room than any other message, which stays within MLQ_MAX_MSG.
 * ZMQ_MAXMSGSIZE allows this much (plus CURVE's framing) on every socket;
 * the decoder holds every other type to MLQ_MAX_MSG. */
#define MLQ_MAX_BULK_MSG  (64 * 1024 * 1024)
#define MLQ_MAX_BULK_JOBS 100000 /* jobs in one submit_many */

#define MLQ_MAX_RETRIES      100                        /* --retries */
#define MLQ_MAX_ATTEMPT_INFO 256                        /* attempts listed by `mlq status` */
#define MLQ_MAX_TIME_MS      (366LL * 24 * 3600 * 1000) /* limits, backoffs, graces */
#define MLQ_MAX_ARRAY        100000                     /* tasks in one job array */

/* Attempts running on one worker at once: the scheduler places no more and
 * a worker refuses more, so that a huge array of tiny jobs cannot overflow
 * it. Below MLQ_MAX_ATTEMPTS_LIST, which also counts the finished attempts
 * whose reports or logs are not yet acknowledged. */
#define MLQ_MAX_WORKER_ATTEMPTS 1024

#define MLQ_MAX_PRIORITY  1000 /* --priority range is +-this */
#define MLQ_MAX_LABELS    32   /* --label / --require entries */
#define MLQ_MAX_LABEL_LEN 128  /* one "k=v" */
#define MLQ_MAX_GPU_TYPE  32   /* normalised GPU type ("h100") */
#define MLQ_GPU_SHARE_MAX 99   /* a share of one GPU, in hundredths */
#define MLQ_MAX_GPU_ALTS  8    /* alternatives in a job's GPU type ("a100|h100") */
/* A job's GPU type: up to MLQ_MAX_GPU_ALTS types joined by '|'. */
#define MLQ_MAX_GPU_TYPES ((MLQ_MAX_GPU_TYPE + 1) * MLQ_MAX_GPU_ALTS - 1)
#define MLQ_MAX_REASON    255 /* `mlq drain --reason` */
#define MLQ_MAX_HOST      253 /* a worker's advertised address: a DNS name's limit */
#define MLQ_MAX_NODES     256 /* --nodes: node parts of one gang job */

#define MLQ_MAX_DEPS       64    /* --after entries */
#define MLQ_MAX_IO_PATHS   64    /* --input, and --output, paths of one job */
#define MLQ_MAX_SCHEDULES  10000 /* schedules in one listing */
#define MLQ_MAX_IDEM_KEY   128   /* --idempotency-key */
#define MLQ_MAX_IMAGE      255   /* --image: an OCI image reference */
#define MLQ_MAX_NEXT_FIRES 5     /* next fire times in a scheduleinfo */
#define MLQ_MAX_SCHED_RUNS 10    /* past runs in a scheduleinfo */

#define MLQ_ID_LEN       36 /* canonical UUID text, without the NUL */
#define MLQ_SHORT_ID_LEN 8
/* A job reference in jobs/cancel/logs/why: an id, a prefix, or "ARRAY/N"
 * (an array id or prefix, '/', a task index of up to 7 digits). */
#define MLQ_MAX_REF (MLQ_ID_LEN + 8)
/* What a user may name one job by in a request: a reference as above, or
 * the name of one of their active jobs. */
#define MLQ_MAX_JOBREF MLQ_MAX_NAME
/* A listing's continuation: an opaque string the scheduler hands out in a
 * reply that had to stop early, sent back to get what follows. */
#define MLQ_MAX_CURSOR (MLQ_MAX_NAME + 32)

#endif
