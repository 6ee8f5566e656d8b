/* logprefix: see logprefix.h. */
#include "logprefix.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

int mlq_logpfx_init(struct mlq_logpfx *p, int32_t node)
{
    memset(p, 0, sizeof *p);
    p->node = node;
    p->partial = malloc(MLQ_LOGPFX_MAX_LINE);
    return p->partial ? 0 : MLQ_ENOMEM;
}

void mlq_logpfx_free(struct mlq_logpfx *p)
{
    free(p->partial);
    p->partial = NULL;
    p->len = 0;
}

/* Writes the kept line and then rest (n bytes) as one prefixed line. */
static int put_line(struct mlq_logpfx *p, const uint8_t *rest, size_t n, FILE *out)
{
    fprintf(out, "[%d] ", (int)p->node);
    if ((p->len > 0 && fwrite(p->partial, 1, p->len, out) != p->len) ||
        (n > 0 && fwrite(rest, 1, n, out) != n) || fputc('\n', out) == EOF)
        return MLQ_EIO;
    p->len = 0;
    return 0;
}

int mlq_logpfx_feed(struct mlq_logpfx *p, const uint8_t *data, size_t len, FILE *out)
{
    while (len > 0) {
        const uint8_t *nl = memchr(data, '\n', len);
        size_t line = nl ? (size_t)(nl - data) : len;
        size_t room = MLQ_LOGPFX_MAX_LINE - p->len;
        if (line > room) { /* too long: cut here, go on in a line of its own */
            if (put_line(p, data, room, out) < 0)
                return MLQ_EIO;
            data += room;
            len -= room;
            continue;
        }
        if (!nl) {
            memcpy(p->partial + p->len, data, line);
            p->len += line;
            return 0;
        }
        if (put_line(p, data, line, out) < 0)
            return MLQ_EIO;
        data += line + 1;
        len -= line + 1;
    }
    return ferror(out) ? MLQ_EIO : 0;
}

int mlq_logpfx_end(struct mlq_logpfx *p, FILE *out)
{
    if (p->len == 0)
        return 0;
    return put_line(p, NULL, 0, out);
}
