/* protogang: see protogang.h. */
#include "protogang.h"

#include <stdlib.h>
#include <string.h>

#define PARTINFO_KEYS 10
#define GANG_KEYS     5
#define HOST_KEYS     3
#define MAX_PORT      65535

/* ---- addresses ---------------------------------------------------------- */

/* A gang host's address lands in environment variables and in a hostfile
 * line "ADDR slots=N": it is either an advertised address (hostaddr.h) or
 * a worker name, so only printable ASCII without spaces is asked of it. */
int mlq_proto_gang_addr_check(const char *addr, struct mlq_err *err)
{
    size_t n = addr ? strlen(addr) : 0;
    if (n == 0 || n > MLQ_MAX_HOST)
        return mlq_err_set(err, MLQ_EINVAL, "must be 1 to %d bytes", MLQ_MAX_HOST);
    for (const char *p = addr; *p; p++)
        if (*p <= ' ' || *p > '~')
            return mlq_err_set(err, MLQ_EINVAL, "may hold only printable ASCII without spaces");
    return 0;
}

static int read_gang_addr(const struct mlq_mpk_map *m, const char *key, char **out)
{
    struct mlq_err e = {0};
    int rc = mlq_mpk_read_str(m, key, MLQ_MAX_HOST, false, out);
    if (rc == 0 && mlq_proto_gang_addr_check(*out, &e) < 0)
        rc = mlq_err_set(m->err, MLQ_EPROTO, "%s: key '%s' %s", m->where, key, e.msg);
    return rc;
}

/* ---- jobinfo: nodes and parts ------------------------------------------- */

uint32_t mlq_protogang_jobinfo_keys(const struct mlq_jobinfo *j)
{
    return 1 + (j->parts && j->nparts > 0);
}

static void put_partinfo(msgpack_packer *pk, const struct mlq_partinfo *p)
{
    msgpack_pack_map(pk, PARTINFO_KEYS);
    mlq_mpk_kv_int(pk, "rank", p->rank);
    mlq_mpk_kv_str(pk, "worker", p->worker);
    mlq_mpk_kv_str(pk, "addr", p->addr);
    mlq_mpk_kv_str(pk, "state", mlq_attempt_state_name(p->state));
    mlq_mpk_kv_str(pk, "gpu_ids", p->gpu_ids);
    mlq_mpk_kv_int(pk, "start_ms", p->start_ms);
    mlq_mpk_kv_int(pk, "end_ms", p->end_ms);
    mlq_mpk_kv_int(pk, "exit_code", p->exit_code);
    mlq_mpk_kv_int(pk, "signal", p->signal);
    mlq_mpk_kv_str(pk, "detail", p->detail);
}

void mlq_protogang_put_jobinfo(msgpack_packer *pk, const struct mlq_jobinfo *j)
{
    mlq_mpk_kv_int(pk, "nodes", j->nodes);
    if (!j->parts || j->nparts == 0)
        return;
    mlq_mpk_kv_array(pk, "parts", j->nparts);
    for (uint32_t i = 0; i < j->nparts; i++)
        put_partinfo(pk, &j->parts[i]);
}

static int read_part_state(const struct mlq_mpk_map *m, struct mlq_partinfo *p)
{
    const char *names[MLQ_ATT_STATE_COUNT];
    int st = 0;
    for (int i = 0; i < MLQ_ATT_STATE_COUNT; i++)
        names[i] = mlq_attempt_state_name((enum mlq_attempt_state)i);
    int rc = mlq_mpk_read_enum(m, "state", names, MLQ_ATT_STATE_COUNT, false, &st);
    p->state = rc == 0 ? (enum mlq_attempt_state)st : MLQ_ATT_ASSIGNED;
    return rc;
}

static int read_partinfo(const struct mlq_mpk_map *m, struct mlq_partinfo *p)
{
    int rc = mlq_mpk_read_i32(m, "rank", 0, MLQ_MAX_NODES - 1, &p->rank);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "worker", MLQ_MAX_NAME, true, &p->worker);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "addr", MLQ_MAX_HOST, true, &p->addr);
    if (rc == 0)
        rc = read_part_state(m, p);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "gpu_ids", MLQ_MAX_STR, true, &p->gpu_ids);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "start_ms", 0, INT64_MAX, &p->start_ms);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "end_ms", 0, INT64_MAX, &p->end_ms);
    if (rc == 0)
        rc = mlq_mpk_read_i32(m, "exit_code", INT32_MIN, INT32_MAX, &p->exit_code);
    if (rc == 0)
        rc = mlq_mpk_read_i32(m, "signal", 0, INT32_MAX, &p->signal);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "detail", MLQ_MAX_STR, true, &p->detail);
    return rc;
}

/* Absent or nil: not a gang (nodes 0, no parts). */
int mlq_protogang_read_jobinfo(const struct mlq_mpk_map *m, struct mlq_jobinfo *j)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_opt_i32(m, "nodes", 0, MLQ_MAX_NODES, &j->nodes);
    if (rc < 0 || mlq_mpk_absent(m, "parts"))
        return rc;
    rc = mlq_mpk_read_array(m, "parts", 0, MLQ_MAX_NODES, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    j->parts = calloc(a->size, sizeof *j->parts);
    if (!j->parts)
        return mlq_err_set(m->err, MLQ_ENOMEM, "jobinfo: out of memory");
    j->nparts = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map pm;
        rc = mlq_mpk_map_init(&pm, &a->ptr[i], "partinfo", m->err);
        if (rc == 0)
            rc = read_partinfo(&pm, &j->parts[i]);
    }
    return rc;
}

void mlq_protogang_free_jobinfo(struct mlq_jobinfo *j)
{
    for (uint32_t i = 0; j->parts && i < j->nparts; i++) {
        free(j->parts[i].worker);
        free(j->parts[i].addr);
        free(j->parts[i].gpu_ids);
        free(j->parts[i].detail);
    }
    free(j->parts);
    j->parts = NULL;
    j->nparts = 0;
}

/* ---- assign: gang ------------------------------------------------------- */

void mlq_protogang_put_assign(msgpack_packer *pk, const struct mlq_msg *m)
{
    const struct mlq_ganginfo *g = &m->u.assign.gang;
    uint32_t n = g->hosts ? g->nhosts : 0;
    mlq_mpk_put_str(pk, "gang");
    if (g->nnodes <= 0) {
        msgpack_pack_nil(pk);
        return;
    }
    msgpack_pack_map(pk, GANG_KEYS);
    mlq_mpk_kv_int(pk, "nnodes", g->nnodes);
    mlq_mpk_kv_int(pk, "rank", g->rank);
    mlq_mpk_kv_str(pk, "master_addr", g->master_addr);
    mlq_mpk_kv_int(pk, "master_port", g->master_port);
    mlq_mpk_kv_array(pk, "hosts", n);
    for (uint32_t i = 0; i < n; i++) {
        msgpack_pack_map(pk, HOST_KEYS);
        mlq_mpk_kv_str(pk, "worker", g->hosts[i].worker);
        mlq_mpk_kv_str(pk, "addr", g->hosts[i].addr);
        mlq_mpk_kv_int(pk, "gpus", g->hosts[i].gpus);
    }
}

static int read_host(const struct mlq_mpk_map *m, struct mlq_ganghost *h)
{
    int rc = mlq_mpk_read_str(m, "worker", MLQ_MAX_NAME, false, &h->worker);
    if (rc == 0 && h->worker[0] == '\0')
        rc = mlq_err_set(m->err, MLQ_EPROTO, "gang host: key 'worker' must not be empty");
    if (rc == 0)
        rc = read_gang_addr(m, "addr", &h->addr);
    if (rc == 0)
        rc = mlq_mpk_read_i32(m, "gpus", 0, MLQ_MAX_GPUS, &h->gpus);
    return rc;
}

static int read_hosts(const struct mlq_mpk_map *m, struct mlq_ganginfo *g)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_array(m, "hosts", (uint32_t)g->nnodes, (uint32_t)g->nnodes, &a);
    if (rc < 0)
        return rc;
    g->hosts = calloc(a->size, sizeof *g->hosts);
    if (!g->hosts)
        return mlq_err_set(m->err, MLQ_ENOMEM, "assign: out of memory");
    g->nhosts = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map hm;
        rc = mlq_mpk_map_init(&hm, &a->ptr[i], "gang host", m->err);
        if (rc == 0)
            rc = read_host(&hm, &g->hosts[i]);
    }
    return rc;
}

static int read_gang(const struct mlq_mpk_map *m, struct mlq_ganginfo *g)
{
    int rc = mlq_mpk_read_i32(m, "nnodes", 1, MLQ_MAX_NODES, &g->nnodes);
    if (rc == 0)
        rc = mlq_mpk_read_i32(m, "rank", 0, g->nnodes - 1, &g->rank);
    if (rc == 0)
        rc = read_gang_addr(m, "master_addr", &g->master_addr);
    if (rc == 0)
        rc = mlq_mpk_read_i32(m, "master_port", 1, MAX_PORT, &g->master_port);
    if (rc == 0)
        rc = read_hosts(m, g);
    return rc;
}

/* Absent or nil: not a gang (nnodes 0). The count of hosts must be nnodes
 * and the rank below it, so the worker can trust every index it forms. */
int mlq_protogang_read_assign(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    struct mlq_ganginfo *g = &m->u.assign.gang;
    memset(g, 0, sizeof *g);
    if (mlq_mpk_absent(mp, "gang"))
        return 0;
    struct mlq_mpk_map gm;
    int rc = mlq_mpk_read_map(mp, "gang", "gang", &gm);
    if (rc == 0)
        rc = read_gang(&gm, g);
    if (rc < 0)
        mlq_proto_ganginfo_free(g);
    return rc;
}

void mlq_proto_ganginfo_free(struct mlq_ganginfo *g)
{
    if (!g)
        return;
    for (uint32_t i = 0; g->hosts && i < g->nhosts; i++) {
        free(g->hosts[i].worker);
        free(g->hosts[i].addr);
    }
    free(g->hosts);
    free(g->master_addr);
    memset(g, 0, sizeof *g);
}

/* ---- register: rdv_ports ------------------------------------------------ */

void mlq_protogang_put_register(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_put_str(pk, "rdv_ports");
    if (m->u.reg.rdv_lo <= 0) {
        msgpack_pack_nil(pk);
        return;
    }
    msgpack_pack_array(pk, 2);
    msgpack_pack_int64(pk, m->u.reg.rdv_lo);
    msgpack_pack_int64(pk, m->u.reg.rdv_hi);
}

static bool port_value(const msgpack_object *o, int32_t *out)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 < 1 || o->via.u64 > MAX_PORT)
        return false;
    *out = (int32_t)o->via.u64;
    return true;
}

/* Absent or nil: no ports offered. Otherwise [lo, hi], 1 <= lo <= hi <= 65535. */
int mlq_protogang_read_register(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    m->u.reg.rdv_lo = m->u.reg.rdv_hi = 0;
    if (mlq_mpk_absent(mp, "rdv_ports"))
        return 0;
    int rc = mlq_mpk_read_array(mp, "rdv_ports", 2, 2, &a);
    if (rc < 0)
        return rc;
    int32_t lo = 0, hi = 0;
    if (!port_value(&a->ptr[0], &lo) || !port_value(&a->ptr[1], &hi) || lo > hi)
        return mlq_err_set(mp->err, MLQ_EPROTO,
                           "register: key 'rdv_ports' must be [lo, hi] with 1 <= lo <= hi <= %d",
                           MAX_PORT);
    m->u.reg.rdv_lo = lo;
    m->u.reg.rdv_hi = hi;
    return 0;
}

/* ---- logs: node --------------------------------------------------------- */

void mlq_protogang_put_logs(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_int(pk, "node", m->u.logs.node);
}

int mlq_protogang_read_logs(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    return mlq_mpk_opt_i32(mp, "node", 0, MLQ_MAX_NODES - 1, &m->u.logs.node);
}
