/* workerset: see workerset.h. */
#include "workerset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "log.h"
#include "res.h"

/* Room for every label of an override joined by newlines. */
#define LABELS_TEXT (MLQ_MAX_LABELS * (MLQ_MAX_LABEL_LEN + 1) + 1)

static struct mlq_worker_override *ov_empty_new(void)
{
    struct mlq_worker_override *ov = calloc(1, sizeof *ov);
    if (ov)
        ov->gpus = -1;
    return ov;
}

/* Sets label kv, replacing the one with the same key. */
static int ov_set_label(struct mlq_worker_override *ov, const char *kv, struct mlq_err *err)
{
    size_t klen = strcspn(kv, "=");
    char *d = strdup(kv);
    if (!d)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < ov->nlabels; i++)
        if (strcspn(ov->labels[i], "=") == klen && strncmp(ov->labels[i], kv, klen) == 0) {
            free(ov->labels[i]);
            ov->labels[i] = d;
            return 0;
        }
    char **v = ov->nlabels < MLQ_MAX_LABELS
                   ? realloc(ov->labels, (ov->nlabels + 1) * sizeof *ov->labels)
                   : NULL;
    if (!v) {
        free(d);
        return ov->nlabels < MLQ_MAX_LABELS
                   ? mlq_err_set(err, MLQ_ENOMEM, "out of memory")
                   : mlq_err_set(err, MLQ_EINVAL, "--label: at most %d labels", MLQ_MAX_LABELS);
    }
    ov->labels = v;
    ov->labels[ov->nlabels++] = d;
    return 0;
}

/* A deep copy of from (NULL: an empty override). */
static struct mlq_worker_override *ov_copy(const struct mlq_worker_override *from,
                                           struct mlq_err *err)
{
    struct mlq_worker_override *ov = ov_empty_new();
    if (!ov) {
        mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        return NULL;
    }
    if (!from)
        return ov;
    char **keep = ov->labels;
    *ov = *from;
    ov->labels = keep;
    ov->nlabels = 0;
    for (uint32_t i = 0; i < from->nlabels; i++)
        if (ov_set_label(ov, from->labels[i], err) < 0) {
            mlq_workers_override_free(ov);
            return NULL;
        }
    return ov;
}

static bool ov_is_empty(const struct mlq_worker_override *ov)
{
    return !ov->pool[0] && !ov->clear_labels && ov->nlabels == 0 && ov->cpus_m == 0 &&
           ov->mem == 0 && ov->gpus < 0;
}

/* GPUs of type on w, offered or not. */
static int32_t gpus_of_type(const struct mlq_worker *w, const char *type)
{
    int32_t n = 0;
    for (int i = 0; i < w->gpus && i < MLQ_MAX_GPUS; i++)
        n += strcmp(mlq_worker_gpu_type(w, i), type) == 0;
    return n;
}

/* An admin may offer less than the worker reports, never more. */
static int check_offer(const struct mlq_worker *w, const struct mlq_msg *msg, struct mlq_err *err)
{
    const __typeof__(msg->u.worker_set) *s = &msg->u.worker_set;
    char a[32], b[32];
    if (s->cpus_m > w->rep_cpus_m)
        return mlq_err_set(err, MLQ_EINVAL,
                           "--cpus %s: worker %s reports %s CPUs; an admin may offer less, "
                           "never more",
                           mlq_res_fmt_cpus(s->cpus_m, a, sizeof a), w->name,
                           mlq_res_fmt_cpus(w->rep_cpus_m, b, sizeof b));
    if (s->mem > w->rep_mem)
        return mlq_err_set(err, MLQ_EINVAL,
                           "--mem %s: worker %s reports %s of memory; an admin may offer less, "
                           "never more",
                           mlq_res_fmt_mem(s->mem, a, sizeof a), w->name,
                           mlq_res_fmt_mem(w->rep_mem, b, sizeof b));
    if (s->gpus >= 0 && s->gpu_type && w->gpus > 0 && w->ngpu_list == 0)
        return mlq_err_set(err, MLQ_EINVAL,
                           "--gpus %s:%d: the types of worker %s's GPUs are not known until it "
                           "registers again; set a count without a type, or wait for it",
                           s->gpu_type, (int)s->gpus, w->name);
    if (s->gpus >= 0 && s->gpu_type && s->gpus > gpus_of_type(w, s->gpu_type))
        return mlq_err_set(err, MLQ_EINVAL,
                           "--gpus %s:%d: worker %s reports %d GPU(s) of type %s; an admin may "
                           "offer less, never more",
                           s->gpu_type, (int)s->gpus, w->name, (int)gpus_of_type(w, s->gpu_type),
                           s->gpu_type);
    if (s->gpus > w->gpus)
        return mlq_err_set(err, MLQ_EINVAL,
                           "--gpus %d: worker %s reports %d GPU(s); an admin may offer less, "
                           "never more",
                           (int)s->gpus, w->name, (int)w->gpus);
    return 0;
}

/* The override the request asks for, built on w's current one. */
static int build(const struct mlq_worker *w, const struct mlq_msg *msg,
                 struct mlq_worker_override **out, struct mlq_err *err)
{
    const __typeof__(msg->u.worker_set) *s = &msg->u.worker_set;
    struct mlq_worker_override *ov = ov_copy(s->reset ? NULL : w->ov, err);
    *out = NULL;
    if (!ov)
        return MLQ_ENOMEM;
    if (s->pool)
        snprintf(ov->pool, sizeof ov->pool, "%s", s->pool);
    if (s->clear_labels) {
        for (uint32_t i = 0; i < ov->nlabels; i++)
            free(ov->labels[i]);
        ov->nlabels = 0;
        ov->clear_labels = true;
    }
    for (uint32_t i = 0; i < s->nlabels; i++) {
        int rc = ov_set_label(ov, s->labels[i], err);
        if (rc < 0) {
            mlq_workers_override_free(ov);
            return rc;
        }
    }
    if (s->cpus_m > 0)
        ov->cpus_m = s->cpus_m;
    if (s->mem > 0)
        ov->mem = s->mem;
    if (s->gpus >= 0) {
        ov->gpus = s->gpus;
        snprintf(ov->gpu_type, sizeof ov->gpu_type, "%s", s->gpu_type ? s->gpu_type : "");
    }
    *out = ov;
    return 0;
}

static void join_labels(const struct mlq_worker_override *ov, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < ov->nlabels && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? "\n" : "", ov->labels[i]);
        used += n > 0 ? (size_t)n : 0;
    }
}

static int persist(struct mlq_ctx *c, const struct mlq_worker *w,
                   const struct mlq_worker_override *ov, struct mlq_err *err)
{
    if (!ov)
        return mlq_store_override_delete(c->store, w->name, err);
    char labels[LABELS_TEXT];
    struct mlq_store_override o = {
        .clear_labels = ov->clear_labels,
        .labels = labels,
        .cpus_m = ov->cpus_m,
        .mem = ov->mem,
        .gpus = ov->gpus,
    };
    snprintf(o.worker, sizeof o.worker, "%s", w->name);
    snprintf(o.pool, sizeof o.pool, "%s", ov->pool);
    snprintf(o.gpu_type, sizeof o.gpu_type, "%s", ov->gpu_type);
    join_labels(ov, labels, sizeof labels);
    return mlq_store_override_save(c->store, &o, err);
}

/* "pool gpu, labels +zone=eu, cpus 2, gpus h100:1" for the event. */
static void describe(const struct mlq_msg *msg, char *buf, size_t len)
{
    const __typeof__(msg->u.worker_set) *s = &msg->u.worker_set;
    char a[32];
    size_t n = (size_t)snprintf(buf, len, "%s", s->reset ? "reset" : "");
#define ADD(...)                                                                                   \
    do {                                                                                           \
        if (n < len)                                                                               \
            n += (size_t)snprintf(buf + n, len - n, __VA_ARGS__);                                  \
    } while (0)
    if (s->pool)
        ADD("%spool %s", n ? ", " : "", s->pool);
    if (s->clear_labels)
        ADD("%slabels cleared", n ? ", " : "");
    for (uint32_t i = 0; i < s->nlabels; i++)
        ADD("%slabel %s", n ? ", " : "", s->labels[i]);
    if (s->cpus_m > 0)
        ADD("%scpus %s", n ? ", " : "", mlq_res_fmt_cpus(s->cpus_m, a, sizeof a));
    if (s->mem > 0)
        ADD("%smem %s", n ? ", " : "", mlq_res_fmt_mem(s->mem, a, sizeof a));
    if (s->gpus >= 0)
        ADD("%sgpus %s%s%d", n ? ", " : "", s->gpu_type ? s->gpu_type : "", s->gpu_type ? ":" : "",
            (int)s->gpus);
#undef ADD
}

/* Puts ov in effect on w (NULL: none) and returns the override it had;
 * on failure (MLQ_ENOMEM) w keeps its old one. */
static int swap_override(struct mlq_worker *w, struct mlq_worker_override *ov,
                         struct mlq_worker_override **old, struct mlq_err *err)
{
    *old = w->ov;
    w->ov = ov;
    if (mlq_workers_apply_desc(w, err) < 0) {
        w->ov = *old;
        mlq_workers_apply_desc(w, NULL);
        return MLQ_ENOMEM;
    }
    mlq_workers_apply_res(w);
    return 0;
}

/* Stores w's override with its event. A database error fails the whole
 * iteration (the loop rebuilds memory from the database); any other error
 * leaves nothing written. */
static int save(struct mlq_ctx *c, const struct mlq_worker *w, const struct mlq_msg *msg,
                struct mlq_err *err)
{
    char detail[1024];
    describe(msg, detail, sizeof detail);
    int rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = persist(c, w, w->ov, err);
    if (rc == 0)
        rc = mlq_store_event_add(c->store, "worker_set", NULL, NULL, w->name, detail, err);
    if (rc == 0)
        mlq_info("worker %s set by %s: %s", w->name, c->who.name, detail);
    return rc;
}

int mlq_workerset_on_set(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err)
{
    const char *name = msg->u.worker_set.worker;
    struct mlq_worker *w = mlq_workers_get(c->workers, name);
    if (!w || w->forgotten)
        return mlq_err_set(err, MLQ_ENOTFOUND, "no worker named \"%.64s\"", name);
    int rc = check_offer(w, msg, err);
    if (rc < 0)
        return rc;
    struct mlq_worker_override *ov, *old;
    if ((rc = build(w, msg, &ov, err)) < 0)
        return rc;
    if (ov_is_empty(ov)) {
        mlq_workers_override_free(ov);
        ov = NULL;
    }
    if ((rc = swap_override(w, ov, &old, err)) < 0) {
        mlq_workers_override_free(ov);
        return rc;
    }
    if ((rc = save(c, w, msg, err)) < 0) { /* back to what is stored */
        w->ov = old;
        mlq_workers_apply_desc(w, NULL);
        mlq_workers_apply_res(w);
        mlq_workers_override_free(ov);
        return rc;
    }
    mlq_workers_override_free(old);
    c->dirty = true; /* placement takes the new offer at once */
    return mlq_admin_reply_worker(c, peer, msg->rid, w, err);
}

/* Splits the stored newline-joined labels into ov. */
static int load_labels(struct mlq_worker_override *ov, const char *text, struct mlq_err *err)
{
    char one[MLQ_MAX_LABEL_LEN + 1];
    for (const char *p = text; p && *p;) {
        size_t len = strcspn(p, "\n");
        snprintf(one, sizeof one, "%.*s", (int)(len < sizeof one ? len : sizeof one - 1), p);
        int rc = ov_set_label(ov, one, err);
        if (rc < 0)
            return rc;
        p += len + (p[len] == '\n');
    }
    return 0;
}

int mlq_workerset_load(struct mlq_worker *w, const struct mlq_store_override *o,
                       struct mlq_err *err)
{
    struct mlq_worker_override *ov = ov_empty_new();
    if (!ov)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    snprintf(ov->pool, sizeof ov->pool, "%s", o->pool);
    snprintf(ov->gpu_type, sizeof ov->gpu_type, "%s", o->gpu_type);
    ov->clear_labels = o->clear_labels;
    ov->cpus_m = o->cpus_m;
    ov->mem = o->mem;
    ov->gpus = o->gpus;
    int rc = load_labels(ov, o->labels, err);
    if (rc < 0) {
        mlq_workers_override_free(ov);
        return rc;
    }
    mlq_workers_override_free(w->ov);
    w->ov = ov;
    return mlq_workers_apply_desc(w, err);
}
