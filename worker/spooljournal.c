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
#include "spooldone.h"
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
#define COMPACT_SLACK 8192       /* records beyond twice the live ones before compacting */
#define SCAN_RECS     256        /* records read at once by a lookup in the file */
#define DROPPED       (1u << 30) /* an entry's mark while a compaction drops it */

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
    /* The done attempts kept in memory, and a filter over the older ones
     * (in the file only: see spooldone.h). */
    struct mlq_spooldone *done;
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

/* Removes the entry in slot e, moving the entries after it back so that
 * every entry stays reachable from its home slot (linear probing). */
static void remove_slot(struct mlq_spooljournal *j, struct entry *e)
{
    size_t mask = j->cap - 1, i = (size_t)(e - j->tab), k = i;
    for (;;) {
        j->tab[i].id[0] = '\0';
        for (;;) {
            k = (k + 1) & mask;
            if (!j->tab[k].id[0]) {
                j->used--;
                return;
            }
            size_t home = (size_t)hash_id(j->tab[k].id) & mask;
            /* stays when its home lies cyclically in (i, k] */
            if (i <= k ? (i < home && home <= k) : (i < home || home <= k))
                continue;
            break;
        }
        j->tab[i] = j->tab[k];
        i = k;
    }
}

/* Attempt id is done in memory (its done record is in the file): the
 * oldest done one beyond the recent set leaves memory for the filter. */
static void note_done(struct mlq_spooljournal *j, const char *id)
{
    char old[MLQ_ID_LEN + 1];
    if (!mlq_spooldone_push(j->done, id, old))
        return;
    struct entry *e = slot(j->tab, j->cap, old);
    if (!e->id[0] || !(e->flags & MLQ_SJ_DONE))
        return; /* dropped by a compaction since */
    remove_slot(j, e);
    mlq_spooldone_forget(j->done, old);
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
            bool was_done = dst->flags & MLQ_SJ_DONE;
            *dst = e;
            if ((e.flags & MLQ_SJ_DONE) && !was_done)
                note_done(j, e.id);
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
    struct stat st;
    if (rc == 0 && fstat(j->fd, &st) != 0)
        rc = mlq_err_set(err, MLQ_EIO, "%s: %s", j->path, strerror(errno));
    /* the filter sized for every record of the file being a done attempt */
    if (rc == 0 && !(j->done = mlq_spooldone_create(MLQ_SPOOLDONE_RECENT,
                                                    (size_t)st.st_size / MLQ_SPOOLJOURNAL_REC)))
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
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
    mlq_spooldone_destroy(&(*j)->done);
    free(*j);
    *j = NULL;
}

const char *mlq_spooljournal_path(const struct mlq_spooljournal *j)
{
    return j->path;
}

/* The last valid record of attempt id in the file into out; false when it
 * has none (or the file cannot be read: the filter's "maybe" is then
 * taken as "no", as the entry is not in memory either). */
static bool find_in_file(const struct mlq_spooljournal *j, const char *id, struct entry *out)
{
    unsigned char buf[SCAN_RECS * MLQ_SPOOLJOURNAL_REC];
    bool found = false;
    off_t off = 0;
    for (;;) {
        ssize_t n = pread(j->fd, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < (ssize_t)MLQ_SPOOLJOURNAL_REC)
            return found;
        for (ssize_t k = 0; k + MLQ_SPOOLJOURNAL_REC <= n; k += MLQ_SPOOLJOURNAL_REC) {
            struct entry e;
            if (memcmp(buf + k + OFF_ID, id, MLQ_ID_LEN) == 0 && decode(buf + k, &e)) {
                *out = e;
                found = true;
            }
        }
        off += n - n % MLQ_SPOOLJOURNAL_REC;
    }
}

/* The attempt's entry: in memory, else (a done attempt that left memory)
 * read from the file; NULL when it has none. */
static const struct entry *lookup(const struct mlq_spooljournal *j, const char *id,
                                  struct entry *from_file)
{
    const struct entry *e = slot(j->tab, j->cap, id);
    if (e->id[0])
        return e;
    if (mlq_spooldone_maybe(j->done, id) && find_in_file(j, id, from_file))
        return from_file;
    return NULL;
}

unsigned mlq_spooljournal_get(const struct mlq_spooljournal *j, const char *id,
                              struct mlq_upload_state *u, int64_t *done_s)
{
    if (!j || !id || strlen(id) != MLQ_ID_LEN)
        return 0;
    struct entry kept;
    const struct entry *e = lookup(j, id, &kept);
    if (!e)
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
    struct entry kept;
    const struct entry *known = lookup(j, id, &kept);
    bool from_file = known == &kept, was_done = known && (known->flags & MLQ_SJ_DONE);
    struct entry *e = entry_for(j, id);
    if (!e)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (from_file) /* back in memory: its state goes on from the record */
        *e = kept;
    struct entry next = *e;
    next.flags |= flags & FLAGS_MASK;
    if (u) {
        next.up = *u;
        next.flags |= MLQ_SJ_UPLOAD;
    }
    if ((flags & MLQ_SJ_DONE) && !(e->flags & MLQ_SJ_DONE))
        next.done_s = (int64_t)time(NULL);
    int rc = append(j, &next, err);
    if (rc < 0) {
        if (from_file)
            remove_slot(j, e);
        return rc;
    }
    *e = next;
    if ((next.flags & MLQ_SJ_DONE) && (!was_done || from_file))
        note_done(j, id); /* may move entries: e is not used after it */
    size_t forgotten = mlq_spooldone_forgotten(j->done);
    if (j->records > 2 * (j->used + forgotten) + COMPACT_SLACK || mlq_spooldone_crowded(j->done))
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
            e->flags |= DROPPED; /* dropped below, once the file is in place */
            continue;
        }
        encode(e, r);
        if (write(fd, r, sizeof r) != (ssize_t)sizeof r)
            return -1;
        (*kept)++;
    }
    return 0;
}

/* Copies to fd the done records of the journal's file (j->fd) whose
 * attempts left memory and are done since cutoff, adding them to the
 * filter f; their number into *kept. An attempt done twice is copied
 * twice (it is rare, and the next compaction copies both again). */
static int copy_forgotten(struct mlq_spooljournal *j, int fd, time_t cutoff,
                          struct mlq_donefilter *f, size_t *kept)
{
    unsigned char buf[SCAN_RECS * MLQ_SPOOLJOURNAL_REC];
    *kept = 0;
    for (off_t off = 0;;) {
        ssize_t n = pread(j->fd, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n < (ssize_t)MLQ_SPOOLJOURNAL_REC)
            return 0;
        for (ssize_t k = 0; k + MLQ_SPOOLJOURNAL_REC <= n; k += MLQ_SPOOLJOURNAL_REC) {
            struct entry e;
            if (!decode(buf + k, &e) || !(e.flags & MLQ_SJ_DONE) || e.done_s < cutoff ||
                slot(j->tab, j->cap, e.id)->id[0])
                continue;
            if (write(fd, buf + k, MLQ_SPOOLJOURNAL_REC) != MLQ_SPOOLJOURNAL_REC)
                return -1;
            mlq_donefilter_add(f, e.id);
            (*kept)++;
        }
        off += n - n % MLQ_SPOOLJOURNAL_REC;
    }
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
        if (old[i].id[0] && !(old[i].flags & DROPPED)) {
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
    size_t kept = 0, copied = 0;
    time_t cutoff = time(NULL) - keep_s;
    /* the filter rebuilt for what stays, with room for as many again */
    struct mlq_donefilter *f = mlq_donefilter_create(2 * mlq_spooldone_forgotten(j->done));
    if (!f) {
        close(fd);
        unlink(tmp);
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    int rc = write_live(j, fd, cutoff, &kept);
    if (rc == 0)
        rc = copy_forgotten(j, fd, cutoff, f, &copied);
    if (rc == 0 && fsync(fd) != 0)
        rc = -1;
    int saved = errno;
    if (rc == 0 && rename(tmp, j->path) != 0)
        rc = -1, saved = errno;
    if (rc < 0) {
        close(fd);
        unlink(tmp);
        mlq_donefilter_free(f);
        for (size_t i = 0; i < j->cap; i++)
            j->tab[i].flags &= ~DROPPED;
        return mlq_err_set(err, MLQ_EIO, "%s: %s", tmp, strerror(saved));
    }
    char *slash = strrchr(tmp, '/');
    if (slash && slash != tmp) {
        *slash = '\0';
        mlq_fs_sync_path(tmp, NULL);
    }
    close(j->fd);
    j->fd = fd;
    j->records = kept + copied;
    mlq_spooldone_replace(j->done, f);
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

size_t mlq_spooljournal_mem_bytes(const struct mlq_spooljournal *j)
{
    return sizeof *j + j->cap * sizeof *j->tab + mlq_spooldone_bytes(j->done);
}
