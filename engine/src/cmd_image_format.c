/* cmd_image_format.c — sizes and ages as `docker images` prints them ("4.19MB", "3 days ago"). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_image.h"

void image_cli_format_size(uint64_t bytes, char *text, size_t size)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    double value = (double)bytes;
    size_t unit = 0;
    size_t last = sizeof units / sizeof units[0] - 1;
    while (value >= 1000.0 && unit < last) {
        value /= 1000.0;
        unit++;
    }
    /* 999.9kB rounds to 1000kB: say 1MB, where docker would print "1e+03kB". */
    char rounded[32];
    snprintf(rounded, sizeof rounded, "%.3g", value);
    if (strtod(rounded, NULL) >= 1000.0 && unit < last) {
        value /= 1000.0;
        unit++;
    }
    snprintf(text, size, "%.3g%s", value, units[unit]);
}

/* count decimal digits of text into *value. */
static bool image_cli_digits(const char *text, size_t count, int *value)
{
    *value = 0;
    for (size_t i = 0; i < count; i++) {
        if (!isdigit((unsigned char)text[i]))
            return false;
        *value = *value * 10 + (text[i] - '0');
    }
    return true;
}

bool image_cli_parse_time(const char *text, time_t *seconds)
{
    struct tm parts = {0};
    int year, month, day, hour, minute, second;
    /* YYYY-MM-DDTHH:MM:SS, the part every RFC 3339 time has */
    if (strlen(text) < 20 || !image_cli_digits(text, 4, &year) || text[4] != '-' ||
        !image_cli_digits(text + 5, 2, &month) || text[7] != '-' ||
        !image_cli_digits(text + 8, 2, &day) || (text[10] != 'T' && text[10] != 't') ||
        !image_cli_digits(text + 11, 2, &hour) || text[13] != ':' ||
        !image_cli_digits(text + 14, 2, &minute) || text[16] != ':' ||
        !image_cli_digits(text + 17, 2, &second))
        return false;
    const char *rest = text + 19;
    if (*rest == '.')
        for (rest++; isdigit((unsigned char)*rest); rest++)
            ;
    long offset = 0;
    if ((*rest == '+' || *rest == '-') && strlen(rest) == 6 && rest[3] == ':') {
        int offset_hours, offset_minutes;
        if (!image_cli_digits(rest + 1, 2, &offset_hours) ||
            !image_cli_digits(rest + 4, 2, &offset_minutes))
            return false;
        offset = (offset_hours * 60L + offset_minutes) * 60L * (*rest == '-' ? -1 : 1);
    } else if (strcmp(rest, "Z") != 0 && strcmp(rest, "z") != 0) {
        return false;
    }
    if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
        return false;
    parts.tm_year = year - 1900;
    parts.tm_mon = month - 1;
    parts.tm_mday = day;
    parts.tm_hour = hour;
    parts.tm_min = minute;
    parts.tm_sec = second;
    /* Go's zero time (year 1), Docker's "unknown", is before any image. */
    if (year < 1970)
        return false;
    *seconds = timegm(&parts) - offset;
    return true;
}

/* Docker's HumanDuration: whole units, rounded as it rounds them. */
static void image_cli_format_duration(long long elapsed, char *text, size_t size)
{
    long long minutes = elapsed / 60;
    long long hours = (elapsed + 1800) / 3600; /* to the nearest hour */
    if (elapsed < 1)
        snprintf(text, size, "Less than a second");
    else if (elapsed == 1)
        snprintf(text, size, "1 second");
    else if (elapsed < 60)
        snprintf(text, size, "%lld seconds", elapsed);
    else if (minutes == 1)
        snprintf(text, size, "About a minute");
    else if (minutes < 60)
        snprintf(text, size, "%lld minutes", minutes);
    else if (hours == 1)
        snprintf(text, size, "About an hour");
    else if (hours < 48)
        snprintf(text, size, "%lld hours", hours);
    else if (hours < 24 * 7 * 2)
        snprintf(text, size, "%lld days", hours / 24);
    else if (hours < 24 * 30 * 2)
        snprintf(text, size, "%lld weeks", hours / 24 / 7);
    else if (hours < 24 * 365 * 2)
        snprintf(text, size, "%lld months", hours / 24 / 30);
    else
        snprintf(text, size, "%lld years", elapsed / 3600 / 24 / 365);
}

void image_cli_format_created(const char *created, time_t now, char *text, size_t size)
{
    time_t when;
    if (created == NULL || !image_cli_parse_time(created, &when)) {
        snprintf(text, size, "N/A");
        return;
    }
    char duration[48];
    image_cli_format_duration((long long)(now - when), duration, sizeof duration);
    snprintf(text, size, "%s ago", duration);
}
