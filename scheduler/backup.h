/* backup: `mlq admin backup FILE` while the scheduler keeps serving.
 *
 * The copy runs on a thread of its own (dbcopy.h): it opens its own
 * read-only connection to the database file and writes only the backup
 * file, so it never touches scheduler memory and the loop's thread stays the
 * only owner of scheduling state (DESIGN.md "Processes"). A thread rather
 * than steps from the loop because the integrity check of the copy and its
 * fsync take time in proportion to the database, which the loop must never
 * spend; WAL mode lets the thread's read transaction and the loop's commits
 * run side by side.
 *
 * The thread hands back only its result struct: it sets `done` (release)
 * last, the loop sees it (acquire) at its next tick, joins the thread and
 * answers the admin who asked. One backup runs at a time; a second request
 * meanwhile is refused (MLQ_ESTATE). At shutdown a running copy is stopped
 * and its partial file removed; the admin's request then gets no answer. */
#ifndef MLQ_BACKUP_H
#define MLQ_BACKUP_H

#include "client.h"

struct mlq_backup;

/* db_path: the scheduler's database file. NULL when out of memory. */
struct mlq_backup *mlq_backup_create(const char *db_path);
/* Stops a running copy (its file is removed), joins it; accepts NULL. */
void mlq_backup_destroy(struct mlq_backup **b);
/* `backup` (admins only, from the handler table). */
int mlq_backup_on_request(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                          struct mlq_err *err);
/* Called from the loop's timers: answers the request of a copy that ended. */
void mlq_backup_poll(struct mlq_ctx *c);

#endif
