/* http: see http.h. One thread per connection (bounded by the connection
 * limit), each with its own DEALER socket to the loop (ZeroMQ sockets are
 * not thread-safe), made when the connection's first API request arrives
 * and closed with the connection. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "fsutil.h"
#include "httpint.h"
#include "jsonview.h"
#include "log.h"
#include "loop.h"
#include "tokens.h"

#define CONN_LIMIT      256 /* connections (and threads) at once */
#define CONN_PER_IP     128
#define CONN_TIMEOUT_S  30 /* idle connection */
#define MAX_TOKEN_LEN   200
#define MAX_STATIC_PATH 256
#define MAX_STATIC_SIZE (16 * 1024 * 1024)

struct mlq_http {
    struct MHD_Daemon *d;
    void *zctx;
    char root[MLQ_MAX_PATH];
    bool has_root, tls;
    int port;
    atomic_bool stopping;
    atomic_uint_fast64_t next_rid;
    char *cert, *key; /* PEM, kept while the daemon runs */
};

struct mlq_http_conn {
    void *sock;
};

/* Per request: the body as it arrives, bounded before anything parses it. */
struct req_state {
    char *body;
    size_t len, cap;
    bool too_big;
};

/* ---- responses --------------------------------------------------------- */

unsigned mlq_http_status_of(int code)
{
    switch (code) {
    case MLQ_EINVAL:
    case MLQ_EAMBIG:
    case MLQ_EPROTO:
        return MHD_HTTP_BAD_REQUEST;
    case MLQ_EAUTH:
        return MHD_HTTP_UNAUTHORIZED;
    case MLQ_EPERM:
        return MHD_HTTP_FORBIDDEN;
    case MLQ_ENOTFOUND:
        return MHD_HTTP_NOT_FOUND;
    case MLQ_ESTATE:
        return MHD_HTTP_CONFLICT;
    case MLQ_ETOOBIG:
        return 413;
    case MLQ_EUNAVAIL:
    case MLQ_EUNREACH:
    case MLQ_EDB:
        return MHD_HTTP_SERVICE_UNAVAILABLE;
    default:
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

static enum MHD_Result queue_buffer(struct MHD_Connection *c, unsigned status, char *buf,
                                    size_t len, const char *ctype)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, buf, buf ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(buf);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"mlq\"");
    enum MHD_Result r = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return r;
}

enum MHD_Result mlq_http_json(struct MHD_Connection *c, unsigned status, json_t *doc)
{
    /* The same rendering as the CLI's --json (10 significant digits). */
    char *s = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(doc);
    if (!s)
        return mlq_http_error(c, MLQ_ENOMEM, "out of memory");
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return MHD_NO;
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    return queue_buffer(c, status, t, n + 1, "application/json");
}

enum MHD_Result mlq_http_error_status(struct MHD_Connection *c, unsigned status, int code,
                                      const char *msg)
{
    json_t *doc = json_pack("{s:{s:i, s:o}}", "error", "code", code, "message",
                            mlq_jsonview_str(msg && msg[0] ? msg : mlq_strerror(code)));
    char *s = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!s)
        return MHD_NO;
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return MHD_NO;
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    return queue_buffer(c, status, t, n + 1, "application/json");
}

enum MHD_Result mlq_http_error(struct MHD_Connection *c, int code, const char *msg)
{
    return mlq_http_error_status(c, mlq_http_status_of(code), code, msg);
}

/* ---- the bridge to the loop --------------------------------------------- */

bool mlq_http_stopping(const struct mlq_http_req *r)
{
    return atomic_load(&r->h->stopping);
}

static int conn_socket(struct mlq_http_req *r, struct mlq_err *err)
{
    if (r->hc->sock)
        return 0;
    void *s = zmq_socket(r->h->zctx, ZMQ_DEALER);
    int zero = 0, hwm = 4;
    if (!s || zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
        zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm) < 0 ||
        zmq_connect(s, MLQ_LOOP_API_ENDPOINT) < 0) {
        int e = errno;
        if (s)
            zmq_close(s);
        return mlq_err_set(err, MLQ_EUNAVAIL, "scheduler unavailable: %s", zmq_strerror(e));
    }
    r->hc->sock = s;
    return 0;
}

/* Drops the socket after a failure, so that a late answer to an abandoned
 * request can never be taken for the next one's. */
static void conn_reset(struct mlq_http_req *r)
{
    if (r->hc->sock)
        zmq_close(r->hc->sock);
    r->hc->sock = NULL;
}

int mlq_http_call(struct mlq_http_req *r, struct mlq_msg *req, struct mlq_msg *reply,
                  int timeout_ms, struct mlq_err *err)
{
    memset(reply, 0, sizeof *reply);
    req->rid = atomic_fetch_add(&r->h->next_rid, 1) + 1;
    char *body = NULL;
    size_t len = 0;
    int rc = mlq_proto_encode(req, &body, &len, err);
    if (rc == 0)
        rc = conn_socket(r, err);
    if (rc < 0) {
        free(body);
        return rc;
    }
    void *s = r->hc->sock;
    if (zmq_send(s, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(s, r->hash, 64, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(s, body, len, ZMQ_DONTWAIT) < 0) {
        free(body);
        conn_reset(r);
        return mlq_err_set(err, MLQ_EUNAVAIL, "scheduler busy; try again");
    }
    free(body);
    int waited = 0;
    for (;;) {
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&it, 1, 200);
        if (n < 0 && errno != EINTR)
            break;
        if (n <= 0) {
            waited += 200;
            if (waited >= timeout_ms || atomic_load(&r->h->stopping))
                break;
            continue;
        }
        zmq_msg_t part;
        int frames = 0;
        bool ok = false;
        struct mlq_msg m;
        int more = 1;
        while (more) {
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, s, 0) < 0) {
                zmq_msg_close(&part);
                break;
            }
            more = zmq_msg_more(&part);
            if (frames == 1 && !more)
                ok = mlq_proto_decode(zmq_msg_data(&part), zmq_msg_size(&part), &m, NULL) == 0;
            frames++;
            zmq_msg_close(&part);
        }
        if (!ok)
            continue;
        if (m.rid != req->rid) { /* an abandoned request's late answer */
            mlq_proto_msg_free(&m);
            continue;
        }
        if (m.type == MLQ_MSG_ERROR) {
            rc = mlq_err_set(err, m.u.error.code < 0 ? m.u.error.code : MLQ_EPROTO, "%s",
                             m.u.error.msg ? m.u.error.msg : "");
            mlq_proto_msg_free(&m);
            return rc;
        }
        *reply = m;
        return 0;
    }
    conn_reset(r);
    return mlq_err_set(err, MLQ_EUNAVAIL, "the scheduler did not answer in time; try again");
}

/* ---- static files ------------------------------------------------------- */

static const char *mime_of(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* A path below the root: only A-Z a-z 0-9 _ - . / characters, no empty,
 * "." or ".." component, nothing hidden. */
static bool static_path_ok(const char *p)
{
    size_t n = strlen(p);
    if (n == 0 || n > MAX_STATIC_PATH ||
        strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-./") != n)
        return false;
    for (const char *c = p; *c;) {
        const char *slash = strchr(c, '/');
        size_t len = slash ? (size_t)(slash - c) : strlen(c);
        if (len == 0 || c[0] == '.')
            return false;
        c += len + (slash ? 1 : 0);
        if (slash && !*c)
            return false;
    }
    return true;
}

static enum MHD_Result serve_static(struct mlq_http *h, struct MHD_Connection *c, const char *url)
{
    if (!h->has_root)
        return mlq_http_error(c, MLQ_ENOTFOUND, "no dashboard here (start with --http-root DIR)");
    const char *rel = url[1] ? url + 1 : "index.html";
    if (!static_path_ok(rel))
        return mlq_http_error(c, MLQ_ENOTFOUND, "no such file");
    char path[MLQ_MAX_PATH + MAX_STATIC_PATH + 2];
    snprintf(path, sizeof path, "%s/%s", h->root, rel);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        snprintf(path, sizeof path, "%s/%s/index.html", h->root, rel);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    }
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_STATIC_SIZE) {
        if (fd >= 0)
            close(fd);
        return mlq_http_error(c, MLQ_ENOTFOUND, "no such file");
    }
    struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, mime_of(path));
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    enum MHD_Result r = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return r;
}

/* ---- requests ------------------------------------------------------------ */

/* The bearer token's hash into out; false when there is none usable. */
static bool bearer_hash(struct MHD_Connection *c, char out[65])
{
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!a || strncasecmp(a, "Bearer ", 7) != 0)
        return false;
    const char *t = a + 7;
    while (*t == ' ')
        t++;
    size_t n = strnlen(t, MAX_TOKEN_LEN + 1);
    if (n == 0 || n > MAX_TOKEN_LEN)
        return false;
    return mlq_tokens_hash(t, n, out) == 0;
}

static bool is_api(const char *url)
{
    return strncmp(url, "/api/", 5) == 0 || strcmp(url, "/metrics") == 0;
}

/* The body a route may send: large only for the batch submit. */
static size_t body_max(const char *url)
{
    return strcmp(url, MLQ_HTTP_BATCH_PATH) == 0 ? MLQ_HTTP_MAX_BATCH_BODY : MLQ_HTTP_MAX_BODY;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    struct mlq_http *h = cls;
    struct req_state *rs = *con_cls;
    if (!rs) {
        if (!(rs = calloc(1, sizeof *rs)))
            return MHD_NO;
        *con_cls = rs;
        const char *cl =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > body_max(url))
            rs->too_big = true; /* said so up front: never read it */
        return MHD_YES;
    }
    if (*upload_size) { /* a piece of the body: kept only within the bound */
        if (!rs->too_big && rs->len + *upload_size > body_max(url))
            rs->too_big = true;
        if (!rs->too_big) {
            if (rs->len + *upload_size + 1 > rs->cap) {
                size_t cap = rs->cap ? rs->cap : 4096;
                while (cap < rs->len + *upload_size + 1)
                    cap *= 2;
                char *b = realloc(rs->body, cap);
                if (!b)
                    return MHD_NO;
                rs->body = b;
                rs->cap = cap;
            }
            memcpy(rs->body + rs->len, upload, *upload_size);
            rs->len += *upload_size;
            rs->body[rs->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (rs->too_big)
        return mlq_http_error(c, MLQ_ETOOBIG, "request body over the limit of 1048576 bytes");
    if (!is_api(url)) {
        if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
            return mlq_http_error_status(c, MHD_HTTP_METHOD_NOT_ALLOWED, MLQ_EINVAL,
                                         "only GET here");
        return serve_static(h, c, url);
    }
    struct mlq_http_req r = {.h = h, .conn = c, .method = method, .path = url};
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    r.hc = ci ? ci->socket_context : NULL;
    if (!r.hc)
        return MHD_NO;
    if (!bearer_hash(c, r.hash))
        return mlq_http_error(c, MLQ_EAUTH,
                              "an Authorization: Bearer TOKEN header is required "
                              "(mlq admin token create NAME)");
    r.body = rs->body ? rs->body : "";
    r.len = rs->len;
    return mlq_httpapi_route(&r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct req_state *rs = *con_cls;
    if (rs) {
        free(rs->body);
        free(rs);
    }
    *con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    (void)c;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        *socket_context = calloc(1, sizeof(struct mlq_http_conn));
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct mlq_http_conn *hc = *socket_context;
        if (hc && hc->sock)
            zmq_close(hc->sock);
        free(hc);
        *socket_context = NULL;
    }
}

/* libmicrohttpd's own messages (mostly malformed requests): a client could
 * make them as fast as it sends garbage, so at most one line per 10 s goes
 * to the log, saying how many were left out. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    static atomic_llong last_ms, dropped;
    long long now = (long long)mlq_clock_mono_ms(), prev = atomic_load(&last_ms);
    if (now - prev < 10000 || !atomic_compare_exchange_strong(&last_ms, &prev, now)) {
        atomic_fetch_add(&dropped, 1);
        return;
    }
    char msg[256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    long long n = atomic_exchange(&dropped, 0);
    mlq_log(MLQ_LOG_WARN, "http: %s (%lld more in the last 10 s left out)", msg, n);
}

/* ---- start / stop -------------------------------------------------------- */

static int parse_addr(const char *s, struct sockaddr_in *sa, struct mlq_err *err)
{
    const char *colon = s ? strrchr(s, ':') : NULL;
    char host[64];
    if (!colon || (size_t)(colon - s) >= sizeof host)
        return mlq_err_set(err, MLQ_EINVAL, "--http wants ADDR:PORT (e.g. 127.0.0.1:8080)");
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof host, "127.0.0.1");
    char *end;
    long port = strtol(colon + 1, &end, 10);
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    if (*end || end == colon + 1 || port < 0 || port > 65535 ||
        inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return mlq_err_set(err, MLQ_EINVAL,
                           "--http wants an IPv4 ADDR:PORT (e.g. 127.0.0.1:8080), not %.60s", s);
    sa->sin_port = htons((uint16_t)port);
    return 0;
}

static int read_pem(const char *path, char **out, struct mlq_err *err)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return mlq_err_set(err, MLQ_EIO, "%s: %s", path, strerror(errno));
    char *buf = calloc(1, 1024 * 1024 + 1);
    size_t n = buf ? fread(buf, 1, 1024 * 1024, f) : 0;
    fclose(f);
    if (!buf || n == 0 || n == 1024 * 1024) {
        free(buf);
        return mlq_err_set(err, MLQ_EINVAL, "%s: empty or over 1 MiB", path);
    }
    *out = buf;
    return 0;
}

int mlq_http_start(const struct mlq_http_opts *o, void *zctx, struct mlq_http **out,
                   struct mlq_err *err)
{
    struct sockaddr_in sa;
    int rc = parse_addr(o->addr, &sa, err);
    if (rc < 0)
        return rc;
    bool loopback = (ntohl(sa.sin_addr.s_addr) >> 24) == 127;
    if (!o->cert_path != !o->key_path)
        return mlq_err_set(err, MLQ_EINVAL, "--http-cert and --http-key go together");
    if (!loopback && !o->cert_path)
        return mlq_err_set(err, MLQ_EINVAL,
                           "refusing plain HTTP on %s: tokens would cross the network in clear "
                           "text; give --http-cert and --http-key, or use 127.0.0.1",
                           o->addr);
    struct mlq_http *h = calloc(1, sizeof *h);
    if (!h)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    h->zctx = zctx;
    if (o->root) {
        struct stat st;
        if (stat(o->root, &st) < 0 || !S_ISDIR(st.st_mode) || !realpath(o->root, h->root)) {
            free(h);
            return mlq_err_set(err, MLQ_EINVAL, "--http-root %.100s is not a folder", o->root);
        }
        h->has_root = true;
    }
    unsigned flags =
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (o->cert_path) {
        if ((rc = read_pem(o->cert_path, &h->cert, err)) < 0 ||
            (rc = read_pem(o->key_path, &h->key, err)) < 0) {
            free(h->cert);
            free(h);
            return rc;
        }
        flags |= MHD_USE_TLS;
        h->tls = true;
    }
    struct MHD_OptionItem tls_opts[] = {
        {h->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, h->cert},
        {MHD_OPTION_HTTPS_MEM_KEY, 0, h->key},
        {MHD_OPTION_END, 0, NULL},
    };
    h->d = MHD_start_daemon(
        flags, ntohs(sa.sin_port), NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONN_LIMIT,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)CONN_PER_IP, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)CONN_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (!h->d) {
        free(h->cert);
        free(h->key);
        free(h);
        return mlq_err_set(err, MLQ_EIO, "cannot serve HTTP on %s (port taken?)", o->addr);
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : ntohs(sa.sin_port);
    *out = h;
    return 0;
}

int mlq_http_port(const struct mlq_http *h)
{
    return h->port;
}

bool mlq_http_tls(const struct mlq_http *h)
{
    return h->tls;
}

void mlq_http_stop(struct mlq_http **hp)
{
    if (!hp || !*hp)
        return;
    struct mlq_http *h = *hp;
    atomic_store(&h->stopping, true);
    MHD_stop_daemon(h->d);
    free(h->cert);
    free(h->key);
    free(h);
    *hp = NULL;
}
