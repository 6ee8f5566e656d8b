/* acctrun: usage reports (`mlq usage`) computed off the loop's thread.
 *
 * A report reads every attempt that ended in its window (about 3 to 6 us
 * each: a 30-day window of 100,000 attempts takes 0.5 s on a loaded 2-core
 * VM), which the loop must never spend. So, as a backup does (backup.h),
 * each report runs on a thread of its own with its own read-only
 * connection to the database file: WAL lets it read a consistent snapshot
 * while the loop commits, and it touches no scheduler memory. The thread
 * hands back only its result (done, release); the loop sees it (acquire)
 * at its next tick, joins the thread and answers the client.
 *
 * At most MLQ_ACCTRUN_SLOTS reports run at once; one more is refused
 * (MLQ_ESTATE, "try again"). At shutdown running reports are joined; their
 * clients get no answer. */
#ifndef MLQ_ACCTRUN_H
#define MLQ_ACCTRUN_H

#include "client.h"
#include "store.h"

#define MLQ_ACCTRUN_SLOTS 4

struct mlq_acctrun;

/* db_path: the scheduler's database file. NULL when out of memory. */
struct mlq_acctrun *mlq_acctrun_create(const char *db_path);
/* Joins running reports; accepts NULL. */
void mlq_acctrun_destroy(struct mlq_acctrun **r);
/* Starts q for the client (peer, rid); answered by mlq_acctrun_poll. */
int mlq_acctrun_start(struct mlq_acctrun *r, const struct mlq_peer *peer, uint64_t rid,
                      const struct mlq_acct_query *q, struct mlq_err *err);
/* Called from the loop's timers: answers the clients of ended reports. */
void mlq_acctrun_poll(struct mlq_ctx *c);

#endif
