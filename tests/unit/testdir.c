/* testdir: see testdir.h. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "testdir.h"

int testdir_make(char *dir, size_t len, const char *name)
{
    int n = snprintf(dir, len, "/tmp/mlq-test-%s-XXXXXX", name);
    if (n < 0 || (size_t)n >= len)
        return -1;
    return mkdtemp(dir) ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void testdir_remove(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *testdir_read(const char *dir, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *buf = NULL;
    size_t len = 0;
    if (mlq_fs_read_all(path, 1 << 20, &buf, &len, NULL) < 0)
        return NULL;
    return buf;
}
