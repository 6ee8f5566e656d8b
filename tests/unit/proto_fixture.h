/* proto_fixture: what the unit tests of common/proto* check messages with:
 * field-by-field comparison after a round trip, hand-built bodies, and the
 * rejection checks (MLQ_EPROTO, the expected words in the message, nothing
 * left in the decoded message). Failures fail the running cmocka test.
 * Linked with proto_sample into test_proto and the test_proto_* tests that
 * share it (tests/CMakeLists.txt). */
#ifndef MLQ_PROTO_FIXTURE_H
#define MLQ_PROTO_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "mpk.h"
#include "proto.h"

void assert_spec_eq(const struct mlq_jobspec *a, const struct mlq_jobspec *b);
/* Encodes m into *buf (the caller frees it); fails the test on error. */
void encode_ok(const struct mlq_msg *m, char **buf, size_t *len);
/* Encodes in, decodes it again and compares every field. */
void roundtrip(const struct mlq_msg *in);
/* Decoding must fail with MLQ_EPROTO, a message containing want (when
 * given), and leave the decoded message zeroed. */
void expect_reject(const void *buf, size_t len, const char *want);
void expect_msg_reject(const struct mlq_msg *m, const char *want);
/* Hand-built bodies: raw_begin writes a map of nkeys entries in all (v, t
 * and rid count) and its header; the caller adds the rest, then finishes
 * with raw_reject (must be refused) or raw_decode (rc of the decode). */
void raw_begin(struct mlq_mpk_out *o, uint32_t nkeys, const char *t);
void raw_reject(struct mlq_mpk_out *o, const char *want);
int raw_decode(struct mlq_mpk_out *o, struct mlq_msg *m, struct mlq_err *err);
/* Writes buf to dir/name (seeding tests/fuzz/corpus/fuzz_proto/). */
void write_seed(const char *dir, const char *name, const char *buf, size_t len);

#endif
