/* bench_env: see bench_env.h. */
#include "bench_env.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "bench_load.h"
#include "bench_proc.h"
#include "transport.h"

#define MAX_SOCKETS      4096 /* 1,000 simulated workers plus clients */
#define START_TRIES      5    /* ports tried before giving up */
#define READY_TIMEOUT_MS 15000
#define PROBE_TIMEOUT_MS 250
#define STOP_GRACE_MS    10000
#define TAIL_LINES       30
#define WRAP_WORDS       16 /* words of MLQ_BENCH_SCHED_WRAP used */

/* ROOT/keys: the scheduler's pair, the owner's (admin) and BENV_WORKER's. */
static int make_keys(struct benv *e, struct mlq_err *err)
{
    struct mlq_keypair server, worker;
    char path[BENV_PATH + 64];
    snprintf(e->keydir, sizeof e->keydir, "%s/keys", e->root);
    if (mkdir(e->keydir, 0700) < 0)
        return mlq_err_set(err, MLQ_EIO, "mkdir %s: %s", e->keydir, strerror(errno));
    int rc = mlq_keys_generate(&server, err);
    if (rc == 0)
        rc = mlq_keys_generate(&e->admin_kp, err);
    if (rc == 0)
        rc = mlq_keys_generate(&worker, err);
    snprintf(path, sizeof path, "%s/server.key", e->keydir);
    if (rc == 0)
        rc = mlq_keys_write(path, &server, false, err);
    snprintf(path, sizeof path, "%s/admin.key", e->keydir);
    if (rc == 0)
        rc = mlq_keys_write(path, &e->admin_kp, false, err);
    snprintf(path, sizeof path, "%s/worker.key", e->keydir);
    if (rc == 0)
        rc = mlq_keys_write(path, &worker, false, err);
    memcpy(e->server_pub, server.public_z85, sizeof e->server_pub);
    explicit_bzero(&server, sizeof server);
    explicit_bzero(&worker, sizeof worker);
    return rc;
}

int benv_init(struct benv *e, const char *bin_dir, const char *tmp_parent, bool keep,
              volatile const sig_atomic_t *stop, struct mlq_err *err)
{
    memset(e, 0, sizeof *e);
    e->keep = keep;
    e->stop = stop;
    snprintf(e->bin_dir, sizeof e->bin_dir, "%s", bin_dir);
    struct passwd *pw = getpwuid(geteuid());
    snprintf(e->owner, sizeof e->owner, "%s", pw ? pw->pw_name : "bench");
    snprintf(e->root, sizeof e->root, "%s/mlq-bench.XXXXXX", tmp_parent);
    if (!mkdtemp(e->root))
        return mlq_err_set(err, MLQ_EIO, "cannot create a temp dir in %s: %s", tmp_parent,
                           strerror(errno));
    e->zctx = zmq_ctx_new();
    if (!e->zctx || zmq_ctx_set(e->zctx, ZMQ_MAX_SOCKETS, MAX_SOCKETS) < 0)
        return mlq_err_set(err, MLQ_EIO, "cannot set up ZeroMQ: %s", zmq_strerror(zmq_errno()));
    return make_keys(e, err);
}

void benv_fini(struct benv *e)
{
    benv_run_end(e, false);
    if (e->zctx)
        zmq_ctx_term(e->zctx);
    e->zctx = NULL;
    explicit_bzero(&e->admin_kp, sizeof e->admin_kp);
    if (!e->keep && e->root[0])
        bproc_rmtree(e->root, NULL);
    else if (e->root[0])
        fprintf(stderr, "# kept %s\n", e->root);
    e->root[0] = '\0';
}

bool benv_stopped(const struct benv *e)
{
    return e->stop && *e->stop;
}

/* Asks `workers`; 0 once the scheduler answers. */
static int probe(struct benv *e, struct mlq_msg *reply, struct mlq_err *err)
{
    struct mlq_msg req = {.type = MLQ_MSG_WORKERS, .rid = 1};
    struct mlq_curve curve;
    if (!e->secure)
        return mlq_transport_request(e->zctx, e->endpoint, &req, reply, PROBE_TIMEOUT_MS, err);
    memcpy(curve.server_public, e->server_pub, sizeof curve.server_public);
    memcpy(curve.own_public, e->admin_kp.public_z85, sizeof curve.own_public);
    memcpy(curve.own_secret, e->admin_kp.secret_z85, sizeof curve.own_secret);
    int rc = mlq_transport_request_curve(e->zctx, e->endpoint, &curve, &req, reply,
                                         PROBE_TIMEOUT_MS, err);
    explicit_bzero(&curve, sizeof curve);
    return rc;
}

/* Waits for the scheduler on the current endpoint; MLQ_EIO when it exited
 * (most likely its port was taken meanwhile). */
static int wait_ready(struct benv *e, struct mlq_err *err)
{
    int64_t deadline = bproc_now_ns() + (int64_t)READY_TIMEOUT_MS * 1000000;
    while (bproc_now_ns() < deadline && !benv_stopped(e)) {
        if (!bproc_alive(e->sched_pid))
            return mlq_err_set(err, MLQ_EIO, "mlq-scheduler exited at start (see %s/scheduler.log)",
                               e->run_dir);
        struct mlq_msg reply;
        if (probe(e, &reply, NULL) == 0) {
            mlq_proto_msg_free(&reply);
            return 0;
        }
    }
    return mlq_err_set(err, MLQ_EUNREACH, "mlq-scheduler did not answer within %d ms",
                       READY_TIMEOUT_MS);
}

static int spawn_scheduler(struct benv *e, struct mlq_err *err)
{
    int port = bproc_free_port(err);
    if (port < 0)
        return port;
    snprintf(e->endpoint, sizeof e->endpoint, "tcp://127.0.0.1:%d", port);
    char bin[BENV_PATH + 32], state[BENV_PATH + 64], log[BENV_PATH + 64];
    char key[BENV_PATH + 64], admin[BENV_PATH + 160], worker[BENV_PATH + 160];
    snprintf(bin, sizeof bin, "%s/mlq-scheduler", e->bin_dir);
    snprintf(state, sizeof state, "%s/state", e->run_dir);
    snprintf(log, sizeof log, "%s/scheduler.log", e->run_dir);
    snprintf(key, sizeof key, "%s/server.key", e->keydir);
    snprintf(admin, sizeof admin, "admin:%s:%s/admin.key.pub", e->owner, e->keydir);
    snprintf(worker, sizeof worker, "worker:" BENV_WORKER ":%s/worker.key.pub", e->keydir);
    /* loopback, with keys or plain; jobs of root may run (benchmarks run as
     * root) */
    char *args[] = {
        bin,     "--listen", e->endpoint,   "--state-dir", state,         "--allow-root-jobs",
        "--key", key,        "--authorize", admin,         "--authorize", worker,
        NULL,    NULL,       NULL,          NULL};
    size_t nargs = sizeof args / sizeof args[0] - 4;
    if (!e->secure) {
        nargs = 7;
        args[6] = "--insecure"; /* in place of the key options */
    }
    if (e->lab) { /* the default log level (info) otherwise */
        args[nargs++] = "--log-level";
        args[nargs++] = "warn";
    }
    if (e->placement) {
        args[nargs++] = "--placement";
        args[nargs++] = (char *)e->placement;
    }
    /* The wrapper's words (e.g. valgrind --tool=callgrind), then the
     * scheduler's own. */
    char words[BENV_PATH], *argv[WRAP_WORDS + sizeof args / sizeof args[0] + 1];
    size_t n = 0;
    snprintf(words, sizeof words, "%s", e->sched_wrap ? e->sched_wrap : "");
    for (char *save = NULL, *w = strtok_r(words, " ", &save); w && n < WRAP_WORDS;
         w = strtok_r(NULL, " ", &save))
        argv[n++] = w;
    for (size_t i = 0; i < nargs; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return bproc_spawn(argv, log, &e->sched_pid, err);
}

int benv_run_start(struct benv *e, struct mlq_err *err)
{
    snprintf(e->run_dir, sizeof e->run_dir, "%s/run-%d", e->root, ++e->run_no);
    if (mkdir(e->run_dir, 0700) < 0)
        return mlq_err_set(err, MLQ_EIO, "mkdir %s: %s", e->run_dir, strerror(errno));
    int rc = MLQ_EIO;
    for (int i = 0; i < START_TRIES && rc == MLQ_EIO; i++) {
        rc = spawn_scheduler(e, err);
        if (rc == 0)
            rc = wait_ready(e, err);
        if (rc < 0) {
            bproc_stop(e->sched_pid, STOP_GRACE_MS);
            e->sched_pid = 0;
        }
    }
    e->run_start_ns = bproc_now_ns();
    return rc;
}

int benv_check_alive(struct benv *e, struct mlq_err *err)
{
    if (!bproc_alive(e->sched_pid))
        return mlq_err_set(err, MLQ_EIO, "mlq-scheduler has exited");
    return 0;
}

static void dump_tail(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    char *lines[TAIL_LINES] = {0};
    char buf[1024];
    int n = 0;
    while (fgets(buf, sizeof buf, f)) {
        free(lines[n % TAIL_LINES]);
        lines[n++ % TAIL_LINES] = strdup(buf);
    }
    fclose(f);
    fprintf(stderr, "----- %s (last %d lines) -----\n", path, TAIL_LINES);
    for (int i = n > TAIL_LINES ? n - TAIL_LINES : 0; i < n; i++)
        fputs(lines[i % TAIL_LINES] ? lines[i % TAIL_LINES] : "", stderr);
    for (int i = 0; i < TAIL_LINES; i++)
        free(lines[i]);
}

/* Where the scheduler's time went, roughly: CPU (user, system) against
 * wall time, and what it wrote (nearly all of it SQLite's WAL). */
static void note_usage(const struct benv *e)
{
    int64_t user, sys, wchar, syscw;
    if (e->sched_pid <= 0 || bproc_cpu_ms(e->sched_pid, &user, &sys, NULL) < 0 ||
        bproc_io(e->sched_pid, &wchar, &syscw, NULL) < 0)
        return;
    double wall = (double)(bproc_now_ns() - e->run_start_ns) / 1e9;
    fprintf(stderr,
            "# scheduler: CPU %.2f s user + %.2f s system in %.2f s (%.0f %%); "
            "wrote %.1f MiB in %lld calls\n",
            (double)user / 1e3, (double)sys / 1e3, wall, (double)(user + sys) / 10.0 / wall,
            (double)wchar / 1048576.0, (long long)syscw);
}

void benv_run_end(struct benv *e, bool failed)
{
    if (!e->run_dir[0])
        return;
    note_usage(e);
    bproc_stop(e->worker_pid, STOP_GRACE_MS);
    bproc_stop(e->sched_pid, STOP_GRACE_MS);
    e->worker_pid = e->sched_pid = 0;
    char path[BENV_PATH + 64];
    if (failed) {
        snprintf(path, sizeof path, "%s/scheduler.log", e->run_dir);
        dump_tail(path);
        snprintf(path, sizeof path, "%s/worker.log", e->run_dir);
        dump_tail(path);
    }
    if (!e->keep)
        bproc_rmtree(e->run_dir, NULL);
    e->run_dir[0] = '\0';
}

/* True when the `workers` reply lists name as UP. */
static bool worker_up(const struct mlq_msg *m, const char *name)
{
    for (uint32_t i = 0; i < m->u.worker_list.nworkers; i++) {
        const struct mlq_workerinfo *w = &m->u.worker_list.workers[i];
        if (w->name && strcmp(w->name, name) == 0 && w->state && strcmp(w->state, "UP") == 0)
            return true;
    }
    return false;
}

static int wait_worker(struct benv *e, const char *name, struct mlq_err *err)
{
    int64_t deadline = bproc_now_ns() + (int64_t)READY_TIMEOUT_MS * 1000000;
    while (bproc_now_ns() < deadline && !benv_stopped(e)) {
        if (!bproc_alive(e->worker_pid))
            return mlq_err_set(err, MLQ_EIO, "mlq-worker exited at start (see %s/worker.log)",
                               e->run_dir);
        struct mlq_msg reply;
        if (probe(e, &reply, NULL) == 0) {
            bool up = reply.type == MLQ_MSG_WORKER_LIST && worker_up(&reply, name);
            mlq_proto_msg_free(&reply);
            if (up)
                return 0;
        }
        bproc_sleep_us(20000);
    }
    return mlq_err_set(err, MLQ_EUNREACH, "worker %s did not come up within %d ms", name,
                       READY_TIMEOUT_MS);
}

int benv_worker_start(struct benv *e, const char *name, struct mlq_err *err)
{
    char bin[BENV_PATH + 32], spool[BENV_PATH + 64], log[BENV_PATH + 64];
    char key[BENV_PATH + 64], server[BENV_PATH + 64];
    snprintf(bin, sizeof bin, "%s/mlq-worker", e->bin_dir);
    snprintf(spool, sizeof spool, "%s/spool", e->run_dir);
    snprintf(log, sizeof log, "%s/worker.log", e->run_dir);
    snprintf(key, sizeof key, "%s/worker.key", e->keydir);
    snprintf(server, sizeof server, "%s/server.key.pub", e->keydir);
    /* a worker running as root refuses --insecure: keys in a secure run */
    char *argv[] = {
        bin,    "--scheduler", e->endpoint, "--name",          (char *)name, "--cpus",
        "1",    "--mem",       "1G",        "--spool",         spool,        "--log-level",
        "warn", "--key",       key,         "--scheduler-key", server,       NULL};
    if (!e->secure) {
        argv[13] = "--insecure";
        argv[14] = NULL;
    }
    int rc = bproc_spawn(argv, log, &e->worker_pid, err);
    return rc < 0 ? rc : wait_worker(e, name, err);
}

int benv_dealer(struct benv *e, void **sock, struct mlq_err *err)
{
    if (e->secure)
        return mlq_transport_dealer_curve(e->zctx, e->endpoint, e->server_pub, &e->admin_kp, sock,
                                          err);
    return mlq_transport_dealer(e->zctx, e->endpoint, sock, err);
}

void benv_close(void **sock)
{
    if (!sock || !*sock)
        return;
    int zero = 0;
    zmq_setsockopt(*sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(*sock);
    *sock = NULL;
}

void benv_load_keys(const struct benv *e, struct bload_opts *o)
{
    o->server_pub = e->secure ? e->server_pub : NULL;
    o->kp = e->secure ? &e->admin_kp : NULL;
}

int benv_sim_create(struct benv *e, struct bsim_opts *o, struct bsim **sim, struct mlq_err *err)
{
    void *admin = NULL;
    o->admin = NULL;
    o->server_pub = e->secure ? e->server_pub : NULL;
    int rc = e->secure ? benv_dealer(e, &admin, err) : 0;
    o->admin = admin;
    if (rc == 0)
        rc = bsim_create(e->zctx, o, sim, err);
    benv_close(&admin);
    o->admin = NULL;
    return rc;
}

void benv_spec(const struct benv *e, struct mlq_jobspec *spec, char **argv, uint32_t argc,
               int64_t cpus_m, int64_t mem)
{
    *spec = (struct mlq_jobspec){
        .name = NULL,
        .owner = (char *)e->owner,
        .argv = argv,
        .argc = argc,
        .workdir = (char *)e->root,
        .cpus_m = cpus_m,
        .mem = mem,
    };
}

int benv_count_state(void *sock, enum mlq_job_state state, uint32_t limit, uint32_t *n,
                     struct mlq_err *err)
{
    /* the clock makes a rid no earlier request on this socket used */
    struct mlq_msg req = {.type = MLQ_MSG_JOBS, .rid = (uint64_t)bproc_now_ns()}, reply;
    req.u.jobs.state = (int32_t)state;
    req.u.jobs.limit = limit;
    int rc = bload_request(sock, &req, &reply, 30000, err);
    if (rc < 0)
        return rc;
    *n = reply.type == MLQ_MSG_JOB_LIST ? reply.u.job_list.njobs : 0;
    mlq_proto_msg_free(&reply);
    return 0;
}

int benv_job_state(void *sock, const char *id, enum mlq_job_state *st, struct mlq_err *err)
{
    char *ids[1] = {(char *)id};
    struct mlq_msg req = {.type = MLQ_MSG_JOBS, .rid = (uint64_t)bproc_now_ns()}, reply;
    req.u.jobs.ids = ids;
    req.u.jobs.nids = 1;
    req.u.jobs.state = -1;
    int rc = bload_request(sock, &req, &reply, 30000, err);
    if (rc < 0)
        return rc;
    if (reply.type != MLQ_MSG_JOB_LIST || reply.u.job_list.njobs != 1)
        rc = mlq_err_set(err, MLQ_EPROTO, "jobs %.8s: unexpected %s", id,
                         mlq_proto_type_name(reply.type));
    else
        *st = reply.u.job_list.jobs[0].state;
    mlq_proto_msg_free(&reply);
    return rc;
}
