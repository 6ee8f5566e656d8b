/* why: see why.h. */
#include "why.h"
#include "gang.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "backfill.h"
#include "deps.h"
#include "jobedit.h"
#include "jobops.h"
#include "leftover.h"
#include "placement.h"
#include "preemptrun.h"
#include "queue.h"
#include "quota.h"
#include "res.h"

/* How many UP workers pass each successive filter. */
struct census {
    size_t up, in_pool, labeled, typed, ever, ever_open, now;
    const struct mlq_worker *largest;   /* eligible worker with the most of what is asked */
    const struct mlq_worker *drained;   /* a drained worker that could run it */
    const struct mlq_worker *unhealthy; /* an unhealthy one (health.h) that could */
    const struct mlq_worker *limited;   /* one that could, but for an admin's limit */
    /* GPU shares: the largest GPU memory of an eligible GPU of the type,
     * and whether one holds the memory asked. */
    int64_t gpu_mem_max;
    bool mem_ok;
    const char *nolabel; /* a required label no UP worker of the pool carries */
};

/* GPU memory of w's offered GPUs of r's type, against r's gpu_mem. */
static void census_gpu_mem(const struct mlq_worker *w, const struct mlq_request *r,
                           struct census *k)
{
    for (int i = 0; i < w->gpus && i < MLQ_MAX_GPUS; i++) {
        int64_t m = mlq_worker_gpu_mem(w, i);
        if (!mlq_worker_gpu_offered(w, i) ||
            !mlq_proto_gpu_type_matches(r->gpu_type, mlq_worker_gpu_type(w, i)))
            continue;
        k->gpu_mem_max = m > k->gpu_mem_max ? m : k->gpu_mem_max;
        k->mem_ok |= m >= r->gpu_mem;
    }
}

/* r fits what w reports, before any admin's limit (workerset.h). */
static bool fits_as_reported(const struct mlq_worker *w, const struct mlq_request *r)
{
    int32_t gpus = 0;
    for (int i = 0; i < w->gpus && i < MLQ_MAX_GPUS; i++)
        gpus += mlq_proto_gpu_type_matches(r->gpu_type, mlq_worker_gpu_type(w, i));
    int32_t need = mlq_place_is_share(r) ? 1 : r->gpus;
    return w->rep_cpus_m >= r->cpus_m && w->rep_mem >= r->mem && gpus >= need;
}

/* The first label r requires that no UP worker of its pool carries; NULL
 * when each is carried by some (only their combination is missing). */
static const char *label_nobody_has(struct mlq_ctx *c, const struct mlq_request *r)
{
    for (uint32_t l = 0; l < r->nrequire; l++) {
        struct mlq_request one = {.pool = r->pool, .require = &r->require[l], .nrequire = 1};
        bool carried = false;
        for (size_t i = 0; i < mlq_workers_count(c->workers) && !carried; i++) {
            const struct mlq_worker *w = mlq_workers_at(c->workers, i);
            carried = w->state == MLQ_WORKER_UP && mlq_place_eligible(w, &one);
        }
        if (!carried)
            return r->require[l];
    }
    return NULL;
}

/* "8 GPUs of type h100, 2 CPUs, 4G memory": a size, for people. */
static void describe_size(int32_t gpus, const char *type, int64_t cpus_m, int64_t mem, char *buf,
                          size_t len)
{
    char c[32], m[32];
    int n = 0;
    if (gpus > 0)
        n = snprintf(buf, len, "%d GPU%s%s%.40s, ", gpus, gpus == 1 ? "" : "s",
                     type ? " of type " : "", type ? type : "");
    if (n >= 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, "%s CPUs, %s memory",
                 mlq_res_fmt_cpus(cpus_m, c, sizeof c), mlq_res_fmt_mem(mem, m, sizeof m));
}

static void take_census(struct mlq_ctx *c, const struct mlq_request *r, struct census *k)
{
    memset(k, 0, sizeof *k);
    for (size_t i = 0; i < mlq_workers_count(c->workers); i++) {
        const struct mlq_worker *w = mlq_workers_at(c->workers, i);
        if (w->state != MLQ_WORKER_UP)
            continue;
        k->up++;
        struct mlq_request pool_only = {.pool = r->pool};
        if (!mlq_place_eligible(w, &pool_only))
            continue;
        k->in_pool++;
        if (!mlq_place_eligible(w, r))
            continue;
        k->labeled++;
        if ((r->gpus || mlq_place_is_share(r)) && mlq_place_gpus_total(w, r->gpu_type) == 0)
            continue;
        k->typed++;
        census_gpu_mem(w, r, k);
        if (!k->largest ||
            mlq_place_gpus_total(w, r->gpu_type) > mlq_place_gpus_total(k->largest, r->gpu_type) ||
            w->cpus_m > k->largest->cpus_m)
            k->largest = w;
        if (!mlq_place_fits_ever(w, r)) {
            if (w->ov && fits_as_reported(w, r))
                k->limited = w;
            continue;
        }
        k->ever++;
        if (!mlq_place_open(w)) {
            if (w->unhealthy && !w->drained && !w->draining)
                k->unhealthy = w;
            else
                k->drained = w;
            continue;
        }
        k->ever_open++;
        k->now += mlq_place_fits_now(w, r);
    }
    if (k->in_pool > 0 && k->labeled == 0)
        k->nolabel = label_nobody_has(c, r);
}

/* What w lacks right now (or in total) to run r, as "2 GPUs, 1.5 CPUs". */
static void describe_lack(const struct mlq_worker *w, const struct mlq_request *r, bool total,
                          char *buf, size_t len)
{
    int64_t cpus = total ? w->cpus_m : w->cpus_m - w->cpus_used_m;
    int64_t mem = total ? w->mem : w->mem - w->mem_used;
    int32_t gpus =
        total ? mlq_place_gpus_total(w, r->gpu_type) : mlq_place_gpus_free(w, r->gpu_type);
    char a[32];
    size_t n = 0;
    buf[0] = '\0';
    if (gpus < r->gpus)
        n += (size_t)snprintf(buf + n, len - n, "%d GPU%s%s%s", r->gpus - gpus,
                              r->gpus - gpus == 1 ? "" : "s", r->gpu_type ? " of type " : "",
                              r->gpu_type ? r->gpu_type : "");
    if (cpus < r->cpus_m && n < len)
        n += (size_t)snprintf(buf + n, len - n, "%s%s CPUs", n ? ", " : "",
                              mlq_res_fmt_cpus(r->cpus_m - cpus, a, sizeof a));
    if (mem < r->mem && n < len)
        snprintf(buf + n, len - n, "%s%s memory", n ? ", " : "",
                 mlq_res_fmt_mem(r->mem - mem, a, sizeof a));
}

/* The open, eligible worker closest to fitting r now (least shortfall,
 * GPUs weighing most). */
static const struct mlq_worker *closest_now(struct mlq_ctx *c, const struct mlq_request *r)
{
    const struct mlq_worker *best = NULL;
    double best_gap = 0;
    for (size_t i = 0; i < mlq_workers_count(c->workers); i++) {
        const struct mlq_worker *w = mlq_workers_at(c->workers, i);
        if (!mlq_place_open(w) || !mlq_place_fits_ever(w, r))
            continue;
        double g = (double)(r->gpus - mlq_place_gpus_free(w, r->gpu_type));
        double cp = (double)(r->cpus_m - (w->cpus_m - w->cpus_used_m)) / 1000.0;
        double m = (double)(r->mem - (w->mem - w->mem_used)) / (1024.0 * 1024 * 1024);
        double gap = (g > 0 ? g * 100 : 0) + (cp > 0 ? cp : 0) + (m > 0 ? m : 0);
        if (!best || gap < best_gap) {
            best = w;
            best_gap = gap;
        }
    }
    return best;
}

static void hhmm(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, len, "%H:%M:%S", &tm);
}

static void set(struct mlq_why *out, const char *blocker, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set(struct mlq_why *out, const char *blocker, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->text, sizeof out->text, fmt, ap);
    va_end(ap);
    out->blocker = blocker;
}

/* Free GPUs of r's type on open workers eligible for r: in total, and the
 * most on one worker. */
static void free_gpus(struct mlq_ctx *c, const struct mlq_request *r, int64_t *total, int32_t *most)
{
    *total = 0;
    *most = 0;
    for (size_t i = 0; i < mlq_workers_count(c->workers); i++) {
        const struct mlq_worker *w = mlq_workers_at(c->workers, i);
        if (!mlq_place_open(w) || !mlq_place_eligible(w, r))
            continue;
        int32_t f = mlq_place_gpus_free(w, r->gpu_type);
        *total += f;
        *most = f > *most ? f : *most;
    }
}

/* A GPU job that fits nowhere now although the free GPUs would hold it
 * if they were in one place: a note saying so (fragmentation, stranded
 * GPUs); false when that is not the case. */
static bool fragmented(struct mlq_ctx *c, const struct mlq_request *r, const char *lacks,
                       char *note, size_t len)
{
    int64_t total;
    int32_t most;
    if (r->gpus <= 0)
        return false;
    free_gpus(c, r, &total, &most);
    if (total < r->gpus)
        return false;
    if (most < r->gpus)
        snprintf(note, len, "%lld GPU%s free in total, but at most %d on one worker",
                 (long long)total, total == 1 ? "" : "s", (int)most);
    else
        snprintf(note, len, "%lld GPU%s free in total, but the workers with %d free lack %.100s",
                 (long long)total, total == 1 ? "" : "s", (int)r->gpus,
                 lacks[0] ? lacks : "CPUs or memory");
    return true;
}

/* Constraints no amount of waiting for running jobs removes. Returns true
 * when one holds (out filled). */
static bool hard_constraint(const struct mlq_request *r, const struct census *k,
                            struct mlq_why *out)
{
    const char *pool = r->pool && r->pool[0] ? r->pool : "default";
    if (k->up == 0) {
        set(out, "no_workers", "no worker is connected");
    } else if (k->in_pool == 0) {
        set(out, "pool", "no connected worker is in pool %s", pool);
    } else if (k->labeled == 0 && k->nolabel) {
        set(out, "labels", "no worker in pool %s carries label %.128s", pool, k->nolabel);
    } else if (k->labeled == 0) {
        set(out, "labels", "no worker in pool %s carries all the required labels", pool);
    } else if ((r->gpus || mlq_place_is_share(r)) && r->gpu_type && k->typed == 0) {
        set(out, "gpu_type", "no worker in pool %s has GPUs of type %s", pool, r->gpu_type);
    } else if (k->ever == 0 && k->limited) {
        char lacks[sizeof out->lacks];
        describe_lack(k->limited, r, true, lacks, sizeof lacks);
        snprintf(out->closest, sizeof out->closest, "%s", k->limited->name);
        snprintf(out->lacks, sizeof out->lacks, "%s", lacks);
        set(out, "admin_limit",
            "can never fit as offered: worker %s has what it needs, but an admin limited what "
            "it offers (`mlq admin worker set`), which leaves it short of %.100s",
            k->limited->name, lacks);
    } else if (k->ever == 0 && r->gpu_mem > 0 && !k->mem_ok) {
        char mem[32], big[32];
        mlq_res_fmt_mem(r->gpu_mem, mem, sizeof mem);
        if (k->gpu_mem_max > 0)
            set(out, "never_fits",
                "can never fit: no GPU%s in pool %s has %s of memory (the largest has %s)",
                r->gpu_type ? " of its type" : "", pool, mem,
                mlq_res_fmt_mem(k->gpu_mem_max, big, sizeof big));
        else
            set(out, "never_fits",
                "can never fit: no GPU%s in pool %s has a known memory size to hold %s",
                r->gpu_type ? " of its type" : "", pool, mem);
    } else if (k->ever == 0 && k->largest) {
        char want[128], has[128];
        const struct mlq_worker *w = k->largest;
        describe_size(mlq_place_is_share(r) ? 1 : r->gpus, r->gpu_type, r->cpus_m, r->mem, want,
                      sizeof want);
        describe_size(mlq_place_gpus_total(w, r->gpu_type), r->gpu_type, w->cpus_m, w->mem, has,
                      sizeof has);
        set(out, "never_fits",
            "can never fit: no worker in pool %s is big enough for %s; the largest, %s, has %s",
            pool, want, w->name, has);
        snprintf(out->closest, sizeof out->closest, "%s", w->name);
        describe_lack(w, r, true, out->lacks, sizeof out->lacks);
    } else if (k->ever == 0) {
        set(out, "never_fits", "can never fit: no worker in pool %s is big enough", pool);
    } else if (k->ever_open == 0 && k->unhealthy) {
        snprintf(out->closest, sizeof out->closest, "%s", k->unhealthy->name);
        set(out, "unhealthy", "%s: %s is unhealthy (%.160s)",
            k->drained ? "every worker that could run it is drained or unhealthy"
                       : "every worker that could run it is unhealthy",
            k->unhealthy->name, k->unhealthy->health);
    } else if (k->ever_open == 0) {
        snprintf(out->closest, sizeof out->closest, "%s", k->drained->name);
        set(out, "drained", "every worker that could run it is drained (%s: %.160s)",
            k->drained->name, k->drained->drain_reason[0] ? k->drained->drain_reason : "draining");
    } else {
        return false;
    }
    return true;
}

/* The largest free share on an open worker for r (its pool, labels and
 * type; GPUs held whole have none). *on gets the worker, NULL when no GPU
 * has any share free. */
static int32_t largest_free_share(struct mlq_ctx *c, const struct mlq_request *r,
                                  const struct mlq_worker **on)
{
    int32_t best = 0, free_sh[MLQ_MAX_GPUS];
    *on = NULL;
    for (size_t i = 0; i < mlq_workers_count(c->workers); i++) {
        const struct mlq_worker *w = mlq_workers_at(c->workers, i);
        if (!mlq_place_open(w) || !mlq_place_eligible(w, r))
            continue;
        int n = mlq_place_gpu_free_shares(w, free_sh);
        for (int g = 0; g < n; g++)
            if (free_sh[g] > best &&
                mlq_proto_gpu_type_matches(r->gpu_type, mlq_worker_gpu_type(w, g)))
                best = free_sh[g], *on = w;
    }
    return best;
}

/* A share waiting for a GPU with enough of it free: "no GPU has 0.5 free
 * on any worker of pool default; largest free share 0.25 on w1". False
 * when GPUs are not what it waits for (CPUs or memory are). */
static bool share_why(struct mlq_ctx *c, const struct mlq_request *r, struct mlq_why *out)
{
    const char *pool = r->pool && r->pool[0] ? r->pool : "default";
    struct mlq_request gpu_only = *r;
    gpu_only.cpus_m = gpu_only.mem = 0;
    for (size_t i = 0; i < mlq_workers_count(c->workers); i++) {
        const struct mlq_worker *w = mlq_workers_at(c->workers, i);
        if (mlq_place_open(w) && mlq_place_fits_now(w, &gpu_only))
            return false; /* a GPU would do: CPUs or memory are short */
    }
    const struct mlq_worker *on;
    int32_t best = largest_free_share(c, r, &on);
    char want[MLQ_MAX_GPU_TYPES + 64], have[16];
    if (r->gpu_frac > 0)
        mlq_res_fmt_gpu_share(r->gpu_frac, want, sizeof want);
    else
        mlq_res_fmt_mem(r->gpu_mem, want, sizeof want);
    if (on) {
        snprintf(out->closest, sizeof out->closest, "%s", on->name);
        set(out, "resources",
            "no GPU has %s%s free on any worker of pool %s; largest free share %s on %s", want,
            r->gpu_frac > 0 ? "" : " of memory", pool,
            mlq_res_fmt_gpu_share(best, have, sizeof have), on->name);
    } else {
        set(out, "resources",
            "no GPU has %s%s free on any worker of pool %s; every GPU of its type is held "
            "whole or fully shared",
            want, r->gpu_frac > 0 ? "" : " of memory", pool);
    }
    return true;
}

static void soft_constraint(struct mlq_ctx *c, const struct mlq_job *job,
                            const struct mlq_request *r, const struct census *k,
                            struct mlq_why *out)
{
    char at[16];
    /* A share waits for a GPU with room: say which, before any reservation
     * (whose time counts CPUs and memory only for a share). */
    if (mlq_place_is_share(r) && k->now == 0 && share_why(c, r, out))
        return;
    if (!c->resv_on && k->now == 0 && mlq_queue_first(c->queue, mlq_jobops_bias, c) == job) {
        /* A full cluster ends the pass before any reservation is made: work
         * out where the first job would go, for this answer only. */
        struct mlq_resv rv;
        if (mlq_backfill_reserve(c, job, &rv) == 0 && rv.on) {
            hhmm(rv.at_ms, at, sizeof at);
            snprintf(out->closest, sizeof out->closest, "%s", rv.w->name);
            set(out, "reservation", "highest priority: next on %s, from about %s", rv.w->name, at);
            return;
        }
    }
    if (c->resv_on && strcmp(c->resv_job, job->row.id) == 0) {
        hhmm(c->resv_at_ms, at, sizeof at);
        snprintf(out->closest, sizeof out->closest, "%s", c->resv_worker);
        set(out, "reservation",
            "highest priority: reserved on %s from about %s, when running jobs end", c->resv_worker,
            at);
        return;
    }
    if (k->now > 0 && c->resv_on) {
        set(out, "reservation", "would delay job %.8s, which is reserved on %s", c->resv_job,
            c->resv_worker);
        return;
    }
    const struct mlq_worker *w = closest_now(c, r);
    if (w) {
        snprintf(out->closest, sizeof out->closest, "%s", w->name);
        describe_lack(w, r, false, out->lacks, sizeof out->lacks);
    }
    if (out->ahead > 0)
        set(out, "priority", "behind %zu jobs of higher priority", out->ahead);
    else if (k->now > 0)
        set(out, "resources", "fits now; starts at the next scheduling pass");
    else if (w && mlq_leftover_count(w) > 0)
        set(out, "resources",
            "waiting for resources; on %s, %zu lost attempt(s) may still be running and keep "
            "theirs until the worker says they are gone",
            w->name, mlq_leftover_count(w));
    else
        set(out, "resources", "waiting for running jobs to free resources");
}

/* A gang waits for N workers at once: how many fit now, how many will once
 * busy jobs end, and what the others lack (gang.h). */
static void gang_why(struct mlq_ctx *c, const struct mlq_job *job, struct mlq_why *out)
{
    const char *blocker = "resources";
    mlq_gang_why(c, job, out->text, sizeof out->text, &blocker);
    out->blocker = blocker;
    if (c->resv_on && strcmp(c->resv_job, job->row.id) == 0) {
        char at[16];
        size_t n = strlen(out->text);
        hhmm(c->resv_at_ms, at, sizeof at);
        snprintf(out->text + n, sizeof out->text - n, "; workers are held for it from about %s",
                 at);
        out->blocker = "reservation";
    }
}

/* "; more" after the reason (cut at the text's size). */
static void add_text(struct mlq_why *out, const char *more)
{
    size_t n = strlen(out->text);
    snprintf(out->text + n, sizeof out->text - n, "; %s", more);
}

void mlq_why_explain(struct mlq_ctx *c, const struct mlq_job *job, bool count_ahead,
                     struct mlq_why *out)
{
    memset(out, 0, sizeof *out);
    if (job->row.reason && job->row.reason[0] && job->row.state != MLQ_JOB_PENDING)
        set(out, "none", "%s (%s), not pending", mlq_job_state_name(job->row.state),
            job->row.reason);
    else
        set(out, "none", "%s, not pending", mlq_job_state_name(job->row.state));
    if (job->row.state != MLQ_JOB_PENDING)
        return;
    char hold[192];
    if (mlq_jobedit_held_text(job, hold, sizeof hold)) {
        set(out, "hold", "%s", hold);
        return;
    }
    if (job->held) {
        char text[192];
        mlq_deps_check(c, job, text, sizeof text);
        set(out, "dependency", "%s", text);
        return;
    }
    if (job->qwaiting) {
        char at[16];
        hhmm(job->row.not_before_ms, at, sizeof at);
        set(out, "retry_wait", "waiting until %s before its next attempt", at);
        return;
    }
    struct mlq_request r = mlq_place_request(&job->row.spec);
    struct census k;
    take_census(c, &r, &k);
    if (hard_constraint(&r, &k, out))
        return;
    /* Its team's quota holds it back whatever is free (quota.h). */
    struct mlq_qverdict qv;
    char qtext[sizeof out->text];
    if (mlq_quota_explain(c, job, &qv, qtext, sizeof qtext) && !mlq_qbook_admits(&qv)) {
        set(out, "quota", "%s", qtext);
        return;
    }
    if (count_ahead)
        out->ahead = mlq_queue_count_ahead(c->queue, job, mlq_jobops_bias, c);
    char pre[sizeof out->text];
    if (mlq_preempt_why(c, job, pre, sizeof pre)) {
        set(out, "preemption", "%s", pre);
        return;
    }
    if (mlq_gang_nodes(job) > 0) {
        gang_why(c, job, out);
        return;
    }
    soft_constraint(c, job, &r, &k, out);
    if (k.now > 0)
        return;
    char note[192];
    if (fragmented(c, &r, out->lacks, note, sizeof note)) {
        if (strcmp(out->blocker, "resources") == 0)
            set(out, "fragmented", "%s", note);
        else
            add_text(out, note);
    }
    /* It could run only if running jobs made room: say whether any may be
     * preempted for it, and if none, which rule stops it (a walk over the
     * running jobs: for `mlq why`, not for every status line). */
    if (count_ahead && mlq_preempt_why_not(c, job, pre, sizeof pre))
        add_text(out, pre);
}
