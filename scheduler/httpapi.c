/* httpapi: the /api/v1 routes (docs/openapi.yaml). Each route turns the
 * request into the protocol message `mlq` would send, calls the loop
 * (mlq_http_call) and renders the answer with jsonview, the builder the
 * CLI's --json uses, so both print the same documents. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpint.h"
#include "jsonview.h"
#include "res.h"

#define LIST_MAX        1000 /* ?limit= */
#define LIST_SCAN_PAGES 20   /* pages a filtered listing reads at most */
#define SUBMIT_MAX      1000 /* jobs in one array body */
#define POLL_MS         250  /* wait and log-follow polling */
#define PATH_MAX_PART   64

static const char *arg(struct mlq_http_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

static bool is(struct mlq_http_req *r, const char *m)
{
    return strcmp(r->method, m) == 0;
}

static enum MHD_Result fail(struct mlq_http_req *r, int rc, const struct mlq_err *e)
{
    return mlq_http_error(r->conn, rc, e && e->msg[0] ? e->msg : mlq_strerror(rc));
}

static enum MHD_Result bad(struct mlq_http_req *r, const char *msg)
{
    return mlq_http_error(r->conn, MLQ_EINVAL, msg);
}

/* A non-negative decimal query parameter of at most max; def when absent. */
static int num_arg(struct mlq_http_req *r, const char *key, int64_t def, int64_t max, int64_t *out,
                   struct mlq_err *err)
{
    const char *v = arg(r, key);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    long long n = strtoll(v, &end, 10);
    if (!*v || *end || n < 0 || n > max)
        return mlq_err_set(err, MLQ_EINVAL, "%s must be a whole number from 0 to %lld", key,
                           (long long)max);
    *out = n;
    return 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- jobs ---------------------------------------------------------------- */

static bool match(const char *want, const char *have)
{
    return !want || (have && strcmp(want, have) == 0);
}

/* The jobs page: filters by state in the store; by user, name and pool
 * here, reading further pages (at most LIST_SCAN_PAGES) to fill the page. */
static enum MHD_Result list_jobs(struct mlq_http_req *r)
{
    struct mlq_err e = {0};
    int64_t limit = 0;
    int rc = num_arg(r, "limit", 100, LIST_MAX, &limit, &e);
    if (rc < 0)
        return fail(r, rc, &e);
    if (limit == 0)
        limit = 100;
    const char *st = arg(r, "state"), *user = arg(r, "user"), *name = arg(r, "name"),
               *pool = arg(r, "pool"), *cursor = arg(r, "cursor");
    int state = -1;
    if (st && *st && (state = mlq_job_state_parse(st)) < 0)
        return bad(r, "state must be one of PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED, "
                      "TIMED_OUT, ...");
    if (cursor && strlen(cursor) > 20)
        return bad(r, "bad cursor");
    bool filtered = (user && *user) || (name && *name) || (pool && *pool);
    json_t *jobs = json_array();
    char next[32] = "";
    bool more = false;
    if (cursor && *cursor)
        snprintf(next, sizeof next, "%s", cursor);
    for (int page = 0; jobs && page < (filtered ? LIST_SCAN_PAGES : 1); page++) {
        struct mlq_msg req = {.type = MLQ_MSG_JOBS}, rep;
        req.u.jobs.state = state;
        /* Never more than still fits: a reply is then always taken whole,
         * and its `next` is exactly where the following page starts. */
        req.u.jobs.limit = (uint32_t)(limit - (int64_t)json_array_size(jobs));
        req.u.jobs.cursor = next[0] ? next : NULL;
        if ((rc = mlq_http_call(r, &req, &rep, MLQ_HTTP_CALL_MS, &e)) < 0) {
            json_decref(jobs);
            return fail(r, rc, &e);
        }
        uint32_t i = 0;
        for (; i < rep.u.job_list.njobs && json_array_size(jobs) < (size_t)limit; i++) {
            const struct mlq_jobinfo *j = &rep.u.job_list.jobs[i];
            if (!match(user && *user ? user : NULL, j->owner) ||
                !match(name && *name ? name : NULL, j->name) ||
                !match(pool && *pool ? pool : NULL, j->pool && *j->pool ? j->pool : "default"))
                continue;
            json_array_append_new(jobs, mlq_jsonview_job(j));
        }
        more = rep.u.job_list.next != NULL;
        snprintf(next, sizeof next, "%s", rep.u.job_list.next ? rep.u.job_list.next : "");
        mlq_proto_msg_free(&rep);
        if (!more || json_array_size(jobs) >= (size_t)limit)
            break;
    }
    json_t *doc = jobs ? json_pack("{s:o, s:o}", "jobs", jobs, "next",
                                   more && next[0] ? json_string(next) : json_null())
                       : NULL;
    return mlq_http_json(r->conn, MHD_HTTP_OK, doc);
}

/* One job (or array) by id prefix, with its attempts. */
static int get_job(struct mlq_http_req *r, const char *id, struct mlq_msg *rep, struct mlq_err *e)
{
    struct mlq_msg req = {.type = MLQ_MSG_JOBS};
    char *ids[1] = {(char *)id};
    req.u.jobs.ids = ids;
    req.u.jobs.nids = 1;
    req.u.jobs.state = -1;
    int rc = mlq_http_call(r, &req, rep, MLQ_HTTP_CALL_MS, e);
    if (rc == 0 && rep->u.job_list.njobs + rep->u.job_list.narrays == 0) {
        mlq_proto_msg_free(rep);
        rc = mlq_err_set(e, MLQ_ENOTFOUND, "no job %.40s", id);
    }
    return rc;
}

static json_t *job_doc(const struct mlq_msg *rep)
{
    return rep->u.job_list.njobs ? mlq_jsonview_job_status(&rep->u.job_list.jobs[0])
                                 : mlq_jsonview_array(&rep->u.job_list.arrays[0]);
}

static bool job_ended(const struct mlq_msg *rep)
{
    if (rep->u.job_list.njobs)
        return mlq_job_state_terminal(rep->u.job_list.jobs[0].state);
    const struct mlq_arrayinfo *a = &rep->u.job_list.arrays[0];
    return mlq_jsonview_array_ended(a) >= a->size;
}

static enum MHD_Result show_job(struct mlq_http_req *r, const char *id)
{
    struct mlq_err e = {0};
    struct mlq_msg rep;
    int rc = get_job(r, id, &rep, &e);
    if (rc < 0)
        return fail(r, rc, &e);
    json_t *doc = job_doc(&rep);
    mlq_proto_msg_free(&rep);
    return mlq_http_json(r->conn, MHD_HTTP_OK, doc);
}

static enum MHD_Result cancel_job(struct mlq_http_req *r, const char *id)
{
    struct mlq_err e = {0};
    struct mlq_msg req = {.type = MLQ_MSG_CANCEL}, rep;
    char *ids[1] = {(char *)id};
    req.u.cancel.ids = ids;
    req.u.cancel.nids = 1;
    int rc = mlq_http_call(r, &req, &rep, MLQ_HTTP_CALL_MS, &e);
    if (rc < 0)
        return fail(r, rc, &e);
    json_t *doc;
    if (rep.u.job_list.njobs) {
        const struct mlq_jobinfo *j = &rep.u.job_list.jobs[0];
        doc = json_pack("{s:s, s:b}", "id", j->id, "cancelled", j->state == MLQ_JOB_CANCELLED);
    } else if (rep.u.job_list.narrays) {
        doc = json_pack("{s:s, s:b}", "id", rep.u.job_list.arrays[0].id, "cancelled", 1);
    } else {
        doc = NULL;
    }
    mlq_proto_msg_free(&rep);
    if (!doc)
        return mlq_http_error(r->conn, MLQ_ENOTFOUND, "no such job");
    return mlq_http_json(r->conn, MHD_HTTP_OK, doc);
}

static enum MHD_Result wait_job(struct mlq_http_req *r, const char *id)
{
    struct mlq_err e = {0};
    int64_t timeout_ms = 30000;
    const char *t = arg(r, "timeout");
    if (t && (mlq_res_parse_duration(t, &timeout_ms, &e) < 0 || timeout_ms > MLQ_HTTP_MAX_WAIT_MS))
        return bad(r, "timeout must be a duration of at most 5m (e.g. 30s)");
    int64_t waited = 0;
    for (;;) {
        struct mlq_msg rep;
        int rc = get_job(r, id, &rep, &e);
        if (rc < 0)
            return fail(r, rc, &e);
        bool done = job_ended(&rep);
        if (done || waited >= timeout_ms || mlq_http_stopping(r)) {
            json_t *doc = job_doc(&rep);
            mlq_proto_msg_free(&rep);
            return mlq_http_json(r->conn, done ? MHD_HTTP_OK : MHD_HTTP_REQUEST_TIMEOUT, doc);
        }
        mlq_proto_msg_free(&rep);
        int step = timeout_ms - waited < POLL_MS * 2 ? (int)(timeout_ms - waited) : POLL_MS * 2;
        sleep_ms(step > 0 ? step : 1);
        waited += step > 0 ? step : 1;
    }
}

static enum MHD_Result why_job(struct mlq_http_req *r, const char *id)
{
    struct mlq_err e = {0};
    struct mlq_msg req = {.type = MLQ_MSG_WHY}, rep;
    req.u.why.job = (char *)id;
    int rc = mlq_http_call(r, &req, &rep, MLQ_HTTP_CALL_MS, &e);
    if (rc < 0)
        return fail(r, rc, &e);
    json_t *doc = mlq_jsonview_why(&rep);
    mlq_proto_msg_free(&rep);
    return mlq_http_json(r->conn, MHD_HTTP_OK, doc);
}

/* The run manifest of the latest attempt, or of ?attempt=N: the document
 * itself, as `mlq manifest --json` prints it. */
static enum MHD_Result manifest_job(struct mlq_http_req *r, const char *id)
{
    struct mlq_err e = {0};
    struct mlq_msg req = {.type = MLQ_MSG_MANIFEST}, rep;
    const char *a = arg(r, "attempt");
    char *end = NULL;
    long n = a ? strtol(a, &end, 10) : 0;
    if (a && (!*a || *end || n < 1 || n > MLQ_MAX_RETRIES + 1))
        return bad(r, "attempt must be an attempt number (1, 2, ...)");
    req.u.manifest.job = (char *)id;
    req.u.manifest.attempt = (int32_t)n;
    int rc = mlq_http_call(r, &req, &rep, MLQ_HTTP_CALL_MS, &e);
    if (rc < 0)
        return fail(r, rc, &e);
    json_t *doc = json_loads(rep.u.manifest_data.json, 0, NULL);
    mlq_proto_msg_free(&rep);
    if (!doc)
        return mlq_http_error(r->conn, MLQ_EPROTO, "the stored manifest is not JSON");
    return mlq_http_json(r->conn, MHD_HTTP_OK, doc);
}

/* ---- logs ------------------------------------------------------------------ */

struct follow {
    struct mlq_http_req r; /* the connection outlives the handler */
    char id[PATH_MAX_PART + 1];
    char hash[65];
    enum mlq_stream stream;
    int64_t offset;
};

static int read_log(struct mlq_http_req *r, const char *id, enum mlq_stream stream, int64_t offset,
                    uint32_t max, struct mlq_msg *rep, struct mlq_err *e)
{
    struct mlq_msg req = {.type = MLQ_MSG_LOGS};
    req.u.logs.job = (char *)id;
    req.u.logs.stream = stream;
    req.u.logs.offset = offset;
    req.u.logs.max = max > MLQ_MAX_LOG_CHUNK ? MLQ_MAX_LOG_CHUNK : max;
    return mlq_http_call(r, &req, rep, MLQ_HTTP_CALL_MS, e);
}

/* Chunked body of ?follow=1: reads what the job wrote past the offset,
 * waiting (in this connection's thread) while there is nothing new; ends
 * when the job has ended and everything was sent. */
static ssize_t follow_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct follow *f = cls;
    for (;;) {
        if (mlq_http_stopping(&f->r))
            return MHD_CONTENT_READER_END_OF_STREAM;
        struct mlq_msg rep;
        struct mlq_err e = {0};
        int rc = read_log(&f->r, f->id, f->stream, f->offset, (uint32_t)(max > 65536 ? 65536 : max),
                          &rep, &e);
        if (rc == MLQ_EUNAVAIL) { /* worker briefly unreachable: try again */
            sleep_ms(POLL_MS * 4);
            continue;
        }
        if (rc < 0)
            return MHD_CONTENT_READER_END_WITH_ERROR;
        uint32_t n = rep.u.log_data.len;
        bool done = rep.u.log_data.done;
        if (n > max)
            n = (uint32_t)max;
        if (n)
            memcpy(buf, rep.u.log_data.data, n);
        f->offset = rep.u.log_data.offset + n;
        mlq_proto_msg_free(&rep);
        if (n)
            return (ssize_t)n;
        if (done)
            return MHD_CONTENT_READER_END_OF_STREAM;
        sleep_ms(POLL_MS);
    }
}

static void follow_free(void *cls)
{
    free(cls);
}

static enum MHD_Result logs_job(struct mlq_http_req *r, const char *id)
{
    struct mlq_err e = {0};
    const char *s = arg(r, "stream");
    enum mlq_stream stream = MLQ_STREAM_STDOUT;
    if (s && strcmp(s, "stderr") == 0)
        stream = MLQ_STREAM_STDERR;
    else if (s && strcmp(s, "stdout") != 0)
        return bad(r, "stream must be stdout or stderr");
    int64_t offset = 0, max = 0, follow = 0;
    int rc = num_arg(r, "offset", 0, INT64_MAX / 2, &offset, &e);
    if (rc == 0)
        rc = num_arg(r, "max", MLQ_MAX_LOG_CHUNK, MLQ_MAX_LOG_CHUNK, &max, &e);
    if (rc == 0)
        rc = num_arg(r, "follow", 0, 1, &follow, &e);
    if (rc < 0)
        return fail(r, rc, &e);
    struct mlq_msg rep;
    /* The first read checks the job and the caller's right to it, so that
     * a follow of a job one may not read is a 403, not an empty stream. */
    rc = read_log(r, id, stream, offset, follow ? 1 : (uint32_t)(max ? max : 1), &rep, &e);
    if (rc < 0)
        return fail(r, rc, &e);
    struct MHD_Response *resp;
    if (follow) {
        mlq_proto_msg_free(&rep);
        struct follow *f = calloc(1, sizeof *f);
        if (!f)
            return MHD_NO;
        f->r = *r;
        snprintf(f->id, sizeof f->id, "%s", id);
        f->stream = stream;
        f->offset = offset;
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, follow_read, f,
                                                 follow_free);
        if (!resp) {
            free(f);
            return MHD_NO;
        }
    } else {
        resp = MHD_create_response_from_buffer(rep.u.log_data.len, rep.u.log_data.data,
                                               MHD_RESPMEM_MUST_COPY);
        char hdr[32];
        snprintf(hdr, sizeof hdr, "%lld",
                 (long long)(rep.u.log_data.offset + (int64_t)rep.u.log_data.len));
        if (resp) {
            MHD_add_response_header(resp, "X-Mlq-Next-Offset", hdr);
            MHD_add_response_header(resp, "X-Mlq-Eof", rep.u.log_data.done ? "1" : "0");
        }
        mlq_proto_msg_free(&rep);
        if (!resp)
            return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    enum MHD_Result res = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return res;
}

/* ---- submit ------------------------------------------------------------------ */

static json_t *submit_one(struct mlq_http_req *r, const json_t *o, int *rc, struct mlq_err *e)
{
    struct mlq_msg req = {.type = MLQ_MSG_SUBMIT}, rep;
    *rc = mlq_httpsubmit_spec(o, &req.u.submit.spec, e);
    if (*rc == 0)
        *rc = mlq_http_call(r, &req, &rep, MLQ_HTTP_CALL_MS, e);
    bool arr = req.u.submit.spec.array != NULL;
    mlq_proto_jobspec_free(&req.u.submit.spec);
    if (*rc < 0)
        return NULL;
    json_t *doc = json_pack("{s:s, s:b}", "id", rep.u.submitted.id, "is_array", (int)arr);
    mlq_proto_msg_free(&rep);
    return doc;
}

/* ?dry_run=1: the estimate of one job object, nothing stored (200). */
static enum MHD_Result dry_run(struct mlq_http_req *r, const json_t *in)
{
    struct mlq_err e = {0};
    struct mlq_msg req = {.type = MLQ_MSG_ESTIMATE}, rep;
    int rc = json_is_object(in) ? mlq_httpsubmit_spec(in, &req.u.submit.spec, &e)
                                : mlq_err_set(&e, MLQ_EINVAL, "a dry run takes one job object");
    if (rc == 0)
        rc = mlq_http_call(r, &req, &rep, MLQ_HTTP_CALL_MS, &e);
    mlq_proto_jobspec_free(&req.u.submit.spec);
    if (rc == 0 && rep.type != MLQ_MSG_WHY_REPLY) {
        mlq_proto_msg_free(&rep);
        rc = mlq_err_set(&e, MLQ_EPROTO, "unexpected answer to a dry run");
    }
    if (rc < 0)
        return fail(r, rc, &e);
    json_t *doc = mlq_jsonview_dry_run(&rep);
    mlq_proto_msg_free(&rep);
    return doc ? mlq_http_json(r->conn, MHD_HTTP_OK, doc)
               : mlq_http_error(r->conn, MLQ_ENOMEM, "out of memory");
}

static enum MHD_Result submit(struct mlq_http_req *r)
{
    json_error_t je;
    /* The body is bounded (1 MiB) before it gets here; jansson refuses bad
     * UTF-8, and nesting deeper than its limit. */
    json_t *in = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, &je);
    if (!in) {
        char msg[MLQ_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "body is not valid JSON: %.100s (line %d)", je.text, je.line);
        return bad(r, msg);
    }
    const char *dry = arg(r, "dry_run");
    if (dry && strcmp(dry, "0") != 0) {
        enum MHD_Result res =
            strcmp(dry, "1") == 0 ? dry_run(r, in) : bad(r, "dry_run must be 0 or 1");
        json_decref(in);
        return res;
    }
    struct mlq_err e = {0};
    int rc = 0;
    json_t *out = NULL;
    if (json_is_object(in)) {
        out = submit_one(r, in, &rc, &e);
    } else if (json_is_array(in) && json_array_size(in) > 0 && json_array_size(in) <= SUBMIT_MAX) {
        out = json_array();
        for (size_t i = 0; rc == 0 && out && i < json_array_size(in); i++) {
            json_t *one = submit_one(r, json_array_get(in, i), &rc, &e);
            if (rc < 0 && i > 0) { /* say which; the ones before stay submitted */
                char msg[MLQ_ERR_MSG_MAX];
                snprintf(msg, sizeof msg, "job %u: %.100s (jobs 0-%u were submitted)",
                         (unsigned)(i & 0xffff), e.msg, (unsigned)((i - 1) & 0xffff));
                snprintf(e.msg, sizeof e.msg, "%s", msg);
            } else if (rc < 0) {
                char msg[MLQ_ERR_MSG_MAX];
                snprintf(msg, sizeof msg, "job 0: %.150s", e.msg);
                snprintf(e.msg, sizeof e.msg, "%s", msg);
            }
            if (one)
                json_array_append_new(out, one);
        }
    } else {
        rc = mlq_err_set(&e, MLQ_EINVAL, "body must be a job object or an array of 1 to %d of them",
                         SUBMIT_MAX);
    }
    json_decref(in);
    if (rc < 0) {
        json_decref(out);
        return fail(r, rc, &e);
    }
    return mlq_http_json(r->conn, MHD_HTTP_CREATED, out);
}

/* ---- workers, schedules, events, usage ----------------------------------------- */

static enum MHD_Result list_workers(struct mlq_http_req *r)
{
    struct mlq_err e = {0};
    json_t *all = json_array();
    char cursor[MLQ_MAX_NAME + 1] = "";
    for (int page = 0; all && page < 100; page++) {
        struct mlq_msg req = {.type = MLQ_MSG_WORKERS}, rep;
        req.u.workers.cursor = cursor[0] ? cursor : NULL;
        int rc = mlq_http_call(r, &req, &rep, MLQ_HTTP_CALL_MS, &e);
        if (rc < 0) {
            json_decref(all);
            return fail(r, rc, &e);
        }
        for (uint32_t i = 0; i < rep.u.worker_list.nworkers; i++)
            json_array_append_new(all, mlq_jsonview_worker(&rep.u.worker_list.workers[i]));
        bool more = rep.u.worker_list.next && rep.u.worker_list.next[0];
        if (more)
            snprintf(cursor, sizeof cursor, "%s", rep.u.worker_list.next);
        mlq_proto_msg_free(&rep);
        if (!more)
            break;
    }
    return mlq_http_json(r->conn, MHD_HTTP_OK, all ? json_pack("{s:o}", "workers", all) : NULL);
}

static enum MHD_Result drain_worker(struct mlq_http_req *r, const char *name, bool drain)
{
    struct mlq_err e = {0};
    struct mlq_msg req = {.type = drain ? MLQ_MSG_DRAIN : MLQ_MSG_RESUME}, rep;
    req.u.drain.worker = (char *)name;
    json_t *in = NULL;
    if (drain && r->len) {
        json_error_t je;
        in = json_loadb(r->body, r->len, 0, &je);
        json_t *reason = in ? json_object_get(in, "reason") : NULL;
        if (!in || !json_is_object(in) || (reason && !json_is_string(reason))) {
            json_decref(in);
            return bad(r, "body must be {\"reason\": \"...\"} or empty");
        }
        if (reason && strlen(json_string_value(reason)) > 200) {
            json_decref(in);
            return bad(r, "reason is at most 200 bytes");
        }
        req.u.drain.reason = reason ? (char *)json_string_value(reason) : NULL;
    }
    int rc = mlq_http_call(r, &req, &rep, MLQ_HTTP_CALL_MS, &e);
    json_decref(in);
    if (rc < 0)
        return fail(r, rc, &e);
    bool draining = drain;
    for (uint32_t i = 0; i < rep.u.worker_list.nworkers; i++)
        if (rep.u.worker_list.workers[i].name &&
            strcmp(rep.u.worker_list.workers[i].name, name) == 0)
            draining = rep.u.worker_list.workers[i].draining;
    mlq_proto_msg_free(&rep);
    return mlq_http_json(r->conn, MHD_HTTP_OK,
                         json_pack("{s:s, s:b}", "worker", name, "draining", (int)draining));
}

static enum MHD_Result list_schedules(struct mlq_http_req *r)
{
    struct mlq_err e = {0};
    json_t *all = json_array();
    char cursor[MLQ_MAX_NAME + 1] = "";
    for (int page = 0; all && page < 100; page++) {
        struct mlq_msg req = {.type = MLQ_MSG_SCHEDULES}, rep;
        req.u.schedules.cursor = cursor[0] ? cursor : NULL;
        int rc = mlq_http_call(r, &req, &rep, MLQ_HTTP_CALL_MS, &e);
        if (rc < 0) {
            json_decref(all);
            return fail(r, rc, &e);
        }
        for (uint32_t i = 0; i < rep.u.schedule_list.nschedules; i++)
            json_array_append_new(all, mlq_jsonview_schedule(&rep.u.schedule_list.schedules[i]));
        bool more = rep.u.schedule_list.next && rep.u.schedule_list.next[0];
        if (more)
            snprintf(cursor, sizeof cursor, "%s", rep.u.schedule_list.next);
        mlq_proto_msg_free(&rep);
        if (!more)
            break;
    }
    return mlq_http_json(r->conn, MHD_HTTP_OK, all ? json_pack("{s:o}", "schedules", all) : NULL);
}

/* Admins only: the scheduler refuses anyone else (403). */
static enum MHD_Result list_quotas(struct mlq_http_req *r)
{
    struct mlq_err e = {0};
    struct mlq_msg req = {.type = MLQ_MSG_QUOTA_CMD}, rep;
    snprintf(req.u.quota_cmd.op, sizeof req.u.quota_cmd.op, "list");
    int rc = mlq_http_call(r, &req, &rep, MLQ_HTTP_CALL_MS, &e);
    if (rc < 0)
        return fail(r, rc, &e);
    json_t *doc = mlq_jsonview_quotas(rep.u.quota_list.quotas, rep.u.quota_list.nquotas);
    mlq_proto_msg_free(&rep);
    return mlq_http_json(r->conn, MHD_HTTP_OK, doc);
}

static enum MHD_Result list_events(struct mlq_http_req *r)
{
    struct mlq_err e = {0};
    int64_t since = 0, limit = 0;
    int rc = num_arg(r, "since_ms", 0, INT64_MAX / 2, &since, &e);
    if (rc == 0)
        rc = num_arg(r, "limit", 100, LIST_MAX, &limit, &e);
    const char *job = arg(r, "job");
    if (rc == 0 && job && (!*job || strlen(job) > MLQ_MAX_REF))
        rc = mlq_err_set(&e, MLQ_EINVAL, "job must be a job id or prefix");
    if (rc < 0)
        return fail(r, rc, &e);
    struct mlq_msg req = {.type = MLQ_MSG_EVENTS}, rep;
    req.u.events.job = (char *)job;
    req.u.events.since_ms = since;
    req.u.events.limit = (uint32_t)limit;
    if ((rc = mlq_http_call(r, &req, &rep, MLQ_HTTP_CALL_MS, &e)) < 0)
        return fail(r, rc, &e);
    json_t *doc = mlq_jsonview_events(rep.u.event_list.events, rep.u.event_list.nevents);
    mlq_proto_msg_free(&rep);
    return mlq_http_json(r->conn, MHD_HTTP_OK, doc);
}

/* ---- metrics ---------------------------------------------------------------- */

/* GET /metrics: the `metrics` request's text as it is (metrics.c renders
 * it on the loop), in the Prometheus text format 0.0.4. */
static enum MHD_Result metrics(struct mlq_http_req *r)
{
    if (!is(r, "GET"))
        return mlq_http_error_status(r->conn, MHD_HTTP_METHOD_NOT_ALLOWED, MLQ_EINVAL,
                                     "/metrics takes GET only");
    struct mlq_msg req = {.type = MLQ_MSG_METRICS}, rep;
    struct mlq_err e = {0};
    int rc = mlq_http_call(r, &req, &rep, MLQ_HTTP_CALL_MS, &e);
    if (rc < 0)
        return fail(r, rc, &e);
    struct MHD_Response *resp = NULL;
    if (rep.type == MLQ_MSG_METRICS_TEXT && rep.u.metrics_text.text)
        resp = MHD_create_response_from_buffer(strlen(rep.u.metrics_text.text),
                                               rep.u.metrics_text.text, MHD_RESPMEM_MUST_COPY);
    mlq_proto_msg_free(&rep);
    if (!resp)
        return mlq_http_error(r->conn, MLQ_EPROTO, "unexpected answer from the scheduler");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8");
    enum MHD_Result res = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return res;
}

/* ---- routing ----------------------------------------------------------------- */

/* Splits "/api/v1/a/b/c" after the prefix into at most 3 parts. */
static int split(const char *path, char parts[3][PATH_MAX_PART + 1])
{
    int n = 0;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (n == 3 || len > PATH_MAX_PART)
            return -1;
        memcpy(parts[n], p, len);
        parts[n][len] = '\0';
        n++;
        p += len;
    }
    return n;
}

enum MHD_Result mlq_httpapi_route(struct mlq_http_req *r)
{
    if (strcmp(r->path, "/metrics") == 0)
        return metrics(r);
    if (strncmp(r->path, "/api/v1/", 8) != 0)
        return mlq_http_error(r->conn, MLQ_ENOTFOUND, "unknown API path (this is /api/v1)");
    char p[3][PATH_MAX_PART + 1];
    int n = split(r->path + 8, p);
    bool get = is(r, "GET"), post = is(r, "POST");
    if (n < 1)
        return mlq_http_error(r->conn, MLQ_ENOTFOUND, "unknown API path");
    if (strcmp(r->path, MLQ_HTTP_BATCH_PATH) == 0)
        return post ? mlq_httpsubmit_batch(r)
                    : mlq_http_error_status(r->conn, MHD_HTTP_METHOD_NOT_ALLOWED, MLQ_EINVAL,
                                            "method not allowed here");
    if (strcmp(p[0], "jobs") == 0) {
        if (n == 1 && get)
            return list_jobs(r);
        if (n == 1 && post)
            return submit(r);
        if (n == 2 && get)
            return show_job(r, p[1]);
        if (n == 3 && post && strcmp(p[2], "cancel") == 0)
            return cancel_job(r, p[1]);
        if (n == 3 && get && strcmp(p[2], "logs") == 0)
            return logs_job(r, p[1]);
        if (n == 3 && get && strcmp(p[2], "wait") == 0)
            return wait_job(r, p[1]);
        if (n == 3 && get && strcmp(p[2], "why") == 0)
            return why_job(r, p[1]);
        if (n == 3 && get && strcmp(p[2], "manifest") == 0)
            return manifest_job(r, p[1]);
    } else if (strcmp(p[0], "workers") == 0) {
        if (n == 1 && get)
            return list_workers(r);
        if (n == 3 && post && strcmp(p[2], "drain") == 0)
            return drain_worker(r, p[1], true);
        if (n == 3 && post && strcmp(p[2], "resume") == 0)
            return drain_worker(r, p[1], false);
    } else if (n == 1 && get && strcmp(p[0], "schedules") == 0) {
        return list_schedules(r);
    } else if (n == 1 && get && strcmp(p[0], "events") == 0) {
        return list_events(r);
    } else if (n == 1 && get && strcmp(p[0], "quotas") == 0) {
        return list_quotas(r);
    } else if (n == 1 && get && strcmp(p[0], "usage") == 0) {
        return mlq_httpapi_usage(r);
    } else if (n == 1 && get && strcmp(p[0], "accounting") == 0) {
        return mlq_httpapi_accounting(r);
    }
    /* A known resource asked with the wrong method is 405, anything else 404. */
    const char *sub = n == 3 ? p[2] : "";
    bool job_sub = !strcmp(sub, "cancel") || !strcmp(sub, "logs") || !strcmp(sub, "wait") ||
                   !strcmp(sub, "why") || !strcmp(sub, "manifest");
    bool worker_sub = !strcmp(sub, "drain") || !strcmp(sub, "resume");
    bool known = (strcmp(p[0], "jobs") == 0 && (n <= 2 || job_sub)) ||
                 (strcmp(p[0], "workers") == 0 && (n == 1 || worker_sub)) ||
                 (n == 1 && (strcmp(p[0], "schedules") == 0 || strcmp(p[0], "events") == 0 ||
                             strcmp(p[0], "usage") == 0 || strcmp(p[0], "accounting") == 0 ||
                             strcmp(p[0], "quotas") == 0));
    if (known)
        return mlq_http_error_status(r->conn, MHD_HTTP_METHOD_NOT_ALLOWED, MLQ_EINVAL,
                                     "method not allowed here");
    return mlq_http_error(r->conn, MLQ_ENOTFOUND, "unknown API path");
}
