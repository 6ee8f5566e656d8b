/* jobstate: job and attempt states, shared by the scheduler and the CLI.
 * The transition table itself lives in scheduler/fsm.c. */
#ifndef MLQ_JOBSTATE_H
#define MLQ_JOBSTATE_H

#include <stdbool.h>

enum mlq_job_state {
    MLQ_JOB_PENDING = 0,
    MLQ_JOB_ASSIGNED,
    MLQ_JOB_RUNNING,
    MLQ_JOB_SUCCEEDED,
    MLQ_JOB_FAILED,
    MLQ_JOB_CANCELLED,
    MLQ_JOB_TIMED_OUT,
    MLQ_JOB_STATE_COUNT
};

enum mlq_attempt_state {
    MLQ_ATT_ASSIGNED = 0,
    MLQ_ATT_RUNNING,
    MLQ_ATT_SUCCEEDED,
    MLQ_ATT_FAILED,
    MLQ_ATT_CANCELLED,
    MLQ_ATT_TIMED_OUT,
    MLQ_ATT_LOST,
    MLQ_ATT_PREEMPTED, /* stopped to make room for another job; the job ran again */
    MLQ_ATT_STATE_COUNT
};

/* Upper-case names ("PENDING"); "?" for out-of-range values. */
const char *mlq_job_state_name(enum mlq_job_state s);
const char *mlq_attempt_state_name(enum mlq_attempt_state s);
/* Case-insensitive parse of a job state name; -1 when unknown. */
int mlq_job_state_parse(const char *name);
bool mlq_job_state_terminal(enum mlq_job_state s);
bool mlq_attempt_state_terminal(enum mlq_attempt_state s);

#endif
