/* jobspec: what a user asks a job to be (struct mlq_jobspec) and the
 * checks, copies and packing of it, shared by the CLI, the worker, the
 * scheduler and the wire protocol. Included by proto.h, whose messages
 * carry specs; implemented in protospec.c (packing, copies) and
 * speccheck.c (checks). */
#ifndef MLQ_JOBSPEC_H
#define MLQ_JOBSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "err.h"

/* What a user asks for. owner is filled by the client; a scheduler
 * with keys replaces it with the authenticated identity. */
/* The fields are ordered so that 4-byte ones pair up and leave no padding:
 * the scheduler keeps one of these for each of up to a million pending jobs
 * (struct mlq_job), so every hole costs a megabyte there. */
struct mlq_jobspec {
    char *name;  /* may be NULL */
    char *owner; /* user name */
    char **argv; /* argc >= 1 entries, each non-empty for argv[0] */
    char **env;  /* envc "KEY=VALUE" entries, KEY non-empty without '=' */
    uint32_t argc;
    uint32_t envc;
    char *workdir;  /* absolute path */
    int64_t cpus_m; /* > 0 */
    int64_t mem;    /* bytes, > 0 */
    int32_t gpus;   /* >= 0 */
    /* Optional on the wire (absent = 0 = the default in parentheses). */
    int32_t retries;          /* re-runs after FAILED / TIMED_OUT, 0..MLQ_MAX_RETRIES (0) */
    int64_t retry_backoff_ms; /* delay before the first retry, doubling (30 s) */
    int64_t time_limit_ms;    /* wall time limit of one attempt (none) */
    int64_t kill_grace_ms;    /* SIGTERM to SIGKILL delay (30 s) */
    int64_t warn_before_ms;
    int32_t warn_signal; /* sent warn_before_ms before the limit (none) */
    /* Placement, optional on the wire. */
    int32_t priority;  /* -MLQ_MAX_PRIORITY..MLQ_MAX_PRIORITY (0) */
    char *pool;        /* worker pool; NULL = "default" */
    char **require;    /* nrequire "k=v" labels the worker must carry */
    char *gpu_type;    /* normalised GPU type ("h100"), or alternatives joined by
                          '|' ("a100|h100", any of them will do); NULL = any */
    uint32_t nrequire; /* <= MLQ_MAX_LABELS */
    /* GPU shares, optional on the wire: a share of one GPU, in hundredths
     * (1..99; gpus is then 0), and GPU memory wanted on that GPU (bytes; a
     * share of one GPU when set alone). 0 = none. */
    int32_t gpu_frac;
    int64_t gpu_mem;
    /* Pipelines, optional on the wire. */
    uint32_t ndeps;
    struct mlq_dep *deps;  /* ndeps start conditions; <= MLQ_MAX_DEPS */
    char *array;           /* submit only: "0-999", "0-99:10", "1,5,7"; NULL = not an array */
    char *idempotency_key; /* submit only: same key + same owner = same job (7 days) */
    uint32_t max_running;  /* arrays: tasks running at once; 0 = no limit */
    /* Gangs, optional on the wire: node parts on distinct workers, each
     * with the resources above; 0 = not a gang, 1..MLQ_MAX_NODES. */
    uint32_t nodes;
    /* Optional on the wire: the OCI image reference the job runs in through
     * the worker's container runtime (mlq_proto_image_check); NULL = none. */
    char *image;
    /* Run manifest, optional on the wire: paths (absolute or relative to
     * workdir) the worker hashes at the start (inputs) and at the end
     * (outputs) of each attempt; <= MLQ_MAX_IO_PATHS each. */
    char **inputs;
    char **outputs;
    uint32_t ninputs;
    uint32_t noutputs;
    /* A user hold, optional on the wire: while held_by is set the job is
     * never placed. On submit any value asks for a held job (`--hold`); the
     * scheduler replaces it with the submitter and the time. */
    char *held_by;   /* who held it; NULL = not held */
    int64_t held_ms; /* when (wall clock) */
    /* Files the job's stdout / stderr also go to, on the worker (outpath.h
     * templates); NULL = only the spool. Optional on the wire. */
    char *stdout_file;
    char *stderr_file;
    /* Accounting, optional on the wire. team: the submitter's team, set by
     * the scheduler at submit (what a client sends is replaced); NULL =
     * none. project: a label the submitter chose (mlq_proto_project_check);
     * NULL = none. */
    char *team;
    char *project;
    /* Preemption, optional on the wire (absent = 0). preempt_grace_ms: the
     * wait between the preemption signal and SIGKILL (0 at submit: the
     * scheduler's default, filled in then); min_runtime_ms: not preempted
     * before it ran this long (0: the scheduler's default); no_preempt: the
     * submitter asked not to be preempted (honoured while within its team's
     * nominal quota). Set by the scheduler only: preemptions (attempts that
     * ended preempted, which use no retry) and preempt_note (why the running
     * attempt is being preempted; NULL = it is not). */
    int64_t preempt_grace_ms;
    int64_t min_runtime_ms;
    char *preempt_note;
    int32_t preemptions;
    bool no_preempt;
};

/* What `mlq update` changes in a job that has not started: each field
 * whose bit is in `set` (MLQ_CHANGE_*); the others stay as they are. */
enum {
    MLQ_CHANGE_PRIORITY = 1u << 0,
    MLQ_CHANGE_TIME_LIMIT = 1u << 1,
    MLQ_CHANGE_CPUS = 1u << 2,
    MLQ_CHANGE_MEM = 1u << 3,
    MLQ_CHANGE_GPUS = 1u << 4,
    MLQ_CHANGE_RETRIES = 1u << 5,
};
struct mlq_jobchange {
    char *job; /* id or unique prefix */
    uint32_t set;
    int32_t priority;
    int64_t time_limit_ms; /* 0: no limit */
    int64_t cpus_m;
    int64_t mem;
    int32_t gpus;
    int32_t retries;
};

enum mlq_dep_kind {
    MLQ_DEP_OK = 0, /* "ok": the target SUCCEEDED (--after) */
    MLQ_DEP_ANY,    /* "any": the target ended in any way (--after-any) */
    MLQ_DEP_FAILED, /* "failed": the target did not succeed (--after-failed) */
};

/* A dependency. On submit, target is what the user typed (a job or array id
 * prefix); the scheduler stores the full id. An array target means all of
 * its tasks (ok: all succeeded; any: all ended; failed: one did not
 * succeed). */
struct mlq_dep {
    char target[MLQ_ID_LEN + 1];
    enum mlq_dep_kind kind;
};

/* Releases the strings and arrays spec owns; leaves it zeroed. */
void mlq_proto_jobspec_free(struct mlq_jobspec *spec);

/* Syntax of the placement names, shared by the CLI, the worker, the scheduler
 * and the decoder; 0 or MLQ_EINVAL with a message that does not repeat the
 * value (callers name the option or key).
 * - a label / requirement "k=v": at most MLQ_MAX_LABEL_LEN bytes, k non-empty
 *   of A-Z a-z 0-9 _ . -, v printable ASCII without spaces (may be empty);
 * - a pool name: 1..MLQ_MAX_NAME printable ASCII bytes, no space, no '/';
 * - a normalised GPU type: 1..MLQ_MAX_GPU_TYPE bytes of a-z 0-9 _ - . (a MIG
 *   type holds a '.': "a100-1g.10gb");
 * - a job's GPU types: 1..MLQ_MAX_GPU_ALTS distinct normalised types joined
 *   by '|' ("a100|h100"). */
int mlq_proto_label_check(const char *kv, struct mlq_err *err);
int mlq_proto_pool_check(const char *pool, struct mlq_err *err);
int mlq_proto_gpu_type_check(const char *type, struct mlq_err *err);
int mlq_proto_gpu_types_check(const char *types, struct mlq_err *err);
/* Whether a GPU of type type ("" or NULL: unknown) satisfies a job's GPU
 * types (NULL: any GPU will do; else one of the '|' alternatives). */
bool mlq_proto_gpu_type_matches(const char *types, const char *type);
/* Pipeline helpers shared by the CLI, the scheduler and the decoder.
 * - a dependency target as a user may give it: 1..MLQ_ID_LEN bytes, an id
 *   prefix of 0-9 a-f '-', optionally followed by "/N" (task N, 1..7 digits);
 * - an idempotency key: 1..MLQ_MAX_IDEM_KEY printable ASCII bytes. */
const char *mlq_proto_dep_kind_name(enum mlq_dep_kind k); /* "ok", "any", "failed"; "?" */
bool mlq_proto_dep_target_ok(const char *target);
/* An OCI image reference: 1..MLQ_MAX_IMAGE bytes of A-Z a-z 0-9 . _ - / : @,
 * starting with a letter or digit, and no transport prefix (docker-archive:,
 * oci:, dir: ...) that would make the runtime read a path on the worker. */
int mlq_proto_image_check(const char *ref, struct mlq_err *err);
int mlq_proto_idem_key_check(const char *key, struct mlq_err *err);
/* An accounting project label: 1..MLQ_MAX_PROJECT of A-Z a-z 0-9 _ . - /. */
#define MLQ_MAX_PROJECT 64
int mlq_proto_project_check(const char *project, struct mlq_err *err);
/* Checks a spec against bounds.h and the rules above (argc >= 1, env syntax,
 * absolute workdir, positive cpus/mem, gpus in range, priority in range,
 * pool / require / gpu_type syntax, a gpu_type only with GPUs asked for,
 * gpu_frac 0..99 and gpu_mem only without whole GPUs and not in a gang). */
int mlq_proto_jobspec_check(const struct mlq_jobspec *spec, struct mlq_err *err);
/* Deep copy; caller frees dst with mlq_proto_jobspec_free. */
int mlq_proto_jobspec_copy(struct mlq_jobspec *dst, const struct mlq_jobspec *src,
                           struct mlq_err *err);
/* Encodes/decodes a jobspec alone (the scheduler stores specs as this blob). */
int mlq_proto_jobspec_pack(const struct mlq_jobspec *spec, char **out, size_t *out_len,
                           struct mlq_err *err);
int mlq_proto_jobspec_unpack(const void *buf, size_t len, struct mlq_jobspec *spec,
                             struct mlq_err *err);
/* The same spec in the store's lean form: optional keys at their default
 * are left out (a plain job's spec is a third of the full map, which is
 * most of what each job row costs to write); unpack reads both forms. The
 * full form stays the one that request hashes are taken over. */
int mlq_proto_jobspec_pack_stored(const struct mlq_jobspec *spec, char **out, size_t *out_len,
                                  struct mlq_err *err);

#endif
