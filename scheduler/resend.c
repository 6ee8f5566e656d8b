/* resend: see resend.h. A binary min-heap on the due time. */
#include "resend.h"

#include <stdlib.h>

#include "err.h"

struct mlq_resend {
    struct mlq_resend_entry *v;
    size_t n, cap;
};

struct mlq_resend *mlq_resend_create(void)
{
    return calloc(1, sizeof(struct mlq_resend));
}

void mlq_resend_destroy(struct mlq_resend **r)
{
    if (!r || !*r)
        return;
    free((*r)->v);
    free(*r);
    *r = NULL;
}

static void swap(struct mlq_resend_entry *a, struct mlq_resend_entry *b)
{
    struct mlq_resend_entry t = *a;
    *a = *b;
    *b = t;
}

int mlq_resend_arm(struct mlq_resend *r, const struct mlq_resend_entry *e)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        struct mlq_resend_entry *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return MLQ_ENOMEM;
        r->v = v;
        r->cap = cap;
    }
    size_t i = r->n++;
    r->v[i] = *e;
    while (i > 0 && r->v[(i - 1) / 2].due > r->v[i].due) {
        swap(&r->v[(i - 1) / 2], &r->v[i]);
        i = (i - 1) / 2;
    }
    return 0;
}

static void sift_down(struct mlq_resend *r, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, rt = l + 1, m = i;
        if (l < r->n && r->v[l].due < r->v[m].due)
            m = l;
        if (rt < r->n && r->v[rt].due < r->v[m].due)
            m = rt;
        if (m == i)
            return;
        swap(&r->v[i], &r->v[m]);
        i = m;
    }
}

bool mlq_resend_pop_due(struct mlq_resend *r, int64_t now, struct mlq_resend_entry *out)
{
    if (r->n == 0 || r->v[0].due > now)
        return false;
    *out = r->v[0];
    r->v[0] = r->v[--r->n];
    sift_down(r, 0);
    return true;
}

size_t mlq_resend_count(const struct mlq_resend *r)
{
    return r->n;
}

int64_t mlq_resend_backoff(int64_t interval, int64_t cap)
{
    int64_t next = interval > 0 ? interval * 2 : 1;
    return next > cap ? cap : next;
}
