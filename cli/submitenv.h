/* submitenv: the environment `mlq submit` sends with a job: --export
 * ALL|NONE|VAR[,VAR...] (default ALL, as sbatch) and --env KEY=VALUE /
 * --env VAR (the submitter's value of VAR). */
#ifndef MLQ_CLI_SUBMITENV_H
#define MLQ_CLI_SUBMITENV_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "proto.h"

enum mlq_submitenv_mode { MLQ_EXPORT_ALL = 0, MLQ_EXPORT_NONE, MLQ_EXPORT_LIST };

struct mlq_submitenv {
    enum mlq_submitenv_mode mode;
    bool given;   /* --export was given (a rerun keeps its job's environment otherwise) */
    char **names; /* --export VAR,...: the names (owned) */
    uint32_t nnames;
    char **set; /* --env entries as "KEY=VALUE", in order (owned) */
    uint32_t nset;
};

/* --export ARG (the last one wins). MLQ_EINVAL naming a bad name. */
int mlq_submitenv_export(struct mlq_submitenv *e, const char *arg, struct mlq_err *err);

/* --env KEY=VALUE or --env VAR (taken from this process's environment now).
 * MLQ_EINVAL naming a bad name or a VAR that is not set here. */
int mlq_submitenv_env(struct mlq_submitenv *e, const char *arg, struct mlq_err *err);

/* Fills spec->env: the exported variables of envp (NULL: none; those the
 * worker would drop anyway, and names that are not variable names, left
 * out), then the --env entries, which win over an exported value. Each
 * replaces an entry of the same name already in spec->env (a rerun's). MLQ_ETOOBIG when the
 * result is larger than the bounds (envname.h), saying to use --export. */
int mlq_submitenv_finish(const struct mlq_submitenv *e, char *const *envp, struct mlq_jobspec *spec,
                         struct mlq_err *err);

void mlq_submitenv_free(struct mlq_submitenv *e);

#endif
