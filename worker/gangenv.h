/* gangenv: what one node part of a gang job (`mlq submit --nodes N`) gets
 * from its worker besides an ordinary job's environment: the rendezvous
 * variables, the hostfile, and rank 0's check of the rendezvous port.
 *
 * Environment (docs/user-guide.md, "Distributed training"):
 *   MLQ_NNODES, MLQ_NODE_RANK, MLQ_MASTER_ADDR, MLQ_MASTER_PORT,
 *   MLQ_HOSTFILE, and the names torch.distributed reads by default:
 *   MASTER_ADDR, MASTER_PORT, NODE_RANK, WORLD_SIZE.
 * WORLD_SIZE counts processes as torchrun starts one per GPU: nnodes x GPUs
 * per node when the job asked for GPUs, else nnodes (one process a node).
 *
 * Hostfile: MLQ_GANGENV_HOSTFILE in the attempt folder (and a private copy
 * for a job running as another account, see mlq_gangenv_write_private), one line per node in rank
 * order, "ADDR slots=N" (the DeepSpeed / Open MPI format), N the GPUs per
 * node, or 1 for a job without GPUs. ADDR is the address the node's worker
 * advertised, or its worker name when it advertised none (or one that
 * mlq_proto_gang_addr_check refuses: the file must stay one host a line). */
#ifndef MLQ_GANGENV_H
#define MLQ_GANGENV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "proto.h"

#define MLQ_GANGENV_HOSTFILE "hostfile"
/* The worker's --rendezvous-ports default. */
#define MLQ_GANGENV_PORTS_LO 29400
#define MLQ_GANGENV_PORTS_HI 29499

/* Parses "LO-HI" (1 <= LO <= HI <= 65535; "P" alone is P-P). MLQ_EINVAL
 * saying what is wrong. */
int mlq_gangenv_parse_ports(const char *arg, int32_t *lo, int32_t *hi, struct mlq_err *err);

/* Processes of the whole gang, WORLD_SIZE: nnodes x gpus, or nnodes when
 * gpus is 0. */
int64_t mlq_gangenv_world_size(int32_t nnodes, int32_t gpus);

/* The address to name host i by (its advertised address when valid, else
 * its worker name). Never NULL. */
const char *mlq_gangenv_host_addr(const struct mlq_ganghost *h);

/* The hostfile's text into a malloc'd *out (caller frees). gpus is the
 * job's GPUs per node. MLQ_ENOMEM only. */
int mlq_gangenv_hostfile_text(const struct mlq_ganginfo *g, int32_t gpus, char **out,
                              struct mlq_err *err);
/* Writes the hostfile into the attempt folder dir (atomically, mode 0644)
 * and its path into path. MLQ_EIO with the reason. */
int mlq_gangenv_write_hostfile(const char *dir, const struct mlq_ganginfo *g, int32_t gpus,
                               char *path, size_t path_len, struct mlq_err *err);

/* A job that runs as another account (a root worker) cannot reach the
 * spool (0750, the worker's): its MLQ_HOSTFILE is a copy in a fresh private
 * folder, made with mkdtemp under tmp_root ("/tmp" when NULL) and given with
 * the file to uid:gid, path into path. The shim removes it when the job has
 * ended (mlq_gangenv_remove_private). MLQ_EIO with the reason. */
int mlq_gangenv_write_private(const struct mlq_ganginfo *g, int32_t gpus, const char *tmp_root,
                              uid_t uid, gid_t gid, char *path, size_t path_len,
                              struct mlq_err *err);
/* Removes the copy at path (as mlq_gangenv_write_private named it) and its
 * folder (left alone when the job put more there). Never follows a link the
 * job may have put in the file's place. */
void mlq_gangenv_remove_private(const char *path);

/* Calls put(ctx, KEY, VALUE) for every variable above, stopping at the
 * first non-zero return, which it returns. hostfile is MLQ_HOSTFILE's
 * value. */
typedef int (*mlq_gangenv_put_fn)(void *ctx, const char *key, const char *value);
int mlq_gangenv_each(const struct mlq_ganginfo *g, int32_t gpus, const char *hostfile,
                     mlq_gangenv_put_fn put, void *ctx);

/* Rank 0, just before the job starts: 0 when a listening TCP socket could
 * be bound to port on every local address (IPv4, and IPv6 where the host
 * has it) as a rendezvous server would (SO_REUSEADDR); MLQ_ESTATE with
 * "rendezvous port P is in use" when it could not; MLQ_EINVAL for a port
 * outside 1..65535. */
int mlq_gangenv_port_check(int32_t port, struct mlq_err *err);

#endif
