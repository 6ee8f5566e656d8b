/* clock: the two clocks mlq uses. Wall time only for display and history;
 * every timeout and lease uses the monotonic clock. */
#ifndef MLQ_CLOCK_H
#define MLQ_CLOCK_H

#include <stdint.h>

/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t mlq_clock_wall_ms(void);
/* Milliseconds on CLOCK_MONOTONIC. */
int64_t mlq_clock_mono_ms(void);

#endif
