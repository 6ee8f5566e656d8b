/* sendq: see sendq.h. */
#include "sendq.h"

#include <stdlib.h>

#include "transport.h"

struct mlq_sendq {
    char **bodies;
    size_t *lens;
    size_t n, cap;
};

struct mlq_sendq *mlq_sendq_create(void)
{
    return calloc(1, sizeof(struct mlq_sendq));
}

static void sendq_clear(struct mlq_sendq *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->bodies[i]);
    q->n = 0;
}

void mlq_sendq_destroy(struct mlq_sendq **q)
{
    if (!q || !*q)
        return;
    sendq_clear(*q);
    free((*q)->bodies);
    free((*q)->lens);
    free(*q);
    *q = NULL;
}

static int grow(struct mlq_sendq *q, struct mlq_err *err)
{
    size_t cap = q->cap ? q->cap * 2 : 16;
    char **bodies = realloc(q->bodies, cap * sizeof *bodies);
    if (bodies)
        q->bodies = bodies;
    size_t *lens = bodies ? realloc(q->lens, cap * sizeof *lens) : NULL;
    if (!lens)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory queueing a message");
    q->lens = lens;
    q->cap = cap;
    return 0;
}

int mlq_sendq_add(struct mlq_sendq *q, const struct mlq_msg *m, struct mlq_err *err)
{
    if (q->n == q->cap && grow(q, err) < 0)
        return MLQ_ENOMEM;
    int rc = mlq_proto_encode(m, &q->bodies[q->n], &q->lens[q->n], err);
    if (rc == 0)
        q->n++;
    return rc;
}

size_t mlq_sendq_len(const struct mlq_sendq *q)
{
    return q->n;
}

/* How many messages from i fit one batch (at least one). */
static size_t batch_take(const struct mlq_sendq *q, size_t i)
{
    size_t k = 0, bytes = 0;
    while (i + k < q->n && k < MLQ_MAX_BATCH && bytes + q->lens[i + k] <= MLQ_MAX_BATCH_BYTES)
        bytes += q->lens[i + k++];
    return k ? k : 1;
}

static size_t send_each(struct mlq_sendq *q, size_t i, size_t k, void *sock, struct mlq_err *err)
{
    size_t failed = 0;
    for (size_t j = i; j < i + k; j++)
        failed += mlq_transport_send_body(sock, "message", q->bodies[j], q->lens[j],
                                          failed ? NULL : err) < 0;
    return failed;
}

/* q's messages i..i+k as one batch; one each if it cannot be encoded. */
static size_t send_batch(struct mlq_sendq *q, size_t i, size_t k, void *sock, struct mlq_err *err)
{
    struct mlq_msg m = {.type = MLQ_MSG_BATCH};
    m.u.batch.bodies = (const char **)&q->bodies[i];
    m.u.batch.lens = &q->lens[i];
    m.u.batch.n = (uint32_t)k;
    char *body;
    size_t len;
    if (mlq_proto_encode(&m, &body, &len, NULL) < 0)
        return send_each(q, i, k, sock, err);
    size_t failed = mlq_transport_send_body(sock, "batch", body, len, err) < 0 ? k : 0;
    free(body);
    return failed;
}

size_t mlq_sendq_flush(struct mlq_sendq *q, void *sock, bool batch, struct mlq_err *err)
{
    size_t failed = 0;
    if (!sock) {
        failed = q->n;
        if (failed)
            mlq_err_set(err, MLQ_EUNAVAIL, "not connected");
    }
    for (size_t i = 0; sock && i < q->n;) {
        size_t k = batch && q->n - i > 1 ? batch_take(q, i) : 1;
        struct mlq_err *e = failed ? NULL : err;
        failed += k == 1 ? send_each(q, i, 1, sock, e) : send_batch(q, i, k, sock, e);
        i += k;
    }
    sendq_clear(q);
    return failed;
}
