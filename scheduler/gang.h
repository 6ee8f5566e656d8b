/* gang: jobs of N node parts on N distinct workers (`mlq submit --nodes N`),
 * placed all at once or not at all, started as one, ended as one.
 *
 * A gang's attempt is the job's attempt (its row in attempts, job->att);
 * each node part has a row of its own (store.h, attempt_parts) and, while
 * the attempt is live, an entry in job->gang (jobtab.h). To its worker a
 * part is an ordinary attempt whose id is the part id, so reports, KILLs,
 * fencing, logs and re-adoption work per part; this module turns the
 * parts' fates into the attempt's:
 * - placement books every part and records each ASSIGNED in the loop's
 *   transaction before any ASSIGN leaves (the outbox holds them);
 * - the job is RUNNING once every part reported started;
 * - a part that fails, times out, cannot start or is lost stops the others
 *   (KILL); the attempt ends once every part has ended or been declared
 *   lost, and is then retried, failed or requeued as one;
 * - a part's resources stay booked until its end is known, as for an
 *   attempt (a lost part that may linger is kept by leftover.h).
 * See docs/architecture.md, "Gangs". */
#ifndef MLQ_GANG_H
#define MLQ_GANG_H

#include <stdbool.h>
#include <stddef.h>

#include "backfill.h"
#include "ctx.h"
#include "err.h"
#include "proto.h"

/* Rendezvous ports booked on a worker that offered none. */
#define MLQ_GANG_RDV_LO 29400
#define MLQ_GANG_RDV_HI 29499
/* Workers are held idle for a blocked gang only while its reservation says
 * it starts within this long; beyond, they are left to backfill. */
#define MLQ_GANG_HOLD_MS (10 * 60 * 1000)

/* Books / frees a rendezvous port on w (node 0's worker). */
int mlq_gang_book_port(struct mlq_worker *w, int32_t port); /* MLQ_ENOMEM */
void mlq_gang_free_port(struct mlq_worker *w, int32_t port);

/* Node parts of job's spec: 0 when not a gang. */
uint32_t mlq_gang_nodes(const struct mlq_job *job);

/* Places the gang job if N distinct open workers fit it now, honouring rv
 * (NULL or off: none); *placed says whether it was. */
int mlq_gang_place(struct mlq_ctx *c, struct mlq_job *job, const struct mlq_resv *rv, bool *placed,
                   struct mlq_err *err);
/* The reservation of a blocked gang (rv->on false when it cannot be made or
 * would hold workers idle beyond MLQ_GANG_HOLD_MS). */
int mlq_gang_reserve(struct mlq_ctx *c, const struct mlq_job *job, struct mlq_resv *rv);
/* Whether job may take w now under the gang reservation rv. */
bool mlq_gang_resv_allows(const struct mlq_ctx *c, const struct mlq_resv *rv,
                          const struct mlq_worker *w, const struct mlq_job *job);

/* A report about part p from worker w (its current worker): applied;
 * *accepted false when the part is no longer live there (fencing). May
 * free p's job. */
int mlq_gang_on_report(struct mlq_ctx *c, const struct mlq_worker *w, struct mlq_gpart *p,
                       const struct mlq_msg *rep, bool *accepted, struct mlq_err *err);
/* Tells every live part of job to stop (cancel). */
void mlq_gang_stop(struct mlq_ctx *c, struct mlq_job *job, const char *reason);
/* Part p is lost (linger: its processes may remain, its booking stays).
 * May free p's job. */
/* A finished report about a gang part no longer live (from worker w): when
 * the part was LOST although it exited 0 before the loss, every other part
 * of its attempt SUCCEEDED, and the gang has not started again, the attempt
 * did succeed: the job is SUCCEEDED (*taken true), as a single job's late
 * outcome (jobops.h). Otherwise nothing changes. */
int mlq_gang_late_outcome(struct mlq_ctx *c, const struct mlq_worker *w, const struct mlq_msg *rep,
                          bool *taken, struct mlq_err *err);
int mlq_gang_lose_part(struct mlq_ctx *c, struct mlq_gpart *p, const char *why, bool linger,
                       struct mlq_err *err);
/* Loses the live parts on worker (NULL: parts unconfirmed past their
 * deadline after a restart; *left counts those still waiting). */
int mlq_gang_lose_on(struct mlq_ctx *c, const char *worker, const char *why, bool linger,
                     size_t *left, struct mlq_err *err);
/* A worker's register named attempt_id: true when it is a live part here
 * (confirmed; told to stop again when its gang is stopping). */
bool mlq_gang_reconcile_held(struct mlq_ctx *c, struct mlq_worker *w, const char *attempt_id,
                             bool finished);
/* Parts placed on w that its register did not name (sorted by id) are lost. */
int mlq_gang_reconcile_missing(struct mlq_ctx *c, struct mlq_worker *w,
                               const struct mlq_held_attempt *sorted, size_t n,
                               struct mlq_err *err);
/* Queues the ASSIGN of part p to its worker. */
int mlq_gang_push_assign(struct mlq_ctx *c, const struct mlq_gpart *p, struct mlq_err *err);
/* Restart: loads the parts of job's live attempt and books them. */
int mlq_gang_recover(struct mlq_ctx *c, struct mlq_job *job, struct mlq_err *err);
/* Fills info->parts with the parts of attempt_id (rank order). */
int mlq_gang_info_parts(struct mlq_ctx *c, const char *attempt_id, struct mlq_jobinfo *info,
                        struct mlq_err *err);
/* The part of rank `rank` of attempt_id, as an attempt row (logs). */
int mlq_gang_part_of(struct mlq_ctx *c, const char *attempt_id, int32_t rank,
                     struct mlq_store_attempt *out, struct mlq_err *err);
/* Why a PENDING gang waits for workers: fills text (and closest, lacks). */
void mlq_gang_why(struct mlq_ctx *c, const struct mlq_job *job, char *text, size_t len,
                  const char **blocker);

#endif
