/* mlq-hostile: a hostile client and a hostile worker that hold valid keys,
 * for tests/integration/test_hostile.sh ("Hostile input").
 *
 * It opens CURVE DEALER connections to the scheduler as a user and as a
 * worker (named as its key was registered) and sends N frames (default
 * 12000), all derived from --seed: random bytes; every prefix of a few real
 * encoded messages; bodies close to and above MLQ_MAX_MSG (the scheduler
 * drops a connection that sends one of the latter: we open a new one and go
 * on); real messages with one node swapped for a value of another type or
 * at an extreme; a few bytes that declare huge lengths; deep nesting;
 * unknown or malformed headers; valid messages out of order or from the
 * wrong role; wrong frame layouts. Now and then a connection with a key the
 * scheduler does not know tries too: it must never get an answer.
 *
 * Every --legit-every frames it asks `jobs` as the user on a fresh
 * connection, as `mlq` would, and counts the requests not answered within
 * 5 s. The last line on stdout is
 *   hostile: frames=N reconnects=R legit_ok=K legit_failed=F
 * and the exit status is 0 only when every legitimate request was answered,
 * every body up to BIG_ANSWERED bytes too, and no unknown key ever was.
 *
 * Also:
 *   mlq-hostile --keygen FILE      writes a key pair (FILE, FILE.pub)
 *   mlq-hostile --probe-unknown --scheduler ADDR --scheduler-key FILE.pub
 *                                  exits 0 when a fresh key is refused */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "bounds.h"
#include "clock.h"
#include "err.h"
#include "keys.h"
#include "proto.h"
#include "transport.h"

#define DEFAULT_FRAMES   12000
#define DEFAULT_LEGIT    500
#define LEGIT_TIMEOUT_MS 5000
#define SEND_TIMEOUT_MS  5000
#define STRANGER_EVERY   1000
#define STRANGER_WAIT_MS 200
#define CHILD_TIMEOUT_MS 20000
#define FAKE_ID          "ffffffff-ffff-4fff-bfff-ffffffffffff"
#define FAKE_PREFIX      "ffffffff-ffff"
#define HOSTILE_POOL     "hostile-nowhere"
#define LONG_STR         (MLQ_MAX_STR + 904)
/* Bodies up to this size must be answered. ZMQ_MAXMSGSIZE applies to the
 * frame on the wire, which CURVE makes 33 bytes longer than the body, so
 * the scheduler drops a connection that sends a body of MLQ_MAX_MSG. */
#define BIG_ANSWERED (MLQ_MAX_MSG - 64)
/* ... within this long: 4 MiB take a moment to travel and decode. */
#define BIG_TIMEOUT_MS 10000

enum exit_code { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_SETUP = 3 };

/* ---- deterministic randomness (splitmix64) ------------------------------ */

struct rng {
    uint64_t s;
};

static uint64_t rng_next(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint32_t rng_below(struct rng *r, uint32_t n)
{
    return n ? (uint32_t)(rng_next(r) % n) : 0;
}

/* ---- one outgoing message ------------------------------------------------ */

enum layout {
    LAY_NORMAL,      /* [] [body], as the protocol says */
    LAY_BODY_ONLY,   /* no delimiter */
    LAY_EXTRA_FRAME, /* [] [body] [body] */
    LAY_TWO_DELIMS,  /* [] [] [body] */
    LAY_FULL_DELIM,  /* [x] [body] */
    LAY_DELIM_ONLY,  /* [] */
    LAY_MANY_FRAMES, /* [] and 64 more */
    LAY_EMPTY_BODY,  /* [] [] */
    LAY_COUNT
};

enum conn_kind { CONN_USER, CONN_WORKER, CONN_COUNT };

struct frame {
    msgpack_sbuffer body;
    msgpack_packer pk; /* writes to body */
    enum layout layout;
    enum conn_kind conn;
    bool fresh_before; /* send it on a new connection */
};

static void frame_reset(struct frame *f)
{
    msgpack_sbuffer_clear(&f->body);
    f->layout = LAY_NORMAL;
    f->conn = CONN_USER;
    f->fresh_before = false;
}

static void put(struct frame *f, const void *p, size_t n)
{
    if (n > 0)
        msgpack_sbuffer_write(&f->body, p, n);
}

/* A msgpack header: tag, then len in width big-endian bytes. */
static void put_hdr(struct frame *f, uint8_t tag, uint64_t len, int width)
{
    uint8_t b[9] = {tag};
    for (int i = 0; i < width; i++)
        b[1 + i] = (uint8_t)(len >> (8 * (width - 1 - i)));
    put(f, b, 1 + (size_t)width);
}

static void put_random(struct frame *f, struct rng *r, size_t n)
{
    uint8_t chunk[256];
    while (n > 0) {
        size_t k = n < sizeof chunk ? n : sizeof chunk;
        for (size_t i = 0; i < k; i++)
            chunk[i] = (uint8_t)rng_next(r);
        put(f, chunk, k);
        n -= k;
    }
}

static void pk_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pk_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
    pk_str(pk, k);
    pk_str(pk, v);
}

static void pk_kv_uint(msgpack_packer *pk, const char *k, uint64_t v)
{
    pk_str(pk, k);
    msgpack_pack_uint64(pk, v);
}

/* The three keys every body starts with; the caller packed the map header. */
static void pk_head(msgpack_packer *pk, const char *type, uint64_t rid)
{
    pk_kv_uint(pk, "v", MLQ_PROTO_VERSION);
    pk_kv_str(pk, "t", type);
    pk_kv_uint(pk, "rid", rid);
}

/* Encodes msg into f's body; an encoder failure leaves it empty. */
static void put_msg(struct frame *f, const struct mlq_msg *msg)
{
    char *buf;
    size_t len;
    if (mlq_proto_encode(msg, &buf, &len, NULL) == 0) {
        put(f, buf, len);
        free(buf);
    }
}

/* ---- real messages of every type ---------------------------------------- */

/* Storage the pointers of a template message point into. */
struct tstore {
    char *argv[2], *env[1], *req[1], *ids[1], *labels[1];
    struct mlq_dep dep[1];
    struct mlq_held_attempt held[2];
    struct mlq_gpuinfo gpu[1];
    struct mlq_jobinfo job[1];
    struct mlq_workerinfo worker[1];
    struct mlq_userinfo user[1];
    struct mlq_eventinfo event[1];
    struct mlq_scheduleinfo sched[1];
    int32_t gpu_ids[1];
    uint8_t data[4];
};

/* What templates name: the hostile worker, and a key to offer in user_add
 * that nobody else uses (so an accepted one changes nothing that matters). */
struct tctx {
    const char *wname;
    const char *spare_pub;
};

/* A job that could never run on the real worker: its pool has no worker,
 * and it requires a label nobody carries. */
static void fill_spec(struct tstore *s, struct mlq_jobspec *sp)
{
    s->argv[0] = "true";
    s->argv[1] = "hostile";
    s->env[0] = "HOSTILE=1";
    s->req[0] = "hostile=yes";
    *sp = (struct mlq_jobspec){.name = "hostile",
                               .owner = "hostile",
                               .argv = s->argv,
                               .argc = 2,
                               .env = s->env,
                               .envc = 1,
                               .workdir = "/tmp",
                               .cpus_m = 100,
                               .mem = 1 << 20,
                               .retries = 1,
                               .time_limit_ms = 60000,
                               .priority = 5,
                               .pool = HOSTILE_POOL,
                               .require = s->req,
                               .nrequire = 1};
}

static void fill_requests(enum mlq_msg_type t, struct tstore *s, struct mlq_msg *m,
                          const struct tctx *c)
{
    s->ids[0] = FAKE_PREFIX;
    switch (t) {
    case MLQ_MSG_SUBMIT:
        fill_spec(s, &m->u.submit.spec);
        break;
    case MLQ_MSG_JOBS:
        m->u.jobs.ids = s->ids;
        m->u.jobs.nids = 1;
        m->u.jobs.state = MLQ_JOB_RUNNING;
        m->u.jobs.limit = 10;
        break;
    case MLQ_MSG_CANCEL:
        m->u.cancel.ids = s->ids;
        m->u.cancel.nids = 1;
        break;
    case MLQ_MSG_LOGS:
        m->u.logs.job = FAKE_PREFIX;
        m->u.logs.stream = MLQ_STREAM_STDERR;
        m->u.logs.offset = 5;
        m->u.logs.max = 100;
        break;
    case MLQ_MSG_DRAIN:
    case MLQ_MSG_RESUME:
        m->u.drain.worker = "hostile-nosuch";
        m->u.drain.reason = t == MLQ_MSG_DRAIN ? "hostile" : NULL;
        break;
    case MLQ_MSG_WHY:
        m->u.why.job = FAKE_PREFIX;
        break;
    case MLQ_MSG_SCHEDULE_ADD:
        s->sched[0] = (struct mlq_scheduleinfo){.name = "hostile-sched",
                                                .cron = "0 0 1 1 *",
                                                .timezone = "Europe/Paris",
                                                .concurrency = "skip",
                                                .catch_up_ms = 1000};
        fill_spec(s, &s->sched[0].spec);
        m->u.schedule_add.sched = s->sched[0];
        break;
    case MLQ_MSG_SCHEDULE_CMD:
        m->u.schedule_cmd.name = "hostile-nosuch";
        m->u.schedule_cmd.op = "pause";
        break;
    case MLQ_MSG_SCHEDULES:
        m->u.schedules.name = "hostile-nosuch";
        break;
    case MLQ_MSG_USER_ADD:
        snprintf(m->u.user_add.name, sizeof m->u.user_add.name, "hostile-spare");
        snprintf(m->u.user_add.key, sizeof m->u.user_add.key, "%s", c->spare_pub);
        snprintf(m->u.user_add.role, sizeof m->u.user_add.role, "user");
        break;
    case MLQ_MSG_USER_RM:
        snprintf(m->u.user_rm.name, sizeof m->u.user_rm.name, "hostile-nosuch");
        snprintf(m->u.user_rm.kind, sizeof m->u.user_rm.kind, "user");
        break;
    case MLQ_MSG_EVENTS:
        m->u.events.limit = 5;
        m->u.events.since_ms = 1;
        break;
    default: /* workers, users: no fields */
        break;
    }
}

static void fill_worker_msgs(enum mlq_msg_type t, struct tstore *s, struct mlq_msg *m,
                             const struct tctx *c)
{
    snprintf(s->held[0].attempt_id, sizeof s->held[0].attempt_id, FAKE_ID);
    memcpy(s->data, "abcd", 4);
    switch (t) {
    case MLQ_MSG_REGISTER:
        s->labels[0] = "hostile=yes";
        s->gpu[0] = (struct mlq_gpuinfo){.index = 0, .type = "fake", .model = "hostile"};
        m->u.reg.name = (char *)c->wname;
        m->u.reg.cpus_m = 1000;
        m->u.reg.mem = 1 << 30;
        m->u.reg.gpus = 1;
        m->u.reg.attempts = s->held;
        m->u.reg.nattempts = 1;
        m->u.reg.labels = s->labels;
        m->u.reg.nlabels = 1;
        m->u.reg.gpu_list = s->gpu;
        m->u.reg.ngpu_list = 1;
        break;
    case MLQ_MSG_HEARTBEAT:
        m->u.heartbeat.name = (char *)c->wname;
        break;
    case MLQ_MSG_REPORT:
        snprintf(m->u.report.attempt_id, sizeof m->u.report.attempt_id, FAKE_ID);
        m->u.report.phase = MLQ_PHASE_FINISHED;
        m->u.report.outcome = MLQ_OUT_EXITED;
        m->u.report.exit_code = 3;
        m->u.report.pid = 12345;
        m->u.report.detail = "hostile";
        break;
    case MLQ_MSG_LOG_CHUNK:
        m->u.log_chunk.token = 77;
        m->u.log_chunk.data = s->data;
        m->u.log_chunk.len = 4;
        m->u.log_chunk.size = 4;
        break;
    case MLQ_MSG_LOG_UPLOAD:
        snprintf(m->u.log_upload.attempt_id, sizeof m->u.log_upload.attempt_id, FAKE_ID);
        m->u.log_upload.data = s->data;
        m->u.log_upload.len = 4;
        m->u.log_upload.eof = true;
        break;
    default:
        break;
    }
}

static void fill_lists(enum mlq_msg_type t, struct tstore *s, struct mlq_msg *m,
                       const struct tctx *c)
{
    fill_spec(s, &s->sched[0].spec);
    switch (t) {
    case MLQ_MSG_JOB_LIST:
        s->job[0] = (struct mlq_jobinfo){.name = "hostile",
                                         .owner = "hostile",
                                         .argv = s->argv,
                                         .argc = 2,
                                         .workdir = "/tmp",
                                         .cpus_m = 1,
                                         .mem = 1,
                                         .exit_code = -1,
                                         .array_index = -1};
        snprintf(s->job[0].id, sizeof s->job[0].id, FAKE_ID);
        m->u.job_list.jobs = s->job;
        m->u.job_list.njobs = 1;
        break;
    case MLQ_MSG_WORKER_LIST:
        s->worker[0] =
            (struct mlq_workerinfo){.name = "hostile", .state = "UP", .cpus_m = 1, .mem = 1};
        m->u.worker_list.workers = s->worker;
        m->u.worker_list.nworkers = 1;
        break;
    case MLQ_MSG_SCHEDULE_LIST:
        s->sched[0].name = "hostile";
        s->sched[0].cron = "@daily";
        m->u.schedule_list.schedules = s->sched;
        m->u.schedule_list.nschedules = 1;
        break;
    case MLQ_MSG_USER_LIST:
        s->user[0] = (struct mlq_userinfo){.added_ms = 1};
        snprintf(s->user[0].name, sizeof s->user[0].name, "hostile");
        snprintf(s->user[0].role, sizeof s->user[0].role, "user");
        snprintf(s->user[0].key, sizeof s->user[0].key, "%s", c->spare_pub);
        m->u.user_list.users = s->user;
        m->u.user_list.nusers = 1;
        break;
    case MLQ_MSG_EVENT_LIST:
        s->event[0] = (struct mlq_eventinfo){.seq = 1, .time_ms = 1, .kind = "state"};
        m->u.event_list.events = s->event;
        m->u.event_list.nevents = 1;
        break;
    default:
        break;
    }
}

/* Messages only the scheduler sends, and replies. */
static void fill_replies(enum mlq_msg_type t, struct tstore *s, struct mlq_msg *m)
{
    switch (t) {
    case MLQ_MSG_ERROR:
        m->u.error.code = MLQ_EPROTO;
        m->u.error.msg = "hostile";
        break;
    case MLQ_MSG_SUBMITTED:
        snprintf(m->u.submitted.id, sizeof m->u.submitted.id, FAKE_ID);
        break;
    case MLQ_MSG_LOG_DATA:
        m->u.log_data.data = s->data;
        m->u.log_data.len = 4;
        m->u.log_data.size = 4;
        break;
    case MLQ_MSG_WHY_REPLY:
        snprintf(m->u.why_reply.job_id, sizeof m->u.why_reply.job_id, FAKE_ID);
        m->u.why_reply.blocker = "none";
        m->u.why_reply.text = "hostile";
        break;
    case MLQ_MSG_REGISTERED:
        m->u.registered.heartbeat_ms = 1000;
        m->u.registered.lease_ms = 5000;
        break;
    case MLQ_MSG_ASSIGN:
        snprintf(m->u.assign.attempt_id, sizeof m->u.assign.attempt_id, FAKE_ID);
        snprintf(m->u.assign.job_id, sizeof m->u.assign.job_id, FAKE_ID);
        m->u.assign.attempt = 1;
        fill_spec(s, &m->u.assign.spec);
        snprintf(s->dep[0].target, sizeof s->dep[0].target, FAKE_ID);
        m->u.assign.spec.deps = s->dep;
        m->u.assign.spec.ndeps = 1;
        m->u.assign.gpu_ids = s->gpu_ids;
        m->u.assign.ngpu_ids = 1;
        m->u.assign.kill_grace_ms = 1000;
        break;
    case MLQ_MSG_KILL:
        snprintf(m->u.kill.attempt_id, sizeof m->u.kill.attempt_id, FAKE_ID);
        m->u.kill.reason = "hostile";
        break;
    case MLQ_MSG_REPORT_ACK:
        snprintf(m->u.report_ack.attempt_id, sizeof m->u.report_ack.attempt_id, FAKE_ID);
        m->u.report_ack.accepted = true;
        break;
    case MLQ_MSG_LOG_READ:
        snprintf(m->u.log_read.attempt_id, sizeof m->u.log_read.attempt_id, FAKE_ID);
        m->u.log_read.token = 9;
        m->u.log_read.max = 10;
        break;
    case MLQ_MSG_LOG_UPLOAD_ACK:
        snprintf(m->u.log_upload_ack.attempt_id, sizeof m->u.log_upload_ack.attempt_id, FAKE_ID);
        break;
    default:
        break;
    }
}

static bool is_worker_type(enum mlq_msg_type t)
{
    return t >= MLQ_MSG_REGISTER && t <= MLQ_MSG_LOG_UPLOAD;
}

/* A real message of type t; its pointers point into s. */
static void fill_template(enum mlq_msg_type t, struct tstore *s, struct mlq_msg *m,
                          const struct tctx *c, uint64_t rid)
{
    memset(s, 0, sizeof *s);
    memset(m, 0, sizeof *m);
    m->type = t;
    m->rid = rid;
    fill_requests(t, s, m, c);
    fill_worker_msgs(t, s, m, c);
    fill_lists(t, s, m, c);
    fill_replies(t, s, m);
}

/* ---- templates: encoded real messages ----------------------------------- */

struct tmpl {
    enum mlq_msg_type type;
    char *buf;
    size_t len;
    uint32_t nodes;  /* msgpack objects in it, keys included */
    uint32_t cursor; /* next node to mutate */
};

/* Templates in this order: prefixes are cut from the first ones. */
static const enum mlq_msg_type tmpl_order[] = {
    MLQ_MSG_JOBS,       MLQ_MSG_HEARTBEAT,    MLQ_MSG_REPORT,         MLQ_MSG_REGISTER,
    MLQ_MSG_SUBMIT,     MLQ_MSG_LOG_UPLOAD,   MLQ_MSG_CANCEL,         MLQ_MSG_USER_ADD,
    MLQ_MSG_LOGS,       MLQ_MSG_LOG_CHUNK,    MLQ_MSG_DRAIN,          MLQ_MSG_RESUME,
    MLQ_MSG_WHY,        MLQ_MSG_SCHEDULE_ADD, MLQ_MSG_SCHEDULE_CMD,   MLQ_MSG_SCHEDULES,
    MLQ_MSG_USER_RM,    MLQ_MSG_USERS,        MLQ_MSG_EVENTS,         MLQ_MSG_WORKERS,
    MLQ_MSG_ASSIGN,     MLQ_MSG_KILL,         MLQ_MSG_REPORT_ACK,     MLQ_MSG_LOG_READ,
    MLQ_MSG_REGISTERED, MLQ_MSG_HB_ACK,       MLQ_MSG_LOG_UPLOAD_ACK, MLQ_MSG_ERROR,
    MLQ_MSG_OK,         MLQ_MSG_SUBMITTED,    MLQ_MSG_JOB_LIST,       MLQ_MSG_WORKER_LIST,
    MLQ_MSG_LOG_DATA,   MLQ_MSG_WHY_REPLY,    MLQ_MSG_SCHEDULE_LIST,  MLQ_MSG_USER_LIST,
    MLQ_MSG_EVENT_LIST,
};
#define NTMPL (sizeof tmpl_order / sizeof tmpl_order[0])

static uint32_t count_nodes(const msgpack_object *o)
{
    uint32_t n = 1;
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < o->via.array.size; i++)
            n += count_nodes(&o->via.array.ptr[i]);
    } else if (o->type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < o->via.map.size; i++)
            n += count_nodes(&o->via.map.ptr[i].key) + count_nodes(&o->via.map.ptr[i].val);
    }
    return n;
}

static int tmpl_build(struct tmpl *t, enum mlq_msg_type type, const struct tctx *c)
{
    struct tstore s;
    struct mlq_msg m;
    struct mlq_err e = {0};
    fill_template(type, &s, &m, c, 1000 + (uint64_t)type);
    t->type = type;
    t->cursor = 0;
    if (mlq_proto_encode(&m, &t->buf, &t->len, &e) < 0) {
        fprintf(stderr, "mlq-hostile: cannot encode a %s: %s\n", mlq_proto_type_name(type), e.msg);
        return -1;
    }
    /* Our own decoder must take every template: otherwise mutating it
     * would test nothing. */
    struct mlq_msg back;
    if (mlq_proto_decode(t->buf, t->len, &back, &e) < 0) {
        fprintf(stderr, "mlq-hostile: template %s does not decode: %s\n", mlq_proto_type_name(type),
                e.msg);
        return -1;
    }
    mlq_proto_msg_free(&back);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    msgpack_unpack_next(&up, t->buf, t->len, &off);
    t->nodes = count_nodes(&up.data);
    msgpack_unpacked_destroy(&up);
    return 0;
}

/* ---- one node swapped for a value of another type ------------------------ */

enum wrong {
    W_NIL,
    W_TRUE,
    W_UMAX,
    W_NEG,
    W_IMIN,
    W_ZERO,
    W_FLOAT,
    W_STR,
    W_LONG_STR,
    W_CTRL_STR,
    W_BIN,
    W_ARRAY0,
    W_ARRAY3,
    W_MAP0,
    W_MAP1,
    W_EXT,
    W_COUNT
};

static void pack_wrong(msgpack_packer *pk, enum wrong w)
{
    static const char ctrl[] = {'a', '\0', 'b', '\n', '\x1b', '\xff'};
    char big[LONG_STR];
    switch (w) {
    case W_NIL:
        msgpack_pack_nil(pk);
        break;
    case W_TRUE:
        msgpack_pack_true(pk);
        break;
    case W_UMAX:
        msgpack_pack_uint64(pk, UINT64_MAX);
        break;
    case W_NEG:
        msgpack_pack_int64(pk, -1);
        break;
    case W_IMIN:
        msgpack_pack_int64(pk, INT64_MIN);
        break;
    case W_ZERO:
        msgpack_pack_uint64(pk, 0);
        break;
    case W_FLOAT:
        msgpack_pack_double(pk, 1.5);
        break;
    case W_STR:
        pk_str(pk, "x");
        break;
    case W_LONG_STR:
        memset(big, 'A', sizeof big);
        msgpack_pack_str(pk, sizeof big);
        msgpack_pack_str_body(pk, big, sizeof big);
        break;
    case W_CTRL_STR:
        msgpack_pack_str(pk, sizeof ctrl);
        msgpack_pack_str_body(pk, ctrl, sizeof ctrl);
        break;
    case W_BIN:
        msgpack_pack_bin(pk, 4);
        msgpack_pack_bin_body(pk, "\0\1\2\3", 4);
        break;
    case W_ARRAY0:
        msgpack_pack_array(pk, 0);
        break;
    case W_ARRAY3:
        msgpack_pack_array(pk, 3);
        for (int i = 0; i < 3; i++)
            msgpack_pack_int(pk, i);
        break;
    case W_MAP0:
        msgpack_pack_map(pk, 0);
        break;
    case W_MAP1:
        msgpack_pack_map(pk, 1);
        pk_str(pk, "a");
        msgpack_pack_int(pk, 1);
        break;
    default:
        msgpack_pack_ext(pk, 4, 1);
        msgpack_pack_ext_body(pk, "abcd", 4);
        break;
    }
}

struct mutation {
    uint32_t target, seen;
    enum wrong kind;
};

static void pack_mutated(msgpack_packer *pk, const msgpack_object *o, struct mutation *m)
{
    if (m->seen++ == m->target) {
        pack_wrong(pk, m->kind);
        return;
    }
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        msgpack_pack_array(pk, o->via.array.size);
        for (uint32_t i = 0; i < o->via.array.size; i++)
            pack_mutated(pk, &o->via.array.ptr[i], m);
    } else if (o->type == MSGPACK_OBJECT_MAP) {
        msgpack_pack_map(pk, o->via.map.size);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            pack_mutated(pk, &o->via.map.ptr[i].key, m);
            pack_mutated(pk, &o->via.map.ptr[i].val, m);
        }
    } else {
        msgpack_pack_object(pk, *o);
    }
}

/* Template t with its next node (in turn) swapped for a random wrong value. */
static void put_mutated(struct frame *f, struct tmpl *t, struct rng *r)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    if (msgpack_unpack_next(&up, t->buf, t->len, &off) == MSGPACK_UNPACK_SUCCESS) {
        struct mutation m = {.target = t->cursor++ % t->nodes,
                             .kind = (enum wrong)rng_below(r, W_COUNT)};
        pack_mutated(&f->pk, &up.data, &m);
    }
    msgpack_unpacked_destroy(&up);
}

/* ---- the generators ------------------------------------------------------ */

struct opts {
    const char *endpoint, *server_key, *user_key, *worker_key, *worker_name, *keygen;
    bool probe;
    long frames, legit_every;
    long child; /* --oversize-child K; -1 when not a child */
    uint64_t seed;
};

struct hostile {
    const struct opts *o;
    void *zctx;
    const char *endpoint;
    const char *wname;
    struct mlq_curve curve[CONN_COUNT]; /* the user's and the worker's */
    struct mlq_keypair stranger;        /* known to nobody */
    struct mlq_keypair spare;           /* offered in user_add */
    void *sock[CONN_COUNT];
    struct tmpl tmpl[NTMPL];
    struct rng rng;
    uint64_t cursor[20]; /* per generator, at its first slot */
    size_t prefix_t, prefix_len;
    /* counters */
    long frames, reconnects, stalls, replies, oversized, big_unanswered, child_aborts,
        child_timeouts;
    long legit_ok, legit_failed, stranger_frames, stranger_replies;
    long prefixed; /* templates sent cut at every length */
    int64_t legit_max_ms;
    uint64_t legit_rid;
};

static struct tctx tctx_of(const struct hostile *h)
{
    return (struct tctx){.wname = h->wname, .spare_pub = h->spare.public_z85};
}

/* Random bytes, short ones mostly, some starting like a map. */
static void gen_random(struct hostile *h, struct frame *f, uint64_t k)
{
    static const uint32_t caps[] = {16, 256, 4096, 65536};
    size_t n = rng_below(&h->rng, caps[rng_below(&h->rng, 4)] + 1);
    if (n > 0 && k % 2 == 0) {
        uint8_t m = (uint8_t)(0x80 | rng_below(&h->rng, 16));
        put(f, &m, 1);
        n--;
    }
    put_random(f, &h->rng, n);
    f->conn = (enum conn_kind)(k % CONN_COUNT);
}

/* Every prefix (0..len-1 bytes) of the templates, first ones first. */
static void gen_prefix(struct hostile *h, struct frame *f, uint64_t k)
{
    (void)k;
    const struct tmpl *t = &h->tmpl[h->prefix_t];
    put(f, t->buf, h->prefix_len);
    f->conn = is_worker_type(t->type) ? CONN_WORKER : CONN_USER;
    if (++h->prefix_len >= t->len) {
        h->prefix_len = 0;
        h->prefix_t = (h->prefix_t + 1) % NTMPL;
        h->prefixed++;
    }
}

/* Each template in turn, with one of its nodes replaced. */
static void gen_wrong(struct hostile *h, struct frame *f, uint64_t k)
{
    struct tmpl *t = &h->tmpl[k % NTMPL];
    put_mutated(f, t, &h->rng);
    f->conn = is_worker_type(t->type) ? CONN_WORKER : CONN_USER;
}

/* A header of tag's kind declaring a length of up to its width's maximum. */
static void put_huge_hdr(struct hostile *h, struct frame *f)
{
    static const struct {
        uint8_t tag;
        int width;
    } hdr[] = {{0xdc, 2}, {0xdd, 4}, {0xde, 2}, {0xdf, 4}, {0xd9, 1}, {0xda, 2}, {0xdb, 4},
               {0xc4, 1}, {0xc5, 2}, {0xc6, 4}, {0xc7, 1}, {0xc8, 2}, {0xc9, 4}};
    size_t i = rng_below(&h->rng, sizeof hdr / sizeof hdr[0]);
    uint64_t max = hdr[i].width == 4 ? 0xffffffffULL : (1ULL << (8 * hdr[i].width)) - 1;
    uint64_t len = rng_below(&h->rng, 2) ? max : max / 2 + rng_below(&h->rng, (uint32_t)(max / 2));
    put_hdr(f, hdr[i].tag, len, hdr[i].width);
    if (hdr[i].tag >= 0xc7 && hdr[i].tag <= 0xc9) {
        uint8_t ext_type = 1;
        put(f, &ext_type, 1);
    }
}

/* A few bytes that declare far more than they hold. */
static void gen_hugelen(struct hostile *h, struct frame *f, uint64_t k)
{
    static const char *const keys[] = {"ids",  "spec",     "argv",   "attempts", "data",
                                       "name", "gpu_list", "labels", "env",      "users"};
    static const char *const types[] = {"jobs", "submit", "register", "log_upload", "user_add"};
    const struct tmpl *t = &h->tmpl[k % NTMPL];
    switch (k % 3) {
    case 0: /* a bare header */
        put_huge_hdr(h, f);
        break;
    case 1: /* a real message whose map claims 2^32-1 entries */
        put_hdr(f, 0xdf, 0xffffffffULL, 4);
        if (t->len > 0 && (uint8_t)t->buf[0] >= 0x80 && (uint8_t)t->buf[0] <= 0x8f)
            put(f, t->buf + 1, t->len - 1);
        else if (t->len > 3 && (uint8_t)t->buf[0] == 0xde)
            put(f, t->buf + 3, t->len - 3);
        break;
    default: /* a real header, then a field that claims the moon */
        msgpack_pack_map(&f->pk, 4);
        pk_head(&f->pk, types[rng_below(&h->rng, 5)], k);
        pk_str(&f->pk, keys[rng_below(&h->rng, 10)]);
        put_huge_hdr(h, f);
        break;
    }
    put_random(f, &h->rng, rng_below(&h->rng, 9));
    f->conn = (enum conn_kind)((k / 3) % CONN_COUNT);
}

/* Nesting at, just past and far past MLQ_MAX_DEPTH, alone or in a field. */
static void gen_deep(struct hostile *h, struct frame *f, uint64_t k)
{
    static const uint32_t depths[] = {
        MLQ_MAX_DEPTH - 1, MLQ_MAX_DEPTH, MLQ_MAX_DEPTH + 1, 64, 1000, 200000};
    uint32_t d = depths[k % 6];
    int style = (int)((k / 6) % 3);
    if (style == 2) {
        msgpack_pack_map(&f->pk, 4);
        pk_head(&f->pk, rng_below(&h->rng, 2) ? "jobs" : "register", k);
        pk_str(&f->pk, rng_below(&h->rng, 2) ? "ids" : "attempts");
    }
    for (uint32_t i = 0; i < d; i++) {
        if (style == 1)
            put(f, "\x81\xa1k", 3); /* {"k": ... */
        else
            put(f, "\x91", 1); /* [ ... */
    }
    put(f, "\x01", 1);
    f->conn = (enum conn_kind)((k / 18) % CONN_COUNT);
}

/* Headers that are wrong: unknown types, versions, ids, top levels. */
static void gen_unknown_a(struct hostile *h, struct frame *f, uint64_t k)
{
    msgpack_packer *pk = &f->pk;
    char name[LONG_STR];
    size_t n;
    switch (k % 8) {
    case 0:
        msgpack_pack_map(pk, 3);
        pk_head(pk, "nope", k);
        break;
    case 1:
        msgpack_pack_map(pk, 3);
        pk_head(pk, "", k);
        break;
    case 2:
        n = 1 + rng_below(&h->rng, 20);
        for (size_t i = 0; i < n; i++)
            name[i] = (char)(0x21 + rng_below(&h->rng, 94));
        name[n] = '\0';
        msgpack_pack_map(pk, 3);
        pk_head(pk, name, k);
        break;
    case 3:
        memset(name, 'j', sizeof name - 1);
        name[sizeof name - 1] = '\0';
        msgpack_pack_map(pk, 3);
        pk_head(pk, name, k);
        break;
    case 4: /* "submit\0x" */
        msgpack_pack_map(pk, 3);
        pk_kv_uint(pk, "v", 1);
        pk_str(pk, "t");
        msgpack_pack_str(pk, 8);
        msgpack_pack_str_body(pk, "submit\0x", 8);
        pk_kv_uint(pk, "rid", k);
        break;
    case 5: /* t is an int */
        msgpack_pack_map(pk, 3);
        pk_kv_uint(pk, "v", 1);
        pk_kv_uint(pk, "t", MLQ_MSG_SUBMIT);
        pk_kv_uint(pk, "rid", k);
        break;
    case 6:
        msgpack_pack_map(pk, 3);
        pk_head(pk, "JOBS", k);
        break;
    default:
        msgpack_pack_map(pk, 3);
        pk_head(pk, "?", k);
        break;
    }
}

static void gen_unknown_b(struct hostile *h, struct frame *f, uint64_t k)
{
    msgpack_packer *pk = &f->pk;
    (void)h;
    switch (k % 10) {
    case 0:
        msgpack_pack_map(pk, 2);
        pk_kv_uint(pk, "v", 1);
        pk_kv_uint(pk, "rid", k);
        break;
    case 1:
        msgpack_pack_map(pk, 3);
        pk_kv_uint(pk, "v", 2);
        pk_kv_str(pk, "t", "jobs");
        pk_kv_uint(pk, "rid", k);
        break;
    case 2:
        msgpack_pack_map(pk, 2);
        pk_kv_str(pk, "t", "workers");
        pk_kv_uint(pk, "rid", k);
        break;
    case 3:
        msgpack_pack_map(pk, 3);
        pk_kv_str(pk, "v", "1");
        pk_kv_str(pk, "t", "workers");
        pk_kv_uint(pk, "rid", k);
        break;
    case 4:
        msgpack_pack_map(pk, 3);
        pk_kv_uint(pk, "v", 1);
        pk_kv_str(pk, "t", "workers");
        pk_str(pk, "rid");
        msgpack_pack_int64(pk, -1);
        break;
    case 5:
        msgpack_pack_map(pk, 2);
        pk_kv_uint(pk, "v", 1);
        pk_kv_str(pk, "t", "users");
        break;
    case 6:
        msgpack_pack_array(pk, 3);
        msgpack_pack_int(pk, 1);
        pk_str(pk, "jobs");
        msgpack_pack_int(pk, 1);
        break;
    case 7:
        msgpack_pack_map(pk, 4);
        pk_head(pk, "workers", k);
        pk_kv_str(pk, "t", "register");
        break;
    case 8: /* a valid request drowned in 1000 unknown keys */
        msgpack_pack_map(pk, 1003);
        pk_head(pk, "workers", k);
        for (int i = 0; i < 1000; i++) {
            msgpack_pack_int(pk, i);
            msgpack_pack_nil(pk);
        }
        break;
    default: /* a valid request followed by a stray byte */
        msgpack_pack_map(pk, 3);
        pk_head(pk, "workers", k);
        put(f, "\xc0", 1);
        break;
    }
}

static void gen_unknown(struct hostile *h, struct frame *f, uint64_t k)
{
    if (k % 2 == 0)
        gen_unknown_a(h, f, k / 2);
    else
        gen_unknown_b(h, f, k / 2);
    f->conn = (enum conn_kind)((k / 7) % CONN_COUNT);
}

/* A valid message of type t with the given rid into f, after tweak. */
typedef void (*tweak_fn)(struct mlq_msg *m, struct tstore *s, uint64_t k);

static void put_real(struct hostile *h, struct frame *f, enum mlq_msg_type t, tweak_fn tweak,
                     uint64_t k)
{
    struct tstore s;
    struct mlq_msg m;
    struct tctx c = tctx_of(h);
    fill_template(t, &s, &m, &c, k);
    if (tweak)
        tweak(&m, &s, k);
    put_msg(f, &m);
}

/* Resources no machine has, one absurd field at a time or all at once. */
static void tweak_absurd(struct mlq_msg *m, struct tstore *s, uint64_t k)
{
    static const int64_t cpus[] = {0, -1, MLQ_MAX_CPUS_M + 1, INT64_MAX, MLQ_MAX_CPUS_M};
    static const int64_t mem[] = {0, -5, MLQ_MAX_MEM + 1, INT64_MAX, MLQ_MAX_MEM};
    static const int32_t gpus[] = {-1, MLQ_MAX_GPUS + 1, INT32_MAX, 0, MLQ_MAX_GPUS};
    (void)s;
    size_t i = (size_t)(k % 5);
    m->u.reg.cpus_m = cpus[i];
    m->u.reg.mem = mem[(i + 1) % 5];
    m->u.reg.gpus = gpus[(i + 2) % 5];
    m->u.reg.gpu_list = NULL;
    m->u.reg.ngpu_list = 0;
}

/* At the bounds: valid, and the biggest worker there could be. */
static void tweak_huge(struct mlq_msg *m, struct tstore *s, uint64_t k)
{
    (void)s;
    (void)k;
    m->u.reg.cpus_m = MLQ_MAX_CPUS_M;
    m->u.reg.mem = MLQ_MAX_MEM;
    m->u.reg.gpus = MLQ_MAX_GPUS;
    m->u.reg.gpu_list = NULL;
    m->u.reg.ngpu_list = 0;
}

static void tweak_gpu_mismatch(struct mlq_msg *m, struct tstore *s, uint64_t k)
{
    (void)s;
    m->u.reg.gpus = k % 2 ? 3 : 0; /* gpu_list has one entry */
}

static void tweak_impostor(struct mlq_msg *m, struct tstore *s, uint64_t k)
{
    (void)s;
    char *name = k % 2 ? "impostor" : "admin";
    if (m->type == MLQ_MSG_REGISTER)
        m->u.reg.name = name;
    else
        m->u.heartbeat.name = name;
}

static void tweak_started(struct mlq_msg *m, struct tstore *s, uint64_t k)
{
    (void)s;
    m->u.report.phase = MLQ_PHASE_STARTED;
    m->u.report.outcome = MLQ_OUT_NONE;
    m->u.report.pid = (int64_t)k;
}

static void tweak_upload_far(struct mlq_msg *m, struct tstore *s, uint64_t k)
{
    (void)s;
    m->u.log_upload.offset = INT64_MAX - (int64_t)(k % 7);
    m->u.log_upload.skipped = INT64_MAX;
    m->u.log_upload.stream = MLQ_STREAM_STDERR;
}

/* A worker's batch, as mlq-worker sends one: real worker messages, a user's
 * requests, a body that is no message and a batch inside the batch. The
 * scheduler must run each entry alone and refuse the bad ones alone. */
static void put_worker_batch(struct hostile *h, struct frame *f, uint64_t k)
{
    static const enum mlq_msg_type types[] = {MLQ_MSG_HEARTBEAT, MLQ_MSG_REPORT, MLQ_MSG_LOG_UPLOAD,
                                              MLQ_MSG_USER_ADD, MLQ_MSG_JOBS};
    enum { NTYPES = sizeof types / sizeof types[0] };
    char *body[NTYPES + 2];
    size_t len[NTYPES + 2];
    uint32_t n = 0;
    struct tctx c = tctx_of(h);
    for (size_t i = 0; i < NTYPES; i++) {
        struct tstore s;
        struct mlq_msg m;
        fill_template(types[(i + k) % NTYPES], &s, &m, &c, k + i);
        n += mlq_proto_encode(&m, &body[n], &len[n], NULL) == 0;
    }
    static const char cut[] = "\x81\xa1v"; /* a map cut short */
    body[n] = malloc(sizeof cut - 1);
    if (body[n]) {
        memcpy(body[n], cut, sizeof cut - 1);
        len[n++] = sizeof cut - 1;
    }
    struct mlq_msg b = {.type = MLQ_MSG_BATCH, .rid = k};
    b.u.batch.bodies = (const char **)body;
    b.u.batch.lens = len;
    b.u.batch.n = 2;
    n += mlq_proto_encode(&b, &body[n], &len[n], NULL) == 0;
    b.u.batch.n = n;
    put_msg(f, &b);
    for (uint32_t i = 0; i < n; i++)
        free(body[i]);
}

/* Valid messages in an order no real peer would send them, or from the
 * wrong role. Step 0 starts over on a fresh worker connection, so the
 * scheduler sees messages before any register. */
static void gen_order(struct hostile *h, struct frame *f, uint64_t k)
{
    static const enum mlq_msg_type to_worker[] = {
        MLQ_MSG_REGISTERED, MLQ_MSG_HB_ACK,   MLQ_MSG_ASSIGN,         MLQ_MSG_KILL,
        MLQ_MSG_REPORT_ACK, MLQ_MSG_LOG_READ, MLQ_MSG_LOG_UPLOAD_ACK, MLQ_MSG_BATCH};
    static const enum mlq_msg_type replies[] = {
        MLQ_MSG_ERROR,      MLQ_MSG_OK,           MLQ_MSG_SUBMITTED,   MLQ_MSG_JOB_LIST,
        MLQ_MSG_LOG_DATA,   MLQ_MSG_WHY_REPLY,    MLQ_MSG_WORKER_LIST, MLQ_MSG_USER_LIST,
        MLQ_MSG_EVENT_LIST, MLQ_MSG_SCHEDULE_LIST};
    uint64_t round = k / 16;
    f->conn = CONN_WORKER;
    switch (k % 16) {
    case 0:
        f->fresh_before = true;
        put_real(h, f, MLQ_MSG_HEARTBEAT, NULL, k);
        break;
    case 1:
        put_real(h, f, MLQ_MSG_REPORT, NULL, k);
        break;
    case 2:
        put_real(h, f, MLQ_MSG_LOG_UPLOAD, NULL, k);
        break;
    case 3:
        put_real(h, f, MLQ_MSG_LOG_CHUNK, NULL, k);
        break;
    case 4:
        put_real(h, f, MLQ_MSG_REGISTER, tweak_absurd, round);
        break;
    case 5:
        put_real(h, f, MLQ_MSG_REGISTER, tweak_gpu_mismatch, round);
        break;
    case 6:
        put_real(h, f, MLQ_MSG_REGISTER, tweak_impostor, round);
        break;
    case 7:
        put_real(h, f, MLQ_MSG_REGISTER, round % 2 ? tweak_huge : NULL, k);
        break;
    case 8:
        put_real(h, f, MLQ_MSG_REPORT, NULL, k);
        break;
    case 9:
        put_real(h, f, MLQ_MSG_REPORT, tweak_started, k);
        break;
    case 10:
        put_real(h, f, MLQ_MSG_HEARTBEAT, tweak_impostor, round);
        break;
    case 11:
        put_real(h, f, MLQ_MSG_LOG_UPLOAD, tweak_upload_far, k);
        break;
    case 12: {
        /* on even rounds case 7 registered this connection */
        if (round % 4 == 2)
            put_worker_batch(h, f, k);
        else
            put_real(h, f, to_worker[round % (sizeof to_worker / sizeof to_worker[0])], NULL, k);
        break;
    }
    case 13:
        f->conn = CONN_USER;
        put_real(h, f, replies[round % 10], NULL, k);
        break;
    case 14: /* a worker's messages from a user */
        f->conn = CONN_USER;
        put_real(h, f, round % 2 ? MLQ_MSG_REGISTER : MLQ_MSG_REPORT, NULL, k);
        break;
    default: /* a user's messages from a worker */
        put_real(h, f, round % 2 ? MLQ_MSG_JOBS : MLQ_MSG_USER_ADD, NULL, k);
        break;
    }
}

/* Valid bodies in wrong frame layouts. */
static void gen_layout(struct hostile *h, struct frame *f, uint64_t k)
{
    const struct tmpl *t = &h->tmpl[(k / (LAY_COUNT - 1)) % NTMPL];
    put(f, t->buf, t->len);
    f->layout = (enum layout)(1 + k % (LAY_COUNT - 1));
    f->conn = (enum conn_kind)((k / 3) % CONN_COUNT);
}

/* A valid `workers` request padded with an unknown bin key to total body
 * bytes (at least 64). */
static void put_padded(struct frame *f, size_t total, uint64_t rid)
{
    msgpack_pack_map(&f->pk, 4);
    pk_head(&f->pk, "workers", rid);
    pk_str(&f->pk, "pad");
    size_t pad = total - f->body.size - 5;
    msgpack_pack_bin(&f->pk, pad);
    char *zeros = calloc(1, pad);
    if (zeros)
        msgpack_pack_bin_body(&f->pk, zeros, pad);
    free(zeros);
}

/* Bodies close to and above MLQ_MAX_MSG, the k-th of them. */
static size_t oversize_len(uint64_t k)
{
    static const size_t sizes[] = {MLQ_MAX_MSG - 64, MLQ_MAX_MSG, MLQ_MAX_MSG + 1,
                                   MLQ_MAX_MSG + 4096, 2 * (size_t)MLQ_MAX_MSG};
    return sizes[k % 5];
}

static void gen_oversize(struct rng *r, struct frame *f, uint64_t k)
{
    size_t n = oversize_len(k);
    if (k % 2 == 0)
        put_padded(f, n, k);
    else
        put_random(f, r, n);
    f->conn = (enum conn_kind)((k / 5) % CONN_COUNT);
}

typedef void (*gen_fn)(struct hostile *h, struct frame *f, uint64_t k);

/* One round of 20 frames: mutations most, then the others. */
static const gen_fn schedule[20] = {
    gen_wrong, gen_random, gen_prefix, gen_wrong,   gen_hugelen, gen_order,  gen_unknown,
    gen_wrong, gen_layout, gen_prefix, gen_deep,    gen_wrong,   gen_random, gen_hugelen,
    gen_order, gen_wrong,  gen_prefix, gen_unknown, gen_layout,  gen_random,
};

static void generate(struct hostile *h, struct frame *f, long i)
{
    size_t slot = (size_t)(i % 20);
    gen_fn g = schedule[slot];
    size_t which = 0;
    while (which < 20 && schedule[which] != g)
        which++; /* the first slot of this generator indexes its cursor */
    g(h, f, h->cursor[which]++);
}

/* ---- the connections ----------------------------------------------------- */

static int set_int(void *s, int opt, int v)
{
    return zmq_setsockopt(s, opt, &v, sizeof v);
}

static int conn_open(struct hostile *h, enum conn_kind c)
{
    struct mlq_err e = {0};
    struct mlq_keypair kp;
    memcpy(kp.public_z85, h->curve[c].own_public, MLQ_KEY_Z85_SIZE);
    memcpy(kp.secret_z85, h->curve[c].own_secret, MLQ_KEY_Z85_SIZE);
    int rc = mlq_transport_dealer_curve(h->zctx, h->endpoint, h->curve[c].server_public, &kp,
                                        &h->sock[c], &e);
    if (rc < 0) {
        fprintf(stderr, "mlq-hostile: %s\n", e.msg);
        return rc;
    }
    /* Block under back-pressure, as a flooding peer would, but not forever;
     * give an oversized message time to leave before its socket closes. */
    set_int(h->sock[c], ZMQ_SNDTIMEO, SEND_TIMEOUT_MS);
    set_int(h->sock[c], ZMQ_LINGER, 2000);
    return 0;
}

static int conn_renew(struct hostile *h, enum conn_kind c)
{
    if (h->sock[c])
        zmq_close(h->sock[c]);
    h->sock[c] = NULL;
    h->reconnects++;
    return conn_open(h, c);
}

static int send_part(void *s, const void *p, size_t n, bool more)
{
    return zmq_send(s, p, n, more ? ZMQ_SNDMORE : 0) < 0 ? -1 : 0;
}

static int send_frame(void *s, const struct frame *f)
{
    const char *b = f->body.data ? f->body.data : "";
    size_t n = f->body.size;
    switch (f->layout) {
    case LAY_NORMAL:
        return send_part(s, "", 0, true) || send_part(s, b, n, false) ? -1 : 0;
    case LAY_BODY_ONLY:
        return send_part(s, b, n, false);
    case LAY_EXTRA_FRAME:
        return send_part(s, "", 0, true) || send_part(s, b, n, true) || send_part(s, b, n, false)
                   ? -1
                   : 0;
    case LAY_TWO_DELIMS:
        return send_part(s, "", 0, true) || send_part(s, "", 0, true) || send_part(s, b, n, false)
                   ? -1
                   : 0;
    case LAY_FULL_DELIM:
        return send_part(s, "x", 1, true) || send_part(s, b, n, false) ? -1 : 0;
    case LAY_DELIM_ONLY:
        return send_part(s, "", 0, false);
    case LAY_MANY_FRAMES:
        if (send_part(s, "", 0, true) < 0)
            return -1;
        for (int i = 0; i < 63; i++)
            if (send_part(s, b, n < 8 ? n : 8, true) < 0)
                return -1;
        return send_part(s, b, n, false);
    default:
        return send_part(s, "", 0, true) || send_part(s, "", 0, false) ? -1 : 0;
    }
}

/* Reads and drops whatever the scheduler answered; returns messages read. */
static long drain_socket(void *s)
{
    long n = 0;
    if (!s)
        return 0;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        int rc = zmq_msg_recv(&m, s, ZMQ_DONTWAIT);
        bool more = rc >= 0 && zmq_msg_more(&m);
        zmq_msg_close(&m);
        if (rc < 0)
            return n;
        if (!more)
            n++;
    }
}

/* What an oversize child does: its own context and connection, the frame,
 * and a short wait for an answer (a body up to BIG_ANSWERED gets one).
 * Exit status 0 when answered, 1 when not, 2 when it could not send. */
static int child_send(const struct mlq_curve *c, const char *endpoint, const struct frame *f)
{
    void *zctx = zmq_ctx_new(), *s = NULL;
    struct mlq_keypair kp;
    struct mlq_err e = {0};
    memcpy(kp.public_z85, c->own_public, MLQ_KEY_Z85_SIZE);
    memcpy(kp.secret_z85, c->own_secret, MLQ_KEY_Z85_SIZE);
    if (!zctx || mlq_transport_dealer_curve(zctx, endpoint, c->server_public, &kp, &s, &e) < 0)
        return 2;
    set_int(s, ZMQ_SNDTIMEO, SEND_TIMEOUT_MS);
    set_int(s, ZMQ_LINGER, 1000);
    int rc = send_frame(s, f) < 0 ? 2 : 1;
    zmq_pollitem_t it = {.socket = s, .events = ZMQ_POLLIN};
    if (rc == 1 && zmq_poll(&it, 1, f->body.size <= BIG_ANSWERED ? BIG_TIMEOUT_MS : 300) > 0)
        rc = 0;
    zmq_close(s);
    zmq_ctx_term(zctx);
    return rc;
}

/* Waits up to CHILD_TIMEOUT_MS for pid; kills it after that (returns 1). */
static int wait_child(pid_t pid, int *st)
{
    int64_t deadline = mlq_clock_mono_ms() + CHILD_TIMEOUT_MS;
    for (;;) {
        pid_t r = waitpid(pid, st, WNOHANG);
        if (r == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return -1;
        if (mlq_clock_mono_ms() >= deadline) {
            kill(pid, SIGKILL);
            while (waitpid(pid, st, 0) < 0 && errno == EINTR)
                ;
            return 1;
        }
        usleep(10 * 1000);
    }
}

/* Sends the k-th oversized body from a child process (this program again,
 * run with --oversize-child K), on a connection of its own. The scheduler
 * drops a connection that sends a frame above its ZMQ_MAXMSGSIZE, and
 * libzmq 4.3.4 may then abort the sender ("Assertion failed: !_io_error
 * (src/stream_engine_base.cpp:331)": its I/O thread handles a write event
 * after the read that failed, libzmq issue #4841). That must not end the
 * flood, so the child takes the risk. A fresh exec, not a bare fork: a
 * child forked from a process running libzmq's threads may deadlock. */
static int send_oversize(struct hostile *h, uint64_t k)
{
    char num[24], seed[24];
    snprintf(num, sizeof num, "%" PRIu64, k);
    snprintf(seed, sizeof seed, "%" PRIu64, h->o->seed);
    char *argv[] = {"mlq-hostile",
                    "--oversize-child",
                    num,
                    "--scheduler",
                    (char *)h->o->endpoint,
                    "--scheduler-key",
                    (char *)h->o->server_key,
                    "--user-key",
                    (char *)h->o->user_key,
                    "--worker-key",
                    (char *)h->o->worker_key,
                    "--worker-name",
                    (char *)h->o->worker_name,
                    "--seed",
                    seed,
                    NULL};
    pid_t pid;
    fflush(NULL);
    int err = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ);
    if (err != 0) {
        fprintf(stderr, "mlq-hostile: cannot start a child: %s\n", strerror(err));
        return -1;
    }
    int64_t t0 = mlq_clock_mono_ms();
    int st = 0, w = wait_child(pid, &st);
    if (w < 0)
        return -1;
    h->frames++;
    h->oversized++;
    h->reconnects++;
    if (w > 0)
        h->child_timeouts++;
    else if (WIFSIGNALED(st))
        h->child_aborts++;
    else if (WEXITSTATUS(st) == 2)
        return -1;
    bool answered = w == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (oversize_len(k) <= BIG_ANSWERED && !answered) {
        h->big_unanswered++;
        fprintf(stderr,
                "mlq-hostile: a body of %zu bytes (oversized frame %" PRIu64
                ") got no answer; its sender ran %" PRId64 " ms, status 0x%x\n",
                oversize_len(k), k, mlq_clock_mono_ms() - t0, (unsigned)st);
    }
    return 0;
}

static int send_one(struct hostile *h, const struct frame *f)
{
    if (f->fresh_before && conn_renew(h, f->conn) < 0)
        return -1;
    if (send_frame(h->sock[f->conn], f) < 0) {
        h->stalls++;
        fprintf(stderr, "mlq-hostile: send stalled (%s), reconnecting\n", zmq_strerror(errno));
        if (conn_renew(h, f->conn) < 0)
            return -1;
    }
    h->frames++;
    for (int c = 0; c < CONN_COUNT; c++)
        h->replies += drain_socket(h->sock[c]);
    return 0;
}

/* ---- the legitimate client and the stranger ------------------------------ */

static void legit(struct hostile *h)
{
    struct mlq_msg req = {.type = MLQ_MSG_JOBS, .rid = ++h->legit_rid};
    req.u.jobs.state = -1;
    req.u.jobs.limit = 1;
    struct mlq_msg reply;
    struct mlq_err e = {0};
    int64_t t0 = mlq_clock_mono_ms();
    int rc = mlq_transport_request_curve(h->zctx, h->endpoint, &h->curve[CONN_USER], &req, &reply,
                                         LEGIT_TIMEOUT_MS, &e);
    int64_t dt = mlq_clock_mono_ms() - t0;
    if (dt > h->legit_max_ms)
        h->legit_max_ms = dt;
    if (rc == 0 && reply.type == MLQ_MSG_JOB_LIST) {
        h->legit_ok++;
    } else {
        h->legit_failed++;
        fprintf(stderr,
                "mlq-hostile: legitimate request after %ld frames failed in %" PRId64 " ms: %s\n",
                h->frames, dt, rc < 0 ? e.msg : mlq_proto_type_name(reply.type));
    }
    if (rc == 0)
        mlq_proto_msg_free(&reply);
}

/* A connection with a key nobody registered sends a valid request and
 * garbage; the scheduler must refuse the handshake, so nothing comes back. */
static int stranger(struct hostile *h)
{
    void *s;
    struct mlq_err e = {0};
    if (mlq_transport_dealer_curve(h->zctx, h->endpoint, h->curve[CONN_USER].server_public,
                                   &h->stranger, &s, &e) < 0) {
        fprintf(stderr, "mlq-hostile: %s\n", e.msg);
        return -1;
    }
    struct frame f = {0};
    msgpack_sbuffer_init(&f.body);
    msgpack_packer_init(&f.pk, &f.body, msgpack_sbuffer_write);
    put(&f, h->tmpl[0].buf, h->tmpl[0].len);
    for (int i = 0; i < 3; i++) {
        zmq_send(s, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(s, f.body.data, f.body.size, ZMQ_DONTWAIT);
        h->stranger_frames++;
        frame_reset(&f);
        put_random(&f, &h->rng, 1 + rng_below(&h->rng, 64));
    }
    zmq_pollitem_t it = {.socket = s, .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, STRANGER_WAIT_MS) > 0)
        h->stranger_replies += drain_socket(s);
    set_int(s, ZMQ_LINGER, 0);
    zmq_close(s);
    msgpack_sbuffer_destroy(&f.body);
    return 0;
}

/* ---- set-up -------------------------------------------------------------- */

static int usage(const char *msg)
{
    if (msg)
        fprintf(stderr, "mlq-hostile: %s\n", msg);
    fprintf(stderr,
            "usage: mlq-hostile --scheduler ADDR --scheduler-key FILE.pub --user-key FILE\n"
            "                   --worker-key FILE --worker-name NAME [--frames N] [--seed N]\n"
            "                   [--legit-every N]\n"
            "       mlq-hostile --keygen FILE\n"
            "       mlq-hostile --probe-unknown --scheduler ADDR --scheduler-key FILE.pub\n");
    return EXIT_USAGE;
}

static int parse_num(const char *arg, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"scheduler", 1, NULL, 'a'},      {"scheduler-key", 1, NULL, 's'},
        {"user-key", 1, NULL, 'u'},       {"worker-key", 1, NULL, 'w'},
        {"worker-name", 1, NULL, 'n'},    {"frames", 1, NULL, 'f'},
        {"seed", 1, NULL, 'r'},           {"legit-every", 1, NULL, 'l'},
        {"keygen", 1, NULL, 'k'},         {"probe-unknown", 0, NULL, 'p'},
        {"oversize-child", 1, NULL, 'c'}, {NULL, 0, NULL, 0}};
    *o = (struct opts){
        .frames = DEFAULT_FRAMES, .legit_every = DEFAULT_LEGIT, .seed = 1, .child = -1};
    long v;
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'a':
            o->endpoint = optarg;
            break;
        case 's':
            o->server_key = optarg;
            break;
        case 'u':
            o->user_key = optarg;
            break;
        case 'w':
            o->worker_key = optarg;
            break;
        case 'n':
            o->worker_name = optarg;
            break;
        case 'k':
            o->keygen = optarg;
            break;
        case 'p':
            o->probe = true;
            break;
        case 'f':
            if (parse_num(optarg, 1, 10000000, &o->frames) < 0)
                return usage("--frames: expected 1..10000000");
            break;
        case 'l':
            if (parse_num(optarg, 1, 10000000, &o->legit_every) < 0)
                return usage("--legit-every: expected 1..10000000");
            break;
        case 'c':
            if (parse_num(optarg, 0, 10000000, &o->child) < 0)
                return usage("--oversize-child: expected 0..10000000");
            break;
        case 'r':
            if (parse_num(optarg, 0, LONG_MAX, &v) < 0)
                return usage("--seed: expected a non-negative integer");
            o->seed = (uint64_t)v;
            break;
        default:
            return usage(NULL);
        }
    }
    if (optind < argc)
        return usage("unexpected argument");
    if (o->keygen)
        return 0;
    if (!o->endpoint || !o->server_key)
        return usage("missing --scheduler or --scheduler-key");
    if (!o->probe && (!o->user_key || !o->worker_key || !o->worker_name))
        return usage("missing --user-key, --worker-key or --worker-name");
    return 0;
}

static int keygen(const char *path)
{
    struct mlq_keypair kp;
    struct mlq_err e = {0};
    if (mlq_keys_generate(&kp, &e) < 0 || mlq_keys_write(path, &kp, false, &e) < 0) {
        fprintf(stderr, "mlq-hostile: %s\n", e.msg);
        return EXIT_SETUP;
    }
    return EXIT_OK;
}

/* Fills c from a secret key file and the scheduler's public key. */
static int load_curve(struct mlq_curve *c, const char *key, const char *server_pub)
{
    struct mlq_keypair kp;
    struct mlq_err e = {0};
    if (mlq_keys_read_secret(key, &kp, &e) < 0) {
        fprintf(stderr, "mlq-hostile: %s\n", e.msg);
        return -1;
    }
    memcpy(c->server_public, server_pub, MLQ_KEY_Z85_SIZE);
    memcpy(c->own_public, kp.public_z85, MLQ_KEY_Z85_SIZE);
    memcpy(c->own_secret, kp.secret_z85, MLQ_KEY_Z85_SIZE);
    return 0;
}

/* A fresh key the scheduler cannot know must be refused, and fast. */
static int probe_unknown(void *zctx, const struct opts *o)
{
    char server_pub[MLQ_KEY_Z85_SIZE];
    struct mlq_keypair kp;
    struct mlq_err e = {0};
    if (mlq_keys_read_public(o->server_key, server_pub, &e) < 0 || mlq_keys_generate(&kp, &e) < 0) {
        fprintf(stderr, "mlq-hostile: %s\n", e.msg);
        return EXIT_SETUP;
    }
    struct mlq_curve c;
    memcpy(c.server_public, server_pub, MLQ_KEY_Z85_SIZE);
    memcpy(c.own_public, kp.public_z85, MLQ_KEY_Z85_SIZE);
    memcpy(c.own_secret, kp.secret_z85, MLQ_KEY_Z85_SIZE);
    struct mlq_msg req = {.type = MLQ_MSG_WORKERS, .rid = 1}, reply;
    int64_t t0 = mlq_clock_mono_ms();
    int rc = mlq_transport_request_curve(zctx, o->endpoint, &c, &req, &reply, LEGIT_TIMEOUT_MS, &e);
    int64_t dt = mlq_clock_mono_ms() - t0;
    if (rc == 0) {
        mlq_proto_msg_free(&reply);
        printf("probe: an unknown key was answered (%s)\n", mlq_proto_type_name(reply.type));
        return EXIT_FAILED;
    }
    printf("probe: rc=%d in %" PRId64 " ms: %s\n", rc, dt, e.msg);
    return rc == MLQ_EPERM ? EXIT_OK : EXIT_FAILED;
}

/* --oversize-child K: sends the K-th oversized body (see send_oversize). */
static int oversize_child(const struct opts *o)
{
    char server_pub[MLQ_KEY_Z85_SIZE];
    struct mlq_curve c;
    struct mlq_err e = {0};
    struct rng r = {.s = o->seed ^ (0x5bd1e995ULL * (uint64_t)(o->child + 1))};
    struct frame f = {0};
    if (mlq_keys_read_public(o->server_key, server_pub, &e) < 0) {
        fprintf(stderr, "mlq-hostile: %s\n", e.msg);
        return 2;
    }
    msgpack_sbuffer_init(&f.body);
    msgpack_packer_init(&f.pk, &f.body, msgpack_sbuffer_write);
    gen_oversize(&r, &f, (uint64_t)o->child);
    int rc = load_curve(&c, f.conn == CONN_USER ? o->user_key : o->worker_key, server_pub);
    if (rc == 0)
        rc = child_send(&c, o->endpoint, &f);
    else
        rc = 2;
    msgpack_sbuffer_destroy(&f.body);
    return rc;
}

static int hostile_init(struct hostile *h, void *zctx, const struct opts *o)
{
    char server_pub[MLQ_KEY_Z85_SIZE];
    struct mlq_err e = {0};
    memset(h, 0, sizeof *h);
    h->zctx = zctx;
    h->o = o;
    h->endpoint = o->endpoint;
    h->wname = o->worker_name;
    h->rng.s = o->seed;
    if (mlq_keys_read_public(o->server_key, server_pub, &e) < 0 ||
        mlq_keys_generate(&h->stranger, &e) < 0 || mlq_keys_generate(&h->spare, &e) < 0) {
        fprintf(stderr, "mlq-hostile: %s\n", e.msg);
        return -1;
    }
    if (load_curve(&h->curve[CONN_USER], o->user_key, server_pub) < 0 ||
        load_curve(&h->curve[CONN_WORKER], o->worker_key, server_pub) < 0)
        return -1;
    struct tctx c = tctx_of(h);
    for (size_t i = 0; i < NTMPL; i++)
        if (tmpl_build(&h->tmpl[i], tmpl_order[i], &c) < 0)
            return -1;
    if (conn_open(h, CONN_USER) < 0 || conn_open(h, CONN_WORKER) < 0)
        return -1;
    return 0;
}

static void hostile_fini(struct hostile *h)
{
    for (int c = 0; c < CONN_COUNT; c++)
        if (h->sock[c])
            zmq_close(h->sock[c]);
    for (size_t i = 0; i < NTMPL; i++)
        free(h->tmpl[i].buf);
}

/* The flood, with a legitimate request (after an oversized frame) every
 * legit_every frames and a stranger every STRANGER_EVERY. */
static int flood(struct hostile *h, const struct opts *o)
{
    struct frame f = {0};
    msgpack_sbuffer_init(&f.body);
    msgpack_packer_init(&f.pk, &f.body, msgpack_sbuffer_write);
    int rc = 0;
    uint64_t big = 0;
    for (long i = 0; rc == 0 && h->frames < o->frames; i++) {
        if (i % o->legit_every == 0) {
            rc = send_oversize(h, big++);
            legit(h);
        }
        if (rc == 0 && i % STRANGER_EVERY == STRANGER_EVERY / 2)
            rc = stranger(h);
        frame_reset(&f);
        generate(h, &f, i);
        if (rc == 0)
            rc = send_one(h, &f);
    }
    msgpack_sbuffer_destroy(&f.body);
    legit(h);
    return rc;
}

int main(int argc, char **argv)
{
    struct opts o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != 0)
        return rc;
    if (o.keygen)
        return keygen(o.keygen);
    if (o.child >= 0)
        return oversize_child(&o);
    void *zctx = zmq_ctx_new();
    if (!zctx) {
        fprintf(stderr, "mlq-hostile: cannot create a ZeroMQ context\n");
        return EXIT_SETUP;
    }
    if (o.probe) {
        rc = probe_unknown(zctx, &o);
        zmq_ctx_term(zctx);
        return rc;
    }
    struct hostile *h = calloc(1, sizeof *h);
    int64_t t0 = mlq_clock_mono_ms();
    rc = h && hostile_init(h, zctx, &o) == 0 ? EXIT_OK : EXIT_SETUP;
    if (rc == EXIT_OK && flood(h, &o) < 0)
        rc = EXIT_SETUP;
    if (h) {
        fprintf(stderr,
                "hostile: %" PRId64
                " ms, oversized=%ld big_unanswered=%ld child_aborts=%ld child_timeouts=%ld"
                " stalls=%ld replies=%ld prefixed=%ld stranger_frames=%ld stranger_replies=%ld"
                " legit_max_ms=%" PRId64 "\n",
                mlq_clock_mono_ms() - t0, h->oversized, h->big_unanswered, h->child_aborts,
                h->child_timeouts, h->stalls, h->replies, h->prefixed, h->stranger_frames,
                h->stranger_replies, h->legit_max_ms);
        printf("hostile: frames=%ld reconnects=%ld legit_ok=%ld legit_failed=%ld\n", h->frames,
               h->reconnects, h->legit_ok, h->legit_failed);
        if (rc == EXIT_OK && (h->legit_failed > 0 || h->legit_ok == 0 || h->stranger_replies > 0 ||
                              h->big_unanswered > 0))
            rc = EXIT_FAILED;
        hostile_fini(h);
    }
    free(h);
    zmq_ctx_term(zctx);
    return rc;
}
