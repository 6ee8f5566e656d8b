/* stranded: GPU capacity that nothing expected can use where it is
 * (docs/admin.md, "Stranded GPUs").
 *
 * Free capacity on a GPU of an open worker is stranded when no demand can
 * use it there: neither a ready pending GPU job (one per queue shape, with
 * its pool, labels, CPUs, memory, GPU count and type) nor a typical request
 * of the recent mix (gpumix.h: its GPU amount and type, mean CPUs and
 * memory). Examples: a free share smaller than every typical share, free
 * GPUs on a worker whose free CPUs or memory host no typical GPU job, a
 * GPU type nobody asks for. With no demand at all nothing is stranded. */
#ifndef MLQ_STRANDED_H
#define MLQ_STRANDED_H

#include <stddef.h>
#include <stdint.h>

#include "gpumix.h"
#include "placement.h"

struct mlq_ctx;

/* Most queue shapes looked at. */
#define MLQ_STRANDED_MAX_HEADS 4096

/* What may come: the typical mix entries and the requests of the ready
 * pending GPU jobs (one per shape). */
struct mlq_demand {
    struct mlq_mix_entry mix[MLQ_MIX_MAX];
    size_t nmix;
    struct mlq_request *heads;
    size_t nheads;
};

/* Fills d from c; MLQ_ENOMEM. Free with mlq_stranded_demand_free. */
int mlq_stranded_demand(struct mlq_ctx *c, struct mlq_demand *d);
void mlq_stranded_demand_free(struct mlq_demand *d);
/* Stranded capacity of w in hundredths of a GPU; per_gpu (may be NULL;
 * MLQ_MAX_GPUS long, by GPU index) gets each GPU's part. */
int64_t mlq_stranded_worker(const struct mlq_worker *w, const struct mlq_demand *d,
                            int32_t *per_gpu);

#endif
