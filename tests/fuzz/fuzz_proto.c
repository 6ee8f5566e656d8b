/* Fuzz target for the protocol decoder (common/proto, common/mpk).
 *
 * Any input may be refused, but none may crash, leak or trip a sanitizer.
 * What decodes must encode again, decode again to the same type and request
 * id, and encode to the very same bytes (the encoder is canonical), so the
 * decoder and the encoder can never disagree about a message. The same
 * bytes are also tried as a stored job spec blob. Every entry of a batch is
 * decoded as the worker decodes it, with the same oracle. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The oracle failed: crash so that the fuzzer (or the replay test) notices. */
static void oracle_failed(void)
{
    abort();
}

static void check_reencode(const struct mlq_msg *m)
{
    char *buf, *buf2;
    size_t len, len2;
    struct mlq_msg again;
    if (mlq_proto_encode(m, &buf, &len, NULL) != 0)
        oracle_failed();
    if (mlq_proto_decode(buf, len, &again, NULL) != 0)
        oracle_failed();
    if (again.type != m->type || again.rid != m->rid)
        oracle_failed();
    if (mlq_proto_encode(&again, &buf2, &len2, NULL) != 0)
        oracle_failed();
    if (len2 != len || memcmp(buf, buf2, len) != 0)
        oracle_failed();
    free(buf2);
    free(buf);
    mlq_proto_msg_free(&again);
}

static void check_jobspec(const uint8_t *data, size_t size)
{
    struct mlq_jobspec spec, again;
    char *buf;
    size_t len;
    if (mlq_proto_jobspec_unpack(data, size, &spec, NULL) != 0)
        return;
    if (mlq_proto_jobspec_check(&spec, NULL) != 0)
        oracle_failed(); /* unpack promises a checked spec */
    if (mlq_proto_jobspec_pack(&spec, &buf, &len, NULL) != 0)
        oracle_failed();
    if (mlq_proto_jobspec_unpack(buf, len, &again, NULL) != 0)
        oracle_failed();
    if (again.argc != spec.argc || strcmp(again.argv[0], spec.argv[0]) != 0)
        oracle_failed();
    free(buf);
    mlq_proto_jobspec_free(&again);
    mlq_proto_jobspec_free(&spec);
}

static void check_batch(const struct mlq_msg *m)
{
    for (uint32_t i = 0; m->type == MLQ_MSG_BATCH && i < m->u.batch.n; i++) {
        struct mlq_msg one;
        struct mlq_err err;
        if (mlq_proto_batch_item(m, i, &one, &err) == 0) {
            if (one.type == MLQ_MSG_BATCH)
                oracle_failed(); /* never a batch inside a batch */
            check_reencode(&one);
            mlq_proto_msg_free(&one);
        } else if (err.code >= 0) {
            oracle_failed();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mlq_msg m;
    struct mlq_err err;
    if (mlq_proto_decode(data, size, &m, &err) == 0) {
        check_reencode(&m);
        check_batch(&m);
        mlq_proto_msg_free(&m);
    } else if (err.code >= 0) {
        oracle_failed(); /* a refusal always carries its code */
    }
    check_jobspec(data, size);
    return 0;
}
