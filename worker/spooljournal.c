/* spooljournal: see spooljournal.h.
 *
 * Record layout (little endian):
 *   0  "MLQJ"   4  flags (u8)   5  3 zero bytes   8  attempt id (36 chars)
 *   44 4 zero bytes   48 done time (i64, wall s)   56 upload skipped[0],
 *   offset[0], skipped[1], offset[1] (i64 each; the done bits of the upload
 *   are in bits 5 and 6 of flags)   88 4 zero bytes   92 CRC-32 of 0..91 */
#include "spooljournal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "id.h"
#include "spoolrec.h"

#define MAGIC         "MLQJ"
#define OFF_FLAGS     4
#define OFF_ID        8
#define OFF_DONE      48
#define OFF_UPLOAD    56
#define OFF_CRC       92
#define UP_DONE_OUT   32
#define UP_DONE_ERR   64
#define FLAGS_MASK    31
#define MIN_CAP       64
#define COMPACT_SLACK 8192 /* records beyond twice the live ones before compacting */

struct entry {
    char id[MLQ_ID_LEN + 1]; /* "" free slot */
    unsigned flags;
    int64_t done_s;
    struct mlq_upload_state up;
};

struct mlq_spooljournal {
    char *path, *attempts;
    int fd;
    struct entry *tab;
    size_t cap, used, records;
    long keep_s; /* of the last compaction, for the automatic ones */
};

static uint64_t hash_id(const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 1099511628211ull;
    return h;
}

static struct entry *slot(struct entry *tab, size_t cap, const char *id)
{
    size_t i = (size_t)hash_id(id) & (cap - 1);
    while (tab[i].id[0] && strcmp(tab[i].id, id) != 0)
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

static int grow(struct mlq_spooljournal *j)
{
    size_t ncap = j->cap ? j->cap * 2 : MIN_CAP;
    struct entry *nt = calloc(ncap, sizeof *nt);
    if (!nt)
        return MLQ_ENOMEM;
    for (size_t i = 0; i < j->cap; i++) {
        if (j->tab[i].id[0])
            *slot(nt, ncap, j->tab[i].id) = j->tab[i];
    }
    free(j->tab);
    j->tab = nt;
    j->cap = ncap;
    return 0;
}

/* The attempt's entry, added when absent; NULL when out of memory. */
static struct entry *entry_for(struct mlq_spooljournal *j, const char *id)
{
    if ((j->used + 1) * 10 > j->cap * 7 && grow(j) < 0)
        return NULL;
    struct entry *e = slot(j->tab, j->cap, id);
    if (!e->id[0]) {
        memset(e, 0, sizeof *e);
        memcpy(e->id, id, MLQ_ID_LEN);
        j->used++;
    }
    return e;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_i64(unsigned char *p, int64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)((uint64_t)v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int64_t get_i64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return (int64_t)v;
}

static void encode(const struct entry *e, unsigned char *r)
{
    memset(r, 0, MLQ_SPOOLJOURNAL_REC);
    memcpy(r, MAGIC, 4);
    r[OFF_FLAGS] = (unsigned char)((e->flags & FLAGS_MASK) | (e->up.done[0] ? UP_DONE_OUT : 0) |
                                   (e->up.done[1] ? UP_DONE_ERR : 0));
    memcpy(r + OFF_ID, e->id, MLQ_ID_LEN);
    put_i64(r + OFF_DONE, e->done_s);
    for (int s = 0; s < 2; s++) {
        put_i64(r + OFF_UPLOAD + 16 * s, e->up.skipped[s]);
        put_i64(r + OFF_UPLOAD + 16 * s + 8, e->up.offset[s]);
    }
    put_u32(r + OFF_CRC, mlq_spoolrec_crc32(0, r, OFF_CRC));
}

/* One record into e; false when torn or not one. */
static bool decode(const unsigned char *r, struct entry *e)
{
    if (memcmp(r, MAGIC, 4) != 0 || get_u32(r + OFF_CRC) != mlq_spoolrec_crc32(0, r, OFF_CRC))
        return false;
    memset(e, 0, sizeof *e);
    memcpy(e->id, r + OFF_ID, MLQ_ID_LEN);
    if (!mlq_id_valid(e->id))
        return false;
    e->flags = r[OFF_FLAGS] & FLAGS_MASK;
    e->up.done[0] = (r[OFF_FLAGS] & UP_DONE_OUT) != 0;
    e->up.done[1] = (r[OFF_FLAGS] & UP_DONE_ERR) != 0;
    e->done_s = get_i64(r + OFF_DONE);
    for (int s = 0; s < 2; s++) {
        e->up.skipped[s] = get_i64(r + OFF_UPLOAD + 16 * s);
        e->up.offset[s] = get_i64(r + OFF_UPLOAD + 16 * s + 8);
    }
    return true;
}

/* Reads every record; cuts a partial one at the end so that appends stay
 * aligned. */
static int load(struct mlq_spooljournal *j, struct mlq_err *err)
{
    unsigned char r[MLQ_SPOOLJOURNAL_REC];
    off_t off = 0;
    for (;;) {
        ssize_t n = pread(j->fd, r, sizeof r, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return mlq_err_set(err, MLQ_EIO, "%s: %s", j->path, strerror(errno));
        if ((size_t)n < sizeof r)
            break;
        struct entry e, *dst;
        if (decode(r, &e)) {
            if (!(dst = entry_for(j, e.id)))
                return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
            *dst = e;
        }
        off += (off_t)sizeof r;
        j->records++;
    }
    if (ftruncate(j->fd, off) != 0)
        return mlq_err_set(err, MLQ_EIO, "%s: %s", j->path, strerror(errno));
    return 0;
}

int mlq_spooljournal_open(const char *dir, const char *attempts_dir, struct mlq_spooljournal **out,
                          struct mlq_err *err)
{
    *out = NULL;
    struct mlq_spooljournal *j = calloc(1, sizeof *j);
    if (!j || asprintf(&j->path, "%s/" MLQ_SPOOLJOURNAL_FILE, dir) < 0 ||
        !(j->attempts = strdup(attempts_dir))) {
        if (j)
            j->path = NULL;
        mlq_spooljournal_close(&j);
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    j->fd = open(j->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
    j->keep_s = 7 * 24 * 3600;
    int rc = j->fd < 0 ? mlq_err_set(err, MLQ_EIO, "%s: %s", j->path, strerror(errno)) : 0;
    if (rc == 0 && (rc = grow(j)) < 0)
        mlq_err_set(err, rc, "out of memory");
    if (rc == 0)
        rc = load(j, err);
    if (rc < 0) {
        mlq_spooljournal_close(&j);
        return rc;
    }
    *out = j;
    return 0;
}

void mlq_spooljournal_close(struct mlq_spooljournal **j)
{
    if (!j || !*j)
        return;
    if ((*j)->fd >= 0)
        close((*j)->fd);
    free((*j)->path);
    free((*j)->attempts);
    free((*j)->tab);
    free(*j);
    *j = NULL;
}

const char *mlq_spooljournal_path(const struct mlq_spooljournal *j)
{
    return j->path;
}

unsigned mlq_spooljournal_get(const struct mlq_spooljournal *j, const char *id,
                              struct mlq_upload_state *u, int64_t *done_s)
{
    if (!j || !id || strlen(id) != MLQ_ID_LEN)
        return 0;
    const struct entry *e = slot(j->tab, j->cap, id);
    if (!e->id[0])
        return 0;
    if (u && (e->flags & MLQ_SJ_UPLOAD))
        *u = e->up;
    if (done_s)
        *done_s = e->done_s;
    return e->flags;
}

static int append(struct mlq_spooljournal *j, const struct entry *e, struct mlq_err *err)
{
    unsigned char r[MLQ_SPOOLJOURNAL_REC];
    encode(e, r);
    ssize_t w;
    do
        w = write(j->fd, r, sizeof r);
    while (w < 0 && errno == EINTR);
    if (w != (ssize_t)sizeof r) {
        int saved = w < 0 ? errno : ENOSPC;
        /* A short append would misalign every later record: cut it off. */
        struct stat st;
        if (w > 0 && fstat(j->fd, &st) == 0)
            (void)!ftruncate(j->fd, st.st_size - w);
        return mlq_err_set(err, MLQ_EIO, "%s: %s", j->path, strerror(saved));
    }
    j->records++;
    return 0;
}

int mlq_spooljournal_set(struct mlq_spooljournal *j, const char *id, unsigned flags,
                         const struct mlq_upload_state *u, struct mlq_err *err)
{
    if (!id || !mlq_id_valid(id))
        return mlq_err_set(err, MLQ_EINVAL, "invalid attempt id");
    struct entry *e = entry_for(j, id);
    if (!e)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    struct entry next = *e;
    next.flags |= flags & FLAGS_MASK;
    if (u) {
        next.up = *u;
        next.flags |= MLQ_SJ_UPLOAD;
    }
    if ((flags & MLQ_SJ_DONE) && !(e->flags & MLQ_SJ_DONE))
        next.done_s = (int64_t)time(NULL);
    int rc = append(j, &next, err);
    if (rc < 0)
        return rc;
    *e = next;
    if (j->records > 2 * j->used + COMPACT_SLACK)
        mlq_spooljournal_compact(j, j->keep_s, NULL); /* best effort */
    return 0;
}

int mlq_spooljournal_sync(struct mlq_spooljournal *j, struct mlq_err *err)
{
    if (fdatasync(j->fd) != 0)
        return mlq_err_set(err, MLQ_EIO, "%s: %s", j->path, strerror(errno));
    return 0;
}

/* Whether a compaction keeps the entry. */
static bool live(const struct mlq_spooljournal *j, const struct entry *e, time_t cutoff)
{
    if (e->flags & MLQ_SJ_DONE)
        return e->done_s >= cutoff;
    char dir[MLQ_MAX_PATH];
    struct stat st;
    int n = snprintf(dir, sizeof dir, "%s/%s", j->attempts, e->id);
    return n > 0 && (size_t)n < sizeof dir && lstat(dir, &st) == 0;
}

/* Writes the live entries to fd; their number into *kept. */
static int write_live(struct mlq_spooljournal *j, int fd, time_t cutoff, size_t *kept)
{
    unsigned char r[MLQ_SPOOLJOURNAL_REC];
    *kept = 0;
    for (size_t i = 0; i < j->cap; i++) {
        struct entry *e = &j->tab[i];
        if (!e->id[0])
            continue;
        if (!live(j, e, cutoff)) {
            e->flags |= 1u << 30; /* dropped below, once the file is in place */
            continue;
        }
        encode(e, r);
        if (write(fd, r, sizeof r) != (ssize_t)sizeof r)
            return -1;
        (*kept)++;
    }
    return 0;
}

/* Drops the entries write_live left out and rebuilds the table. */
static void drop_dead(struct mlq_spooljournal *j)
{
    struct entry *old = j->tab;
    size_t cap = j->cap;
    j->tab = NULL;
    j->cap = j->used = 0;
    if (grow(j) < 0) { /* keep the old table: a dead entry only costs memory */
        j->tab = old, j->cap = cap;
        return;
    }
    for (size_t i = 0; i < cap; i++) {
        if (old[i].id[0] && !(old[i].flags & (1u << 30))) {
            struct entry *e = entry_for(j, old[i].id);
            if (e)
                *e = old[i];
        }
    }
    free(old);
}

int mlq_spooljournal_compact(struct mlq_spooljournal *j, long keep_s, struct mlq_err *err)
{
    j->keep_s = keep_s;
    char tmp[MLQ_MAX_PATH];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", j->path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return mlq_err_set(err, MLQ_ETOOBIG, "spool path too long");
    /* The temp file's descriptor becomes the journal's once renamed. */
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0)
        return mlq_err_set(err, MLQ_EIO, "%s: %s", tmp, strerror(errno));
    size_t kept = 0;
    int rc = write_live(j, fd, time(NULL) - keep_s, &kept);
    if (rc == 0 && fsync(fd) != 0)
        rc = -1;
    int saved = errno;
    if (rc == 0 && rename(tmp, j->path) != 0)
        rc = -1, saved = errno;
    if (rc < 0) {
        close(fd);
        unlink(tmp);
        for (size_t i = 0; i < j->cap; i++)
            j->tab[i].flags &= ~(1u << 30);
        return mlq_err_set(err, MLQ_EIO, "%s: %s", tmp, strerror(saved));
    }
    char *slash = strrchr(tmp, '/');
    if (slash && slash != tmp) {
        *slash = '\0';
        mlq_fs_sync_path(tmp, NULL);
    }
    close(j->fd);
    j->fd = fd;
    j->records = kept;
    drop_dead(j);
    return 0;
}

size_t mlq_spooljournal_records(const struct mlq_spooljournal *j)
{
    return j->records;
}

size_t mlq_spooljournal_entries(const struct mlq_spooljournal *j)
{
    return j->used;
}
