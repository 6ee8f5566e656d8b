/* httpsubmit: one JSON submission into a job spec (jsonspec.h reads the
 * keys, the same way `mlq submit --from` does), with the API's defaults:
 * cpus 1, mem 1G, workdir "/". The spec then goes through the same checks
 * as the CLI's (mlq_proto_jobspec_check, again in the loop's submit
 * handler). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpint.h"
#include "jsonspec.h"

int mlq_httpsubmit_spec(const json_t *o, struct mlq_jobspec *spec, struct mlq_err *err)
{
    memset(spec, 0, sizeof *spec);
    if (!json_is_object(o))
        return mlq_err_set(err, MLQ_EINVAL, "a job must be a JSON object");
    spec->cpus_m = 1000;
    spec->mem = 1024LL * 1024 * 1024;
    int rc = mlq_jsonspec_apply(o, spec, err);
    if (rc == 0 && !spec->workdir && !(spec->workdir = strdup("/")))
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    /* The loop makes the token's principal the owner; the placeholder only
     * lets the spec pass the checks the CLI also makes before sending (the
     * loop's decoder would refuse what they refuse, without a message). */
    if (rc == 0 && !(spec->owner = strdup("http")))
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (rc == 0)
        rc = mlq_proto_jobspec_check(spec, err);
    return rc;
}

/* The jobs of a batch body into req (a submit_many without a shared
 * environment: each job brings its own). */
static int batch_specs(const json_t *in, struct mlq_msg *req, struct mlq_err *err)
{
    size_t n = json_is_array(in) ? json_array_size(in) : 0;
    if (n < 1 || n > MLQ_MAX_BULK_JOBS)
        return mlq_err_set(err, MLQ_EINVAL,
                           "body must be an array of 1 to %d job objects; split larger batches",
                           MLQ_MAX_BULK_JOBS);
    req->u.submit_many.specs = calloc(n, sizeof *req->u.submit_many.specs);
    if (!req->u.submit_many.specs)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int rc = mlq_httpsubmit_spec(json_array_get(in, i), &req->u.submit_many.specs[i], err);
        req->u.submit_many.nspecs = (uint32_t)i + 1; /* freed with the message, also on failure */
        if (rc < 0) {
            char msg[MLQ_ERR_MSG_MAX];
            snprintf(msg, sizeof msg, "job %zu: %.*s", i + 1, MLQ_ERR_MSG_MAX - 24, err->msg);
            snprintf(err->msg, sizeof err->msg, "%s", msg);
            return rc;
        }
    }
    return 0;
}

static json_t *ids_doc(const struct mlq_msg *rep)
{
    json_t *ids = json_array();
    for (uint32_t i = 0; ids && i < rep->u.submitted_many.nids; i++)
        if (json_array_append_new(ids, json_string(rep->u.submitted_many.ids[i])) < 0) {
            json_decref(ids);
            return NULL;
        }
    return ids ? json_pack("{s:o}", "ids", ids) : NULL;
}

enum MHD_Result mlq_httpsubmit_batch(struct mlq_http_req *r)
{
    json_error_t je;
    json_t *in = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, &je);
    struct mlq_err e = {0};
    int rc = in ? 0
                : mlq_err_set(&e, MLQ_EINVAL, "body is not valid JSON: %.100s (line %d)", je.text,
                              je.line);
    struct mlq_msg req = {.type = MLQ_MSG_SUBMIT_MANY}, rep = {0};
    if (rc == 0)
        rc = batch_specs(in, &req, &e);
    json_decref(in);
    if (rc == 0)
        rc = mlq_http_call(r, &req, &rep, MLQ_HTTP_CALL_MS, &e);
    mlq_proto_msg_free(&req);
    json_t *doc = rc == 0 ? ids_doc(&rep) : NULL;
    if (rc == 0)
        mlq_proto_msg_free(&rep);
    if (rc == 0 && !doc)
        rc = mlq_err_set(&e, MLQ_ENOMEM, "out of memory");
    if (rc < 0)
        return mlq_http_error(r->conn, rc, e.msg[0] ? e.msg : mlq_strerror(rc));
    return mlq_http_json(r->conn, MHD_HTTP_CREATED, doc);
}
