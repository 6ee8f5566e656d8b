/* datearg: a point in time as users write it on a command line or in a
 * URL (`mlq usage --since`, GET /api/v1/accounting?since=). */
#ifndef MLQ_DATEARG_H
#define MLQ_DATEARG_H

#include <stdint.h>

#include "err.h"

/* s as wall-clock ms: YYYY-MM-DD (midnight UTC), YYYY-MM-DDTHH:MM[:SS][Z]
 * (UTC), or a duration ago ("7d", "12h") counted from now_ms. MLQ_EINVAL
 * naming the text otherwise (a date that does not exist included). */
int mlq_datearg_parse(const char *s, int64_t now_ms, int64_t *out, struct mlq_err *err);

#endif
