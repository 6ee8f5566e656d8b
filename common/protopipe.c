/* protopipe: see protopipe.h (private to proto) and docs/protocol.md.
 *
 * Same invariants as proto.c: decoders start from zeroed structs, every
 * pointer is NULL or owned, and an array's count is set as soon as the
 * zeroed array exists, so the freers below can clean up any half-decoded
 * value. */
#include "protopipe.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arrayspec.h"
#include "cron.h"
#include "protospec.h"

#define DEFAULT_CATCH_UP_MS (3600 * 1000)
#define ARRAYINFO_KEYS      9
#define SCHEDULEINFO_KEYS   9

static const char *const concurrency_names[] = {"allow", "skip", "replace"};
static const char *const op_names[] = {"pause", "resume", "rm", "run_now"};

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* The job state names in enum order, as mlq_job_state_name() spells them. */
static void state_names(const char *names[MLQ_JOB_STATE_COUNT])
{
    for (int i = 0; i < MLQ_JOB_STATE_COUNT; i++)
        names[i] = mlq_job_state_name((enum mlq_job_state)i);
}

/* ---- jobinfo and assign keys -------------------------------------------- */

void mlq_protopipe_put_jobinfo(msgpack_packer *pk, const struct mlq_jobinfo *j)
{
    mlq_mpk_kv_str(pk, "array_id", j->array_id);
    mlq_mpk_kv_int(pk, "array_index", j->array_id ? j->array_index : -1);
    mlq_protospec_put_deps(pk, "deps", j->deps, j->ndeps);
}

/* An optional full id (nil or absent: none). */
static int read_opt_full_id(const struct mlq_mpk_map *m, const char *key, char **out)
{
    int rc = mlq_mpk_read_str(m, key, MLQ_ID_LEN, true, out);
    if (rc == 0 && *out && !mlq_mpk_is_uuid(*out, strlen(*out)))
        rc = mlq_err_set(m->err, MLQ_EPROTO, "%s: key '%s' is not a full lower-case id", m->where,
                         key);
    return rc;
}

int mlq_protopipe_read_jobinfo(const struct mlq_mpk_map *m, struct mlq_jobinfo *j)
{
    j->array_index = -1;
    int rc = read_opt_full_id(m, "array_id", &j->array_id);
    /* A task always has its index: required with array_id, so that what
     * decodes also encodes back to the same bytes (the fuzz oracle). */
    if (rc == 0 && j->array_id)
        rc = mlq_mpk_read_i32(m, "array_index", 0, MLQ_ARRAYSPEC_MAX_INDEX, &j->array_index);
    if (rc == 0)
        rc = mlq_protospec_read_deps(m, "deps", true, &j->deps, &j->ndeps);
    return rc;
}

void mlq_protopipe_put_assign(msgpack_packer *pk, const struct mlq_msg *m)
{
    bool task = m->u.assign.array_id[0] != '\0';
    mlq_mpk_kv_str(pk, "array_id", task ? m->u.assign.array_id : NULL);
    mlq_mpk_kv_int(pk, "array_index", task ? m->u.assign.array_index : -1);
    mlq_mpk_kv_uint(pk, "array_size", task ? m->u.assign.array_size : 0);
}

/* Absent, nil or "" array_id: not a task (index -1, size 0). */
int mlq_protopipe_read_assign(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    char *id = NULL;
    uint64_t size = 0;
    m->u.assign.array_index = -1;
    m->u.assign.array_size = 0;
    int rc = mlq_mpk_read_str(mp, "array_id", MLQ_ID_LEN, true, &id);
    if (rc < 0 || !id || !id[0]) {
        free(id);
        return rc;
    }
    if (!mlq_mpk_is_uuid(id, strlen(id)))
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "assign: key 'array_id' is not a full lower-case id");
    else
        memcpy(m->u.assign.array_id, id, MLQ_ID_LEN + 1);
    free(id);
    if (rc == 0)
        rc = mlq_mpk_read_i32(mp, "array_index", 0, MLQ_ARRAYSPEC_MAX_INDEX,
                              &m->u.assign.array_index);
    if (rc == 0)
        rc = mlq_mpk_read_uint(mp, "array_size", MLQ_MAX_ARRAY, &size);
    m->u.assign.array_size = (uint32_t)size;
    if (rc == 0 && size == 0)
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "assign: key 'array_size' must be at least 1");
    return rc;
}

/* ---- arrayinfo ----------------------------------------------------------- */

static void put_arrayinfo(msgpack_packer *pk, const struct mlq_arrayinfo *a)
{
    const char *names[MLQ_JOB_STATE_COUNT];
    state_names(names);
    msgpack_pack_map(pk, ARRAYINFO_KEYS);
    mlq_mpk_kv_str(pk, "id", a->id);
    mlq_mpk_kv_str(pk, "name", a->name);
    mlq_mpk_kv_str(pk, "owner", a->owner);
    mlq_mpk_kv_strv(pk, "argv", a->argv, a->argv ? a->argc : 0);
    mlq_mpk_kv_uint(pk, "size", a->size);
    mlq_mpk_kv_uint(pk, "max_running", a->max_running);
    mlq_mpk_kv_int(pk, "submit_ms", a->submit_ms);
    mlq_mpk_kv_map(pk, "counts", MLQ_JOB_STATE_COUNT);
    for (int i = 0; i < MLQ_JOB_STATE_COUNT; i++)
        mlq_mpk_kv_uint(pk, names[i], a->counts[i]);
    mlq_mpk_kv_str(pk, "failed", a->failed);
}

void mlq_protopipe_put_arrays(msgpack_packer *pk, const struct mlq_arrayinfo *a, uint32_t n)
{
    mlq_mpk_kv_array(pk, "arrays", a ? n : 0);
    for (uint32_t i = 0; a && i < n; i++)
        put_arrayinfo(pk, &a[i]);
}

/* counts: a map from state names to task counts; a state left out counts 0,
 * a name this version does not know is ignored (a newer scheduler may have
 * more states); the counts may not add up to more than size. */
static int read_counts(const struct mlq_mpk_map *m, struct mlq_arrayinfo *a)
{
    const char *names[MLQ_JOB_STATE_COUNT];
    struct mlq_mpk_map cm;
    uint64_t total = 0;
    state_names(names);
    int rc = mlq_mpk_read_map(m, "counts", "arrayinfo counts", &cm);
    for (int i = 0; rc == 0 && i < MLQ_JOB_STATE_COUNT; i++) {
        uint64_t v = 0;
        if (!mlq_mpk_absent(&cm, names[i]))
            rc = mlq_mpk_read_uint(&cm, names[i], MLQ_MAX_ARRAY, &v);
        a->counts[i] = (uint32_t)v;
        total += v;
    }
    if (rc == 0 && total > a->size)
        rc = mlq_err_set(m->err, MLQ_EPROTO, "arrayinfo: counts add up to more than size");
    return rc;
}

static int read_arrayinfo(const struct mlq_mpk_map *m, struct mlq_arrayinfo *a)
{
    uint64_t size = 0, maxr = 0;
    int rc = mlq_mpk_read_id(m, "id", a->id);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "name", MLQ_MAX_NAME, true, &a->name);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "owner", MLQ_MAX_NAME, true, &a->owner);
    if (rc == 0)
        rc = mlq_mpk_read_strv(m, "argv", 0, MLQ_MAX_ARGC, MLQ_MAX_ARGV_BYTES, MLQ_MAX_ARGV_BYTES,
                               &a->argv, &a->argc);
    if (rc == 0)
        rc = mlq_mpk_read_uint(m, "size", MLQ_MAX_ARRAY, &size);
    if (rc == 0)
        rc = mlq_mpk_read_uint(m, "max_running", MLQ_MAX_ARRAY, &maxr);
    a->size = (uint32_t)size;
    a->max_running = (uint32_t)maxr;
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "submit_ms", 0, INT64_MAX, &a->submit_ms);
    if (rc == 0)
        rc = read_counts(m, a);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "failed", MLQ_MAX_STR, true, &a->failed);
    return rc;
}

int mlq_protopipe_read_arrays(const struct mlq_mpk_map *m, struct mlq_arrayinfo **out, uint32_t *n)
{
    const msgpack_object_array *a;
    if (mlq_mpk_absent(m, "arrays"))
        return 0;
    int rc = mlq_mpk_read_array(m, "arrays", 0, MLQ_MAX_IDS, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    *out = calloc(a->size, sizeof **out);
    if (!*out)
        return mlq_err_set(m->err, MLQ_ENOMEM, "%s: out of memory", m->where);
    *n = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map am;
        rc = mlq_mpk_map_init(&am, &a->ptr[i], "arrayinfo", m->err);
        if (rc == 0)
            rc = read_arrayinfo(&am, &(*out)[i]);
    }
    return rc;
}

void mlq_proto_arrayinfo_free(struct mlq_arrayinfo *a)
{
    if (!a)
        return;
    free(a->name);
    free(a->owner);
    mlq_mpk_strv_free(a->argv, a->argc);
    free(a->failed);
    memset(a, 0, sizeof *a);
}

/* ---- scheduleinfo -------------------------------------------------------- */

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

int mlq_proto_schedule_name_check(const char *name, struct mlq_err *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0)
        return mlq_err_set(err, MLQ_EINVAL, "schedule name is empty");
    if (n > MLQ_MAX_NAME)
        return mlq_err_set(err, MLQ_EINVAL, "schedule name is longer than %d bytes", MLQ_MAX_NAME);
    for (const char *p = name; *p; p++)
        if (!name_char(*p))
            return mlq_err_set(err, MLQ_EINVAL,
                               "schedule name may hold only A-Z a-z 0-9 _ . - characters");
    return 0;
}

static bool one_of(const char *v, const char *const *names, int n)
{
    for (int i = 0; v && i < n; i++)
        if (strcmp(v, names[i]) == 0)
            return true;
    return false;
}

/* Printable ASCII (space included), 1..max bytes. */
static bool text_ok(const char *s, size_t max)
{
    size_t n = s ? strnlen(s, max + 1) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < ' ' || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

int mlq_proto_scheduleinfo_check(const struct mlq_scheduleinfo *s, struct mlq_err *err)
{
    int rc = mlq_proto_schedule_name_check(s->name, err);
    if (rc < 0)
        return rc;
    if (!text_ok(s->cron, MLQ_CRON_MAX_EXPR))
        return mlq_err_set(err, MLQ_EINVAL,
                           "schedule %s: the cron expression must be 1..%d "
                           "printable characters",
                           s->name, MLQ_CRON_MAX_EXPR);
    if (s->timezone && s->timezone[0] && !text_ok(s->timezone, MLQ_CRON_MAX_TZ))
        return mlq_err_set(err, MLQ_EINVAL,
                           "schedule %s: the time zone must be 1..%d printable "
                           "characters",
                           s->name, MLQ_CRON_MAX_TZ);
    if (s->concurrency && !one_of(s->concurrency, concurrency_names, NELEM(concurrency_names)))
        return mlq_err_set(err, MLQ_EINVAL,
                           "schedule %s: concurrency must be allow, skip or replace", s->name);
    if (s->catch_up_ms < 0 || s->catch_up_ms > MLQ_MAX_TIME_MS)
        return mlq_err_set(err, MLQ_EINVAL, "schedule %s: catch-up must be between 0 and 366 days",
                           s->name);
    if (s->nnext > MLQ_MAX_NEXT_FIRES || s->nruns > MLQ_MAX_SCHED_RUNS)
        return mlq_err_set(err, MLQ_EINVAL, "schedule %s: too many fire times or runs", s->name);
    return mlq_proto_jobspec_check(&s->spec, err);
}

static void put_runs(msgpack_packer *pk, const struct mlq_schedrun *r, uint32_t n)
{
    mlq_mpk_kv_array(pk, "runs", r ? n : 0);
    for (uint32_t i = 0; r && i < n; i++) {
        msgpack_pack_map(pk, 6);
        mlq_mpk_kv_int(pk, "fire_ms", r[i].fire_ms);
        mlq_mpk_kv_str(pk, "job_id", r[i].job_id);
        mlq_mpk_kv_str(pk, "state", mlq_job_state_name(r[i].state));
        mlq_mpk_kv_uint(pk, "array_size", r[i].array_size);
        mlq_mpk_kv_uint(pk, "array_ended", r[i].array_ended);
        mlq_mpk_kv_uint(pk, "array_running", r[i].array_running);
    }
}

static void put_scheduleinfo(msgpack_packer *pk, const struct mlq_scheduleinfo *s)
{
    uint32_t nn = s->next_fires ? s->nnext : 0;
    msgpack_pack_map(pk, SCHEDULEINFO_KEYS);
    mlq_mpk_kv_str(pk, "name", s->name);
    mlq_mpk_kv_str(pk, "cron", s->cron);
    mlq_mpk_kv_str(pk, "timezone", s->timezone);
    mlq_mpk_put_str(pk, "spec");
    mlq_protospec_put(pk, &s->spec);
    mlq_mpk_kv_str(pk, "concurrency", s->concurrency);
    mlq_mpk_kv_int(pk, "catch_up_ms", s->catch_up_ms);
    mlq_mpk_kv_bool(pk, "paused", s->paused);
    mlq_mpk_kv_array(pk, "next_fires", nn);
    for (uint32_t i = 0; i < nn; i++)
        msgpack_pack_int64(pk, s->next_fires[i]);
    put_runs(pk, s->runs, s->nruns);
}

static int read_next_fires(const struct mlq_mpk_map *m, struct mlq_scheduleinfo *s)
{
    const msgpack_object_array *a;
    if (mlq_mpk_absent(m, "next_fires"))
        return 0;
    int rc = mlq_mpk_read_array(m, "next_fires", 0, MLQ_MAX_NEXT_FIRES, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    s->next_fires = calloc(a->size, sizeof *s->next_fires);
    if (!s->next_fires)
        return mlq_err_set(m->err, MLQ_ENOMEM, "scheduleinfo: out of memory");
    s->nnext = a->size;
    for (uint32_t i = 0; i < a->size; i++) {
        const msgpack_object *o = &a->ptr[i];
        if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > (uint64_t)INT64_MAX)
            return mlq_err_set(m->err, MLQ_EPROTO,
                               "scheduleinfo: key 'next_fires' entries must be times in ms");
        s->next_fires[i] = (int64_t)o->via.u64;
    }
    return 0;
}

static int read_run(const struct mlq_mpk_map *m, struct mlq_schedrun *r)
{
    const char *names[MLQ_JOB_STATE_COUNT];
    int st = 0;
    state_names(names);
    int rc = mlq_mpk_read_int(m, "fire_ms", 0, INT64_MAX, &r->fire_ms);
    if (rc == 0)
        rc = mlq_mpk_read_id(m, "job_id", r->job_id);
    if (rc == 0)
        rc = mlq_mpk_read_enum(m, "state", names, MLQ_JOB_STATE_COUNT, false, &st);
    r->state = st < 0 ? MLQ_JOB_PENDING : (enum mlq_job_state)st;
    int64_t v[3] = {0};
    static const char *const keys[3] = {"array_size", "array_ended", "array_running"};
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = mlq_mpk_opt_int(m, keys[i], 0, MLQ_MAX_ARRAY, &v[i]);
    r->array_size = (uint32_t)v[0];
    r->array_ended = (uint32_t)v[1];
    r->array_running = (uint32_t)v[2];
    return rc;
}

static int read_runs(const struct mlq_mpk_map *m, struct mlq_scheduleinfo *s)
{
    const msgpack_object_array *a;
    if (mlq_mpk_absent(m, "runs"))
        return 0;
    int rc = mlq_mpk_read_array(m, "runs", 0, MLQ_MAX_SCHED_RUNS, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    s->runs = calloc(a->size, sizeof *s->runs);
    if (!s->runs)
        return mlq_err_set(m->err, MLQ_ENOMEM, "scheduleinfo: out of memory");
    s->nruns = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map rm;
        rc = mlq_mpk_map_init(&rm, &a->ptr[i], "schedrun", m->err);
        if (rc == 0)
            rc = read_run(&rm, &s->runs[i]);
    }
    return rc;
}

static int read_sched_text(const struct mlq_mpk_map *m, struct mlq_scheduleinfo *s)
{
    int rc = mlq_mpk_read_str(m, "name", MLQ_MAX_NAME, false, &s->name);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "cron", MLQ_CRON_MAX_EXPR, false, &s->cron);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "timezone", MLQ_CRON_MAX_TZ, true, &s->timezone);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "concurrency", MLQ_MAX_NAME, true, &s->concurrency);
    return rc;
}

/* A scheduleinfo, checked by mlq_proto_scheduleinfo_check() (a violation is
 * a protocol error). catch_up_ms absent means the default, one hour. */
static int read_scheduleinfo(const struct mlq_mpk_map *m, struct mlq_scheduleinfo *s)
{
    struct mlq_mpk_map sm;
    int rc = read_sched_text(m, s);
    if (rc == 0)
        rc = mlq_mpk_read_map(m, "spec", "spec", &sm);
    if (rc == 0)
        rc = mlq_protospec_read(&sm, &s->spec);
    s->catch_up_ms = DEFAULT_CATCH_UP_MS;
    if (rc == 0 && !mlq_mpk_absent(m, "catch_up_ms"))
        rc = mlq_mpk_read_int(m, "catch_up_ms", 0, MLQ_MAX_TIME_MS, &s->catch_up_ms);
    if (rc == 0)
        rc = mlq_mpk_opt_bool(m, "paused", &s->paused);
    if (rc == 0)
        rc = read_next_fires(m, s);
    if (rc == 0)
        rc = read_runs(m, s);
    struct mlq_err e;
    if (rc == 0 && mlq_proto_scheduleinfo_check(s, &e) < 0)
        rc = mlq_err_set(m->err, MLQ_EPROTO, "%s", e.msg);
    return rc;
}

void mlq_proto_scheduleinfo_free(struct mlq_scheduleinfo *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->cron);
    free(s->timezone);
    mlq_proto_jobspec_free(&s->spec);
    free(s->concurrency);
    free(s->next_fires);
    free(s->runs);
    memset(s, 0, sizeof *s);
}

/* ---- schedule messages ---------------------------------------------------- */

void mlq_protopipe_enc_schedule_add(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_put_str(pk, "schedule");
    put_scheduleinfo(pk, &m->u.schedule_add.sched);
}

int mlq_protopipe_dec_schedule_add(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    struct mlq_mpk_map sm;
    int rc = mlq_mpk_read_map(mp, "schedule", "scheduleinfo", &sm);
    return rc < 0 ? rc : read_scheduleinfo(&sm, &m->u.schedule_add.sched);
}

void mlq_protopipe_free_schedule_add(struct mlq_msg *m)
{
    mlq_proto_scheduleinfo_free(&m->u.schedule_add.sched);
}

void mlq_protopipe_enc_schedule_cmd(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "name", m->u.schedule_cmd.name);
    mlq_mpk_kv_str(pk, "op", m->u.schedule_cmd.op);
}

static int read_sched_name(const struct mlq_mpk_map *mp, bool nullable, char **out)
{
    struct mlq_err e;
    int rc = mlq_mpk_read_str(mp, "name", MLQ_MAX_NAME, nullable, out);
    if (rc == 0 && *out && mlq_proto_schedule_name_check(*out, &e) < 0)
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "%s: key 'name': %s", mp->where, e.msg);
    return rc;
}

int mlq_protopipe_dec_schedule_cmd(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int op = -1;
    int rc = read_sched_name(mp, false, &m->u.schedule_cmd.name);
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "op", op_names, NELEM(op_names), false, &op);
    if (rc == 0) {
        m->u.schedule_cmd.op = strdup(op_names[op]);
        if (!m->u.schedule_cmd.op)
            rc = mlq_err_set(mp->err, MLQ_ENOMEM, "schedule_cmd: out of memory");
    }
    return rc;
}

void mlq_protopipe_free_schedule_cmd(struct mlq_msg *m)
{
    free(m->u.schedule_cmd.name);
    free(m->u.schedule_cmd.op);
}

void mlq_protopipe_enc_schedules(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "name", m->u.schedules.name);
    mlq_mpk_kv_str(pk, "cursor", m->u.schedules.cursor);
}

int mlq_protopipe_dec_schedules(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = read_sched_name(mp, true, &m->u.schedules.name);
    return rc < 0 ? rc
                  : mlq_mpk_read_str(mp, "cursor", MLQ_MAX_CURSOR, true, &m->u.schedules.cursor);
}

void mlq_protopipe_free_schedules(struct mlq_msg *m)
{
    free(m->u.schedules.name);
    free(m->u.schedules.cursor);
}

void mlq_protopipe_enc_schedule_list(msgpack_packer *pk, const struct mlq_msg *m)
{
    uint32_t n = m->u.schedule_list.schedules ? m->u.schedule_list.nschedules : 0;
    mlq_mpk_kv_array(pk, "schedules", n);
    for (uint32_t i = 0; i < n; i++)
        put_scheduleinfo(pk, &m->u.schedule_list.schedules[i]);
    mlq_mpk_kv_str(pk, "next", m->u.schedule_list.next);
}

int mlq_protopipe_dec_schedule_list(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_str(mp, "next", MLQ_MAX_CURSOR, true, &m->u.schedule_list.next);
    if (rc == 0)
        rc = mlq_mpk_read_array(mp, "schedules", 0, MLQ_MAX_SCHEDULES, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    m->u.schedule_list.schedules = calloc(a->size, sizeof *m->u.schedule_list.schedules);
    if (!m->u.schedule_list.schedules)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "schedule_list: out of memory");
    m->u.schedule_list.nschedules = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map sm;
        rc = mlq_mpk_map_init(&sm, &a->ptr[i], "scheduleinfo", mp->err);
        if (rc == 0)
            rc = read_scheduleinfo(&sm, &m->u.schedule_list.schedules[i]);
    }
    return rc;
}

void mlq_protopipe_free_schedule_list(struct mlq_msg *m)
{
    for (uint32_t i = 0; m->u.schedule_list.schedules && i < m->u.schedule_list.nschedules; i++)
        mlq_proto_scheduleinfo_free(&m->u.schedule_list.schedules[i]);
    free(m->u.schedule_list.schedules);
    free(m->u.schedule_list.next);
}
