/* pages: listings that come in more than one reply.
 *
 * A listing too big for one message (jobs, status of many jobs, workers,
 * schedules) comes back as a first page whose `next` cursor says where the
 * rest starts; these helpers ask again from there and append every page to
 * the first, so a command prints the whole listing. */
#ifndef MLQ_PAGES_H
#define MLQ_PAGES_H

#include "client.h"

/* Sends req (jobs, workers or schedules) and follows the replies' cursors,
 * merging the pages into *reply. With limit > 0 (jobs listings), stops once
 * limit entries are in, asking each page for what is left; the merged
 * reply's `next` is then still set when the scheduler has more. The request's
 * cursor field is the caller's no longer after the call (left NULL). */
int mlq_pages_request(struct mlq_cli *cli, struct mlq_msg *req, enum mlq_msg_type expect,
                      uint32_t limit, struct mlq_msg *reply, struct mlq_err *err);

#endif
