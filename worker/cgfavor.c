/* cgfavor: see cgfavor.h. */
#include "cgfavor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define DEFAULT_CGROUP_FS "/sys/fs/cgroup"
#define MOUNTINFO_LINE    8192
#define MOUNT_OPTS        "none,name=" MLQ_CGFAVOR_NAME ",favordynmods"
#define WHY               "moving a job into its cgroups no longer waits for an RCU grace period"
#define COST              "forks and exits cost slightly more (kernel docs)"

int mlq_cgfavor_parse(const char *s)
{
    if (s && strcmp(s, "on") == 0)
        return 1;
    if (s && strcmp(s, "off") == 0)
        return 0;
    return -1;
}

/* mountinfo's octal escapes (\040 for a space) undone in place. */
static void unescape(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
            r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

/* The last mount of fstype at dir (the one on top): true when there is one;
 * *favor says whether its super options hold favordynmods, *ours whether it
 * is this module's hierarchy. */
static bool mount_at(const char *dir, const char *fstype, bool *favor, bool *ours)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[MOUNTINFO_LINE], mnt[MOUNTINFO_LINE], type[64], opts[MOUNTINFO_LINE];
    bool found = false;
    while (f && fgets(line, sizeof line, f)) {
        const char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %*s %*s %8191s", mnt) != 1 ||
            sscanf(dash + 3, "%63s %*s %8191s", type, opts) != 2)
            continue;
        unescape(mnt);
        if (strcmp(mnt, dir) != 0 || strcmp(type, fstype) != 0)
            continue;
        found = true;
        *favor = mlq_cglimit_list_has(opts, "favordynmods");
        *ours = mlq_cglimit_list_has(opts, "name=" MLQ_CGFAVOR_NAME);
    }
    if (f)
        fclose(f);
    return found;
}

bool mlq_cgfavor_mounted(const char *dir, const char *fstype)
{
    bool favor = false, ours = false;
    return mount_at(dir, fstype, &favor, &ours) && favor;
}

/* <spool>/cgroup-favordynmods, absolute and without links (as mountinfo
 * names it); a folder of root's only. */
static int make_dir(const char *spool, char *dir, size_t len)
{
    char *real = realpath(spool, NULL);
    struct stat st;
    if (!real)
        return -errno;
    int n = snprintf(dir, len, "%s/" MLQ_CGFAVOR_FOLDER, real);
    free(real);
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -errno;
    if (lstat(dir, &st) != 0)
        return -errno;
    return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

static void unmount_dir(const char *dir)
{
    if (umount2(dir, UMOUNT_NOFOLLOW) != 0 && errno == EBUSY)
        umount2(dir, UMOUNT_NOFOLLOW | MNT_DETACH); /* a shell sitting in it */
}

static void start_v1(struct mlq_cgfavor *f, const char *spool)
{
    char dir[sizeof f->dir];
    bool favor = false, ours = false;
    int rc = make_dir(spool, dir, sizeof dir);
    if (rc < 0) {
        mlq_warn("cgroup favordynmods: not on: cannot make %s/" MLQ_CGFAVOR_FOLDER ": %s", spool,
                 strerror(-rc));
        return;
    }
    /* A worker killed with SIGKILL left its mount: it is this spool's. */
    bool left = mount_at(dir, "cgroup", &favor, &ours) && ours && favor;
    if (!left &&
        mount("cgroup", dir, "cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, MOUNT_OPTS) != 0) {
        int e = errno;
        mlq_warn("cgroup favordynmods: not on: mounting a cgroup v1 hierarchy with %s at %s: %s%s; "
                 "moving a job into its cgroups may wait for an RCU grace period (10-25 ms)",
                 MOUNT_OPTS, dir, strerror(e),
                 e == EPERM    ? " (mounting needs root: CAP_SYS_ADMIN)"
                 : e == EINVAL ? " (a kernel older than 6.0 lacks favordynmods)"
                               : "");
        rmdir(dir);
        return;
    }
    snprintf(f->dir, sizeof f->dir, "%s", dir);
    mlq_info("cgroup favordynmods: on: %s a cgroup v1 hierarchy without controllers (%s) at %s, "
             "kept while the worker runs: " WHY "; " COST,
             left ? "kept" : "mounted", MOUNT_OPTS, dir);
}

static void start_v2(void)
{
    const char *fs = getenv("MLQ_CGROUP_FS");
    if (!fs || !*fs)
        fs = DEFAULT_CGROUP_FS;
    if (mlq_cgfavor_mounted(fs, "cgroup2")) {
        mlq_info("cgroup favordynmods: on: cgroup v2 at %s is mounted with favordynmods: " WHY
                 "; " COST,
                 fs);
        return;
    }
    mlq_info("cgroup favordynmods: off: cgroup v2 at %s is mounted without it, and it is "
             "systemd's mount; an admin turns it on with `mount -o remount,favordynmods %s` "
             "(then " WHY "; " COST ")",
             fs, fs);
}

void mlq_cgfavor_start(struct mlq_cgfavor *f, bool on, enum mlq_cglimit_hier h, const char *spool)
{
    f->dir[0] = '\0';
    if (!on) {
        char dir[sizeof f->dir];
        bool favor = false, ours = false;
        if (make_dir(spool, dir, sizeof dir) == 0) {
            if (mount_at(dir, "cgroup", &favor, &ours) && ours)
                unmount_dir(dir); /* a previous run's, killed with SIGKILL */
            rmdir(dir);
        }
        mlq_info("cgroup favordynmods: off (cgroup-favordynmods off)");
        return;
    }
    if (h == MLQ_CGL_V1)
        start_v1(f, spool);
    else if (h == MLQ_CGL_V2)
        start_v2();
}

void mlq_cgfavor_stop(struct mlq_cgfavor *f)
{
    bool favor = false, ours = false;
    if (!f->dir[0])
        return;
    if (mount_at(f->dir, "cgroup", &favor, &ours) && ours)
        unmount_dir(f->dir);
    rmdir(f->dir);
    f->dir[0] = '\0';
}
