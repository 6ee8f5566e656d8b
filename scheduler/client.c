/* client: see client.h. Reads come from the store (which sees the current
 * transaction), so a listing always agrees with what was just acknowledged;
 * pending reasons come from memory because they depend on live workers. */
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrayspec.h"
#include "envname.h"
#include "estimate.h"
#include "fairshare.h"
#include "idemhash.h"
#include "jobedit.h"
#include "jobops.h"
#include "preemptrun.h"
#include "jobref.h"
#include "log.h"
#include "logrelay.h"
#include "gang.h"
#include "logstore.h"
#include "quota.h"
#include "teams.h"
#include "res.h"
#include "why.h"
#include "pipeline.h"
#include "wproto.h"

#define LIST_DEFAULT         100
#define LOG_RELAY_TIMEOUT_MS 5000
/* Attempt histories go into a `jobs` reply only for this many jobs at most:
 * 64 jobs x 256 attempts stay well under the message size limit. */
#define STATUS_ATTEMPTS_MAX_JOBS 64
/* Users in one `usage_list`: 129 bytes of name + 2 integers each stay far
 * under the message size limit. */
#define USAGE_MAX_USERS 10000

static int reply(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *m, uint64_t rid,
                 struct mlq_err *err)
{
    m->rid = rid;
    return mlq_outbox_reply(c->out, peer, m, err);
}

int mlq_client_set_owner(struct mlq_ctx *c, struct mlq_jobspec *spec, struct mlq_err *err)
{
    if (c->who.insecure) /* no identities: the client says who it is */
        return 0;
    char *owner = strdup(c->who.name);
    if (!owner)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    free(spec->owner);
    spec->owner = owner;
    return 0;
}

/* Owner of a job or array (terminal ones from the store). */
static int owner_of(struct mlq_ctx *c, const char *id, bool is_array, char *out, size_t len,
                    struct mlq_err *err)
{
    const struct mlq_job *job = is_array ? NULL : mlq_jobtab_get(c->jobs, id);
    if (job) {
        snprintf(out, len, "%s", job->row.spec.owner ? job->row.spec.owner : "");
        return 0;
    }
    int rc;
    if (is_array) {
        struct mlq_store_array a;
        if ((rc = mlq_store_array_get(c->store, id, &a, err)) == 0) {
            snprintf(out, len, "%s", a.spec.owner ? a.spec.owner : "");
            mlq_store_array_free(&a);
        }
    } else {
        struct mlq_store_job row;
        if ((rc = mlq_store_job_get(c->store, id, &row, err)) == 0) {
            snprintf(out, len, "%s", row.spec.owner ? row.spec.owner : "");
            mlq_store_job_free(&row);
        }
    }
    return rc;
}

int mlq_client_check_owner_to(struct mlq_ctx *c, const char *id, bool is_array, const char *what,
                              struct mlq_err *err)
{
    char owner[MLQ_MAX_NAME + 1];
    int rc = owner_of(c, id, is_array, owner, sizeof owner, err);
    if (rc == 0 && !mlq_auth_owns(&c->who, owner))
        rc = mlq_err_set(err, MLQ_EPERM, "%s %.8s is %.40s's: only they or an admin may %s",
                         is_array ? "array" : "job", id, owner[0] ? owner : "someone else", what);
    return rc;
}

int mlq_client_check_owner(struct mlq_ctx *c, const char *id, bool is_array, struct mlq_err *err)
{
    return mlq_client_check_owner_to(c, id, is_array, "change it", err);
}

/* Dependencies name what the user typed; the job keeps full ids. */
int mlq_client_resolve_deps(struct mlq_ctx *c, struct mlq_jobspec *spec, struct mlq_err *err)
{
    for (uint32_t i = 0; i < spec->ndeps; i++) {
        char id[MLQ_ID_LEN + 1];
        bool is_array;
        int rc = mlq_store_resolve(c->store, spec->deps[i].target, id, &is_array, err);
        if (rc < 0)
            return mlq_err_set(err, rc, "dependency: %.140s", err ? err->msg : "");
        memcpy(spec->deps[i].target, id, sizeof id);
    }
    return 0;
}

int mlq_client_on_submit(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err)
{
    struct mlq_jobspec *spec = &msg->u.submit.spec;
    int rc = mlq_client_set_owner(c, spec, err);
    if (rc == 0)
        rc = mlq_teams_set_job_team(c, spec, err);
    if (rc == 0)
        rc = mlq_proto_jobspec_check(spec, err);
    if (rc == 0)
        rc = mlq_preempt_spec_check(c, spec, err);
    if (rc == 0)
        rc = mlq_jobedit_hold_on_submit(c, spec, err);
    if (rc < 0)
        return rc;
    mlq_envname_strip_scheduler_set(spec); /* only a schedule's runs have them */
    struct mlq_msg m = {.type = MLQ_MSG_SUBMITTED};
    char owner[MLQ_MAX_NAME + 1]; /* the spec is moved away before the key is stored */
    snprintf(owner, sizeof owner, "%s", spec->owner ? spec->owner : "");
    char hash[MLQ_STORE_HASH_HEX + 1] = "";
    if (spec->idempotency_key && (rc = mlq_idemhash_spec(spec, hash, err)) < 0)
        return rc;
    char *key = spec->idempotency_key; /* ours from here: jobs do not keep it */
    spec->idempotency_key = NULL;
    if (key && (rc = mlq_idemhash_seen(c->store, owner, key, c->now_wall, hash, m.u.submitted.id,
                                       err)) != 0) {
        free(key);
        /* submitted before with the same request: the same answer */
        return rc < 0 ? rc : reply(c, peer, &m, msg->rid, err);
    }
    if ((rc = mlq_client_resolve_deps(c, spec, err)) < 0) {
        free(key);
        return rc;
    }
    if (spec->array)
        rc = mlq_pipeline_submit_array(c, spec, m.u.submitted.id, err);
    else if ((rc = mlq_jobops_submit(c, spec, m.u.submitted.id, err)) == 0)
        rc = mlq_jobedit_note_submit_hold(c, m.u.submitted.id, err);
    if (rc == 0 && key)
        rc = mlq_store_idem_put(c->store, owner, key, m.u.submitted.id, hash, c->now_wall, err);
    free(key);
    if (rc < 0)
        return rc;
    return reply(c, peer, &m, msg->rid, err);
}

/* Pending jobs without a stored reason get one computed from the workers. */
static int fill_reason(struct mlq_ctx *c, struct mlq_jobinfo *info)
{
    if (info->state != MLQ_JOB_PENDING || info->reason)
        return 0;
    struct mlq_job *job = mlq_jobtab_get(c->jobs, info->id);
    if (!job)
        return 0;
    char buf[256];
    mlq_jobops_pending_reason(c, job, buf, sizeof buf);
    info->reason = strdup(buf);
    return info->reason ? 0 : MLQ_ENOMEM;
}

int mlq_client_cursor_parse(const char *cursor, int64_t *out, struct mlq_err *err)
{
    char *end;
    long long v = cursor && *cursor >= '0' && *cursor <= '9' ? strtoll(cursor, &end, 10) : -1;
    if (v < 0 || *end)
        return mlq_err_set(err, MLQ_EINVAL, "invalid cursor \"%.64s\"", cursor ? cursor : "");
    *out = v;
    return 0;
}

/* A page of the job listing: its jobs' seqs and the cursor it hands out. */
struct job_page {
    const int64_t *seqs;
    char next[MLQ_MAX_CURSOR + 1];
};

static void cut_job_page(struct mlq_msg *m, uint32_t n, void *arg)
{
    struct job_page *p = arg;
    snprintf(p->next, sizeof p->next, "%lld", (long long)p->seqs[n - 1]);
    m->u.job_list.next = p->next;
}

/* The listing's filter from the request; array_id holds the full id of
 * the array its prefix names. Everyone may list everyone's jobs (the
 * environment is never in a listing); `mine` keeps the asker's own. */
static int job_filter(struct mlq_ctx *c, const struct mlq_msg *msg, struct mlq_store_job_filter *f,
                      char array_id[MLQ_ID_LEN + 1], struct mlq_err *err)
{
    memset(f, 0, sizeof *f);
    f->states = msg->u.jobs.states;
    if (msg->u.jobs.state >= 0)
        f->states |= 1u << msg->u.jobs.state;
    f->name = msg->u.jobs.name;
    f->owner = msg->u.jobs.owner;
    f->since_ms = msg->u.jobs.since_ms;
    if (msg->u.jobs.mine && !c->who.insecure) {
        if (f->owner && strcmp(f->owner, c->who.name) != 0)
            return mlq_err_set(err, MLQ_EINVAL, "asked for your own jobs and for %.64s's",
                               f->owner);
        f->owner = c->who.name;
    }
    if (!msg->u.jobs.array)
        return 0;
    bool is_array = false;
    int rc = mlq_store_resolve(c->store, msg->u.jobs.array, array_id, &is_array, err);
    if (rc == 0 && !is_array)
        rc = mlq_err_set(err, MLQ_EINVAL, "%.40s is a job, not an array", msg->u.jobs.array);
    f->array = array_id;
    return rc;
}

/* Newest first, from the cursor on (the seq below which to go on); one row
 * more than asked tells whether the listing goes on. */
static int reply_job_page(struct mlq_ctx *c, const struct mlq_peer *peer, const struct mlq_msg *msg,
                          struct mlq_err *err)
{
    uint32_t limit = msg->u.jobs.limit ? msg->u.jobs.limit : LIST_DEFAULT;
    int64_t before = INT64_MAX;
    int rc = msg->u.jobs.cursor ? mlq_client_cursor_parse(msg->u.jobs.cursor, &before, err) : 0;
    struct mlq_store_job_filter filter;
    char array_id[MLQ_ID_LEN + 1] = "";
    if (rc == 0)
        rc = job_filter(c, msg, &filter, array_id, err);
    if (rc < 0)
        return rc;
    int64_t *seqs = calloc((size_t)limit + 1, sizeof *seqs);
    struct mlq_jobinfo *infos = NULL;
    uint32_t got = 0;
    rc = seqs ? mlq_store_job_page_filtered(c->store, &filter, before, limit + 1, &infos, &got,
                                            seqs, err)
              : mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    struct job_page page = {.seqs = seqs};
    struct mlq_msg m = {.type = MLQ_MSG_JOB_LIST, .rid = msg->rid};
    m.u.job_list.jobs = infos;
    m.u.job_list.njobs = got > limit ? limit : got;
    if (rc == 0 && got > limit)
        cut_job_page(&m, limit, &page);
    for (uint32_t i = 0; rc == 0 && i < m.u.job_list.njobs; i++)
        if (fill_reason(c, &infos[i]) < 0)
            rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (rc == 0)
        rc = mlq_outbox_reply_fit(c->out, peer, &m, &m.u.job_list.njobs, cut_job_page, &page, err);
    mlq_store_jobinfo_array_free(&infos, got);
    free(seqs);
    return rc;
}

/* Resolves every prefix first so that one bad id changes nothing. */
/* What the ids of a request resolved to: jobs, or arrays (is_array). */
struct resolved {
    char (*ids)[MLQ_ID_LEN + 1];
    bool *is_array;
    uint32_t n;
};

static void resolved_free(struct resolved *r)
{
    free(r->ids);
    free(r->is_array);
}

/* Resolves every reference first so that one bad id changes nothing. */
static int resolve_all(struct mlq_ctx *c, char **refs, uint32_t n, struct resolved *r,
                       struct mlq_err *err)
{
    r->n = n;
    r->ids = calloc(n ? n : 1, sizeof *r->ids);
    r->is_array = calloc(n ? n : 1, sizeof *r->is_array);
    if (!r->ids || !r->is_array)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        int rc = mlq_jobref_resolve(c, refs[i], r->ids[i], &r->is_array[i], err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* A gang's node parts of its current (or last) attempt, with the history. */
static int add_parts(struct mlq_ctx *c, bool with_attempts, struct mlq_jobinfo *info,
                     struct mlq_err *err)
{
    if (!with_attempts || info->nodes <= 0 || !info->attempt_id)
        return 0;
    return mlq_gang_info_parts(c, info->attempt_id, info, err);
}

/* Queues the reply for ids from..from+n-1 of r; MLQ_ETOOBIG when it does
 * not fit one message. */
static int reply_id_range(struct mlq_ctx *c, const struct mlq_peer *peer, uint64_t rid,
                          const struct resolved *r, uint32_t from, uint32_t n, bool with_attempts,
                          struct mlq_err *err)
{
    struct mlq_jobinfo *infos = calloc(n ? n : 1, sizeof *infos);
    struct mlq_arrayinfo *arrays = calloc(n ? n : 1, sizeof *arrays);
    int rc = infos && arrays ? 0 : mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    uint32_t nj = 0, na = 0;
    char next[MLQ_MAX_CURSOR + 1];
    snprintf(next, sizeof next, "%u", from + n);
    for (uint32_t i = from; i < from + n && rc == 0; i++) {
        if (r->is_array[i] &&
            (rc = mlq_store_array_info(c->store, r->ids[i], &arrays[na], err)) == 0)
            na++;
        else if (!r->is_array[i] && (rc = mlq_store_job_info_full(
                                         c->store, r->ids[i], with_attempts, &infos[nj], err)) == 0)
            rc = add_parts(c, with_attempts, &infos[nj++], err);
    }
    for (uint32_t i = 0; i < nj && rc == 0; i++)
        if (fill_reason(c, &infos[i]) < 0)
            rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (rc == 0) {
        struct mlq_msg m = {.type = MLQ_MSG_JOB_LIST, .rid = rid};
        m.u.job_list.jobs = infos;
        m.u.job_list.njobs = nj;
        m.u.job_list.arrays = arrays;
        m.u.job_list.narrays = na;
        m.u.job_list.next = from + n < r->n ? next : NULL;
        rc = mlq_outbox_reply(c->out, peer, &m, err);
    }
    mlq_store_jobinfo_array_free(&infos, nj);
    for (uint32_t i = 0; i < na; i++)
        mlq_proto_arrayinfo_free(&arrays[i]);
    free(arrays);
    return rc;
}

/* The ids from `from` on, as many as fit one reply (at least one); the
 * reply's `next` says where the rest starts. */
static int reply_ids(struct mlq_ctx *c, const struct mlq_peer *peer, uint64_t rid,
                     const struct resolved *r, uint32_t from, bool with_attempts,
                     struct mlq_err *err)
{
    uint32_t n = r->n - from;
    int rc;
    while ((rc = reply_id_range(c, peer, rid, r, from, n, with_attempts, err)) == MLQ_ETOOBIG &&
           n > 1)
        n /= 2;
    return rc;
}

int mlq_client_on_jobs(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                       struct mlq_err *err)
{
    uint32_t n = msg->u.jobs.nids;
    if (n == 0)
        return reply_job_page(c, peer, msg, err);
    int64_t from = 0;
    int rc = msg->u.jobs.cursor ? mlq_client_cursor_parse(msg->u.jobs.cursor, &from, err) : 0;
    if (rc < 0)
        return rc;
    if (from >= n)
        return mlq_err_set(err, MLQ_EINVAL, "cursor %lld is past the %u ids asked for",
                           (long long)from, n);
    struct resolved r = {0};
    rc = resolve_all(c, msg->u.jobs.ids, n, &r, err);
    if (rc == 0)
        rc = reply_ids(c, peer, msg->rid, &r, (uint32_t)from, n <= STATUS_ATTEMPTS_MAX_JOBS, err);
    resolved_free(&r);
    return rc;
}

static int cancel_one(struct mlq_ctx *c, const char *id, struct mlq_err *err)
{
    struct mlq_job *job = mlq_jobtab_get(c->jobs, id);
    /* not in the table: already terminal, listed unchanged */
    return job ? mlq_jobops_cancel(c, job, "cancelled by user", err) : 0;
}

static int cancel_array(struct mlq_ctx *c, const char *id, struct mlq_err *err)
{
    char(*tasks)[MLQ_ID_LEN + 1] = NULL;
    uint32_t n = 0;
    int rc = mlq_store_array_active_tasks(c->store, id, &tasks, &n, err);
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        rc = cancel_one(c, tasks[i], err);
    free(tasks);
    return rc;
}

int mlq_client_on_cancel(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err)
{
    uint32_t n = msg->u.cancel.nids;
    if (n == 0)
        return mlq_err_set(err, MLQ_EINVAL, "cancel needs at least one job id");
    struct resolved r = {0};
    int rc = resolve_all(c, msg->u.cancel.ids, n, &r, err);
    for (uint32_t i = 0; i < n && rc == 0; i++) /* all allowed, or nothing changes */
        rc = mlq_client_check_owner_to(c, r.ids[i], r.is_array[i], "cancel it", err);
    for (uint32_t i = 0; i < n && rc == 0; i++)
        rc = r.is_array[i] ? cancel_array(c, r.ids[i], err) : cancel_one(c, r.ids[i], err);
    if (rc == 0)
        rc = reply_ids(c, peer, msg->rid, &r, 0, false, err);
    resolved_free(&r);
    return rc;
}

/* A reference that must name one job (a task as ARRAY/N is fine). */
static int resolve_job(struct mlq_ctx *c, const char *ref, char id[MLQ_ID_LEN + 1],
                       struct mlq_err *err)
{
    bool is_array = false;
    int rc = mlq_jobref_resolve(c, ref, id, &is_array, err);
    if (rc == 0 && is_array)
        rc =
            mlq_err_set(err, MLQ_EINVAL, "%.40s is a job array; name one task as ARRAY/INDEX", ref);
    return rc;
}

/* ended: the attempt asked for by number has ended (its log is final);
 * false for the current attempt, whose end is the job's. */
static int reply_log_data_ex(struct mlq_ctx *c, const struct mlq_peer *peer, uint64_t rid,
                             const uint8_t *data, uint32_t len, int64_t offset, int64_t size,
                             const char *job_id, bool ended, struct mlq_err *err);

static int reply_log_data(struct mlq_ctx *c, const struct mlq_peer *peer, uint64_t rid,
                          const uint8_t *data, uint32_t len, int64_t offset, int64_t size,
                          const char *job_id, struct mlq_err *err)
{
    return reply_log_data_ex(c, peer, rid, data, len, offset, size, job_id, false, err);
}

static int reply_log_data_ex(struct mlq_ctx *c, const struct mlq_peer *peer, uint64_t rid,
                             const uint8_t *data, uint32_t len, int64_t offset, int64_t size,
                             const char *job_id, bool ended, struct mlq_err *err)
{
    struct mlq_msg m = {.type = MLQ_MSG_LOG_DATA};
    struct mlq_job *job = mlq_jobtab_get(c->jobs, job_id);
    enum mlq_job_state st;
    if (job) {
        st = job->row.state;
    } else {
        struct mlq_store_job row;
        int rc = mlq_store_job_get(c->store, job_id, &row, err);
        if (rc < 0)
            return rc;
        st = row.state;
        mlq_store_job_free(&row);
    }
    /* Final only once the process has ended and been reported. */
    bool settled = ended || (mlq_job_state_terminal(st) && !(job && job->live));
    m.u.log_data.data = (uint8_t *)data;
    m.u.log_data.len = len;
    m.u.log_data.offset = offset;
    m.u.log_data.size = size;
    m.u.log_data.state = st;
    m.u.log_data.done = settled && offset + len >= size;
    return reply(c, peer, &m, rid, err);
}

/* The id of attempt number num of the job (MLQ_ENOTFOUND naming the
 * numbers it has). */
static int attempt_numbered(struct mlq_ctx *c, const char *job_id, int32_t num,
                            char out[MLQ_ID_LEN + 1], struct mlq_err *err)
{
    struct mlq_jobinfo info;
    int rc = mlq_store_job_info_full(c->store, job_id, true, &info, err);
    if (rc < 0)
        return rc;
    rc = MLQ_ETOOBIG;
    for (uint32_t i = 0; i < info.nattempts; i++)
        if (info.attempts[i].num == num) {
            memcpy(out, info.attempts[i].id, MLQ_ID_LEN + 1);
            rc = 0;
        }
    if (rc < 0)
        mlq_err_set(err, rc, "job %.8s has no attempt %d (it has %d)", job_id, (int)num,
                    (int)info.attempt);
    mlq_proto_jobinfo_free(&info);
    return rc;
}

/* The attempt whose output `mlq logs` shows: number `num`, or the job's
 * current one (num 0); for a gang, the part of rank node of it. A rank or
 * number the job does not have is MLQ_ETOOBIG (told apart from
 * MLQ_ENOTFOUND: not started yet). */
static int log_attempt(struct mlq_ctx *c, const char *job_id, int32_t node, int32_t num,
                       struct mlq_store_attempt *a, struct mlq_err *err)
{
    struct mlq_store_job row;
    int rc = mlq_store_job_get(c->store, job_id, &row, err);
    if (rc < 0)
        return rc;
    uint32_t nodes = row.spec.nodes > 0 ? row.spec.nodes : 1;
    char att[MLQ_ID_LEN + 1];
    mlq_store_job_cur_att(&row, att);
    if ((uint32_t)node >= nodes)
        rc = mlq_err_set(err, MLQ_ETOOBIG, "job %.8s has %u node%s: no node %d", job_id, nodes,
                         nodes == 1 ? "" : "s", (int)node);
    else if (num > 0)
        rc = attempt_numbered(c, job_id, num, att, err);
    else if (!att[0])
        rc = MLQ_ENOTFOUND;
    if (rc == 0 && row.spec.nodes > 0)
        rc = mlq_gang_part_of(c, att, node, a, err);
    else if (rc == 0)
        rc = mlq_store_attempt_get(c->store, att, a, err);
    mlq_store_job_free(&row);
    return rc;
}

/* The output is on a worker that is not connected: say which, and since
 * when (relative, so that no time zone is needed). */
static int worker_gone(struct mlq_ctx *c, const struct mlq_worker *w,
                       const struct mlq_store_attempt *a, struct mlq_err *err)
{
    char since[48] = "it was removed";
    if (w && w->last_seen_wall > 0) {
        char d[32];
        int64_t ago = c->now_wall > w->last_seen_wall ? c->now_wall - w->last_seen_wall : 0;
        snprintf(since, sizeof since, "last heard from %s ago",
                 mlq_res_fmt_duration(ago - ago % 1000, d, sizeof d));
    }
    return mlq_err_set(err, MLQ_EUNAVAIL,
                       "the output of job %.8s is on worker %.40s, which is not connected (%s); "
                       "it can be read once the worker is back",
                       a->job_id, a->worker, since);
}

static int relay_log_read(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                          const struct mlq_store_attempt *a, struct mlq_err *err)
{
    struct mlq_worker *w = mlq_workers_get(c->workers, a->worker);
    if (!w || w->state != MLQ_WORKER_UP)
        return worker_gone(c, w, a, err);
    struct mlq_logreq req = {.client = *peer,
                             .rid = msg->rid,
                             .offset = msg->u.logs.offset,
                             .ended =
                                 msg->u.logs.attempt > 0 && mlq_attempt_state_terminal(a->state)};
    memcpy(req.job_id, a->job_id, sizeof req.job_id);
    snprintf(req.worker, sizeof req.worker, "%s", w->name);
    req.deadline_mono = c->now_mono + LOG_RELAY_TIMEOUT_MS;
    uint64_t token = mlq_logrelay_add(c->logs, &req);
    if (!token)
        return mlq_err_set(err, MLQ_EUNAVAIL, "too many log requests in flight; try again");
    struct mlq_msg m = {.type = MLQ_MSG_LOG_READ};
    m.u.log_read.token = token;
    memcpy(m.u.log_read.attempt_id, a->id, sizeof m.u.log_read.attempt_id);
    m.u.log_read.stream = msg->u.logs.stream;
    m.u.log_read.offset = msg->u.logs.offset;
    m.u.log_read.max = msg->u.logs.max ? msg->u.logs.max : MLQ_MAX_LOG_CHUNK;
    return mlq_outbox_push(c->out, &w->peer, &m, err);
}

/* The worker uploaded this log when the attempt ended: answer from here,
 * whether or not the worker is still around. */
static int reply_stored_log(struct mlq_ctx *c, const struct mlq_peer *peer,
                            const struct mlq_msg *msg, const struct mlq_store_attempt *a,
                            bool empty, struct mlq_err *err)
{
    uint8_t *data = NULL;
    uint32_t len = 0;
    int64_t size = 0;
    uint32_t max = msg->u.logs.max ? msg->u.logs.max : MLQ_MAX_LOG_CHUNK;
    int rc = empty ? 0
                   : mlq_logstore_read(c->logstore, a->id, msg->u.logs.stream, msg->u.logs.offset,
                                       max, &data, &len, &size, err);
    bool ended = msg->u.logs.attempt > 0 && mlq_attempt_state_terminal(a->state);
    if (rc == 0)
        rc = reply_log_data_ex(c, peer, msg->rid, data, len, msg->u.logs.offset, size, a->job_id,
                               ended, err);
    free(data);
    return rc;
}

int mlq_client_on_logs(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                       struct mlq_err *err)
{
    char id[MLQ_ID_LEN + 1];
    int rc = resolve_job(c, msg->u.logs.job, id, err);
    if (rc == 0)
        rc = mlq_client_check_owner_to(c, id, false, "read its output", err);
    if (rc < 0)
        return rc;
    struct mlq_store_attempt a;
    rc = log_attempt(c, id, msg->u.logs.node, msg->u.logs.attempt, &a, err);
    if (rc == MLQ_ETOOBIG && err)
        err->code = MLQ_ENOTFOUND; /* keep its message */
    if (rc == MLQ_ETOOBIG)
        return MLQ_ENOTFOUND;
    if (rc == MLQ_ENOTFOUND) /* never started: nothing to show yet */
        return reply_log_data(c, peer, msg->rid, NULL, 0, msg->u.logs.offset, 0, id, err);
    if (rc < 0)
        return rc;
    if (mlq_logstore_has(c->logstore, a.id, msg->u.logs.stream))
        rc = reply_stored_log(c, peer, msg, &a, false, err);
    else if (mlq_store_log_empty(c->store, a.id, msg->u.logs.stream))
        rc = reply_stored_log(c, peer, msg, &a, true, err);
    else
        rc = relay_log_read(c, peer, msg, &a, err);
    mlq_store_attempt_free(&a);
    return rc;
}

int mlq_client_on_log_chunk(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                            struct mlq_err *err)
{
    struct mlq_logreq req;
    struct mlq_worker *w;
    if (mlq_wproto_sender(c, peer, &w, NULL) < 0 ||
        mlq_logrelay_take(c->logs, msg->u.log_chunk.token, &req) < 0)
        return 0; /* late or unknown: the client already got a timeout */
    if (strcmp(req.worker, w->name) != 0) {
        mlq_logrelay_add(c->logs, &req); /* not this worker's to answer */
        return 0;
    }
    struct mlq_err e2;
    int rc;
    if (msg->u.log_chunk.err < 0)
        rc = mlq_outbox_reply(
            c->out, &req.client,
            &(struct mlq_msg){.type = MLQ_MSG_ERROR,
                              .rid = req.rid,
                              .u.error = {MLQ_ENOTFOUND,
                                          "no log of this job is kept (its worker has none,"
                                          " and none is stored here)"}},
            &e2);
    else
        rc = reply_log_data_ex(c, &req.client, req.rid, msg->u.log_chunk.data, msg->u.log_chunk.len,
                               req.offset, msg->u.log_chunk.size, req.job_id, req.ended, &e2);
    if (rc < 0)
        mlq_warn("could not answer a log request: %s", e2.msg);
    (void)err;
    return rc == MLQ_EDB ? mlq_err_set(err, rc, "%s", e2.msg) : 0;
}

void mlq_client_expire_logs(struct mlq_ctx *c)
{
    struct mlq_logreq req;
    while (mlq_logrelay_take_expired(c->logs, c->now_mono, &req)) {
        struct mlq_msg m = {.type = MLQ_MSG_ERROR, .rid = req.rid};
        m.u.error.code = MLQ_EUNAVAIL;
        m.u.error.msg = "the worker did not answer the log request in time";
        mlq_outbox_reply(c->out, &req.client, &m, NULL);
    }
}

int mlq_client_on_manifest(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                           struct mlq_err *err)
{
    char id[MLQ_ID_LEN + 1];
    int rc = resolve_job(c, msg->u.manifest.job, id, err);
    if (rc == 0)
        rc = mlq_client_check_owner(c, id, false, err);
    if (rc < 0)
        return rc;
    struct mlq_msg m = {.type = MLQ_MSG_MANIFEST_DATA, .rid = msg->rid};
    memcpy(m.u.manifest_data.job_id, id, sizeof m.u.manifest_data.job_id);
    rc = mlq_store_manifest_get(c->store, id, msg->u.manifest.attempt, m.u.manifest_data.attempt_id,
                                &m.u.manifest_data.attempt, &m.u.manifest_data.json, err);
    if (rc == 0)
        rc = mlq_outbox_reply(c->out, peer, &m, err);
    free(m.u.manifest_data.json);
    return rc;
}

/* The why answer and the start estimate into a why_reply (pointing into
 * why and e). */
static void put_why(struct mlq_msg *m, const struct mlq_why *why, const struct mlq_estimate *e)
{
    m->u.why_reply.blocker = (char *)why->blocker;
    m->u.why_reply.text = (char *)why->text;
    m->u.why_reply.closest_worker = why->closest[0] ? (char *)why->closest : NULL;
    m->u.why_reply.lacks = why->lacks[0] ? (char *)why->lacks : NULL;
    m->u.why_reply.ahead = (uint32_t)why->ahead;
    m->u.why_reply.fits_ever = e->fits_ever;
    m->u.why_reply.start_worker = e->worker[0] ? (char *)e->worker : NULL;
    m->u.why_reply.start_gpus = e->gpus[0] ? (char *)e->gpus : NULL;
    m->u.why_reply.est_kind = (char *)e->kind;
    m->u.why_reply.est_at_ms = e->at_ms;
    m->u.why_reply.est_why = e->kind ? (char *)e->why : NULL;
}

/* The quota a pending job counts against, where one applies (pointing
 * into job and text). */
static void put_quota(struct mlq_ctx *c, struct mlq_msg *m, const struct mlq_job *job, char *text,
                      size_t len)
{
    struct mlq_qverdict v;
    if (!job || job->row.state != MLQ_JOB_PENDING || !mlq_quota_explain(c, job, &v, text, len))
        return;
    const char *pool = job->row.spec.pool;
    m->u.why_reply.quota_team = job->row.spec.team ? job->row.spec.team : (char *)"";
    m->u.why_reply.quota_pool = (char *)(pool && pool[0] ? pool : "default");
    m->u.why_reply.quota_text = text;
    m->u.why_reply.quota_borrows = v.kind == MLQ_QV_BORROW;
    m->u.why_reply.quota_admits = mlq_qbook_admits(&v);
}

int mlq_client_on_why(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                      struct mlq_err *err)
{
    char id[MLQ_ID_LEN + 1];
    int rc = resolve_job(c, msg->u.why.job, id, err);
    if (rc < 0)
        return rc;
    struct mlq_msg m = {.type = MLQ_MSG_WHY_REPLY, .rid = msg->rid};
    memcpy(m.u.why_reply.job_id, id, sizeof m.u.why_reply.job_id);
    struct mlq_why why;
    struct mlq_estimate est = {0};
    const struct mlq_job *job = mlq_jobtab_get(c->jobs, id);
    if (job) {
        mlq_why_explain(c, job, true, &why);
        mlq_estimate_job(c, job, &why, &est);
        m.u.why_reply.state = job->row.state;
    } else { /* not in memory: terminal */
        struct mlq_store_job row;
        if ((rc = mlq_store_job_get(c->store, id, &row, err)) < 0)
            return rc;
        m.u.why_reply.state = row.state;
        memset(&why, 0, sizeof why);
        why.blocker = "none";
        if (row.reason && row.reason[0]) /* how it ended: "could not start: ..." */
            snprintf(why.text, sizeof why.text, "%s (%s), not pending",
                     mlq_job_state_name(row.state), row.reason);
        else
            snprintf(why.text, sizeof why.text, "%s, not pending", mlq_job_state_name(row.state));
        mlq_store_job_free(&row);
    }
    put_why(&m, &why, &est);
    char qtext[MLQ_MAX_STR + 1];
    put_quota(c, &m, job, qtext, sizeof qtext);
    return mlq_outbox_reply(c->out, peer, &m, err);
}

/* A dry run's spec gets every check a submit makes, short of storing. */
static int check_dry_run(struct mlq_ctx *c, struct mlq_jobspec *spec, struct mlq_err *err)
{
    int rc = mlq_client_set_owner(c, spec, err);
    if (rc == 0)
        rc = mlq_proto_jobspec_check(spec, err);
    if (rc == 0)
        rc = mlq_preempt_spec_check(c, spec, err);
    if (rc == 0 && spec->array) {
        uint32_t *idx = NULL, n = 0;
        rc = mlq_arrayspec_parse(spec->array, &idx, &n, err);
        free(idx);
    }
    if (rc == 0)
        rc = mlq_client_resolve_deps(c, spec, err);
    if (rc == 0) /* the team its quota is counted against */
        rc = mlq_teams_set_job_team(c, spec, err);
    return rc;
}

int mlq_client_on_estimate(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                           struct mlq_err *err)
{
    struct mlq_jobspec *spec = &msg->u.submit.spec;
    int rc = check_dry_run(c, spec, err);
    if (rc < 0)
        return rc;
    /* The job as a submit would make it (an array's tasks are alike: its
     * first), queued nowhere, after every job of its key (seq). */
    struct mlq_job job = {.row = {.spec = *spec, .state = MLQ_JOB_PENDING}};
    job.row.submit_ms = c->now_wall;
    job.row.seq = INT64_MAX;
    job.qkey = c->now_wall - (int64_t)spec->priority * c->age_step_ms;
    struct mlq_why why;
    struct mlq_estimate est;
    mlq_why_explain(c, &job, true, &why);
    job.held = spec->ndeps > 0;
    mlq_estimate_job(c, &job, &why, &est);
    struct mlq_msg m = {.type = MLQ_MSG_WHY_REPLY, .rid = msg->rid};
    memset(m.u.why_reply.job_id, '0', MLQ_ID_LEN); /* no job: the nil id */
    m.u.why_reply.job_id[8] = m.u.why_reply.job_id[13] = m.u.why_reply.job_id[18] =
        m.u.why_reply.job_id[23] = '-';
    m.u.why_reply.state = MLQ_JOB_PENDING;
    put_why(&m, &why, &est);
    char qtext[MLQ_MAX_STR + 1];
    put_quota(c, &m, &job, qtext, sizeof qtext);
    return mlq_outbox_reply(c->out, peer, &m, err);
}

struct usage_acc {
    struct mlq_usageinfo *v;
    uint32_t n, cap;
};

static int usage_one(const char *owner, double core_s, double penalty, void *ctx)
{
    struct usage_acc *a = ctx;
    if (a->n >= a->cap)
        return 1; /* more users than one reply holds: the first ones */
    struct mlq_usageinfo *u = &a->v[a->n++];
    snprintf(u->user, sizeof u->user, "%s", owner);
    u->core_s = core_s > 0 ? (int64_t)(core_s + 0.5) : 0;
    u->penalty_milli = penalty > 0 ? (int64_t)(penalty * 1000 + 0.5) : 0;
    return 0;
}

int mlq_client_on_usage(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                        struct mlq_err *err)
{
    struct usage_acc a = {calloc(USAGE_MAX_USERS, sizeof *a.v), 0, USAGE_MAX_USERS};
    if (!a.v)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    mlq_fairshare_each(c->fs, c->now_wall, usage_one, &a);
    struct mlq_msg m = {.type = MLQ_MSG_USAGE_LIST, .rid = msg->rid};
    m.u.usage_list.users = a.v;
    m.u.usage_list.nusers = a.n;
    int rc = mlq_outbox_reply(c->out, peer, &m, err);
    free(a.v);
    return rc;
}
