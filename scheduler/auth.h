/* auth: who is talking, and what they may do.
 *
 * The ZAP handler (zap.c) asks this module to map a client's CURVE public
 * key to an identity "ROLE:NAME"; libzmq then attaches that User-Id to
 * every message of the connection, and the loop turns it back into a
 * struct mlq_identity before calling a handler. Routing ids are never
 * trusted. The key registry is the principals table, cached here. With
 * --insecure (plain TCP on loopback only) there are no keys: every client
 * acts as an admin under the name it sends. */
#ifndef MLQ_AUTH_H
#define MLQ_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"
#include "err.h"
#include "proto.h"
#include "store.h"

enum mlq_role {
    MLQ_ROLE_NONE = 0,
    MLQ_ROLE_USER = 1,
    MLQ_ROLE_ADMIN = 2,
    MLQ_ROLE_WORKER = 4,
};

struct mlq_identity {
    unsigned roles; /* MLQ_ROLE_* bits: one role, or all of them when insecure */
    char name[MLQ_MAX_NAME + 1];
    bool insecure; /* no keys: every role, name from the request */
};

struct mlq_auth;

struct mlq_auth *mlq_auth_create(void);
void mlq_auth_destroy(struct mlq_auth **a);
/* (Re)loads the key registry from the store. */
int mlq_auth_load(struct mlq_auth *a, struct mlq_store *st, struct mlq_err *err);
/* Adds or replaces the key of (kind, name) in the cache. */
int mlq_auth_put(struct mlq_auth *a, const struct mlq_store_principal *p);
void mlq_auth_remove(struct mlq_auth *a, const char *kind, const char *name);
/* A key change made by a request takes effect only once the iteration's
 * transaction has committed: the handler stages it, the loop applies the
 * staged changes in order after the commit or drops them on a rollback, so
 * the cache never holds a key the database does not (or the reverse). */
int mlq_auth_stage_put(struct mlq_auth *a, const struct mlq_store_principal *p);
int mlq_auth_stage_remove(struct mlq_auth *a, const char *kind, const char *name);
/* 0, or MLQ_ENOMEM when a change could not be applied. */
int mlq_auth_apply_staged(struct mlq_auth *a);
void mlq_auth_drop_staged(struct mlq_auth *a);
/* The ZAP callback: fills user_id with "ROLE:NAME" for a known key. Safe to
 * call from the ZAP handler's thread while the loop changes keys. */
int mlq_auth_lookup(void *ctx, const char *key_z85, char *user_id, size_t len);

/* Parses a connection's User-Id ("" when insecure). */
int mlq_auth_identity(const char *user_id, bool insecure, struct mlq_identity *out,
                      struct mlq_err *err);
/* The owner of a job, or an admin. */
bool mlq_auth_owns(const struct mlq_identity *who, const char *owner);
/* Fills err with MLQ_EPERM saying, in the words of the person asking, that
 * a request of type t (e.g. `drain`) is refused for who because only the
 * roles `allowed` (MLQ_ROLE_* bits) may make it: "only admins may drain
 * workers (you are bob, a user)". Returns MLQ_EPERM. */
int mlq_auth_refuse(const struct mlq_identity *who, enum mlq_msg_type t, unsigned allowed,
                    struct mlq_err *err);
const char *mlq_auth_role_name(enum mlq_role r);
/* "user", "admin", "worker" -> role; MLQ_ROLE_NONE when unknown. */
enum mlq_role mlq_auth_role_parse(const char *s);

#endif
