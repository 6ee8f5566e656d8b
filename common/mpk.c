/* mpk: see mpk.h. The validator follows the msgpack spec's format table
 * byte for byte; it never allocates, so it is safe on any input. */
#include "mpk.h"

#include <stdlib.h>
#include <string.h>

#include "bounds.h"

/* ---- validator ---------------------------------------------------------- */

enum head_kind { HK_SCALAR, HK_BYTES, HK_ARRAY, HK_MAP, HK_INVALID };

/* Formats 0xc0..0xdf: bytes of the length field, bytes of fixed payload
 * (after the length field, e.g. an ext type byte), and what follows. */
static const struct {
    uint8_t len_bytes, fixed;
    uint8_t kind;
} formats[32] = {
    [0x00] = {0, 0, HK_SCALAR},  /* nil */
    [0x01] = {0, 0, HK_INVALID}, /* never used */
    [0x02] = {0, 0, HK_SCALAR},  /* false */
    [0x03] = {0, 0, HK_SCALAR},  /* true */
    [0x04] = {1, 0, HK_BYTES},   /* bin 8 */
    [0x05] = {2, 0, HK_BYTES},   /* bin 16 */
    [0x06] = {4, 0, HK_BYTES},   /* bin 32 */
    [0x07] = {1, 1, HK_BYTES},   /* ext 8 (+ type byte) */
    [0x08] = {2, 1, HK_BYTES},   /* ext 16 */
    [0x09] = {4, 1, HK_BYTES},   /* ext 32 */
    [0x0a] = {0, 4, HK_SCALAR},  /* float 32 */
    [0x0b] = {0, 8, HK_SCALAR},  /* float 64 */
    [0x0c] = {0, 1, HK_SCALAR},  /* uint 8 */
    [0x0d] = {0, 2, HK_SCALAR},  /* uint 16 */
    [0x0e] = {0, 4, HK_SCALAR},  /* uint 32 */
    [0x0f] = {0, 8, HK_SCALAR},  /* uint 64 */
    [0x10] = {0, 1, HK_SCALAR},  /* int 8 */
    [0x11] = {0, 2, HK_SCALAR},  /* int 16 */
    [0x12] = {0, 4, HK_SCALAR},  /* int 32 */
    [0x13] = {0, 8, HK_SCALAR},  /* int 64 */
    [0x14] = {0, 2, HK_SCALAR},  /* fixext 1 */
    [0x15] = {0, 3, HK_SCALAR},  /* fixext 2 */
    [0x16] = {0, 5, HK_SCALAR},  /* fixext 4 */
    [0x17] = {0, 9, HK_SCALAR},  /* fixext 8 */
    [0x18] = {0, 17, HK_SCALAR}, /* fixext 16 */
    [0x19] = {1, 0, HK_BYTES},   /* str 8 */
    [0x1a] = {2, 0, HK_BYTES},   /* str 16 */
    [0x1b] = {4, 0, HK_BYTES},   /* str 32 */
    [0x1c] = {2, 0, HK_ARRAY},   /* array 16 */
    [0x1d] = {4, 0, HK_ARRAY},   /* array 32 */
    [0x1e] = {2, 0, HK_MAP},     /* map 16 */
    [0x1f] = {4, 0, HK_MAP},     /* map 32 */
};

/* One object header: size covers the format byte, the length field and any
 * fixed payload; payload is the declared variable part (str/bin/ext bytes);
 * children the number of objects that follow inside a container. */
struct head {
    size_t size;
    uint64_t payload;
    uint64_t children;
    bool container;
};

static uint64_t read_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static int read_fix_head(uint8_t b, struct head *h)
{
    h->size = 1;
    if (b <= 0x7f || b >= 0xe0) /* fixint */
        return 0;
    if (b <= 0x8f) { /* fixmap */
        h->container = true;
        h->children = 2u * (b & 0x0f);
    } else if (b <= 0x9f) { /* fixarray */
        h->container = true;
        h->children = b & 0x0f;
    } else { /* fixstr */
        h->payload = b & 0x1f;
    }
    return 0;
}

static int read_head(const uint8_t *p, size_t avail, struct head *h, struct mlq_err *err)
{
    memset(h, 0, sizeof *h);
    if (avail == 0)
        return mlq_err_set(err, MLQ_EPROTO, "truncated message");
    if (p[0] < 0xc0 || p[0] >= 0xe0)
        return read_fix_head(p[0], h);
    unsigned f = p[0] - 0xc0u;
    if (formats[f].kind == HK_INVALID)
        return mlq_err_set(err, MLQ_EPROTO, "invalid msgpack byte 0xc1");
    h->size = 1u + formats[f].len_bytes + formats[f].fixed;
    if (avail < h->size)
        return mlq_err_set(err, MLQ_EPROTO, "truncated message");
    uint64_t n = read_be(p + 1, formats[f].len_bytes);
    switch (formats[f].kind) {
    case HK_BYTES:
        h->payload = n;
        break;
    case HK_ARRAY:
        h->container = true;
        h->children = n;
        break;
    case HK_MAP:
        h->container = true;
        h->children = 2 * n;
        break;
    }
    return 0;
}

int mlq_mpk_validate(const void *buf, size_t len, int max_depth, struct mlq_err *err)
{
    const uint8_t *p = buf;
    uint64_t pending[MLQ_MAX_DEPTH + 2]; /* objects still expected per level */
    size_t pos = 0;
    int depth = 0;

    if (max_depth < 0 || max_depth > MLQ_MAX_DEPTH)
        max_depth = MLQ_MAX_DEPTH;
    pending[0] = 1; /* level 0: the one top-level object */
    for (;;) {
        if (pending[depth] == 0) {
            if (depth == 0)
                break;
            depth--;
            continue;
        }
        pending[depth]--;
        struct head h;
        int rc = read_head(p + pos, len - pos, &h, err);
        if (rc < 0)
            return rc;
        pos += h.size;
        if (h.payload > len - pos)
            return mlq_err_set(err, MLQ_EPROTO, "declared length exceeds the message");
        pos += h.payload;
        if (!h.container)
            continue;
        if (depth + 1 > max_depth)
            return mlq_err_set(err, MLQ_EPROTO, "nesting deeper than %d levels", max_depth);
        /* every element takes at least one byte */
        if (h.children > len - pos)
            return mlq_err_set(err, MLQ_EPROTO, "declared count exceeds the message");
        pending[++depth] = h.children;
    }
    if (pos != len)
        return mlq_err_set(err, MLQ_EPROTO, "%zu bytes of trailing garbage", len - pos);
    return 0;
}

/* ---- output buffer ------------------------------------------------------ */

static int out_write(void *data, const char *buf, size_t len)
{
    struct mlq_mpk_out *o = data;
    if (o->failed)
        return -1;
    if (len > o->max - o->sb.size) {
        o->failed = MLQ_ETOOBIG;
        return -1;
    }
    if (msgpack_sbuffer_write(&o->sb, buf, len) != 0) {
        o->failed = MLQ_ENOMEM;
        return -1;
    }
    return 0;
}

void mlq_mpk_out_init(struct mlq_mpk_out *out, size_t max)
{
    msgpack_sbuffer_init(&out->sb);
    out->max = max;
    out->failed = 0;
    msgpack_packer_init(&out->pk, out, out_write);
}

int mlq_mpk_out_finish(struct mlq_mpk_out *out, char **buf, size_t *len, struct mlq_err *err)
{
    *buf = NULL;
    *len = 0;
    int failed = out->failed;
    if (!failed && out->sb.size == 0)
        failed = MLQ_EINVAL;
    if (failed) {
        msgpack_sbuffer_destroy(&out->sb);
        if (failed == MLQ_ETOOBIG)
            return mlq_err_set(err, failed, "encoded message exceeds %zu bytes", out->max);
        if (failed == MLQ_ENOMEM)
            return mlq_err_set(err, failed, "out of memory encoding a message");
        return mlq_err_set(err, failed, "nothing was encoded");
    }
    *len = out->sb.size;
    *buf = msgpack_sbuffer_release(&out->sb);
    return 0;
}

/* ---- packing shorthands ------------------------------------------------- */

static void put_key(msgpack_packer *pk, const char *key)
{
    size_t n = strlen(key);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, key, n);
}

void mlq_mpk_put_str(msgpack_packer *pk, const char *s)
{
    if (!s) {
        msgpack_pack_nil(pk);
        return;
    }
    put_key(pk, s);
}

void mlq_mpk_kv_str(msgpack_packer *pk, const char *key, const char *val)
{
    put_key(pk, key);
    mlq_mpk_put_str(pk, val);
}

void mlq_mpk_kv_int(msgpack_packer *pk, const char *key, int64_t val)
{
    put_key(pk, key);
    msgpack_pack_int64(pk, val);
}

void mlq_mpk_kv_uint(msgpack_packer *pk, const char *key, uint64_t val)
{
    put_key(pk, key);
    msgpack_pack_uint64(pk, val);
}

void mlq_mpk_kv_bool(msgpack_packer *pk, const char *key, bool val)
{
    put_key(pk, key);
    if (val)
        msgpack_pack_true(pk);
    else
        msgpack_pack_false(pk);
}

void mlq_mpk_kv_bin(msgpack_packer *pk, const char *key, const void *data, size_t len)
{
    put_key(pk, key);
    if (!data)
        len = 0;
    msgpack_pack_bin(pk, len);
    if (len)
        msgpack_pack_bin_body(pk, data, len);
}

void mlq_mpk_kv_strv(msgpack_packer *pk, const char *key, char *const *v, uint32_t n)
{
    if (!v)
        n = 0;
    mlq_mpk_kv_array(pk, key, n);
    for (uint32_t i = 0; i < n; i++)
        mlq_mpk_put_str(pk, v[i]);
}

void mlq_mpk_kv_map(msgpack_packer *pk, const char *key, uint32_t n)
{
    put_key(pk, key);
    msgpack_pack_map(pk, n);
}

void mlq_mpk_kv_array(msgpack_packer *pk, const char *key, uint32_t n)
{
    put_key(pk, key);
    msgpack_pack_array(pk, n);
}

/* ---- readers ------------------------------------------------------------ */

static int missing(const struct mlq_mpk_map *m, const char *key)
{
    return mlq_err_set(m->err, MLQ_EPROTO, "%s: missing key '%s'", m->where, key);
}

static int bad(const struct mlq_mpk_map *m, const char *key, const char *what)
{
    return mlq_err_set(m->err, MLQ_EPROTO, "%s: key '%s' %s", m->where, key, what);
}

int mlq_mpk_map_init(struct mlq_mpk_map *m, const msgpack_object *obj, const char *where,
                     struct mlq_err *err)
{
    m->map = NULL;
    m->where = where;
    m->err = err;
    if (!obj || obj->type != MSGPACK_OBJECT_MAP)
        return mlq_err_set(err, MLQ_EPROTO, "%s: not a map", where);
    m->map = &obj->via.map;
    return 0;
}

const msgpack_object *mlq_mpk_get(const struct mlq_mpk_map *m, const char *key)
{
    size_t n = strlen(key);
    for (uint32_t i = 0; i < m->map->size; i++) {
        const msgpack_object *k = &m->map->ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp(k->via.str.ptr, key, n) == 0)
            return &m->map->ptr[i].val;
    }
    return NULL;
}

/* Checks that o is a string of at most max bytes without NUL bytes (they
 * would silently cut the C string short). */
static int check_str(const struct mlq_mpk_map *m, const char *key, const msgpack_object *o,
                     size_t max)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return bad(m, key, "must be a string");
    if (o->via.str.size > max)
        return mlq_err_set(m->err, MLQ_EPROTO, "%s: key '%s' is longer than %zu bytes", m->where,
                           key, max);
    if (memchr(o->via.str.ptr, '\0', o->via.str.size))
        return bad(m, key, "contains a NUL byte");
    return 0;
}

static int dup_str(const struct mlq_mpk_map *m, const msgpack_object *o, char **out)
{
    *out = strndup(o->via.str.ptr, o->via.str.size);
    if (!*out)
        return mlq_err_set(m->err, MLQ_ENOMEM, "%s: out of memory", m->where);
    return 0;
}

int mlq_mpk_read_str(const struct mlq_mpk_map *m, const char *key, size_t max, bool nullable,
                     char **out)
{
    return mlq_mpk_val_str(m, key, mlq_mpk_get(m, key), max, nullable, out);
}

int mlq_mpk_val_str(const struct mlq_mpk_map *m, const char *key, const msgpack_object *o,
                    size_t max, bool nullable, char **out)
{
    *out = NULL;
    if (!o || o->type == MSGPACK_OBJECT_NIL) {
        if (nullable)
            return 0;
        return o ? bad(m, key, "must be a string") : missing(m, key);
    }
    int rc = check_str(m, key, o, max);
    return rc < 0 ? rc : dup_str(m, o, out);
}

int mlq_mpk_read_strbuf(const struct mlq_mpk_map *m, const char *key, char *buf, size_t max)
{
    const msgpack_object *o = mlq_mpk_get(m, key);
    buf[0] = '\0';
    if (!o)
        return missing(m, key);
    int rc = check_str(m, key, o, max);
    if (rc < 0)
        return rc;
    if (o->via.str.size == 0)
        return bad(m, key, "must not be empty");
    memcpy(buf, o->via.str.ptr, o->via.str.size);
    buf[o->via.str.size] = '\0';
    return 0;
}

bool mlq_mpk_is_uuid(const char *s, size_t len)
{
    if (len != MLQ_ID_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        char c = s[i];
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

int mlq_mpk_read_id(const struct mlq_mpk_map *m, const char *key, char *buf)
{
    const msgpack_object *o = mlq_mpk_get(m, key);
    buf[0] = '\0';
    if (!o)
        return missing(m, key);
    if (o->type != MSGPACK_OBJECT_STR)
        return bad(m, key, "must be a string");
    if (!mlq_mpk_is_uuid(o->via.str.ptr, o->via.str.size))
        return bad(m, key, "is not a full lower-case id");
    memcpy(buf, o->via.str.ptr, MLQ_ID_LEN);
    buf[MLQ_ID_LEN] = '\0';
    return 0;
}

int mlq_mpk_read_int(const struct mlq_mpk_map *m, const char *key, int64_t min, int64_t max,
                     int64_t *out)
{
    return mlq_mpk_val_int(m, key, mlq_mpk_get(m, key), min, max, out);
}

int mlq_mpk_val_int(const struct mlq_mpk_map *m, const char *key, const msgpack_object *o,
                    int64_t min, int64_t max, int64_t *out)
{
    int64_t v;
    *out = 0;
    if (!o)
        return missing(m, key);
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t)INT64_MAX)
            return bad(m, key, "is out of range");
        v = (int64_t)o->via.u64;
    } else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        v = o->via.i64;
    } else {
        return bad(m, key, "must be an integer");
    }
    if (v < min || v > max)
        return mlq_err_set(m->err, MLQ_EPROTO, "%s: key '%s' out of range (%lld..%lld)", m->where,
                           key, (long long)min, (long long)max);
    *out = v;
    return 0;
}

int mlq_mpk_read_i32(const struct mlq_mpk_map *m, const char *key, int32_t min, int32_t max,
                     int32_t *out)
{
    int64_t v;
    int rc = mlq_mpk_read_int(m, key, min, max, &v);
    *out = (int32_t)v;
    return rc;
}

int mlq_mpk_read_uint(const struct mlq_mpk_map *m, const char *key, uint64_t max, uint64_t *out)
{
    return mlq_mpk_val_uint(m, key, mlq_mpk_get(m, key), max, out);
}

int mlq_mpk_val_uint(const struct mlq_mpk_map *m, const char *key, const msgpack_object *o,
                     uint64_t max, uint64_t *out)
{
    *out = 0;
    if (!o)
        return missing(m, key);
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return bad(m, key, "must be a non-negative integer");
    if (o->via.u64 > max)
        return mlq_err_set(m->err, MLQ_EPROTO, "%s: key '%s' is above %llu", m->where, key,
                           (unsigned long long)max);
    *out = o->via.u64;
    return 0;
}

int mlq_mpk_read_bool(const struct mlq_mpk_map *m, const char *key, bool *out)
{
    return mlq_mpk_val_bool(m, key, mlq_mpk_get(m, key), out);
}

int mlq_mpk_val_bool(const struct mlq_mpk_map *m, const char *key, const msgpack_object *o,
                     bool *out)
{
    *out = false;
    if (!o)
        return missing(m, key);
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return bad(m, key, "must be a boolean");
    *out = o->via.boolean;
    return 0;
}

int mlq_mpk_read_enum(const struct mlq_mpk_map *m, const char *key, const char *const *names, int n,
                      bool nullable, int *out)
{
    const msgpack_object *o = mlq_mpk_get(m, key);
    *out = -1;
    if (!o || o->type == MSGPACK_OBJECT_NIL) {
        if (nullable)
            return 0;
        return o ? bad(m, key, "must be a string") : missing(m, key);
    }
    if (o->type != MSGPACK_OBJECT_STR)
        return bad(m, key, "must be a string");
    for (int i = 0; i < n; i++) {
        if (o->via.str.size == strlen(names[i]) &&
            memcmp(o->via.str.ptr, names[i], o->via.str.size) == 0) {
            *out = i;
            return 0;
        }
    }
    /* the value itself is not echoed: it is untrusted and may hold anything */
    return bad(m, key, "has an unknown value");
}

int mlq_mpk_read_bin(const struct mlq_mpk_map *m, const char *key, uint32_t max, uint8_t **out,
                     uint32_t *len)
{
    const msgpack_object *o = mlq_mpk_get(m, key);
    *out = NULL;
    *len = 0;
    if (!o)
        return missing(m, key);
    if (o->type != MSGPACK_OBJECT_BIN)
        return bad(m, key, "must be binary");
    if (o->via.bin.size > max)
        return mlq_err_set(m->err, MLQ_EPROTO, "%s: key '%s' is longer than %u bytes", m->where,
                           key, max);
    if (o->via.bin.size == 0)
        return 0;
    *out = malloc(o->via.bin.size);
    if (!*out)
        return mlq_err_set(m->err, MLQ_ENOMEM, "%s: out of memory", m->where);
    memcpy(*out, o->via.bin.ptr, o->via.bin.size);
    *len = o->via.bin.size;
    return 0;
}

int mlq_mpk_read_map(const struct mlq_mpk_map *m, const char *key, const char *where,
                     struct mlq_mpk_map *out)
{
    const msgpack_object *o = mlq_mpk_get(m, key);
    out->map = NULL;
    out->where = where;
    out->err = m->err;
    if (!o)
        return missing(m, key);
    if (o->type != MSGPACK_OBJECT_MAP)
        return bad(m, key, "must be a map");
    out->map = &o->via.map;
    return 0;
}

int mlq_mpk_read_array(const struct mlq_mpk_map *m, const char *key, uint32_t minn, uint32_t maxn,
                       const msgpack_object_array **out)
{
    return mlq_mpk_val_array(m, key, mlq_mpk_get(m, key), minn, maxn, out);
}

int mlq_mpk_val_array(const struct mlq_mpk_map *m, const char *key, const msgpack_object *o,
                      uint32_t minn, uint32_t maxn, const msgpack_object_array **out)
{
    *out = NULL;
    if (!o)
        return missing(m, key);
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return bad(m, key, "must be an array");
    if (o->via.array.size < minn || o->via.array.size > maxn)
        return mlq_err_set(m->err, MLQ_EPROTO, "%s: key '%s' must have %u..%u entries", m->where,
                           key, minn, maxn);
    *out = &o->via.array;
    return 0;
}

bool mlq_mpk_absent(const struct mlq_mpk_map *m, const char *key)
{
    const msgpack_object *o = mlq_mpk_get(m, key);
    return !o || o->type == MSGPACK_OBJECT_NIL;
}

int mlq_mpk_opt_int(const struct mlq_mpk_map *m, const char *key, int64_t min, int64_t max,
                    int64_t *out)
{
    *out = 0;
    return mlq_mpk_absent(m, key) ? 0 : mlq_mpk_read_int(m, key, min, max, out);
}

int mlq_mpk_opt_i32(const struct mlq_mpk_map *m, const char *key, int32_t min, int32_t max,
                    int32_t *out)
{
    *out = 0;
    return mlq_mpk_absent(m, key) ? 0 : mlq_mpk_read_i32(m, key, min, max, out);
}

int mlq_mpk_opt_bool(const struct mlq_mpk_map *m, const char *key, bool *out)
{
    *out = false;
    return mlq_mpk_absent(m, key) ? 0 : mlq_mpk_read_bool(m, key, out);
}

void mlq_mpk_strv_free(char **v, uint32_t n)
{
    if (!v)
        return;
    for (uint32_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int mlq_mpk_read_strv(const struct mlq_mpk_map *m, const char *key, uint32_t minn, uint32_t maxn,
                      size_t maxlen, size_t maxtotal, char ***out, uint32_t *n)
{
    return mlq_mpk_val_strv(m, key, mlq_mpk_get(m, key), minn, maxn, maxlen, maxtotal, out, n);
}

int mlq_mpk_val_strv(const struct mlq_mpk_map *m, const char *key, const msgpack_object *o,
                     uint32_t minn, uint32_t maxn, size_t maxlen, size_t maxtotal, char ***out,
                     uint32_t *n)
{
    const msgpack_object_array *a;
    size_t total = 0;
    *out = NULL;
    *n = 0;
    int rc = mlq_mpk_val_array(m, key, o, minn, maxn, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    char **v = calloc(a->size, sizeof *v);
    if (!v)
        return mlq_err_set(m->err, MLQ_ENOMEM, "%s: out of memory", m->where);
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        rc = check_str(m, key, &a->ptr[i], maxlen);
        if (rc == 0 && (total += a->ptr[i].via.str.size) > maxtotal)
            rc = mlq_err_set(m->err, MLQ_EPROTO, "%s: key '%s' holds more than %zu bytes", m->where,
                             key, maxtotal);
        if (rc == 0)
            rc = dup_str(m, &a->ptr[i], &v[i]);
    }
    if (rc < 0) {
        mlq_mpk_strv_free(v, a->size);
        return rc;
    }
    *out = v;
    *n = a->size;
    return 0;
}
