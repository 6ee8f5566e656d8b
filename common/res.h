/* res: parsing and formatting of resource amounts and durations.
 *
 * CPUs are kept in millicores ("0.5" -> 500), memory in bytes with binary
 * suffixes ("512M", "4G"; K/M/G/T, optional trailing "i" or "B"), GPUs as a
 * count, durations in milliseconds ("30s", "5m", "2h", "1d", "250ms"; a bare
 * number is seconds). Parsers reject empty, negative, out-of-range and
 * trailing-garbage input with a message naming the bad text. */
#ifndef MLQ_RES_H
#define MLQ_RES_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* "2", "0.5", "1.25" -> millicores; must be > 0 and <= MLQ_MAX_CPUS_M;
 * at most 3 decimals. */
int mlq_res_parse_cpus(const char *s, int64_t *out_m, struct mlq_err *err);
/* "1024", "512M", "4G", "1.5G" -> bytes; must be > 0 and <= MLQ_MAX_MEM. */
int mlq_res_parse_mem(const char *s, int64_t *out, struct mlq_err *err);
/* "0".."MLQ_MAX_GPUS" -> count. */
int mlq_res_parse_gpus(const char *s, int32_t *out, struct mlq_err *err);
/* "2" -> 2 whole GPUs (*frac 0); "0.25" -> a share of one GPU in
 * hundredths (*frac 25, *gpus 0): more than 0, less than 1, at most two
 * decimals. "0" is no GPU (both 0). */
int mlq_res_parse_gpu_amount(const char *s, int32_t *gpus, int32_t *frac, struct mlq_err *err);
/* "30s", "5m", "2h", "1d", "250ms", "45" (seconds) -> ms, > 0, <= 365 days. */
int mlq_res_parse_duration(const char *s, int64_t *out_ms, struct mlq_err *err);

/* Formatting into caller buffers; always NUL-terminated; return buf. */
char *mlq_res_fmt_cpus(int64_t cpus_m, char *buf, size_t len); /* "0.5", "2" */
char *mlq_res_fmt_mem(int64_t bytes, char *buf, size_t len);   /* "512M", "1.5G" */
char *mlq_res_fmt_duration(int64_t ms, char *buf, size_t len); /* "1h02m", "3.2s" */
/* Hundredths of a GPU: 25 -> "0.25", 50 -> "0.5"; 0 -> "0". */
char *mlq_res_fmt_gpu_share(int32_t hundredths, char *buf, size_t len);
/* A GPU request as `--gpus` takes it: "2", "0.25", "h100:0.5", "a100|h100:2". */
char *mlq_res_fmt_gpu_request(int32_t gpus, int32_t frac, const char *type, char *buf, size_t len);
/* The same with the GPU memory asked, for people: "0.25", "h100:0.5, 10G GPU
 * memory", "a share with 10G GPU memory". */
char *mlq_res_fmt_gpu_ask(int32_t gpus, int32_t frac, int64_t gpu_mem, const char *type, char *buf,
                          size_t len);

#endif
