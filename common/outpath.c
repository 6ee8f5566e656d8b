/* outpath: see outpath.h. */
#include "outpath.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bounds.h"

int mlq_outpath_check(const char *what, const char *tmpl, struct mlq_err *err)
{
    if (!tmpl || !tmpl[0])
        return mlq_err_set(err, MLQ_EINVAL, "%s: empty file name", what);
    if (strlen(tmpl) > MLQ_MAX_PATH)
        return mlq_err_set(err, MLQ_EINVAL, "%s: longer than %d bytes", what, MLQ_MAX_PATH);
    for (const char *p = tmpl; *p; p++) {
        if (*p == '\n')
            return mlq_err_set(err, MLQ_EINVAL, "%s: a file name without newlines", what);
        if (*p != '%')
            continue;
        p++;
        if (*p != 'j' && *p != 'a' && *p != 'A' && *p != '%')
            return mlq_err_set(err, MLQ_EINVAL,
                               "%s: unknown placeholder %%%.1s in '%.200s' (%%j job id, %%a array "
                               "index, %%A attempt, %%%% a percent sign)",
                               what, *p ? p : "", tmpl);
    }
    return 0;
}

/* Appends s to buf at *used; false when it does not fit. */
static bool put(char *buf, size_t len, size_t *used, const char *s, size_t n)
{
    if (*used + n >= len)
        return false;
    memcpy(buf + *used, s, n);
    *used += n;
    buf[*used] = '\0';
    return true;
}

int mlq_outpath_expand(const char *tmpl, const char *workdir, const char *job_id, int32_t index,
                       int32_t attempt, char *buf, size_t len)
{
    size_t used = 0;
    bool ok = len > 0;
    if (ok)
        buf[0] = '\0';
    if (ok && tmpl[0] != '/')
        ok = put(buf, len, &used, workdir, strlen(workdir)) && put(buf, len, &used, "/", 1);
    for (const char *p = tmpl; ok && *p; p++) {
        char num[16];
        if (*p != '%') {
            ok = put(buf, len, &used, p, 1);
            continue;
        }
        switch (*++p) {
        case 'j':
            ok = put(buf, len, &used, job_id, strlen(job_id));
            break;
        case 'a':
            if (index >= 0) {
                snprintf(num, sizeof num, "%" PRId32, index);
                ok = put(buf, len, &used, num, strlen(num));
            }
            break;
        case 'A':
            snprintf(num, sizeof num, "%" PRId32, attempt);
            ok = put(buf, len, &used, num, strlen(num));
            break;
        case '%':
            ok = put(buf, len, &used, "%", 1);
            break;
        default:
            return MLQ_EINVAL; /* not checked */
        }
    }
    return ok ? 0 : MLQ_ETOOBIG;
}
