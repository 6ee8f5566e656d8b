/* shimrun: the steps of a shim's run that other modules do the work of:
 * the run manifest (runmanifest.h) recorded at the start and completed at
 * the end, and a container job's runtime command line (container.h). The
 * shim (shim.c) calls them in order and turns what they report into its
 * start failures. */
#ifndef MLQ_SHIMRUN_H
#define MLQ_SHIMRUN_H

#include <jansson.h>
#include <stddef.h>

#include "jobenv.h"
#include "proto.h"
#include "runmanifest.h"

/* What the steps need of the attempt: its folder, assign message and the
 * account it runs as (drop false: the shim's own). */
struct mlq_shimrun {
    const char *dir;
    const struct mlq_msg *assign;
    struct mlq_runmanifest_ids ids;
};

/* A container job (--image): inside, the GPUs count from 0 (CDI passes
 * only the job's), and NVIDIA_VISIBLE_DEVICES is "void" so that an NVIDIA
 * runtime hook adds none (CUDA images say "all"); *cargv (caller frees
 * with mlq_container_argv_free) replaces argv. Nothing for another job.
 * Returns 0, or -1 with why set. */
int mlq_shimrun_container(const struct mlq_shimrun *r, struct mlq_jobenv *env, int err_fd,
                          char ***cargv, char *why, size_t len);

/* The manifest recorded from env exactly as the job gets it, with an early
 * copy written for a shim that dies with its job. A missing --input is
 * named in missing (else ""): the attempt must not start. NULL when out of
 * memory. */
json_t *mlq_shimrun_manifest_start(const struct mlq_shimrun *r, char *const *env, char *missing,
                                   size_t len);
/* At the end: adds the outputs and the end time. */
void mlq_shimrun_manifest_finish(const struct mlq_shimrun *r, json_t *doc);
/* Before the status, durably: whoever reports the outcome finds the
 * manifest. A failure costs the manifest, never the outcome. */
void mlq_shimrun_manifest_write(const struct mlq_shimrun *r, json_t *doc);

#endif
