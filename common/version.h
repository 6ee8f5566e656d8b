/* version: what every program answers to --version, and what the daemons
 * tell each other.
 *
 * The release is the project's version in CMakeLists.txt; the git
 * description is taken when the program is built (common/CMakeLists.txt). */
#ifndef MLQ_VERSION_H
#define MLQ_VERSION_H

#include <stdio.h>

/* The release, e.g. "0.1.0". */
const char *mlq_version(void);
/* The git description of the tree it was built from ("unknown" outside a
 * git checkout), e.g. "36d90e1" or "v0.1.0-3-g36d90e1-dirty". */
const char *mlq_version_git(void);
/* Prints "PROG RELEASE (git DESC)" and the protocol version to f, the form
 * help2man and packagers expect from --version. */
void mlq_version_print(FILE *f, const char *prog);

#endif
