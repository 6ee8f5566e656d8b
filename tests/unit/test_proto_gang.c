/* Unit tests for the gang half of common/proto (protogang.c and the "nodes"
 * key of a job spec): round trips of every gang key, bodies of peers that
 * predate gangs, and rejection of each key when mistyped or out of bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonview.h"
#include "mpk.h"
#include "proto.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char ID1[] = "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f";
static const char ID2[] = "f0e1d2c3-b4a5-4968-8776-655443322110";

static char *k_argv[] = {"torchrun", "train.py"};

static void base_spec(struct mlq_jobspec *s)
{
    memset(s, 0, sizeof *s);
    s->owner = "alice";
    s->argv = k_argv;
    s->argc = N(k_argv);
    s->workdir = "/w";
    s->cpus_m = 1000;
    s->mem = 1 << 20;
}

static void round_trip(const struct mlq_msg *in, struct mlq_msg *out)
{
    char *buf;
    size_t len;
    struct mlq_err err = {0};
    if (mlq_proto_encode(in, &buf, &len, &err) != 0)
        fail_msg("encode %s: %s", mlq_proto_type_name(in->type), err.msg);
    int rc = mlq_proto_decode(buf, len, out, &err);
    free(buf);
    if (rc != 0)
        fail_msg("decode %s: %s", mlq_proto_type_name(in->type), err.msg);
}

static void expect_reject(const struct mlq_msg *m, const char *want)
{
    char *buf;
    size_t len;
    struct mlq_msg out;
    struct mlq_err err = {0};
    assert_int_equal(mlq_proto_encode(m, &buf, &len, &err), 0);
    int rc = mlq_proto_decode(buf, len, &out, &err);
    free(buf);
    if (rc == 0)
        mlq_proto_msg_free(&out);
    if (rc != MLQ_EPROTO || !strstr(err.msg, want))
        fail_msg("rc %d, message \"%s\", wanted \"%s\"", rc, err.msg, want);
}

/* A body written by hand: v, t, rid, then nkeys - 3 pairs the caller packs. */
static void raw_begin(struct mlq_mpk_out *o, uint32_t nkeys, const char *t)
{
    mlq_mpk_out_init(o, MLQ_MAX_MSG);
    msgpack_pack_map(&o->pk, nkeys);
    mlq_mpk_kv_uint(&o->pk, "v", MLQ_PROTO_VERSION);
    mlq_mpk_kv_str(&o->pk, "t", t);
    mlq_mpk_kv_uint(&o->pk, "rid", 1);
}

static int raw_decode(struct mlq_mpk_out *o, struct mlq_msg *m, struct mlq_err *err)
{
    char *buf;
    size_t len;
    assert_int_equal(mlq_mpk_out_finish(o, &buf, &len, NULL), 0);
    int rc = mlq_proto_decode(buf, len, m, err);
    free(buf);
    return rc;
}

/* ---- jobspec: nodes ------------------------------------------------------- */

static void test_spec_nodes(void **state)
{
    (void)state;
    struct mlq_msg in = {.type = MLQ_MSG_SUBMIT}, out;
    base_spec(&in.u.submit.spec);
    round_trip(&in, &out);
    assert_int_equal(out.u.submit.spec.nodes, 0); /* nil: not a gang */
    mlq_proto_msg_free(&out);

    uint32_t good[] = {1, 2, MLQ_MAX_NODES};
    for (size_t i = 0; i < N(good); i++) {
        in.u.submit.spec.nodes = good[i];
        round_trip(&in, &out);
        assert_int_equal(out.u.submit.spec.nodes, good[i]);
        struct mlq_jobspec copy;
        assert_int_equal(mlq_proto_jobspec_copy(&copy, &out.u.submit.spec, NULL), 0);
        assert_int_equal(copy.nodes, good[i]);
        mlq_proto_jobspec_free(&copy);
        mlq_proto_msg_free(&out);
    }
    struct mlq_err err = {0};
    in.u.submit.spec.nodes = MLQ_MAX_NODES + 1;
    assert_int_equal(mlq_proto_jobspec_check(&in.u.submit.spec, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "nodes must be 1 to 256"));
    expect_reject(&in, "nodes must be 1 to 256");

    in.u.submit.spec.nodes = 2;
    in.u.submit.spec.array = "0-9";
    assert_int_equal(mlq_proto_jobspec_check(&in.u.submit.spec, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "nodes cannot be combined with array"));
    expect_reject(&in, "nodes cannot be combined with array");
}

/* A stored spec packs "nodes" too, so a gang survives a scheduler restart. */
static void test_spec_pack_nodes(void **state)
{
    (void)state;
    struct mlq_jobspec s, back;
    struct mlq_err err = {0};
    char *buf;
    size_t len;
    base_spec(&s);
    s.nodes = 7;
    assert_int_equal(mlq_proto_jobspec_pack(&s, &buf, &len, &err), 0);
    assert_int_equal(mlq_proto_jobspec_unpack(buf, len, &back, &err), 0);
    free(buf);
    assert_int_equal(back.nodes, 7);
    mlq_proto_jobspec_free(&back);
}

static void test_spec_nodes_zero_on_wire(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    struct mlq_msg m;
    struct mlq_err err = {0};
    raw_begin(&o, 4, "submit");
    mlq_mpk_put_str(&o.pk, "spec");
    msgpack_pack_map(&o.pk, 7);
    mlq_mpk_kv_str(&o.pk, "owner", "alice");
    mlq_mpk_kv_strv(&o.pk, "argv", k_argv, 2);
    mlq_mpk_kv_strv(&o.pk, "env", NULL, 0);
    mlq_mpk_kv_str(&o.pk, "workdir", "/w");
    mlq_mpk_kv_int(&o.pk, "cpus_m", 1000);
    mlq_mpk_kv_int(&o.pk, "mem", 1 << 20);
    mlq_mpk_kv_uint(&o.pk, "nodes", 0);
    int rc = raw_decode(&o, &m, &err);
    /* gpus is required: add it and the zero nodes is what fails */
    assert_int_equal(rc, MLQ_EPROTO);
    raw_begin(&o, 4, "submit");
    mlq_mpk_put_str(&o.pk, "spec");
    msgpack_pack_map(&o.pk, 8);
    mlq_mpk_kv_str(&o.pk, "owner", "alice");
    mlq_mpk_kv_strv(&o.pk, "argv", k_argv, 2);
    mlq_mpk_kv_strv(&o.pk, "env", NULL, 0);
    mlq_mpk_kv_str(&o.pk, "workdir", "/w");
    mlq_mpk_kv_int(&o.pk, "cpus_m", 1000);
    mlq_mpk_kv_int(&o.pk, "mem", 1 << 20);
    mlq_mpk_kv_int(&o.pk, "gpus", 0);
    mlq_mpk_kv_uint(&o.pk, "nodes", 0);
    assert_int_equal(raw_decode(&o, &m, &err), MLQ_EPROTO);
    assert_non_null(strstr(err.msg, "nodes must be 1 to 256"));
}

/* ---- assign: gang --------------------------------------------------------- */

static struct mlq_ganghost k_hosts[3] = {
    {.worker = "w1", .addr = "10.0.0.1", .gpus = 8},
    {.worker = "w2", .addr = "node-2.example", .gpus = 8},
    {.worker = "w3", .addr = "w3", .gpus = 8},
};

static void gang_assign(struct mlq_msg *m)
{
    memset(m, 0, sizeof *m);
    m->type = MLQ_MSG_ASSIGN;
    memcpy(m->u.assign.attempt_id, ID1, sizeof ID1);
    memcpy(m->u.assign.job_id, ID2, sizeof ID2);
    m->u.assign.attempt = 2;
    base_spec(&m->u.assign.spec);
    m->u.assign.spec.nodes = 3;
    m->u.assign.gang.nnodes = 3;
    m->u.assign.gang.rank = 2;
    m->u.assign.gang.master_addr = "10.0.0.1";
    m->u.assign.gang.master_port = 29400;
    m->u.assign.gang.hosts = k_hosts;
    m->u.assign.gang.nhosts = 3;
}

static void test_assign_gang(void **state)
{
    (void)state;
    struct mlq_msg in, out;
    gang_assign(&in);
    round_trip(&in, &out);
    const struct mlq_ganginfo *g = &out.u.assign.gang;
    assert_int_equal(g->nnodes, 3);
    assert_int_equal(g->rank, 2);
    assert_string_equal(g->master_addr, "10.0.0.1");
    assert_int_equal(g->master_port, 29400);
    assert_int_equal(g->nhosts, 3);
    for (uint32_t i = 0; i < 3; i++) {
        assert_string_equal(g->hosts[i].worker, k_hosts[i].worker);
        assert_string_equal(g->hosts[i].addr, k_hosts[i].addr);
        assert_int_equal(g->hosts[i].gpus, 8);
    }
    assert_int_equal(out.u.assign.spec.nodes, 3);
    mlq_proto_msg_free(&out);

    /* not a gang: nil on the wire, nnodes 0 */
    in.u.assign.gang.nnodes = 0;
    round_trip(&in, &out);
    assert_int_equal(out.u.assign.gang.nnodes, 0);
    assert_null(out.u.assign.gang.hosts);
    mlq_proto_msg_free(&out);
}

static void test_assign_gang_rejects(void **state)
{
    (void)state;
    struct mlq_msg in;
    gang_assign(&in);
    in.u.assign.gang.rank = 3;
    expect_reject(&in, "rank");
    gang_assign(&in);
    in.u.assign.gang.nhosts = 2; /* fewer hosts than nodes */
    expect_reject(&in, "hosts");
    gang_assign(&in);
    in.u.assign.gang.master_port = 0;
    expect_reject(&in, "master_port");
    gang_assign(&in);
    in.u.assign.gang.master_port = 65536;
    expect_reject(&in, "master_port");
    gang_assign(&in);
    in.u.assign.gang.master_addr = "10.0.0.1 evil";
    expect_reject(&in, "master_addr");
    gang_assign(&in);
    in.u.assign.gang.nnodes = MLQ_MAX_NODES + 1;
    expect_reject(&in, "nnodes");

    struct mlq_ganghost bad[3];
    memcpy(bad, k_hosts, sizeof bad);
    bad[1].addr = "a\nb";
    gang_assign(&in);
    in.u.assign.gang.hosts = bad;
    expect_reject(&in, "'addr'");
    memcpy(bad, k_hosts, sizeof bad);
    bad[2].gpus = MLQ_MAX_GPUS + 1;
    expect_reject(&in, "gpus");
    memcpy(bad, k_hosts, sizeof bad);
    bad[0].worker = "";
    expect_reject(&in, "'worker' must not be empty");
}

static void test_gang_addr_check(void **state)
{
    (void)state;
    struct mlq_err err = {0};
    char long_addr[MLQ_MAX_HOST + 2];
    memset(long_addr, 'a', sizeof long_addr);
    long_addr[MLQ_MAX_HOST] = '\0';
    assert_int_equal(mlq_proto_gang_addr_check(long_addr, &err), 0);
    assert_int_equal(mlq_proto_gang_addr_check("fe80::1", &err), 0);
    assert_int_equal(mlq_proto_gang_addr_check("gpu_node.07", &err), 0);
    long_addr[MLQ_MAX_HOST] = 'a';
    long_addr[MLQ_MAX_HOST + 1] = '\0';
    assert_int_equal(mlq_proto_gang_addr_check(long_addr, &err), MLQ_EINVAL);
    assert_int_equal(mlq_proto_gang_addr_check("", &err), MLQ_EINVAL);
    assert_int_equal(mlq_proto_gang_addr_check(NULL, &err), MLQ_EINVAL);
    assert_int_equal(mlq_proto_gang_addr_check("a b", &err), MLQ_EINVAL);
    assert_int_equal(mlq_proto_gang_addr_check("caf\xc3\xa9", &err), MLQ_EINVAL);
}

/* ---- register: rdv_ports -------------------------------------------------- */

static void reg_msg(struct mlq_msg *m)
{
    memset(m, 0, sizeof *m);
    m->type = MLQ_MSG_REGISTER;
    m->u.reg.name = "w1";
    m->u.reg.cpus_m = 8000;
    m->u.reg.mem = 1LL << 34;
}

static void test_register_ports(void **state)
{
    (void)state;
    struct mlq_msg in, out;
    reg_msg(&in);
    round_trip(&in, &out);
    assert_int_equal(out.u.reg.rdv_lo, 0);
    assert_int_equal(out.u.reg.rdv_hi, 0);
    mlq_proto_msg_free(&out);
    in.u.reg.rdv_lo = 29400;
    in.u.reg.rdv_hi = 29499;
    round_trip(&in, &out);
    assert_int_equal(out.u.reg.rdv_lo, 29400);
    assert_int_equal(out.u.reg.rdv_hi, 29499);
    mlq_proto_msg_free(&out);
    in.u.reg.rdv_lo = in.u.reg.rdv_hi = 65535;
    round_trip(&in, &out);
    assert_int_equal(out.u.reg.rdv_lo, 65535);
    mlq_proto_msg_free(&out);

    in.u.reg.rdv_lo = 29500;
    in.u.reg.rdv_hi = 29400;
    expect_reject(&in, "rdv_ports");
    in.u.reg.rdv_lo = 1;
    in.u.reg.rdv_hi = 65536;
    expect_reject(&in, "rdv_ports");
}

static void test_register_ports_shape(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    struct mlq_msg m;
    struct mlq_err err = {0};
    raw_begin(&o, 9, "register");
    mlq_mpk_kv_str(&o.pk, "name", "w1");
    mlq_mpk_kv_int(&o.pk, "cpus_m", 1000);
    mlq_mpk_kv_int(&o.pk, "mem", 1000);
    mlq_mpk_kv_int(&o.pk, "gpus", 0);
    mlq_mpk_kv_array(&o.pk, "attempts", 0);
    mlq_mpk_kv_array(&o.pk, "rdv_ports", 3);
    msgpack_pack_int(&o.pk, 1);
    msgpack_pack_int(&o.pk, 2);
    msgpack_pack_int(&o.pk, 3);
    assert_int_equal(raw_decode(&o, &m, &err), MLQ_EPROTO);
    assert_non_null(strstr(err.msg, "rdv_ports"));
    raw_begin(&o, 9, "register");
    mlq_mpk_kv_str(&o.pk, "name", "w1");
    mlq_mpk_kv_int(&o.pk, "cpus_m", 1000);
    mlq_mpk_kv_int(&o.pk, "mem", 1000);
    mlq_mpk_kv_int(&o.pk, "gpus", 0);
    mlq_mpk_kv_array(&o.pk, "attempts", 0);
    mlq_mpk_kv_array(&o.pk, "rdv_ports", 2);
    msgpack_pack_int(&o.pk, -1);
    msgpack_pack_int(&o.pk, 2);
    assert_int_equal(raw_decode(&o, &m, &err), MLQ_EPROTO);
    /* a register of a worker that predates gangs: no ports offered */
    raw_begin(&o, 8, "register");
    mlq_mpk_kv_str(&o.pk, "name", "w1");
    mlq_mpk_kv_int(&o.pk, "cpus_m", 1000);
    mlq_mpk_kv_int(&o.pk, "mem", 1000);
    mlq_mpk_kv_int(&o.pk, "gpus", 0);
    mlq_mpk_kv_array(&o.pk, "attempts", 0);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    assert_int_equal(m.u.reg.rdv_lo, 0);
    mlq_proto_msg_free(&m);
}

/* ---- jobinfo: nodes and parts --------------------------------------------- */

static void gang_jobinfo(struct mlq_jobinfo *j, struct mlq_partinfo *parts)
{
    memset(j, 0, sizeof *j);
    memcpy(j->id, ID1, sizeof ID1);
    j->state = MLQ_JOB_RUNNING;
    j->argv = k_argv;
    j->argc = 2;
    j->exit_code = -1;
    j->array_index = -1;
    j->nodes = 2;
    memset(parts, 0, 2 * sizeof *parts);
    parts[0] = (struct mlq_partinfo){.rank = 0,
                                     .worker = "w1",
                                     .addr = "10.0.0.1",
                                     .state = MLQ_ATT_RUNNING,
                                     .gpu_ids = "0,1",
                                     .start_ms = 1000,
                                     .exit_code = -1};
    parts[1] = (struct mlq_partinfo){.rank = 1,
                                     .worker = "w2",
                                     .state = MLQ_ATT_FAILED,
                                     .start_ms = 1000,
                                     .end_ms = 2000,
                                     .exit_code = 1,
                                     .detail = "exited 1"};
    j->parts = parts;
    j->nparts = 2;
}

static void test_jobinfo_parts(void **state)
{
    (void)state;
    struct mlq_partinfo parts[2];
    struct mlq_jobinfo j;
    gang_jobinfo(&j, parts);
    struct mlq_msg in = {.type = MLQ_MSG_JOB_LIST}, out;
    in.u.job_list.jobs = &j;
    in.u.job_list.njobs = 1;
    round_trip(&in, &out);
    const struct mlq_jobinfo *r = &out.u.job_list.jobs[0];
    assert_int_equal(r->nodes, 2);
    assert_int_equal(r->nparts, 2);
    assert_string_equal(r->parts[0].worker, "w1");
    assert_string_equal(r->parts[0].addr, "10.0.0.1");
    assert_int_equal(r->parts[0].state, MLQ_ATT_RUNNING);
    assert_string_equal(r->parts[0].gpu_ids, "0,1");
    assert_int_equal(r->parts[0].exit_code, -1);
    assert_null(r->parts[1].addr);
    assert_int_equal(r->parts[1].rank, 1);
    assert_int_equal(r->parts[1].state, MLQ_ATT_FAILED);
    assert_int_equal(r->parts[1].end_ms, 2000);
    assert_int_equal(r->parts[1].exit_code, 1);
    assert_string_equal(r->parts[1].detail, "exited 1");
    mlq_proto_msg_free(&out);

    /* not a gang: nodes 0 and no parts */
    j.nodes = 0;
    j.parts = NULL;
    j.nparts = 0;
    round_trip(&in, &out);
    assert_int_equal(out.u.job_list.jobs[0].nodes, 0);
    assert_null(out.u.job_list.jobs[0].parts);
    mlq_proto_msg_free(&out);

    gang_jobinfo(&j, parts);
    j.nodes = MLQ_MAX_NODES + 1;
    expect_reject(&in, "nodes");
    gang_jobinfo(&j, parts);
    parts[1].rank = MLQ_MAX_NODES;
    expect_reject(&in, "rank");
}

static void test_jobinfo_json(void **state)
{
    (void)state;
    struct mlq_partinfo parts[2];
    struct mlq_jobinfo j;
    gang_jobinfo(&j, parts);
    json_t *o = mlq_jsonview_job_status(&j);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "nodes")), 2);
    assert_true(json_is_true(json_object_get(o, "gang")));
    json_t *p = json_object_get(o, "parts");
    assert_int_equal(json_array_size(p), 2);
    json_t *p1 = json_array_get(p, 1);
    assert_string_equal(json_string_value(json_object_get(p1, "worker")), "w2");
    assert_string_equal(json_string_value(json_object_get(p1, "state")), "FAILED");
    assert_int_equal(json_integer_value(json_object_get(p1, "exit_code")), 1);
    assert_true(json_is_null(json_object_get(p1, "addr")));
    assert_int_equal(json_array_size(json_object_get(json_array_get(p, 0), "gpu_ids")), 2);
    json_decref(o);
    j.nodes = 0;
    j.parts = NULL;
    j.nparts = 0;
    o = mlq_jsonview_job_status(&j);
    assert_int_equal(json_integer_value(json_object_get(o, "nodes")), 1);
    assert_true(json_is_false(json_object_get(o, "gang")));
    assert_int_equal(json_array_size(json_object_get(o, "parts")), 0);
    json_decref(o);
}

/* ---- logs: node ----------------------------------------------------------- */

static void test_logs_node(void **state)
{
    (void)state;
    struct mlq_msg in = {.type = MLQ_MSG_LOGS}, out;
    in.u.logs.job = "0b8e";
    in.u.logs.max = 4096;
    in.u.logs.node = 3;
    round_trip(&in, &out);
    assert_int_equal(out.u.logs.node, 3);
    mlq_proto_msg_free(&out);
    in.u.logs.node = MLQ_MAX_NODES;
    expect_reject(&in, "node");
    in.u.logs.node = -1;
    expect_reject(&in, "node");

    /* a client that predates gangs: node 0 */
    struct mlq_mpk_out o;
    struct mlq_err err = {0};
    raw_begin(&o, 7, "logs");
    mlq_mpk_kv_str(&o.pk, "job", "0b8e");
    mlq_mpk_kv_str(&o.pk, "stream", "stdout");
    mlq_mpk_kv_int(&o.pk, "offset", 0);
    mlq_mpk_kv_uint(&o.pk, "max", 10);
    assert_int_equal(raw_decode(&o, &out, &err), 0);
    assert_int_equal(out.u.logs.node, 0);
    mlq_proto_msg_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spec_nodes),
        cmocka_unit_test(test_spec_pack_nodes),
        cmocka_unit_test(test_spec_nodes_zero_on_wire),
        cmocka_unit_test(test_assign_gang),
        cmocka_unit_test(test_assign_gang_rejects),
        cmocka_unit_test(test_gang_addr_check),
        cmocka_unit_test(test_register_ports),
        cmocka_unit_test(test_register_ports_shape),
        cmocka_unit_test(test_jobinfo_parts),
        cmocka_unit_test(test_jobinfo_json),
        cmocka_unit_test(test_logs_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
