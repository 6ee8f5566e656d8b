/* manifest: see manifest.h. */
#include "manifest.h"

#include <fnmatch.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HALVINGS_MAX 64 /* each one halves a list: more is never needed */

void mlq_manifest_secrets_init(struct mlq_manifest_secrets *s)
{
    static const char *const defaults[] = MLQ_MANIFEST_DEFAULT_SECRETS;
    s->n = 0;
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        mlq_manifest_secrets_add(s, defaults[i]);
}

int mlq_manifest_secrets_add(struct mlq_manifest_secrets *s, const char *pattern)
{
    size_t len = pattern ? strlen(pattern) : 0;
    if (len == 0 || len > MLQ_MANIFEST_MAX_PATTERN || strchr(pattern, '\n') ||
        s->n >= MLQ_MANIFEST_MAX_PATTERNS)
        return -1;
    memcpy(s->pat[s->n++], pattern, len + 1);
    return 0;
}

bool mlq_manifest_is_secret(const struct mlq_manifest_secrets *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++) {
        if (fnmatch(s->pat[i], name, FNM_CASEFOLD) == 0)
            return true;
    }
    return false;
}

void mlq_manifest_redact(const char *value, char *out, size_t len)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    crypto_hash_sha256(h, (const unsigned char *)value, strlen(value));
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    snprintf(out, len, "sha256:%.16s", hex);
}

json_t *mlq_manifest_env(char *const *envp, const struct mlq_manifest_secrets *s)
{
    json_t *env = json_object();
    for (size_t i = 0; env && envp && envp[i]; i++) {
        const char *eq = strchr(envp[i], '=');
        if (!eq || eq == envp[i])
            continue;
        char *name = strndup(envp[i], (size_t)(eq - envp[i]));
        char red[MLQ_MANIFEST_REDACTED_LEN + 1];
        const char *value = eq + 1;
        if (name && mlq_manifest_is_secret(s, name)) {
            mlq_manifest_redact(value, red, sizeof red);
            value = red;
        }
        /* not valid UTF-8: jansson refuses it; the entry is dropped */
        if (!name || json_object_set_new(env, name, json_string(value)) < 0)
            json_object_set_new(env, name ? name : "", json_null());
        free(name);
    }
    return env;
}

/* Entries of a list (array or object); 0 for anything else. */
static size_t list_len(json_t *v)
{
    return json_is_array(v) ? json_array_size(v) : json_is_object(v) ? json_object_size(v) : 0;
}

/* Drops the second half of the array or object. */
static void halve(json_t *v)
{
    size_t keep = list_len(v) / 2;
    if (json_is_array(v)) {
        while (json_array_size(v) > keep)
            json_array_remove(v, json_array_size(v) - 1);
        return;
    }
    /* objects are dumped sorted: keep the first names in that order */
    const char **names = calloc(list_len(v), sizeof *names);
    size_t n = 0;
    const char *k;
    json_t *x;
    if (!names) {
        json_object_clear(v);
        return;
    }
    json_object_foreach(v, k, x) names[n++] = k;
    qsort(names, n, sizeof *names, (int (*)(const void *, const void *))strcmp);
    char **drop = calloc(n, sizeof *drop);
    size_t nd = 0;
    for (size_t i = keep; drop && i < n; i++)
        drop[nd++] = strdup(names[i]);
    free(names);
    for (size_t i = 0; i < nd; i++) {
        if (drop[i])
            json_object_del(v, drop[i]);
        free(drop[i]);
    }
    free(drop);
    if (!drop)
        json_object_clear(v);
}

static const char *const lists[] = {"env", "inputs", "outputs"};

/* Halves the longest list of doc (marking it); false when none is left. */
static bool shrink(json_t *doc, bool all)
{
    const char *longest = NULL;
    size_t most = 0;
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        size_t n = list_len(json_object_get(doc, lists[i]));
        if (n > most) {
            most = n;
            longest = lists[i];
        }
    }
    if (!longest)
        return false;
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        json_t *v = json_object_get(doc, lists[i]);
        if (!all && strcmp(lists[i], longest) != 0)
            continue;
        if (list_len(v) == 0)
            continue;
        char mark[32];
        snprintf(mark, sizeof mark, "%s_truncated", lists[i]);
        json_object_set_new(doc, mark, json_true());
        if (all)
            json_is_array(v) ? json_array_clear(v) : json_object_clear(v);
        else
            halve(v);
    }
    return true;
}

static char *dump(const json_t *doc)
{
    return json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
}

int mlq_manifest_dump(json_t *doc, size_t max, char **out)
{
    *out = NULL;
    for (int round = 0; round <= HALVINGS_MAX + 1; round++) {
        char *text = dump(doc);
        if (!text)
            return -1;
        if (strlen(text) <= max) {
            *out = text;
            return 0;
        }
        free(text);
        if (!shrink(doc, round >= HALVINGS_MAX))
            break;
    }
    /* still too long without its lists (an argv near the wire's limit):
     * the document says so rather than being dropped */
    json_t *small = json_pack("{s:i,s:b,s:s}", "format", MLQ_MANIFEST_FORMAT, "truncated", 1,
                              "error", "the manifest is larger than its limit");
    if (!small)
        return -1;
    *out = dump(small);
    json_decref(small);
    return *out ? 0 : -1;
}
