/* mlq-spoof: a worker key that tries to speak for another worker, for
 * tests/integration/test_privacy.sh.
 *
 *   mlq-spoof --scheduler ADDR --scheduler-key FILE.pub --owner-key W2.key
 *             --key W1.key --name W2
 *
 * Connects with W2's key under a routing id of its choosing and registers
 * as W2; closes that connection (the scheduler keeps W2 UP until its
 * lease); then connects with W1's key under the same routing id and sends
 * a heartbeat as W2. Prints the answer's type and, for an error, its code
 * and message ("hb_ack", or "error -7 the key of worker ..."). Exit 0 when
 * an answer came, 1 when none did, 2 on usage errors. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "err.h"
#include "keys.h"
#include "proto.h"
#include "transport.h"

#define ROUTING_ID "mlq-spoof"
#define ANSWER_MS  2000
#define TRY_MS     15000

struct opts {
    const char *addr, *server_pub, *owner_key, *key, *name;
};

/* A CURVE DEALER with the given routing id, connected to the scheduler. */
static void *dealer(void *zctx, const struct opts *o, const char *key_path)
{
    struct mlq_keypair kp;
    char server[MLQ_KEY_Z85_SIZE];
    struct mlq_err e = {0};
    if (mlq_keys_read_secret(key_path, &kp, &e) < 0 ||
        mlq_keys_read_public(o->server_pub, server, &e) < 0) {
        fprintf(stderr, "mlq-spoof: %s\n", e.msg);
        return NULL;
    }
    void *s = zmq_socket(zctx, ZMQ_DEALER);
    int zero = 0;
    if (!s || zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero) < 0 ||
        zmq_setsockopt(s, ZMQ_ROUTING_ID, ROUTING_ID, strlen(ROUTING_ID)) < 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server, MLQ_KEY_Z85_LEN) < 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, kp.public_z85, MLQ_KEY_Z85_LEN) < 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, kp.secret_z85, MLQ_KEY_Z85_LEN) < 0 ||
        zmq_connect(s, o->addr) < 0) {
        fprintf(stderr, "mlq-spoof: socket: %s\n", zmq_strerror(zmq_errno()));
        if (s)
            zmq_close(s);
        return NULL;
    }
    return s;
}

/* Sends msg on a fresh connection with key_path, retrying on fresh
 * connections until an answer comes (the scheduler drops a connection
 * whose routing id is still in use by the previous one). */
static int ask(void *zctx, const struct opts *o, const char *key_path, struct mlq_msg *msg,
               struct mlq_msg *answer)
{
    int64_t end = mlq_clock_mono_ms() + TRY_MS;
    while (mlq_clock_mono_ms() < end) {
        void *s = dealer(zctx, o, key_path);
        if (!s)
            return -1;
        struct mlq_err e = {0};
        int rc = mlq_transport_send(s, msg, &e);
        if (rc == 0)
            rc = mlq_transport_recv(s, answer, ANSWER_MS, &e);
        zmq_close(s);
        if (rc == 0)
            return 0;
    }
    fprintf(stderr, "mlq-spoof: no answer to %s\n", mlq_proto_type_name(msg->type));
    return -1;
}

static int run(const struct opts *o)
{
    void *zctx = zmq_ctx_new();
    struct mlq_msg reg = {.type = MLQ_MSG_REGISTER, .rid = 1}, answer;
    reg.u.reg.name = (char *)o->name;
    reg.u.reg.cpus_m = 1000;
    reg.u.reg.mem = 1 << 30;
    int rc = ask(zctx, o, o->owner_key, &reg, &answer);
    if (rc == 0 && answer.type != MLQ_MSG_REGISTERED) {
        fprintf(stderr, "mlq-spoof: %s did not register: %s\n", o->name,
                answer.type == MLQ_MSG_ERROR ? answer.u.error.msg : "?");
        rc = -1;
    }
    if (rc == 0)
        mlq_proto_msg_free(&answer);
    struct mlq_msg hb = {.type = MLQ_MSG_HEARTBEAT, .rid = 2};
    hb.u.heartbeat.name = (char *)o->name;
    if (rc == 0 && (rc = ask(zctx, o, o->key, &hb, &answer)) == 0) {
        if (answer.type == MLQ_MSG_ERROR)
            printf("error %d %s\n", answer.u.error.code, answer.u.error.msg);
        else
            printf("%s\n", mlq_proto_type_name(answer.type));
        mlq_proto_msg_free(&answer);
    }
    zmq_ctx_term(zctx);
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"scheduler", required_argument, NULL, 's'},
        {"scheduler-key", required_argument, NULL, 'p'},
        {"owner-key", required_argument, NULL, 'o'},
        {"key", required_argument, NULL, 'k'},
        {"name", required_argument, NULL, 'n'},
        {NULL, 0, NULL, 0},
    };
    struct opts o = {0};
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        const char **slot = c == 's'   ? &o.addr
                            : c == 'p' ? &o.server_pub
                            : c == 'o' ? &o.owner_key
                            : c == 'k' ? &o.key
                            : c == 'n' ? &o.name
                                       : NULL;
        if (!slot)
            return 2;
        *slot = optarg;
    }
    if (!o.addr || !o.server_pub || !o.owner_key || !o.key || !o.name) {
        fprintf(stderr, "usage: mlq-spoof --scheduler ADDR --scheduler-key FILE.pub "
                        "--owner-key W2.key --key W1.key --name W2\n");
        return 2;
    }
    return run(&o);
}
