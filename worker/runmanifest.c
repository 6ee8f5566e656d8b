/* runmanifest: see runmanifest.h. */
#include "runmanifest.h"
#include "spoolrec.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "filehash.h"
#include "fsutil.h"
#include "gitinfo.h"
#include "version.h"

#define CHILD_MARGIN_MS 2000 /* past the git and hashing bounds: the child is killed */
#define CHILD_OUT_MAX   (MLQ_MAX_MANIFEST + 4096) /* the child bounds its text itself */

/* ---- settings ---- */

void mlq_runmanifest_conf_init(struct mlq_runmanifest_conf *c)
{
    mlq_manifest_secrets_init(&c->secrets);
    c->hash_time_ms = MLQ_FILEHASH_TIME_MS;
    c->max_file = MLQ_FILEHASH_MAX_FILE;
}

static json_t *gpu_json(const struct mlq_gpuinfo *g)
{
    json_t *o = json_pack("{s:i}", "index", g->index);
    if (o && g->uuid)
        json_object_set_new(o, "uuid", json_string(g->uuid));
    if (o && g->model)
        json_object_set_new(o, "model", json_string(g->model));
    if (o && g->type)
        json_object_set_new(o, "type", json_string(g->type));
    if (o && g->mem > 0)
        json_object_set_new(o, "memory", json_integer(g->mem));
    return o;
}

int mlq_runmanifest_conf_text(const struct mlq_runmanifest_conf *c, const struct mlq_gpu_set *gpus,
                              const char *driver, const char *cuda, char **out, struct mlq_err *err)
{
    json_t *pats = json_array(), *list = json_array();
    for (size_t i = 0; pats && i < c->secrets.n; i++)
        json_array_append_new(pats, json_string(c->secrets.pat[i]));
    for (uint32_t i = 0; list && gpus && i < gpus->n; i++)
        json_array_append_new(list, gpu_json(&gpus->gpus[i]));
    json_t *doc = json_pack("{s:o*,s:I,s:I,s:o*,s:s,s:s}", "secret_env", pats, "hash_time_ms",
                            (json_int_t)c->hash_time_ms, "hash_max_file", (json_int_t)c->max_file,
                            "gpus", list, "driver", driver ? driver : "", "cuda", cuda ? cuda : "");
    *out = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    return *out ? 0 : mlq_err_set(err, MLQ_ENOMEM, "out of memory");
}

/* What the worker told this shim; defaults for whatever it did not. */
static json_t *parse_conf(struct mlq_runmanifest_conf *c)
{
    mlq_runmanifest_conf_init(c);
    const char *text = getenv(MLQ_RUNMANIFEST_ENV);
    json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
    json_t *v = json_object_get(doc, "secret_env");
    size_t i;
    json_t *p;
    json_array_foreach(v, i, p)
    {
        if (json_is_string(p))
            mlq_manifest_secrets_add(&c->secrets, json_string_value(p));
    }
    if (json_integer_value(json_object_get(doc, "hash_time_ms")) > 0)
        c->hash_time_ms = json_integer_value(json_object_get(doc, "hash_time_ms"));
    if (json_integer_value(json_object_get(doc, "hash_max_file")) > 0)
        c->max_file = json_integer_value(json_object_get(doc, "hash_max_file"));
    return doc;
}

/* The settings, parsed once per process: the variable is the worker's and
 * does not change under a shim, so a standby parses it before it forks
 * (mlq_runmanifest_warm) and every shim it forks reads the result, and a
 * shim reads it once for its start and end. The document stays (NULL when
 * the variable is unset or not JSON). */
static struct {
    bool ready;
    struct mlq_runmanifest_conf c;
    json_t *doc;
} conf_once;

static json_t *read_conf(struct mlq_runmanifest_conf *c)
{
    if (!conf_once.ready) {
        conf_once.doc = parse_conf(&conf_once.c);
        conf_once.ready = true;
    }
    *c = conf_once.c;
    return conf_once.doc;
}

void mlq_runmanifest_warm(void)
{
    struct mlq_runmanifest_conf c;
    read_conf(&c);
    /* jansson seeds its hash from /dev/urandom at its first object: done
     * here, before the fork, rather than in each shim */
    json_decref(json_object());
}

/* ---- the child that reads as the job's account ---- */

static int become(const struct mlq_runmanifest_ids *ids)
{
    if (!ids->drop)
        return 0;
    if (setgid(ids->gid) != 0 || setgroups((size_t)ids->ngroups, ids->groups) != 0 ||
        setuid(ids->uid) != 0 || getuid() != ids->uid || geteuid() != ids->uid ||
        (ids->uid != 0 && setuid(0) == 0))
        return -1;
    return 0;
}

/* Hashes each path into doc[key]; for inputs, the first missing one ends
 * the list and is named in doc["missing"]. */
static void hash_list(json_t *doc, const char *key, char *const *paths, uint32_t n, bool inputs,
                      const struct mlq_runmanifest_conf *c)
{
    json_t *arr = json_array();
    struct mlq_filehash_limits lim = {.max_file = c->max_file,
                                      .deadline_ms = mlq_clock_mono_ms() + c->hash_time_ms,
                                      .max_entries = MLQ_FILEHASH_MAX_ENTRIES};
    for (uint32_t i = 0; arr && i < n; i++) {
        int rc = mlq_filehash_add(arr, paths[i], &lim);
        if (rc == 1 && inputs) {
            json_object_set_new(doc, "missing", json_string(paths[i]));
            break;
        }
        if (rc == 1)
            json_array_append_new(arr, json_pack("{s:s,s:b}", "path", paths[i], "missing", 1));
        if (rc == 2) {
            char mark[32];
            snprintf(mark, sizeof mark, "%s_truncated", key);
            json_object_set_new(doc, mark, json_true());
            break;
        }
    }
    json_object_set_new(doc, key, arr);
}

static void __attribute__((noreturn))
collect_child(const struct mlq_jobspec *spec, bool start, const struct mlq_runmanifest_ids *ids,
              const struct mlq_runmanifest_conf *c, int out)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    json_t *doc = json_object();
    if (!doc || become(ids) < 0)
        _exit(2);
    if (chdir(spec->workdir) != 0) {
        json_object_set_new(doc, "error", json_string("cannot enter the working directory"));
    } else if (start) {
        json_t *g = mlq_gitinfo_collect(".", mlq_clock_mono_ms() + MLQ_GITINFO_TIME_MS);
        json_object_set_new(doc, "git", g ? g : json_null());
        hash_list(doc, "inputs", spec->inputs, spec->ninputs, true, c);
    } else {
        hash_list(doc, "outputs", spec->outputs, spec->noutputs, false, c);
    }
    /* cut to the manifest's own bound here: a long file list is marked
     * truncated rather than overflowing the pipe's reader */
    char *text = NULL;
    if (mlq_manifest_dump(doc, MLQ_MAX_MANIFEST, &text) < 0)
        _exit(3);
    for (size_t off = 0, len = text ? strlen(text) : 0; off < len;) {
        ssize_t w = write(out, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    _exit(0);
}

/* Reads the child's JSON until EOF or the deadline (then kills it). */
static json_t *collect_read(pid_t pid, int fd, int64_t deadline_ms, const char **why)
{
    char *buf = malloc(CHILD_OUT_MAX + 1);
    size_t len = 0;
    bool late = false;
    while (buf && len < CHILD_OUT_MAX) {
        int64_t left = deadline_ms - mlq_clock_mono_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = left > 0 ? poll(&p, 1, (int)left) : 0;
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            late = true;
        if (pr <= 0)
            break;
        ssize_t r = read(fd, buf + len, CHILD_OUT_MAX - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    kill(pid, SIGKILL); /* done or late: nothing of it may stay */
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    json_t *doc = buf && !late ? json_loadb(buf, len, 0, NULL) : NULL;
    free(buf);
    *why = late                                            ? "did not finish in time"
           : !doc && WIFEXITED(st) && WEXITSTATUS(st) == 2 ? "could not switch to the job's account"
                                                           : "failed";
    return doc;
}

/* Runs the child and returns what it found; {"error": ...} when it did not
 * answer. */
static json_t *collect(const struct mlq_jobspec *spec, bool start,
                       const struct mlq_runmanifest_ids *ids, const struct mlq_runmanifest_conf *c)
{
    int64_t bound = c->hash_time_ms + (start ? MLQ_GITINFO_TIME_MS : 0) + CHILD_MARGIN_MS;
    int p[2];
    const char *why = "cannot start the reader";
    if (pipe2(p, O_CLOEXEC) != 0)
        return json_pack("{s:s}", "error", why);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        collect_child(spec, start, ids, c, p[1]);
    }
    close(p[1]);
    json_t *doc = pid > 0 ? collect_read(pid, p[0], mlq_clock_mono_ms() + bound, &why) : NULL;
    close(p[0]);
    return doc ? doc : json_pack("{s:s}", "error", why);
}

/* ---- the document ---- */

static json_t *strv(char *const *v, uint32_t n)
{
    json_t *a = json_array();
    for (uint32_t i = 0; a && v && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *account(const struct mlq_runmanifest_ids *ids)
{
    uid_t uid = ids->drop ? ids->uid : getuid();
    gid_t gid = ids->drop ? ids->gid : getgid();
    const char *user = ids->drop ? ids->user : NULL;
    struct passwd *pw = user ? NULL : getpwuid(uid);
    if (!user)
        user = pw ? pw->pw_name : "?";
    return json_pack("{s:s,s:I,s:I}", "user", user, "uid", (json_int_t)uid, "gid", (json_int_t)gid);
}

/* The attempt's GPUs as the worker knows them. */
static json_t *gpus(const struct mlq_msg *assign, json_t *conf)
{
    json_t *all = json_object_get(conf, "gpus"), *out = json_array();
    for (uint32_t i = 0; out && i < assign->u.assign.ngpu_ids; i++) {
        int32_t idx = assign->u.assign.gpu_ids[i];
        json_t *g = json_array_get(all, (size_t)idx);
        if (g && json_integer_value(json_object_get(g, "index")) == idx)
            json_array_append(out, g);
        else
            json_array_append_new(out, json_pack("{s:i}", "index", idx));
    }
    return out;
}

static json_t *driver(json_t *conf)
{
    const char *d = json_string_value(json_object_get(conf, "driver"));
    const char *c = json_string_value(json_object_get(conf, "cuda"));
    if ((!d || !*d) && (!c || !*c))
        return json_null();
    return json_pack("{s:s?,s:s?}", "version", d && *d ? d : NULL, "cuda", c && *c ? c : NULL);
}

static json_t *identity(const struct mlq_msg *assign)
{
    char host[256] = "?";
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = '\0';
    const char *w = getenv("MLQ_WORKER");
    return json_pack("{s:i,s:s,s:s,s:i,s:I,s:s,s:s,s:{s:s,s:s}}", "format", MLQ_MANIFEST_FORMAT,
                     "job_id", assign->u.assign.job_id, "attempt_id", assign->u.assign.attempt_id,
                     "attempt", assign->u.assign.attempt, "started_ms",
                     (json_int_t)mlq_clock_wall_ms(), "host", host, "worker", w && *w ? w : host,
                     "mlq", "version", mlq_version(), "git", mlq_version_git());
}

/* Moves the child's keys into doc. */
static void merge(json_t *doc, json_t *found, const char *error_key)
{
    const char *k;
    json_t *v;
    json_t *err = json_object_get(found, "error");
    if (err && json_object_size(found) == 1) {
        json_object_set(doc, error_key, err);
    } else {
        json_object_foreach(found, k, v)
        {
            if (strcmp(k, "missing") != 0)
                json_object_set(doc, strcmp(k, "error") == 0 ? error_key : k, v);
        }
    }
}

/* Whether the start needs the reader child: for --input files, or for a
 * working directory inside a git tree. Without either there is nothing to
 * read as the job's account, and the start costs no fork. The check runs
 * as the shim: an account that may see less finds no tree either. */
static bool needs_reader(const struct mlq_jobspec *spec)
{
    return spec->ninputs > 0 || mlq_gitinfo_maybe_tree(spec->workdir);
}

json_t *mlq_runmanifest_start(const struct mlq_msg *assign, char *const *envp,
                              const struct mlq_runmanifest_ids *ids, char *missing, size_t len)
{
    const struct mlq_jobspec *spec = &assign->u.assign.spec;
    struct mlq_runmanifest_conf c;
    json_t *conf = read_conf(&c);
    json_t *doc = identity(assign);
    missing[0] = '\0';
    if (doc) {
        json_object_set_new(doc, "argv", strv(spec->argv, spec->argc));
        json_object_set_new(doc, "workdir", json_string(spec->workdir));
        json_object_set_new(doc, "env", mlq_manifest_env(envp, &c.secrets));
        json_object_set_new(doc, "account", account(ids));
        json_object_set_new(doc, "gpus", gpus(assign, conf));
        json_object_set_new(doc, "gpu_driver", driver(conf));
        int64_t t0 = mlq_clock_mono_ms();
        json_t *found = needs_reader(spec) ? collect(spec, true, ids, &c) : json_object();
        /* what recording cost the job's start (git and inputs) */
        json_object_set_new(doc, "collect_ms",
                            json_pack("{s:I}", "start", (json_int_t)(mlq_clock_mono_ms() - t0)));
        const char *m = json_string_value(json_object_get(found, "missing"));
        if (m)
            snprintf(missing, len, "%s", m);
        merge(doc, found, "inputs_error");
        if (!json_object_get(doc, "git"))
            json_object_set_new(doc, "git", json_null());
        json_decref(found);
    }
    return doc;
}

void mlq_runmanifest_finish(json_t *doc, const struct mlq_msg *assign,
                            const struct mlq_runmanifest_ids *ids)
{
    if (!doc)
        return;
    struct mlq_runmanifest_conf c;
    read_conf(&c);
    if (assign->u.assign.spec.noutputs > 0) {
        int64_t t0 = mlq_clock_mono_ms();
        json_t *found = collect(&assign->u.assign.spec, false, ids, &c);
        merge(doc, found, "outputs_error");
        json_decref(found);
        json_object_set_new(json_object_get(doc, "collect_ms"), "end",
                            json_integer(mlq_clock_mono_ms() - t0));
    }
    json_object_set_new(doc, "ended_ms", json_integer(mlq_clock_wall_ms()));
}

int mlq_runmanifest_write(const char *dir, json_t *doc, bool durable, struct mlq_err *err)
{
    char path[MLQ_MAX_PATH], *text = NULL;
    int n = snprintf(path, sizeof path, "%s/%s", dir, MLQ_RUNMANIFEST_FILE);
    if (n < 0 || (size_t)n >= sizeof path)
        return mlq_err_set(err, MLQ_ETOOBIG, "spool path too long");
    if (mlq_manifest_dump(doc, MLQ_MAX_MANIFEST, &text) < 0)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    /* In place (spoolrec.h): a torn write reads as no manifest, which is
     * what a shim killed before writing it leaves too. */
    int rc = mlq_spoolrec_write(path, text, strlen(text), durable, err);
    free(text);
    return rc;
}

char *mlq_runmanifest_read(const char *dir)
{
    char path[MLQ_MAX_PATH], *text = NULL;
    size_t len = 0;
    int n = snprintf(path, sizeof path, "%s/%s", dir, MLQ_RUNMANIFEST_FILE);
    if (n < 0 || (size_t)n >= sizeof path ||
        mlq_spoolrec_read(path, MLQ_MAX_MANIFEST, &text, &len, NULL) < 0)
        return NULL;
    return text;
}
