/* startwords: see startwords.h. */
#include "startwords.h"

#include <errno.h>
#include <string.h>

/* The words for a failed exec, as a shell would say them: a bare name that
 * is nowhere on PATH is "command not found", a path that is not there is
 * "no such file", one that may not be run is "permission denied". */
const char *mlq_startwords_exec(const char *cmd, int e)
{
    switch (e) {
    case ENOENT:
        return strchr(cmd, '/') ? "no such file" : "command not found";
    case EACCES:
    case EPERM:
        return "permission denied";
    case ENOEXEC:
        return "not an executable (exec format error; a script needs a #! line)";
    case ENOTDIR:
        return "not a directory in the path";
    case ELOOP:
        return "too many symbolic links";
    case ENAMETOOLONG:
        return "name too long";
    case E2BIG:
        return "argument list too long";
    default:
        return strerror(e);
    }
}

/* The words for a working directory that cannot be entered. */
const char *mlq_startwords_dir(int e)
{
    switch (e) {
    case ENOENT:
        return "no such directory";
    case ENOTDIR:
        return "not a directory";
    case EACCES:
    case EPERM:
        return "permission denied";
    default:
        return strerror(e);
    }
}
