/* runmanifest: an attempt's run manifest, recorded by its shim (what ran,
 * where, as whom, on which GPUs, from which code and data) and carried to
 * the scheduler with the attempt's finished report.
 *
 * Spool: SPOOL/attempts/<id>/manifest holds the JSON text (at most
 * MLQ_MAX_MANIFEST bytes). The shim writes it once recorded, before the
 * job starts (atomic, not fsynced: nothing on the start path waits for
 * the disk), so that a shim that dies with its job still leaves it for the
 * worker's "lost" report; then again with the outputs, atomically and
 * durably, before the status file, so that a worker that reports the
 * outcome (now or after a restart, or a power loss) always finds it. The
 * worker re-reads it for each (re-)send of the finished report.
 *
 * What is read on the job's behalf (git, --input and --output files) is
 * read by a child of the shim that has dropped to the job's account first,
 * bounded in time: the git runs by MLQ_GITINFO_TIME_MS, the hashing by the
 * worker's --manifest-hash-time, the child as a whole by their sum plus a
 * margin, after which it is killed and the manifest says so. The job never
 * waits longer than that bound.
 *
 * The worker hands its settings to the shims in one environment variable
 * (MLQ_RUNMANIFEST_ENV, never passed to the job): the secret-name patterns,
 * the hashing limits, its GPUs and the driver's versions. */
#ifndef MLQ_RUNMANIFEST_H
#define MLQ_RUNMANIFEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "gpu.h"
#include "manifest.h"
#include "proto.h"

#define MLQ_RUNMANIFEST_ENV  "MLQ_MANIFEST_CONF"
#define MLQ_RUNMANIFEST_FILE "manifest"

/* The worker's settings for its shims. */
struct mlq_runmanifest_conf {
    struct mlq_manifest_secrets secrets;
    int64_t hash_time_ms; /* per phase (inputs at the start, outputs at the end) */
    int64_t max_file;     /* bytes */
};

/* The account the shim reads as (drop false: its own). */
struct mlq_runmanifest_ids {
    bool drop;
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    int ngroups;
    const char *user; /* NULL when not dropping: looked up */
};

void mlq_runmanifest_conf_init(struct mlq_runmanifest_conf *c);
/* Worker side: the variable's value (JSON) from c, the GPUs and the
 * driver's versions ("" unknown). Caller frees *out. */
int mlq_runmanifest_conf_text(const struct mlq_runmanifest_conf *c, const struct mlq_gpu_set *gpus,
                              const char *driver, const char *cuda, char **out,
                              struct mlq_err *err);

/* Shim side, at the start: the manifest of the attempt in assign, with envp
 * (what the job is given) and the inputs read as ids. When an input does
 * not exist, its path (as given) is written into missing (else ""): the
 * attempt must not start. NULL when out of memory. */
json_t *mlq_runmanifest_start(const struct mlq_msg *assign, char *const *envp,
                              const struct mlq_runmanifest_ids *ids, char *missing, size_t len);
/* In a standby shim, before it forks: parses the worker's settings once for
 * every shim it forks (and seeds jansson's hash there). Optional: a shim
 * that was not warmed parses them at its start. */
void mlq_runmanifest_warm(void);
/* At the end: adds the outputs and the end time. */
void mlq_runmanifest_finish(json_t *doc, const struct mlq_msg *assign,
                            const struct mlq_runmanifest_ids *ids);
/* Writes doc's bounded text into dir, atomically; durably (fsync) when
 * durable. */
int mlq_runmanifest_write(const char *dir, json_t *doc, bool durable, struct mlq_err *err);
/* Worker side: the text in dir, or NULL when there is none. */
char *mlq_runmanifest_read(const char *dir);

#endif
