/* gpumix: see gpumix.h. */
#include "gpumix.h"

#include <stdio.h>
#include <string.h>

int32_t mlq_mix_request_h(const struct mlq_request *r)
{
    if (mlq_place_is_share(r)) /* a share asked by GPU memory alone counts as the least share */
        return r->gpu_frac > 0 ? r->gpu_frac : 1;
    return r->gpus > 0 ? r->gpus * 100 : 0;
}

bool mlq_mix_type_ok(const char *want, const char *have)
{
    if (!want || !*want)
        return true;
    size_t hl = strlen(have ? have : "");
    for (const char *p = want; *p;) {
        size_t len = strcspn(p, "|");
        if (len == hl && strncmp(p, have, len) == 0)
            return true;
        p += len + (p[len] == '|');
    }
    return false;
}

void mlq_mix_entry_of(const struct mlq_request *r, struct mlq_mix_entry *d)
{
    memset(d, 0, sizeof *d);
    d->gpu_h = mlq_mix_request_h(r);
    snprintf(d->type, sizeof d->type, "%s", r->gpu_type ? r->gpu_type : "");
    d->weight = 1;
    d->cpus_m = (double)r->cpus_m;
    d->mem = (double)r->mem;
}

static struct mlq_mix_entry *slot_for(struct mlq_mix *m, const struct mlq_mix_entry *d)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].gpu_h == d->gpu_h && strcmp(m->e[i].type, d->type) == 0)
            return &m->e[i];
    m->shapes++;
    if (m->n < MLQ_MIX_MAX) {
        m->e[m->n] = *d;
        m->e[m->n].weight = 0;
        return &m->e[m->n++];
    }
    size_t light = 0; /* full: the lightest entry makes room */
    for (size_t i = 1; i < m->n; i++)
        if (m->e[i].weight < m->e[light].weight)
            light = i;
    m->e[light] = *d;
    m->e[light].weight = 0;
    return &m->e[light];
}

void mlq_mix_observe(struct mlq_mix *m, const struct mlq_request *r)
{
    struct mlq_mix_entry d;
    mlq_mix_entry_of(r, &d);
    if (d.gpu_h <= 0)
        return;
    for (size_t i = 0; i < m->n; i++)
        m->e[i].weight *= 1.0 - 1.0 / MLQ_MIX_HORIZON;
    struct mlq_mix_entry *e = slot_for(m, &d);
    e->weight += 1;
    e->cpus_m += (d.cpus_m - e->cpus_m) / e->weight;
    e->mem += (d.mem - e->mem) / e->weight;
    m->total = 0;
    for (size_t i = 0; i < m->n; i++)
        m->total += m->e[i].weight;
}

size_t mlq_mix_typical(const struct mlq_mix *m, struct mlq_mix_entry *out)
{
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].weight * 100.0 >= m->total * MLQ_MIX_TYPICAL_PCT)
            out[k++] = m->e[i];
    return k;
}

void mlq_mix_view(const struct mlq_worker *w, struct mlq_wview *v)
{
    v->cpus_free = w->cpus_m > w->cpus_used_m ? w->cpus_m - w->cpus_used_m : 0;
    v->mem_free = w->mem > w->mem_used ? w->mem - w->mem_used : 0;
    v->n = 0;
    v->mix_for = NULL;
    int32_t shares[MLQ_MAX_GPUS];
    int n = mlq_place_gpu_free_shares(w, shares);
    for (int i = 0; i < n && i < MLQ_MAX_GPUS; i++) {
        if (shares[i] < 0) /* not offered */
            continue;
        v->idx[v->n] = i;
        v->free_h[v->n] = shares[i];
        v->type[v->n++] = mlq_worker_gpu_type(w, i);
    }
}

int64_t mlq_mix_free_h(const struct mlq_wview *v)
{
    int64_t f = 0;
    for (int k = 0; k < v->n; k++)
        f += v->free_h[k];
    return f;
}

static bool host_fits(const struct mlq_wview *v, const struct mlq_mix_entry *d)
{
    return d->cpus_m <= (double)v->cpus_free && d->mem <= (double)v->mem_free;
}

/* Whole GPUs of d's type free on v. */
static int whole_free(const struct mlq_wview *v, const struct mlq_mix_entry *d)
{
    int n = 0;
    for (int k = 0; k < v->n; k++)
        n += v->free_h[k] == 100 && mlq_mix_type_ok(d->type, v->type[k]);
    return n;
}

bool mlq_mix_gpu_usable(const struct mlq_wview *v, int k, const struct mlq_mix_entry *d)
{
    if (v->free_h[k] <= 0 || !host_fits(v, d) || !mlq_mix_type_ok(d->type, v->type[k]))
        return false;
    if (d->gpu_h < 100)
        return v->free_h[k] >= d->gpu_h;
    return v->free_h[k] == 100 && whole_free(v, d) * 100 >= d->gpu_h;
}

static uint64_t type_mask(const struct mlq_wview *v, const struct mlq_mix_entry *d)
{
    uint64_t m = 0;
    for (int k = 0; k < v->n; k++)
        if (mlq_mix_type_ok(d->type, v->type[k]))
            m |= 1ULL << k;
    return m;
}

/* mlq_mix_unusable_h with the GPUs of d's type given as a mask. Only GPUs
 * of d's type count: a GPU of another type is not fragmented for d, it is
 * simply not d's (counting it would make pack steer untyped jobs onto the
 * types typed requests do not want, until the rarer requests for those
 * types find none left). */
static int64_t unusable(const struct mlq_wview *v, const struct mlq_mix_entry *d, uint64_t ok)
{
    int64_t bad = 0, all = 0;
    int whole = 0;
    for (int k = 0; k < v->n; k++) {
        if (!((ok >> k) & 1))
            continue;
        whole += v->free_h[k] == 100;
        if (d->gpu_h < 100 ? v->free_h[k] < d->gpu_h : v->free_h[k] != 100)
            bad += v->free_h[k];
        all += v->free_h[k];
    }
    if (!host_fits(v, d) || (d->gpu_h >= 100 && whole * 100 < d->gpu_h))
        return all;
    return bad;
}

int64_t mlq_mix_unusable_h(const struct mlq_wview *v, const struct mlq_mix_entry *d)
{
    return unusable(v, d, type_mask(v, d));
}

double mlq_mix_frag(struct mlq_wview *v, const struct mlq_mix_entry *mix, size_t n)
{
    double f = 0, total = 0;
    if (v->mix_for != mix) {
        for (size_t i = 0; i < n && i < MLQ_MIX_MAX; i++)
            v->ok[i] = type_mask(v, &mix[i]);
        v->mix_for = mix;
    }
    for (size_t i = 0; i < n && i < MLQ_MIX_MAX; i++) {
        f += mix[i].weight * (double)unusable(v, &mix[i], v->ok[i]);
        total += mix[i].weight;
    }
    return total > 0 ? f / total : 0;
}
