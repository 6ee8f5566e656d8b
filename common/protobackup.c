/* protobackup: see protobackup.h. The invariants of proto.c hold: a decoded
 * message starts zeroed, so mlq_proto_msg_free() can always clean up. */
#include "protobackup.h"

#include <stdlib.h>
#include <string.h>

int mlq_protobackup_path_check(const char *path, struct mlq_err *err)
{
    size_t n = path ? strlen(path) : 0;
    if (n < 2 || n > MLQ_MAX_PATH || path[0] != '/' || path[n - 1] == '/')
        return mlq_err_set(err, MLQ_EINVAL,
                           "backup path must be an absolute file path of at most %d bytes",
                           MLQ_MAX_PATH);
    for (const char *p = path; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            return mlq_err_set(err, MLQ_EINVAL, "backup path holds a control or non-ASCII byte");
    for (const char *c = path; c && *c; c = strchr(c + 1, '/')) {
        const char *s = c + 1, *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.') || len == 0)
            return mlq_err_set(err, MLQ_EINVAL,
                               "backup path may not hold empty, '.' or '..' components");
    }
    return 0;
}

void mlq_protobackup_enc_req(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "path", m->u.backup.path);
}

int mlq_protobackup_dec_req(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_str(mp, "path", MLQ_MAX_PATH, false, &m->u.backup.path);
    struct mlq_err e;
    if (rc == 0 && mlq_protobackup_path_check(m->u.backup.path, &e) < 0)
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "%s: key 'path': %s", mp->where, e.msg);
    return rc;
}

void mlq_protobackup_free_req(struct mlq_msg *m)
{
    free(m->u.backup.path);
}

void mlq_protobackup_enc_done(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "path", m->u.backup_done.path);
    mlq_mpk_kv_int(pk, "size", m->u.backup_done.size);
    mlq_mpk_kv_int(pk, "pages", m->u.backup_done.pages);
    mlq_mpk_kv_int(pk, "page_size", m->u.backup_done.page_size);
    mlq_mpk_kv_int(pk, "duration_ms", m->u.backup_done.duration_ms);
    mlq_mpk_kv_int(pk, "schema", m->u.backup_done.schema);
    mlq_mpk_kv_str(pk, "integrity", m->u.backup_done.integrity);
}

int mlq_protobackup_dec_done(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int64_t schema = 0;
    int rc = mlq_mpk_read_str(mp, "path", MLQ_MAX_PATH, false, &m->u.backup_done.path);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "size", 0, INT64_MAX, &m->u.backup_done.size);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "pages", 0, INT64_MAX, &m->u.backup_done.pages);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "page_size", 0, 65536, &m->u.backup_done.page_size);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "duration_ms", 0, INT64_MAX, &m->u.backup_done.duration_ms);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "schema", 0, INT32_MAX, &schema);
    m->u.backup_done.schema = (int32_t)schema;
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "integrity", MLQ_BACKUP_INTEGRITY_MAX, false,
                              &m->u.backup_done.integrity);
    return rc;
}

void mlq_protobackup_free_done(struct mlq_msg *m)
{
    free(m->u.backup_done.path);
    free(m->u.backup_done.integrity);
}
