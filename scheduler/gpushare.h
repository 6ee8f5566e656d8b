/* gpushare: the shares of one worker's GPUs booked by jobs that asked for a
 * share of one GPU (`--gpus 0.25`, `--gpu-mem 10G`).
 *
 * Pure bookkeeping, no I/O: the list of live share bookings (GPU index,
 * fraction asked, GPU memory asked) and, per GPU, the totals derived from
 * them: the share booked in hundredths (0..100), the GPU memory booked and
 * the number of bookings. Whole GPUs are booked elsewhere (the worker's
 * gpu_used mask); placement keeps the two apart (a GPU with a share is never
 * given whole, a whole GPU is never shared).
 *
 * What one booking takes of a GPU: its fraction, or, when it asks for GPU
 * memory and the GPU's memory is known, max(fraction, memory / GPU memory)
 * rounded up to hundredths. The list is kept so that these totals can be
 * recomputed exactly when a GPU's memory becomes known (a worker registers
 * after a scheduler restart). */
#ifndef MLQ_GPUSHARE_H
#define MLQ_GPUSHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"

#define MLQ_GPUSHARE_WHOLE 100 /* hundredths in one GPU */

struct mlq_gpushare_entry {
    int32_t gpu;  /* 0..MLQ_MAX_GPUS-1 */
    int32_t frac; /* hundredths asked, 0..99 */
    int64_t mem;  /* GPU memory asked, bytes; 0 none */
};

struct mlq_gpushare {
    int32_t share[MLQ_MAX_GPUS]; /* hundredths booked; may exceed 100 only
                                    when recovery finds it so */
    int64_t mem[MLQ_MAX_GPUS];   /* GPU memory booked, bytes */
    int32_t n[MLQ_MAX_GPUS];     /* bookings */
    struct mlq_gpushare_entry *v;
    size_t nv, cap;
};

/* Hundredths a request of frac hundredths and mem bytes takes of a GPU of
 * total bytes (0: unknown). -1 when it can never fit there: more than one
 * GPU, or memory asked of a GPU whose memory is unknown (nothing could
 * check the promise). */
int32_t mlq_gpushare_need(int32_t frac, int64_t mem, int64_t total);
/* Whether the request fits GPU gpu now, by its shares and memory (the
 * caller checks that the GPU is offered and not held whole). */
bool mlq_gpushare_fits(const struct mlq_gpushare *s, int gpu, int32_t frac, int64_t mem,
                       int64_t total);
/* Hundredths of GPU gpu not booked by shares (0..100). */
int32_t mlq_gpushare_free(const struct mlq_gpushare *s, int gpu);
/* Books a share on gpu whether or not it fits (recovery books what runs).
 * A request whose need is unknown books at least its fraction, and at
 * least one hundredth. MLQ_ENOMEM, MLQ_EINVAL for a bad index. */
int mlq_gpushare_book(struct mlq_gpushare *s, int gpu, int32_t frac, int64_t mem, int64_t total);
/* Removes one booking equal to (gpu, frac, mem); false when there is none. */
bool mlq_gpushare_unbook(struct mlq_gpushare *s, int gpu, int32_t frac, int64_t mem,
                         const int64_t totals[MLQ_MAX_GPUS]);
/* Recomputes the per-GPU totals from the bookings with these GPU memory
 * sizes (bytes, 0 unknown), e.g. after a worker registered. */
void mlq_gpushare_retotal(struct mlq_gpushare *s, const int64_t totals[MLQ_MAX_GPUS]);
/* Frees the list and zeroes everything. */
void mlq_gpushare_clear(struct mlq_gpushare *s);

#endif
