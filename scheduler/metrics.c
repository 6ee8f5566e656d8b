/* metrics: see metrics.h and docs/admin.md ("Metrics"). */
#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ctx.h"
#include "placement.h"
#include "queue.h"
#include "quota.h"
#include "stranded.h"
#include "strmap.h"
#include "version.h"
#include "zap.h"

/* Label values of the series past a cap; no real name can take them (user
 * names have no parentheses, pool names no spaces). */
#define OTHER      "(other)"
#define OTHER_POOL "(other pools)"

/* Queue wait and submit-to-start, in ms: from "at once" to a day. */
static const int64_t wait_bounds[] = {10,    100,    500,    1000,    5000,     10000,    30000,
                                      60000, 300000, 900000, 3600000, 14400000, 43200000, 86400000};
/* Commit latency and loop iteration, in us: 50 us to 1 s. */
static const int64_t fast_bounds[] = {50,    100,   250,   500,    1000,   2500,   5000,
                                      10000, 25000, 50000, 100000, 250000, 500000, 1000000};

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

struct user {
    char name[MLQ_MAX_NAME + 1];
    int64_t gpu_ms; /* ended attempts' GPU time */
    /* Scratch of one render. */
    int64_t live_gpu_ms;
    uint32_t running;
};

struct pool_done {
    char name[MLQ_MAX_NAME + 1];
    uint64_t n[MLQ_JOB_STATE_COUNT];
};

struct mlq_metrics {
    uint64_t submitted, rejected, dispatched, started, requeued;
    uint64_t completed[MLQ_JOB_STATE_COUNT];
    struct pool_done pools[MLQ_METRICS_MAX_POOLS + 1]; /* last: "(other)" */
    int npools;
    struct mlq_hist queue_wait, submit_start, commit, iteration;
    struct mlq_strmap *by_user; /* name -> struct user */
    struct user **users;        /* in arrival order, for rendering */
    size_t nusers;
    struct user other; /* users past the cap */
    char db_path[MLQ_MAX_PATH + 16];
    /* The last rendering, served again to requests within
     * MLQ_METRICS_CACHE_MS, so that no client can make the loop render
     * more than once per that period. */
    char *cache;
    int64_t cache_mono;
};

static void hist_init(struct mlq_hist *h, const int64_t *b, int n, int64_t per_second)
{
    memset(h, 0, sizeof *h);
    h->bounds = b;
    h->n = n < MLQ_HIST_MAX ? n : MLQ_HIST_MAX;
    h->per_second = per_second;
}

void mlq_hist_observe(struct mlq_hist *h, int64_t v)
{
    if (v < 0)
        v = 0; /* a wall clock stepped back: count it as instant */
    int i = 0;
    while (i < h->n && v > h->bounds[i])
        i++;
    h->bucket[i]++;
    h->count++;
    h->sum += v;
}

struct mlq_metrics *mlq_metrics_create(const char *state_dir)
{
    struct mlq_metrics *m = calloc(1, sizeof *m);
    if (!m || !(m->by_user = mlq_strmap_create())) {
        free(m);
        return NULL;
    }
    hist_init(&m->queue_wait, wait_bounds, NELEM(wait_bounds), 1000);
    hist_init(&m->submit_start, wait_bounds, NELEM(wait_bounds), 1000);
    hist_init(&m->commit, fast_bounds, NELEM(fast_bounds), 1000000);
    hist_init(&m->iteration, fast_bounds, NELEM(fast_bounds), 1000000);
    snprintf(m->other.name, sizeof m->other.name, "%s", OTHER);
    snprintf(m->pools[MLQ_METRICS_MAX_POOLS].name, sizeof m->pools[0].name, "%s", OTHER_POOL);
    if (state_dir)
        snprintf(m->db_path, sizeof m->db_path, "%s/mlq.db", state_dir);
    return m;
}

void mlq_metrics_destroy(struct mlq_metrics **mp)
{
    if (!mp || !*mp)
        return;
    struct mlq_metrics *m = *mp;
    mlq_strmap_destroy(&m->by_user, NULL);
    free(m->cache);
    for (size_t i = 0; i < m->nusers; i++)
        free(m->users[i]);
    free(m->users);
    free(m);
    *mp = NULL;
}

/* ---- hooks -------------------------------------------------------------- */

void mlq_metrics_submitted(struct mlq_metrics *m)
{
    if (m)
        m->submitted++;
}

void mlq_metrics_rejected(struct mlq_metrics *m)
{
    if (m)
        m->rejected++;
}

static const char *pool_of(const struct mlq_job *job)
{
    return job->row.spec.pool ? job->row.spec.pool : "default";
}

/* The pool's row of terminal counts; "(other)" past the cap. Linear: only
 * terminal transitions look here, and clusters have a handful of pools. */
static struct pool_done *pool_row(struct mlq_metrics *m, const char *name)
{
    for (int i = 0; i < m->npools; i++)
        if (strcmp(m->pools[i].name, name) == 0)
            return &m->pools[i];
    if (m->npools == MLQ_METRICS_MAX_POOLS)
        return &m->pools[MLQ_METRICS_MAX_POOLS];
    struct pool_done *p = &m->pools[m->npools++];
    snprintf(p->name, sizeof p->name, "%s", name);
    return p;
}

void mlq_metrics_transition(struct mlq_metrics *m, struct mlq_job *job, enum mlq_job_state from,
                            enum mlq_job_state to, int64_t now_wall)
{
    if (!m || from == to)
        return;
    if (to == MLQ_JOB_PENDING) { /* a retry, or a lost attempt run again */
        m->requeued++;
    } else if (to == MLQ_JOB_ASSIGNED && from == MLQ_JOB_PENDING) {
        m->dispatched++;
        int64_t since = mlq_job_pending_ms(job); /* its submit time unless queued since */
        mlq_hist_observe(&m->queue_wait, now_wall - since);
    } else if (to == MLQ_JOB_RUNNING) {
        m->started++;
        if (!job->row.start_ms) /* its first run */
            mlq_hist_observe(&m->submit_start, now_wall - job->row.submit_ms);
    }
    if (mlq_job_state_terminal(to) && (unsigned)to < MLQ_JOB_STATE_COUNT) {
        m->completed[to]++;
        pool_row(m, pool_of(job))->n[to]++;
    }
}

/* The user's row, created on first sight; &m->other past the cap or when
 * memory runs out (the time is then summed there, never lost). */
static struct user *user_row(struct mlq_metrics *m, const char *name)
{
    if (!name || !*name)
        return &m->other;
    struct user *u = mlq_strmap_get(m->by_user, name);
    if (u)
        return u;
    if (m->nusers >= MLQ_METRICS_MAX_USERS)
        return &m->other;
    if (m->nusers % 64 == 0) {
        struct user **v = realloc(m->users, (m->nusers + 64) * sizeof *v);
        if (!v)
            return &m->other;
        m->users = v;
    }
    u = calloc(1, sizeof *u);
    if (!u || mlq_strmap_put(m->by_user, name, u) < 0) {
        free(u);
        return &m->other;
    }
    snprintf(u->name, sizeof u->name, "%s", name);
    m->users[m->nusers++] = u;
    return u;
}

void mlq_metrics_gpu_time(struct mlq_metrics *m, const char *owner, int32_t gpus, int64_t from_ms,
                          int64_t to_ms)
{
    mlq_metrics_gpu_share_time(m, owner, (int64_t)gpus * 100, from_ms, to_ms);
}

void mlq_metrics_gpu_share_time(struct mlq_metrics *m, const char *owner, int64_t hundredths,
                                int64_t from_ms, int64_t to_ms)
{
    if (!m || hundredths <= 0 || from_ms <= 0 || to_ms <= from_ms)
        return;
    user_row(m, owner)->gpu_ms += hundredths * (to_ms - from_ms) / 100;
}

void mlq_metrics_commit_us(struct mlq_metrics *m, int64_t us)
{
    if (m)
        mlq_hist_observe(&m->commit, us);
}

void mlq_metrics_iteration_us(struct mlq_metrics *m, int64_t us)
{
    if (m)
        mlq_hist_observe(&m->iteration, us);
}

int64_t mlq_metrics_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void mlq_metrics_counts(const struct mlq_metrics *m, struct mlq_metrics_counts *out)
{
    memset(out, 0, sizeof *out);
    if (!m)
        return;
    out->submitted = m->submitted;
    out->rejected = m->rejected;
    out->dispatched = m->dispatched;
    out->started = m->started;
    out->requeued = m->requeued;
    memcpy(out->completed, m->completed, sizeof out->completed);
}

/* ---- text building ------------------------------------------------------ */

struct sb {
    char *p;
    size_t len, cap;
    bool full; /* MLQ_METRICS_MAX_TEXT reached or out of memory */
};

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *b, const char *fmt, ...)
{
    if (b->full)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->full = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t want = b->cap * 2;
        if (b->len + (size_t)n + 1 > MLQ_METRICS_MAX_TEXT) {
            b->p[b->len] = '\0';
            b->full = true;
            return;
        }
        if (want > MLQ_METRICS_MAX_TEXT)
            want = MLQ_METRICS_MAX_TEXT;
        char *np = realloc(b->p, want);
        if (!np) {
            b->p[b->len] = '\0';
            b->full = true;
            return;
        }
        b->p = np;
        b->cap = want;
    }
}

size_t mlq_metrics_escape(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *s = in ? in : ""; *s; s++) {
        char esc = *s == '\\' ? '\\' : *s == '"' ? '"' : *s == '\n' ? 'n' : 0;
        if (esc) {
            if (n + 2 < cap) {
                out[n] = '\\';
                out[n + 1] = esc;
            }
            n += 2;
        } else {
            if (n + 1 < cap)
                out[n] = *s;
            n++;
        }
    }
    if (cap)
        out[n < cap ? n : cap - 1] = '\0';
    return n;
}

/* Escaped label values come from names of at most MLQ_MAX_NAME bytes. */
#define LV (2 * MLQ_MAX_NAME + 2)

static void head(struct sb *b, const char *name, const char *type, const char *help)
{
    sb_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void hist_render(struct sb *b, const char *name, const char *help, const struct mlq_hist *h)
{
    head(b, name, "histogram", help);
    uint64_t cum = 0;
    for (int i = 0; i < h->n; i++) {
        cum += h->bucket[i];
        sb_printf(b, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name,
                  (double)h->bounds[i] / (double)h->per_second, cum);
    }
    cum += h->bucket[h->n];
    sb_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
    sb_printf(b, "%s_sum %.6f\n%s_count %" PRIu64 "\n", name,
              (double)h->sum / (double)h->per_second, name, h->count);
}

static void render_counters(struct sb *b, const struct mlq_metrics *m)
{
    head(b, "mlq_submissions_total", "counter",
         "Submit requests by outcome: accepted (one per job, array tasks included) or rejected.");
    sb_printf(b, "mlq_submissions_total{outcome=\"accepted\"} %" PRIu64 "\n", m->submitted);
    sb_printf(b, "mlq_submissions_total{outcome=\"rejected\"} %" PRIu64 "\n", m->rejected);
    head(b, "mlq_dispatches_total", "counter",
         "Attempts placed on workers, by outcome: assigned (sent), started (the worker ran it), "
         "requeued (back to PENDING after a failed or lost attempt).");
    sb_printf(b, "mlq_dispatches_total{outcome=\"assigned\"} %" PRIu64 "\n", m->dispatched);
    sb_printf(b, "mlq_dispatches_total{outcome=\"started\"} %" PRIu64 "\n", m->started);
    sb_printf(b, "mlq_dispatches_total{outcome=\"requeued\"} %" PRIu64 "\n", m->requeued);
    head(b, "mlq_completions_total", "counter",
         "Jobs that reached a terminal state since the scheduler started, by outcome.");
    for (int s = 0; s < MLQ_JOB_STATE_COUNT; s++)
        if (mlq_job_state_terminal((enum mlq_job_state)s))
            sb_printf(b, "mlq_completions_total{outcome=\"%s\"} %" PRIu64 "\n",
                      mlq_job_state_name((enum mlq_job_state)s), m->completed[s]);
    hist_render(b, "mlq_queue_wait_seconds",
                "Time a job was ready to run (submitted, its dependencies met, its retry delay "
                "over) before each dispatch.",
                &m->queue_wait);
    hist_render(b, "mlq_submit_to_start_seconds",
                "Time from submit to the first start of a job on a worker.", &m->submit_start);
    hist_render(b, "mlq_store_commit_seconds",
                "Latency of the store's group commit (one per loop iteration that wrote).",
                &m->commit);
    hist_render(b, "mlq_loop_iteration_seconds",
                "Work time of one scheduler loop iteration (messages, timers, scheduling, "
                "commit), without the wait for input.",
                &m->iteration);
}

/* ---- state walks (render only) ------------------------------------------ */

/* Active jobs by (state, pool): PENDING, ASSIGNED, RUNNING. */
struct jobcount {
    char pool[MLQ_MAX_NAME + 1];
    uint64_t n[MLQ_JOB_STATE_COUNT];
};

struct walk {
    struct mlq_ctx *c;
    struct jobcount pools[MLQ_METRICS_MAX_POOLS + 1];
    int npools, last;
};

static struct jobcount *walk_pool(struct walk *w, const char *name)
{
    if (w->last < w->npools && strcmp(w->pools[w->last].pool, name) == 0)
        return &w->pools[w->last];
    for (int i = 0; i < w->npools; i++)
        if (strcmp(w->pools[i].pool, name) == 0)
            return &w->pools[w->last = i];
    if (w->npools == MLQ_METRICS_MAX_POOLS)
        return &w->pools[MLQ_METRICS_MAX_POOLS];
    snprintf(w->pools[w->npools].pool, sizeof w->pools[0].pool, "%s", name);
    return &w->pools[w->last = w->npools++];
}

static void walk_job(struct mlq_job *job, void *ctx)
{
    struct walk *w = ctx;
    enum mlq_job_state s = job->row.state;
    if (mlq_job_state_terminal(s) || (unsigned)s >= MLQ_JOB_STATE_COUNT)
        return; /* a cancelled job whose process still ends: counted as done */
    walk_pool(w, pool_of(job))->n[s]++;
    struct mlq_metrics *m = w->c->metrics;
    if (!m || !job->live || !job->att)
        return;
    struct user *u = user_row(m, job->row.spec.owner);
    u->running++;
    int64_t from = job->att->assigned_ms;
    /* a gang books its GPUs on every node */
    int64_t nodes = job->row.spec.nodes > 0 ? job->row.spec.nodes : 1;
    /* a share of one GPU counts what it books (gangs have none) */
    int64_t h = nodes * mlq_store_attempt_gpu_h(job->att, job->row.spec.gpus);
    if (h > 0 && from > 0 && w->c->now_wall > from)
        u->live_gpu_ms += h * (w->c->now_wall - from) / 100;
}

static bool used(const uint64_t *n)
{
    for (int s = 0; s < MLQ_JOB_STATE_COUNT; s++)
        if (n[s])
            return true;
    return false;
}

static const struct pool_done *done_of(const struct mlq_metrics *m, const char *pool)
{
    for (int k = 0; m && k <= MLQ_METRICS_MAX_POOLS; k++)
        if ((k < m->npools || k == MLQ_METRICS_MAX_POOLS) && strcmp(m->pools[k].name, pool) == 0)
            return &m->pools[k];
    return NULL;
}

static bool has_pool(const struct walk *w, const char *pool)
{
    for (int i = 0; i < w->npools; i++)
        if (strcmp(w->pools[i].pool, pool) == 0)
            return true;
    return strcmp(w->pools[MLQ_METRICS_MAX_POOLS].pool, pool) == 0 &&
           used(w->pools[MLQ_METRICS_MAX_POOLS].n);
}

/* One line per state: active states from the walk, terminal ones from the
 * counters since start. */
static void pool_lines(struct sb *b, const char *pool, const uint64_t *active,
                       const struct pool_done *done)
{
    char lv[LV];
    mlq_metrics_escape(pool, lv, sizeof lv);
    for (int s = 0; s < MLQ_JOB_STATE_COUNT; s++) {
        bool term = mlq_job_state_terminal((enum mlq_job_state)s);
        uint64_t v = term ? (done ? done->n[s] : 0) : (active ? active[s] : 0);
        sb_printf(b, "mlq_jobs{state=\"%s\",pool=\"%s\"} %" PRIu64 "\n",
                  mlq_job_state_name((enum mlq_job_state)s), lv, v);
    }
}

static void render_jobs(struct sb *b, struct mlq_ctx *c)
{
    struct walk *w = calloc(1, sizeof *w);
    if (!w) {
        b->full = true;
        return;
    }
    w->c = c;
    struct mlq_metrics *m = c->metrics;
    if (m) {
        m->other.running = 0;
        m->other.live_gpu_ms = 0;
        for (size_t i = 0; i < m->nusers; i++)
            m->users[i]->running = 0, m->users[i]->live_gpu_ms = 0;
    }
    snprintf(w->pools[MLQ_METRICS_MAX_POOLS].pool, sizeof w->pools[0].pool, "%s", OTHER_POOL);
    walk_pool(w, "default"); /* always present, so the series never vanish */
    mlq_jobtab_each(c->jobs, walk_job, w);
    head(b, "mlq_jobs", "gauge",
         "Jobs by state and pool. PENDING, ASSIGNED and RUNNING: now; terminal states: jobs "
         "that reached them since the scheduler started.");
    /* Pools with active jobs (the "(other)" row when the cap was hit), then
     * pools known only from their ended jobs. */
    for (int i = 0; i <= MLQ_METRICS_MAX_POOLS; i++) {
        const struct jobcount *jc = &w->pools[i];
        if (i >= w->npools && (i < MLQ_METRICS_MAX_POOLS || !used(jc->n)))
            continue;
        pool_lines(b, jc->pool, jc->n, done_of(m, jc->pool));
    }
    for (int k = 0; m && k <= MLQ_METRICS_MAX_POOLS; k++) {
        const struct pool_done *pd = &m->pools[k];
        if ((k >= m->npools && (k < MLQ_METRICS_MAX_POOLS || !used(pd->n))) ||
            has_pool(w, pd->name))
            continue;
        pool_lines(b, pd->name, NULL, pd);
    }
    free(w);
    if (!m)
        return;
    char lv[LV];
    head(b, "mlq_user_running_jobs", "gauge", "Live attempts (ASSIGNED or RUNNING) per job owner.");
    for (size_t i = 0; i < m->nusers; i++) {
        mlq_metrics_escape(m->users[i]->name, lv, sizeof lv);
        sb_printf(b, "mlq_user_running_jobs{user=\"%s\"} %u\n", lv, m->users[i]->running);
    }
    if (m->nusers >= MLQ_METRICS_MAX_USERS)
        sb_printf(b, "mlq_user_running_jobs{user=\"%s\"} %u\n", OTHER, m->other.running);
    head(b, "mlq_user_gpu_seconds_total", "counter",
         "GPU-seconds held by each owner's attempts (GPUs x time from assignment to end, "
         "a share of one GPU counting its fraction, running attempts counted up to now) "
         "since the scheduler started.");
    for (size_t i = 0; i < m->nusers; i++) {
        const struct user *u = m->users[i];
        mlq_metrics_escape(u->name, lv, sizeof lv);
        sb_printf(b, "mlq_user_gpu_seconds_total{user=\"%s\"} %.3f\n", lv,
                  (double)(u->gpu_ms + u->live_gpu_ms) / 1000.0);
    }
    if (m->nusers >= MLQ_METRICS_MAX_USERS || m->other.gpu_ms)
        sb_printf(b, "mlq_user_gpu_seconds_total{user=\"%s\"} %.3f\n", OTHER,
                  (double)(m->other.gpu_ms + m->other.live_gpu_ms) / 1000.0);
}

/* Resources per (pool, GPU type), over workers that are UP. */
struct res {
    char pool[MLQ_MAX_NAME + 1];
    char type[MLQ_MAX_GPU_TYPE + 1];
    int64_t cpus_m, cpus_used_m, mem, mem_used;
    int64_t gpus, gpus_used, stranded; /* stranded: hundredths of a GPU */
    bool has_cpu;                      /* the (pool, "") row carries CPUs and memory */
};

struct restab {
    struct res v[MLQ_METRICS_MAX_POOLS + 1];
    int n;
};

/* The (pool, type) row; type "" is the pool's CPU and memory row. Past the
 * cap everything goes to one row, pool "(other pools)", type "(other)",
 * which carries both CPUs and GPUs. */
static struct res *res_row(struct restab *t, const char *pool, const char *type)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->v[i].pool, pool) == 0 && strcmp(t->v[i].type, type) == 0)
            return &t->v[i];
    struct res *r = &t->v[MLQ_METRICS_MAX_POOLS];
    if (t->n < MLQ_METRICS_MAX_POOLS) {
        r = &t->v[t->n++];
        snprintf(r->pool, sizeof r->pool, "%s", pool);
        snprintf(r->type, sizeof r->type, "%s", type);
    } else if (!r->pool[0]) {
        snprintf(r->pool, sizeof r->pool, "%s", OTHER_POOL);
        snprintf(r->type, sizeof r->type, "%s", OTHER);
    }
    return r;
}

/* Hundredths of a GPU as a number: "3", "0.25". */
static const char *fmt_hundredths(int64_t h, char *buf, size_t len)
{
    if (h % 100 == 0)
        snprintf(buf, len, "%" PRId64, h / 100);
    else
        snprintf(buf, len, "%" PRId64 ".%02d", h / 100, (int)(h % 100));
    return buf;
}

static const char *type_label(const struct mlq_worker *w, int g)
{
    const char *t = mlq_worker_gpu_type(w, g);
    return t && *t ? t : "unknown";
}

static void render_workers(struct sb *b, struct mlq_ctx *c)
{
    size_t nw = mlq_workers_count(c->workers);
    uint64_t by_state[3] = {0}, drained = 0, unhealthy = 0;
    struct restab *t = calloc(1, sizeof *t);
    struct mlq_demand d;
    if (!t || mlq_stranded_demand(c, &d) < 0) {
        free(t);
        b->full = true;
        return;
    }
    for (size_t i = 0; i < nw; i++) {
        const struct mlq_worker *w = mlq_workers_at(c->workers, i);
        if (!w || w->forgotten)
            continue;
        if ((unsigned)w->state < 3)
            by_state[w->state]++;
        drained += w->state == MLQ_WORKER_UP && (w->drained || w->draining);
        unhealthy += w->state == MLQ_WORKER_UP && w->unhealthy;
        if (w->state != MLQ_WORKER_UP)
            continue;
        const char *pool = w->pool[0] ? w->pool : "default";
        struct res *r = res_row(t, pool, "");
        r->has_cpu = true;
        r->cpus_m += w->cpus_m;
        r->cpus_used_m += w->cpus_used_m;
        r->mem += w->mem;
        r->mem_used += w->mem_used;
        int32_t strand[MLQ_MAX_GPUS];
        mlq_stranded_worker(w, &d, strand);
        for (int g = 0; g < w->gpus && g < MLQ_MAX_GPUS; g++) {
            if (!mlq_worker_gpu_offered(w, g))
                continue;
            struct res *rg = res_row(t, pool, type_label(w, g));
            rg->gpus++;
            bool used = mlq_worker_gpu_busy(w, g); /* whole or shared */
            rg->gpus_used += used;
            rg->stranded += strand[g];
        }
    }
    mlq_stranded_demand_free(&d);
    head(b, "mlq_workers", "gauge",
         "Workers by state (UP, DOWN, LOST); drained and unhealthy count UP workers "
         "taking no new jobs.");
    for (int s = 0; s < 3; s++)
        sb_printf(b, "mlq_workers{state=\"%s\"} %" PRIu64 "\n",
                  mlq_worker_state_name((enum mlq_worker_state)s), by_state[s]);
    sb_printf(b, "mlq_workers{state=\"DRAINED\"} %" PRIu64 "\n", drained);
    sb_printf(b, "mlq_workers{state=\"UNHEALTHY\"} %" PRIu64 "\n", unhealthy);
    char lp[LV], lt[LV], num[32];
    static const char *const rnames[][2] = {
        {"mlq_cpus", "CPUs of UP workers per pool (resource=total|allocated)."},
        {"mlq_memory_bytes", "Memory of UP workers per pool (resource=total|allocated)."},
        {"mlq_gpus", "GPUs of UP workers per pool and GPU type (resource=total|allocated)."},
        {"mlq_gpus_stranded", "Free GPU capacity (GPUs, shares as fractions) on open UP workers "
                              "that neither a ready pending GPU job nor a typical request of the "
                              "recent mix can use where it is (CPUs, memory, GPU count, share "
                              "and type); 0 when no GPU demand is known."},
    };
    for (int k = 0; k < 4; k++) {
        head(b, rnames[k][0], "gauge", rnames[k][1]);
        for (int i = 0; i < t->n + (t->v[MLQ_METRICS_MAX_POOLS].pool[0] ? 1 : 0); i++) {
            const struct res *r = &t->v[i < t->n ? i : MLQ_METRICS_MAX_POOLS];
            mlq_metrics_escape(r->pool, lp, sizeof lp);
            mlq_metrics_escape(r->type, lt, sizeof lt);
            if (k == 0 && r->has_cpu)
                sb_printf(b,
                          "mlq_cpus{pool=\"%s\",resource=\"total\"} %.3f\n"
                          "mlq_cpus{pool=\"%s\",resource=\"allocated\"} %.3f\n",
                          lp, (double)r->cpus_m / 1000.0, lp, (double)r->cpus_used_m / 1000.0);
            else if (k == 1 && r->has_cpu)
                sb_printf(b,
                          "mlq_memory_bytes{pool=\"%s\",resource=\"total\"} %" PRId64 "\n"
                          "mlq_memory_bytes{pool=\"%s\",resource=\"allocated\"} %" PRId64 "\n",
                          lp, r->mem, lp, r->mem_used);
            else if (k == 2 && r->type[0])
                sb_printf(b,
                          "mlq_gpus{pool=\"%s\",gpu_type=\"%s\",resource=\"total\"} %" PRId64 "\n"
                          "mlq_gpus{pool=\"%s\",gpu_type=\"%s\",resource=\"allocated\"} %" PRId64
                          "\n",
                          lp, lt, r->gpus, lp, lt, r->gpus_used);
            else if (k == 3 && r->type[0])
                sb_printf(b, "mlq_gpus_stranded{pool=\"%s\",gpu_type=\"%s\"} %s\n", lp, lt,
                          fmt_hundredths(r->stranded, num, sizeof num));
        }
    }
    free(t);
}

/* Per worker and GPU, what its heartbeat said (NVML); GPUs without a report
 * have no series (nothing is made up where a worker has no NVML). */
static void render_gpus(struct sb *b, struct mlq_ctx *c)
{
    static const char *const names[][2] = {
        {"mlq_gpu_utilization_ratio",
         "GPU busy fraction (0..1) over NVML's last sample, from the worker's heartbeat."},
        {"mlq_gpu_memory_used_bytes", "GPU memory in use, from the worker's heartbeat."},
        {"mlq_gpu_idle_seconds",
         "How long an allocated GPU has reported 0% utilisation (0 when busy or free)."},
    };
    size_t nw = mlq_workers_count(c->workers);
    char lw[LV];
    for (int k = 0; k < 3; k++) {
        head(b, names[k][0], "gauge", names[k][1]);
        size_t series = 0;
        for (size_t i = 0; i < nw && series < MLQ_METRICS_MAX_GPU_SERIES; i++) {
            const struct mlq_worker *w = mlq_workers_at(c->workers, i);
            if (!w || w->forgotten || w->state != MLQ_WORKER_UP || !w->gstat)
                continue;
            mlq_metrics_escape(w->name, lw, sizeof lw);
            for (int g = 0; g < w->gpus && g < MLQ_MAX_GPUS; g++) {
                const struct mlq_gpustat *s = &w->gstat[g];
                if (!s->known || series >= MLQ_METRICS_MAX_GPU_SERIES)
                    continue;
                series++;
                const char *ty = type_label(w, g);
                if (k == 0)
                    sb_printf(b, "%s{worker=\"%s\",gpu=\"%d\",gpu_type=\"%s\"} %.2f\n", names[k][0],
                              lw, g, ty, s->util / 100.0);
                else if (k == 1)
                    sb_printf(b, "%s{worker=\"%s\",gpu=\"%d\",gpu_type=\"%s\"} %" PRId64 "\n",
                              names[k][0], lw, g, ty, s->mem_used);
                else
                    sb_printf(b, "%s{worker=\"%s\",gpu=\"%d\",gpu_type=\"%s\"} %.3f\n", names[k][0],
                              lw, g, ty,
                              s->idle_since_mono && c->now_mono > s->idle_since_mono
                                  ? (double)(c->now_mono - s->idle_since_mono) / 1000.0
                                  : 0.0);
            }
        }
    }
}

static void render_store(struct sb *b, const struct mlq_metrics *m)
{
    if (!m->db_path[0])
        return;
    char wal[sizeof m->db_path + 8];
    snprintf(wal, sizeof wal, "%s-wal", m->db_path);
    struct stat st;
    head(b, "mlq_store_file_bytes", "gauge", "Size of the database files (file=db|wal).");
    sb_printf(b, "mlq_store_file_bytes{file=\"db\"} %lld\n",
              stat(m->db_path, &st) == 0 ? (long long)st.st_size : 0LL);
    sb_printf(b, "mlq_store_file_bytes{file=\"wal\"} %lld\n",
              stat(wal, &st) == 0 ? (long long)st.st_size : 0LL);
}

/* CURVE handshakes' key checks by outcome: refused keys show here before
 * anyone complains. Counted by the ZAP handler's thread. */
static void render_handshakes(struct sb *b, const struct mlq_zap *zap)
{
    struct mlq_zap_stats st;
    mlq_zap_stats(zap, &st);
    head(b, "mlq_zap_requests_total", "counter",
         "Client keys checked at the CURVE handshake (result=accepted|refused|malformed).");
    sb_printf(b, "mlq_zap_requests_total{result=\"accepted\"} %llu\n",
              (unsigned long long)st.accepted);
    sb_printf(b, "mlq_zap_requests_total{result=\"refused\"} %llu\n",
              (unsigned long long)st.refused);
    sb_printf(b, "mlq_zap_requests_total{result=\"malformed\"} %llu\n",
              (unsigned long long)st.malformed);
}

/* The scheduler's release, and each listed worker's as it said in its
 * register (a worker that did not say has no series), so that a mixed
 * cluster shows in a dashboard. */
static void render_versions(struct sb *b, struct mlq_ctx *c)
{
    char lw[LV], lv[2 * MLQ_MAX_VERSION + 2], lg[2 * MLQ_MAX_VERSION + 2];
    head(b, "mlq_build_info", "gauge", "The scheduler's release and git description (always 1).");
    mlq_metrics_escape(mlq_version(), lv, sizeof lv);
    mlq_metrics_escape(mlq_version_git(), lg, sizeof lg);
    sb_printf(b, "mlq_build_info{version=\"%s\",git=\"%s\"} 1\n", lv, lg);
    head(b, "mlq_worker_build_info", "gauge",
         "A worker's release and git description from its last register (always 1).");
    for (size_t i = 0; i < mlq_workers_count(c->workers); i++) {
        const struct mlq_worker *w = mlq_workers_at(c->workers, i);
        if (!w || w->forgotten || !w->version[0])
            continue;
        mlq_metrics_escape(w->name, lw, sizeof lw);
        mlq_metrics_escape(w->version, lv, sizeof lv);
        mlq_metrics_escape(w->git, lg, sizeof lg);
        sb_printf(b, "mlq_worker_build_info{worker=\"%s\",version=\"%s\",git=\"%s\"} 1\n", lw, lv,
                  lg);
    }
}

/* Per team and pool with a quota: its nominal GPUs (-1: not limited),
 * the GPUs its running jobs use, and how many of those are borrowed. */
static void render_quotas(struct sb *b, struct mlq_ctx *c)
{
    static const char *const names[][2] = {
        {"mlq_quota_gpus_nominal", "GPUs of a team's quota in a pool (-1: not limited)."},
        {"mlq_quota_gpus_used", "GPUs a team's running jobs use in a pool with its quota."},
        {"mlq_quota_gpus_borrowed", "GPUs a team uses beyond its quota (borrowed idle capacity)."},
    };
    struct mlq_quotainfo *q = NULL;
    uint32_t n = 0;
    struct mlq_err e;
    if (!c->quota || mlq_quota_list(c, "", "", &q, &n, &e) < 0)
        return;
    char lt[LV], lp[LV], v[32];
    for (int k = 0; k < 3; k++) {
        head(b, names[k][0], "gauge", names[k][1]);
        for (uint32_t i = 0; i < n; i++) {
            int64_t h = k == 0 ? q[i].gpus_h : k == 1 ? q[i].used_gpus_h : q[i].borrowed_gpus_h;
            mlq_metrics_escape(q[i].team, lt, sizeof lt);
            mlq_metrics_escape(q[i].pool, lp, sizeof lp);
            sb_printf(b, "%s{team=\"%s\",pool=\"%s\"} %s\n", names[k][0], lt, lp,
                      h < 0 ? "-1" : fmt_hundredths(h, v, sizeof v));
        }
    }
    free(q);
}

int mlq_metrics_render(struct mlq_ctx *c, char **out, size_t *len, struct mlq_err *err)
{
    struct sb b = {.cap = 64 * 1024};
    *out = NULL;
    *len = 0;
    if (!(b.p = malloc(b.cap)))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    b.p[0] = '\0';
    if (c->metrics)
        render_counters(&b, c->metrics);
    render_jobs(&b, c);
    render_workers(&b, c);
    render_gpus(&b, c);
    render_quotas(&b, c);
    render_versions(&b, c);
    if (c->zap)
        render_handshakes(&b, c->zap);
    if (c->metrics)
        render_store(&b, c->metrics);
    if (b.full) {
        /* Cut at the last whole line: a scraper must never see half a sample. */
        while (b.len && b.p[b.len - 1] != '\n')
            b.len--;
        b.p[b.len] = '\0';
    }
    *out = b.p;
    *len = b.len;
    return 0;
}

int mlq_metrics_on_request(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                           struct mlq_err *err)
{
    struct mlq_metrics *m = c->metrics;
    struct mlq_msg r = {.type = MLQ_MSG_METRICS_TEXT, .rid = msg->rid};
    if (m && m->cache && c->now_mono - m->cache_mono < MLQ_METRICS_CACHE_MS &&
        c->now_mono >= m->cache_mono) {
        r.u.metrics_text.text = m->cache;
        return mlq_outbox_reply(c->out, peer, &r, err);
    }
    size_t len;
    int rc = mlq_metrics_render(c, &r.u.metrics_text.text, &len, err);
    if (rc == 0)
        rc = mlq_outbox_reply(c->out, peer, &r, err);
    if (rc == 0 && m) {
        free(m->cache);
        m->cache = r.u.metrics_text.text;
        m->cache_mono = c->now_mono;
    } else {
        free(r.u.metrics_text.text);
    }
    return rc;
}
