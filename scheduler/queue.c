/* queue: see queue.h. Binary heaps of job pointers; each job remembers its
 * heap position (qpos) so removal is O(log n). */
#include "queue.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHAPE_BUCKETS 1024

struct heap {
    struct mlq_job **v;
    size_t n, cap;
    bool by_time; /* waiting heap: ordered by not_before_ms, else by qkey */
};

struct shape {
    char *key; /* resources, GPU type, pool, labels and owner, as text */
    size_t bucket;
    struct heap jobs;
    size_t active_idx;   /* position in q->active */
    uint64_t skipped_in; /* pass number in which it was skipped */
    uint64_t bias_pass;  /* pass number bias was computed in */
    int64_t bias;        /* the owner's fair-share bias, cached for one pass */
    struct shape *next;  /* hash chain */
};

struct mlq_queue {
    struct shape *buckets[SHAPE_BUCKETS];
    struct shape **active; /* shapes with ready jobs */
    size_t nactive, cap_active;
    struct heap waiting;
    size_t count;
    uint64_t pass; /* current pass number, from 1 */
};

static bool before(const struct heap *h, const struct mlq_job *a, const struct mlq_job *b)
{
    if (h->by_time && a->row.not_before_ms != b->row.not_before_ms)
        return a->row.not_before_ms < b->row.not_before_ms;
    if (a->qkey != b->qkey)
        return a->qkey < b->qkey;
    return a->row.seq < b->row.seq;
}

static void heap_set(struct heap *h, size_t i, struct mlq_job *job)
{
    h->v[i] = job;
    job->qpos = i;
}

static void sift_up(struct heap *h, size_t i)
{
    struct mlq_job *job = h->v[i];
    while (i > 0 && before(h, job, h->v[(i - 1) / 2])) {
        heap_set(h, i, h->v[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    heap_set(h, i, job);
}

static void sift_down(struct heap *h, size_t i)
{
    struct mlq_job *job = h->v[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && before(h, h->v[c + 1], h->v[c]))
            c++;
        if (!before(h, h->v[c], job))
            break;
        heap_set(h, i, h->v[c]);
        i = c;
    }
    heap_set(h, i, job);
}

static int heap_push(struct heap *h, struct mlq_job *job)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        struct mlq_job **v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return MLQ_ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    heap_set(h, h->n++, job);
    sift_up(h, h->n - 1);
    return 0;
}

static void heap_remove(struct heap *h, size_t i)
{
    struct mlq_job *last = h->v[--h->n];
    if (i == h->n)
        return;
    heap_set(h, i, last);
    sift_up(h, i);
    sift_down(h, last->qpos);
}

struct mlq_queue *mlq_queue_create(void)
{
    struct mlq_queue *q = calloc(1, sizeof *q);
    if (q)
        q->waiting.by_time = true;
    return q;
}

void mlq_queue_destroy(struct mlq_queue **qp)
{
    if (!qp || !*qp)
        return;
    struct mlq_queue *q = *qp;
    for (size_t b = 0; b < SHAPE_BUCKETS; b++) {
        for (struct shape *s = q->buckets[b], *next; s; s = next) {
            next = s->next;
            free(s->jobs.v);
            free(s->key);
            free(s);
        }
    }
    free(q->active);
    free(q->waiting.v);
    free(q);
    *qp = NULL;
}

/* Jobs share a shape when everything placement and ordering look at is the
 * same: resources (a GPU share and GPU memory included), time limit
 * (backfill), GPU type, pool, required labels,
 * the owner (whose fair-share penalty applies to the whole shape) and
 * team (whose quota does: quota.h), the
 * gang size (a gang that cannot start says nothing of one node) and, for
 * arrays with --max-running, the array. */
/* The key's parts are appended by hand rather than with snprintf, which
 * cost as much as the rest of queueing a job of a 100,000-job submit. */
static char *put_int(char *p, long long v)
{
    char t[24];
    int n = 0;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do
        t[n++] = (char)('0' + u % 10);
    while ((u /= 10) > 0);
    if (v < 0)
        *p++ = '-';
    while (n > 0)
        *p++ = t[--n];
    *p++ = '|';
    return p;
}

static char *put_str(char *p, const char *s, char sep)
{
    size_t n = s ? strlen(s) : 0;
    memcpy(p, s ? s : "", n);
    p[n] = sep;
    return p + n + 1;
}

static size_t len_of(const char *s)
{
    return s ? strlen(s) : 0;
}

static char *shape_key(const struct mlq_job *job)
{
    const struct mlq_jobspec *sp = &job->row.spec;
    const char *array = sp->max_running ? mlq_store_job_array(&job->row) : NULL;
    /* 7 numbers of at most 20 characters, 12 separators, the strings */
    size_t len = 7 * 21 + 5 + len_of(sp->gpu_type) + len_of(sp->pool) + len_of(sp->owner) +
                 len_of(array) + len_of(sp->team) + 1;
    for (uint32_t i = 0; i < sp->nrequire; i++)
        len += strlen(sp->require[i]) + 1;
    char *k = malloc(len);
    if (!k)
        return NULL;
    char *p = put_int(k, sp->cpus_m);
    p = put_int(p, sp->mem);
    p = put_int(p, sp->gpus);
    p = put_int(p, sp->gpu_frac);
    p = put_int(p, sp->gpu_mem);
    p = put_int(p, sp->nodes);
    p = put_int(p, sp->time_limit_ms);
    p = put_str(p, sp->gpu_type, '|');
    p = put_str(p, sp->pool, '|');
    p = put_str(p, sp->owner, '|');
    p = put_str(p, array, '|');
    p = put_str(p, sp->team, '|');
    for (uint32_t i = 0; i < sp->nrequire; i++)
        p = put_str(p, sp->require[i], ',');
    *p = '\0';
    return k;
}

static size_t bucket_of(const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 1099511628211ULL;
    return (size_t)(h % SHAPE_BUCKETS);
}

static struct shape *shape_find(struct mlq_queue *q, const char *key, size_t b)
{
    for (struct shape *s = q->buckets[b]; s; s = s->next)
        if (strcmp(s->key, key) == 0)
            return s;
    return NULL;
}

static int activate(struct mlq_queue *q, struct shape *s)
{
    if (q->nactive == q->cap_active) {
        size_t cap = q->cap_active ? q->cap_active * 2 : 16;
        struct shape **a = realloc(q->active, cap * sizeof *a);
        if (!a)
            return MLQ_ENOMEM;
        q->active = a;
        q->cap_active = cap;
    }
    s->active_idx = q->nactive;
    q->active[q->nactive++] = s;
    return 0;
}

/* The job's shape, created when new; NULL on allocation failure. */
static struct shape *shape_get(struct mlq_queue *q, const struct mlq_job *job)
{
    char *key = shape_key(job);
    if (!key)
        return NULL;
    size_t b = bucket_of(key);
    struct shape *s = shape_find(q, key, b);
    if (s) {
        free(key);
        return s;
    }
    if (!(s = calloc(1, sizeof *s)) || activate(q, s) < 0) {
        free(s);
        free(key);
        return NULL;
    }
    s->key = key;
    s->bucket = b;
    s->next = q->buckets[b];
    q->buckets[b] = s;
    return s;
}

/* An empty shape leaves the active list and the hash, and is freed, so the
 * pass never walks shapes nobody asks for any more. */
static void shape_drop_if_empty(struct mlq_queue *q, struct shape *s)
{
    if (s->jobs.n > 0)
        return;
    struct shape *last = q->active[--q->nactive];
    q->active[s->active_idx] = last;
    last->active_idx = s->active_idx;
    struct shape **pp = &q->buckets[s->bucket];
    while (*pp != s)
        pp = &(*pp)->next;
    *pp = s->next;
    free(s->jobs.v);
    free(s->key);
    free(s);
}

static int add_ready(struct mlq_queue *q, struct mlq_job *job)
{
    struct shape *s = shape_get(q, job);
    if (!s)
        return MLQ_ENOMEM;
    int rc = heap_push(&s->jobs, job);
    if (rc < 0) {
        shape_drop_if_empty(q, s);
        return rc;
    }
    job->qshape = s;
    job->qwaiting = false;
    return 0;
}

int mlq_queue_add(struct mlq_queue *q, struct mlq_job *job, int64_t now_wall)
{
    if (job->queued)
        return 0;
    int rc;
    if (job->row.not_before_ms > now_wall) {
        rc = heap_push(&q->waiting, job);
        job->qwaiting = true;
        job->qshape = NULL;
    } else {
        rc = add_ready(q, job);
    }
    if (rc == 0) {
        job->queued = true;
        q->count++;
    }
    return rc;
}

void mlq_queue_remove(struct mlq_queue *q, struct mlq_job *job)
{
    if (!job->queued)
        return;
    if (job->qwaiting) {
        heap_remove(&q->waiting, job->qpos);
    } else {
        struct shape *s = job->qshape;
        heap_remove(&s->jobs, job->qpos);
        shape_drop_if_empty(q, s);
    }
    job->queued = false;
    job->qshape = NULL;
    q->count--;
}

size_t mlq_queue_count(const struct mlq_queue *q)
{
    return q->count;
}

size_t mlq_queue_release_due(struct mlq_queue *q, int64_t now_wall, int64_t *next_due)
{
    size_t moved = 0;
    while (q->waiting.n > 0 && q->waiting.v[0]->row.not_before_ms <= now_wall) {
        struct mlq_job *job = q->waiting.v[0];
        heap_remove(&q->waiting, 0);
        if (add_ready(q, job) < 0) { /* out of memory: try again next time */
            heap_push(&q->waiting, job);
            job->qwaiting = true;
            break;
        }
        moved++;
    }
    *next_due = q->waiting.n > 0 ? q->waiting.v[0]->row.not_before_ms : 0;
    return moved;
}

void mlq_queue_pass_begin(struct mlq_queue *q)
{
    q->pass++;
}

static bool key_before(const struct mlq_job *a, int64_t ka, const struct mlq_job *b, int64_t kb)
{
    return ka != kb ? ka < kb : a->row.seq < b->row.seq;
}

struct mlq_job *mlq_queue_pass_next(struct mlq_queue *q, mlq_queue_bias_fn bias, void *ctx)
{
    struct mlq_job *best = NULL;
    int64_t best_key = 0;
    for (size_t i = 0; i < q->nactive; i++) {
        struct shape *sh = q->active[i];
        if (sh->skipped_in == q->pass)
            continue;
        struct mlq_job *h = sh->jobs.v[0];
        if (bias && sh->bias_pass != q->pass) { /* same owner across the shape */
            sh->bias = bias(h, ctx);
            sh->bias_pass = q->pass;
        }
        int64_t k = h->qkey + (bias ? sh->bias : 0);
        if (!best || key_before(h, k, best, best_key)) {
            best = h;
            best_key = k;
        }
    }
    return best;
}

void mlq_queue_pass_skip(struct mlq_queue *q, struct mlq_job *job)
{
    if (job->queued && !job->qwaiting)
        ((struct shape *)job->qshape)->skipped_in = q->pass;
}

size_t mlq_queue_nshapes(const struct mlq_queue *q)
{
    return q->nactive;
}

struct mlq_job *mlq_queue_shape_head(const struct mlq_queue *q, size_t i)
{
    return i < q->nactive ? q->active[i]->jobs.v[0] : NULL;
}

struct mlq_job *mlq_queue_first(const struct mlq_queue *q, mlq_queue_bias_fn bias, void *ctx)
{
    struct mlq_job *best = NULL;
    int64_t best_key = 0;
    for (size_t i = 0; i < q->nactive; i++) {
        struct mlq_job *h = q->active[i]->jobs.v[0];
        int64_t k = h->qkey + (bias ? bias(h, ctx) : 0);
        if (!best || key_before(h, k, best, best_key)) {
            best = h;
            best_key = k;
        }
    }
    return best;
}

size_t mlq_queue_each_ahead(const struct mlq_queue *q, const struct mlq_job *job,
                            mlq_queue_bias_fn bias, void *ctx, mlq_queue_ahead_fn fn, void *arg)
{
    int64_t kj = job->qkey + (bias ? bias(job, ctx) : 0);
    size_t n = 0;
    for (size_t i = 0; i < q->nactive; i++) {
        const struct heap *h = &q->active[i]->jobs;
        int64_t b = h->n && bias ? bias(h->v[0], ctx) : 0; /* same owner in a shape */
        for (size_t k = 0; k < h->n; k++) {
            if (h->v[k] == job || !key_before(h->v[k], h->v[k]->qkey + b, job, kj))
                continue;
            n++;
            if (fn)
                fn(h->v[k], h->v[k]->qkey + b, arg);
        }
    }
    return n;
}

size_t mlq_queue_count_ahead(const struct mlq_queue *q, const struct mlq_job *job,
                             mlq_queue_bias_fn bias, void *ctx)
{
    return mlq_queue_each_ahead(q, job, bias, ctx, NULL, NULL);
}
