/* sharedenv: see sharedenv.h. */
#include "sharedenv.h"

#include <stdlib.h>

#include "mpk.h"

/* A handful: one batch's jobs are dispatched together, and few batches
 * have jobs running at once; a miss costs one read by primary key. */
#define SHAREDENV_SLOTS 16

struct slot {
    int64_t id; /* 0: empty */
    char **env;
    uint32_t envc;
};

struct mlq_sharedenv {
    struct slot slot[SHAREDENV_SLOTS];
    unsigned next; /* the slot the next miss replaces (round robin) */
    uint64_t loads;
};

struct mlq_sharedenv *mlq_sharedenv_create(void)
{
    return calloc(1, sizeof(struct mlq_sharedenv));
}

static void slot_clear(struct slot *s)
{
    mlq_mpk_strv_free(s->env, s->envc);
    *s = (struct slot){0};
}

void mlq_sharedenv_destroy(struct mlq_sharedenv **p)
{
    if (!p || !*p)
        return;
    for (int i = 0; i < SHAREDENV_SLOTS; i++)
        slot_clear(&(*p)->slot[i]);
    free(*p);
    *p = NULL;
}

int mlq_sharedenv_get(struct mlq_sharedenv *e, struct mlq_store *st, int64_t id, char ***env,
                      uint32_t *envc, struct mlq_err *err)
{
    *env = NULL;
    *envc = 0;
    if (id <= 0)
        return mlq_err_set(err, MLQ_EINVAL, "no shared environment %lld", (long long)id);
    struct slot *s = NULL;
    for (int i = 0; i < SHAREDENV_SLOTS && !s; i++)
        if (e->slot[i].id == id)
            s = &e->slot[i];
    if (!s) {
        char **v;
        uint32_t n;
        int rc = mlq_store_env_get(st, id, &v, &n, err);
        if (rc < 0)
            return rc;
        s = &e->slot[e->next];
        e->next = (e->next + 1) % SHAREDENV_SLOTS;
        slot_clear(s);
        *s = (struct slot){.id = id, .env = v, .envc = n};
        e->loads++;
    }
    *env = s->env;
    *envc = s->envc;
    return 0;
}

void mlq_sharedenv_forget(struct mlq_sharedenv *e, int64_t id)
{
    for (int i = 0; i < SHAREDENV_SLOTS; i++)
        if (e->slot[i].id == id)
            slot_clear(&e->slot[i]);
}

uint64_t mlq_sharedenv_loads(const struct mlq_sharedenv *e)
{
    return e ? e->loads : 0;
}
