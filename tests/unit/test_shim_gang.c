/* shim, gang node parts: runs the real supervisor (mlq_shim_run) in a
 * forked child on an attempt folder whose assign carries a gang, and checks
 * what the job sees: every rendezvous variable (which --env cannot forge),
 * WORLD_SIZE with and without GPUs, the hostfile (its lines in rank order,
 * its mode), nothing of it for an
 * ordinary job; node 0's port check (a port held by another socket is a
 * start failure "rendezvous port P is in use" and the job never runs; other
 * ranks do not check); as root, a job running as its owner reads its own
 * copy of the hostfile (the spool is not its to enter); and gangenv's --rendezvous-ports parser.
 * Every wait is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "fsutil.h"
#include "gangenv.h"
#include "shim.h"
#include "shim_fixture.h"
#include "spool.h"
#include "testdir.h"
#include "testuser.h"

struct fx {
    char dir[64];
    pid_t shim;
    int held_fd;   /* a listening socket holding a port, -1 when none */
    char user[32]; /* throwaway account made by make_user, "" when none */
    uid_t uid;
    gid_t gid;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (testdir_make(f->dir, sizeof f->dir, "gang") < 0)
        return -1;
    f->held_fd = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    shim_fx_stop(&f->shim);
    if (f->held_fd >= 0)
        close(f->held_fd);
    testdir_remove(f->dir);
    testuser_remove(f->user);
    free(f);
    return 0;
}

/* A gang of three: node 0 at 10.0.0.1, node 1 whose worker advertised no
 * address (the scheduler sends its worker name), node 2 at 10.0.0.3. */
static struct mlq_ganghost hosts[] = {
    {.worker = "w1", .addr = "10.0.0.1", .gpus = 2},
    {.worker = "w2", .addr = "w2", .gpus = 2},
    {.worker = "w3", .addr = "10.0.0.3", .gpus = 2},
};

struct job {
    const char *script; /* run with /bin/sh -c */
    char **env;
    uint32_t envc;
    int32_t gpus; /* per node; gpu ids 0..gpus-1 */
    int32_t rank; /* -1: not a gang */
    int32_t port;
    const char *owner;   /* NULL: the account running the test */
    const char *workdir; /* NULL: the attempt folder */
};

/* Writes j's assign: /bin/sh -c script, attempt 2, a 2 s kill grace. */
static void write_assign(struct fx *f, const struct job *j)
{
    char *argv[] = {"/bin/sh", "-c", (char *)j->script};
    int32_t ids[] = {0, 1, 2, 3};
    struct mlq_ganginfo gang = {.nnodes = 3,
                                .rank = j->rank,
                                .master_addr = "10.0.0.1",
                                .master_port = j->port,
                                .hosts = hosts,
                                .nhosts = 3};
    struct shim_fx_job sj = {.argv = argv,
                             .argc = 3,
                             .env = j->env,
                             .envc = j->envc,
                             .workdir = j->workdir,
                             .gpus = ids,
                             .ngpus = (uint32_t)j->gpus,
                             .attempt = 2,
                             .grace_ms = 2000,
                             .owner = j->owner,
                             .gang = j->rank >= 0 ? &gang : NULL};
    if (j->rank >= 0) {
        for (int i = 0; i < 3; i++)
            hosts[i].gpus = j->gpus;
    }
    shim_fx_write_assign(f->dir, &sj);
}

static struct mlq_status status_of(struct fx *f)
{
    return shim_fx_status(f->dir);
}

/* A listening socket on a free loopback-and-any port; returns the port. */
static int32_t hold_port(struct fx *f)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
    socklen_t len = sizeof a;
    f->held_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->held_fd >= 0);
    assert_int_equal(bind(f->held_fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(f->held_fd, 1), 0);
    assert_int_equal(getsockname(f->held_fd, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

/* A port free right now (bound, read, released). */
static int32_t free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_gang_environment(void **state)
{
    struct fx *f = *state;
    char *env[] = {"MASTER_PORT=1", "WORLD_SIZE=99", "MLQ_NODE_RANK=7", "KEEP=me"};
    struct job j = {.script = "echo \"$MLQ_NNODES|$MLQ_NODE_RANK|$MLQ_MASTER_ADDR|"
                              "$MLQ_MASTER_PORT|$MASTER_ADDR|$MASTER_PORT|$NODE_RANK|"
                              "$WORLD_SIZE|$MLQ_HOSTFILE|$MLQ_JOB_ID|$MLQ_ATTEMPT|"
                              "$CUDA_VISIBLE_DEVICES|$KEEP\"",
                    .env = env,
                    .envc = 4,
                    .gpus = 2,
                    .rank = 1,
                    .port = 29417};
    write_assign(f, &j);
    shim_fx_run(&f->shim, f->dir, 0, 0);
    char *out = testdir_read(f->dir, "stdout"), want[512];
    snprintf(want, sizeof want, "3|1|10.0.0.1|29417|10.0.0.1|29417|1|6|%s/hostfile|%s|2|0,1|me\n",
             f->dir, SHIM_FX_JOB_ID);
    assert_string_equal(out, want);
    free(out);
    assert_int_equal(status_of(f).exit_code, 0);
}

static void test_hostfile(void **state)
{
    struct fx *f = *state;
    struct job j = {.script = "cat \"$MLQ_HOSTFILE\"", .gpus = 2, .rank = 2, .port = 29400};
    write_assign(f, &j);
    shim_fx_run(&f->shim, f->dir, 0, 0);
    static const char want[] = "10.0.0.1 slots=2\nw2 slots=2\n10.0.0.3 slots=2\n";
    char *out = testdir_read(f->dir, "stdout"), *file = testdir_read(f->dir, MLQ_GANGENV_HOSTFILE);
    assert_string_equal(out, want);
    assert_non_null(file);
    assert_string_equal(file, want);
    free(out);
    free(file);
    char path[128];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", f->dir, MLQ_GANGENV_HOSTFILE);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);
}

/* Without GPUs a node runs one process: WORLD_SIZE is the node count and
 * each host has one slot. */
static void test_no_gpus(void **state)
{
    struct fx *f = *state;
    struct job j = {
        .script = "echo \"$WORLD_SIZE\"; cat \"$MLQ_HOSTFILE\"", .rank = 1, .port = 29400};
    write_assign(f, &j);
    shim_fx_run(&f->shim, f->dir, 0, 0);
    char *out = testdir_read(f->dir, "stdout");
    assert_string_equal(out, "3\n10.0.0.1 slots=1\nw2 slots=1\n10.0.0.3 slots=1\n");
    free(out);
}

static void test_plain_job_has_no_gang(void **state)
{
    struct fx *f = *state;
    struct job j = {.script = "echo \"${MLQ_NNODES-unset}|${MASTER_ADDR-unset}|"
                              "${WORLD_SIZE-unset}|${MLQ_HOSTFILE-unset}\"",
                    .rank = -1};
    write_assign(f, &j);
    unsetenv("MASTER_ADDR");
    unsetenv("WORLD_SIZE");
    shim_fx_run(&f->shim, f->dir, 0, 0);
    char *out = testdir_read(f->dir, "stdout");
    assert_string_equal(out, "unset|unset|unset|unset\n");
    free(out);
    assert_null(testdir_read(f->dir, MLQ_GANGENV_HOSTFILE));
}

static void test_rank0_port_in_use(void **state)
{
    struct fx *f = *state;
    int32_t port = hold_port(f);
    struct job j = {.script = "echo ran", .rank = 0, .port = port};
    write_assign(f, &j);
    shim_fx_run(&f->shim, f->dir, 0, 0);
    struct mlq_status st = status_of(f);
    char want[64];
    snprintf(want, sizeof want, "rendezvous port %d is in use", (int)port);
    assert_int_equal(st.outcome, MLQ_OUT_START_FAILED);
    assert_string_equal(st.detail, want);
    assert_int_equal(st.start_ms, 0); /* it never ran */
    char *out = testdir_read(f->dir, "stdout");
    assert_true(!out || !strstr(out, "ran"));
    free(out);
}

static void test_rank0_port_free_runs(void **state)
{
    struct fx *f = *state;
    struct job j = {.script = "echo \"ran $MLQ_MASTER_PORT\"", .rank = 0, .port = free_port()};
    write_assign(f, &j);
    shim_fx_run(&f->shim, f->dir, 0, 0);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_EXITED);
    assert_int_equal(st.exit_code, 0);
    char *out = testdir_read(f->dir, "stdout"), want[32];
    snprintf(want, sizeof want, "ran %d\n", (int)j.port);
    assert_string_equal(out, want);
    free(out);
}

/* Only node 0 hosts the rendezvous: another rank on the same machine as a
 * busy port is not its business. */
static void test_other_rank_does_not_check(void **state)
{
    struct fx *f = *state;
    struct job j = {.script = "echo ran", .rank = 1};
    j.port = hold_port(f);
    write_assign(f, &j);
    shim_fx_run(&f->shim, f->dir, 0, 0);
    assert_int_equal(status_of(f).outcome, MLQ_OUT_EXITED);
    char *out = testdir_read(f->dir, "stdout");
    assert_string_equal(out, "ran\n");
    free(out);
}

static void test_port_check_direct(void **state)
{
    struct fx *f = *state;
    struct mlq_err e;
    int32_t port = hold_port(f);
    assert_int_equal(mlq_gangenv_port_check(port, &e), MLQ_ESTATE);
    close(f->held_fd);
    f->held_fd = -1;
    assert_int_equal(mlq_gangenv_port_check(port, &e), 0);
    assert_int_equal(mlq_gangenv_port_check(0, &e), MLQ_EINVAL);
    assert_int_equal(mlq_gangenv_port_check(65536, &e), MLQ_EINVAL);
}

static void make_user(struct fx *f)
{
    testuser_make("mlqgang", f->user, sizeof f->user, &f->uid, &f->gid);
}

/* As root the job runs as its owner, who cannot enter the spool (0700
 * here): MLQ_HOSTFILE is the owner's own copy elsewhere, removed once the
 * job has ended; the spool keeps its own. */
static void test_hostfile_as_owner(void **state)
{
    struct fx *f = *state;
    make_user(f);
    assert_int_equal(chmod(f->dir, 0700), 0);
    struct job j = {.script = "cat \"$MLQ_HOSTFILE\" && echo \"$MLQ_HOSTFILE\" && id -u",
                    .gpus = 1,
                    .rank = 1,
                    .port = 29400,
                    .owner = f->user,
                    .workdir = "/tmp"};
    write_assign(f, &j);
    shim_fx_run(&f->shim, f->dir, 0, 0);
    assert_int_equal(status_of(f).exit_code, 0);
    static const char hosts_text[] = "10.0.0.1 slots=1\nw2 slots=1\n10.0.0.3 slots=1\n";
    char *out = testdir_read(f->dir, "stdout"),
         *spool_copy = testdir_read(f->dir, MLQ_GANGENV_HOSTFILE);
    assert_non_null(out);
    assert_memory_equal(out, hosts_text, strlen(hosts_text));
    char path[256] = "";
    long uid = -1;
    assert_int_equal(sscanf(out + strlen(hosts_text), "%255s %ld", path, &uid), 2);
    assert_int_equal(uid, (long)f->uid);
    assert_true(strncmp(path, f->dir, strlen(f->dir)) != 0); /* not in the spool */
    assert_int_equal(access(path, F_OK), -1);                /* removed with its folder */
    *strrchr(path, '/') = '\0';
    assert_int_equal(access(path, F_OK), -1);
    assert_string_equal(spool_copy, hosts_text);
    free(out);
    free(spool_copy);
}

static void test_parse_ports(void **state)
{
    (void)state;
    int32_t lo = 0, hi = 0;
    struct mlq_err e;
    assert_int_equal(mlq_gangenv_parse_ports("29400-29499", &lo, &hi, &e), 0);
    assert_int_equal(lo, 29400);
    assert_int_equal(hi, 29499);
    assert_int_equal(mlq_gangenv_parse_ports("5000", &lo, &hi, &e), 0);
    assert_int_equal(lo, 5000);
    assert_int_equal(hi, 5000);
    assert_int_equal(mlq_gangenv_parse_ports("1-65535", &lo, &hi, &e), 0);
    static const char *const bad[] = {"",      "-",    "0-10", "10-5",   "1-65536",
                                      "a-b",   "-5",   "5-",   "5--6",   "+5-6",
                                      "5-6-7", " 5-6", "5-6 ", "123456", "29400-29499x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lo = hi = -1;
        assert_int_equal(mlq_gangenv_parse_ports(bad[i], &lo, &hi, &e), MLQ_EINVAL);
        assert_int_equal(lo, -1); /* untouched on failure */
    }
    assert_non_null(strstr((mlq_gangenv_parse_ports("10-5", &lo, &hi, &e), e.msg), "above"));
}

static void test_world_size(void **state)
{
    (void)state;
    assert_int_equal(mlq_gangenv_world_size(4, 8), 32);
    assert_int_equal(mlq_gangenv_world_size(4, 0), 4);
    assert_int_equal(mlq_gangenv_world_size(256, 64), 16384);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ports),
        cmocka_unit_test(test_world_size),
        cmocka_unit_test_setup_teardown(test_port_check_direct, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gang_environment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostfile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_gpus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plain_job_has_no_gang, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rank0_port_in_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rank0_port_free_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_rank_does_not_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostfile_as_owner, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
