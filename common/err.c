/* err: see err.h. */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

int mlq_err_set(struct mlq_err *err, int code, const char *fmt, ...)
{
    if (err) {
        int saved = errno;
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        errno = saved;
    }
    return code;
}

void mlq_err_clear(struct mlq_err *err)
{
    if (err) {
        err->code = MLQ_OK;
        err->msg[0] = '\0';
    }
}

const char *mlq_strerror(int code)
{
    static const char *const names[] = {
        "ok",          "invalid request",   "out of memory",          "I/O error",
        "not found",   "ambiguous id",      "protocol error",         "permission denied",
        "unreachable", "database error",    "not allowed now",        "too big",
        "unavailable", "not authenticated", "wire protocol mismatch", "nothing listening",
    };
    int i = -code;
    if (i < 0 || i >= (int)(sizeof names / sizeof names[0]))
        return "unknown error";
    return names[i];
}
