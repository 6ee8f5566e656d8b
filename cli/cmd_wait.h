/* cmd_wait: `mlq wait [--timeout DUR] [--json] JOB...`: polls until every
 * job (and every task of every array named) has ended. Exit 0 when all
 * succeeded, 1 when any did not, 7 when --timeout expired first. */
#ifndef MLQ_CLI_CMD_WAIT_H
#define MLQ_CLI_CMD_WAIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "proto.h"

/* Jobs and array tasks per state, over a job_list answer. */
struct mlq_wait_counts {
    uint32_t n[MLQ_JOB_STATE_COUNT];
    uint32_t total;
};

void mlq_wait_count(const struct mlq_msg *list, struct mlq_wait_counts *c);
/* True when everything counted has ended; *all_ok when all succeeded. */
bool mlq_wait_done(const struct mlq_wait_counts *c, bool *all_ok);
/* The progress line: "2 pending, 3 running, 5 succeeded, 0 failed" (running
 * includes assigned, failed includes timed out; ", N cancelled" when any). */
char *mlq_wait_progress(const struct mlq_wait_counts *c, char *buf, size_t len);
/* The final summary: the non-zero counts, ended states first ("5 succeeded,
 * 1 failed"), after "timed out waiting: " when timed_out. */
char *mlq_wait_summary(const struct mlq_wait_counts *c, bool timed_out, char *buf, size_t len);

int mlq_cmd_wait(struct mlq_cli *cli, int argc, char **argv);

#endif
