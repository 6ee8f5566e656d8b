/* proto: see proto.h and docs/protocol.md (normative).
 *
 * One row per message type in `kinds` below: wire name, number of fields,
 * encoder, decoder and the function that frees what the decoder allocated.
 * Dispatch by type name goes through that table only. This file holds the
 * table, the body framing (v, t, rid), the version check and the `error`
 * message that every peer must read; the other messages live by concern in
 * protoclient (client requests and replies), protoagent (worker traffic),
 * protopipe, protoauth, prototoken, protobackup, protoworker and
 * protometrics, and the structures inside them in protospec, protojobinfo,
 * protoworkerinfo, protousage and protogang (docs/architecture.md).
 *
 * Invariants the decoders keep so that a failure anywhere can be cleaned up
 * by mlq_proto_msg_free(): the message starts zeroed, every pointer is either
 * NULL or owned, and an array's count is set as soon as the (zeroed) array
 * is allocated, before its entries are filled. */
#include "proto.h"

#include <stdlib.h>
#include <string.h>

#include "mpk.h"
#include "protoagent.h"
#include "protoauth.h"
#include "protoquota.h"
#include "prototeam.h"
#include "protobackup.h"
#include "protobatch.h"
#include "protobulk.h"
#include "protoclient.h"
#include "protogang.h"
#include "protojobedit.h"
#include "protometrics.h"
#include "protopipe.h"
#include "protospec.h"
#include "prototoken.h"
#include "protoworker.h"
#include "protomanifest.h"

/* ---- the error message -------------------------------------------------- */

static void enc_error(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_int(pk, "code", m->u.error.code);
    mlq_mpk_kv_str(pk, "msg", m->u.error.msg);
    /* Every error says which wire protocols its sender speaks, so that a
     * peer refused for its version can tell (docs/protocol.md "Versions"). */
    mlq_mpk_kv_int(pk, "speaks_min", MLQ_PROTO_MIN);
    mlq_mpk_kv_int(pk, "speaks_max", MLQ_PROTO_MAX);
}

/* speaks_min/max are read leniently: whatever they hold, the code and the
 * message of an error must reach the user. */
static void dec_speaks(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    struct mlq_mpk_map lenient = *mp;
    struct mlq_err ignored = {0};
    int64_t lo = 0, hi = 0;
    lenient.err = &ignored;
    if (mlq_mpk_read_int(&lenient, "speaks_min", 1, INT32_MAX, &lo) < 0 ||
        mlq_mpk_read_int(&lenient, "speaks_max", lo, INT32_MAX, &hi) < 0)
        lo = hi = 0;
    m->u.error.speaks_min = (int32_t)lo;
    m->u.error.speaks_max = (int32_t)hi;
}

static int dec_error(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_i32(mp, "code", INT32_MIN, INT32_MAX, &m->u.error.code);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "msg", MLQ_MAX_STR, false, &m->u.error.msg);
    if (rc == 0)
        dec_speaks(mp, m);
    return rc;
}

bool mlq_proto_error_refuses_us(const struct mlq_msg *m)
{
    return m->type == MLQ_MSG_ERROR && m->u.error.speaks_min > 0 &&
           (MLQ_PROTO_VERSION < m->u.error.speaks_min || MLQ_PROTO_VERSION > m->u.error.speaks_max);
}

static void free_error(struct mlq_msg *m)
{
    free(m->u.error.msg);
}

/* ---- dispatch table ----------------------------------------------------- */

typedef void (*enc_fn)(msgpack_packer *pk, const struct mlq_msg *m);
typedef int (*dec_fn)(const struct mlq_mpk_map *mp, struct mlq_msg *m);
typedef void (*free_fn)(struct mlq_msg *m);

struct msg_kind {
    const char *name;
    uint32_t nkeys; /* fields enc writes besides v, t and rid */
    enc_fn enc;     /* NULL: no fields */
    dec_fn dec;
    free_fn free; /* NULL: the decoder allocates nothing */
};

static const struct msg_kind kinds[MLQ_MSG_TYPE_COUNT] = {
    [MLQ_MSG_ERROR] = {"error", 4, enc_error, dec_error, free_error},
    [MLQ_MSG_OK] = {"ok", 0, NULL, NULL, NULL},
    [MLQ_MSG_SUBMIT] = {"submit", 1, mlq_protoclient_enc_submit, mlq_protoclient_dec_submit,
                        mlq_protoclient_free_submit},
    [MLQ_MSG_SUBMITTED] = {"submitted", 1, mlq_protoclient_enc_submitted,
                           mlq_protoclient_dec_submitted, NULL},
    [MLQ_MSG_JOBS] = {"jobs", 10, mlq_protoclient_enc_jobs, mlq_protoclient_dec_jobs,
                      mlq_protoclient_free_jobs},
    [MLQ_MSG_JOB_LIST] = {"job_list", 3, mlq_protoclient_enc_job_list, mlq_protoclient_dec_job_list,
                          mlq_protoclient_free_job_list},
    [MLQ_MSG_CANCEL] = {"cancel", 1, mlq_protoclient_enc_cancel, mlq_protoclient_dec_cancel,
                        mlq_protoclient_free_cancel},
    [MLQ_MSG_WORKERS] = {"workers", 1, mlq_protoclient_enc_workers, mlq_protoclient_dec_workers,
                         mlq_protoclient_free_workers},
    [MLQ_MSG_WORKER_LIST] = {"worker_list", 2, mlq_protoclient_enc_worker_list,
                             mlq_protoclient_dec_worker_list, mlq_protoclient_free_worker_list},
    [MLQ_MSG_LOGS] = {"logs", 5 + MLQ_PROTOGANG_LOGS_KEYS, mlq_protoclient_enc_logs,
                      mlq_protoclient_dec_logs, mlq_protoclient_free_logs},
    [MLQ_MSG_LOG_DATA] = {"log_data", 5, mlq_protoclient_enc_log_data, mlq_protoclient_dec_log_data,
                          mlq_protoclient_free_log_data},
    [MLQ_MSG_DRAIN] = {"drain", 2, mlq_protoclient_enc_drain, mlq_protoclient_dec_drain,
                       mlq_protoclient_free_drain},
    [MLQ_MSG_RESUME] = {"resume", 1, mlq_protoclient_enc_resume, mlq_protoclient_dec_resume,
                        mlq_protoclient_free_drain},
    [MLQ_MSG_WHY] = {"why", 1, mlq_protoclient_enc_why, mlq_protoclient_dec_why,
                     mlq_protoclient_free_why},
    [MLQ_MSG_ESTIMATE] = {"estimate", 1, mlq_protoclient_enc_submit, mlq_protoclient_dec_submit,
                          mlq_protoclient_free_submit},
    [MLQ_MSG_WHY_REPLY] = {"why_reply", 18, mlq_protoclient_enc_why_reply,
                           mlq_protoclient_dec_why_reply, mlq_protoclient_free_why_reply},
    [MLQ_MSG_SCHEDULE_ADD] = {"schedule_add", 1, mlq_protopipe_enc_schedule_add,
                              mlq_protopipe_dec_schedule_add, mlq_protopipe_free_schedule_add},
    [MLQ_MSG_SCHEDULE_CMD] = {"schedule_cmd", 2, mlq_protopipe_enc_schedule_cmd,
                              mlq_protopipe_dec_schedule_cmd, mlq_protopipe_free_schedule_cmd},
    [MLQ_MSG_SCHEDULES] = {"schedules", 2, mlq_protopipe_enc_schedules, mlq_protopipe_dec_schedules,
                           mlq_protopipe_free_schedules},
    [MLQ_MSG_SCHEDULE_LIST] = {"schedule_list", 2, mlq_protopipe_enc_schedule_list,
                               mlq_protopipe_dec_schedule_list, mlq_protopipe_free_schedule_list},
    [MLQ_MSG_USER_ADD] = {"user_add", 4, mlq_protoauth_enc_user_add, mlq_protoauth_dec_user_add,
                          NULL},
    [MLQ_MSG_USER_RM] = {"user_rm", 2, mlq_protoauth_enc_user_rm, mlq_protoauth_dec_user_rm, NULL},
    [MLQ_MSG_USERS] = {"users", 0, NULL, NULL, NULL},
    [MLQ_MSG_USER_LIST] = {"user_list", 1, mlq_protoauth_enc_user_list, mlq_protoauth_dec_user_list,
                           mlq_protoauth_free_user_list},
    [MLQ_MSG_EVENTS] = {"events", 3, mlq_protoauth_enc_events, mlq_protoauth_dec_events,
                        mlq_protoauth_free_events},
    [MLQ_MSG_EVENT_LIST] = {"event_list", 1, mlq_protoauth_enc_event_list,
                            mlq_protoauth_dec_event_list, mlq_protoauth_free_event_list},
    [MLQ_MSG_METRICS] = {"metrics", 0, NULL, NULL, NULL},
    [MLQ_MSG_METRICS_TEXT] = {"metrics_text", 1, mlq_protometrics_enc_text,
                              mlq_protometrics_dec_text, mlq_protometrics_free_text},
    [MLQ_MSG_TOKEN_CREATE] = {"token_create", 4, mlq_prototoken_enc_create,
                              mlq_prototoken_dec_create, NULL},
    [MLQ_MSG_TOKEN_RM] = {"token_rm", 1, mlq_prototoken_enc_rm, mlq_prototoken_dec_rm, NULL},
    [MLQ_MSG_TOKENS] = {"tokens", 0, NULL, NULL, NULL},
    [MLQ_MSG_TOKEN_LIST] = {"token_list", 1, mlq_prototoken_enc_list, mlq_prototoken_dec_list,
                            mlq_prototoken_free_list},
    [MLQ_MSG_USAGE] = {"usage", 0, NULL, NULL, NULL},
    [MLQ_MSG_USAGE_LIST] = {"usage_list", 1, mlq_prototoken_enc_usage, mlq_prototoken_dec_usage,
                            mlq_prototoken_free_usage},
    [MLQ_MSG_BACKUP] = {"backup", 1, mlq_protobackup_enc_req, mlq_protobackup_dec_req,
                        mlq_protobackup_free_req},
    [MLQ_MSG_BACKUP_DONE] = {"backup_done", 7, mlq_protobackup_enc_done, mlq_protobackup_dec_done,
                             mlq_protobackup_free_done},
    [MLQ_MSG_WORKER_SET] = {"worker_set", 9, mlq_protoworker_enc_set, mlq_protoworker_dec_set,
                            mlq_protoworker_free_set},
    [MLQ_MSG_JOB_SPEC] = {"job_spec", 1, mlq_protoclient_enc_why, mlq_protoclient_dec_why,
                          mlq_protoclient_free_why},
    [MLQ_MSG_JOB_SPEC_REPLY] = {"job_spec_reply", 3, mlq_protoclient_enc_job_spec_reply,
                                mlq_protoclient_dec_job_spec_reply,
                                mlq_protoclient_free_job_spec_reply},
    [MLQ_MSG_WORKER_SUMMARY] = {"worker_summary", 0, NULL, NULL, NULL},
    [MLQ_MSG_HOLD] = {"hold", 2, mlq_protojobedit_enc_hold, mlq_protojobedit_dec_hold,
                      mlq_protojobedit_free_hold},
    [MLQ_MSG_UPDATE] = {"update", MLQ_PROTOJOBEDIT_UPDATE_KEYS, mlq_protojobedit_enc_update,
                        mlq_protojobedit_dec_update, mlq_protojobedit_free_update},
    [MLQ_MSG_WORKER_SUMMARY_LIST] = {"worker_summary_list", 1, mlq_protoworker_enc_summary,
                                     mlq_protoworker_dec_summary, mlq_protoworker_free_summary},
    [MLQ_MSG_MANIFEST] = {"manifest", 2, mlq_protomanifest_enc_req, mlq_protomanifest_dec_req,
                          mlq_protomanifest_free_req},
    [MLQ_MSG_MANIFEST_DATA] = {"manifest_data", 4, mlq_protomanifest_enc_data,
                               mlq_protomanifest_dec_data, mlq_protomanifest_free_data},
    [MLQ_MSG_TEAM_CMD] = {"team_cmd", 3, mlq_prototeam_enc_cmd, mlq_prototeam_dec_cmd, NULL},
    [MLQ_MSG_TEAM_LIST] = {"team_list", 1, mlq_prototeam_enc_list, mlq_prototeam_dec_list,
                           mlq_prototeam_free_list},
    [MLQ_MSG_USER_SET] = {"user_set", 2, mlq_prototeam_enc_user_set, mlq_prototeam_dec_user_set,
                          NULL},
    [MLQ_MSG_ACCT] = {"acct", 3, mlq_prototeam_enc_acct, mlq_prototeam_dec_acct, NULL},
    [MLQ_MSG_ACCT_REPORT] = {"acct_report", 4, mlq_prototeam_enc_report, mlq_prototeam_dec_report,
                             mlq_prototeam_free_report},
    [MLQ_MSG_SUBMIT_MANY] = {"submit_many", 3, mlq_protobulk_enc_submit_many,
                             mlq_protobulk_dec_submit_many, mlq_protobulk_free_submit_many},
    [MLQ_MSG_SUBMITTED_MANY] = {"submitted_many", 1, mlq_protobulk_enc_submitted_many,
                                mlq_protobulk_dec_submitted_many,
                                mlq_protobulk_free_submitted_many},
    [MLQ_MSG_QUOTA_CMD] = {"quota_cmd", 2, mlq_protoquota_enc_cmd, mlq_protoquota_dec_cmd, NULL},
    [MLQ_MSG_QUOTA_LIST] = {"quota_list", 1, mlq_protoquota_enc_list, mlq_protoquota_dec_list,
                            mlq_protoquota_free_list},
    [MLQ_MSG_REGISTER] = {"register", 14 + MLQ_PROTOGANG_REGISTER_KEYS, mlq_protoagent_enc_register,
                          mlq_protoagent_dec_register, mlq_protoagent_free_register},
    [MLQ_MSG_HEARTBEAT] = {"heartbeat", 3, mlq_protoagent_enc_heartbeat,
                           mlq_protoagent_dec_heartbeat, mlq_protoagent_free_heartbeat},
    [MLQ_MSG_REPORT] = {"report", 12, mlq_protoagent_enc_report, mlq_protoagent_dec_report,
                        mlq_protoagent_free_report},
    [MLQ_MSG_LOG_CHUNK] = {"log_chunk", 4, mlq_protoagent_enc_log_chunk,
                           mlq_protoagent_dec_log_chunk, mlq_protoagent_free_log_chunk},
    [MLQ_MSG_LOG_UPLOAD] = {"log_upload", 6, mlq_protoagent_enc_log_upload,
                            mlq_protoagent_dec_log_upload, mlq_protoagent_free_log_upload},
    [MLQ_MSG_REGISTERED] = {"registered", 3, mlq_protoagent_enc_registered,
                            mlq_protoagent_dec_registered, NULL},
    [MLQ_MSG_HB_ACK] = {"hb_ack", 0, NULL, NULL, NULL},
    [MLQ_MSG_ASSIGN] = {"assign",
                        6 + MLQ_PROTOPIPE_ASSIGN_KEYS + MLQ_PROTOAUTH_ASSIGN_KEYS +
                            MLQ_PROTOGANG_ASSIGN_KEYS,
                        mlq_protoagent_enc_assign, mlq_protoagent_dec_assign,
                        mlq_protoagent_free_assign},
    [MLQ_MSG_KILL] = {"kill", 3, mlq_protoagent_enc_kill, mlq_protoagent_dec_kill,
                      mlq_protoagent_free_kill},
    [MLQ_MSG_REPORT_ACK] = {"report_ack", 3, mlq_protoagent_enc_report_ack,
                            mlq_protoagent_dec_report_ack, NULL},
    [MLQ_MSG_LOG_READ] = {"log_read", 5, mlq_protoagent_enc_log_read, mlq_protoagent_dec_log_read,
                          NULL},
    [MLQ_MSG_LOG_UPLOAD_ACK] = {"log_upload_ack", 4, mlq_protoagent_enc_log_upload_ack,
                                mlq_protoagent_dec_log_upload_ack, NULL},
    [MLQ_MSG_GOODBYE] = {"goodbye", 2, mlq_protoagent_enc_goodbye, mlq_protoagent_dec_goodbye,
                         mlq_protoagent_free_goodbye},
    [MLQ_MSG_BATCH] = {"batch", 1, mlq_protobatch_enc, mlq_protobatch_dec, mlq_protobatch_free},
};

/* The table row of t, or NULL when t is out of range or has no row (a type
 * added to the enum but not yet here must fail cleanly, not crash). */
static const struct msg_kind *kind_of(int t)
{
    if (t < 0 || t >= MLQ_MSG_TYPE_COUNT || !kinds[t].name)
        return NULL;
    return &kinds[t];
}

const char *mlq_proto_type_name(enum mlq_msg_type t)
{
    const struct msg_kind *k = kind_of((int)t);
    return k ? k->name : "?";
}

/* ---- top level ---------------------------------------------------------- */

int mlq_proto_encode(const struct mlq_msg *msg, char **out, size_t *out_len, struct mlq_err *err)
{
    *out = NULL;
    *out_len = 0;
    const struct msg_kind *k = msg ? kind_of((int)msg->type) : NULL;
    if (!k)
        return mlq_err_set(err, MLQ_EINVAL, "cannot encode message type %d",
                           msg ? (int)msg->type : -1);
    struct mlq_mpk_out o;
    mlq_mpk_out_init(&o, mlq_protobulk_is_bulk(msg->type) ? MLQ_MAX_BULK_MSG : MLQ_MAX_MSG);
    msgpack_pack_map(&o.pk, 3 + k->nkeys);
    bool echo = msg->type == MLQ_MSG_ERROR && msg->wire_v > 0;
    mlq_mpk_kv_uint(&o.pk, "v", echo ? msg->wire_v : MLQ_PROTO_VERSION);
    mlq_mpk_kv_str(&o.pk, "t", k->name);
    mlq_mpk_kv_uint(&o.pk, "rid", msg->rid);
    if (k->enc)
        k->enc(&o.pk, msg);
    return mlq_mpk_out_finish(&o, out, out_len, err);
}

/* Validates the raw bytes, then unpacks them into up (destroyed again on
 * failure). */
static int unpack_checked(const void *buf, size_t len, msgpack_unpacked *up, struct mlq_err *err)
{
    msgpack_unpacked_init(up);
    if (!buf || len == 0)
        return mlq_err_set(err, MLQ_EPROTO, "empty message");
    if (len > MLQ_MAX_BULK_MSG)
        return mlq_err_set(err, MLQ_EPROTO, "message of %zu bytes exceeds %d", len,
                           MLQ_MAX_BULK_MSG);
    int rc = mlq_mpk_validate(buf, len, MLQ_MAX_DEPTH, err);
    if (rc < 0)
        return rc;
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(up, buf, len, &off);
    if (r == MSGPACK_UNPACK_SUCCESS && off == len)
        return 0;
    msgpack_unpacked_destroy(up);
    msgpack_unpacked_init(up);
    if (r == MSGPACK_UNPACK_NOMEM_ERROR)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory decoding a message");
    return mlq_err_set(err, MLQ_EPROTO, "malformed msgpack");
}

static int find_kind(const struct mlq_mpk_map *m, int *type)
{
    const msgpack_object *t = mlq_mpk_get(m, "t");
    if (!t)
        return mlq_err_set(m->err, MLQ_EPROTO, "message: missing key 't'");
    if (t->type != MSGPACK_OBJECT_STR)
        return mlq_err_set(m->err, MLQ_EPROTO, "message: key 't' must be a string");
    for (int i = 0; i < MLQ_MSG_TYPE_COUNT; i++) {
        if (kind_of(i) && t->via.str.size == strlen(kinds[i].name) &&
            memcmp(t->via.str.ptr, kinds[i].name, t->via.str.size) == 0) {
            *type = i;
            return 0;
        }
    }
    return mlq_err_set(m->err, MLQ_EPROTO, "message: unknown message type");
}

/* A body of a version outside MLQ_PROTO_MIN..MAX: an "error" is read all the
 * same (its layout is the same in every version); anything else is refused
 * with MLQ_EVERSION, keeping its rid and version for the answer. */
static int check_version(const struct mlq_mpk_map *m, int64_t v, struct mlq_msg *msg,
                         struct mlq_err *err)
{
    if (v >= MLQ_PROTO_MIN && v <= MLQ_PROTO_MAX)
        return 0;
    const msgpack_object *t = mlq_mpk_get(m, "t");
    if (t && t->type == MSGPACK_OBJECT_STR && t->via.str.size == 5 &&
        memcmp(t->via.str.ptr, "error", 5) == 0)
        return 0;
    struct mlq_mpk_map lenient = *m;
    struct mlq_err ignored = {0};
    lenient.err = &ignored;
    if (mlq_mpk_read_uint(&lenient, "rid", UINT64_MAX, &msg->rid) < 0)
        msg->rid = 0;
    msg->wire_v = v > 0 && v <= UINT32_MAX ? (uint32_t)v : 0;
    return mlq_err_set(err, MLQ_EVERSION, "wire protocol version %lld is not in %d..%d",
                       (long long)v, MLQ_PROTO_MIN, MLQ_PROTO_MAX);
}

static int decode_top(const msgpack_object *obj, struct mlq_msg *msg, struct mlq_err *err)
{
    struct mlq_mpk_map m;
    int64_t v = 0;
    int type = 0;
    int rc = mlq_mpk_map_init(&m, obj, "message", err);
    if (rc == 0)
        rc = mlq_mpk_read_int(&m, "v", INT64_MIN, INT64_MAX, &v);
    if (rc == 0)
        rc = check_version(&m, v, msg, err);
    if (rc == 0)
        rc = find_kind(&m, &type);
    if (rc == 0)
        rc = mlq_mpk_read_uint(&m, "rid", UINT64_MAX, &msg->rid);
    if (rc < 0)
        return rc;
    msg->type = (enum mlq_msg_type)type;
    m.where = kinds[type].name;
    return kinds[type].dec ? kinds[type].dec(&m, msg) : 0;
}

int mlq_proto_decode(const void *buf, size_t len, struct mlq_msg *msg, struct mlq_err *err)
{
    msgpack_unpacked up;
    memset(msg, 0, sizeof *msg);
    int rc = unpack_checked(buf, len, &up, err);
    if (rc < 0)
        return rc;
    rc = decode_top(&up.data, msg, err);
    msgpack_unpacked_destroy(&up);
    /* Only the bulk types may use the room the sockets allow. */
    if (rc == 0 && len > MLQ_MAX_MSG && !mlq_protobulk_is_bulk(msg->type))
        rc = mlq_err_set(err, MLQ_EPROTO, "message of %zu bytes exceeds %d", len, MLQ_MAX_MSG);
    if (rc < 0) {
        uint64_t rid = msg->rid;
        uint32_t wire_v = msg->wire_v;
        mlq_proto_msg_free(msg);
        if (rc == MLQ_EVERSION) {
            msg->rid = rid;
            msg->wire_v = wire_v;
        }
    }
    return rc;
}

void mlq_proto_msg_free(struct mlq_msg *msg)
{
    if (!msg)
        return;
    const struct msg_kind *k = kind_of((int)msg->type);
    if (k && k->free)
        k->free(msg);
    memset(msg, 0, sizeof *msg);
}

/* ---- a job spec on its own (the store keeps specs packed) ---------------- */

int mlq_proto_jobspec_pack(const struct mlq_jobspec *spec, char **out, size_t *out_len,
                           struct mlq_err *err)
{
    struct mlq_mpk_out o;
    mlq_mpk_out_init(&o, MLQ_MAX_MSG);
    mlq_protospec_put(&o.pk, spec);
    return mlq_mpk_out_finish(&o, out, out_len, err);
}

int mlq_proto_jobspec_pack_stored(const struct mlq_jobspec *spec, char **out, size_t *out_len,
                                  struct mlq_err *err)
{
    struct mlq_mpk_out o;
    mlq_mpk_out_init(&o, MLQ_MAX_MSG);
    mlq_protospec_put_stored(&o.pk, spec);
    return mlq_mpk_out_finish(&o, out, out_len, err);
}

int mlq_proto_jobspec_unpack(const void *buf, size_t len, struct mlq_jobspec *spec,
                             struct mlq_err *err)
{
    msgpack_unpacked up;
    struct mlq_mpk_map m;
    memset(spec, 0, sizeof *spec);
    int rc = unpack_checked(buf, len, &up, err);
    if (rc < 0)
        return rc;
    rc = mlq_mpk_map_init(&m, &up.data, "spec", err);
    if (rc == 0)
        rc = mlq_protospec_read(&m, spec);
    msgpack_unpacked_destroy(&up);
    if (rc < 0)
        mlq_proto_jobspec_free(spec);
    return rc;
}
