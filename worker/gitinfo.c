/* gitinfo: see gitinfo.h.
 *
 * Each git run is a child in its own process group with stdout on a pipe;
 * the output is read with poll() until EOF or the deadline, when the group
 * is killed. The diff's output is hashed as it streams, never held. */
#include "gitinfo.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#define OUT_MAX     4096 /* bytes kept of a short answer (rev-parse) */
#define EXIT_NO_GIT 127  /* the child could not exec git */

struct run {
    char out[OUT_MAX + 1];
    size_t len;
    size_t lines; /* newlines seen (ls-files) */
    bool hash;    /* stream stdout into sha */
    crypto_hash_sha256_state sha;
    unsigned long long total; /* bytes of stdout */
    int status;               /* wait status; -1 killed at the deadline */
};

static void __attribute__((noreturn)) child(const char *dir, char *const argv[], int out)
{
    int null = open("/dev/null", O_RDWR);
    if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(null, 2) < 0)
        _exit(EXIT_NO_GIT - 1);
    setpgid(0, 0);
    if (chdir(dir) != 0)
        _exit(EXIT_NO_GIT - 1);
    setenv("GIT_OPTIONAL_LOCKS", "0", 1);
    setenv("GIT_TERMINAL_PROMPT", "0", 1);
    setenv("LC_ALL", "C", 1);
    execvp("git", argv);
    _exit(EXIT_NO_GIT);
}

static void take(struct run *r, const char *buf, size_t n)
{
    r->total += n;
    if (r->hash)
        crypto_hash_sha256_update(&r->sha, (const unsigned char *)buf, n);
    for (size_t i = 0; i < n; i++)
        r->lines += buf[i] == '\n';
    size_t room = OUT_MAX - r->len;
    size_t k = n < room ? n : room;
    memcpy(r->out + r->len, buf, k);
    r->len += k;
    r->out[r->len] = '\0';
}

/* Reads fd until EOF; false at the deadline. */
static bool drain(struct run *r, int fd, int64_t deadline_ms)
{
    char buf[8192];
    for (;;) {
        int64_t left = deadline_ms - mlq_clock_mono_ms();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return pr == 0 ? false : true;
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return true;
        take(r, buf, (size_t)n);
    }
}

/* Waits for pid until the deadline; false when it had to be killed. */
static bool reap(pid_t pid, int64_t deadline_ms, int *status)
{
    for (;;) {
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid)
            return true;
        if (w < 0 && errno != EINTR)
            return true;
        if (mlq_clock_mono_ms() >= deadline_ms)
            break;
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
    return false;
}

/* Runs git with argv in dir. 0 when it exited 0; a message otherwise. */
static const char *git(const char *dir, char *const argv[], struct run *r, int64_t deadline_ms)
{
    int p[2];
    r->len = 0;
    r->out[0] = '\0';
    r->status = -1;
    if (pipe2(p, O_CLOEXEC) != 0)
        return "cannot make a pipe for git";
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return "cannot start git";
    }
    if (pid == 0)
        child(dir, argv, p[1]);
    close(p[1]);
    bool in_time = drain(r, p[0], deadline_ms);
    close(p[0]);
    in_time = reap(pid, in_time ? deadline_ms : 0, &r->status) && in_time;
    if (!in_time)
        return "git did not answer in time";
    if (WIFEXITED(r->status) && WEXITSTATUS(r->status) == EXIT_NO_GIT)
        return "git not found";
    if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0)
        return "git failed";
    return NULL;
}

static void chomp(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

static json_t *error(const char *msg)
{
    return json_pack("{s:s}", "error", msg);
}

/* Commit and branch ("HEAD" when detached: recorded as null). */
static const char *head(const char *dir, json_t *g, struct run *r, int64_t deadline_ms)
{
    char *const commit[] = {"git", "rev-parse", "--verify", "-q", "HEAD", NULL};
    const char *why = git(dir, commit, r, deadline_ms);
    if (why)
        return strcmp(why, "git failed") == 0 ? "no commit yet (HEAD does not exist)" : why;
    chomp(r->out);
    json_object_set_new(g, "commit", json_string(r->out));
    char *const branch[] = {"git", "rev-parse", "--abbrev-ref", "HEAD", NULL};
    if ((why = git(dir, branch, r, deadline_ms)))
        return why;
    chomp(r->out);
    json_object_set_new(g, "branch", strcmp(r->out, "HEAD") ? json_string(r->out) : json_null());
    return NULL;
}

/* dirty, diff_sha256 and untracked. */
static const char *changes(const char *dir, json_t *g, struct run *r, int64_t deadline_ms)
{
    char *const diff[] = {"git", "diff", "HEAD", "--no-ext-diff", "--no-color", "--binary", NULL};
    r->hash = true;
    crypto_hash_sha256_init(&r->sha);
    r->total = 0;
    const char *why = git(dir, diff, r, deadline_ms);
    r->hash = false;
    if (why)
        return why;
    unsigned char h[crypto_hash_sha256_BYTES];
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    crypto_hash_sha256_final(&r->sha, h);
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    json_object_set_new(g, "dirty", json_boolean(r->total > 0));
    json_object_set_new(g, "diff_sha256", r->total > 0 ? json_string(hex) : json_null());
    char *const others[] = {"git", "ls-files", "--others", "--exclude-standard", "--", ":/", NULL};
    r->lines = 0;
    if ((why = git(dir, others, r, deadline_ms)))
        return why;
    json_object_set_new(g, "untracked", json_integer((json_int_t)r->lines));
    return NULL;
}

bool mlq_gitinfo_maybe_tree(const char *dir)
{
    char path[4096];
    if (!realpath(dir, path))
        return true; /* let git say */
    for (;;) {
        size_t len = strlen(path);
        struct stat st;
        if (len + sizeof "/.git" <= sizeof path) {
            memcpy(path + len, len == 1 ? ".git" : "/.git", len == 1 ? 5 : 6);
            if (lstat(path, &st) == 0)
                return true;
            path[len] = '\0';
        }
        char *slash = strrchr(path, '/');
        if (!slash || len == 1)
            return false;
        slash[slash == path ? 1 : 0] = '\0';
    }
}

json_t *mlq_gitinfo_collect(const char *dir, int64_t deadline_ms)
{
    if (!mlq_gitinfo_maybe_tree(dir))
        return NULL;
    struct run *r = calloc(1, sizeof *r);
    if (!r)
        return error("out of memory");
    char *const top[] = {"git", "rev-parse", "--show-toplevel", NULL};
    const char *why = git(dir, top, r, deadline_ms);
    json_t *g = NULL;
    if (why && strcmp(why, "git failed") == 0) {
        free(r); /* not a work tree (or not one this account may use) */
        return NULL;
    }
    if (!why) {
        chomp(r->out);
        g = json_pack("{s:s}", "root", r->out);
        why = head(dir, g, r, deadline_ms);
    }
    if (!why)
        why = changes(dir, g, r, deadline_ms);
    free(r);
    if (why) {
        json_decref(g);
        return error(why);
    }
    return g;
}
