/* httpint: what http.c (server, bridge to the loop, static files) shares
 * with httpapi.c (the /api/v1 routes) and httpsubmit.c (JSON job specs).
 * Nobody else includes it. */
#ifndef MLQ_HTTPINT_H
#define MLQ_HTTPINT_H

#include <jansson.h>
#include <microhttpd.h>
#include <stddef.h>

#include "err.h"
#include "proto.h"

#define MLQ_HTTP_MAX_BODY (1024 * 1024) /* request bodies, checked while uploading */
/* POST /api/v1/jobs:batch alone: up to MLQ_MAX_BULK_JOBS jobs. */
#define MLQ_HTTP_BATCH_PATH     "/api/v1/jobs:batch"
#define MLQ_HTTP_MAX_BATCH_BODY (64 * 1024 * 1024)
#define MLQ_HTTP_CALL_MS        10000        /* loop answer wait; then 503 */
#define MLQ_HTTP_MAX_WAIT_MS    (300 * 1000) /* /wait timeout cap */

struct mlq_http;
struct mlq_http_conn; /* per connection: its own DEALER to the loop */

struct mlq_http_req {
    struct mlq_http *h;
    struct MHD_Connection *conn;
    struct mlq_http_conn *hc;
    const char *method;
    const char *path; /* without the query */
    const char *body;
    size_t len;
    char hash[65]; /* SHA-256 hex of the bearer token */
};

/* Sends req to the loop as the request's principal and waits for the
 * answer. An `error` answer becomes its code and message; MLQ_EUNAVAIL when
 * the loop's queue is full or it did not answer in timeout_ms. */
int mlq_http_call(struct mlq_http_req *r, struct mlq_msg *req, struct mlq_msg *reply,
                  int timeout_ms, struct mlq_err *err);
/* True once the server is stopping: long polls give up. */
bool mlq_http_stopping(const struct mlq_http_req *r);

/* Responses. Each queues one and returns MHD's result; doc is stolen. */
enum MHD_Result mlq_http_json(struct MHD_Connection *c, unsigned status, json_t *doc);
/* {"error": {code, message}} with the HTTP status for code (400, 401, 403,
 * 404, 409, 413, 503, 500). */
enum MHD_Result mlq_http_error(struct MHD_Connection *c, int code, const char *msg);
enum MHD_Result mlq_http_error_status(struct MHD_Connection *c, unsigned status, int code,
                                      const char *msg);
unsigned mlq_http_status_of(int code);

/* The /api/v1 routes (httpapi.c); GET /api/v1/usage (httpusage.c). */
enum MHD_Result mlq_httpapi_route(struct mlq_http_req *r);
enum MHD_Result mlq_httpapi_usage(struct mlq_http_req *r);
enum MHD_Result mlq_httpapi_accounting(struct mlq_http_req *r);

/* Builds a spec from one JSON submission (every `mlq submit` option);
 * MLQ_EINVAL with a one-line message naming the key. */
int mlq_httpsubmit_spec(const json_t *o, struct mlq_jobspec *spec, struct mlq_err *err);
/* POST /api/v1/jobs:batch: a JSON array of 1..MLQ_MAX_BULK_JOBS job
 * objects, all submitted or none (one submit_many); 201 {"ids": [...]} in
 * the order given, or the error of the first bad job as "job N: ...". */
enum MHD_Result mlq_httpsubmit_batch(struct mlq_http_req *r);

#endif
