/* testuser: accounts for the unit tests of jobs that run as their owner
 * (shim, agent): the account running the test, and throwaway system
 * accounts that only root can make. */
#ifndef MLQ_TESTUSER_H
#define MLQ_TESTUSER_H

#include <stddef.h>
#include <sys/types.h>

/* The name of the account running the test ("nobody" when it has none):
 * as root the shim runs a job as its owner, so ordinary jobs name this. */
char *testuser_self(void);
/* Makes a throwaway system account without a home (useradd -M -r) named
 * PREFIX_<hex>, writing its name, uid and gid. Not root: skips the test.
 * As root (CI) it must run: no useradd, or one that fails, fails the test
 * rather than skipping it silently. name is "" when none was made. */
void testuser_make(const char *prefix, char *name, size_t len, uid_t *uid, gid_t *gid);
/* Removes the account testuser_make made (nothing when name is ""). */
void testuser_remove(const char *name);

#endif
