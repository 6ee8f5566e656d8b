/* spoolrec: small files of an attempt folder rewritten in place.
 *
 * A file is one record at offset 0: the header line "MLQR LEN CRC\n" (LEN
 * and CRC, the CRC-32 of the payload, as 8 lower-case hex digits each;
 * MLQ_SPOOLREC_HDR bytes) then LEN bytes of payload (text), written with
 * one pwrite into the existing file (opened with O_CREAT: a folder that is
 * recycled keeps its files, so no inode is made or freed) and, when asked,
 * made durable with fdatasync. A torn, zeroed or empty record reads as
 * absent ("not written yet"), exactly like a missing file: the writer of
 * each such file either rewrites it or is treated as having died first.
 * A file without the header is a whole file of the earlier layout (written
 * by temp file and rename) and is read as its payload. */
#ifndef MLQ_SPOOLREC_H
#define MLQ_SPOOLREC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MLQ_SPOOLREC_HDR 23

/* CRC-32 (IEEE, as zlib's crc32) of len bytes, continuing from crc
 * (0 to start). */
uint32_t mlq_spoolrec_crc32(uint32_t crc, const void *data, size_t len);

/* Writes data as the file's one record; durable: fdatasync before return.
 * MLQ_EIO with the path and reason on failure. */
int mlq_spoolrec_write(const char *path, const void *data, size_t len, bool durable,
                       struct mlq_err *err);

/* Reads the record (at most max payload bytes) into a malloc'd,
 * NUL-terminated *out (caller frees). MLQ_ENOTFOUND when the file is
 * missing, empty, torn or fails its CRC; MLQ_ETOOBIG past max; MLQ_EIO
 * when it cannot be read. */
int mlq_spoolrec_read(const char *path, size_t max, char **out, size_t *out_len,
                      struct mlq_err *err);

/* Blocks reserved for each record a shim must be able to write. */
#define MLQ_SPOOLREC_RESERVE 4096
/* Reserves the blocks of the records a shim must write in dir, `shim.pid`
 * and `status` (fallocate keeping their size 0): a spool too full for them
 * refuses the assignment (the worker's fault) instead of starting a shim
 * that is then lost. 0, or -errno; a file system without fallocate
 * reserves nothing and succeeds. */
int mlq_spoolrec_reserve(const char *dir);

#endif
