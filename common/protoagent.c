/* protoagent: see protoagent.h and docs/protocol.md (normative). */
#include "protoagent.h"

#include <stdlib.h>
#include <string.h>

#include "hostaddr.h"
#include "protoauth.h"
#include "protofield.h"
#include "protogang.h"
#include "protometrics.h"
#include "protopipe.h"
#include "protospec.h"
#include "protousage.h"
#include "protoworkerinfo.h"

#define NELEM(a) MLQ_PROTOFIELD_NELEM(a)

static const char *const phase_names[] = {"started", "finished"};
static const char *const outcome_names[] = {"none", "exited",    "signaled", "start_failed",
                                            "lost", "timed_out", "refused"};

void mlq_protoagent_enc_register(msgpack_packer *pk, const struct mlq_msg *m)
{
    uint32_t n = m->u.reg.attempts ? m->u.reg.nattempts : 0;
    mlq_mpk_kv_str(pk, "name", m->u.reg.name);
    mlq_mpk_kv_int(pk, "cpus_m", m->u.reg.cpus_m);
    mlq_mpk_kv_int(pk, "mem", m->u.reg.mem);
    mlq_mpk_kv_int(pk, "gpus", m->u.reg.gpus);
    mlq_mpk_kv_array(pk, "attempts", n);
    for (uint32_t i = 0; i < n; i++) {
        msgpack_pack_map(pk, 2);
        mlq_mpk_kv_str(pk, "attempt_id", m->u.reg.attempts[i].attempt_id);
        mlq_mpk_kv_bool(pk, "finished", m->u.reg.attempts[i].finished);
    }
    mlq_mpk_kv_bool(pk, "draining", m->u.reg.draining);
    mlq_mpk_kv_str(pk, "pool", m->u.reg.pool);
    mlq_mpk_kv_strv(pk, "labels", m->u.reg.labels, m->u.reg.labels ? m->u.reg.nlabels : 0);
    mlq_protoworkerinfo_put_gpu_list(pk, m->u.reg.gpu_list, m->u.reg.ngpu_list);
    mlq_mpk_kv_str(pk, "addr", m->u.reg.addr);
    mlq_mpk_kv_str(pk, "limits", m->u.reg.limits);
    mlq_mpk_kv_str(pk, "version", m->u.reg.version);
    mlq_mpk_kv_str(pk, "git", m->u.reg.git);
    mlq_mpk_kv_bool(pk, "batch", m->u.reg.batch);
    mlq_protogang_put_register(pk, m);
}

static int dec_held_attempts(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_array(mp, "attempts", 0, MLQ_MAX_ATTEMPTS_LIST, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    m->u.reg.attempts = calloc(a->size, sizeof *m->u.reg.attempts);
    if (!m->u.reg.attempts)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "register: out of memory");
    m->u.reg.nattempts = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map am;
        rc = mlq_mpk_map_init(&am, &a->ptr[i], "attempts", mp->err);
        if (rc == 0)
            rc = mlq_mpk_read_id(&am, "attempt_id", m->u.reg.attempts[i].attempt_id);
        if (rc == 0)
            rc = mlq_mpk_read_bool(&am, "finished", &m->u.reg.attempts[i].finished);
    }
    return rc;
}

/* The optional address a worker advertises: a checked IP or host name. */
static int read_addr(const struct mlq_mpk_map *mp, char **addr)
{
    struct mlq_err e = {0};
    int rc = mlq_mpk_read_str(mp, "addr", MLQ_MAX_HOST, true, addr);
    if (rc == 0 && *addr && mlq_hostaddr_check(*addr, &e) < 0)
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "register: key 'addr': %s", e.msg);
    return rc;
}

int mlq_protoagent_dec_register(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_str(mp, "name", MLQ_MAX_NAME, false, &m->u.reg.name);
    if (rc == 0 && m->u.reg.name[0] == '\0')
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "register: key 'name' must not be empty");
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "cpus_m", 0, MLQ_MAX_CPUS_M, &m->u.reg.cpus_m);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "mem", 0, MLQ_MAX_MEM, &m->u.reg.mem);
    if (rc == 0)
        rc = mlq_mpk_read_i32(mp, "gpus", 0, MLQ_MAX_GPUS, &m->u.reg.gpus);
    if (rc == 0)
        rc = dec_held_attempts(mp, m);
    if (rc == 0)
        rc = mlq_mpk_opt_bool(mp, "draining", &m->u.reg.draining);
    if (rc == 0)
        rc = mlq_protofield_read_pool(mp, &m->u.reg.pool);
    if (rc == 0)
        rc = mlq_protospec_read_labels(mp, "labels", &m->u.reg.labels, &m->u.reg.nlabels);
    if (rc == 0)
        rc = mlq_protoworkerinfo_read_gpu_list(mp, &m->u.reg.gpu_list, &m->u.reg.ngpu_list);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "version", MLQ_MAX_VERSION, true, &m->u.reg.version);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "git", MLQ_MAX_VERSION, true, &m->u.reg.git);
    /* a list describes every GPU the worker offers, or none of them */
    if (rc == 0 && m->u.reg.ngpu_list > 0 && m->u.reg.ngpu_list != (uint32_t)m->u.reg.gpus)
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "register: key 'gpu_list' has %u entries for %d GPUs",
                         m->u.reg.ngpu_list, (int)m->u.reg.gpus);
    if (rc == 0)
        rc = read_addr(mp, &m->u.reg.addr);
    if (rc == 0)
        rc = mlq_protogang_read_register(mp, m);
    if (rc == 0)
        rc = mlq_protoworkerinfo_read_limits(mp, &m->u.reg.limits);
    if (rc == 0) /* an older worker sends none: it reads one message at a time */
        rc = mlq_mpk_opt_bool(mp, "batch", &m->u.reg.batch);
    return rc;
}

void mlq_protoagent_free_register(struct mlq_msg *m)
{
    free(m->u.reg.name);
    free(m->u.reg.attempts);
    free(m->u.reg.pool);
    mlq_mpk_strv_free(m->u.reg.labels, m->u.reg.nlabels);
    mlq_protoworkerinfo_free_gpu_list(m->u.reg.gpu_list, m->u.reg.ngpu_list);
    free(m->u.reg.addr);
    free(m->u.reg.version);
    free(m->u.reg.git);
    free(m->u.reg.limits);
}

void mlq_protoagent_enc_heartbeat(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "name", m->u.heartbeat.name);
    mlq_mpk_kv_bool(pk, "draining", m->u.heartbeat.draining);
    mlq_protometrics_put_gpu_load(pk, m);
}

int mlq_protoagent_dec_heartbeat(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_str(mp, "name", MLQ_MAX_NAME, false, &m->u.heartbeat.name);
    if (rc == 0)
        rc = mlq_mpk_opt_bool(mp, "draining", &m->u.heartbeat.draining);
    return rc < 0 ? rc : mlq_protometrics_read_gpu_load(mp, m);
}

void mlq_protoagent_free_heartbeat(struct mlq_msg *m)
{
    free(m->u.heartbeat.name);
    free(m->u.heartbeat.gpu_load);
}

void mlq_protoagent_enc_goodbye(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "name", m->u.goodbye.name);
    mlq_mpk_kv_bool(pk, "drained", m->u.goodbye.drained);
}

int mlq_protoagent_dec_goodbye(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_str(mp, "name", MLQ_MAX_NAME, false, &m->u.goodbye.name);
    if (rc == 0 && m->u.goodbye.name[0] == '\0')
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "goodbye: key 'name' must not be empty");
    return rc < 0 ? rc : mlq_mpk_read_bool(mp, "drained", &m->u.goodbye.drained);
}

void mlq_protoagent_free_goodbye(struct mlq_msg *m)
{
    free(m->u.goodbye.name);
}

void mlq_protoagent_enc_report(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "attempt_id", m->u.report.attempt_id);
    mlq_mpk_kv_str(pk, "phase",
                   mlq_protofield_name(phase_names, NELEM(phase_names), m->u.report.phase));
    mlq_mpk_kv_str(pk, "outcome",
                   mlq_protofield_name(outcome_names, NELEM(outcome_names), m->u.report.outcome));
    mlq_mpk_kv_int(pk, "exit_code", m->u.report.exit_code);
    mlq_mpk_kv_int(pk, "signal", m->u.report.signal);
    mlq_mpk_kv_int(pk, "pid", m->u.report.pid);
    mlq_mpk_kv_int(pk, "start_ms", m->u.report.start_ms);
    mlq_mpk_kv_int(pk, "end_ms", m->u.report.end_ms);
    mlq_mpk_kv_str(pk, "detail", m->u.report.detail);
    mlq_protousage_put(pk, &m->u.report.usage);
    mlq_mpk_kv_str(pk, "manifest", m->u.report.manifest);
    mlq_mpk_kv_bool(pk, "no_retry", m->u.report.no_retry);
}

int mlq_protoagent_dec_report(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int phase = 0, outcome = 0;
    int rc = mlq_mpk_read_id(mp, "attempt_id", m->u.report.attempt_id);
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "phase", phase_names, NELEM(phase_names), false, &phase);
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "outcome", outcome_names, NELEM(outcome_names), false, &outcome);
    if (rc == 0)
        rc = mlq_mpk_read_i32(mp, "exit_code", INT32_MIN, INT32_MAX, &m->u.report.exit_code);
    if (rc == 0)
        rc = mlq_mpk_read_i32(mp, "signal", 0, INT32_MAX, &m->u.report.signal);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "pid", INT64_MIN, INT64_MAX, &m->u.report.pid);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "start_ms", 0, INT64_MAX, &m->u.report.start_ms);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "end_ms", 0, INT64_MAX, &m->u.report.end_ms);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "detail", MLQ_MAX_STR, true, &m->u.report.detail);
    if (rc == 0)
        rc = mlq_protousage_read(mp, &m->u.report.usage);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "manifest", MLQ_MAX_MANIFEST, true, &m->u.report.manifest);
    if (rc == 0)
        rc = mlq_mpk_opt_bool(mp, "no_retry", &m->u.report.no_retry);
    m->u.report.phase = phase == 1 ? MLQ_PHASE_FINISHED : MLQ_PHASE_STARTED;
    m->u.report.outcome = outcome < 0 ? MLQ_OUT_NONE : (enum mlq_outcome)outcome;
    return rc;
}

void mlq_protoagent_free_report(struct mlq_msg *m)
{
    free(m->u.report.detail);
    free(m->u.report.manifest);
}

void mlq_protoagent_enc_log_chunk(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_uint(pk, "token", m->u.log_chunk.token);
    mlq_mpk_kv_bin(pk, "data", m->u.log_chunk.data, m->u.log_chunk.len);
    mlq_mpk_kv_int(pk, "size", m->u.log_chunk.size);
    mlq_mpk_kv_int(pk, "err", m->u.log_chunk.err);
}

int mlq_protoagent_dec_log_chunk(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_uint(mp, "token", UINT64_MAX, &m->u.log_chunk.token);
    if (rc == 0)
        rc = mlq_mpk_read_bin(mp, "data", MLQ_MAX_LOG_CHUNK, &m->u.log_chunk.data,
                              &m->u.log_chunk.len);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "size", 0, INT64_MAX, &m->u.log_chunk.size);
    if (rc == 0)
        rc = mlq_mpk_read_i32(mp, "err", INT32_MIN, 0, &m->u.log_chunk.err);
    return rc;
}

void mlq_protoagent_free_log_chunk(struct mlq_msg *m)
{
    free(m->u.log_chunk.data);
}

void mlq_protoagent_enc_registered(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_int(pk, "heartbeat_ms", m->u.registered.heartbeat_ms);
    mlq_mpk_kv_int(pk, "lease_ms", m->u.registered.lease_ms);
    mlq_mpk_kv_bool(pk, "batch", m->u.registered.batch);
}

int mlq_protoagent_dec_registered(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_int(mp, "heartbeat_ms", 0, INT64_MAX, &m->u.registered.heartbeat_ms);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "lease_ms", 0, INT64_MAX, &m->u.registered.lease_ms);
    if (rc == 0) /* an older scheduler sends none: it reads one message at a time */
        rc = mlq_mpk_opt_bool(mp, "batch", &m->u.registered.batch);
    return rc;
}

void mlq_protoagent_enc_assign(msgpack_packer *pk, const struct mlq_msg *m)
{
    uint32_t n = m->u.assign.gpu_ids ? m->u.assign.ngpu_ids : 0;
    mlq_mpk_kv_str(pk, "attempt_id", m->u.assign.attempt_id);
    mlq_mpk_kv_str(pk, "job_id", m->u.assign.job_id);
    mlq_mpk_kv_int(pk, "attempt", m->u.assign.attempt);
    mlq_mpk_put_str(pk, "spec");
    mlq_protospec_put(pk, &m->u.assign.spec);
    mlq_mpk_kv_array(pk, "gpu_ids", n);
    for (uint32_t i = 0; i < n; i++)
        msgpack_pack_int64(pk, m->u.assign.gpu_ids[i]);
    mlq_mpk_kv_int(pk, "kill_grace_ms", m->u.assign.kill_grace_ms);
    mlq_protopipe_put_assign(pk, m);
    mlq_protoauth_put_assign(pk, m);
    mlq_protogang_put_assign(pk, m);
}

static int dec_gpu_ids(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_array(mp, "gpu_ids", 0, MLQ_MAX_GPUS, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    m->u.assign.gpu_ids = calloc(a->size, sizeof *m->u.assign.gpu_ids);
    if (!m->u.assign.gpu_ids)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "assign: out of memory");
    m->u.assign.ngpu_ids = a->size;
    for (uint32_t i = 0; i < a->size; i++) {
        const msgpack_object *o = &a->ptr[i];
        if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 >= MLQ_MAX_GPUS)
            return mlq_err_set(mp->err, MLQ_EPROTO,
                               "assign: key 'gpu_ids' entries must be integers below %d",
                               MLQ_MAX_GPUS);
        m->u.assign.gpu_ids[i] = (int32_t)o->via.u64;
    }
    return 0;
}

int mlq_protoagent_dec_assign(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_id(mp, "attempt_id", m->u.assign.attempt_id);
    if (rc == 0)
        rc = mlq_mpk_read_id(mp, "job_id", m->u.assign.job_id);
    if (rc == 0)
        rc = mlq_mpk_read_i32(mp, "attempt", 1, INT32_MAX, &m->u.assign.attempt);
    if (rc == 0)
        rc = mlq_protospec_read_at(mp, "spec", &m->u.assign.spec);
    if (rc == 0)
        rc = dec_gpu_ids(mp, m);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "kill_grace_ms", 0, INT64_MAX, &m->u.assign.kill_grace_ms);
    if (rc == 0)
        rc = mlq_protopipe_read_assign(mp, m);
    if (rc == 0)
        rc = mlq_protoauth_read_assign(mp, m);
    if (rc == 0)
        rc = mlq_protogang_read_assign(mp, m);
    return rc;
}

void mlq_protoagent_free_assign(struct mlq_msg *m)
{
    mlq_proto_jobspec_free(&m->u.assign.spec);
    free(m->u.assign.gpu_ids);
    mlq_proto_ganginfo_free(&m->u.assign.gang);
}

void mlq_protoagent_enc_kill(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "attempt_id", m->u.kill.attempt_id);
    mlq_mpk_kv_str(pk, "reason", m->u.kill.reason);
    mlq_mpk_kv_bool(pk, "preempt", m->u.kill.preempt);
}

int mlq_protoagent_dec_kill(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_id(mp, "attempt_id", m->u.kill.attempt_id);
    if (rc == 0)
        rc = mlq_mpk_opt_bool(mp, "preempt", &m->u.kill.preempt);
    return rc < 0 ? rc : mlq_mpk_read_str(mp, "reason", MLQ_MAX_STR, true, &m->u.kill.reason);
}

void mlq_protoagent_free_kill(struct mlq_msg *m)
{
    free(m->u.kill.reason);
}

void mlq_protoagent_enc_report_ack(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "attempt_id", m->u.report_ack.attempt_id);
    mlq_mpk_kv_str(pk, "phase",
                   mlq_protofield_name(phase_names, NELEM(phase_names), m->u.report_ack.phase));
    mlq_mpk_kv_bool(pk, "accepted", m->u.report_ack.accepted);
}

int mlq_protoagent_dec_report_ack(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int phase = 0;
    int rc = mlq_mpk_read_id(mp, "attempt_id", m->u.report_ack.attempt_id);
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "phase", phase_names, NELEM(phase_names), false, &phase);
    if (rc == 0)
        rc = mlq_mpk_read_bool(mp, "accepted", &m->u.report_ack.accepted);
    m->u.report_ack.phase = phase == 1 ? MLQ_PHASE_FINISHED : MLQ_PHASE_STARTED;
    return rc;
}

void mlq_protoagent_enc_log_read(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_uint(pk, "token", m->u.log_read.token);
    mlq_mpk_kv_str(pk, "attempt_id", m->u.log_read.attempt_id);
    mlq_mpk_kv_str(
        pk, "stream",
        mlq_protofield_name(mlq_protofield_streams, MLQ_PROTOFIELD_STREAMS, m->u.log_read.stream));
    mlq_mpk_kv_int(pk, "offset", m->u.log_read.offset);
    mlq_mpk_kv_uint(pk, "max", m->u.log_read.max);
}

int mlq_protoagent_dec_log_read(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int stream = 0;
    uint64_t max = 0;
    int rc = mlq_mpk_read_uint(mp, "token", UINT64_MAX, &m->u.log_read.token);
    if (rc == 0)
        rc = mlq_mpk_read_id(mp, "attempt_id", m->u.log_read.attempt_id);
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "stream", mlq_protofield_streams, MLQ_PROTOFIELD_STREAMS, false,
                               &stream);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "offset", 0, INT64_MAX, &m->u.log_read.offset);
    if (rc == 0)
        rc = mlq_mpk_read_uint(mp, "max", MLQ_MAX_LOG_CHUNK, &max);
    m->u.log_read.stream = stream == 1 ? MLQ_STREAM_STDERR : MLQ_STREAM_STDOUT;
    m->u.log_read.max = (uint32_t)max;
    return rc;
}

void mlq_protoagent_enc_log_upload(msgpack_packer *pk, const struct mlq_msg *m)
{
    const char *st =
        mlq_protofield_name(mlq_protofield_streams, MLQ_PROTOFIELD_STREAMS, m->u.log_upload.stream);
    mlq_mpk_kv_str(pk, "attempt_id", m->u.log_upload.attempt_id);
    mlq_mpk_kv_str(pk, "stream", st);
    mlq_mpk_kv_int(pk, "offset", m->u.log_upload.offset);
    mlq_mpk_kv_bin(pk, "data", m->u.log_upload.data, m->u.log_upload.len);
    mlq_mpk_kv_int(pk, "skipped", m->u.log_upload.skipped);
    mlq_mpk_kv_bool(pk, "eof", m->u.log_upload.eof);
}

int mlq_protoagent_dec_log_upload(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int stream = 0;
    int rc = mlq_mpk_read_id(mp, "attempt_id", m->u.log_upload.attempt_id);
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "stream", mlq_protofield_streams, MLQ_PROTOFIELD_STREAMS, false,
                               &stream);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "offset", 0, INT64_MAX, &m->u.log_upload.offset);
    if (rc == 0)
        rc = mlq_mpk_read_bin(mp, "data", MLQ_MAX_LOG_CHUNK, &m->u.log_upload.data,
                              &m->u.log_upload.len);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "skipped", 0, INT64_MAX, &m->u.log_upload.skipped);
    if (rc == 0)
        rc = mlq_mpk_read_bool(mp, "eof", &m->u.log_upload.eof);
    m->u.log_upload.stream = stream == 1 ? MLQ_STREAM_STDERR : MLQ_STREAM_STDOUT;
    return rc;
}

void mlq_protoagent_free_log_upload(struct mlq_msg *m)
{
    free(m->u.log_upload.data);
}

void mlq_protoagent_enc_log_upload_ack(msgpack_packer *pk, const struct mlq_msg *m)
{
    const char *st = mlq_protofield_name(mlq_protofield_streams, MLQ_PROTOFIELD_STREAMS,
                                         m->u.log_upload_ack.stream);
    mlq_mpk_kv_str(pk, "attempt_id", m->u.log_upload_ack.attempt_id);
    mlq_mpk_kv_str(pk, "stream", st);
    mlq_mpk_kv_int(pk, "offset", m->u.log_upload_ack.offset);
    mlq_mpk_kv_int(pk, "err", m->u.log_upload_ack.err);
}

int mlq_protoagent_dec_log_upload_ack(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int stream = 0;
    int rc = mlq_mpk_read_id(mp, "attempt_id", m->u.log_upload_ack.attempt_id);
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "stream", mlq_protofield_streams, MLQ_PROTOFIELD_STREAMS, false,
                               &stream);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "offset", 0, INT64_MAX, &m->u.log_upload_ack.offset);
    if (rc == 0)
        rc = mlq_mpk_read_i32(mp, "err", INT32_MIN, 0, &m->u.log_upload_ack.err);
    m->u.log_upload_ack.stream = stream == 1 ? MLQ_STREAM_STDERR : MLQ_STREAM_STDOUT;
    return rc;
}
