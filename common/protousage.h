/* protousage: what an attempt used (struct mlq_usage, proto.h) on the wire
 * and in words. On the wire it is one optional "usage" map of a report and
 * of an attemptinfo, holding only the keys that were measured:
 * mem_peak, cpu_us, wall_ms, gpu_mem_peak (integers >= 0), gpu_util
 * (0..100), source ("cgroup2", "cgroup1", "proc"; always there when the map
 * is). Absent or nil: nothing measured (a peer that predates it). */
#ifndef MLQ_PROTOUSAGE_H
#define MLQ_PROTOUSAGE_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>

#include "mpk.h"
#include "proto.h"

/* Every field unknown (-1, source ""). */
void mlq_usage_clear(struct mlq_usage *u);
/* True when anything was measured (source set). */
bool mlq_usage_any(const struct mlq_usage *u);
/* True when source names a known way of measuring. */
bool mlq_usage_source_valid(const char *s);

/* Writes key "usage" (a map, or nil when nothing was measured). */
void mlq_protousage_put(msgpack_packer *pk, const struct mlq_usage *u);
/* Reads the optional "usage" key into u (cleared first). */
int mlq_protousage_read(const struct mlq_mpk_map *mp, struct mlq_usage *u);

/* "mem: asked 32G, peak 3.1G; cpu: asked 4, used 2.3 cpu-h over 0.6 h;
 * gpu: mem peak 10G, util 85%" — the parts that are known; mem asked 0 /
 * cpus 0 leave out the "asked". */
void mlq_usage_format(const struct mlq_usage *u, int64_t mem_asked, int64_t cpus_m_asked, char *buf,
                      size_t len);

#endif
