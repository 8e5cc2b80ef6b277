/* date822: RFC 5322 date-time strings, e.g. "Fri, 04 Dec 2026 15:49:49 +0000". */
#ifndef DATE822_H
#define DATE822_H

#include <time.h>
#include "dstr.h"

/* Append the date of t in UTC ("+0000"). */
int date822_cat(dstr *out, time_t t);

#endif
