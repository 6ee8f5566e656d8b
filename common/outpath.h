/* outpath: the files a job's stdout and stderr are also written to
 * (`mlq submit -o/--stdout FILE`, `-e/--stderr FILE`), given as templates
 * with placeholders: %j the job id, %a the array task index (empty for a job
 * that is not a task), %A the attempt number, %% a percent sign. Any other
 * '%' sequence is refused, so a template means the same everywhere. A
 * relative path is relative to the job's working directory. */
#ifndef MLQ_OUTPATH_H
#define MLQ_OUTPATH_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* MLQ_EINVAL naming the option (what) unless tmpl is a valid template:
 * non-empty, at most MLQ_MAX_PATH bytes, no newline, known placeholders. */
int mlq_outpath_check(const char *what, const char *tmpl, struct mlq_err *err);
/* Expands a checked template into buf (workdir prepended to a relative
 * path); MLQ_ETOOBIG when it does not fit. index < 0: not a task. */
int mlq_outpath_expand(const char *tmpl, const char *workdir, const char *job_id, int32_t index,
                       int32_t attempt, char *buf, size_t len);

#endif
