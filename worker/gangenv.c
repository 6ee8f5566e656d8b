/* gangenv: see gangenv.h. */
#include "gangenv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

#define HOSTFILE_MODE 0644

/* One port number, all of s (decimal digits, no sign). */
static int parse_port(const char *s, size_t n, int32_t *out)
{
    long v = 0;
    if (n == 0 || n > 5)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    *out = (int32_t)v;
    return 0;
}

int mlq_gangenv_parse_ports(const char *arg, int32_t *lo, int32_t *hi, struct mlq_err *err)
{
    const char *dash = strchr(arg, '-');
    size_t n1 = dash ? (size_t)(dash - arg) : strlen(arg);
    int32_t a = 0, b = 0;
    if (parse_port(arg, n1, &a) < 0 || (dash && parse_port(dash + 1, strlen(dash + 1), &b) < 0))
        return mlq_err_set(err, MLQ_EINVAL, "expected LO-HI, two ports from 1 to 65535 ('%.40s')",
                           arg);
    if (!dash)
        b = a;
    if (a > b)
        return mlq_err_set(err, MLQ_EINVAL, "LO (%" PRId32 ") is above HI (%" PRId32 ")", a, b);
    *lo = a;
    *hi = b;
    return 0;
}

int64_t mlq_gangenv_world_size(int32_t nnodes, int32_t gpus)
{
    return gpus > 0 ? (int64_t)nnodes * gpus : (int64_t)nnodes;
}

const char *mlq_gangenv_host_addr(const struct mlq_ganghost *h)
{
    /* The decoder checked both, but the hostfile's format depends on it:
     * one host per line, no spaces. */
    if (h->addr && mlq_proto_gang_addr_check(h->addr, NULL) == 0)
        return h->addr;
    return h->worker && mlq_proto_gang_addr_check(h->worker, NULL) == 0 ? h->worker : "?";
}

int mlq_gangenv_hostfile_text(const struct mlq_ganginfo *g, int32_t gpus, char **out,
                              struct mlq_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < g->nhosts; i++) {
        /* Every node has the job's per-node GPUs; the host's own count is
         * what the scheduler booked there, the same number. */
        int32_t slots = g->hosts[i].gpus > 0 ? g->hosts[i].gpus : gpus > 0 ? gpus : 1;
        fprintf(f, "%s slots=%" PRId32 "\n", mlq_gangenv_host_addr(&g->hosts[i]), slots);
    }
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    *out = buf;
    return 0;
}

int mlq_gangenv_write_hostfile(const char *dir, const struct mlq_ganginfo *g, int32_t gpus,
                               char *path, size_t path_len, struct mlq_err *err)
{
    char *text = NULL;
    int n = snprintf(path, path_len, "%s/%s", dir, MLQ_GANGENV_HOSTFILE);
    if (n < 0 || (size_t)n >= path_len)
        return mlq_err_set(err, MLQ_EIO, "hostfile path too long in %s", dir);
    int rc = mlq_gangenv_hostfile_text(g, gpus, &text, err);
    if (rc < 0)
        return rc;
    /* Not fsynced: after a reboot the job is gone with it. */
    rc = mlq_fs_write_replace(path, text, strlen(text), err);
    free(text);
    if (rc == 0 && chmod(path, HOSTFILE_MODE) != 0)
        rc = mlq_err_set(err, MLQ_EIO, "chmod %s: %s", path, strerror(errno));
    return rc;
}

int mlq_gangenv_write_private(const struct mlq_ganginfo *g, int32_t gpus, const char *tmp_root,
                              uid_t uid, gid_t gid, char *path, size_t path_len,
                              struct mlq_err *err)
{
    char dir[MLQ_MAX_PATH];
    int n = snprintf(dir, sizeof dir, "%s/mlq-gang-XXXXXX", tmp_root ? tmp_root : "/tmp");
    if (n < 0 || (size_t)n >= sizeof dir)
        return mlq_err_set(err, MLQ_EIO, "temporary folder path too long");
    if (!mkdtemp(dir))
        return mlq_err_set(err, MLQ_EIO, "mkdtemp %s: %s", dir, strerror(errno));
    /* Written while the folder is still ours alone, then handed over. */
    int rc = mlq_gangenv_write_hostfile(dir, g, gpus, path, path_len, err);
    if (rc == 0 && (chown(path, uid, gid) != 0 || chown(dir, uid, gid) != 0))
        rc = mlq_err_set(err, MLQ_EIO, "chown %s: %s", dir, strerror(errno));
    if (rc < 0) {
        unlink(path);
        rmdir(dir);
    }
    return rc;
}

void mlq_gangenv_remove_private(const char *path)
{
    char dir[MLQ_MAX_PATH];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    unlink(path); /* a link the job put there goes, not what it names */
    if (!slash)
        return;
    *slash = '\0';
    rmdir(dir);
}

/* Every variable but the hostfile's, in the order of gangenv.h. */
static int put_numbers(const struct mlq_ganginfo *g, int32_t gpus, mlq_gangenv_put_fn put,
                       void *ctx)
{
    char nn[16], rank[16], port[16], world[24];
    snprintf(nn, sizeof nn, "%" PRId32, g->nnodes);
    snprintf(rank, sizeof rank, "%" PRId32, g->rank);
    snprintf(port, sizeof port, "%" PRId32, g->master_port);
    snprintf(world, sizeof world, "%" PRId64, mlq_gangenv_world_size(g->nnodes, gpus));
    const char *master = g->master_addr ? g->master_addr : "";
    const char *const kv[][2] = {
        {"MLQ_NNODES", nn},        {"MLQ_NODE_RANK", rank}, {"MLQ_MASTER_ADDR", master},
        {"MLQ_MASTER_PORT", port}, {"MASTER_ADDR", master}, {"MASTER_PORT", port},
        {"NODE_RANK", rank},       {"WORLD_SIZE", world},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++) {
        int rc = put(ctx, kv[i][0], kv[i][1]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int mlq_gangenv_each(const struct mlq_ganginfo *g, int32_t gpus, const char *hostfile,
                     mlq_gangenv_put_fn put, void *ctx)
{
    int rc = put_numbers(g, gpus, put, ctx);
    return rc != 0 ? rc : put(ctx, "MLQ_HOSTFILE", hostfile ? hostfile : "");
}

/* Binds and listens like a rendezvous server would; 0, or the errno. */
static int try_listen(int family, int32_t port)
{
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    int one = 1, rc = 0;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t sl;
    if (family == AF_INET6) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        /* IPv4 is checked on its own socket. */
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        a6->sin6_family = AF_INET6;
        a6->sin6_addr = in6addr_any;
        a6->sin6_port = htons((uint16_t)port);
        sl = sizeof *a6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_addr.s_addr = htonl(INADDR_ANY);
        a4->sin_port = htons((uint16_t)port);
        sl = sizeof *a4;
    }
    /* Two SO_REUSEADDR sockets may both bind where neither listens yet: the
     * conflict shows at listen. */
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1) != 0)
        rc = errno;
    close(fd);
    return rc;
}

int mlq_gangenv_port_check(int32_t port, struct mlq_err *err)
{
    if (port < 1 || port > 65535)
        return mlq_err_set(err, MLQ_EINVAL, "rendezvous port %" PRId32 " is out of range", port);
    int e = try_listen(AF_INET, port);
    if (e == 0) {
        e = try_listen(AF_INET6, port);
        /* A host without IPv6 has nothing there to collide with. */
        if (e == EAFNOSUPPORT || e == EADDRNOTAVAIL || e == EPROTONOSUPPORT)
            e = 0;
    }
    if (e == EADDRINUSE || e == EACCES)
        return mlq_err_set(err, MLQ_ESTATE, "rendezvous port %" PRId32 " is in use", port);
    if (e != 0)
        return mlq_err_set(err, MLQ_ESTATE, "rendezvous port %" PRId32 " cannot be bound: %s", port,
                           strerror(e));
    return 0;
}
