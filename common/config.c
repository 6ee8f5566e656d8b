/* config: see config.h.
 *
 * There are no trailing comments: a '#' after the '=' belongs to the value,
 * because values include CURVE keys in Z85, whose alphabet contains '#'.
 * A key given twice keeps its last value, so a later line overrides. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"

#define CONFIG_MAX_LINE 4096
#define CONFIG_MAX_KEYS 64
#define CONFIG_MAX_FILE (1024 * 1024)

struct config_entry {
    char *key;
    char *value;
};

struct mlq_config {
    struct config_entry entries[CONFIG_MAX_KEYS];
    int count;
};

static bool config_key_char(char c, bool dash)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || (dash && c == '-');
}

static bool config_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Stores a copy of key/value, replacing an earlier value of the same key. */
static int config_put(struct mlq_config *cfg, const char *k, size_t klen, const char *v,
                      size_t vlen)
{
    char *value = strndup(v, vlen);
    if (!value)
        return MLQ_ENOMEM;
    for (int i = 0; i < cfg->count; i++) {
        struct config_entry *e = &cfg->entries[i];
        if (strlen(e->key) == klen && memcmp(e->key, k, klen) == 0) {
            free(e->value);
            e->value = value;
            return 0;
        }
    }
    if (cfg->count == CONFIG_MAX_KEYS) {
        free(value);
        return MLQ_ETOOBIG;
    }
    char *key = strndup(k, klen);
    if (!key) {
        free(value);
        return MLQ_ENOMEM;
    }
    cfg->entries[cfg->count++] = (struct config_entry){key, value};
    return 0;
}

/* A line split into key and value, both trimmed; key is empty for a blank
 * or comment line. */
struct config_kv {
    const char *key, *value;
    size_t klen, vlen;
};

/* Splits one line (without its '\n'). Returns 0, or MLQ_EINVAL with *why
 * set to a message fragment. */
static int config_split(const char *s, size_t n, bool dash, struct config_kv *kv, const char **why)
{
    const char *end = s + n;
    *why = "expected \"key = value\"";
    kv->klen = 0;
    if (n > 0 && end[-1] == '\r')
        end--; /* tolerate files edited on Windows */
    while (s < end && config_space(*s))
        s++;
    if (s == end || *s == '#')
        return 0;
    const char *key = s;
    while (s < end && config_key_char(*s, dash))
        s++;
    size_t klen = (size_t)(s - key);
    while (s < end && config_space(*s))
        s++;
    if (klen == 0 || s == end || *s != '=')
        return MLQ_EINVAL;
    for (s++; s < end && config_space(*s); s++)
        ;
    while (end > s && config_space(end[-1]))
        end--;
    for (const char *p = s; p < end; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            *why = "control character in value";
            return MLQ_EINVAL;
        }
    }
    *kv = (struct config_kv){key, s, klen, (size_t)(end - s)};
    return 0;
}

/* Parses one line of the client config into cfg. */
static int config_line(struct mlq_config *cfg, const char *s, size_t n, const char **why)
{
    struct config_kv kv;
    int rc = config_split(s, n, false, &kv, why);
    if (rc < 0 || kv.klen == 0)
        return rc;
    rc = config_put(cfg, kv.key, kv.klen, kv.value, kv.vlen);
    if (rc == MLQ_ETOOBIG)
        *why = "too many keys (at most 64)";
    else if (rc == MLQ_ENOMEM)
        *why = "out of memory";
    return rc;
}

/* Checks the bounds shared by every line; returns 0 or a code with *why. */
static int config_line_bounds(const char *p, size_t n, const char **why)
{
    if (n > CONFIG_MAX_LINE) {
        *why = "line longer than 4096 bytes";
        return MLQ_ETOOBIG;
    }
    if (memchr(p, '\0', n)) {
        *why = "NUL byte in line";
        return MLQ_EINVAL;
    }
    return 0;
}

int mlq_config_scan(const char *text, size_t len, const char *origin, int max_keys,
                    mlq_config_line_fn fn, void *ctx, struct mlq_err *err)
{
    const char *p = text ? text : "", *end = p + (text ? len : 0);
    int nkeys = 0;
    origin = origin ? origin : "config";
    for (int lineno = 1; p < end; lineno++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *why = NULL;
        struct config_kv kv = {0};
        int rc = config_line_bounds(p, n, &why);
        if (rc == 0)
            rc = config_split(p, n, true, &kv, &why);
        if (rc == 0 && kv.klen > 0 && ++nkeys > max_keys)
            rc = MLQ_ETOOBIG, why = "too many settings";
        if (rc < 0)
            return mlq_err_set(err, rc, "%s:%d: %s", origin, lineno, why);
        if (kv.klen > 0) {
            char key[CONFIG_MAX_LINE + 1], value[CONFIG_MAX_LINE + 1];
            memcpy(key, kv.key, kv.klen);
            key[kv.klen] = '\0';
            memcpy(value, kv.value, kv.vlen);
            value[kv.vlen] = '\0';
            if ((rc = fn(ctx, key, value, lineno, err)) < 0)
                return rc;
        }
        p += n + (nl ? 1 : 0);
    }
    return 0;
}

int mlq_config_parse(const char *text, size_t len, const char *origin, struct mlq_config **out,
                     struct mlq_err *err)
{
    if (!text && len > 0)
        return mlq_err_set(err, MLQ_EINVAL, "no config text");
    if (!text)
        text = "";
    struct mlq_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    const char *p = text, *end = text + len;
    for (int lineno = 1; p < end; lineno++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *why = NULL;
        int rc = config_line_bounds(p, n, &why);
        if (rc == 0)
            rc = config_line(cfg, p, n, &why);
        if (rc < 0) {
            mlq_config_destroy(&cfg);
            return mlq_err_set(err, rc, "%s:%d: %s", origin ? origin : "config", lineno, why);
        }
        p += n + (nl ? 1 : 0);
    }
    *out = cfg;
    return 0;
}

/* path with a leading $HOME shown as "~", for messages only. */
static void config_pretty(const char *path, char *out, size_t len)
{
    const char *home = getenv("HOME");
    size_t h = home ? strlen(home) : 0;
    if (h > 1 && strncmp(path, home, h) == 0 && path[h] == '/')
        snprintf(out, len, "~%s", path + h);
    else
        snprintf(out, len, "%s", path);
}

int mlq_config_load(const char *path, struct mlq_config **out, struct mlq_err *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = mlq_fs_read_all(path, CONFIG_MAX_FILE, &text, &len, err);
    if (rc < 0)
        return rc;
    char origin[256];
    config_pretty(path, origin, sizeof origin);
    rc = mlq_config_parse(text, len, origin, out, err);
    free(text);
    return rc;
}

int mlq_config_scan_file(const char *path, int max_keys, mlq_config_line_fn fn, void *ctx,
                         struct mlq_err *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = mlq_fs_read_all(path, CONFIG_MAX_FILE, &text, &len, err);
    if (rc < 0)
        return rc;
    rc = mlq_config_scan(text, len, path, max_keys, fn, ctx, err);
    free(text);
    return rc;
}

const char *mlq_config_get(const struct mlq_config *cfg, const char *key)
{
    if (!cfg || !key)
        return NULL;
    for (int i = 0; i < cfg->count; i++)
        if (strcmp(cfg->entries[i].key, key) == 0)
            return cfg->entries[i].value;
    return NULL;
}

void mlq_config_destroy(struct mlq_config **cfg)
{
    if (!cfg || !*cfg)
        return;
    for (int i = 0; i < (*cfg)->count; i++) {
        free((*cfg)->entries[i].key);
        free((*cfg)->entries[i].value);
    }
    free(*cfg);
    *cfg = NULL;
}

/* s + suffix in a new string, or NULL when s is unset or empty. */
static char *config_join(const char *s, const char *suffix)
{
    if (!s || !*s)
        return NULL;
    size_t n = strlen(s) + strlen(suffix) + 1;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "%s%s", s, suffix);
    return out;
}

char *mlq_config_default_path(void)
{
    const char *explicit_path = getenv("MLQ_CONFIG");
    if (explicit_path && *explicit_path)
        return strdup(explicit_path);
    /* The XDG spec says a relative $XDG_CONFIG_HOME is invalid: ignore it. */
    const char *xdg = getenv("XDG_CONFIG_HOME");
    if (xdg && xdg[0] == '/')
        return config_join(xdg, "/mlq/config");
    return config_join(getenv("HOME"), "/.config/mlq/config");
}
