/* container: see container.h. */
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bounds.h"
#include "clock.h"
#include "spool.h"

#define FIXED_ARGS  16 /* run options before the per-job ones */
#define INSPECT_FMT "{{.Digest}} {{.Id}}"

/* ---- the run's command line ---- */

struct args {
    char **v;
    size_t n, cap;
    bool failed;
};

static void add(struct args *a, const char *s)
{
    if (a->failed)
        return;
    char *copy = strdup(s);
    if (!copy || a->n + 1 >= a->cap) {
        free(copy);
        a->failed = true;
        return;
    }
    a->v[a->n++] = copy;
    a->v[a->n] = NULL;
}

static void addf(struct args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void addf(struct args *a, const char *fmt, ...)
{
    char buf[64 + 2 * 4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf)
        a->failed = true;
    else
        add(a, buf);
}

static void add_identity(struct args *a, const struct mlq_container_run *r)
{
    if (!r->as_user)
        return;
    addf(a, "--user=%lu:%lu", (unsigned long)r->uid, (unsigned long)r->gid);
    for (int i = 0; i < r->ngroups; i++)
        if (r->groups[i] != r->gid)
            addf(a, "--group-add=%lu", (unsigned long)r->groups[i]);
}

int mlq_container_argv(const struct mlq_container_run *r, char ***out, struct mlq_err *err)
{
    *out = NULL;
    const char *path = strpbrk(r->workdir, ":,")                 ? r->workdir
                       : r->ro_file && strpbrk(r->ro_file, ":,") ? r->ro_file
                                                                 : NULL;
    if (path)
        return mlq_err_set(err, MLQ_EINVAL,
                           "%.200s holds ':' or ',', which the container runtime's volume "
                           "syntax cannot carry",
                           path);
    struct args a = {0};
    a.cap = FIXED_ARGS + 1 + (size_t)r->ngroups + r->ngpus + r->nenv + r->argc + 2;
    if (!(a.v = calloc(a.cap, sizeof *a.v)))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    const char *fixed[] = {
        r->runtime,           "run",         "--rm", "--init", "--sig-proxy=true", "--network=host",
        "--cgroups=disabled", "--pull=never"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        add(&a, fixed[i]);
    addf(&a, "--volume=%s:%s", r->workdir, r->workdir);
    addf(&a, "--workdir=%s", r->workdir);
    if (r->ro_file)
        addf(&a, "--volume=%s:%s:ro", r->ro_file, r->ro_file);
    add_identity(&a, r);
    for (uint32_t i = 0; i < r->ngpus; i++)
        addf(&a, "--device=nvidia.com/gpu=%" PRId32, r->gpu_ids[i]);
    for (size_t i = 0; i < r->nenv; i++)
        addf(&a, "--env=%s", r->env_names[i]);
    add(&a, r->image);
    for (uint32_t i = 0; i < r->argc; i++)
        add(&a, r->argv[i]);
    if (a.failed) {
        mlq_container_argv_free(a.v);
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory building the container command");
    }
    *out = a.v;
    return 0;
}

void mlq_container_argv_free(char **argv)
{
    for (char **p = argv; p && *p; p++)
        free(*p);
    free(argv);
}

bool mlq_container_passes(const char *name, bool as_user)
{
    static const char *const always[] = {"CUDA_VISIBLE_DEVICES",
                                         "NVIDIA_VISIBLE_DEVICES",
                                         "MASTER_ADDR",
                                         "MASTER_PORT",
                                         "NODE_RANK",
                                         "WORLD_SIZE"};
    static const char *const account[] = {"HOME", "USER", "LOGNAME"};
    if (strncmp(name, "MLQ_", 4) == 0)
        return true;
    for (size_t i = 0; i < sizeof always / sizeof always[0]; i++)
        if (strcmp(name, always[i]) == 0)
            return true;
    for (size_t i = 0; as_user && i < sizeof account / sizeof account[0]; i++)
        if (strcmp(name, account[i]) == 0)
            return true;
    return false;
}

/* ---- asking the runtime about an image ---- */

/* A cancel (or the worker's fence) sent SIGTERM or SIGINT to the shim,
 * which blocks them until the job runs. */
static bool stop_pending(void)
{
    sigset_t p;
    return sigpending(&p) == 0 && (sigismember(&p, SIGTERM) == 1 || sigismember(&p, SIGINT) == 1);
}

/* Runs argv in its own process group with stdout captured into out
 * (bounded) and stderr to err_fd; the group is killed past timeout_ms or
 * when stop_pending(). Returns its exit status, -1 on failure, -2 stopped. */
static int run_capture(char *const argv[], int err_fd, int64_t timeout_ms, char *out, size_t len)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        int null = open("/dev/null", O_RDONLY);
        if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0 ||
            dup2(err_fd >= 0 ? err_fd : null, 2) < 0)
            _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(argv[0], argv);
        _exit(127);
    }
    setpgid(pid, pid);
    close(p[1]);
    size_t got = 0;
    int64_t until = mlq_clock_mono_ms() + timeout_ms;
    bool stopped = false;
    for (;;) {
        int64_t left = until - mlq_clock_mono_ms();
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        stopped = stop_pending();
        if (stopped || left <= 0 ||
            (poll(&pfd, 1, (int)(left > 200 ? 200 : left)) < 0 && errno != EINTR)) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            break;
        }
        if (!(pfd.revents & (POLLIN | POLLHUP)))
            continue;
        char buf[512];
        ssize_t r = read(p[0], buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t take = (size_t)r < len - 1 - got ? (size_t)r : len - 1 - got;
        memcpy(out + got, buf, take);
        got += take;
    }
    out[got] = '\0';
    close(p[0]);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    if (stopped)
        return -2;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

/* "DIGEST ID\n" from inspect; a locally built image has an empty digest. */
static int parse_inspect(const char *text, char *digest, size_t dlen, char *id, size_t idlen)
{
    const char *sp = strchr(text, ' ');
    if (!sp)
        return -1;
    size_t dn = (size_t)(sp - text), in = strcspn(sp + 1, "\n ");
    if (dn >= dlen || in == 0 || in >= idlen)
        return -1;
    memcpy(digest, text, dn);
    digest[dn] = '\0';
    memcpy(id, sp + 1, in);
    id[in] = '\0';
    if (strspn(id, "0123456789abcdef") != in ||
        strspn(digest, "0123456789abcdefghijklmnopqrstuvwxyz:<>") != dn)
        return -1;
    if (strcmp(digest, "<none>") == 0)
        digest[0] = '\0';
    return 0;
}

static int inspect(const char *runtime, const char *image, int err_fd, char *out, size_t len)
{
    char *const argv[] = {(char *)runtime, "image",       "inspect", "--format",
                          INSPECT_FMT,     (char *)image, NULL};
    return run_capture(argv, err_fd, MLQ_CONTAINER_INSPECT_MS, out, len);
}

int mlq_container_resolve(const char *runtime, const char *image, int err_fd, char *digest,
                          size_t dlen, char *id, size_t idlen, struct mlq_err *err)
{
    char out[1024];
    /* Absent from the store: its stderr would only say so; pull instead. */
    int rc = inspect(runtime, image, -1, out, sizeof out);
    if (rc != 0) {
        char *const pull[] = {(char *)runtime, "pull", "--quiet", (char *)image, NULL};
        char ignored[256];
        rc = run_capture(pull, err_fd, MLQ_CONTAINER_PULL_MS, ignored, sizeof ignored);
        if (rc == -2)
            return mlq_err_set(err, MLQ_ESTATE, "stopped while image %s was being pulled", image);
        if (rc != 0)
            return mlq_err_set(err, MLQ_ENOTFOUND,
                               "image %s: not in the runtime's store and could not be pulled "
                               "(see the job's stderr)",
                               image);
        rc = inspect(runtime, image, err_fd, out, sizeof out);
    }
    if (rc != 0 || parse_inspect(out, digest, dlen, id, idlen) < 0)
        return mlq_err_set(err, MLQ_EIO, "image %s: %s image inspect gave no digest and id", image,
                           runtime);
    return 0;
}

char *mlq_container_find_default(void)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ":");
        char *cand = NULL;
        if (n > 0 && p[0] == '/' && asprintf(&cand, "%.*s/podman", (int)n, p) > 0 &&
            access(cand, X_OK) == 0)
            return cand;
        free(cand);
        p += n + (p[n] == ':');
    }
    return NULL;
}

/* ---- before the start ---- */

static size_t name_len(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq ? (size_t)(eq - kv) : strlen(kv);
}

static bool has_name(char **names, size_t n, const char *kv)
{
    size_t len = name_len(kv);
    for (size_t i = 0; i < n; i++)
        if (strlen(names[i]) == len && strncmp(names[i], kv, len) == 0)
            return true;
    return false;
}

/* PATH is the image's: the submitter's (exported by default) names
 * folders of another machine. */
static bool image_owns(const char *kv)
{
    return name_len(kv) == 4 && strncmp(kv, "PATH", 4) == 0;
}

/* The user's names first (less what the image owns), then mlq's, each
 * once; owned strings. */
static int env_names(char *const *spec_env, uint32_t spec_envc, char *const *envp, bool as_user,
                     char ***out, size_t *n)
{
    size_t cap = spec_envc + 1;
    for (char *const *e = envp; e && *e; e++)
        cap++;
    char **v = calloc(cap, sizeof *v);
    if (!v)
        return -1;
    size_t k = 0;
    for (uint32_t i = 0; i < spec_envc; i++)
        if (!image_owns(spec_env[i]) && !has_name(v, k, spec_env[i]) &&
            (v[k] = strndup(spec_env[i], name_len(spec_env[i]))))
            k++;
    for (char *const *e = envp; e && *e; e++) {
        char name[256];
        size_t len = name_len(*e);
        if (len == 0 || len >= sizeof name)
            continue;
        memcpy(name, *e, len);
        name[len] = '\0';
        if (mlq_container_passes(name, as_user) && !has_name(v, k, *e) && (v[k] = strdup(name)))
            k++;
    }
    *out = v;
    *n = k;
    return 0;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static const char *worker_name(void)
{
    const char *w = getenv("MLQ_WORKER");
    return w && *w ? w : "?";
}

int mlq_container_prepare(struct mlq_container_run *r, const char *dir, const char *ref,
                          char *const *spec_env, uint32_t spec_envc, char *const *envp, int err_fd,
                          char id[MLQ_CONTAINER_MAX_ID + 1], char ***argv, struct mlq_err *err)
{
    char digest[256], note[MLQ_MAX_IMAGE + 256 + MLQ_CONTAINER_MAX_ID + 4];
    struct mlq_err e = {0};
    r->runtime = getenv(MLQ_CONTAINER_ENV);
    if (!r->runtime || r->runtime[0] != '/')
        return mlq_err_set(err, MLQ_EINVAL, "no container runtime on worker %s", worker_name());
    if (mlq_container_resolve(r->runtime, ref, err_fd, digest, sizeof digest, id,
                              MLQ_CONTAINER_MAX_ID + 1, &e) < 0)
        return mlq_err_set(err, e.code, "%s", e.msg);
    snprintf(note, sizeof note, "%s %s %s", ref, digest[0] ? digest : "-", id);
    if (mlq_spool_write_note(dir, MLQ_CONTAINER_DIGEST, note, &e) < 0)
        return mlq_err_set(err, e.code, "%s", e.msg);
    /* The shim's stderr is the worker's log. */
    fprintf(stderr, "mlq-shim: %s: image %s is %s (digest %s)\n", dir, ref, id,
            digest[0] ? digest : "none");
    char **names = NULL;
    size_t n = 0;
    if (env_names(spec_env, spec_envc, envp, r->as_user, &names, &n) < 0)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    for (char *const *kv = envp; kv && *kv; kv++)
        if (strncmp(*kv, "MLQ_HOSTFILE=/", 14) == 0)
            r->ro_file = *kv + 13;
    r->image = id;
    r->env_names = names;
    r->nenv = n;
    int rc = mlq_container_argv(r, argv, &e);
    free_names(names, n);
    r->env_names = NULL;
    r->nenv = 0;
    return rc < 0 ? mlq_err_set(err, rc, "%s", e.msg) : 0;
}

bool mlq_container_account_enters(uid_t uid, gid_t gid, const gid_t *groups, int ngroups,
                                  const char *dir)
{
    pid_t p = fork();
    if (p == 0) {
        bool ok = setgid(gid) == 0 && setgroups((size_t)ngroups, groups) == 0 && setuid(uid) == 0 &&
                  chdir(dir) == 0;
        _exit(ok ? 0 : 1);
    }
    int ws = 0;
    while (p > 0 && waitpid(p, &ws, 0) < 0 && errno == EINTR)
        ;
    return p > 0 && WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
}

void mlq_container_manifest(json_t *doc, const char *dir)
{
    char note[MLQ_MAX_IMAGE + 256 + MLQ_CONTAINER_MAX_ID + 4];
    char ref[MLQ_MAX_IMAGE + 1], digest[256], id[MLQ_CONTAINER_MAX_ID + 1];
    if (!doc || !mlq_spool_read_note(dir, MLQ_CONTAINER_DIGEST, note, sizeof note) ||
        sscanf(note, "%255s %255s %128s", ref, digest, id) != 3)
        return;
    json_t *img = json_pack("{s:s, s:s?, s:s}", "ref", ref, "digest",
                            strcmp(digest, "-") == 0 ? NULL : digest, "id", id);
    if (img)
        json_object_set_new(doc, "image", img);
}
