/* fairshare: see fairshare.h. A small chained hash of owners. Decay is
 * applied lazily: each owner keeps its decayed total as of `at_ms`. */
#include "fairshare.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FS_BUCKETS 256

struct owner {
    char *name;
    double used; /* weighted core-seconds of finished attempts, as of at_ms */
    int64_t at_ms;
    double run_weight; /* sum of weights of running attempts */
    double run_start;  /* sum of weight * start_s of running attempts */
    struct owner *next;
};

struct mlq_fairshare {
    struct owner *buckets[FS_BUCKETS];
    double half_life_s;
};

struct mlq_fairshare *mlq_fairshare_create(int64_t half_life_ms)
{
    struct mlq_fairshare *fs = calloc(1, sizeof *fs);
    if (fs)
        fs->half_life_s = half_life_ms > 0 ? (double)half_life_ms / 1000.0 : 86400.0;
    return fs;
}

void mlq_fairshare_destroy(struct mlq_fairshare **fs)
{
    if (!fs || !*fs)
        return;
    for (int b = 0; b < FS_BUCKETS; b++) {
        for (struct owner *o = (*fs)->buckets[b], *next; o; o = next) {
            next = o->next;
            free(o->name);
            free(o);
        }
    }
    free(*fs);
    *fs = NULL;
}

static unsigned bucket(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % FS_BUCKETS;
}

static struct owner *find(const struct mlq_fairshare *fs, const char *name)
{
    for (struct owner *o = fs->buckets[bucket(name)]; o; o = o->next)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

static struct owner *get(struct mlq_fairshare *fs, const char *name)
{
    struct owner *o = find(fs, name);
    if (o)
        return o;
    if (!(o = calloc(1, sizeof *o)) || !(o->name = strdup(name))) {
        free(o);
        return NULL;
    }
    unsigned b = bucket(name);
    o->next = fs->buckets[b];
    fs->buckets[b] = o;
    return o;
}

static double weight(int64_t cpus_m, int32_t gpu_h)
{
    return (double)cpus_m / 1000.0 + (double)gpu_h / 100.0 * MLQ_FS_GPU_WEIGHT;
}

/* The owner's finished use decayed to now_ms. */
static double decayed(const struct mlq_fairshare *fs, const struct owner *o, int64_t now_ms)
{
    double dt = (double)(now_ms - o->at_ms) / 1000.0;
    return dt > 0 ? o->used * exp2(-dt / fs->half_life_s) : o->used;
}

int mlq_fairshare_add(struct mlq_fairshare *fs, const char *owner, int64_t cpus_m, int32_t gpu_h,
                      int64_t start_ms, int64_t end_ms, int64_t now_ms)
{
    struct owner *o = get(fs, owner ? owner : "?");
    if (!o)
        return MLQ_ENOMEM;
    double secs = end_ms > start_ms ? (double)(end_ms - start_ms) / 1000.0 : 0;
    /* Use that ended in the past has already decayed since. */
    double age = now_ms > end_ms ? (double)(now_ms - end_ms) / 1000.0 : 0;
    o->used = decayed(fs, o, now_ms) + weight(cpus_m, gpu_h) * secs * exp2(-age / fs->half_life_s);
    o->at_ms = now_ms;
    return 0;
}

int mlq_fairshare_start(struct mlq_fairshare *fs, const char *owner, int64_t cpus_m, int32_t gpu_h,
                        int64_t start_ms)
{
    struct owner *o = get(fs, owner ? owner : "?");
    if (!o)
        return MLQ_ENOMEM;
    double w = weight(cpus_m, gpu_h);
    o->run_weight += w;
    o->run_start += w * (double)start_ms / 1000.0;
    return 0;
}

void mlq_fairshare_stop(struct mlq_fairshare *fs, const char *owner, int64_t cpus_m, int32_t gpu_h,
                        int64_t start_ms)
{
    struct owner *o = find(fs, owner ? owner : "?");
    if (!o)
        return;
    double w = weight(cpus_m, gpu_h);
    o->run_weight -= w;
    o->run_start -= w * (double)start_ms / 1000.0;
    if (o->run_weight < 1e-9) /* rounding: nothing runs any more */
        o->run_weight = o->run_start = 0;
}

double mlq_fairshare_penalty(const struct mlq_fairshare *fs, const char *owner, int64_t now_ms)
{
    const struct owner *o = find(fs, owner ? owner : "?");
    if (!o)
        return 0;
    double running = o->run_weight * (double)now_ms / 1000.0 - o->run_start;
    double core_s = decayed(fs, o, now_ms) + (running > 0 ? running : 0);
    return core_s / 3600.0 * MLQ_FS_POINTS_PER_HOUR;
}

/* A team's account: "/" cannot start a user name, so the two never meet. */
#define TEAM_PREFIX '/'

/* The account of team (NULL when it is the owner's own: no team). */
static const char *team_key(const char *team, char *buf, size_t len)
{
    if (!team || !team[0])
        return NULL;
    snprintf(buf, len, "%c%s", TEAM_PREFIX, team);
    return buf;
}

int mlq_fairshare_add_job(struct mlq_fairshare *fs, const char *owner, const char *team,
                          int64_t cpus_m, int32_t gpu_h, int64_t start_ms, int64_t end_ms,
                          int64_t now_ms)
{
    char buf[MLQ_FS_KEY_MAX];
    const char *t = team_key(team, buf, sizeof buf);
    int rc = mlq_fairshare_add(fs, owner, cpus_m, gpu_h, start_ms, end_ms, now_ms);
    if (rc == 0 && t)
        rc = mlq_fairshare_add(fs, t, cpus_m, gpu_h, start_ms, end_ms, now_ms);
    return rc;
}

int mlq_fairshare_start_job(struct mlq_fairshare *fs, const char *owner, const char *team,
                            int64_t cpus_m, int32_t gpu_h, int64_t start_ms)
{
    char buf[MLQ_FS_KEY_MAX];
    const char *t = team_key(team, buf, sizeof buf);
    int rc = mlq_fairshare_start(fs, owner, cpus_m, gpu_h, start_ms);
    if (rc == 0 && t)
        rc = mlq_fairshare_start(fs, t, cpus_m, gpu_h, start_ms);
    return rc;
}

void mlq_fairshare_stop_job(struct mlq_fairshare *fs, const char *owner, const char *team,
                            int64_t cpus_m, int32_t gpu_h, int64_t start_ms)
{
    char buf[MLQ_FS_KEY_MAX];
    const char *t = team_key(team, buf, sizeof buf);
    mlq_fairshare_stop(fs, owner, cpus_m, gpu_h, start_ms);
    if (t)
        mlq_fairshare_stop(fs, t, cpus_m, gpu_h, start_ms);
}

double mlq_fairshare_job_penalty(const struct mlq_fairshare *fs, const char *owner,
                                 const char *team, int64_t now_ms)
{
    char buf[MLQ_FS_KEY_MAX];
    const char *t = team_key(team, buf, sizeof buf);
    double user = mlq_fairshare_penalty(fs, owner, now_ms);
    return (t ? mlq_fairshare_penalty(fs, t, now_ms) : user) + MLQ_FS_USER_SHARE * user;
}

int mlq_fairshare_each(const struct mlq_fairshare *fs, int64_t now_ms, mlq_fairshare_fn fn,
                       void *ctx)
{
    for (int b = 0; b < FS_BUCKETS; b++)
        for (const struct owner *o = fs->buckets[b]; o; o = o->next) {
            if (o->name[0] == TEAM_PREFIX)
                continue; /* users only */
            double running = o->run_weight * (double)now_ms / 1000.0 - o->run_start;
            double core_s = decayed(fs, o, now_ms) + (running > 0 ? running : 0);
            int rc = fn(o->name, core_s, core_s / 3600.0 * MLQ_FS_POINTS_PER_HOUR, ctx);
            if (rc)
                return rc;
        }
    return 0;
}
