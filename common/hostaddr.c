/* hostaddr: checking an advertised address and finding the default one
 * (see hostaddr.h). */
#include "hostaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LABEL 63

static bool is_ip(const char *host)
{
    struct in6_addr a6;
    struct in_addr a4;
    return inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
}

static bool label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

/* One label of a DNS name: [s, s + n). */
static bool label_ok(const char *s, size_t n)
{
    if (n == 0 || n > MAX_LABEL || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!label_char(s[i]))
            return false;
    return true;
}

/* A name whose last label is all digits reads as a mistyped IPv4 address
 * ("10.0.0.300"), not as a host name. */
static bool last_label_numeric(const char *host)
{
    const char *dot = strrchr(host, '.');
    const char *last = dot ? dot + 1 : host;
    return strspn(last, "0123456789") == strlen(last);
}

int mlq_hostaddr_check(const char *host, struct mlq_err *err)
{
    if (!host || !host[0])
        return mlq_err_set(err, MLQ_EINVAL, "empty address");
    size_t len = strnlen(host, MLQ_MAX_HOST + 1);
    if (len > MLQ_MAX_HOST)
        return mlq_err_set(err, MLQ_EINVAL, "address longer than %d bytes", MLQ_MAX_HOST);
    if (is_ip(host))
        return 0;
    for (const char *p = host;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (!label_ok(p, n))
            return mlq_err_set(err, MLQ_EINVAL,
                               "'%.64s' is neither an IP address nor a host name (labels of 1 to "
                               "63 letters, digits and '-', separated by dots)",
                               host);
        if (!dot)
            break;
        p = dot + 1;
    }
    if (last_label_numeric(host))
        return mlq_err_set(err, MLQ_EINVAL, "'%.64s' is not a valid IPv4 address", host);
    return 0;
}

/* Splits "tcp://HOST:PORT" ("[V6]" for IPv6) into host and port. */
static int split_endpoint(const char *ep, char *host, size_t hlen, char *port, size_t plen,
                          struct mlq_err *err)
{
    if (!ep || strncmp(ep, "tcp://", 6) != 0)
        return mlq_err_set(err, MLQ_EINVAL, "not a tcp:// endpoint: %.100s", ep ? ep : "(none)");
    const char *h = ep + 6, *end;
    if (h[0] == '[') {
        h++;
        end = strchr(h, ']');
        if (!end || end[1] != ':')
            return mlq_err_set(err, MLQ_EINVAL, "bad IPv6 endpoint: %.100s", ep);
    } else {
        end = strrchr(h, ':');
        if (!end)
            return mlq_err_set(err, MLQ_EINVAL, "no port in endpoint: %.100s", ep);
    }
    const char *p = end + (*end == ']' ? 2 : 1);
    size_t n = (size_t)(end - h);
    if (n == 0 || n >= hlen || strlen(p) == 0 || strlen(p) >= plen)
        return mlq_err_set(err, MLQ_EINVAL, "bad endpoint: %.100s", ep);
    memcpy(host, h, n);
    host[n] = '\0';
    strcpy(port, p);
    return 0;
}

/* The source address of a UDP socket connected to ai, into buf. */
static int route_source(const struct addrinfo *ai, char *buf, size_t len)
{
    int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int rc = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
                     getsockname(fd, (struct sockaddr *)&ss, &sl) == 0 &&
                     getnameinfo((struct sockaddr *)&ss, sl, buf, (socklen_t)len, NULL, 0,
                                 NI_NUMERICHOST) == 0
                 ? 0
                 : -1;
    close(fd);
    return rc;
}

int mlq_hostaddr_route(const char *endpoint, char *buf, size_t len, struct mlq_err *err)
{
    char host[MLQ_MAX_HOST + 1], port[16];
    int rc = split_endpoint(endpoint, host, sizeof host, port, sizeof port, err);
    if (rc < 0)
        return rc;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM}, *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0)
        return mlq_err_set(err, MLQ_EUNREACH, "cannot resolve %.100s: %s", host, gai_strerror(gai));
    rc = MLQ_EUNREACH;
    for (const struct addrinfo *ai = res; ai && rc < 0; ai = ai->ai_next)
        if (route_source(ai, buf, len) == 0)
            rc = 0;
    freeaddrinfo(res);
    if (rc < 0)
        return mlq_err_set(err, rc, "no route to %.100s: %s", host, strerror(errno));
    /* getnameinfo may add "%zone" to a link-local IPv6 address */
    buf[strcspn(buf, "%")] = '\0';
    return 0;
}
