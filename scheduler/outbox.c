/* outbox: see outbox.h. */
#include "outbox.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct outbox_item {
    struct mlq_peer peer;
    bool is_reply;
    uint64_t rid;
    char *body;
    size_t len;
};

struct order_ent;

struct mlq_outbox {
    struct outbox_item *items;
    size_t n, cap;
    mlq_outbox_batch_fn batch_ok; /* NULL: no batches */
    void *batch_arg;
    /* the flush's scratch, kept between flushes: scratch_cap entries each */
    struct order_ent *order;
    const char **bodies;
    size_t *lens;
    size_t scratch_cap;
};

struct mlq_outbox *mlq_outbox_create(void)
{
    return calloc(1, sizeof(struct mlq_outbox));
}

static void outbox_clear(struct mlq_outbox *ob)
{
    for (size_t i = 0; i < ob->n; i++)
        free(ob->items[i].body);
    ob->n = 0;
}

void mlq_outbox_destroy(struct mlq_outbox **ob)
{
    if (!ob || !*ob)
        return;
    outbox_clear(*ob);
    free((*ob)->items);
    free((*ob)->order);
    free((*ob)->bodies);
    free((*ob)->lens);
    free(*ob);
    *ob = NULL;
}

static int outbox_add(struct mlq_outbox *ob, const struct mlq_peer *peer, const struct mlq_msg *msg,
                      bool is_reply, struct mlq_err *err)
{
    if (ob->n == ob->cap) {
        size_t cap = ob->cap ? ob->cap * 2 : 64;
        struct outbox_item *items = realloc(ob->items, cap * sizeof *items);
        if (!items)
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory queueing a message");
        ob->items = items;
        ob->cap = cap;
    }
    struct outbox_item *it = &ob->items[ob->n];
    int rc = mlq_proto_encode(msg, &it->body, &it->len, err);
    if (rc < 0)
        return rc;
    it->peer = *peer;
    it->is_reply = is_reply;
    it->rid = msg->rid;
    ob->n++;
    return 0;
}

int mlq_outbox_reply(struct mlq_outbox *ob, const struct mlq_peer *peer, const struct mlq_msg *msg,
                     struct mlq_err *err)
{
    return outbox_add(ob, peer, msg, true, err);
}

int mlq_outbox_reply_fit(struct mlq_outbox *ob, const struct mlq_peer *peer, struct mlq_msg *msg,
                         uint32_t *count, mlq_outbox_cut_fn cut, void *arg, struct mlq_err *err)
{
    for (;;) {
        struct mlq_err e = {0};
        int rc = outbox_add(ob, peer, msg, true, &e);
        if (rc != MLQ_ETOOBIG || *count <= 1) {
            if (rc < 0 && err)
                *err = e;
            return rc;
        }
        *count /= 2;
        cut(msg, *count, arg);
    }
}

int mlq_outbox_push(struct mlq_outbox *ob, const struct mlq_peer *peer, const struct mlq_msg *msg,
                    struct mlq_err *err)
{
    return outbox_add(ob, peer, msg, false, err);
}

/* One entry of the flush order: the item and its place in the queue. */
struct order_ent {
    const struct outbox_item *it;
    size_t idx;
};

/* By peer (local flag, routing id), then queue order: each peer's messages
 * end up next to each other, still in the order they were queued. */
static int order_cmp(const void *pa, const void *pb)
{
    const struct order_ent *a = pa, *b = pb;
    const struct mlq_peer *x = &a->it->peer, *y = &b->it->peer;
    if (x->local != y->local)
        return x->local ? 1 : -1;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    int d = memcmp(x->id, y->id, x->len);
    if (d)
        return d;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static bool same_peer(const struct mlq_peer *x, const struct mlq_peer *y)
{
    return x->local == y->local && x->len == y->len && memcmp(x->id, y->id, x->len) == 0;
}

static size_t send_one(const struct outbox_item *it, void *router, void *local)
{
    void *sock = it->peer.local ? local : router;
    return !sock || mlq_transport_send_raw(sock, &it->peer, it->body, it->len, NULL) < 0;
}

/* How many of the n entries from e fit one batch. */
static size_t batch_take(const struct order_ent *e, size_t n)
{
    size_t k = 0, bytes = 0;
    while (k < n && k < MLQ_MAX_BATCH && bytes + e[k].it->len <= MLQ_OUTBOX_BATCH_BYTES)
        bytes += e[k++].it->len;
    return k ? k : 1;
}

/* Sends e[0..n) (one peer's, in order) as one batch; one message each if
 * the batch cannot be encoded. */
static size_t send_batch(struct mlq_outbox *ob, const struct order_ent *e, size_t n, void *router)
{
    struct mlq_msg m = {.type = MLQ_MSG_BATCH};
    m.u.batch.bodies = ob->bodies;
    m.u.batch.lens = ob->lens;
    m.u.batch.n = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        ob->bodies[i] = e[i].it->body;
        ob->lens[i] = e[i].it->len;
    }
    char *body;
    size_t len, failed = 0;
    if (mlq_proto_encode(&m, &body, &len, NULL) < 0) {
        for (size_t i = 0; i < n; i++)
            failed += send_one(e[i].it, router, NULL);
        return failed;
    }
    failed = mlq_transport_send_raw(router, &e[0].it->peer, body, len, NULL) < 0 ? n : 0;
    free(body);
    return failed;
}

/* One peer's n entries: batches where the peer takes them. */
static size_t send_peer(struct mlq_outbox *ob, const struct order_ent *e, size_t n, void *router,
                        void *local)
{
    size_t failed = 0;
    if (n < 2 || e[0].it->peer.local || !router || !ob->batch_ok(&e[0].it->peer, ob->batch_arg)) {
        for (size_t i = 0; i < n; i++)
            failed += send_one(e[i].it, router, local);
        return failed;
    }
    for (size_t i = 0; i < n;) {
        size_t k = batch_take(&e[i], n - i);
        failed += k == 1 ? send_one(e[i].it, router, local) : send_batch(ob, &e[i], k, router);
        i += k;
    }
    return failed;
}

/* The flush order and the batch scratch arrays, grown to the queue. */
static int grow_scratch(struct mlq_outbox *ob)
{
    if (ob->scratch_cap >= ob->n)
        return 0;
    struct order_ent *order = realloc(ob->order, ob->n * sizeof *order);
    if (order)
        ob->order = order;
    const char **bodies = order ? realloc(ob->bodies, ob->n * sizeof *bodies) : NULL;
    if (bodies)
        ob->bodies = bodies;
    size_t *lens = bodies ? realloc(ob->lens, ob->n * sizeof *lens) : NULL;
    if (!lens)
        return -1;
    ob->lens = lens;
    ob->scratch_cap = ob->n;
    return 0;
}

static size_t flush_grouped(struct mlq_outbox *ob, void *router, void *local)
{
    for (size_t i = 0; i < ob->n; i++)
        ob->order[i] = (struct order_ent){&ob->items[i], i};
    qsort(ob->order, ob->n, sizeof *ob->order, order_cmp);
    size_t failed = 0;
    for (size_t a = 0, b; a < ob->n; a = b) {
        for (b = a + 1; b < ob->n && same_peer(&ob->order[a].it->peer, &ob->order[b].it->peer);)
            b++;
        failed += send_peer(ob, &ob->order[a], b - a, router, local);
    }
    return failed;
}

void mlq_outbox_set_batching(struct mlq_outbox *ob, mlq_outbox_batch_fn fn, void *arg)
{
    ob->batch_ok = fn;
    ob->batch_arg = arg;
}

size_t mlq_outbox_flush(struct mlq_outbox *ob, void *router, void *local)
{
    size_t failed = 0;
    if (ob->batch_ok && ob->n > 1 && grow_scratch(ob) == 0) {
        failed = flush_grouped(ob, router, local);
    } else {
        for (size_t i = 0; i < ob->n; i++)
            failed += send_one(&ob->items[i], router, local);
    }
    outbox_clear(ob);
    return failed;
}

void mlq_outbox_fail(struct mlq_outbox *ob, int code, const char *text)
{
    size_t kept = 0;
    for (size_t i = 0; i < ob->n; i++) {
        struct outbox_item it = ob->items[i];
        free(it.body);
        if (!it.is_reply)
            continue;
        struct mlq_msg m = {.type = MLQ_MSG_ERROR, .rid = it.rid};
        m.u.error.code = code;
        m.u.error.msg = (char *)text;
        if (mlq_proto_encode(&m, &it.body, &it.len, NULL) < 0)
            continue;
        ob->items[kept++] = it;
    }
    ob->n = kept;
}

size_t mlq_outbox_count(const struct mlq_outbox *ob)
{
    return ob->n;
}

const char *mlq_outbox_body(const struct mlq_outbox *ob, size_t i, size_t *len)
{
    if (i >= ob->n)
        return NULL;
    *len = ob->items[i].len;
    return ob->items[i].body;
}
