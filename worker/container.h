/* container: running a job in an OCI image (`mlq submit --image REF`)
 * through the worker's container runtime (podman).
 *
 * The worker names the runtime to its shims in MLQ_CONTAINER_RUNTIME (an
 * absolute path, or empty for none); a shim asked to run an image without
 * one fails the start with "could not start: no container runtime on worker
 * W". Before the start the shim resolves the reference to the image's id
 * and digest (pulling it when the runtime's store lacks it) and runs that id
 * with --pull=never, so that what ran is exactly what was recorded.
 *
 * The run: `podman run --rm --init --sig-proxy=true --network host
 * --cgroups=disabled -v WORKDIR:WORKDIR -w WORKDIR [--user UID:GID
 * --group-add GID...] [--device nvidia.com/gpu=INDEX...] --env NAME...
 * IMAGE_ID ARGV...`:
 * - --init puts a minimal init as the container's pid 1, which passes
 *   SIGTERM on to the job (a plain pid 1 ignores signals it has no handler
 *   for); the shim signals every process of the job, podman included, which
 *   forwards them too (--sig-proxy);
 * - a gang node part's hostfile (MLQ_HOSTFILE) is mounted read-only at
 *   its path, so that the variable means the same inside;
 * - --cgroups=disabled keeps the container's processes in the shim's own
 *   cgroup, where the job's limits and usage accounting already are;
 * - --env NAME passes values through podman's environment, never on its
 *   command line (visible in ps);
 * - GPUs through CDI (nvidia.com/gpu=INDEX, where the runtime has the
 *   NVIDIA CDI spec); inside, CUDA_VISIBLE_DEVICES counts from 0 and
 *   NVIDIA_VISIBLE_DEVICES is "void" (the shim sets both), so that an
 *   NVIDIA hook cannot add the GPUs a CUDA image's "all" would ask for.
 * The job's exit status is podman's: the container's own, or 125..127 when
 * podman itself could not run it. */
#ifndef MLQ_CONTAINER_H
#define MLQ_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <sys/types.h>

#include "err.h"

#define MLQ_CONTAINER_ENV        "MLQ_CONTAINER_RUNTIME" /* worker -> shim */
#define MLQ_CONTAINER_DIGEST     "image_digest" /* spool note: "REF DIGEST ID", "-" no digest */
#define MLQ_CONTAINER_MAX_ID     128
#define MLQ_CONTAINER_PULL_MS    (15 * 60 * 1000) /* a pull may take long, not forever */
#define MLQ_CONTAINER_INSPECT_MS 30000

/* What one container run needs; all borrowed. */
struct mlq_container_run {
    const char *runtime; /* absolute path of podman */
    const char *image;   /* the image id (or reference) to run */
    const char *workdir;
    const char *ro_file; /* a file mounted read-only at its path (a gang's hostfile); NULL */
    bool as_user;        /* --user uid:gid and the account's groups */
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    int ngroups;
    const int32_t *gpu_ids;
    uint32_t ngpus;
    char *const *env_names; /* names passed with --env NAME */
    size_t nenv;
    char *const *argv;
    uint32_t argc;
};

/* Builds the runtime's argv (NULL-terminated); free with
 * mlq_container_argv_free(). MLQ_ENOMEM or MLQ_EINVAL (a path with ':'). */
int mlq_container_argv(const struct mlq_container_run *r, char ***out, struct mlq_err *err);
void mlq_container_argv_free(char **argv);

/* True for the names a container job sees from the shim's environment: the
 * user's --env names are added by the caller; these are the ones mlq sets. */
bool mlq_container_passes(const char *name, bool as_user);

/* Resolves image (a reference) with `RUNTIME image inspect`, pulling it
 * first when the store lacks it; what the runtime prints on stderr goes to
 * err_fd (the job's stderr). Fills digest ("" when the image has none, e.g.
 * built locally) and id. Bounded by MLQ_CONTAINER_PULL_MS and
 * MLQ_CONTAINER_INSPECT_MS. */
int mlq_container_resolve(const char *runtime, const char *image, int err_fd, char *digest,
                          size_t dlen, char *id, size_t idlen, struct mlq_err *err);

/* Everything a shim does before starting a container job: the runtime
 * from MLQ_CONTAINER_RUNTIME, the image resolved (mlq_container_resolve)
 * and recorded in the attempt folder dir (note MLQ_CONTAINER_DIGEST), the
 * names passed with --env (the user's, spec_env, and those of envp that
 * mlq_container_passes()), then the argv. r has everything but runtime,
 * image and env_names, which this fills (r->image then borrows id). On
 * failure err holds the start failure's detail ("no container runtime on
 * worker W"; the scheduler's reason puts "could not start: " before it). */
int mlq_container_prepare(struct mlq_container_run *r, const char *dir, const char *ref,
                          char *const *spec_env, uint32_t spec_envc, char *const *envp, int err_fd,
                          char id[MLQ_CONTAINER_MAX_ID + 1], char ***argv, struct mlq_err *err);

/* Adds "image": {"ref", "digest", "id"} to the run manifest doc from the
 * note mlq_container_prepare() wrote in dir ("digest" null for an image
 * without one, e.g. built locally); nothing when there is no note. */
void mlq_container_manifest(json_t *doc, const char *dir);

/* Whether the account (uid, gid, groups) may enter dir; checked in a child
 * that drops root entirely. For a root caller that will not drop itself. */
bool mlq_container_account_enters(uid_t uid, gid_t gid, const gid_t *groups, int ngroups,
                                  const char *dir);

/* The default runtime: podman found on PATH; NULL when none (owned). */
char *mlq_container_find_default(void);

#endif
