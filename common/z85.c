/* z85: see z85.h. */
#include "z85.h"

#include <stdint.h>
#include <string.h>

static const char z85_chars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                ".-:+=^!/*?&<>()[]{}@%$#";

bool mlq_z85_valid(const char *s, size_t len)
{
    if (!s || len % 5 != 0 || strnlen(s, len + 1) != len)
        return false;
    for (size_t g = 0; g < len; g += 5) {
        uint64_t v = 0;
        for (size_t i = g; i < g + 5; i++) {
            const char *c = strchr(z85_chars, s[i]);
            if (!c)
                return false;
            v = v * 85 + (uint64_t)(c - z85_chars);
        }
        if (v > UINT32_MAX)
            return false;
    }
    return true;
}
