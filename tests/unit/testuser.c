/* testuser: see testuser.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "testuser.h"

char *testuser_self(void)
{
    static char name[64];
    struct passwd *pw = getpwuid(geteuid());
    snprintf(name, sizeof name, "%s", pw ? pw->pw_name : "nobody");
    return name;
}

void testuser_make(const char *prefix, char *name, size_t len, uid_t *uid, gid_t *gid)
{
    if (geteuid() != 0) {
        fprintf(stderr, "not root: skipping (jobs run as their owner only under a root worker)\n");
        skip();
    }
    if (system("command -v useradd >/dev/null 2>&1") != 0)
        fail_msg("no useradd here: a root-only test may not be skipped as root");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(name, len, "%s_%x%x", prefix, (unsigned)getpid() & 0xffffu,
             (unsigned)ts.tv_nsec & 0xffffu);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "useradd -M -r %s >/dev/null 2>&1", name);
    if (system(cmd) != 0) {
        name[0] = '\0';
        fail_msg("useradd failed: a root-only test may not be skipped as root");
    }
    struct passwd *pw = getpwnam(name);
    assert_non_null(pw);
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    assert_true(*uid != 0);
}

void testuser_remove(const char *name)
{
    if (!name[0])
        return;
    char cmd[96];
    snprintf(cmd, sizeof cmd, "userdel %s >/dev/null 2>&1", name);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove test user %s\n", name);
}
