/* mpk: msgpack helpers private to proto.c.
 *
 * Three pieces:
 * - mlq_mpk_validate() walks raw msgpack bytes before msgpack-c sees them,
 *   so a declared length can never exceed what the frame holds (msgpack-c
 *   reserves memory for a container's declared count up front);
 * - an output buffer (msgpack_sbuffer underneath) with a size cap and a sticky
 *   failure flag, so encoders can pack without checking every call;
 * - typed readers over a decoded map that look up a key, check its type and
 *   bounds, and name the key in the error message.
 *
 * Every reader returns 0 or MLQ_EPROTO (MLQ_ENOMEM when a copy fails) with
 * err filled as "<where>: <what is wrong with key>". Readers that allocate
 * store NULL in *out on failure. */
#ifndef MLQ_MPK_H
#define MLQ_MPK_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Checks that buf holds exactly one msgpack object whose every declared
 * str/bin/ext length fits in the remaining bytes, whose every array/map count
 * is at most the remaining bytes (each element takes >= 1 byte), and whose
 * containers nest at most max_depth levels. */
int mlq_mpk_validate(const void *buf, size_t len, int max_depth, struct mlq_err *err);

/* Encoding output: an sbuffer that refuses to grow past max bytes. */
struct mlq_mpk_out {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    size_t max;
    int failed; /* 0, MLQ_ENOMEM or MLQ_ETOOBIG; further writes are dropped */
};

/* Prepares out; out->pk is the packer to use. */
void mlq_mpk_out_init(struct mlq_mpk_out *out, size_t max);
/* Hands the bytes over (*buf is malloc'd, caller frees) or reports the first
 * failure; releases out either way. */
int mlq_mpk_out_finish(struct mlq_mpk_out *out, char **buf, size_t *len, struct mlq_err *err);

/* Packing shorthands: a str key followed by a value. A NULL string packs nil;
 * a NULL bin or string vector packs as empty. */
void mlq_mpk_put_str(msgpack_packer *pk, const char *s);
void mlq_mpk_kv_str(msgpack_packer *pk, const char *key, const char *val);
void mlq_mpk_kv_int(msgpack_packer *pk, const char *key, int64_t val);
void mlq_mpk_kv_uint(msgpack_packer *pk, const char *key, uint64_t val);
void mlq_mpk_kv_bool(msgpack_packer *pk, const char *key, bool val);
void mlq_mpk_kv_bin(msgpack_packer *pk, const char *key, const void *data, size_t len);
void mlq_mpk_kv_strv(msgpack_packer *pk, const char *key, char *const *v, uint32_t n);
/* Packs key then a map header of n entries, or an array header of n. */
void mlq_mpk_kv_map(msgpack_packer *pk, const char *key, uint32_t n);
void mlq_mpk_kv_array(msgpack_packer *pk, const char *key, uint32_t n);

/* A decoded map being read; where names it in error messages ("submit"). */
struct mlq_mpk_map {
    const msgpack_object_map *map;
    const char *where;
    struct mlq_err *err;
};

/* Fails unless obj is a map. */
int mlq_mpk_map_init(struct mlq_mpk_map *m, const msgpack_object *obj, const char *where,
                     struct mlq_err *err);
/* Value of the first entry whose key is the string key; NULL when absent. */
const msgpack_object *mlq_mpk_get(const struct mlq_mpk_map *m, const char *key);

/* A string of at most max bytes without NUL bytes, copied into *out. With
 * nullable, nil (or a missing key) gives *out = NULL. */
int mlq_mpk_read_str(const struct mlq_mpk_map *m, const char *key, size_t max, bool nullable,
                     char **out);
/* A string of 1..max bytes copied into buf (max + 1 bytes). */
int mlq_mpk_read_strbuf(const struct mlq_mpk_map *m, const char *key, char *buf, size_t max);
/* A canonical lower-case UUID (MLQ_ID_LEN chars) into buf (MLQ_ID_LEN + 1). */
int mlq_mpk_read_id(const struct mlq_mpk_map *m, const char *key, char *buf);
/* An integer in [min, max]. */
int mlq_mpk_read_int(const struct mlq_mpk_map *m, const char *key, int64_t min, int64_t max,
                     int64_t *out);
int mlq_mpk_read_i32(const struct mlq_mpk_map *m, const char *key, int32_t min, int32_t max,
                     int32_t *out);
/* A non-negative integer of at most max. */
int mlq_mpk_read_uint(const struct mlq_mpk_map *m, const char *key, uint64_t max, uint64_t *out);
int mlq_mpk_read_bool(const struct mlq_mpk_map *m, const char *key, bool *out);
/* A string that equals names[i] for some i < n; *out = i. With nullable, nil
 * or a missing key gives *out = -1. */
int mlq_mpk_read_enum(const struct mlq_mpk_map *m, const char *key, const char *const *names, int n,
                      bool nullable, int *out);
/* A bin of at most max bytes, copied (NULL when empty). */
int mlq_mpk_read_bin(const struct mlq_mpk_map *m, const char *key, uint32_t max, uint8_t **out,
                     uint32_t *len);
/* A nested map, to read with the functions here; where names it in errors. */
int mlq_mpk_read_map(const struct mlq_mpk_map *m, const char *key, const char *where,
                     struct mlq_mpk_map *out);
/* An array of minn..maxn entries, left in place. */
int mlq_mpk_read_array(const struct mlq_mpk_map *m, const char *key, uint32_t minn, uint32_t maxn,
                       const msgpack_object_array **out);
/* An array of minn..maxn strings, each at most maxlen bytes and together at
 * most maxtotal, copied into a malloc'd vector (NULL when empty). */
int mlq_mpk_read_strv(const struct mlq_mpk_map *m, const char *key, uint32_t minn, uint32_t maxn,
                      size_t maxlen, size_t maxtotal, char ***out, uint32_t *n);
/* Optional keys (added after version 1 went out): absent or nil reads as 0 /
 * false, so peers that predate them still interoperate; present, they are
 * checked like required keys. */
bool mlq_mpk_absent(const struct mlq_mpk_map *m, const char *key);
int mlq_mpk_opt_int(const struct mlq_mpk_map *m, const char *key, int64_t min, int64_t max,
                    int64_t *out);
int mlq_mpk_opt_i32(const struct mlq_mpk_map *m, const char *key, int32_t min, int32_t max,
                    int32_t *out);
int mlq_mpk_opt_bool(const struct mlq_mpk_map *m, const char *key, bool *out);
/* The readers above on a value already found (o: mlq_mpk_get's answer,
 * NULL when the key is absent), key naming it in errors: a decoder that
 * walks a map once reads each key without searching for it. */
int mlq_mpk_val_str(const struct mlq_mpk_map *m, const char *key, const msgpack_object *o,
                    size_t max, bool nullable, char **out);
int mlq_mpk_val_int(const struct mlq_mpk_map *m, const char *key, const msgpack_object *o,
                    int64_t min, int64_t max, int64_t *out);
int mlq_mpk_val_uint(const struct mlq_mpk_map *m, const char *key, const msgpack_object *o,
                     uint64_t max, uint64_t *out);
int mlq_mpk_val_bool(const struct mlq_mpk_map *m, const char *key, const msgpack_object *o,
                     bool *out);
int mlq_mpk_val_array(const struct mlq_mpk_map *m, const char *key, const msgpack_object *o,
                      uint32_t minn, uint32_t maxn, const msgpack_object_array **out);
int mlq_mpk_val_strv(const struct mlq_mpk_map *m, const char *key, const msgpack_object *o,
                     uint32_t minn, uint32_t maxn, size_t maxlen, size_t maxtotal, char ***out,
                     uint32_t *n);
/* Frees a vector of n strings. */
void mlq_mpk_strv_free(char **v, uint32_t n);

/* True when s is a canonical lower-case UUID ("xxxxxxxx-xxxx-...") . */
bool mlq_mpk_is_uuid(const char *s, size_t len);

#endif
