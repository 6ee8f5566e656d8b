/* gpu: GPU discovery through NVML (dlopen), nvidia-smi (a child process
 * with a deadline) or fake GPUs, and the normalisation of model names into
 * types.
 *
 * Nothing here may hang the worker: NVML calls are bounded by the driver,
 * nvidia-smi runs in its own process group with stdout/stderr read through
 * poll() until a deadline, after which the whole group gets SIGKILL and the
 * worker waits at most KILL_WAIT_MS more for it (a process stuck in the
 * kernel cannot be reaped until it leaves; the agent's SIGCHLD reaping picks
 * it up later). Whatever the tools print is untrusted: bounded, checked
 * field by field, and rejected whole when any line is wrong, since a
 * half-understood GPU list would hand out devices that do not exist. */
#include "gpu.h"

#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "clock.h"
#include "res.h"

#define SMI_OUT_MAX   (64 * 1024) /* stdout bytes kept; more is an error */
#define SMI_ERR_MAX   512         /* stderr bytes kept for the message */
#define SMI_LINE_MAX  512
#define SMI_LINES_MAX 1024
#define SMI_INDEX_MAX 9999 /* parse bound; indexes >= MLQ_MAX_GPUS are left out */
#define NAME_MAX_LEN  96   /* NVML_DEVICE_NAME_V2_BUFFER_SIZE */
#define UUID_MAX_LEN  80
#define KILL_WAIT_MS  1000
#define WAIT_STEP_MS  10

/* ---- sets ---- */

void mlq_gpu_set_clear(struct mlq_gpu_set *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->n; i++) {
        free(s->gpus[i].uuid);
        free(s->gpus[i].model);
        free(s->gpus[i].type);
    }
    free(s->gpus);
    s->gpus = NULL;
    s->n = 0;
}

static void set_init(struct mlq_gpu_set *s, const char *source)
{
    memset(s, 0, sizeof *s);
    s->source = source;
}

/* Appends to the set's note ("; " between parts), cut at its size. */
static void __attribute__((format(printf, 2, 3)))
note_add(struct mlq_gpu_set *s, const char *fmt, ...)
{
    size_t used = strlen(s->note);
    if (used > 0 && used + 2 < sizeof s->note) {
        memcpy(s->note + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->note + used, sizeof s->note - used, fmt, ap);
    va_end(ap);
}

/* Fills g (index, strings copied, type derived from model); false when out
 * of memory. */
static bool gpu_fill(struct mlq_gpuinfo *g, int32_t index, const char *uuid, const char *model,
                     int64_t mem)
{
    char type[MLQ_GPU_TYPE_MAX + 1];
    if (model)
        mlq_gpu_type_of(model, type, sizeof type);
    else
        snprintf(type, sizeof type, "fake");
    memset(g, 0, sizeof *g);
    g->index = index;
    g->mem = mem;
    g->uuid = uuid ? strdup(uuid) : NULL;
    g->model = model ? strdup(model) : NULL;
    g->type = strdup(type);
    return g->type && (!uuid || g->uuid) && (!model || g->model);
}

int mlq_gpu_fake(int32_t n, struct mlq_gpu_set *out, struct mlq_err *err)
{
    set_init(out, "fake");
    if (n < 0 || n > MLQ_MAX_GPUS)
        return mlq_err_set(err, MLQ_EINVAL, "fake GPUs: %" PRId32 " is not in 0..%d", n,
                           MLQ_MAX_GPUS);
    if (n == 0)
        return 0;
    out->gpus = calloc((size_t)n, sizeof *out->gpus);
    if (!out->gpus)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    for (int32_t i = 0; i < n; i++) {
        out->n++;
        if (!gpu_fill(&out->gpus[i], i, NULL, NULL, 0)) {
            mlq_gpu_set_clear(out);
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        }
    }
    return 0;
}

int mlq_gpu_fake_typed(int32_t n, const char *type, struct mlq_gpu_set *out, struct mlq_err *err)
{
    struct mlq_err e;
    if (type && mlq_proto_gpu_type_check(type, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "fake GPU type: %s", e.msg);
    int rc = mlq_gpu_fake(n, out, err);
    for (uint32_t i = 0; rc == 0 && type && i < out->n; i++) {
        char *t = strdup(type);
        if (!t) {
            mlq_gpu_set_clear(out);
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        }
        free(out->gpus[i].type);
        out->gpus[i].type = t;
    }
    return rc;
}

/* ---- types ---- */

/* Words that name the vendor or a product line rather than the family. */
static const char *const brand_words[] = {"nvidia", "tesla", "geforce", "quadro"};
/* Product lines whose number follows as its own word ("RTX 4090"). */
static const char *const series_words[] = {"rtx", "gtx"};

static bool in_list(const char *w, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(w, list[i]) == 0)
            return true;
    return false;
}

static bool has_digit(const char *s)
{
    return strpbrk(s, "0123456789") != NULL;
}

/* The next alphanumeric word at *p, lowercased into tok (cut to len - 1);
 * false at the end. */
static bool next_word(const char **p, char *tok, size_t len)
{
    const char *s = *p;
    while (*s && !isalnum((unsigned char)*s))
        s++;
    if (!*s)
        return false;
    size_t n = 0;
    for (; isalnum((unsigned char)*s); s++)
        if (n + 1 < len)
            tok[n++] = (char)tolower((unsigned char)*s);
    tok[n] = '\0';
    *p = s;
    return true;
}

void mlq_gpu_type_of(const char *model, char *buf, size_t len)
{
    char w[MLQ_GPU_TYPE_MAX + 1], next[MLQ_GPU_TYPE_MAX + 1];
    const char *p = model ? model : "";
    if (len > MLQ_GPU_TYPE_MAX + 1)
        len = MLQ_GPU_TYPE_MAX + 1;
    if (len == 0)
        return;
    if (!next_word(&p, buf, len)) { /* the fallback: first word, or "unknown" */
        snprintf(buf, len, "unknown");
        return;
    }
    p = model;
    while (next_word(&p, w, sizeof w)) {
        if (in_list(w, brand_words, sizeof brand_words / sizeof *brand_words))
            continue;
        if (in_list(w, series_words, sizeof series_words / sizeof *series_words)) {
            const char *q = p;
            if (next_word(&q, next, sizeof next) && has_digit(next)) {
                /* "RTX 4090" -> rtx4090, but "RTX A6000" -> a6000 */
                if (isdigit((unsigned char)next[0])) {
                    snprintf(buf, len, "%s", w);
                    size_t wl = strlen(buf);
                    snprintf(buf + wl, len - wl, "%s", next);
                } else
                    snprintf(buf, len, "%s", next);
            }
            return;
        }
        if (has_digit(w)) /* a family names a number: h100, a100, l4, v100 */
            snprintf(buf, len, "%s", w);
        return;
    }
}

/* ---- nvidia-smi output ---- */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Decimal digits only (no sign, no spaces), at most max; -1 otherwise. */
static long long parse_uint(const char *s, long long max)
{
    size_t n = strlen(s);
    if (n == 0 || n > 15 || strspn(s, "0123456789") != n)
        return -1;
    long long v = strtoll(s, NULL, 10);
    return v <= max ? v : -1;
}

static bool uuid_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= UUID_MAX_LEN &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") == n;
}

static bool model_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    return true;
}

/* GPUs gathered by index before they become a set. */
struct gather {
    struct mlq_gpuinfo g[MLQ_MAX_GPUS];
    uint64_t seen;   /* indexes present */
    uint32_t n;      /* == popcount(seen) */
    uint32_t beyond; /* left out: index >= MLQ_MAX_GPUS */
};

static void gather_free(struct gather *ga)
{
    for (int i = 0; i < MLQ_MAX_GPUS; i++) {
        free(ga->g[i].uuid);
        free(ga->g[i].model);
        free(ga->g[i].type);
    }
    memset(ga, 0, sizeof *ga);
}

/* Adds one checked GPU; mem in bytes (-1: beyond any bound). */
static int gather_add(struct gather *ga, long long index, const char *uuid, const char *model,
                      int64_t mem, const char *what, struct mlq_err *err)
{
    if (mem <= 0 || mem > MLQ_GPU_MAX_MEM_MIB * 1024 * 1024)
        return mlq_err_set(err, MLQ_EPROTO, "%s: memory size 0 or above %lld MiB", what,
                           (long long)MLQ_GPU_MAX_MEM_MIB);
    if (!uuid_ok(uuid))
        return mlq_err_set(err, MLQ_EPROTO, "%s: bad GPU UUID", what);
    if (!model_ok(model))
        return mlq_err_set(err, MLQ_EPROTO, "%s: bad GPU name", what);
    if (index >= MLQ_MAX_GPUS) {
        ga->beyond++;
        return 0;
    }
    if (ga->seen & (1ULL << index))
        return mlq_err_set(err, MLQ_EPROTO, "%s: GPU index %lld given twice", what, index);
    ga->seen |= 1ULL << index;
    ga->n++;
    if (!gpu_fill(&ga->g[index], (int32_t)index, uuid, model, mem))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    return 0;
}

/* Moves the gathered GPUs into out once their indexes are 0..n-1. */
static int gather_finish(struct gather *ga, const char *who, struct mlq_gpu_set *out,
                         struct mlq_err *err)
{
    if (ga->n < 64 && ga->seen != (1ULL << ga->n) - 1) {
        uint32_t hole = 0;
        while (ga->seen & (1ULL << hole))
            hole++;
        return mlq_err_set(err, MLQ_EPROTO,
                           "%s: GPU indexes are not 0..%" PRIu32 " (no GPU %" PRIu32 ")", who,
                           ga->n - 1, hole);
    }
    if (ga->beyond > 0)
        note_add(out, "%s: %" PRIu32 " GPU(s) beyond the first %d left out", who, ga->beyond,
                 MLQ_MAX_GPUS);
    if (ga->n == 0)
        return 0;
    if (!(out->gpus = calloc(ga->n, sizeof *out->gpus)))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    memcpy(out->gpus, ga->g, ga->n * sizeof *out->gpus);
    out->n = ga->n;
    memset(ga, 0, sizeof *ga); /* the strings now belong to out */
    return 0;
}

/* One line "index, uuid, name, memory.total"; s is modified. */
static int smi_line(struct gather *ga, char *s, int lineno, struct mlq_err *err)
{
    char what[48];
    snprintf(what, sizeof what, "nvidia-smi output line %d", lineno);
    char *f[4];
    int nf = 0;
    for (char *p = s, *comma;; p = comma + 1) {
        comma = strchr(p, ',');
        if (nf == 4)
            return mlq_err_set(err, MLQ_EPROTO, "%s: more than 4 comma-separated fields", what);
        if (comma)
            *comma = '\0';
        f[nf++] = trim(p);
        if (!comma)
            break;
    }
    if (nf != 4)
        return mlq_err_set(err, MLQ_EPROTO, "%s: %d field(s) where 4 were expected", what, nf);
    long long index = parse_uint(f[0], SMI_INDEX_MAX);
    if (index < 0)
        return mlq_err_set(err, MLQ_EPROTO, "%s: bad GPU index \"%.16s\"", what, f[0]);
    size_t mlen = strlen(f[3]);
    long long mib = parse_uint(f[3], MLQ_GPU_MAX_MEM_MIB); /* -1 when absurd */
    if (mlen == 0 || strspn(f[3], "0123456789") != mlen)
        return mlq_err_set(err, MLQ_EPROTO, "%s: bad memory size \"%.16s\"", what, f[3]);
    return gather_add(ga, index, f[1], f[2], mib < 0 ? -1 : mib * 1024 * 1024, what, err);
}

int mlq_gpu_parse_smi(const char *text, size_t len, struct mlq_gpu_set *out, struct mlq_err *err)
{
    set_init(out, "nvidia-smi");
    if (memchr(text, '\0', len))
        return mlq_err_set(err, MLQ_EPROTO, "nvidia-smi output holds a NUL byte");
    struct gather *ga = calloc(1, sizeof *ga);
    if (!ga)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    char line[SMI_LINE_MAX + 1];
    int rc = 0, lineno = 0;
    for (size_t pos = 0; rc == 0 && pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        lineno++;
        if (lineno > SMI_LINES_MAX)
            rc = mlq_err_set(err, MLQ_ETOOBIG, "nvidia-smi output: more than %d lines",
                             SMI_LINES_MAX);
        else if (n > SMI_LINE_MAX)
            rc = mlq_err_set(err, MLQ_EPROTO, "nvidia-smi output line %d: longer than %d bytes",
                             lineno, SMI_LINE_MAX);
        else {
            memcpy(line, text + pos, n);
            line[n] = '\0';
            if (*trim(line)) /* blank lines (the last one) carry nothing */
                rc = smi_line(ga, line, lineno, err);
        }
        pos += n + 1;
    }
    if (rc == 0)
        rc = gather_finish(ga, "nvidia-smi output", out, err);
    gather_free(ga);
    free(ga);
    if (rc < 0)
        mlq_gpu_set_clear(out);
    return rc;
}

/* ---- running nvidia-smi ---- */

struct smi_run {
    pid_t pid;      /* -1 once reaped (or given up on) */
    int fd[3];      /* read ends: stdout, stderr, exec error; -1 once closed */
    int exec_errno; /* set when execv failed in the child */
    int status;     /* waitpid status */
    size_t nout, nerr;
    char err[SMI_ERR_MAX + 1];
    char out[SMI_OUT_MAX];
};

/* name itself when it holds a '/', else the first executable file of that
 * name in PATH (empty PATH entries, the current directory, are skipped). */
static int find_program(const char *name, char *path, size_t len, struct mlq_err *err)
{
    if (strchr(name, '/')) {
        if (strlen(name) >= len || access(name, X_OK) != 0)
            return mlq_err_set(err, MLQ_ENOTFOUND, "%.80s: %s", name,
                               strlen(name) >= len ? "path too long" : strerror(errno));
        snprintf(path, len, "%s", name);
        return 0;
    }
    const char *d = getenv("PATH");
    if (!d || !*d)
        d = "/usr/local/bin:/usr/bin:/bin";
    for (;;) {
        const char *colon = strchr(d, ':');
        int dl = (int)(colon ? (size_t)(colon - d) : strlen(d));
        int n = snprintf(path, len, "%.*s/%s", dl, d, name);
        struct stat st;
        if (dl > 0 && n > 0 && (size_t)n < len && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
            access(path, X_OK) == 0)
            return 0;
        if (!colon)
            break;
        d = colon + 1;
    }
    return mlq_err_set(err, MLQ_ENOTFOUND, "%.60s not found in PATH", name);
}

/* In the child: own process group (so a timeout kills all it started),
 * default signals, stdin from /dev/null, then exec. Assumes fds 0..2 are
 * open in the worker, so no pipe end is one of them. */
static void __attribute__((noreturn)) smi_child(const char *path, int out, int errfd, int ex)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    setpgid(0, 0);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0 && dup2(null, 0) >= 0 && dup2(out, 1) >= 0 && dup2(errfd, 2) >= 0) {
        char *const argv[] = {(char *)path, (char *)"--query-gpu=index,uuid,name,memory.total",
                              (char *)"--format=csv,noheader,nounits", NULL};
        execv(path, argv);
    }
    int e = errno;
    ssize_t w = write(ex, &e, sizeof e);
    (void)w;
    _exit(127);
}

static int smi_spawn(struct smi_run *r, const char *path, struct mlq_err *err)
{
    int p[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++)
        if (pipe2(p[i], O_CLOEXEC) != 0)
            rc = mlq_err_set(err, MLQ_EIO, "pipe: %s", strerror(errno));
    r->pid = rc == 0 ? fork() : -1;
    if (r->pid == 0)
        smi_child(path, p[0][1], p[1][1], p[2][1]);
    if (rc == 0 && r->pid < 0)
        rc = mlq_err_set(err, MLQ_EIO, "fork: %s", strerror(errno));
    if (r->pid > 0)
        setpgid(r->pid, r->pid); /* also here: a kill may come before the child runs */
    for (int i = 0; i < 3; i++) {
        if (p[i][1] >= 0)
            close(p[i][1]);
        r->fd[i] = p[i][0];
        if (rc < 0 && p[i][0] >= 0) {
            close(p[i][0]);
            r->fd[i] = -1;
        }
    }
    return rc;
}

static void smi_close(struct smi_run *r, int i)
{
    if (r->fd[i] >= 0)
        close(r->fd[i]);
    r->fd[i] = -1;
}

/* Reads what fd i has; closes it at EOF. */
static int smi_read(struct smi_run *r, int i, struct mlq_err *err)
{
    char scratch[512];
    char *buf = scratch;
    size_t room = sizeof scratch;
    if (i == 0) {
        buf = r->out + r->nout;
        room = sizeof r->out - r->nout;
        if (room == 0)
            return mlq_err_set(err, MLQ_ETOOBIG, "nvidia-smi printed more than %d bytes",
                               SMI_OUT_MAX);
    } else if (i == 1 && r->nerr < SMI_ERR_MAX) {
        buf = r->err + r->nerr;
        room = SMI_ERR_MAX - r->nerr;
    }
    ssize_t n = read(r->fd[i], buf, room);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        smi_close(r, i);
        return 0;
    }
    if (i == 0)
        r->nout += (size_t)n;
    else if (i == 1 && buf != scratch)
        r->nerr += (size_t)n;
    else if (i == 2 && (size_t)n >= sizeof r->exec_errno)
        memcpy(&r->exec_errno, scratch, sizeof r->exec_errno);
    return 0;
}

/* Reads stdout and stderr to their end, or until the deadline. */
static int smi_collect(struct smi_run *r, int64_t deadline, int timeout_ms, struct mlq_err *err)
{
    int rc = 0;
    while (rc == 0 && (r->fd[0] >= 0 || r->fd[1] >= 0 || r->fd[2] >= 0)) {
        int64_t left = deadline - mlq_clock_mono_ms();
        if (left <= 0)
            return mlq_err_set(err, MLQ_EUNAVAIL, "no answer within %d ms: killed", timeout_ms);
        struct pollfd pf[3];
        int which[3], n = 0;
        for (int i = 0; i < 3; i++) {
            if (r->fd[i] >= 0) {
                pf[n] = (struct pollfd){.fd = r->fd[i], .events = POLLIN};
                which[n++] = i;
            }
        }
        int k = poll(pf, (nfds_t)n, (int)left);
        if (k < 0 && errno != EINTR)
            return mlq_err_set(err, MLQ_EIO, "poll: %s", strerror(errno));
        for (int j = 0; k > 0 && j < n && rc == 0; j++)
            if (pf[j].revents)
                rc = smi_read(r, which[j], err);
    }
    return rc;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reaps the child, waiting at most until the deadline (it may have closed
 * its output and still be running). */
static int smi_wait(struct smi_run *r, int64_t deadline, int timeout_ms, struct mlq_err *err)
{
    for (;;) {
        pid_t p = waitpid(r->pid, &r->status, WNOHANG);
        if (p == r->pid) {
            r->pid = -1;
            return 0;
        }
        if (p < 0 && errno != EINTR) {
            r->pid = -1; /* reaped by someone else (SIGCHLD ignored) */
            return mlq_err_set(err, MLQ_EIO, "cannot learn its exit status: %s", strerror(errno));
        }
        if (mlq_clock_mono_ms() >= deadline)
            return mlq_err_set(err, MLQ_EUNAVAIL, "did not exit within %d ms: killed", timeout_ms);
        sleep_ms(WAIT_STEP_MS);
    }
}

/* Kills the child's whole process group while the child is still unreaped
 * (so its pid cannot have been reused), and waits a little for it. */
static void smi_kill(struct smi_run *r)
{
    if (r->pid <= 0)
        return;
    kill(-r->pid, SIGKILL);
    kill(r->pid, SIGKILL);
    int64_t until = mlq_clock_mono_ms() + KILL_WAIT_MS;
    while (waitpid(r->pid, NULL, WNOHANG) == 0 && mlq_clock_mono_ms() < until)
        sleep_ms(WAIT_STEP_MS);
    r->pid = -1;
}

/* The first line of stderr (else stdout), printable characters only. */
static void smi_first_line(const struct smi_run *r, char *buf, size_t len)
{
    const char *src = r->nerr > 0 ? r->err : r->out;
    size_t n = r->nerr > 0 ? r->nerr : r->nout, j = 0;
    for (size_t i = 0; i < n && src[i] != '\n' && j + 1 < len; i++)
        if (src[i] >= 0x20 && src[i] <= 0x7e)
            buf[j++] = src[i];
    buf[j] = '\0';
}

static int smi_result(const struct smi_run *r, struct mlq_gpu_set *out, struct mlq_err *err)
{
    char line[96];
    if (r->exec_errno)
        return mlq_err_set(err, r->exec_errno == ENOENT ? MLQ_ENOTFOUND : MLQ_EIO,
                           "cannot run it: %s", strerror(r->exec_errno));
    smi_first_line(r, line, sizeof line);
    if (WIFSIGNALED(r->status))
        return mlq_err_set(err, MLQ_EIO, "killed by signal %d%s%s", WTERMSIG(r->status),
                           *line ? ": " : "", line);
    if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0)
        return mlq_err_set(err, MLQ_EIO, "exit status %d%s%s", WEXITSTATUS(r->status),
                           *line ? ": " : "", line);
    return mlq_gpu_parse_smi(r->out, r->nout, out, err);
}

static int smi_discover(const struct mlq_gpu_opts *o, struct mlq_gpu_set *out, struct mlq_err *err)
{
    set_init(out, "nvidia-smi");
    const char *name = o->smi ? o->smi : getenv("MLQ_NVIDIA_SMI");
    if (!name || !*name)
        name = "nvidia-smi";
    char path[MLQ_MAX_PATH];
    int rc = find_program(name, path, sizeof path, err);
    if (rc < 0)
        return rc;
    struct smi_run *r = calloc(1, sizeof *r);
    if (!r)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    int timeout = o->timeout_ms > 0 ? o->timeout_ms : MLQ_GPU_TIMEOUT_MS;
    int64_t deadline = mlq_clock_mono_ms() + timeout;
    rc = smi_spawn(r, path, err);
    if (rc == 0)
        rc = smi_collect(r, deadline, timeout, err);
    if (rc == 0)
        rc = smi_wait(r, deadline, timeout, err);
    smi_kill(r);
    for (int i = 0; i < 3; i++)
        smi_close(r, i);
    if (rc == 0)
        rc = smi_result(r, out, err);
    free(r);
    return rc;
}

/* ---- NVML ---- */

/* The few NVML declarations used, written here so that no CUDA header is
 * needed to build: nvmlReturn_t is an int (0 = NVML_SUCCESS), nvmlDevice_t
 * an opaque pointer, nvmlMemory_t three byte counts. */
typedef int nvml_return;
typedef struct nvml_device_st *nvml_device;
struct nvml_memory {
    unsigned long long total, free, used;
};

struct nvml {
    void *lib;
    nvml_return (*init)(void);
    nvml_return (*shutdown)(void);
    nvml_return (*count)(unsigned int *n);
    nvml_return (*by_index)(unsigned int i, nvml_device *dev);
    nvml_return (*name)(nvml_device dev, char *buf, unsigned int len);
    nvml_return (*uuid)(nvml_device dev, char *buf, unsigned int len);
    nvml_return (*memory)(nvml_device dev, struct nvml_memory *mem);
    const char *(*error_string)(nvml_return r); /* optional */
};

static int nvml_load(struct nvml *api, const char *libname, struct mlq_err *err)
{
    dlerror();
    api->lib = dlopen(libname, RTLD_NOW | RTLD_LOCAL);
    if (!api->lib) {
        const char *why = dlerror();
        return mlq_err_set(err, MLQ_ENOTFOUND, "%.100s", why ? why : libname);
    }
    const struct {
        const char *name;
        void *slot;
    } syms[] = {
        {"nvmlInit_v2", &api->init},
        {"nvmlShutdown", &api->shutdown},
        {"nvmlDeviceGetCount_v2", &api->count},
        {"nvmlDeviceGetHandleByIndex_v2", &api->by_index},
        {"nvmlDeviceGetName", &api->name},
        {"nvmlDeviceGetUUID", &api->uuid},
        {"nvmlDeviceGetMemoryInfo", &api->memory},
        {"nvmlErrorString", &api->error_string},
    };
    for (size_t i = 0; i < sizeof syms / sizeof *syms; i++) {
        void *sym = dlsym(api->lib, syms[i].name);
        if (!sym && strcmp(syms[i].name, "nvmlErrorString") != 0) {
            dlclose(api->lib);
            api->lib = NULL;
            return mlq_err_set(err, MLQ_ENOTFOUND, "%.60s lacks %s", libname, syms[i].name);
        }
        memcpy(syms[i].slot, &sym, sizeof sym); /* POSIX: function pointers fit */
    }
    return 0;
}

static const char *nvml_why(const struct nvml *api, nvml_return r)
{
    const char *s = api->error_string ? api->error_string(r) : NULL;
    return s ? s : "error";
}

/* Reads GPU i into ga. */
static int nvml_add(const struct nvml *api, unsigned int i, struct gather *ga, struct mlq_err *err)
{
    nvml_device dev = NULL;
    char name[NAME_MAX_LEN + 1] = "", uuid[NAME_MAX_LEN + 1] = "", what[32];
    struct nvml_memory mem = {0};
    nvml_return r;
    const char *call = "nvmlDeviceGetHandleByIndex_v2";
    if ((r = api->by_index(i, &dev)) == 0 && (call = "nvmlDeviceGetName") &&
        (r = api->name(dev, name, sizeof name)) == 0 && (call = "nvmlDeviceGetUUID") &&
        (r = api->uuid(dev, uuid, sizeof uuid)) == 0 && (call = "nvmlDeviceGetMemoryInfo"))
        r = api->memory(dev, &mem);
    snprintf(what, sizeof what, "NVML GPU %u", i);
    if (r != 0)
        return mlq_err_set(err, MLQ_EIO, "%s: %s: %.60s", what, call, nvml_why(api, r));
    name[sizeof name - 1] = uuid[sizeof uuid - 1] = '\0';
    int64_t bytes = mem.total <= (unsigned long long)MLQ_GPU_MAX_MEM_MIB * 1024 * 1024
                        ? (int64_t)mem.total
                        : -1;
    return gather_add(ga, i, uuid, name, bytes, what, err);
}

static int nvml_discover(const struct mlq_gpu_opts *o, struct mlq_gpu_set *out, struct mlq_err *err)
{
    set_init(out, "nvml");
    struct nvml api = {0};
    int rc = nvml_load(&api, o->nvml_library ? o->nvml_library : MLQ_GPU_NVML_LIBRARY, err);
    if (rc < 0)
        return rc;
    struct gather *ga = calloc(1, sizeof *ga);
    unsigned int count = 0;
    nvml_return r = 0;
    bool inited = false;
    if (!ga)
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    else if ((r = api.init()) != 0)
        rc = mlq_err_set(err, MLQ_EIO, "nvmlInit_v2: %.80s", nvml_why(&api, r));
    else if ((inited = true) && (r = api.count(&count)) != 0)
        rc = mlq_err_set(err, MLQ_EIO, "nvmlDeviceGetCount_v2: %.80s", nvml_why(&api, r));
    for (unsigned int i = 0; rc == 0 && i < count && i < MLQ_MAX_GPUS; i++)
        rc = nvml_add(&api, i, ga, err);
    if (rc == 0 && count > MLQ_MAX_GPUS)
        ga->beyond = count - MLQ_MAX_GPUS;
    if (rc == 0)
        rc = gather_finish(ga, "NVML", out, err);
    if (inited)
        api.shutdown();
    dlclose(api.lib);
    if (ga)
        gather_free(ga);
    free(ga);
    if (rc < 0)
        mlq_gpu_set_clear(out);
    return rc;
}

/* ---- discovery ---- */

int mlq_gpu_method_parse(const char *s, enum mlq_gpu_method *out, struct mlq_err *err)
{
    static const struct {
        const char *name;
        enum mlq_gpu_method m;
    } methods[] = {{"auto", MLQ_GPU_AUTO},
                   {"nvml", MLQ_GPU_NVML},
                   {"nvidia-smi", MLQ_GPU_NVIDIA_SMI},
                   {"none", MLQ_GPU_NONE}};
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        if (strcmp(s, methods[i].name) == 0) {
            *out = methods[i].m;
            return 0;
        }
    }
    return mlq_err_set(err, MLQ_EINVAL, "expected auto, nvml, nvidia-smi or none");
}

int mlq_gpu_discover(const struct mlq_gpu_opts *opts, struct mlq_gpu_set *out, struct mlq_err *err)
{
    static const struct mlq_gpu_opts defaults = {.method = MLQ_GPU_AUTO};
    const struct mlq_gpu_opts *o = opts ? opts : &defaults;
    struct mlq_err e = {0};
    char failed[sizeof out->note] = "";
    int rc = MLQ_ENOTFOUND;
    set_init(out, "none");
    if (o->method == MLQ_GPU_NONE)
        return 0;
    if (o->method == MLQ_GPU_AUTO || o->method == MLQ_GPU_NVML) {
        rc = nvml_discover(o, out, &e);
        if (rc < 0)
            snprintf(failed, sizeof failed, "NVML: %s", e.msg);
    }
    if (rc < 0 && (o->method == MLQ_GPU_AUTO || o->method == MLQ_GPU_NVIDIA_SMI)) {
        rc = smi_discover(o, out, &e);
        if (rc < 0) {
            size_t used = strlen(failed);
            snprintf(failed + used, sizeof failed - used, "%snvidia-smi: %s", used ? "; " : "",
                     e.msg);
        }
    }
    if (rc < 0 && o->method != MLQ_GPU_AUTO)
        return mlq_err_set(err, rc, "%s", failed);
    if (rc < 0)
        set_init(out, "none");
    if (*failed) { /* what was tried first goes first */
        char later[sizeof out->note];
        memcpy(later, out->note, sizeof later);
        out->note[0] = '\0';
        note_add(out, "%s", failed);
        if (*later)
            note_add(out, "%s", later);
    }
    return 0;
}

/* Appends to buf (used so far in *used), cut at len. */
static void __attribute__((format(printf, 4, 5)))
fmt_add(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
    if (*used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, len - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used = *used + (size_t)n < len ? *used + (size_t)n : len - 1;
}

char *mlq_gpu_set_fmt(const struct mlq_gpu_set *s, char *buf, size_t len)
{
    size_t used = 0;
    if (len == 0)
        return buf;
    buf[0] = '\0';
    fmt_add(buf, len, &used, "%" PRIu32, s->n);
    if (s->n == 0)
        return buf;
    fmt_add(buf, len, &used, " (%s", s->source);
    for (uint32_t i = 0; i < s->n; i++) {
        const struct mlq_gpuinfo *g = &s->gpus[i];
        char mem[32];
        if (!g->uuid) /* fake: nothing more to say */
            continue;
        fmt_add(buf, len, &used, "%s gpu%" PRId32 " %s %s %s", i == 0 ? ":" : ",", g->index,
                g->type, mlq_res_fmt_mem(g->mem, mem, sizeof mem), g->uuid);
    }
    fmt_add(buf, len, &used, ")");
    return buf;
}

/* ---- driver and CUDA versions (run manifests) ---- */

/* Its own small dlopen, apart from discovery's symbol table, so that
 * neither depends on the other's list of NVML calls. */
int mlq_gpu_driver_versions(const char *nvml_library, char *driver, size_t dlen, char *cuda,
                            size_t clen)
{
    driver[0] = cuda[0] = '\0';
    void *lib = dlopen(nvml_library ? nvml_library : MLQ_GPU_NVML_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return -1;
    nvml_return (*init)(void), (*shutdown)(void), (*drv)(char *, unsigned int), (*cu)(int *);
    void *syms[4] = {dlsym(lib, "nvmlInit_v2"), dlsym(lib, "nvmlShutdown"),
                     dlsym(lib, "nvmlSystemGetDriverVersion"),
                     dlsym(lib, "nvmlSystemGetCudaDriverVersion")};
    memcpy(&init, &syms[0], sizeof init);
    memcpy(&shutdown, &syms[1], sizeof shutdown);
    memcpy(&drv, &syms[2], sizeof drv);
    memcpy(&cu, &syms[3], sizeof cu);
    int rc = -1;
    if (init && shutdown && init() == 0) {
        char buf[96] = "";
        int v = 0;
        if (drv && drv(buf, sizeof buf) == 0 && model_ok(buf)) {
            snprintf(driver, dlen, "%s", buf);
            rc = 0;
        }
        if (cu && cu(&v) == 0 && v > 0 && v < 1000000) {
            snprintf(cuda, clen, "%d.%d", v / 1000, (v % 1000) / 10);
            rc = 0;
        }
        shutdown();
    }
    dlclose(lib);
    return rc;
}
