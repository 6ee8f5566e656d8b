/* clock: the two clocks mlq uses. Wall time only for display and history;
 * every timeout and lease uses the monotonic clock. */
#ifndef MLQ_CLOCK_H
#define MLQ_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t mlq_clock_wall_ms(void);
/* Milliseconds on CLOCK_MONOTONIC. */
int64_t mlq_clock_mono_ms(void);
/* Milliseconds on CLOCK_BOOTTIME: like the monotonic clock but it also
 * counts a suspend, and it is shared by every process of the machine, so a
 * deadline written to a file by one process means the same to another (the
 * worker's lease, read by its shims). Meaningless after a reboot. */
int64_t mlq_clock_boot_ms(void);

#endif
