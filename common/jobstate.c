/* jobstate: see jobstate.h. */
#include "jobstate.h"

#include <strings.h>

static const char *const job_names[MLQ_JOB_STATE_COUNT] = {
    "PENDING", "ASSIGNED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT",
};

static const char *const att_names[MLQ_ATT_STATE_COUNT] = {
    "ASSIGNED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT", "LOST", "PREEMPTED",
};

const char *mlq_job_state_name(enum mlq_job_state s)
{
    return (unsigned)s < MLQ_JOB_STATE_COUNT ? job_names[s] : "?";
}

const char *mlq_attempt_state_name(enum mlq_attempt_state s)
{
    return (unsigned)s < MLQ_ATT_STATE_COUNT ? att_names[s] : "?";
}

int mlq_job_state_parse(const char *name)
{
    for (int i = 0; i < MLQ_JOB_STATE_COUNT; i++)
        if (strcasecmp(name, job_names[i]) == 0)
            return i;
    return -1;
}

bool mlq_job_state_terminal(enum mlq_job_state s)
{
    return s == MLQ_JOB_SUCCEEDED || s == MLQ_JOB_FAILED || s == MLQ_JOB_CANCELLED ||
           s == MLQ_JOB_TIMED_OUT;
}

bool mlq_attempt_state_terminal(enum mlq_attempt_state s)
{
    return s != MLQ_ATT_ASSIGNED && s != MLQ_ATT_RUNNING;
}
