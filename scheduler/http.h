/* http: the HTTP API and dashboard server inside mlq-scheduler
 * (libmicrohttpd, one thread per connection).
 *
 * The HTTP threads never touch scheduler state. Each API request becomes an
 * ordinary protocol message (the ones `mlq` sends) that goes to the loop
 * over MLQ_LOOP_API_ENDPOINT, in-process, with the SHA-256 of the request's
 * bearer token; the loop looks the token up, acts as that principal and
 * answers as it answers the CLI. See docs/openapi.yaml for the resources. */
#ifndef MLQ_HTTP_H
#define MLQ_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

struct mlq_http_opts {
    const char *addr;      /* "127.0.0.1:8080"; port 0 picks a free one */
    const char *cert_path; /* PEM; with key_path: TLS. Both or neither */
    const char *key_path;
    const char *root; /* static files for "/" (the dashboard); NULL: none */
};

struct mlq_http;

/* Starts serving. Refuses a non-loopback address without TLS. zctx is the
 * loop's ZeroMQ context (mlq_loop_zctx). */
int mlq_http_start(const struct mlq_http_opts *o, void *zctx, struct mlq_http **out,
                   struct mlq_err *err);
/* The port bound (useful with port 0). */
int mlq_http_port(const struct mlq_http *h);
/* True when TLS is on. */
bool mlq_http_tls(const struct mlq_http *h);
/* Stops accepting, ends the connections' threads, frees *h (NULL is fine).
 * Call before the loop's ZeroMQ context is terminated. */
void mlq_http_stop(struct mlq_http **h);

#endif
