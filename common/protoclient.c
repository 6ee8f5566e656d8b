/* protoclient: see protoclient.h and docs/protocol.md (normative). */
#include "protoclient.h"

#include <stdlib.h>
#include <string.h>

#include "protofield.h"
#include "protogang.h"
#include "protojobinfo.h"
#include "protopipe.h"
#include "protospec.h"
#include "protoworkerinfo.h"

void mlq_protoclient_enc_submit(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_put_str(pk, "spec");
    mlq_protospec_put(pk, &m->u.submit.spec);
}

int mlq_protoclient_dec_submit(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    return mlq_protospec_read_at(mp, "spec", &m->u.submit.spec);
}

void mlq_protoclient_free_submit(struct mlq_msg *m)
{
    mlq_proto_jobspec_free(&m->u.submit.spec);
}

void mlq_protoclient_enc_submitted(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "id", m->u.submitted.id);
}

int mlq_protoclient_dec_submitted(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    return mlq_mpk_read_id(mp, "id", m->u.submitted.id);
}

void mlq_protoclient_enc_jobs(msgpack_packer *pk, const struct mlq_msg *m)
{
    int st = m->u.jobs.state;
    mlq_mpk_kv_strv(pk, "ids", m->u.jobs.ids, m->u.jobs.nids);
    mlq_mpk_kv_str(
        pk, "state",
        st < 0 ? NULL : mlq_protofield_name(mlq_protofield_job_states, MLQ_JOB_STATE_COUNT, st));
    mlq_mpk_kv_uint(pk, "limit", m->u.jobs.limit);
    mlq_mpk_kv_str(pk, "cursor", m->u.jobs.cursor);
    mlq_mpk_kv_str(pk, "name", m->u.jobs.name);
    mlq_mpk_kv_str(pk, "owner", m->u.jobs.owner);
    mlq_mpk_kv_str(pk, "array", m->u.jobs.array);
    uint32_t n = 0;
    for (int i = 0; i < MLQ_JOB_STATE_COUNT; i++)
        n += (m->u.jobs.states >> i) & 1u;
    mlq_mpk_kv_array(pk, "states", n);
    for (int i = 0; i < MLQ_JOB_STATE_COUNT; i++)
        if ((m->u.jobs.states >> i) & 1u)
            mlq_mpk_put_str(pk, mlq_protofield_job_states[i]);
    mlq_mpk_kv_int(pk, "since_ms", m->u.jobs.since_ms);
    mlq_mpk_kv_bool(pk, "mine", m->u.jobs.mine);
}

/* `states`: names of job states, as a bit set. */
static int dec_states(const struct mlq_mpk_map *mp, uint32_t *out)
{
    *out = 0;
    if (mlq_mpk_absent(mp, "states"))
        return 0;
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_array(mp, "states", 0, MLQ_JOB_STATE_COUNT, &a);
    for (uint32_t i = 0; rc == 0 && i < a->size; i++) {
        const msgpack_object *o = &a->ptr[i];
        int st = -1;
        for (int k = 0; o->type == MSGPACK_OBJECT_STR && k < MLQ_JOB_STATE_COUNT; k++)
            if (o->via.str.size == strlen(mlq_protofield_job_states[k]) &&
                memcmp(o->via.str.ptr, mlq_protofield_job_states[k], o->via.str.size) == 0)
                st = k;
        if (st < 0)
            return mlq_err_set(mp->err, MLQ_EPROTO, "%s: key 'states' holds an unknown state",
                               mp->where);
        *out |= 1u << st;
    }
    return rc;
}

/* The listing filters (optional keys). */
static int dec_jobs_filters(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_str(mp, "name", MLQ_MAX_NAME, true, &m->u.jobs.name);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "owner", MLQ_MAX_NAME, true, &m->u.jobs.owner);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "array", MLQ_ID_LEN, true, &m->u.jobs.array);
    if (rc == 0)
        rc = dec_states(mp, &m->u.jobs.states);
    if (rc == 0)
        rc = mlq_mpk_opt_int(mp, "since_ms", 0, INT64_MAX, &m->u.jobs.since_ms);
    if (rc == 0)
        rc = mlq_mpk_opt_bool(mp, "mine", &m->u.jobs.mine);
    return rc;
}

int mlq_protoclient_dec_jobs(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int st = -1;
    uint64_t limit = 0;
    int rc = mlq_mpk_read_strv(mp, "ids", 0, MLQ_MAX_IDS, MLQ_MAX_JOBREF, (size_t)MLQ_MAX_IDS * 64,
                               &m->u.jobs.ids, &m->u.jobs.nids);
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "state", mlq_protofield_job_states, MLQ_JOB_STATE_COUNT, true,
                               &st);
    if (rc == 0)
        rc = mlq_mpk_read_uint(mp, "limit", MLQ_MAX_LIST, &limit);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "cursor", MLQ_MAX_CURSOR, true, &m->u.jobs.cursor);
    if (rc == 0)
        rc = dec_jobs_filters(mp, m);
    m->u.jobs.state = st;
    m->u.jobs.limit = (uint32_t)limit;
    return rc;
}

void mlq_protoclient_free_jobs(struct mlq_msg *m)
{
    mlq_mpk_strv_free(m->u.jobs.ids, m->u.jobs.nids);
    free(m->u.jobs.cursor);
    free(m->u.jobs.name);
    free(m->u.jobs.owner);
    free(m->u.jobs.array);
}

static int dec_jobinfos(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_array(mp, "jobs", 0, MLQ_MAX_LIST, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    m->u.job_list.jobs = calloc(a->size, sizeof *m->u.job_list.jobs);
    if (!m->u.job_list.jobs)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "job_list: out of memory");
    m->u.job_list.njobs = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map jm;
        rc = mlq_mpk_map_init(&jm, &a->ptr[i], "jobinfo", mp->err);
        if (rc == 0)
            rc = mlq_protojobinfo_read(&jm, &m->u.job_list.jobs[i]);
    }
    return rc;
}

void mlq_protoclient_enc_job_list(msgpack_packer *pk, const struct mlq_msg *m)
{
    uint32_t n = m->u.job_list.jobs ? m->u.job_list.njobs : 0;
    mlq_mpk_kv_array(pk, "jobs", n);
    for (uint32_t i = 0; i < n; i++)
        mlq_protojobinfo_put(pk, &m->u.job_list.jobs[i]);
    mlq_protopipe_put_arrays(pk, m->u.job_list.arrays, m->u.job_list.narrays);
    mlq_mpk_kv_str(pk, "next", m->u.job_list.next);
}

int mlq_protoclient_dec_job_list(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = dec_jobinfos(mp, m);
    if (rc == 0)
        rc = mlq_protopipe_read_arrays(mp, &m->u.job_list.arrays, &m->u.job_list.narrays);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "next", MLQ_MAX_CURSOR, true, &m->u.job_list.next);
    return rc;
}

void mlq_protoclient_free_job_list(struct mlq_msg *m)
{
    for (uint32_t i = 0; m->u.job_list.jobs && i < m->u.job_list.njobs; i++)
        mlq_proto_jobinfo_free(&m->u.job_list.jobs[i]);
    free(m->u.job_list.jobs);
    for (uint32_t i = 0; m->u.job_list.arrays && i < m->u.job_list.narrays; i++)
        mlq_proto_arrayinfo_free(&m->u.job_list.arrays[i]);
    free(m->u.job_list.arrays);
    free(m->u.job_list.next);
}

void mlq_protoclient_enc_cancel(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_strv(pk, "ids", m->u.cancel.ids, m->u.cancel.nids);
}

int mlq_protoclient_dec_cancel(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    return mlq_mpk_read_strv(mp, "ids", 1, MLQ_MAX_IDS, MLQ_MAX_JOBREF, (size_t)MLQ_MAX_IDS * 64,
                             &m->u.cancel.ids, &m->u.cancel.nids);
}

void mlq_protoclient_free_cancel(struct mlq_msg *m)
{
    mlq_mpk_strv_free(m->u.cancel.ids, m->u.cancel.nids);
}

void mlq_protoclient_enc_worker_list(msgpack_packer *pk, const struct mlq_msg *m)
{
    uint32_t n = m->u.worker_list.workers ? m->u.worker_list.nworkers : 0;
    mlq_mpk_kv_array(pk, "workers", n);
    for (uint32_t i = 0; i < n; i++)
        mlq_protoworkerinfo_put(pk, &m->u.worker_list.workers[i]);
    mlq_mpk_kv_str(pk, "next", m->u.worker_list.next);
}

void mlq_protoclient_enc_workers(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "cursor", m->u.workers.cursor);
}

int mlq_protoclient_dec_workers(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    return mlq_mpk_read_str(mp, "cursor", MLQ_MAX_CURSOR, true, &m->u.workers.cursor);
}

void mlq_protoclient_free_workers(struct mlq_msg *m)
{
    free(m->u.workers.cursor);
}

int mlq_protoclient_dec_worker_list(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_str(mp, "next", MLQ_MAX_CURSOR, true, &m->u.worker_list.next);
    if (rc == 0)
        rc = mlq_mpk_read_array(mp, "workers", 0, MLQ_MAX_WORKERS, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    m->u.worker_list.workers = calloc(a->size, sizeof *m->u.worker_list.workers);
    if (!m->u.worker_list.workers)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "worker_list: out of memory");
    m->u.worker_list.nworkers = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map wm;
        rc = mlq_mpk_map_init(&wm, &a->ptr[i], "workerinfo", mp->err);
        if (rc == 0)
            rc = mlq_protoworkerinfo_read(&wm, &m->u.worker_list.workers[i]);
    }
    return rc;
}

void mlq_protoclient_free_worker_list(struct mlq_msg *m)
{
    for (uint32_t i = 0; m->u.worker_list.workers && i < m->u.worker_list.nworkers; i++)
        mlq_proto_workerinfo_free(&m->u.worker_list.workers[i]);
    free(m->u.worker_list.workers);
    free(m->u.worker_list.next);
}

void mlq_protoclient_enc_logs(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "job", m->u.logs.job);
    mlq_mpk_kv_str(
        pk, "stream",
        mlq_protofield_name(mlq_protofield_streams, MLQ_PROTOFIELD_STREAMS, m->u.logs.stream));
    mlq_mpk_kv_int(pk, "offset", m->u.logs.offset);
    mlq_mpk_kv_uint(pk, "max", m->u.logs.max);
    mlq_mpk_kv_int(pk, "attempt", m->u.logs.attempt);
    mlq_protogang_put_logs(pk, m);
}

int mlq_protoclient_dec_logs(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int stream = 0;
    uint64_t max = 0;
    int rc = mlq_mpk_read_str(mp, "job", MLQ_MAX_JOBREF, false, &m->u.logs.job);
    if (rc == 0 && m->u.logs.job[0] == '\0')
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "logs: key 'job' must not be empty");
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "stream", mlq_protofield_streams, MLQ_PROTOFIELD_STREAMS, false,
                               &stream);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "offset", 0, INT64_MAX, &m->u.logs.offset);
    if (rc == 0)
        rc = mlq_mpk_read_uint(mp, "max", MLQ_MAX_LOG_CHUNK, &max);
    m->u.logs.stream = stream == 1 ? MLQ_STREAM_STDERR : MLQ_STREAM_STDOUT;
    m->u.logs.max = (uint32_t)max;
    if (rc == 0)
        rc = mlq_mpk_opt_i32(mp, "attempt", 0, INT32_MAX, &m->u.logs.attempt);
    if (rc == 0)
        rc = mlq_protogang_read_logs(mp, m);
    return rc;
}

void mlq_protoclient_free_logs(struct mlq_msg *m)
{
    free(m->u.logs.job);
}

void mlq_protoclient_enc_log_data(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_bin(pk, "data", m->u.log_data.data, m->u.log_data.len);
    mlq_mpk_kv_int(pk, "offset", m->u.log_data.offset);
    mlq_mpk_kv_int(pk, "size", m->u.log_data.size);
    mlq_mpk_kv_str(pk, "state", mlq_job_state_name(m->u.log_data.state));
    mlq_mpk_kv_bool(pk, "done", m->u.log_data.done);
}

int mlq_protoclient_dec_log_data(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int st = 0;
    int rc =
        mlq_mpk_read_bin(mp, "data", MLQ_MAX_LOG_CHUNK, &m->u.log_data.data, &m->u.log_data.len);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "offset", 0, INT64_MAX, &m->u.log_data.offset);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "size", 0, INT64_MAX, &m->u.log_data.size);
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "state", mlq_protofield_job_states, MLQ_JOB_STATE_COUNT, false,
                               &st);
    if (rc == 0)
        rc = mlq_mpk_read_bool(mp, "done", &m->u.log_data.done);
    m->u.log_data.state = st < 0 ? MLQ_JOB_PENDING : (enum mlq_job_state)st;
    return rc;
}

void mlq_protoclient_free_log_data(struct mlq_msg *m)
{
    free(m->u.log_data.data);
}

void mlq_protoclient_enc_drain(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "worker", m->u.drain.worker);
    mlq_mpk_kv_str(pk, "reason", m->u.drain.reason);
}

void mlq_protoclient_enc_resume(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "worker", m->u.drain.worker);
}

static int read_worker_name(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_str(mp, "worker", MLQ_MAX_NAME, false, &m->u.drain.worker);
    if (rc == 0 && m->u.drain.worker[0] == '\0')
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "%s: key 'worker' must not be empty", mp->where);
    return rc;
}

/* The reason is shown to admins in `mlq workers`: no control characters
 * that could rewrite their terminal. */
int mlq_protoclient_dec_drain(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = read_worker_name(mp, m);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "reason", MLQ_MAX_REASON, true, &m->u.drain.reason);
    for (const char *p = m->u.drain.reason; rc == 0 && p && *p; p++)
        if ((unsigned char)*p < ' ' || *p == 0x7f)
            rc = mlq_err_set(mp->err, MLQ_EPROTO, "drain: key 'reason' holds control characters");
    return rc;
}

int mlq_protoclient_dec_resume(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    return read_worker_name(mp, m);
}

void mlq_protoclient_free_drain(struct mlq_msg *m)
{
    free(m->u.drain.worker);
    free(m->u.drain.reason);
}

void mlq_protoclient_enc_why(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "job", m->u.why.job);
}

int mlq_protoclient_dec_why(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_str(mp, "job", MLQ_MAX_JOBREF, false, &m->u.why.job);
    if (rc == 0 && m->u.why.job[0] == '\0')
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "%s: key 'job' must not be empty", mp->where);
    return rc;
}

void mlq_protoclient_free_why(struct mlq_msg *m)
{
    free(m->u.why.job);
}

void mlq_protoclient_enc_why_reply(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "job_id", m->u.why_reply.job_id);
    mlq_mpk_kv_str(pk, "state", mlq_job_state_name(m->u.why_reply.state));
    mlq_mpk_kv_str(pk, "blocker", m->u.why_reply.blocker);
    mlq_mpk_kv_str(pk, "text", m->u.why_reply.text);
    mlq_mpk_kv_str(pk, "closest_worker", m->u.why_reply.closest_worker);
    mlq_mpk_kv_str(pk, "lacks", m->u.why_reply.lacks);
    mlq_mpk_kv_uint(pk, "ahead", m->u.why_reply.ahead);
    mlq_mpk_kv_bool(pk, "fits_ever", m->u.why_reply.fits_ever);
    mlq_mpk_kv_str(pk, "start_worker", m->u.why_reply.start_worker);
    mlq_mpk_kv_str(pk, "start_gpus", m->u.why_reply.start_gpus);
    mlq_mpk_kv_str(pk, "est_kind", m->u.why_reply.est_kind);
    mlq_mpk_kv_int(pk, "est_at_ms", m->u.why_reply.est_at_ms);
    mlq_mpk_kv_str(pk, "est_why", m->u.why_reply.est_why);
    mlq_mpk_kv_str(pk, "quota_team", m->u.why_reply.quota_team);
    mlq_mpk_kv_str(pk, "quota_pool", m->u.why_reply.quota_pool);
    mlq_mpk_kv_str(pk, "quota_text", m->u.why_reply.quota_text);
    mlq_mpk_kv_bool(pk, "quota_borrows", m->u.why_reply.quota_borrows);
    mlq_mpk_kv_bool(pk, "quota_admits", m->u.why_reply.quota_admits);
}

/* The start estimate: optional keys, absent from older schedulers. */
static int dec_why_estimate(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_opt_bool(mp, "fits_ever", &m->u.why_reply.fits_ever);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "start_worker", MLQ_MAX_NAME, true, &m->u.why_reply.start_worker);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "start_gpus", MLQ_MAX_STR, true, &m->u.why_reply.start_gpus);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "est_kind", MLQ_MAX_NAME, true, &m->u.why_reply.est_kind);
    if (rc == 0)
        rc = mlq_mpk_opt_int(mp, "est_at_ms", 0, INT64_MAX, &m->u.why_reply.est_at_ms);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "est_why", MLQ_MAX_STR, true, &m->u.why_reply.est_why);
    return rc;
}

/* The quota the job counts against: optional keys, absent from older
 * schedulers and nil where no quota applies. */
static int dec_why_quota(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_str(mp, "quota_team", MLQ_MAX_NAME, true, &m->u.why_reply.quota_team);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "quota_pool", MLQ_MAX_NAME, true, &m->u.why_reply.quota_pool);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "quota_text", MLQ_MAX_STR, true, &m->u.why_reply.quota_text);
    if (rc == 0)
        rc = mlq_mpk_opt_bool(mp, "quota_borrows", &m->u.why_reply.quota_borrows);
    if (rc == 0)
        rc = mlq_mpk_opt_bool(mp, "quota_admits", &m->u.why_reply.quota_admits);
    return rc;
}

/* blocker is a string, not an enum, so that a newer scheduler may name a
 * reason this client does not know yet. */
int mlq_protoclient_dec_why_reply(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int st = 0;
    uint64_t ahead = 0;
    int rc = mlq_mpk_read_id(mp, "job_id", m->u.why_reply.job_id);
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "state", mlq_protofield_job_states, MLQ_JOB_STATE_COUNT, false,
                               &st);
    m->u.why_reply.state = st < 0 ? MLQ_JOB_PENDING : (enum mlq_job_state)st;
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "blocker", MLQ_MAX_NAME, false, &m->u.why_reply.blocker);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "text", MLQ_MAX_STR, false, &m->u.why_reply.text);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "closest_worker", MLQ_MAX_NAME, true,
                              &m->u.why_reply.closest_worker);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "lacks", MLQ_MAX_STR, true, &m->u.why_reply.lacks);
    if (rc == 0)
        rc = mlq_mpk_read_uint(mp, "ahead", UINT32_MAX, &ahead);
    m->u.why_reply.ahead = (uint32_t)ahead;
    if (rc == 0)
        rc = dec_why_estimate(mp, m);
    if (rc == 0)
        rc = dec_why_quota(mp, m);
    return rc;
}

void mlq_protoclient_free_why_reply(struct mlq_msg *m)
{
    free(m->u.why_reply.blocker);
    free(m->u.why_reply.text);
    free(m->u.why_reply.closest_worker);
    free(m->u.why_reply.lacks);
    free(m->u.why_reply.start_worker);
    free(m->u.why_reply.start_gpus);
    free(m->u.why_reply.est_kind);
    free(m->u.why_reply.est_why);
    free(m->u.why_reply.quota_team);
    free(m->u.why_reply.quota_pool);
    free(m->u.why_reply.quota_text);
}

void mlq_protoclient_enc_job_spec_reply(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "id", m->u.job_spec_reply.id);
    mlq_mpk_kv_bool(pk, "is_array", m->u.job_spec_reply.is_array);
    mlq_mpk_put_str(pk, "spec");
    mlq_protospec_put(pk, &m->u.job_spec_reply.spec);
}

int mlq_protoclient_dec_job_spec_reply(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_id(mp, "id", m->u.job_spec_reply.id);
    if (rc == 0)
        rc = mlq_mpk_read_bool(mp, "is_array", &m->u.job_spec_reply.is_array);
    if (rc == 0)
        rc = mlq_protospec_read_at(mp, "spec", &m->u.job_spec_reply.spec);
    if (rc == 0 && m->u.job_spec_reply.is_array && !m->u.job_spec_reply.spec.array)
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "%s: an array's spec without 'array'", mp->where);
    return rc;
}

void mlq_protoclient_free_job_spec_reply(struct mlq_msg *m)
{
    mlq_proto_jobspec_free(&m->u.job_spec_reply.spec);
}
