/* shim: see shim.h.
 *
 * Signals are never handled asynchronously here: SIGCHLD, SIGTERM, SIGINT and
 * SIGHUP are blocked and collected with sigtimedwait(), so the supervision
 * loop is plain sequential code driven by three deadlines on CLOCK_MONOTONIC
 * (warning signal, time limit, SIGKILL after the grace) and the worker's
 * lease on CLOCK_BOOTTIME (lease.h).
 *
 * The job is every descendant of the shim (jobtree.h): termination signals go
 * to all of them, not only to the main process's group, and the status is
 * written only once none is left, so the job's resources (GPUs) are really
 * free when the worker reports the outcome.
 *
 * Identity: a shim running as root runs the job as the Unix account named
 * by spec.owner. The account is looked up before the fork (so "no such
 * account" is a start failure, not an exit code), the job's log files are
 * given to it, and the forked child drops root in the one safe order:
 * setgid, setgroups (the account's groups, looked up before the fork, while
 * still root), setuid, each checked, then checks
 * that root cannot be regained. The shim itself stays root so that it can
 * still signal every process of the job and write the status. What goes
 * wrong in the child up to and including the exec (the switch, the working
 * directory, a command that is not there or may not be run) comes back over
 * a close-on-exec pipe as a start failure, never as an exit code 126/127
 * that the job itself could have chosen. */
#include "shim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cglimit.h"
#include "container.h"
#include "clock.h"
#include "fsutil.h"
#include "gangenv.h"
#include "gpumig.h"
#include "jobenv.h"
#include "jobout.h"
#include "jobtree.h"
#include "jobusage.h"
#include "lease.h"
#include "res.h"
#include "shimrun.h"
#include "shimstart.h"
#include "spool.h"
#include "startwords.h"

extern char **environ;

#define DEFAULT_GRACE_MS    30000
#define MAX_KILL_PAUSE      100 /* ms between SIGKILL rounds at the end */
#define MAX_WAIT_MS         1000
#define WORKER_ENV          "MLQ_WORKER"      /* the worker's name, set by mlq-worker */
#define WORKER_ADDR_ENV     "MLQ_WORKER_ADDR" /* its advertised address, when it has one */
#define STATUS_RETRY_MIN_MS 50   /* first pause after the status could not be written */
#define STATUS_RETRY_MAX_MS 2000 /* the pause doubles up to this */
#define PUMP_MS             50   /* longest wait for output while copying it */

struct shim {
    const char *dir;
    struct mlq_msg assign;
    char **argv;           /* NULL-terminated copy of the spec's pointers */
    struct mlq_jobenv env; /* what the job runs with (jobenv.h) */
    char **cargv;          /* a container job: the runtime's command line (container.h) */
    int out_fd, err_fd;
    struct mlq_jobout out; /* -o/-e files and their pipes (jobout.h) */
    /* The account the job runs as, when the shim is root (drop). */
    bool drop;
    uid_t uid;
    gid_t gid;
    char *user, *home, *shell; /* the job's account (owned) */
    gid_t *groups;             /* supplementary groups of the account (owned) */
    int ngroups;
    struct mlq_jobtree *tree;
    struct mlq_jobusage *usage; /* cgroup limits, usage; NULL when not set up */
    int64_t grace_ms, limit_ms, warn_before_ms;
    int warn_signal;
    int64_t preempt_grace_ms; /* SIGUSR1 (a preemption): signal to SIGKILL */
    pid_t job;
    /* Monotonic deadlines, -1 when none (or already acted on). */
    int64_t warn_at, limit_at, kill_at;
    bool terminating; /* SIGTERM sent to the job */
    bool timed_out;
    /* The worker's lease (lease.h): CLOCK_BOOTTIME deadline last read, -1
     * when the spool has no lease file; fenced once it ran out. */
    int64_t lease_until;
    bool fenced;
    int last_signal;              /* the last signal the shim sent to the whole job */
    char gang_tmp[MLQ_MAX_PATH];  /* private hostfile copy (gangenv.h); "" none */
    char gang_path[MLQ_MAX_PATH]; /* the hostfile the job reads; "" not a gang */
    json_t *manifest;             /* the run manifest (runmanifest.h); NULL none */
    struct mlq_status st;
};

/* ---- environment ---- */

/* The job's environment, from the one builder (jobenv.h). When the shim is
 * not root the job runs as the shim's own account. */
static int build_env(struct shim *s, struct mlq_err *err)
{
    struct mlq_jobenv_in in = {.assign = &s->assign,
                               .user = s->user,
                               .home = s->home,
                               .shell = s->shell,
                               .worker = getenv(WORKER_ENV),
                               .worker_addr = getenv(WORKER_ADDR_ENV),
                               .gang_hostfile = s->gang_path[0] ? s->gang_path : NULL,
                               .cuda_names = getenv(MLQ_GPUMIG_CUDA_ENV)};
    return mlq_jobenv_build(&in, &s->env, err);
}

/* ---- gang node parts ---- */

/* The gang this attempt is a node part of; NULL for an ordinary job. */
static const struct mlq_ganginfo *assign_gang(const struct shim *s)
{
    return s->assign.u.assign.gang.nnodes > 0 ? &s->assign.u.assign.gang : NULL;
}

static void start_failed(struct shim *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The hostfile in the attempt folder, and a private copy that the job can
 * read when it runs as another account (the spool is the worker's alone);
 * the environment names the one the job reads (build_env). */
static int prepare_gang(struct shim *s)
{
    const struct mlq_ganginfo *g = assign_gang(s);
    int32_t gpus = s->assign.u.assign.spec.gpus;
    char path[MLQ_MAX_PATH];
    struct mlq_err e;
    if (!g)
        return 0;
    int rc = mlq_gangenv_write_hostfile(s->dir, g, gpus, path, sizeof path, &e);
    if (rc == 0 && s->drop && s->uid != geteuid()) {
        rc = mlq_gangenv_write_private(g, gpus, NULL, s->uid, s->gid, path, sizeof path, &e);
        if (rc == 0)
            snprintf(s->gang_tmp, sizeof s->gang_tmp, "%s", path);
    }
    if (rc < 0) {
        start_failed(s, "cannot write the gang's hostfile: %s", e.msg);
        return -1;
    }
    snprintf(s->gang_path, sizeof s->gang_path, "%s", path);
    return 0;
}

/* Node 0 hosts the rendezvous: checked just before the job starts, so that
 * a taken port is a clear start failure rather than a hang on every node. */
static int check_rendezvous(struct shim *s)
{
    const struct mlq_ganginfo *g = assign_gang(s);
    struct mlq_err e;
    if (!g || g->rank != 0 || mlq_gangenv_port_check(g->master_port, &e) == 0)
        return 0;
    start_failed(s, "%s", e.msg);
    return -1;
}

/* ---- preparation ---- */

static void start_failed(struct shim *s, const char *fmt, ...)
{
    char msg[MLQ_SPOOL_DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->st.outcome = MLQ_OUT_START_FAILED;
    s->st.exit_code = -1;
    s->st.end_ms = mlq_clock_wall_ms();
    mlq_spool_set_detail(&s->st, msg);
}

static int open_log(struct shim *s, const char *name)
{
    char path[MLQ_MAX_PATH];
    int n = snprintf(path, sizeof path, "%s/%s", s->dir, name);
    if (n < 0 || (size_t)n >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
}

/* ---- identity ---- */

static const char *worker_name(char *buf, size_t len)
{
    const char *w = getenv(WORKER_ENV);
    if (w && *w)
        return w;
    if (gethostname(buf, len) != 0)
        snprintf(buf, len, "?");
    buf[len - 1] = '\0';
    return buf;
}

/* Not root: the job runs as the shim's own account, whose name, home and
 * shell it gets (the uid as name, the shim's HOME, when the account has no
 * passwd entry, as in some containers). */
static int own_account(struct shim *s)
{
    char num[32];
    struct passwd *pw = getpwuid(geteuid());
    snprintf(num, sizeof num, "%u", (unsigned)geteuid());
    const char *home = pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : getenv("HOME");
    s->user = strdup(pw && pw->pw_name && *pw->pw_name ? pw->pw_name : num);
    s->home = strdup(home && *home ? home : "/");
    s->shell = strdup(pw && pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh");
    if (s->user && s->home && s->shell)
        return 0;
    start_failed(s, "out of memory");
    return -1;
}

/* As root: the job's account from spec.owner (root only when the scheduler
 * allows it). Not root: the job runs as the shim's own user. */
static int resolve_account(struct shim *s)
{
    const char *owner = s->assign.u.assign.spec.owner;
    char host[MLQ_MAX_NAME + 1];
    if (geteuid() != 0)
        return own_account(s);
    errno = 0;
    struct passwd *pw = owner && *owner ? getpwnam(owner) : NULL;
    if (!pw && errno != 0 && errno != ENOENT && errno != ESRCH) {
        start_failed(s, "cannot look up Unix account %.128s on worker %s: %s", owner ? owner : "",
                     worker_name(host, sizeof host), strerror(errno));
        return -1;
    }
    if (!pw) {
        start_failed(s, "no Unix account %.128s on worker %s", owner ? owner : "",
                     worker_name(host, sizeof host));
        return -1;
    }
    if (pw->pw_uid == 0 && !s->assign.u.assign.allow_root) {
        start_failed(s,
                     "refusing to run as root: account %.128s is uid 0 on worker %s and the "
                     "scheduler does not allow root jobs (--allow-root-jobs)",
                     owner, worker_name(host, sizeof host));
        return -1;
    }
    s->uid = pw->pw_uid;
    s->gid = pw->pw_gid;
    s->user = strdup(pw->pw_name);
    s->home = strdup(pw->pw_dir && *pw->pw_dir ? pw->pw_dir : "/");
    s->shell = strdup(pw->pw_shell && *pw->pw_shell ? pw->pw_shell : "/bin/sh");
    if (!s->user || !s->home || !s->shell) {
        start_failed(s, "out of memory");
        return -1;
    }
    /* The groups are looked up here, not in the forked child: the child then
     * only makes system calls. */
    int n = 32;
    for (int tries = 0; tries < 4; tries++) {
        gid_t *g = realloc(s->groups, (size_t)n * sizeof *g);
        if (!g)
            break;
        s->groups = g;
        int want = n;
        if (getgrouplist(s->user, s->gid, s->groups, &want) >= 0) {
            s->ngroups = want;
            s->drop = true;
            return 0;
        }
        n = want > n ? want : n * 2;
    }
    start_failed(s, "cannot look up the groups of %s on worker %s", s->user,
                 worker_name(host, sizeof host));
    return -1;
}

/* The job writes its logs through fds the shim opened as root: they become
 * the account's, so that its output is its own. */
static int give_logs(struct shim *s)
{
    if (!s->drop)
        return 0;
    if (fchown(s->out_fd, s->uid, s->gid) == 0 && fchown(s->err_fd, s->uid, s->gid) == 0)
        return 0;
    start_failed(s, "cannot give the job's log files to %s: %s", s->user, strerror(errno));
    return -1;
}

/* Time limits from the spec; the spec's kill grace wins over the assign's
 * (older schedulers only sent the latter). */
static void read_limits(struct shim *s)
{
    const struct mlq_jobspec *spec = &s->assign.u.assign.spec;
    s->grace_ms = spec->kill_grace_ms > 0 ? spec->kill_grace_ms : s->assign.u.assign.kill_grace_ms;
    if (s->grace_ms <= 0)
        s->grace_ms = DEFAULT_GRACE_MS;
    if (s->grace_ms > MLQ_MAX_TIME_MS)
        s->grace_ms = MLQ_MAX_TIME_MS;
    s->limit_ms =
        spec->time_limit_ms > 0 && spec->time_limit_ms <= MLQ_MAX_TIME_MS ? spec->time_limit_ms : 0;
    s->warn_signal = spec->warn_signal > 0 && spec->warn_signal < NSIG ? spec->warn_signal : 0;
    s->warn_before_ms = spec->warn_before_ms > 0 ? spec->warn_before_ms : 0;
    s->preempt_grace_ms = spec->preempt_grace_ms > 0 && spec->preempt_grace_ms <= MLQ_MAX_TIME_MS
                              ? spec->preempt_grace_ms
                              : s->grace_ms;
}

/* The job's process tree (and cgroup, named in the spool so that the worker
 * can still end the job if this shim dies). */
static int make_tree(struct shim *s)
{
    struct mlq_err e;
    if (mlq_jobtree_create(s->assign.u.assign.attempt_id, &s->tree, &e) < 0) {
        start_failed(s, "cannot set up the job's process tree: %s", e.msg);
        return -1;
    }
    const char *cg = mlq_jobtree_cgroup(s->tree);
    if (cg && mlq_spool_write_note_volatile(s->dir, MLQ_SPOOL_CGROUP, cg, &e) < 0) {
        start_failed(s, "%s", e.msg);
        return -1;
    }
    if (mlq_jobusage_create(&s->assign, &s->usage, &e) < 0) {
        start_failed(s, "cannot hold the job to its limits: %s", e.msg);
        return -1;
    }
    char v1[3 * MLQ_MAX_PATH];
    if (mlq_jobusage_v1_note(s->usage, v1, sizeof v1) == 0 &&
        mlq_spool_write_note_volatile(s->dir, MLQ_SPOOL_CGROUP_V1, v1, &e) < 0) {
        start_failed(s, "%s", e.msg);
        return -1;
    }
    return 0;
}

/* The -o/-e files, opened as the job's account: one it cannot write is a
 * start failure of the request (no retry). */
static int open_outputs(struct shim *s)
{
    struct mlq_jobout_account acct = {s->uid, s->gid, s->groups, s->ngroups};
    char why[MLQ_SPOOL_DETAIL_MAX];
    mlq_jobout_init(&s->out, s->out_fd, s->err_fd);
    int32_t index = s->assign.u.assign.array_id[0] ? s->assign.u.assign.array_index : -1;
    if (mlq_jobout_open_spec(&s->out, &s->assign.u.assign.spec, s->assign.u.assign.job_id, index,
                             s->assign.u.assign.attempt, s->drop ? &acct : NULL, why,
                             sizeof why) == 0)
        return 0;
    start_failed(s, "%s%s%s%s", why, s->drop ? " (as " : "", s->drop ? s->user : "",
                 s->drop ? ")" : "");
    s->st.no_retry = true;
    return -1;
}

/* What the run-manifest and container steps need (shimrun.h). */
static struct mlq_shimrun shimrun(const struct shim *s)
{
    return (struct mlq_shimrun){.dir = s->dir,
                                .assign = &s->assign,
                                .ids = {.drop = s->drop,
                                        .uid = s->uid,
                                        .gid = s->gid,
                                        .groups = s->groups,
                                        .ngroups = s->ngroups,
                                        .user = s->user}};
}

static int prepare_container(struct shim *s)
{
    char why[MLQ_SPOOL_DETAIL_MAX];
    struct mlq_shimrun r = shimrun(s);
    if (mlq_shimrun_container(&r, &s->env, s->err_fd, &s->cargv, why, sizeof why) == 0)
        return 0;
    start_failed(s, "%s", why);
    return -1;
}

/* Everything that can fail before the fork; on failure s->st says why. */
static int prepare(struct shim *s)
{
    struct mlq_err e;
    if (mlq_spool_read_assign(s->dir, &s->assign, &e) < 0) {
        start_failed(s, "cannot read the attempt's assign file: %s", e.msg);
        return -1;
    }
    const struct mlq_jobspec *spec = &s->assign.u.assign.spec;
    read_limits(s);
    if (resolve_account(s) < 0)
        return -1;
    if ((s->out_fd = open_log(s, "stdout")) < 0 || (s->err_fd = open_log(s, "stderr")) < 0) {
        start_failed(s, "cannot open the job's log files in %s: %s", s->dir, strerror(errno));
        return -1;
    }
    if (give_logs(s) < 0)
        return -1;
    struct stat st;
    int werr = stat(spec->workdir, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
    if (werr != 0) {
        start_failed(s, "workdir %s: %s", spec->workdir, mlq_startwords_dir(werr));
        s->st.no_retry = true;
        return -1;
    }
    if (prepare_gang(s) < 0)
        return -1;
    if (open_outputs(s) < 0)
        return -1;
    s->argv = calloc((size_t)spec->argc + 1, sizeof *s->argv);
    struct mlq_err err = {0};
    if (!s->argv || build_env(s, &err) < 0) {
        start_failed(s, "%s", err.code == MLQ_EINVAL ? err.msg : "out of memory");
        return -1;
    }
    for (uint32_t i = 0; i < spec->argc; i++)
        s->argv[i] = spec->argv[i];
    if (prepare_container(s) < 0)
        return -1;
    return make_tree(s);
}

/* ---- run manifest ---- */

/* A missing --input is a start failure (the command never runs), which
 * the scheduler words "could not start: input PATH missing". */
static int manifest_start(struct shim *s)
{
    char missing[MLQ_MAX_PATH];
    struct mlq_shimrun r = shimrun(s);
    s->manifest = mlq_shimrun_manifest_start(&r, s->env.v, missing, sizeof missing);
    if (!missing[0])
        return 0;
    start_failed(s, "input %s missing", missing);
    s->st.no_retry = true; /* like a missing workdir: the request names it */
    return -1;
}

/* ---- the job ---- */

static int start_job(struct shim *s)
{
    s->st.start_ms = mlq_clock_wall_ms();
    int64_t start = mlq_clock_mono_ms();
    s->warn_at = s->limit_at = s->kill_at = -1;
    if (s->limit_ms > 0) {
        s->limit_at = start + s->limit_ms;
        if (s->warn_signal > 0 && s->warn_before_ms > 0) /* 0: no warning (--signal SIG) */
            s->warn_at = s->warn_before_ms < s->limit_ms ? s->limit_at - s->warn_before_ms : start;
    }
    struct mlq_shimstart in = {.tree = s->tree,
                               .usage = s->usage,
                               .out = &s->out,
                               .workdir = s->assign.u.assign.spec.workdir,
                               .argv = s->cargv ? s->cargv : s->argv,
                               .container = s->cargv != NULL,
                               .env = s->env.v,
                               .drop = s->drop,
                               .uid = s->uid,
                               .gid = s->gid,
                               .groups = s->groups,
                               .ngroups = s->ngroups,
                               .user = s->user};
    char why[MLQ_SPOOL_DETAIL_MAX];
    enum mlq_shimstart_fail fail;
    s->job = mlq_shimstart_job(&in, why, sizeof why, &fail);
    if (s->job > 0)
        return 0;
    start_failed(s, "%s", why);
    if (fail != MLQ_SHIMSTART_SHIM) { /* the child told why: it never ran */
        s->st.no_retry = fail == MLQ_SHIMSTART_FINAL;
        s->st.start_ms = 0;
    }
    return -1;
}

/* Reaps children other than the job (orphans we adopted as subreaper);
 * returns true once the job's main process has ended, leaving it unreaped. */
static bool job_ended(pid_t job)
{
    for (;;) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
            return errno != EINTR; /* ECHILD: nothing left to wait for */
        if (si.si_pid == 0)
            return false;
        if (si.si_pid == job)
            return true;
        waitpid(si.si_pid, NULL, 0);
    }
}

static int wait_signal(const sigset_t *set, int64_t timeout_ms)
{
    struct timespec ts = {.tv_sec = timeout_ms / 1000, .tv_nsec = (timeout_ms % 1000) * 1000000};
    return sigtimedwait(set, NULL, &ts);
}

/* sig to the whole job now, SIGKILL after grace_ms. */
static void terminate_with(struct shim *s, int sig, int64_t grace_ms, int64_t now)
{
    s->terminating = true;
    s->warn_at = -1;
    mlq_jobtree_signal(s->tree, sig);
    s->last_signal = sig;
    s->kill_at = now + grace_ms;
}

/* SIGTERM to the whole job now, SIGKILL after the grace. */
static void terminate(struct shim *s, int64_t now)
{
    terminate_with(s, SIGTERM, s->grace_ms, now);
}

/* A stop asked for (a cancel, a KILL from the scheduler): the job's
 * --signal when it named one without a warning time (--signal SIG: the
 * signal for preemption and cancel only), else SIGTERM; SIGKILL after the
 * kill grace. */
static void stop(struct shim *s, int64_t now)
{
    bool own = s->warn_signal > 0 && s->warn_before_ms == 0;
    terminate_with(s, own ? s->warn_signal : SIGTERM, s->grace_ms, now);
}

/* A preemption (the worker sends the shim SIGUSR1): the job's --signal
 * signal when it named one (the one it saves a checkpoint on), else
 * SIGTERM, and SIGKILL after its preemption grace. */
static void preempt(struct shim *s, int64_t now)
{
    terminate_with(s, s->warn_signal > 0 ? s->warn_signal : SIGTERM, s->preempt_grace_ms, now);
}

/* Reads the lease file again; a file that went away keeps the deadline
 * last read (it then runs out: fencing early is safe). */
static void reread_lease(struct shim *s)
{
    int64_t until = 0;
    if (mlq_lease_read_for_attempt(s->dir, &until) == 1)
        s->lease_until = until;
}

/* True when the lease has run out, after reading the file once more (the
 * worker may have renewed it since the last read). */
static bool lease_over(struct shim *s)
{
    if (s->lease_until < 0 || !mlq_lease_expired(s->lease_until, mlq_clock_boot_ms()))
        return false;
    reread_lease(s);
    return mlq_lease_expired(s->lease_until, mlq_clock_boot_ms());
}

/* Past the lease the scheduler counts the worker lost and may start the job
 * elsewhere: the job is ended as if the worker had fenced it. */
static void check_lease(struct shim *s, int64_t now)
{
    if (s->fenced || s->terminating || !lease_over(s))
        return;
    s->fenced = true;
    terminate(s, now);
}

/* Acts on a termination request and on the deadlines that have passed. */
static void on_tick(struct shim *s, int sig, int64_t now)
{
    check_lease(s, now);
    if ((sig == SIGTERM || sig == SIGINT) && !s->terminating)
        stop(s, now);
    if (sig == SIGUSR1 && !s->terminating)
        preempt(s, now);
    if (s->warn_at >= 0 && now >= s->warn_at) {
        s->warn_at = -1;
        mlq_jobtree_signal(s->tree, s->warn_signal);
    }
    if (s->limit_at >= 0 && now >= s->limit_at) {
        s->limit_at = -1;
        if (!s->terminating) {
            s->timed_out = true;
            terminate(s, now);
        }
    }
    if (s->kill_at >= 0 && now >= s->kill_at) {
        s->kill_at = -1;
        mlq_jobtree_kill(s->tree);
        s->last_signal = SIGKILL;
    }
}

/* Milliseconds until the nearest deadline, at most MAX_WAIT_MS. */
static int64_t next_wait(const struct shim *s, int64_t now)
{
    int64_t wait = MAX_WAIT_MS;
    const int64_t at[] = {s->warn_at, s->limit_at, s->kill_at};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        if (at[i] >= 0 && at[i] - now < wait)
            wait = at[i] > now ? at[i] - now : 0;
    }
    if (s->lease_until >= 0 && !s->fenced && !s->terminating) {
        int64_t left = s->lease_until - mlq_clock_boot_ms();
        if (left < wait)
            wait = left > 0 ? left : 0;
    }
    return wait;
}

/* Waits for the job's main process while acting on signals and deadlines. */
static void supervise(struct shim *s, const sigset_t *set)
{
    while (!job_ended(s->job)) {
        int64_t wait = next_wait(s, mlq_clock_mono_ms());
        int sig;
        if (mlq_jobout_active(&s->out)) { /* copy output, look for signals often */
            mlq_jobout_pump(&s->out, wait > PUMP_MS ? PUMP_MS : (int)wait);
            sig = wait_signal(set, 0);
        } else {
            sig = wait > 0 ? wait_signal(set, wait) : -1;
        }
        on_tick(s, sig, mlq_clock_mono_ms());
        mlq_jobusage_tick(s->usage, mlq_clock_mono_ms());
    }
}

static void record_outcome(struct shim *s, int ws)
{
    s->st.exit_code = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
    s->st.signal = WIFSIGNALED(ws) ? WTERMSIG(ws) : 0;
    if (s->timed_out) {
        char lim[32];
        s->st.outcome = MLQ_OUT_TIMED_OUT;
        if (s->st.signal == 0)
            s->st.signal = s->last_signal; /* it exited on its own after our signal */
        snprintf(s->st.detail, sizeof s->st.detail, "time limit of %s reached",
                 mlq_res_fmt_duration(s->limit_ms, lim, sizeof lim));
    } else {
        s->st.outcome = WIFSIGNALED(ws) ? MLQ_OUT_SIGNALED : MLQ_OUT_EXITED;
        if (WIFEXITED(ws) && s->terminating)
            s->st.signal = s->last_signal; /* it exited by itself after our SIGTERM */
    }
}

/* The main process has ended: the rest of the job gets what is left of its
 * grace when a termination is under way, then SIGKILL, round after round,
 * until no process of the job is left. */
static void finish(struct shim *s, const sigset_t *set)
{
    int ws = 0;
    while (waitpid(s->job, &ws, 0) < 0 && errno == EINTR)
        ;
    record_outcome(s, ws);
    for (int64_t now = mlq_clock_mono_ms(); s->kill_at > now; now = mlq_clock_mono_ms()) {
        mlq_shimstart_reap_all();
        if (mlq_jobtree_signal(s->tree, 0) == 0)
            break;
        if (mlq_jobout_active(&s->out)) /* the rest of the job may still write */
            mlq_jobout_pump(&s->out, 50);
        else
            wait_signal(set, s->kill_at - now < 50 ? s->kill_at - now : 50);
    }
    for (long pause = 1;; pause = pause * 2 > MAX_KILL_PAUSE ? MAX_KILL_PAUSE : pause * 2) {
        mlq_shimstart_reap_all();
        if (mlq_jobtree_kill(s->tree) == 0)
            break;
        struct timespec ts = {0, pause * 1000000L};
        nanosleep(&ts, NULL);
    }
    mlq_shimstart_reap_all();
    mlq_jobout_drain(&s->out);
    s->st.end_ms = mlq_clock_wall_ms();
    mlq_jobusage_finish(s->usage, &s->st, s->last_signal == SIGKILL);
}

/* ---- entry ---- */

/* The shim names itself in shim.pid before anything else: a worker that
 * restarts from here on re-adopts it, wherever it was forked. */
static int become_supervisor(const char *dir, sigset_t *set, struct mlq_err *err)
{
    sigemptyset(set);
    sigaddset(set, SIGCHLD);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1); /* a preemption (see preempt) */
    sigprocmask(SIG_BLOCK, set, NULL);
    setsid(); /* fails only when already a group leader: harmless */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    struct mlq_shim_id id = {.pid = getpid(), .start_ms = mlq_clock_wall_ms()};
    id.starttime = mlq_fs_pid_starttime(id.pid);
    return mlq_spool_write_shim(dir, &id, err);
}

static void shim_cleanup(struct shim *s)
{
    mlq_jobout_close(&s->out);
    if (s->out_fd >= 0)
        close(s->out_fd);
    if (s->err_fd >= 0)
        close(s->err_fd);
    mlq_jobenv_free(&s->env);
    free(s->argv);
    mlq_container_argv_free(s->cargv);
    free(s->user);
    free(s->home);
    free(s->shell);
    free(s->groups);
    if (s->gang_tmp[0])
        mlq_gangenv_remove_private(s->gang_tmp);
    mlq_jobusage_destroy(&s->usage);
    mlq_jobtree_destroy(&s->tree);
    json_decref(s->manifest);
    mlq_proto_msg_free(&s->assign);
}

/* A worker that fenced itself asked for the attempt's end: whatever the job
 * did, the outcome is "lost" with the worker's reason. */
static void apply_fence(struct shim *s)
{
    char detail[MLQ_SPOOL_DETAIL_MAX];
    if (!mlq_spool_read_note(s->dir, MLQ_SPOOL_FENCED, detail, sizeof detail))
        return;
    s->st.outcome = MLQ_OUT_LOST;
    s->st.exit_code = -1;
    s->st.signal = 0;
    mlq_spool_set_detail(&s->st, detail);
}

static bool dir_exists(const char *dir)
{
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The outcome is only ever known here: a shim that exits without writing it
 * looks "vanished" to the worker, which records the attempt as lost and the
 * job runs again. So when the status cannot be written (spool full, for
 * instance) the shim keeps the outcome in memory and stays alive, retrying
 * with a growing pause; meanwhile the worker sees a live shim and waits.
 * Only a folder that is gone (nobody will ever read it) ends the retries. */
static int write_status_retrying(const char *dir, const struct mlq_status *st, struct mlq_err *err)
{
    long pause = STATUS_RETRY_MIN_MS;
    for (bool told = false;; told = true) {
        int rc = mlq_spool_write_status(dir, st, err);
        if (rc == 0 || rc == MLQ_ETOOBIG || !dir_exists(dir))
            return rc;
        if (!told)
            fprintf(stderr, "mlq-shim: %s; outcome kept, retrying until it is written\n", err->msg);
        struct timespec ts = {pause / 1000, (pause % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        pause = pause * 2 > STATUS_RETRY_MAX_MS ? STATUS_RETRY_MAX_MS : pause * 2;
    }
}

#define FENCED_DETAIL "self-fenced: the worker's lease ran out (no word from the scheduler in time)"

/* The lease ran out while the job ran: it may run elsewhere now, so this run
 * counts as lost whatever the job did. */
static void apply_lease_fence(struct shim *s)
{
    if (!s->fenced)
        return;
    s->st.outcome = MLQ_OUT_LOST;
    s->st.exit_code = -1;
    s->st.signal = 0;
    mlq_spool_set_detail(&s->st, FENCED_DETAIL);
}

/* An attempt whose lease is already over is not started at all. */
static int check_lease_at_start(struct shim *s)
{
    if (mlq_lease_read_for_attempt(s->dir, &s->lease_until) == 0)
        s->lease_until = -1; /* no lease file: no worker lease to keep */
    if (!lease_over(s))
        return 0;
    s->st.outcome = MLQ_OUT_LOST;
    s->st.exit_code = -1;
    s->st.end_ms = mlq_clock_wall_ms();
    mlq_spool_set_detail(&s->st, FENCED_DETAIL);
    return -1;
}

int mlq_shim_run(const char *attempt_dir, struct mlq_err *err)
{
    sigset_t set;
    int rc = become_supervisor(attempt_dir, &set, err);
    if (rc < 0)
        return rc;
    struct mlq_status existing;
    if (mlq_spool_read_status(attempt_dir, &existing, NULL) == 0)
        return 0; /* already decided: never run an attempt twice */
    struct shim s = {.dir = attempt_dir, .out_fd = -1, .err_fd = -1};
    mlq_jobout_init(&s.out, -1, -1);
    s.st.exit_code = -1;
    if (prepare(&s) == 0 && manifest_start(&s) == 0 && check_lease_at_start(&s) == 0 &&
        check_rendezvous(&s) == 0 && start_job(&s) == 0) {
        supervise(&s, &set);
        finish(&s, &set);
        apply_lease_fence(&s);
        apply_fence(&s);
        struct mlq_shimrun r = shimrun(&s);
        mlq_shimrun_manifest_finish(&r, s.manifest);
    }
    struct mlq_shimrun r = shimrun(&s);
    mlq_shimrun_manifest_write(&r, s.manifest);
    rc = write_status_retrying(attempt_dir, &s.st, err);
    shim_cleanup(&s);
    return rc;
}

/* Finds the cgroup folders, parses the run manifest's settings and loads
 * the name service modules (passwd, group) while idle, so that each job's
 * cgroups, manifest and account lookups cost no /proc parsing, JSON
 * parsing or dynamic loading. */
void mlq_shim_warm(void)
{
    mlq_cglimit_warm();
    mlq_runmanifest_warm();
    if (geteuid() != 0)
        return;
    struct passwd *pw = getpwuid(0);
    if (!pw)
        return;
    gid_t g[64];
    int n = 64;
    getgrouplist(pw->pw_name, pw->pw_gid, g, &n);
}
