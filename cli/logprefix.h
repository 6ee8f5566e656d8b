/* logprefix: the output of `mlq logs JOB --all`, where the logs of a gang's
 * nodes are interleaved and every line starts with "[K] ", K the node's
 * rank.
 *
 * Each node's bytes arrive in chunks that may end in the middle of a line:
 * the unfinished line is kept until its end comes (or the node's log ends,
 * when it is written with a newline added), so that lines of two nodes are
 * never mixed. A line longer than MLQ_LOGPFX_MAX_LINE is cut there and goes
 * on in a line of its own (with its prefix). */
#ifndef MLQ_CLI_LOGPREFIX_H
#define MLQ_CLI_LOGPREFIX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MLQ_LOGPFX_MAX_LINE (64 * 1024)

/* One node's stream. */
struct mlq_logpfx {
    int32_t node;
    char *partial; /* the unfinished line (owned), MLQ_LOGPFX_MAX_LINE bytes */
    size_t len;
};

/* 0, or MLQ_ENOMEM. */
int mlq_logpfx_init(struct mlq_logpfx *p, int32_t node);
void mlq_logpfx_free(struct mlq_logpfx *p);
/* Writes every complete line of what data finishes, prefixed, to out.
 * 0, or MLQ_EIO when out cannot be written. */
int mlq_logpfx_feed(struct mlq_logpfx *p, const uint8_t *data, size_t len, FILE *out);
/* The node's log ended: writes its unfinished line, if any, with a newline.
 * 0 or MLQ_EIO. */
int mlq_logpfx_end(struct mlq_logpfx *p, FILE *out);

#endif
