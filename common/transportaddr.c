/* transportaddr: the address checks of transport.h (mlq_transport_is_local),
 * apart from the sockets so that a program that only checks addresses (the
 * CLI, which speaks ZMTP itself) does not link libzmq. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "transport.h"

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* True for a loopback host: 127.0.0.0/8, ::1 (inside brackets) or
 * "localhost". Wildcards ("*", 0.0.0.0) are not loopback. */
static bool host_is_loopback(const char *host, size_t len, bool bracketed)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, host, len);
    buf[len] = '\0';
    if (bracketed) {
        struct in6_addr a6;
        return inet_pton(AF_INET6, buf, &a6) == 1 && memcmp(&a6, &in6addr_loopback, 16) == 0;
    }
    struct in_addr a4;
    if (inet_pton(AF_INET, buf, &a4) == 1)
        return ((const uint8_t *)&a4.s_addr)[0] == 127;
    return strcasecmp(buf, "localhost") == 0;
}

static bool port_ok(const char *p)
{
    if (strcmp(p, "*") == 0)
        return true;
    size_t n = strspn(p, "0123456789");
    return n >= 1 && n <= 5 && p[n] == '\0';
}

bool mlq_transport_is_local(const char *endpoint)
{
    if (!endpoint)
        return false;
    if (starts_with(endpoint, "ipc://") || starts_with(endpoint, "inproc://"))
        return true;
    if (!starts_with(endpoint, "tcp://"))
        return false;
    const char *host = endpoint + strlen("tcp://");
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        return close && close[1] == ':' && port_ok(close + 2) &&
               host_is_loopback(host + 1, (size_t)(close - host - 1), true);
    }
    const char *colon = strchr(host, ':');
    return colon && port_ok(colon + 1) && host_is_loopback(host, (size_t)(colon - host), false);
}
