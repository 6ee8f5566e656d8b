/* z85: checks of z85 text (ZeroMQ's RFC 32 encoding, as CURVE keys are
 * written) that need no libzmq. The protocol decoder validates the keys in
 * messages with it, so that programs that decode messages but never use a
 * socket (the per-job shim) do not load libzmq and the dozen libraries it
 * pulls in at every start. */
#ifndef MLQ_Z85_H
#define MLQ_Z85_H

#include <stdbool.h>
#include <stddef.h>

/* True when s is exactly len characters (a multiple of 5) of the z85
 * alphabet and every 5-character group decodes to at most 32 bits (the
 * groups libzmq's decoder refuses are refused here too). */
bool mlq_z85_valid(const char *s, size_t len);

#endif
