/* id: see id.h. Ids are random (v4) UUIDs in lowercase canonical text, so a
 * prefix typed by a user can be matched with a plain string comparison. */
#include "id.h"

#include <string.h>
#include <uuid/uuid.h>

void mlq_id_new(char out[MLQ_ID_LEN + 1])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

/* Whether c may stand at position i of a canonical UUID. */
static bool id_char_ok(size_t i, char c)
{
    if (i == 8 || i == 13 || i == 18 || i == 23)
        return c == '-';
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Length of the canonical-UUID-shaped prefix of s, looking at no more than
 * MLQ_ID_LEN + 1 bytes; MLQ_ID_LEN + 1 means "too long". */
static size_t id_shaped_len(const char *s)
{
    size_t i = 0;
    for (; i < MLQ_ID_LEN && s[i]; i++)
        if (!id_char_ok(i, s[i]))
            return 0;
    return (i == MLQ_ID_LEN && s[i]) ? MLQ_ID_LEN + 1 : i;
}

bool mlq_id_valid(const char *s)
{
    return s && id_shaped_len(s) == MLQ_ID_LEN;
}

bool mlq_id_prefix_valid(const char *s)
{
    if (!s)
        return false;
    size_t n = id_shaped_len(s);
    return n >= 1 && n <= MLQ_ID_LEN;
}

void mlq_id_short(const char *id, char out[MLQ_SHORT_ID_LEN + 1])
{
    size_t n = strnlen(id, MLQ_SHORT_ID_LEN);
    memcpy(out, id, n);
    out[n] = '\0';
}
