/* creds: see creds.h.
 *
 * Plain TCP is never a fallback: a client without keys that was not told
 * --insecure fails with a message saying what to configure, because
 * DESIGN.md allows plain text "only when explicitly asked for". */
#include "creds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bounds.h"
#include "config.h"
#include "keys.h"

char *mlq_creds_config_dir(const char *config_path)
{
    char *path = config_path ? strdup(config_path) : mlq_config_default_path();
    char *slash = path ? strrchr(path, '/') : NULL;
    if (!slash) {
        bool had = path != NULL;
        free(path);
        return had ? strdup(".") : NULL;
    }
    if (slash == path)
        slash[1] = '\0';
    else
        *slash = '\0';
    return path;
}

/* dir/value for a relative value; value itself when absolute. */
static int config_rel(const char *dir, const char *value, char *out, size_t len,
                      struct mlq_err *err)
{
    int n = value[0] == '/' || !dir ? snprintf(out, len, "%s", value)
                                    : snprintf(out, len, "%s/%s", dir, value);
    if (n < 0 || (size_t)n >= len)
        return mlq_err_set(err, MLQ_EINVAL, "key path in the client config is too long");
    return 0;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* What the config says; every pointer may be NULL. cfg is destroyed by
 * the caller. */
struct cfg_view {
    struct mlq_config *cfg;
    char *dir;
    const char *key, *scheduler_key, *insecure;
};

static int load_view(const struct mlq_creds_src *src, struct cfg_view *v, struct mlq_err *err)
{
    memset(v, 0, sizeof *v);
    char *path = src->config_path ? strdup(src->config_path) : mlq_config_default_path();
    v->dir = mlq_creds_config_dir(path);
    int rc = path ? mlq_config_load(path, &v->cfg, err) : MLQ_ENOTFOUND;
    free(path);
    if (rc == MLQ_ENOTFOUND) {
        mlq_err_clear(err);
        return 0;
    }
    if (rc < 0)
        return rc;
    v->key = mlq_config_get(v->cfg, "key");
    v->scheduler_key = mlq_config_get(v->cfg, "scheduler_key");
    v->insecure = mlq_config_get(v->cfg, "insecure");
    return 0;
}

static void free_view(struct cfg_view *v)
{
    mlq_config_destroy(&v->cfg);
    free(v->dir);
}

/* `insecure = yes|no` (true/false, 1/0 accepted too). */
static int parse_insecure(const char *v, bool *out, struct mlq_err *err)
{
    static const char *const yes[] = {"yes", "true", "1"}, *const no[] = {"no", "false", "0"};
    for (size_t i = 0; i < 3; i++) {
        if (strcmp(v, yes[i]) == 0 || strcmp(v, no[i]) == 0) {
            *out = strcmp(v, yes[i]) == 0;
            return 0;
        }
    }
    return mlq_err_set(err, MLQ_EINVAL, "client config: insecure must be yes or no");
}

/* The secret key path: $MLQ_KEY, else `key`, else DIR/key when present. */
static int key_path(const struct mlq_creds_src *src, const struct cfg_view *v, char *out,
                    size_t len, struct mlq_err *err)
{
    if (src->env_key && src->env_key[0])
        return config_rel(NULL, src->env_key, out, len, err);
    if (v->key && v->key[0])
        return config_rel(v->dir, v->key, out, len, err);
    if (v->dir && config_rel(v->dir, "key", out, len, NULL) == 0 && file_exists(out))
        return 0;
    return mlq_err_set(err, MLQ_EINVAL,
                       "no client key: run `mlq keygen` and set key = PATH in the client config "
                       "(or MLQ_KEY), or use --insecure");
}

int mlq_creds_from_files(const char *key, const char *scheduler_pub, struct mlq_creds *out,
                         struct mlq_err *err)
{
    struct mlq_keypair kp;
    memset(out, 0, sizeof *out);
    int rc = mlq_keys_read_secret(key, &kp, err);
    if (rc == 0)
        rc = mlq_keys_read_public(scheduler_pub, out->curve.server_public, err);
    if (rc == 0) {
        memcpy(out->curve.own_public, kp.public_z85, sizeof kp.public_z85);
        memcpy(out->curve.own_secret, kp.secret_z85, sizeof kp.secret_z85);
    }
    explicit_bzero(&kp, sizeof kp);
    if (rc < 0)
        mlq_creds_wipe(out);
    return rc;
}

static int load_curve(const struct mlq_creds_src *src, const struct cfg_view *v,
                      struct mlq_creds *out, struct mlq_err *err)
{
    char key[MLQ_MAX_PATH + 1], spub[MLQ_MAX_PATH + 1];
    int rc = key_path(src, v, key, sizeof key, err);
    if (rc < 0)
        return rc;
    if (!v->scheduler_key || !v->scheduler_key[0])
        return mlq_err_set(err, MLQ_EINVAL,
                           "no scheduler_key in the client config (the scheduler's public key "
                           "file), or use --insecure");
    rc = config_rel(v->dir, v->scheduler_key, spub, sizeof spub, err);
    return rc < 0 ? rc : mlq_creds_from_files(key, spub, out, err);
}

int mlq_creds_load(const struct mlq_creds_src *src, struct mlq_creds *out, struct mlq_err *err)
{
    memset(out, 0, sizeof *out);
    if (src->insecure) {
        out->plain = true;
        return 0;
    }
    struct cfg_view v;
    bool plain = false;
    int rc = load_view(src, &v, err);
    if (rc == 0 && v.insecure)
        rc = parse_insecure(v.insecure, &plain, err);
    if (rc == 0 && plain)
        out->plain = true;
    else if (rc == 0)
        rc = load_curve(src, &v, out, err);
    free_view(&v);
    return rc;
}

void mlq_creds_wipe(struct mlq_creds *c)
{
    if (c)
        explicit_bzero(c, sizeof *c);
}
