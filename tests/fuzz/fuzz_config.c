/* Fuzz target for the client config parser and the daemons' config lexer
 * (common/config).
 *
 * Any input may be refused, but none may crash or leak; a refusal names the
 * origin and a line; values that parse never hold control characters, and
 * the lexer hands over keys of [a-z0-9_-] only. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void oracle(int ok)
{
    if (!ok)
        abort();
}

static void check_value(const struct mlq_config *cfg, const char *key)
{
    const char *v = mlq_config_get(cfg, key);
    if (!v)
        return;
    for (; *v; v++)
        oracle((unsigned char)*v >= 0x20 && *v != 0x7f);
}

static int scan_line(void *ctx, const char *key, const char *value, int line, struct mlq_err *err)
{
    (void)err;
    int *last = ctx;
    oracle(line > *last && *key &&
           strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(key));
    *last = line;
    for (; *value; value++)
        oracle((unsigned char)*value >= 0x20 && *value != 0x7f);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int last = 0;
    struct mlq_err serr = {0};
    int src = mlq_config_scan((const char *)data, size, "fuzz", 512, scan_line, &last, &serr);
    oracle(src == 0 || strncmp(serr.msg, "fuzz:", 5) == 0);

    static const char *const keys[] = {"scheduler", "a", "k", "server_key", "x0"};
    struct mlq_config *cfg = NULL;
    struct mlq_err err = {0};
    int rc = mlq_config_parse((const char *)data, size, "fuzz", &cfg, &err);
    if (rc != 0) {
        oracle(cfg == NULL && err.code == rc && strncmp(err.msg, "fuzz:", 5) == 0);
        return 0;
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        check_value(cfg, keys[i]);
    mlq_config_destroy(&cfg);
    oracle(cfg == NULL);
    return 0;
}
