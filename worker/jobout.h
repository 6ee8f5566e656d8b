/* jobout: the files a job's stdout and stderr are also written to
 * (`mlq submit -o FILE / -e FILE`, outpath.h), for the shim.
 *
 * The files are opened before the job starts, as the job's account (the
 * shim, root, takes the account's filesystem ids and groups for the open
 * only), so a file the account may not write is a start failure, not a file
 * written by root. A stream with a file goes to the job through a pipe; the
 * shim copies what comes to both the spool log (what `mlq logs` reads) and
 * the file, while it supervises the job and to the end once the job is
 * gone. A stream without a file goes to the spool log directly, as before. */
#ifndef MLQ_JOBOUT_H
#define MLQ_JOBOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

struct mlq_jobout {
    int file[2]; /* the user's files, -1 none (index enum mlq_stream) */
    int pipe[2]; /* read ends of the job's pipes, -1 none or at their end */
    int log[2];  /* the spool logs (not owned) */
};

/* The account files are opened as; NULL: the shim's own. */
struct mlq_jobout_account {
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    int ngroups;
};

void mlq_jobout_init(struct mlq_jobout *o, int out_log, int err_log);
/* Opens path (expanded, absolute) for stream as acct (truncating it).
 * On failure returns -1 with errno set. */
int mlq_jobout_open(struct mlq_jobout *o, int stream, const char *path,
                    const struct mlq_jobout_account *acct);
/* Opens the files the spec asks for (outpath.h templates, expanded for
 * this attempt; index < 0: not a task). On failure returns -1 with why
 * ("cannot open output file PATH: no such directory"). */
int mlq_jobout_open_spec(struct mlq_jobout *o, const struct mlq_jobspec *spec, const char *job_id,
                         int32_t index, int32_t attempt, const struct mlq_jobout_account *acct,
                         char *why, size_t len);
/* Before the fork: the fds the job's stdout and stderr must be (a pipe's
 * write end, or the spool log); -1 with errno when a pipe cannot be made. */
int mlq_jobout_job_fds(struct mlq_jobout *o, int fds[2]);
/* After the fork, in the shim: closes its copies of the write ends. */
void mlq_jobout_parent(struct mlq_jobout *o, const int fds[2]);
/* True while a pipe is open. */
bool mlq_jobout_active(const struct mlq_jobout *o);
/* Waits at most timeout_ms for output and copies what came. */
void mlq_jobout_pump(struct mlq_jobout *o, int timeout_ms);
/* Once no process of the job is left: copies the rest, to the pipes' ends. */
void mlq_jobout_drain(struct mlq_jobout *o);
void mlq_jobout_close(struct mlq_jobout *o);

#endif
