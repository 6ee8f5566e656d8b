/* testdir: throwaway folders for the unit tests that work on real files
 * (spool, lease, shim, agent): made under /tmp with a name that says which
 * test left it, and removed whole in the teardown. */
#ifndef MLQ_TESTDIR_H
#define MLQ_TESTDIR_H

#include <stddef.h>

/* Makes a fresh folder /tmp/mlq-test-NAME-XXXXXX and writes its path to
 * dir; -1 when it cannot (the path does not fit, or mkdtemp fails). */
int testdir_make(char *dir, size_t len, const char *name);
/* Removes dir and everything below it, following no links. */
void testdir_remove(const char *dir);
/* The whole of the file DIR/NAME (at most 1 MiB), NUL-terminated, for the
 * caller to free; NULL when it cannot be read. */
char *testdir_read(const char *dir, const char *name);

#endif
