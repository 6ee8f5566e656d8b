/* err: error codes and a short message, returned rather than printed.
 *
 * Every fallible mlq function returns 0 or a negative MLQ_E* code and, when
 * given a non-NULL struct mlq_err *, fills it with a one-line message through
 * mlq_err_set(), which returns the code so a failure is one `return`. */
#ifndef MLQ_ERR_H
#define MLQ_ERR_H

enum {
    MLQ_OK = 0,
    MLQ_EINVAL = -1,     /* invalid request or argument (CLI exit 6) */
    MLQ_ENOMEM = -2,     /* allocation failed */
    MLQ_EIO = -3,        /* file system or socket I/O failed */
    MLQ_ENOTFOUND = -4,  /* no such job / worker (CLI exit 4) */
    MLQ_EAMBIG = -5,     /* an id prefix matches several jobs (CLI exit 6) */
    MLQ_EPROTO = -6,     /* malformed or unexpected message */
    MLQ_EPERM = -7,      /* permission denied (CLI exit 5) */
    MLQ_EUNREACH = -8,   /* scheduler did not answer (CLI exit 3) */
    MLQ_EDB = -9,        /* database error (locked, disk full, corrupt) */
    MLQ_ESTATE = -10,    /* operation not allowed in the current state */
    MLQ_ETOOBIG = -11,   /* a bound was exceeded */
    MLQ_EUNAVAIL = -12,  /* resource temporarily unavailable (worker gone) */
    MLQ_EAUTH = -13,     /* no valid credentials (HTTP 401; CLI exit 5) */
    MLQ_EVERSION = -14,  /* a body in a wire protocol version outside ours (never sent) */
    MLQ_ENOLISTEN = -15, /* nothing accepts connections at the address (never sent) */
};

#define MLQ_ERR_MSG_MAX 160

struct mlq_err {
    int code;
    char msg[MLQ_ERR_MSG_MAX];
};

/* Fills *err (when non-NULL) with code and a printf-style message; returns
 * code. Never changes errno. */
int mlq_err_set(struct mlq_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears *err (when non-NULL) to MLQ_OK and an empty message. */
void mlq_err_clear(struct mlq_err *err);

/* Static name of a code, e.g. "not found". */
const char *mlq_strerror(int code);

#endif
