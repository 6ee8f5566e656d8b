/* gpusmi: nvidia-smi run as a child with a deadline, for GPU discovery. */
#ifndef MLQ_GPUSMI_H
#define MLQ_GPUSMI_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MLQ_GPUSMI_OUT_MAX (64 * 1024) /* stdout bytes kept; more is an error */

/* name itself when it holds a '/', else the first executable file of that
 * name in PATH (empty PATH entries, the current directory, are skipped). */
int mlq_gpusmi_find(const char *name, char *path, size_t len, struct mlq_err *err);

/* Runs path with up to two args (NULL-terminated) until deadline (the
 * monotonic clock, ms; timeout_ms for messages), its stdin /dev/null, and
 * copies what it printed on stdout into out (cap bytes) and *nout. Fails,
 * with the first line of its stderr, where it cannot run, exits non-zero,
 * is killed, prints more than MLQ_GPUSMI_OUT_MAX bytes, or does not finish
 * by the deadline (then its whole process group is killed). */
int mlq_gpusmi_run(const char *path, const char *const *args, int64_t deadline, int timeout_ms,
                   char *out, size_t cap, size_t *nout, struct mlq_err *err);

#endif
