/* jobtab: see jobtab.h. Two chained hash tables (by job id, by live attempt
 * id) over the same job records. */
#include "jobtab.h"

#include "err.h"
#include "proto.h"
#include "slab.h"
#include "strpool.h"

#include <stdlib.h>
#include <string.h>

#define PART_BUCKETS 256 /* gangs are few next to jobs */

struct mlq_jobtab {
    /* by_att is sized by live attempts, not by jobs: with a million jobs
     * pending and a few thousand running it would be mostly empty. */
    struct mlq_job **by_id, **by_att;
    size_t nbuckets, count; /* by_id's buckets; jobs */
    size_t natt, nlive;     /* by_att's buckets; jobs with a live attempt */
    struct mlq_gpart *by_part[PART_BUCKETS];
    struct mlq_strpool *strs; /* the strings jobs repeat (share_spec) */
    struct mlq_slab *slab;    /* the jobs themselves: packed in blocks, not a
                                 malloc chunk each (slab.h) */
};

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

struct mlq_jobtab *mlq_jobtab_create(void)
{
    struct mlq_jobtab *tab = calloc(1, sizeof *tab);
    if (!tab)
        return NULL;
    tab->nbuckets = tab->natt = 1024;
    tab->by_id = calloc(tab->nbuckets, sizeof *tab->by_id);
    tab->by_att = calloc(tab->natt, sizeof *tab->by_att);
    tab->strs = mlq_strpool_create();
    tab->slab = mlq_slab_create(sizeof(struct mlq_job));
    if (!tab->by_id || !tab->by_att || !tab->strs || !tab->slab) {
        mlq_slab_destroy(tab->slab);
        mlq_strpool_destroy(tab->strs);
        free(tab->by_id);
        free(tab->by_att);
        free(tab);
        return NULL;
    }
    return tab;
}

static void gang_free(struct mlq_gang *g)
{
    if (!g)
        return;
    for (uint32_t i = 0; i < g->n; i++)
        mlq_store_attempt_free(&g->parts[i].row.a);
    free(g->parts);
    free(g);
}

/* The spec strings that many jobs repeat (one owner, team, pool, work
 * directory and command for thousands of jobs; the same environment for
 * every job of a `submit --from` batch) are swapped for the pool's shared
 * copy while the job is in the table: a pending job then costs a pointer
 * per such string instead of a malloc chunk. The command and environment
 * are then shared whole, their pointer arrays too: jobs with the same
 * command or environment hold one pointer to one array. The strings a job
 * changes in place (held_by, preempt_note, reason) stay private. */
static void strv_share(struct mlq_strpool *p, char ***v, uint32_t n)
{
    for (uint32_t i = 0; *v && i < n; i++)
        mlq_strpool_take(p, &(*v)[i]);
    mlq_strpool_take_vec(p, v, n);
}

static void share_spec(struct mlq_strpool *p, struct mlq_jobspec *s)
{
    mlq_strpool_take(p, &s->owner);
    mlq_strpool_take(p, &s->workdir);
    mlq_strpool_take(p, &s->pool);
    mlq_strpool_take(p, &s->team);
    mlq_strpool_take(p, &s->project);
    strv_share(p, &s->argv, s->argc);
    strv_share(p, &s->env, s->envc);
}

static void strv_unshare(struct mlq_strpool *p, char ***v, uint32_t *n)
{
    mlq_strpool_put_vec(p, *v, *n);
    *v = NULL;
    *n = 0;
}

/* Hands the shared strings and vectors back, leaving NULLs for
 * mlq_proto_jobspec_free (which frees what is left: the other arrays and
 * the private strings). */
static void unshare_spec(struct mlq_strpool *p, struct mlq_jobspec *s)
{
    char **one[] = {&s->owner, &s->workdir, &s->pool, &s->team, &s->project};
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        mlq_strpool_put(p, *one[i]);
        *one[i] = NULL;
    }
    strv_unshare(p, &s->argv, &s->argc);
    strv_unshare(p, &s->env, &s->envc);
}

static void job_free(struct mlq_jobtab *tab, struct mlq_job *job)
{
    gang_free(mlq_job_gang(job));
    unshare_spec(tab->strs, &job->row.spec);
    mlq_strpool_put(tab->strs, job->row.task_of);
    job->row.task_of = NULL;
    mlq_store_job_free(&job->row);
    if (job->att)
        mlq_store_attempt_free(job->att);
    free(job->att);
    mlq_slab_free(tab->slab, job);
}

void mlq_jobtab_destroy(struct mlq_jobtab **tab)
{
    if (!tab || !*tab)
        return;
    for (size_t i = 0; i < (*tab)->nbuckets; i++) {
        struct mlq_job *j = (*tab)->by_id[i];
        while (j) {
            struct mlq_job *next = j->h_id;
            job_free(*tab, j);
            j = next;
        }
    }
    free((*tab)->by_id);
    free((*tab)->by_att);
    mlq_strpool_destroy((*tab)->strs);
    mlq_slab_destroy((*tab)->slab);
    free(*tab);
    *tab = NULL;
}

/* Doubles a bucket array when its table gets crowded; on allocation
 * failure it keeps the old (slower, still correct) one. */
static void maybe_grow_ids(struct mlq_jobtab *tab)
{
    if (tab->count < tab->nbuckets)
        return;
    size_t n = tab->nbuckets * 2;
    struct mlq_job **by_id = calloc(n, sizeof *by_id);
    if (!by_id)
        return;
    for (size_t i = 0; i < tab->nbuckets; i++)
        for (struct mlq_job *j = tab->by_id[i], *next; j; j = next) {
            next = j->h_id;
            size_t b = hash_str(j->row.id) & (n - 1);
            j->h_id = by_id[b];
            by_id[b] = j;
        }
    free(tab->by_id);
    tab->by_id = by_id;
    tab->nbuckets = n;
}

static void maybe_grow_atts(struct mlq_jobtab *tab)
{
    if (tab->nlive < tab->natt)
        return;
    size_t n = tab->natt * 2;
    struct mlq_job **by_att = calloc(n, sizeof *by_att);
    if (!by_att)
        return;
    for (size_t i = 0; i < tab->natt; i++)
        for (struct mlq_job *j = tab->by_att[i], *next; j; j = next) {
            next = mlq_job_run(j)->h_att;
            size_t b = hash_str(j->att->id) & (n - 1);
            mlq_job_run(j)->h_att = by_att[b];
            by_att[b] = j;
        }
    free(tab->by_att);
    tab->by_att = by_att;
    tab->natt = n;
}

struct mlq_job *mlq_jobtab_get(struct mlq_jobtab *tab, const char *id)
{
    for (struct mlq_job *j = tab->by_id[hash_str(id) & (tab->nbuckets - 1)]; j; j = j->h_id)
        if (strcmp(j->row.id, id) == 0)
            return j;
    return NULL;
}

struct mlq_job *mlq_jobtab_by_attempt(struct mlq_jobtab *tab, const char *attempt_id)
{
    size_t b = hash_str(attempt_id) & (tab->natt - 1);
    for (struct mlq_job *j = tab->by_att[b]; j; j = mlq_job_run(j)->h_att)
        if (strcmp(j->att->id, attempt_id) == 0)
            return j;
    return NULL;
}

struct mlq_job *mlq_jobtab_add(struct mlq_jobtab *tab, struct mlq_store_job *row)
{
    maybe_grow_ids(tab); /* first, so the id is hashed once for both uses */
    size_t b = hash_str(row->id) & (tab->nbuckets - 1);
    for (struct mlq_job *j = tab->by_id[b]; j; j = j->h_id)
        if (strcmp(j->row.id, row->id) == 0)
            return NULL;
    struct mlq_job *job = mlq_slab_alloc(tab->slab);
    if (!job)
        return NULL;
    job->row = *row;
    memset(row, 0, sizeof *row);
    share_spec(tab->strs, &job->row.spec);
    mlq_strpool_take(tab->strs, &job->row.task_of); /* one copy for an array's tasks */
    job->h_id = tab->by_id[b];
    tab->by_id[b] = job;
    tab->count++;
    return job;
}

static void unlink_chain(struct mlq_job **head, struct mlq_job *job, bool by_att)
{
    for (struct mlq_job **pp = head; *pp; pp = by_att ? &mlq_job_run(*pp)->h_att : &(*pp)->h_id) {
        if (*pp == job) {
            *pp = by_att ? mlq_job_run(job)->h_att : job->h_id;
            return;
        }
    }
}

static void unindex_gang(struct mlq_jobtab *tab, struct mlq_gang *g)
{
    for (uint32_t i = 0; g && i < g->n; i++) {
        struct mlq_gpart *p = &g->parts[i];
        for (struct mlq_gpart **pp = &tab->by_part[hash_str(p->row.a.id) % PART_BUCKETS]; *pp;
             pp = &(*pp)->h_part)
            if (*pp == p) {
                *pp = p->h_part;
                break;
            }
    }
}

void mlq_jobtab_set_gang(struct mlq_jobtab *tab, struct mlq_job *job, struct mlq_gang *g)
{
    struct mlq_jobrun *run = mlq_job_run(job); /* the gang goes with the attempt */
    unindex_gang(tab, run->gang);
    gang_free(run->gang);
    run->gang = g;
    for (uint32_t i = 0; g && i < g->n; i++) {
        struct mlq_gpart *p = &g->parts[i];
        size_t b = hash_str(p->row.a.id) % PART_BUCKETS;
        p->job = job;
        p->h_part = tab->by_part[b];
        tab->by_part[b] = p;
    }
}

struct mlq_gpart *mlq_jobtab_part(struct mlq_jobtab *tab, const char *part_id)
{
    for (struct mlq_gpart *p = tab->by_part[hash_str(part_id) % PART_BUCKETS]; p; p = p->h_part)
        if (strcmp(p->row.a.id, part_id) == 0)
            return p;
    return NULL;
}

void mlq_jobtab_clear_attempt(struct mlq_jobtab *tab, struct mlq_job *job)
{
    if (mlq_job_gang(job)) {
        unindex_gang(tab, mlq_job_gang(job));
        gang_free(mlq_job_gang(job));
        mlq_job_run(job)->gang = NULL;
    }
    if (job->live) {
        unlink_chain(&tab->by_att[hash_str(job->att->id) & (tab->natt - 1)], job, true);
        tab->nlive--;
    }
    if (job->att)
        mlq_store_attempt_free(job->att);
    free(job->att);
    job->att = NULL;
    job->live = false;
}

int mlq_jobtab_set_attempt(struct mlq_jobtab *tab, struct mlq_job *job,
                           const struct mlq_store_attempt *a)
{
    mlq_jobtab_clear_attempt(tab, job);
    struct mlq_jobrun *run = calloc(1, sizeof *run);
    if (!run)
        return MLQ_ENOMEM;
    run->att = *a;
    run->att.detail = a->detail ? strdup(a->detail) : NULL;
    job->att = &run->att;
    job->live = true;
    job->acked = job->kill_armed = false;
    tab->nlive++;
    maybe_grow_atts(tab);
    size_t b = hash_str(job->att->id) & (tab->natt - 1);
    run->h_att = tab->by_att[b];
    tab->by_att[b] = job;
    return 0;
}

void mlq_jobtab_remove(struct mlq_jobtab *tab, struct mlq_job *job)
{
    mlq_jobtab_clear_attempt(tab, job);
    unlink_chain(&tab->by_id[hash_str(job->row.id) & (tab->nbuckets - 1)], job, false);
    tab->count--;
    job_free(tab, job);
}

void mlq_jobtab_respec(struct mlq_jobtab *tab, struct mlq_job *job, struct mlq_jobspec *spec)
{
    unshare_spec(tab->strs, &job->row.spec);
    mlq_proto_jobspec_free(&job->row.spec);
    job->row.spec = *spec;
    memset(spec, 0, sizeof *spec);
    share_spec(tab->strs, &job->row.spec);
}

size_t mlq_jobtab_count(const struct mlq_jobtab *tab)
{
    return tab->count;
}

size_t mlq_jobtab_shared_count(const struct mlq_jobtab *tab)
{
    return mlq_strpool_count(tab->strs);
}

void mlq_jobtab_each(struct mlq_jobtab *tab, mlq_jobtab_fn fn, void *ctx)
{
    for (size_t i = 0; i < tab->nbuckets; i++)
        for (struct mlq_job *j = tab->by_id[i]; j; j = j->h_id)
            fn(j, ctx);
}
