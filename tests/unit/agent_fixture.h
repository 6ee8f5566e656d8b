/* agent_fixture: a real worker agent (agent.h) against a fake scheduler (a
 * ROUTER on inproc://) over a spool in a throwaway folder, with the build's
 * real mlq-shim, for the agent's unit tests (test_agent*): the agent made
 * from a default config, stepped while the fake scheduler waits for a
 * message or answers heartbeats, and the messages a scheduler sends. */
#ifndef MLQ_AGENT_FIXTURE_H
#define MLQ_AGENT_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "agent.h"
#include "proto.h"
#include "spool.h"
#include "transport.h"

/* The job id every assignment of the agent's tests carries. */
#define AGENT_FX_JOB "99999999-9999-4999-8999-999999999999"
/* How long the fake scheduler waits for a message (ms). */
#define AGENT_FX_WAIT 5000

struct agent_fx {
    char root[64];     /* the spool's folder */
    char endpoint[64]; /* where the agent connects */
    void *zctx;
    void *router;         /* the fake scheduler */
    struct mlq_peer peer; /* the agent, as the last message named it */
    struct mlq_spool *sp;
    struct mlq_agent *agent;
    char *shim;
    int sig[2]; /* the agent's signal pipe */
    uint64_t rid;
    void *zap;      /* CURVE tests: the ZAP handler (REP), closed in the teardown */
    bool reap_wait; /* the teardown waits for every child (standby shims exit
                     * once the agent is gone; job shims may not) */
};

/* A cmocka setup's body: an agent_fx into *state with its spool in
 * /tmp/mlq-test-NAME-XXXXXX and its fake scheduler bound; no agent yet. */
int agent_fx_setup(void **state, const char *name);
/* A cmocka teardown: destroys the agent, closes everything, reaps the
 * children (all of them when reap_wait) and removes the folder. */
int agent_fx_teardown(void **state);

/* Skips the test when the shim is not built (the tests that run jobs). */
void agent_fx_need_shim(struct agent_fx *f);
/* The config the tests start from: worker w1 with 2 CPUs, 1 GiB, a 200 ms
 * heartbeat, the fixture's endpoint, signal pipe and shim. */
struct mlq_agent_config agent_fx_config(struct agent_fx *f);
/* Creates the agent from cfg (it connects at its first step). */
void agent_fx_create(struct agent_fx *f, const struct mlq_agent_config *cfg);

/* Steps the agent for ms, dropping anything it sends. */
void agent_fx_step_for(struct agent_fx *f, int ms);
/* Steps the agent until the fake scheduler receives a message of type t
 * (others are dropped; heartbeats answered). Fails after AGENT_FX_WAIT. */
void agent_fx_expect(struct agent_fx *f, enum mlq_msg_type t, struct mlq_msg *out);
/* Steps the agent for ms while the fake scheduler answers its heartbeats
 * (a silent scheduler would have it register again); reports and uploads
 * are left unanswered. */
void agent_fx_idle_for(struct agent_fx *f, int ms);
/* Sends m to the agent with the next request id. */
void agent_fx_send(struct agent_fx *f, struct mlq_msg *m);
/* Sends m as the answer to req (its rid echoed, as the scheduler's are). */
void agent_fx_answer(struct agent_fx *f, const struct mlq_msg *req, struct mlq_msg *m);
/* Waits for the agent's registration (into *reg, for the caller to free)
 * and answers it with a 200 ms heartbeat and lease_ms. */
void agent_fx_register(struct agent_fx *f, struct mlq_msg *reg, int64_t lease_ms);
/* An assignment of argv as attempt 1 of att: one CPU, 1 MiB, the gpus
 * given, run as the test's account in the spool's folder, 1 s kill grace.
 * Its strings stay the caller's. */
void agent_fx_fill_assign(struct agent_fx *f, struct mlq_msg *msg, const char *att, char **argv,
                          uint32_t argc, int32_t *gpus, uint32_t ngpus);

#endif
