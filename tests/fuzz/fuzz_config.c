/* Fuzz target for the client config parser (common/config).
 *
 * Any input may be refused, but none may crash or leak; a refusal names the
 * origin and a line; values that parse never hold control characters. */
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
