/* fsm: see fsm.h. The table is the whole state machine; nothing else in the
 * scheduler decides which job state follows which. */
#include "fsm.h"

#include <stdbool.h>

struct fsm_row {
    bool legal;
    enum mlq_job_state to;
    enum mlq_fsm_action act;
};

#define ROW(t, a)                                                                                  \
    {                                                                                              \
        true, MLQ_JOB_##t, MLQ_ACT_##a                                                             \
    }

static const struct fsm_row fsm_table[MLQ_JOB_STATE_COUNT][MLQ_EV_COUNT] = {
    [MLQ_JOB_PENDING] =
        {
            [MLQ_EV_DISPATCH] = ROW(ASSIGNED, SEND_ASSIGN),
            [MLQ_EV_CANCEL] = ROW(CANCELLED, DEQUEUE),
            /* The real outcome of a lost attempt, come late while the job
             * waits to run again (it is dequeued first). */
            [MLQ_EV_EXIT_OK] = ROW(SUCCEEDED, FINISH),
            [MLQ_EV_EXIT_FAIL] = ROW(FAILED, FINISH),
            [MLQ_EV_RETRY] = ROW(PENDING, REQUEUE),
            [MLQ_EV_TIMEOUT] = ROW(TIMED_OUT, FINISH),
        },
    [MLQ_JOB_ASSIGNED] =
        {
            [MLQ_EV_START] = ROW(RUNNING, NONE),
            [MLQ_EV_EXIT_OK] = ROW(SUCCEEDED, FINISH),
            [MLQ_EV_EXIT_FAIL] = ROW(FAILED, FINISH),
            [MLQ_EV_RETRY] = ROW(PENDING, REQUEUE),
            [MLQ_EV_TIMEOUT] = ROW(TIMED_OUT, FINISH),
            [MLQ_EV_LOST] = ROW(PENDING, REQUEUE),
            [MLQ_EV_LOST_FINAL] = ROW(FAILED, FINISH),
            [MLQ_EV_CANCEL] = ROW(CANCELLED, KILL),
            [MLQ_EV_PREEMPT] = ROW(PENDING, REQUEUE),
        },
    [MLQ_JOB_RUNNING] =
        {
            [MLQ_EV_EXIT_OK] = ROW(SUCCEEDED, FINISH),
            [MLQ_EV_EXIT_FAIL] = ROW(FAILED, FINISH),
            [MLQ_EV_RETRY] = ROW(PENDING, REQUEUE),
            [MLQ_EV_TIMEOUT] = ROW(TIMED_OUT, FINISH),
            [MLQ_EV_LOST] = ROW(PENDING, REQUEUE),
            [MLQ_EV_LOST_FINAL] = ROW(FAILED, FINISH),
            [MLQ_EV_CANCEL] = ROW(CANCELLED, KILL),
            [MLQ_EV_PREEMPT] = ROW(PENDING, REQUEUE),
        },
    /* Terminal states accept nothing. */
};

static const char *const fsm_event_names[MLQ_EV_COUNT] = {
    "dispatch", "start", "exit_ok",    "exit_fail", "retry",
    "timeout",  "lost",  "lost_final", "cancel",    "preempt",
};

const char *mlq_fsm_event_name(enum mlq_fsm_event ev)
{
    return (unsigned)ev < MLQ_EV_COUNT ? fsm_event_names[ev] : "?";
}

int mlq_fsm_step(enum mlq_job_state from, enum mlq_fsm_event ev, enum mlq_job_state *to,
                 enum mlq_fsm_action *act, struct mlq_err *err)
{
    if ((unsigned)from >= MLQ_JOB_STATE_COUNT || (unsigned)ev >= MLQ_EV_COUNT ||
        !fsm_table[from][ev].legal)
        return mlq_err_set(err, MLQ_ESTATE, "event %s is not allowed in state %s",
                           mlq_fsm_event_name(ev), mlq_job_state_name(from));
    *to = fsm_table[from][ev].to;
    *act = fsm_table[from][ev].act;
    return 0;
}
