/* placepolicy: which worker, and which GPUs on it, a job gets
 * (docs/architecture.md, "Placement policies").
 *
 *   best-fit  fewest GPUs left over, then CPUs, then memory (placement.h);
 *             GPUs by lowest index
 *   spread    most free first: most GPUs, then CPUs, then memory left
 *   pack      least added fragmentation for the recent request mix
 *             (gpumix.h), entries weighted by how few workers they fit,
 *             plus a cost for the placeable GPUs of each type typed
 *             requests want, higher as less of the type is left
 *             (packscore.h); idle workers last; ties by best fit. GPUs
 *             inside the worker are chosen the same way, one at a time.
 *
 * The fitness of a candidate is computed in one place (score_of) so that
 * policies can be compared on a trace replay (README.md, "Placement and
 * fragmentation"). */
#ifndef MLQ_PLACEPOLICY_H
#define MLQ_PLACEPOLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "gpumix.h"
#include "packscore.h"
#include "placement.h"

enum mlq_place_policy {
    MLQ_PLACE_BEST_FIT = 0, /* a zeroed placer's */
    MLQ_PLACE_PACK,         /* mlq-scheduler's default (schedopts.c) */
    MLQ_PLACE_SPREAD,
};

/* The policy, the mix it learns from and pack's counts kept between
 * decisions (zeroed: best-fit, empty mix, nothing kept). */
struct mlq_placer {
    enum mlq_place_policy policy;
    struct mlq_mix mix;
    struct mlq_ps_memo memo;
};

/* "best-fit", "pack", "spread"; MLQ_EINVAL for anything else. */
int mlq_pp_parse(const char *s, enum mlq_place_policy *out);
const char *mlq_pp_name(enum mlq_place_policy p);

/* Best open worker where r fits now under p's policy, other than avoid
 * (may be NULL) and accepted by ok (NULL: any). NULL if none. Costs one
 * fit check per worker, plus for pack one view of each worker that fits
 * and (mix entries x its partly used GPUs) per kind of GPU tried, and one
 * pass over the open workers every mlq_ps_refresh_every decisions (whose
 * counts p keeps). */
struct mlq_worker *mlq_pp_choose(struct mlq_placer *p, struct mlq_workers *ws,
                                 const struct mlq_request *r, const struct mlq_worker *avoid,
                                 bool (*ok)(const struct mlq_worker *w, void *arg), void *arg);
/* The GPUs r gets on w under p's policy; MLQ_EINVAL if not enough. */
int mlq_pp_pick_gpus(const struct mlq_placer *p, const struct mlq_worker *w,
                     const struct mlq_request *r, uint64_t *mask);

#endif
