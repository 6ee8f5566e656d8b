/* startwords: the words a start failure is reported in, as a shell would
 * say them, so that "could not start: ..." reads the same wherever the
 * failure was met (the shim before the fork, its child at the exec). */
#ifndef MLQ_STARTWORDS_H
#define MLQ_STARTWORDS_H

/* A failed exec of cmd with errno e: "command not found" for a bare name on
 * no PATH, "no such file", "permission denied", ... */
const char *mlq_startwords_exec(const char *cmd, int e);
/* A directory (or a path through one) that cannot be used: "no such
 * directory", "not a directory", "permission denied", ... */
const char *mlq_startwords_dir(int e);

#endif
