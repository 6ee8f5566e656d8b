/* resend: timers for the messages to workers that must arrive (DESIGN.md
 * rule 8): an ASSIGN until the worker acknowledges it, a KILL until the
 * attempt's end is reported.
 *
 * A min-heap of (attempt id, kind, due time), so that a tick costs time
 * proportional to the timers due, not to the jobs in the table. Entries are
 * never searched for: whoever pops one checks whether it still matters (the
 * attempt may have started or ended since) and drops or re-arms it. */
#ifndef MLQ_RESEND_H
#define MLQ_RESEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"

enum mlq_resend_kind {
    MLQ_RESEND_ASSIGN, /* resend until acknowledged; deadline: lose the attempt */
    MLQ_RESEND_KILL,   /* resend until the attempt's end is reported */
    MLQ_RESEND_FENCE,  /* KILL of an attempt no longer current, likewise */
};

struct mlq_resend_entry {
    char attempt_id[MLQ_ID_LEN + 1];
    enum mlq_resend_kind kind;
    int64_t due;      /* monotonic ms of the next send */
    int64_t interval; /* the wait before this send; doubled for the next one */
    int64_t deadline; /* ASSIGN: monotonic ms when the attempt is lost; else 0 */
    size_t widx;      /* FENCE: the worker (registry index) */
    uint32_t epoch;   /* FENCE: its registration the KILL answers */
};

struct mlq_resend;

struct mlq_resend *mlq_resend_create(void);
/* Accepts NULL; nulls *r. */
void mlq_resend_destroy(struct mlq_resend **r);
/* Adds a timer (a copy of e). MLQ_ENOMEM. */
int mlq_resend_arm(struct mlq_resend *r, const struct mlq_resend_entry *e);
/* Takes the earliest timer due at or before now into out; false when none. */
bool mlq_resend_pop_due(struct mlq_resend *r, int64_t now, struct mlq_resend_entry *out);
size_t mlq_resend_count(const struct mlq_resend *r);
/* The wait after one of interval: doubled, at most cap. */
int64_t mlq_resend_backoff(int64_t interval, int64_t cap);

#endif
