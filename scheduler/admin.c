/* admin: see admin.h. Listings point into scheduler memory (nothing is
 * copied); they are encoded into the outbox before anything can change. */
#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobref.h"
#include "leftover.h"
#include "teams.h"
#include "log.h"
#include "placement.h"

#define EVENTS_MAX_REPLY 500
#include "wproto.h"

struct gpu_view {
    struct mlq_gpuinfo *by_worker; /* per worker, w->gpus entries by index */
    size_t *offset;                /* start of each worker's entries */
};

static void gpu_holder(struct mlq_job *job, void *arg)
{
    struct gpu_view *gv = arg;
    for (uint32_t k = 0; job->live && mlq_job_gang(job) && k < mlq_job_gang(job)->n; k++) {
        const struct mlq_gpart *p = &mlq_job_gang(job)->parts[k];
        for (int i = 0; p->booked && i < MLQ_MAX_GPUS; i++) /* each node's GPUs */
            if (p->gpu_mask & (1ULL << i))
                gv->by_worker[gv->offset[p->widx] + (size_t)i].job_id = job->row.id;
    }
    if (!job->live || !mlq_job_run(job)->gpu_mask)
        return;
    for (int i = 0; i < MLQ_MAX_GPUS; i++)
        if (mlq_job_run(job)->gpu_mask & (1ULL << i))
            gv->by_worker[gv->offset[mlq_job_run(job)->widx] + (size_t)i].job_id = job->row.id;
}

/* One gpuinfo per GPU index of every worker, described from what the worker
 * declared, with the job holding each. */
static int build_gpu_view(struct mlq_ctx *c, struct gpu_view *gv)
{
    size_t n = mlq_workers_count(c->workers), total = 0;
    gv->offset = calloc(n ? n : 1, sizeof *gv->offset);
    for (size_t i = 0; gv->offset && i < n; i++) {
        gv->offset[i] = total;
        total += (size_t)mlq_workers_at(c->workers, i)->gpus;
    }
    gv->by_worker = calloc(total ? total : 1, sizeof *gv->by_worker);
    if (!gv->offset || !gv->by_worker)
        return MLQ_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct mlq_worker *w = mlq_workers_at(c->workers, i);
        for (int32_t g = 0; g < w->gpus; g++)
            gv->by_worker[gv->offset[i] + (size_t)g].index = g;
        for (uint32_t k = 0; k < w->ngpu_list; k++) {
            struct mlq_gpuinfo *d = &gv->by_worker[gv->offset[i] + (size_t)w->gpu_list[k].index];
            *d = w->gpu_list[k];
            d->job_id = NULL;
        }
        /* A lost attempt's GPU stays with its job until its processes are
         * gone (leftover.h). */
        for (int32_t g = 0; g < w->gpus; g++) {
            struct mlq_gpuinfo *d = &gv->by_worker[gv->offset[i] + (size_t)g];
            d->job_id = (char *)mlq_leftover_gpu_job(w, g);
            d->withheld = !mlq_worker_gpu_offered(w, g);
            if (g < MLQ_MAX_GPUS && w->gshare.n[g] > 0) {
                d->share = w->gshare.share[g] > 100 ? 100 : w->gshare.share[g];
                d->nshares = w->gshare.n[g];
            }
        }
        /* The last heartbeat's utilisation (workers with NVML only). */
        for (int32_t g = 0; w->gstat && g < w->gpus && g < MLQ_MAX_GPUS; g++) {
            struct mlq_gpuinfo *d = &gv->by_worker[gv->offset[i] + (size_t)g];
            const struct mlq_gpustat *st = &w->gstat[g];
            d->util_known = st->known;
            d->util = st->util;
            d->mem_used = st->mem_used;
            d->idle_ms = st->idle_since_mono && c->now_mono > st->idle_since_mono
                             ? c->now_mono - st->idle_since_mono
                             : 0;
        }
    }
    mlq_jobtab_each(c->jobs, gpu_holder, gv);
    return 0;
}

/* GPUs held whole or shared. */
static int32_t busy_gpus(const struct mlq_worker *w)
{
    int32_t n = 0;
    for (int i = 0; i < w->gpus && i < MLQ_MAX_GPUS; i++)
        n += mlq_worker_gpu_busy(w, i);
    return n;
}

static struct mlq_workerinfo worker_view(const struct mlq_worker *w, struct mlq_gpuinfo *gpus)
{
    return (struct mlq_workerinfo){
        .name = (char *)w->name,
        .state = (char *)mlq_worker_state_name(w->state),
        .cpus_m = w->cpus_m,
        .cpus_used_m = w->cpus_used_m,
        .mem = w->mem,
        .mem_used = w->mem_used,
        .gpus = w->gpus - __builtin_popcountll(w->gpu_withheld),
        .gpus_used = busy_gpus(w),
        .gpus_used_h = (int32_t)mlq_place_gpus_used_hundredths(w),
        .running = w->running,
        .draining = w->draining || w->drained,
        .last_seen_ms = w->last_seen_wall,
        .pool = (char *)w->pool,
        .labels = w->labels,
        .nlabels = w->nlabels,
        .drain_reason =
            w->drained ? (char *)(w->drain_reason[0] ? w->drain_reason : "drained") : NULL,
        .gpu_list = gpus,
        .ngpu_list = (uint32_t)w->gpus,
        .unhealthy = w->unhealthy,
        .health = w->unhealthy ? (char *)w->health : NULL,
        .addr = w->addr[0] ? (char *)w->addr : NULL,
        .version = w->version[0] ? (char *)w->version : NULL,
        .git = w->git[0] ? (char *)w->git : NULL,
        .set_by_admin = w->ov != NULL,
        .rep_pool = (char *)w->rep_pool,
        .rep_labels = w->rep_labels,
        .rep_nlabels = w->rep_nlabels,
        .rep_cpus_m = w->rep_cpus_m,
        .rep_mem = w->rep_mem,
        .rep_gpus = w->gpus,
        .limits = w->limits[0] ? (char *)w->limits : NULL,
    };
}

/* Where a worker listing cut short goes on: the index of its next worker. */
struct worker_page {
    size_t from;
    char next[MLQ_MAX_CURSOR + 1];
};

static void cut_workers(struct mlq_msg *m, uint32_t n, void *arg)
{
    struct worker_page *p = arg;
    snprintf(p->next, sizeof p->next, "%zu", p->from + n);
    m->u.worker_list.next = p->next;
}

/* Replies with the given workers (all from index `from` on when only is
 * NULL, as many as fit one reply). */
static int reply_workers(struct mlq_ctx *c, const struct mlq_peer *peer, uint64_t rid,
                         const struct mlq_worker *only, size_t from, struct mlq_err *err)
{
    struct gpu_view gv = {0};
    size_t n = mlq_workers_count(c->workers);
    struct mlq_workerinfo *v = calloc(n ? n : 1, sizeof *v);
    int rc = v ? build_gpu_view(c, &gv) : MLQ_ENOMEM;
    uint32_t k = 0;
    for (size_t i = only ? 0 : from; rc == 0 && i < n; i++) {
        const struct mlq_worker *w = mlq_workers_at(c->workers, i);
        if ((!only && !w->forgotten) || only == w)
            v[k++] = worker_view(w, &gv.by_worker[gv.offset[i]]);
    }
    if (rc == 0) {
        struct mlq_msg m = {.type = MLQ_MSG_WORKER_LIST, .rid = rid};
        m.u.worker_list.workers = v;
        m.u.worker_list.nworkers = k;
        struct worker_page page = {.from = from};
        rc = mlq_outbox_reply_fit(c->out, peer, &m, &m.u.worker_list.nworkers, cut_workers, &page,
                                  err);
    } else {
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory listing workers");
    }
    free(gv.by_worker);
    free(gv.offset);
    free(v);
    return rc;
}

int mlq_admin_reply_worker(struct mlq_ctx *c, const struct mlq_peer *peer, uint64_t rid,
                           const struct mlq_worker *w, struct mlq_err *err)
{
    return reply_workers(c, peer, rid, w, 0, err);
}

int mlq_admin_on_workers(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err)
{
    int64_t from = 0;
    int rc = msg->u.workers.cursor ? mlq_client_cursor_parse(msg->u.workers.cursor, &from, err) : 0;
    return rc < 0 ? rc : reply_workers(c, peer, msg->rid, NULL, (size_t)from, err);
}

/* A worker by name, as admins see it (NULL: unknown or already
 * forgotten). */
static struct mlq_worker *known_worker(struct mlq_ctx *c, const char *name)
{
    struct mlq_worker *w = mlq_workers_get(c->workers, name);
    return w && !w->forgotten ? w : NULL;
}

static int set_drain(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                     bool drained, struct mlq_err *err)
{
    const char *name = msg->u.drain.worker ? msg->u.drain.worker : "";
    struct mlq_worker *w = known_worker(c, name);
    if (!w)
        return mlq_err_set(err, MLQ_ENOTFOUND, "no worker named \"%.64s\"", name);
    w->drained = drained;
    if (!drained) { /* an admin vouches for it: healthy again (health.h) */
        w->unhealthy = false;
        w->refusals = 0;
    }
    snprintf(w->drain_reason, sizeof w->drain_reason, "%s",
             drained && msg->u.drain.reason ? msg->u.drain.reason : "");
    int rc = mlq_wproto_save_worker(c, w, drained ? "worker_drained" : "worker_resumed",
                                    drained ? w->drain_reason : NULL, err);
    if (rc < 0)
        return rc;
    mlq_info("worker %s %s%s%s", w->name, drained ? "drained" : "resumed",
             w->drain_reason[0] ? ": " : "", w->drain_reason);
    c->dirty = true; /* resume may let jobs start */
    return reply_workers(c, peer, msg->rid, w, 0, err);
}

int mlq_admin_on_drain(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                       struct mlq_err *err)
{
    return set_drain(c, peer, msg, true, err);
}

int mlq_admin_on_resume(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                        struct mlq_err *err)
{
    return set_drain(c, peer, msg, false, err);
}

/* ---- keys (`mlq admin ...`) and the audit history (`mlq events`) ---- */

struct users_ctx {
    struct mlq_userinfo *v;
    uint32_t n, cap;
    const char *only_kind, *only_name; /* one principal, or all */
};

static int collect_user(const struct mlq_store_principal *p, void *arg)
{
    struct users_ctx *u = arg;
    if (u->only_name && (strcmp(p->kind, u->only_kind) || strcmp(p->name, u->only_name)))
        return 0;
    if (u->n == u->cap)
        return 0; /* MLQ_MAX_LIST listed; more would not fit a reply */
    struct mlq_userinfo *d = &u->v[u->n++];
    snprintf(d->name, sizeof d->name, "%s", p->name);
    snprintf(d->role, sizeof d->role, "%s", p->role);
    snprintf(d->key, sizeof d->key, "%s", p->key);
    d->added_ms = p->added_ms;
    snprintf(d->team, sizeof d->team, "%s", p->team);
    return 0;
}

int mlq_admin_reply_users(struct mlq_ctx *c, const struct mlq_peer *peer, uint64_t rid,
                          const char *kind, const char *name, struct mlq_err *err)
{
    struct users_ctx u = {.cap = MLQ_MAX_LIST, .only_kind = kind, .only_name = name};
    u.v = calloc(u.cap, sizeof *u.v);
    if (!u.v)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    int rc = mlq_store_each_principal(c->store, collect_user, &u, err);
    if (rc == 0) {
        struct mlq_msg m = {.type = MLQ_MSG_USER_LIST, .rid = rid};
        m.u.user_list.users = u.v;
        m.u.user_list.nusers = u.n;
        rc = mlq_outbox_reply(c->out, peer, &m, err);
    }
    free(u.v);
    return rc;
}

int mlq_admin_on_user_add(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                          struct mlq_err *err)
{
    if (c->insecure)
        return mlq_err_set(err, MLQ_ESTATE, "this scheduler runs --insecure: it has no keys");
    struct mlq_store_principal p = {.added_ms = c->now_wall};
    enum mlq_role role = mlq_auth_role_parse(msg->u.user_add.role);
    if (role == MLQ_ROLE_NONE)
        return mlq_err_set(err, MLQ_EINVAL, "role must be user, admin or worker");
    snprintf(p.kind, sizeof p.kind, "%s", role == MLQ_ROLE_WORKER ? "worker" : "user");
    snprintf(p.role, sizeof p.role, "%s", msg->u.user_add.role);
    snprintf(p.name, sizeof p.name, "%s", msg->u.user_add.name);
    snprintf(p.key, sizeof p.key, "%s", msg->u.user_add.key);
    const char *team = msg->u.user_add.team;
    if (team[0] && role == MLQ_ROLE_WORKER)
        return mlq_err_set(err, MLQ_EINVAL, "a worker belongs to no team");
    int rc = team[0] ? mlq_teams_check_exists(c, team, err) : 0; /* before anything is saved */
    if (rc == 0)
        rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_principal_save(c->store, &p, err);
    if (rc == 0 && team[0])
        rc = mlq_store_user_team_set(c->store, p.name, team, err);
    if (rc == 0 && mlq_auth_stage_put(c->auth, &p) < 0) /* applies on commit: no restart */
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (rc < 0)
        return rc;
    mlq_info("key of %s %s added by %s", p.role, p.name, c->who.name);
    return mlq_admin_reply_users(c, peer, msg->rid, p.kind, p.name, err);
}

/* A worker that still holds live attempts is not removed: they (and the
 * resources they hold) would be left without anyone to account for them. */
static int check_worker_rm(struct mlq_ctx *c, const char *name, struct mlq_err *err)
{
    const struct mlq_worker *w = known_worker(c, name);
    if (!w || w->running == 0)
        return 0;
    return mlq_err_set(err, MLQ_ESTATE,
                       "worker %s still holds %d live attempt(s): drain it (`mlq drain %s`) and "
                       "remove it once they have ended (or, with the worker gone, were lost at "
                       "its lease)",
                       w->name, (int)w->running, w->name);
}

/* Drops a decommissioned worker from `mlq workers` (its row, its line); one
 * still connected keeps them until it stops (remove it again then). It
 * comes back if it ever registers again. */
static int forget_worker(struct mlq_ctx *c, const char *name, struct mlq_err *err)
{
    struct mlq_worker *w = known_worker(c, name);
    if (!w || w->state == MLQ_WORKER_UP)
        return 0;
    int rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_worker_forget(c->store, name, NULL, err);
    if (rc < 0)
        return rc;
    w->forgotten = true;
    /* Its override went with its row: back to what it reports, should it
     * ever register again. */
    mlq_workers_override_free(w->ov);
    w->ov = NULL;
    if (mlq_workers_apply_desc(w, err) < 0)
        return MLQ_ENOMEM;
    mlq_workers_apply_res(w);
    mlq_info("worker %s forgotten by %s", name, c->who.name);
    return 0;
}

int mlq_admin_on_user_rm(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err)
{
    const char *kind = msg->u.user_rm.kind, *name = msg->u.user_rm.name;
    bool worker = strcmp(kind, "worker") == 0;
    int rc = worker ? check_worker_rm(c, name, err) : 0;
    if (rc < 0)
        return rc;
    if (c->insecure && !(worker && known_worker(c, name)))
        return mlq_err_set(err, MLQ_ESTATE, "this scheduler runs --insecure: it has no keys");
    if (!c->insecure)
        rc = mlq_store_begin(c->store, err);
    if (rc == 0 && !c->insecure)
        rc = mlq_store_principal_delete(c->store, kind, name, err);
    if (rc == MLQ_ENOTFOUND && worker && known_worker(c, name))
        rc = 0; /* no key left, but still listed: forget it */
    else if (rc == 0 && !c->insecure) {
        /* New connections with that key are refused once this commits; the
         * ones already open keep their identity until they close. */
        if (mlq_auth_stage_remove(c->auth, kind, name) < 0)
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        mlq_info("key of %s %s removed by %s", kind, name, c->who.name);
    }
    if (rc == 0 && worker)
        rc = forget_worker(c, name, err);
    if (rc < 0)
        return rc;
    struct mlq_msg m = {.type = MLQ_MSG_OK, .rid = msg->rid};
    return mlq_outbox_reply(c->out, peer, &m, err);
}

int mlq_admin_on_users(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                       struct mlq_err *err)
{
    return mlq_admin_reply_users(c, peer, msg->rid, NULL, NULL, err);
}

int mlq_admin_on_events(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                        struct mlq_err *err)
{
    char id[MLQ_ID_LEN + 1] = "";
    bool is_array = false;
    if (msg->u.events.job) {
        int rc = mlq_jobref_resolve(c, msg->u.events.job, id, &is_array, err);
        if (rc == 0)
            rc = mlq_client_check_owner_to(c, id, is_array, "read its history", err);
        if (rc < 0)
            return rc;
    } else if (!(c->who.roles & MLQ_ROLE_ADMIN)) {
        return mlq_err_set(err, MLQ_EPERM,
                           "only admins may read the whole history; "
                           "name one of your jobs with --job");
    }
    /* Event details run to 4 KiB: this many always fit one reply. */
    uint32_t limit = msg->u.events.limit;
    if (limit == 0 || limit > EVENTS_MAX_REPLY)
        limit = limit ? EVENTS_MAX_REPLY : 100;
    struct mlq_eventinfo *ev = NULL;
    uint32_t n = 0;
    int rc = mlq_store_events_list(c->store, id[0] ? id : NULL, msg->u.events.since_ms, limit, &ev,
                                   &n, err);
    if (rc == 0) {
        struct mlq_msg m = {.type = MLQ_MSG_EVENT_LIST, .rid = msg->rid};
        m.u.event_list.events = ev;
        m.u.event_list.nevents = n;
        rc = mlq_outbox_reply(c->out, peer, &m, err);
    }
    mlq_store_eventinfo_array_free(&ev, n);
    return rc;
}
