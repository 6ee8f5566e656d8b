/* leftover: resources of lost attempts whose processes may still be there.
 *
 * An attempt lost with its worker (missed lease, not confirmed after a
 * restart) may still run on that worker until its shim fences it, and even
 * after a reconnect a cut shorter than the kill grace leaves the old
 * processes alive for a while. Its job is free to run again elsewhere at
 * once (after the fencing delay), but its CPUs, memory and GPUs stay booked
 * on the old worker until the worker says that none of its processes is
 * left: the attempt's finished report (whatever outcome), or a register
 * that no longer names it. A leftover is not a running attempt
 * (w->running does not count it). */
#ifndef MLQ_LEFTOVER_H
#define MLQ_LEFTOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "placement.h"
#include "proto.h"
#include "workers.h"

/* Books r's CPUs and memory, and gpu_mask (whole GPUs, or r's share of
 * that GPU), on w again for attempt_id, which the caller has just taken
 * off w's running attempts. MLQ_ENOMEM: nothing booked (the resources are
 * free at once, as without this module). */
int mlq_leftover_keep(struct mlq_worker *w, const char *attempt_id, const char *job_id,
                      const struct mlq_request *r, uint64_t gpu_mask);
/* Frees the booking of attempt_id on w; false when it had none. */
bool mlq_leftover_release(struct mlq_worker *w, const char *attempt_id);
/* After a register: frees every booking the worker no longer holds (held:
 * its held attempts, sorted by attempt_id). One it holds as finished stays
 * booked until its report comes, right after: that report may still make
 * its outcome the job's (jobops.h, mlq_jobops_late_outcome), which a
 * rerun placed meanwhile on the freed resources would forestall. */
void mlq_leftover_reconcile(struct mlq_worker *w, const struct mlq_held_attempt *held, size_t n);
/* w has a booking for attempt_id. */
bool mlq_leftover_has(const struct mlq_worker *w, const char *attempt_id);
/* Bookings kept on w, and their GPUs. */
size_t mlq_leftover_count(const struct mlq_worker *w);
uint64_t mlq_leftover_gpus(const struct mlq_worker *w);
/* The job whose lost attempt keeps GPU index gpu booked on w, or NULL
 * (borrowed: valid until the booking is freed). */
const char *mlq_leftover_gpu_job(const struct mlq_worker *w, int gpu);
/* Frees the list without touching w's usage (the worker record goes). */
void mlq_leftover_free(struct mlq_worker *w);

#endif
