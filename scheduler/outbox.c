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

struct mlq_outbox {
    struct outbox_item *items;
    size_t n, cap;
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

size_t mlq_outbox_flush(struct mlq_outbox *ob, void *router, void *local)
{
    size_t failed = 0;
    for (size_t i = 0; i < ob->n; i++) {
        struct outbox_item *it = &ob->items[i];
        void *sock = it->peer.local ? local : router;
        if (!sock || mlq_transport_send_raw(sock, &it->peer, it->body, it->len, NULL) < 0)
            failed++;
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
