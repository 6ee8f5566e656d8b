/* protobatch: see protobatch.h and docs/protocol.md (normative). */
#include "protobatch.h"

#include <stdlib.h>
#include <string.h>

void mlq_protobatch_enc(msgpack_packer *pk, const struct mlq_msg *m)
{
    uint32_t n = m->u.batch.bodies ? m->u.batch.n : 0;
    mlq_mpk_kv_array(pk, "msgs", n);
    for (uint32_t i = 0; i < n; i++) {
        msgpack_pack_bin(pk, m->u.batch.lens[i]);
        msgpack_pack_bin_body(pk, m->u.batch.bodies[i], m->u.batch.lens[i]);
    }
}

/* Every entry a non-empty bin; returns their total size. */
static int check_items(const struct mlq_mpk_map *mp, const msgpack_object_array *a, size_t *total)
{
    *total = 0;
    for (uint32_t i = 0; i < a->size; i++) {
        const msgpack_object *o = &a->ptr[i];
        if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size == 0)
            return mlq_err_set(mp->err, MLQ_EPROTO,
                               "batch: key 'msgs' entries must be non-empty binary strings");
        *total += o->via.bin.size;
    }
    if (*total > MLQ_MAX_BATCH_BYTES)
        return mlq_err_set(mp->err, MLQ_EPROTO, "batch: %zu bytes of messages exceed %d", *total,
                           MLQ_MAX_BATCH_BYTES);
    return 0;
}

/* One allocation holds the pointers, the lengths and the bodies, so that a
 * batch of hundreds costs one malloc. */
int mlq_protobatch_dec(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    size_t total = 0;
    int rc = mlq_mpk_read_array(mp, "msgs", 1, MLQ_MAX_BATCH, &a);
    if (rc == 0)
        rc = check_items(mp, a, &total);
    if (rc < 0)
        return rc;
    size_t head = a->size * (sizeof(char *) + sizeof(size_t));
    char *store = malloc(head + total);
    if (!store)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "batch: out of memory");
    m->u.batch.store = store;
    m->u.batch.bodies = (const char **)(void *)store;
    m->u.batch.lens = (size_t *)(void *)(store + a->size * sizeof(char *));
    m->u.batch.n = a->size;
    char *p = store + head;
    for (uint32_t i = 0; i < a->size; i++) {
        memcpy(p, a->ptr[i].via.bin.ptr, a->ptr[i].via.bin.size);
        m->u.batch.bodies[i] = p;
        m->u.batch.lens[i] = a->ptr[i].via.bin.size;
        p += a->ptr[i].via.bin.size;
    }
    return 0;
}

void mlq_protobatch_free(struct mlq_msg *m)
{
    free(m->u.batch.store);
}

int mlq_proto_batch_item(const struct mlq_msg *batch, uint32_t i, struct mlq_msg *out,
                         struct mlq_err *err)
{
    memset(out, 0, sizeof *out);
    if (batch->type != MLQ_MSG_BATCH || i >= batch->u.batch.n || !batch->u.batch.bodies)
        return mlq_err_set(err, MLQ_EINVAL, "no message %u in this batch", i);
    int rc = mlq_proto_decode(batch->u.batch.bodies[i], batch->u.batch.lens[i], out, err);
    if (rc == 0 && out->type == MLQ_MSG_BATCH) {
        mlq_proto_msg_free(out);
        rc = mlq_err_set(err, MLQ_EPROTO, "batch: message %u is itself a batch", i);
    }
    return rc;
}
