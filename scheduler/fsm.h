/* fsm: the job state machine as one table (DESIGN.md "Job state machine").
 *
 *  PENDING ──dispatch──► ASSIGNED ──start──► RUNNING ──exit 0──► SUCCEEDED
 *    ▲  │                  │                    │ ├─exit≠0 / signal──► FAILED
 *    │  └─cancel──► CANCELLED ◄────cancel───────┘ ├─time limit──────► TIMED_OUT
 *    │                                             └─worker lost─┐
 *    └──── retry / lost (attempts left) ◄────────────────────────┘
 *
 * ASSIGNED accepts the same exits (and time-outs) as RUNNING: a worker may report a job that
 * ended before its "started" report was processed. Callers choose between
 * EXIT_FAIL and RETRY (and LOST and LOST_FINAL) by counting attempts; the
 * table only says which pairs are legal, where they lead and what to do. */
#ifndef MLQ_FSM_H
#define MLQ_FSM_H

#include "err.h"
#include "jobstate.h"

enum mlq_fsm_event {
    MLQ_EV_DISPATCH = 0, /* placed on a worker; attempt created */
    MLQ_EV_START,        /* worker reported the attempt running */
    MLQ_EV_EXIT_OK,      /* exited 0 */
    MLQ_EV_EXIT_FAIL,    /* non-zero exit, signal, start failure; no retry left */
    MLQ_EV_RETRY,        /* failed with retries left */
    MLQ_EV_TIMEOUT,      /* time limit; no retry left */
    MLQ_EV_LOST,         /* worker lost; requeue */
    MLQ_EV_LOST_FINAL,   /* worker lost too many times */
    MLQ_EV_CANCEL,       /* user cancel */
    MLQ_EV_PREEMPT,      /* the attempt ended preempted: requeue, no retry used */
    MLQ_EV_COUNT
};

/* What the scheduler must do after persisting the transition. */
enum mlq_fsm_action {
    MLQ_ACT_NONE = 0,
    MLQ_ACT_SEND_ASSIGN, /* send ASSIGN to the chosen worker */
    MLQ_ACT_FINISH,      /* attempt over: free its resources */
    MLQ_ACT_REQUEUE,     /* attempt over: free resources, back to pending */
    MLQ_ACT_DEQUEUE,     /* leave the pending queue */
    MLQ_ACT_KILL,        /* tell the worker to kill the running attempt */
};

/* Looks up (from, ev). Returns 0 and fills *to and *act, or MLQ_ESTATE with a
 * message naming the illegal pair. */
int mlq_fsm_step(enum mlq_job_state from, enum mlq_fsm_event ev, enum mlq_job_state *to,
                 enum mlq_fsm_action *act, struct mlq_err *err);
const char *mlq_fsm_event_name(enum mlq_fsm_event ev);

#endif
