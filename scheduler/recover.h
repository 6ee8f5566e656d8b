/* recover: rebuilds the scheduler's memory from the store, at start-up and
 * after a failed commit (the loop rolls back and reloads).
 *
 * Workers come back DOWN until they register; ended usage feeds fair share;
 * non-terminal jobs go back to the table and the queue (jobs with
 * dependencies are admitted once everything is loaded); live attempts are
 * booked on their worker again but unconfirmed: their worker must confirm
 * them within one lease (workerloss.h), or they are lost. */
#ifndef MLQ_RECOVER_H
#define MLQ_RECOVER_H

#include "ctx.h"
#include "err.h"

/* Loads workers, non-terminal jobs and live attempts from the store into an
 * empty ctx. */
int mlq_recover_run(struct mlq_ctx *c, struct mlq_err *err);

#endif
