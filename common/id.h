/* id: job ids (random UUIDs) and attempt ids (time-ordered UUIDs), both in
 * lowercase canonical text. */
#ifndef MLQ_ID_H
#define MLQ_ID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"

/* Writes a new random UUID (36 chars + NUL) into out. */
void mlq_id_new(char out[MLQ_ID_LEN + 1]);
/* Writes a new time-ordered UUID (RFC 9562 version 7: 48 bits of Unix
 * milliseconds, a 12-bit counter, 62 random bits) into out. The ids one
 * thread makes increase strictly (as text too), so rows keyed by them are
 * appended to their index instead of landing on a random page of it.
 * For attempt ids: users name attempts by number, never type their ids. */
void mlq_id_new_ordered(char out[MLQ_ID_LEN + 1]);
/* The same at the given time (milliseconds since the epoch): a time at or
 * before the last id's continues from that id. */
void mlq_id_new_ordered_at(char out[MLQ_ID_LEN + 1], uint64_t now_ms);
/* True when s is a full canonical lowercase UUID. */
bool mlq_id_valid(const char *s);
/* True when s is a non-empty prefix of some canonical UUID (hex digits and
 * dashes in the right places, at most 36 chars). Uppercase is refused. */
bool mlq_id_prefix_valid(const char *s);
/* An id held in its 16 bytes rather than its 37 characters, for the ids
 * kept in memory for each of up to a million jobs. All zero means none:
 * the nil UUID is never handed out (mlq_id_new makes version 4 ids,
 * mlq_id_new_ordered version 7 ones). */
struct mlq_idbin {
    unsigned char b[16];
};

/* Sets *out from text: NULL or "" clears it. False (out untouched) when
 * text is not a canonical lowercase UUID, or is the nil UUID. */
bool mlq_idbin_set(struct mlq_idbin *out, const char *text);
/* Writes the id's canonical text into out, "" when none. */
void mlq_idbin_text(const struct mlq_idbin *id, char out[MLQ_ID_LEN + 1]);
bool mlq_idbin_none(const struct mlq_idbin *id);
/* True when the id's text is text ("" matches none). */
bool mlq_idbin_is(const struct mlq_idbin *id, const char *text);
/* Copies the first MLQ_SHORT_ID_LEN chars of id into out. */
void mlq_id_short(const char *id, char out[MLQ_SHORT_ID_LEN + 1]);

#endif
