/* gitinfo: the "git" part of a run manifest: where the job's working
 * directory is inside a git work tree, its commit, branch, whether tracked
 * files differ from that commit (dirty), a SHA-256 of `git diff HEAD`'s
 * output and the number of untracked files (not ignored ones).
 *
 * Untracked files do not make a tree dirty: jobs often write their data and
 * outputs next to the code; they are counted, not hashed (their content is
 * what --input is for).
 *
 * git runs as whatever account calls this (the shim calls it after
 * dropping to the job's account), found in PATH, with a deadline over all
 * its runs; a git that is missing, slow or failing gives {"error": "..."}
 * and never more delay than the deadline. GIT_OPTIONAL_LOCKS=0 keeps git
 * from writing the index while the job may be using the tree. */
#ifndef MLQ_GITINFO_H
#define MLQ_GITINFO_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define MLQ_GITINFO_TIME_MS 2000 /* all git runs of one manifest */

/* NULL when dir is not inside a work tree (nothing to record); otherwise
 * the object described above, or {"error": "..."}. deadline_ms is on
 * CLOCK_MONOTONIC. */
json_t *mlq_gitinfo_collect(const char *dir, int64_t deadline_ms);
/* Whether dir or a folder above it has a .git entry (folder, or file for
 * worktrees and submodules); true when dir cannot be resolved (let git
 * say). Most jobs run outside any repository, and a few stat calls spare
 * them starting git at all. */
bool mlq_gitinfo_maybe_tree(const char *dir);

#endif
