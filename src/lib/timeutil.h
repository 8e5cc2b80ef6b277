/* timeutil: clocks. */
#ifndef TIMEUTIL_H
#define TIMEUTIL_H

#include <stdint.h>

/* Monotonic milliseconds, for deadlines and delays. */
int64_t time_mono_ms(void);
/* Wall-clock microseconds since the epoch. */
int64_t time_real_us(void);

#endif
