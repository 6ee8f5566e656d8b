/* fsutil: small durable-file helpers shared by daemons and the CLI. */
#ifndef MLQ_FSUTIL_H
#define MLQ_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* mkdir -p with the given mode for created directories. */
int mlq_fs_mkdirs(const char *path, mode_t mode, struct mlq_err *err);
/* Writes data to path atomically and durably: path.tmp, fsync, rename,
 * fsync of the directory. */
int mlq_fs_write_atomic(const char *path, const void *data, size_t len, struct mlq_err *err);
/* Atomic but not durable: path.tmp, rename, no fsync. A reader sees the old
 * or the new content, never a mix, as long as the machine stays up; after a
 * power loss the file may be missing or empty. */
int mlq_fs_write_replace(const char *path, const void *data, size_t len, struct mlq_err *err);
/* fsync of an existing file or directory. */
int mlq_fs_sync_path(const char *path, struct mlq_err *err);
/* Reads a whole file of at most max bytes into a NUL-terminated buffer the
 * caller owns and must free(). */
int mlq_fs_read_all(const char *path, size_t max, char **out, size_t *out_len, struct mlq_err *err);
/* Writes "PID\n" to path atomically. */
int mlq_fs_write_pidfile(const char *path, pid_t pid, struct mlq_err *err);
/* Reads a pid file; MLQ_ENOTFOUND when absent, MLQ_EINVAL when malformed. */
int mlq_fs_read_pidfile(const char *path, pid_t *out, struct mlq_err *err);
/* True when a process with this pid exists (kill(pid, 0), EPERM counts) and
 * is not a zombie. */
bool mlq_fs_pid_alive(pid_t pid);
/* Process start time (field 22 of /proc/PID/stat, clock ticks since boot);
 * 0 when the process does not exist. Used with a pid to guard against pid
 * reuse. */
unsigned long long mlq_fs_pid_starttime(pid_t pid);
/* mlq_fs_pid_alive(pid) && mlq_fs_pid_starttime(pid) == starttime, with one
 * read of /proc/PID/stat: the process is still the one that started then. */
bool mlq_fs_pid_alive_since(pid_t pid, unsigned long long starttime);
/* Resolves path to an absolute path (the path need not exist; relative to the
 * current directory). Caller frees. */
char *mlq_fs_abspath(const char *path);

#endif
