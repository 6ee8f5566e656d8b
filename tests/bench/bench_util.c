/* bench_util: see bench_util.h. */
#include "bench_util.h"

#include <stdlib.h>

#include "bench_proc.h"

#define REGISTER_TIMEOUT_MS 60000
#define POLL_MS             20

double bu_secs(int64_t ns)
{
    return (double)(ns > 0 ? ns : 1) / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bu_median(double *v, int n)
{
    if (n <= 0)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bu_percentile(double *v, int n, double p)
{
    if (n <= 0)
        return 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    int rank = (int)((p / 100.0) * n + 0.999999); /* ceil, 1-based */
    rank = rank < 1 ? 1 : rank > n ? n : rank;
    return v[rank - 1];
}

double bu_mean(const double *v, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    return n > 0 ? sum / n : 0;
}

int bu_await_count(struct benv *e, struct bsim *sim, const uint64_t *counter, uint64_t target,
                   int timeout_ms, struct mlq_err *err)
{
    int64_t deadline = bproc_now_ns() + (int64_t)timeout_ms * 1000000;
    while (*counter < target) {
        if (benv_stopped(e))
            return mlq_err_set(err, MLQ_EINVAL, "interrupted");
        if (bproc_now_ns() > deadline)
            return mlq_err_set(err, MLQ_EUNREACH, "waited %d ms, got %llu of %llu", timeout_ms,
                               (unsigned long long)*counter, (unsigned long long)target);
        int rc = bsim_poll(sim, POLL_MS, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int bu_await_registered(struct benv *e, struct bsim *sim, uint64_t n, struct mlq_err *err)
{
    const struct bsim_stats *st = bsim_stats(sim);
    int rc = bu_await_count(e, sim, &st->registered, n, REGISTER_TIMEOUT_MS, err);
    if (rc < 0)
        mlq_err_set(err, rc, "simulated workers: %llu of %llu registered (%s)",
                    (unsigned long long)st->registered, (unsigned long long)n, st->last_error);
    return rc;
}

int bu_load_polling(struct benv *e, struct bsim *sim, const struct bload_opts *o,
                    struct bload_result *res, struct mlq_err *err)
{
    struct bload_thread t;
    int rc = bload_spawn(e->zctx, o, &t, err);
    if (rc < 0)
        return rc;
    while (!atomic_load(&t.done)) {
        rc = bsim_poll(sim, POLL_MS, err);
        if (rc < 0)
            break; /* the load still ends: on its own or at its timeout */
    }
    bload_join(&t);
    *res = t.res;
    if (rc >= 0 && t.res.rc < 0) {
        *err = t.res.err;
        rc = t.res.rc;
    }
    return rc < 0 ? rc : 0;
}
