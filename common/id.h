/* id: job and attempt ids (random UUIDs, lowercase canonical text). */
#ifndef MLQ_ID_H
#define MLQ_ID_H

#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"

/* Writes a new random UUID (36 chars + NUL) into out. */
void mlq_id_new(char out[MLQ_ID_LEN + 1]);
/* True when s is a full canonical lowercase UUID. */
bool mlq_id_valid(const char *s);
/* True when s is a non-empty prefix of some canonical UUID (hex digits and
 * dashes in the right places, at most 36 chars). Uppercase is refused. */
bool mlq_id_prefix_valid(const char *s);
/* Copies the first MLQ_SHORT_ID_LEN chars of id into out. */
void mlq_id_short(const char *id, char out[MLQ_SHORT_ID_LEN + 1]);

#endif
