/* mlq-fakeworker: a worker that speaks the protocol but runs nothing, for
 * the delivery tests (test_deliver_resend.sh). It makes messages go missing
 * for real: it throws away the first ASSIGNs and KILLs it receives, as a
 * worker would whose socket dropped them.
 *
 *   mlq-fakeworker --scheduler ADDR [--key W.key --scheduler-key S.pub]
 *                  --name NAME [--drop-assigns N] [--drop-kills N]
 *                  [--silent] [--holding ATTEMPT]
 *
 * Registers (over CURVE with the worker key given, else plain; 4 CPUs, 8G,
 * no GPUs), heartbeats at the interval the
 * scheduler gives. An assignment past the dropped ones is "run": a started
 * report, then at once a finished report with exit 0, unless the job's argv
 * holds the word "hold": then it runs until a KILL (past the dropped ones)
 * ends it as signaled 15. --silent: never answer an assignment.
 * --holding: names ATTEMPT (unknown to the scheduler) as running in its
 * register, so that the scheduler fences it with a KILL. Every
 * assignment and kill it sees is logged on stdout as
 *   fakeworker: assign|kill dropped|taken|ignored ATTEMPT */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "err.h"
#include "keys.h"
#include "proto.h"
#include "transport.h"

struct fake {
    void *sock;
    const char *name;
    int drop_assigns, drop_kills;
    bool silent;
    const char *holding; /* attempt named in register; NULL: none */
    uint64_t rid;
};

static int send_msg(struct fake *f, struct mlq_msg *m)
{
    struct mlq_err e = {0};
    m->rid = ++f->rid;
    if (mlq_transport_send(f->sock, m, &e) < 0) {
        fprintf(stderr, "fakeworker: send: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static void report(struct fake *f, const char *att, enum mlq_report_phase phase,
                   enum mlq_outcome out, int sig)
{
    struct mlq_msg m = {.type = MLQ_MSG_REPORT};
    snprintf(m.u.report.attempt_id, sizeof m.u.report.attempt_id, "%s", att);
    m.u.report.phase = phase;
    m.u.report.outcome = out;
    m.u.report.exit_code = out == MLQ_OUT_EXITED ? 0 : -1;
    m.u.report.signal = sig;
    m.u.report.pid = 1;
    m.u.report.start_ms = m.u.report.end_ms = mlq_clock_wall_ms();
    send_msg(f, &m);
}

static bool holds(const struct mlq_msg *m)
{
    for (uint32_t i = 0; i < m->u.assign.spec.argc; i++)
        if (strcmp(m->u.assign.spec.argv[i], "hold") == 0)
            return true;
    return false;
}

static void on_assign(struct fake *f, const struct mlq_msg *m)
{
    const char *att = m->u.assign.attempt_id;
    const char *what = f->silent ? "ignored" : f->drop_assigns > 0 ? "dropped" : "taken";
    printf("fakeworker: assign %s %s\n", what, att);
    fflush(stdout);
    if (f->silent)
        return;
    if (f->drop_assigns > 0) {
        f->drop_assigns--;
        return;
    }
    report(f, att, MLQ_PHASE_STARTED, MLQ_OUT_NONE, 0);
    if (!holds(m))
        report(f, att, MLQ_PHASE_FINISHED, MLQ_OUT_EXITED, 0);
}

static void on_kill(struct fake *f, const struct mlq_msg *m)
{
    const char *att = m->u.kill.attempt_id;
    printf("fakeworker: kill %s %s\n", f->drop_kills > 0 ? "dropped" : "taken", att);
    fflush(stdout);
    if (f->drop_kills > 0) {
        f->drop_kills--;
        return;
    }
    report(f, att, MLQ_PHASE_FINISHED, MLQ_OUT_SIGNALED, 15);
}

static int do_register(struct fake *f, int64_t *hb_ms)
{
    struct mlq_msg m = {.type = MLQ_MSG_REGISTER};
    m.u.reg.name = (char *)f->name;
    m.u.reg.cpus_m = 4000;
    m.u.reg.mem = 8LL << 30;
    struct mlq_held_attempt held = {.finished = false};
    if (f->holding) {
        snprintf(held.attempt_id, sizeof held.attempt_id, "%s", f->holding);
        m.u.reg.attempts = &held;
        m.u.reg.nattempts = 1;
    }
    if (send_msg(f, &m) < 0)
        return -1;
    int64_t until = mlq_clock_mono_ms() + 10000;
    while (mlq_clock_mono_ms() < until) {
        struct mlq_msg r;
        struct mlq_err e = {0};
        if (mlq_transport_recv(f->sock, &r, 500, &e) < 0)
            continue;
        bool ok = r.type == MLQ_MSG_REGISTERED;
        if (ok)
            *hb_ms = r.u.registered.heartbeat_ms;
        else if (r.type == MLQ_MSG_KILL) /* the fencing of what it holds comes first */
            on_kill(f, &r);
        mlq_proto_msg_free(&r);
        if (ok)
            return 0;
    }
    fprintf(stderr, "fakeworker: not registered\n");
    return -1;
}

static void serve(struct fake *f, int64_t hb_ms)
{
    int64_t next_hb = mlq_clock_mono_ms() + hb_ms;
    for (;;) {
        int64_t wait = next_hb - mlq_clock_mono_ms();
        struct mlq_msg m;
        struct mlq_err e = {0};
        if (wait > 0 && mlq_transport_recv(f->sock, &m, (int)wait, &e) == 0) {
            if (m.type == MLQ_MSG_ASSIGN)
                on_assign(f, &m);
            else if (m.type == MLQ_MSG_KILL)
                on_kill(f, &m);
            mlq_proto_msg_free(&m);
            continue;
        }
        if (mlq_clock_mono_ms() >= next_hb) {
            struct mlq_msg hb = {.type = MLQ_MSG_HEARTBEAT};
            hb.u.heartbeat.name = (char *)f->name;
            send_msg(f, &hb);
            next_hb = mlq_clock_mono_ms() + hb_ms;
        }
    }
}

/* Over CURVE with the worker's key when given (a keyed scheduler), else
 * plain TCP (an --insecure one). */
static int connect_to(void *zctx, const char *addr, const char *key, const char *sched_key,
                      void **sock, struct mlq_err *e)
{
    if (!key)
        return mlq_transport_dealer(zctx, addr, sock, e);
    struct mlq_keypair kp;
    char server[MLQ_KEY_Z85_SIZE];
    int rc = mlq_keys_read_secret(key, &kp, e);
    if (rc == 0)
        rc = mlq_keys_read_public(sched_key, server, e);
    if (rc == 0)
        rc = mlq_transport_dealer_curve(zctx, addr, server, &kp, sock, e);
    explicit_bzero(&kp, sizeof kp);
    return rc;
}

int main(int argc, char **argv)
{
    struct fake f = {.name = "fake"};
    const char *addr = NULL, *key = NULL, *sched_key = NULL;
    static const struct option opts[] = {{"scheduler", required_argument, NULL, 's'},
                                         {"name", required_argument, NULL, 'n'},
                                         {"drop-assigns", required_argument, NULL, 'a'},
                                         {"drop-kills", required_argument, NULL, 'k'},
                                         {"silent", no_argument, NULL, 'q'},
                                         {"holding", required_argument, NULL, 'h'},
                                         {"key", required_argument, NULL, 'K'},
                                         {"scheduler-key", required_argument, NULL, 'P'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 's')
            addr = optarg;
        else if (c == 'n')
            f.name = optarg;
        else if (c == 'a')
            f.drop_assigns = atoi(optarg);
        else if (c == 'k')
            f.drop_kills = atoi(optarg);
        else if (c == 'q')
            f.silent = true;
        else if (c == 'h')
            f.holding = optarg;
        else if (c == 'K')
            key = optarg;
        else if (c == 'P')
            sched_key = optarg;
        else
            return 2;
    }
    if (!addr || !key != !sched_key) {
        fprintf(stderr, "usage: mlq-fakeworker --scheduler ADDR [--key W.key --scheduler-key "
                        "S.pub] [--name N] [--drop-assigns N] [--drop-kills N] [--silent] "
                        "[--holding ATTEMPT]\n");
        return 2;
    }
    void *zctx = zmq_ctx_new();
    struct mlq_err e = {0};
    if (!zctx || connect_to(zctx, addr, key, sched_key, &f.sock, &e) < 0) {
        fprintf(stderr, "fakeworker: %s\n", e.msg);
        return 1;
    }
    int64_t hb_ms = 1000;
    if (do_register(&f, &hb_ms) < 0)
        return 1;
    printf("fakeworker: registered as %s\n", f.name);
    fflush(stdout);
    serve(&f, hb_ms > 0 ? hb_ms : 1000);
    return 0;
}
