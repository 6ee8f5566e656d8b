/* teams: requests about teams and usage accounting: `mlq admin team
 * add|rm`, `mlq admin teams`, `mlq admin user set --team` (admins only,
 * checked here so that a user is told why), and `mlq usage` (everyone;
 * users see their own jobs' usage, admins everyone's). Same handler
 * contract as client.h. */
#ifndef MLQ_TEAMS_H
#define MLQ_TEAMS_H

#include "client.h"

/* The window `mlq usage` reports when it names none: the last 30 days. */
#define MLQ_TEAMS_DEFAULT_WINDOW_MS (30LL * 24 * 3600 * 1000)

int mlq_teams_on_cmd(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                     struct mlq_err *err);
int mlq_teams_on_user_set(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                          struct mlq_err *err);
int mlq_teams_on_acct(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                      struct mlq_err *err);
/* MLQ_ENOTFOUND "no team named ..." unless the team exists. */
int mlq_teams_check_exists(struct mlq_ctx *c, const char *team, struct mlq_err *err);
/* Sets spec->team to its owner's team now (NULL: none), whatever the
 * client sent. */
int mlq_teams_set_job_team(struct mlq_ctx *c, struct mlq_jobspec *spec, struct mlq_err *err);

#endif
