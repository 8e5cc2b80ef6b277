/* date822.c: RFC 5322 dates, always in UTC so output is locale-free. */
#include "date822.h"

#include <errno.h>

int date822_cat(dstr *out, time_t t)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    long long year;

    if (!gmtime_r(&t, &tm))
        return -1;
    /* tm_year + 1900 can overflow an int; and RFC 5322 has 4-digit years */
    year = (long long)tm.tm_year + 1900;
    if (year < 0 || year > 9999) {
        errno = EOVERFLOW;
        return -1;
    }
    return dstr_catf(out, "%s, %02d %s %04lld %02d:%02d:%02d +0000",
                     days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], year,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}
