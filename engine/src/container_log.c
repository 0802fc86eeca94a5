/* container_log.c — writing json-file logs (entries, rotation); log times; frame headers. */
#include "container_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

/* Docker's copier reads into a 16 KiB buffer: a line that does not end
 * within it becomes a partial entry of exactly that size. */
#define LOG_PIECE_MAX 16384
/* Entries of one container_log_write go out together while they fit. */
#define LOG_BATCH_MAX 65536
#define LOG_TIME_MAX 48
/* What an entry adds around its escaped text (the key "log" included), and
 * the leading '\n' that ends a broken line before a batch. */
#define LOG_ENTRY_OVERHEAD                                                                         \
    (sizeof "{\"log\":\"\",\"stream\":\"stdout\",\"time\":\"\"}\n" + LOG_TIME_MAX)
/* The worst case of one entry: every byte escaped as \u00XX. */
#define LOG_ENTRY_MAX (6 * LOG_PIECE_MAX + LOG_ENTRY_OVERHEAD)
/* Room for ".N" (up to max_file) after the path. */
#define LOG_SUFFIX_MAX 16

struct pending_line {
    char *data; /* heap, exactly length bytes: an idle container holds nothing */
    size_t length;
};

struct container_log {
    int fd;
    char *path;
    uint64_t max_size;
    unsigned max_file;
    uint64_t size;
    /* The file ends inside an entry (a crash, a short write on a full disk):
     * the next write starts with '\n' so that the broken line stays one
     * malformed line, which readers skip, and does not swallow the next. */
    bool unterminated;
    struct pending_line pending[2]; /* by stream - 1 */
};

/* The entries of one container_log_write (or flush) on their way out. */
struct log_batch {
    struct container_log *log;
    char *buffer; /* LOG_ENTRY_MAX bytes, allocated on the first entry */
    size_t used;
    char time[LOG_TIME_MAX]; /* the call's one timestamp, formatted once */
    size_t time_length;
    bool failed; /* after a write error the rest of the call is dropped */
    struct keel_error *err;
};

/* Format a time as RFC 3339 in UTC with nine fraction digits, or (trim)
 * Go's RFC3339Nano: trailing zeros dropped, no fraction at all when zero. */
static size_t log_time_format(const struct timespec *time, bool trim, char *buffer, size_t size)
{
    char text[LOG_TIME_MAX + 32];
    struct tm tm;
    time_t seconds = time->tv_sec;
    long nanoseconds = time->tv_nsec;
    int length;

    if (nanoseconds < 0 || nanoseconds > 999999999)
        nanoseconds = 0;
    if (gmtime_r(&seconds, &tm) == NULL) {
        seconds = 0;
        gmtime_r(&seconds, &tm);
    }
    length = snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (!trim || nanoseconds != 0) {
        int digits = 9;
        while (trim && nanoseconds % 10 == 0) {
            nanoseconds /= 10;
            digits--;
        }
        length += snprintf(text + length, sizeof text - length, ".%0*ld", digits, nanoseconds);
    }
    text[length++] = 'Z';
    text[length] = '\0';
    if (size == 0)
        return 0;
    if ((size_t)length >= size)
        length = (int)size - 1;
    memcpy(buffer, text, length);
    buffer[length] = '\0';
    return length;
}

void container_log_format_time(const struct timespec *time, char *buffer, size_t size)
{
    /* docker logs -t and docker events print RFC3339NanoFixed: always nine
     * digits, so that the columns line up (the file itself trims). */
    log_time_format(time, false, buffer, size);
}

void container_log_frame_header(enum container_log_stream stream, uint32_t length,
                                unsigned char header[8])
{
    header[0] = (unsigned char)stream;
    header[1] = header[2] = header[3] = 0;
    header[4] = (unsigned char)(length >> 24);
    header[5] = (unsigned char)(length >> 16);
    header[6] = (unsigned char)(length >> 8);
    header[7] = (unsigned char)length;
}

/* ---- parsing times ---- */

struct civil_time {
    int year, month, day, hour, minute, second;
    long nanosecond;
    bool has_zone;
    long zone_offset; /* seconds east of UTC */
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Exactly count digits at *p, advancing it. */
static bool digits_take(const char **p, const char *end, int count, int *value)
{
    int result = 0;
    if (end - *p < count)
        return false;
    for (int i = 0; i < count; i++) {
        if (!is_digit((*p)[i]))
            return false;
        result = result * 10 + ((*p)[i] - '0');
    }
    *p += count;
    *value = result;
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* YYYY-MM-DD[THH[:MM[:SS[.F...]]]][Z|±HH:MM]: RFC 3339 and the shortened
 * forms Docker's --since takes. Log entries carry the full form. */
static bool civil_time_parse(const char *p, const char *end, struct civil_time *time)
{
    *time = (struct civil_time){.month = 1, .day = 1};
    if (!digits_take(&p, end, 4, &time->year) || p == end || *p++ != '-' ||
        !digits_take(&p, end, 2, &time->month) || p == end || *p++ != '-' ||
        !digits_take(&p, end, 2, &time->day))
        return false;
    if (time->month < 1 || time->month > 12 || time->day < 1 ||
        time->day > days_in_month(time->year, time->month))
        return false;
    if (p < end && *p == 'T') {
        p++;
        if (!digits_take(&p, end, 2, &time->hour) || time->hour > 23)
            return false;
        if (p < end && *p == ':') {
            p++;
            if (!digits_take(&p, end, 2, &time->minute) || time->minute > 59)
                return false;
            if (p < end && *p == ':') {
                p++;
                if (!digits_take(&p, end, 2, &time->second) || time->second > 59)
                    return false;
                if (p < end && *p == '.') {
                    int digits = 0;
                    for (p++; p < end && is_digit(*p); p++, digits++)
                        if (digits < 9)
                            time->nanosecond = time->nanosecond * 10 + (*p - '0');
                    if (digits == 0)
                        return false;
                    for (; digits < 9; digits++)
                        time->nanosecond *= 10;
                }
            }
        }
    }
    if (p < end && (*p == 'Z' || *p == 'z')) {
        p++;
        time->has_zone = true;
    } else if (p < end && (*p == '+' || *p == '-')) {
        int sign = *p++ == '-' ? -1 : 1, hours, minutes;
        if (!digits_take(&p, end, 2, &hours) || p == end || *p++ != ':' ||
            !digits_take(&p, end, 2, &minutes) || hours > 23 || minutes > 59)
            return false;
        time->has_zone = true;
        time->zone_offset = sign * (hours * 3600L + minutes * 60L);
    }
    return p == end;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil): timegm without its locking or its TZ lookups. */
static int64_t days_from_civil(int year, int month, int day)
{
    int64_t y = year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t year_of_era = y - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

static struct timespec civil_time_to_timespec(const struct civil_time *time, long zone_offset)
{
    int64_t days = days_from_civil(time->year, time->month, time->day);
    int64_t seconds = days * 86400 + time->hour * 3600 + time->minute * 60 + time->second;
    return (struct timespec){.tv_sec = (time_t)(seconds - zone_offset),
                             .tv_nsec = time->nanosecond};
}

/* A Go duration ("300ms", "1h30m", "1.5h", "-10m") in nanoseconds. */
static bool duration_parse(const char *p, int64_t *result)
{
    static const struct {
        const char *name;
        uint64_t nanoseconds;
    } units[] = {
        {"ns", 1ULL},       {"us", 1000ULL},      {"\xc2\xb5s", 1000ULL}, {"\xce\xbcs", 1000ULL},
        {"ms", 1000000ULL}, {"s", 1000000000ULL}, {"m", 60000000000ULL},  {"h", 3600000000000ULL},
    };
    bool negative = false;
    uint64_t total = 0;

    if (*p == '-' || *p == '+')
        negative = *p++ == '-';
    if (*p == '\0')
        return false;
    while (*p != '\0') {
        uint64_t whole = 0, fraction = 0, unit = 0;
        double scale = 1;
        bool any = false;
        const char *name;

        for (; is_digit(*p); p++, any = true) {
            if (whole > (UINT64_MAX - 9) / 10)
                return false;
            whole = whole * 10 + (*p - '0');
        }
        if (*p == '.')
            for (p++; is_digit(*p); p++, any = true)
                if (scale < 1e18) {
                    fraction = fraction * 10 + (*p - '0');
                    scale *= 10;
                }
        if (!any)
            return false;
        name = p;
        while (*p != '\0' && *p != '.' && !is_digit(*p))
            p++;
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
            if ((size_t)(p - name) == strlen(units[i].name) &&
                memcmp(name, units[i].name, p - name) == 0)
                unit = units[i].nanoseconds;
        if (unit == 0 || whole > (uint64_t)INT64_MAX / unit)
            return false;
        whole = whole * unit + (uint64_t)((double)fraction * ((double)unit / scale));
        if (whole > (uint64_t)INT64_MAX - total)
            return false;
        total += whole;
    }
    *result = negative ? -(int64_t)total : (int64_t)total;
    return true;
}

/* Unix seconds with an optional fraction: "1700000000", "1700000000.5". */
static bool unix_time_parse(const char *p, struct timespec *time)
{
    int64_t seconds = 0;
    long nanoseconds = 0;
    int digits = 0;

    if (!is_digit(*p))
        return false;
    for (; is_digit(*p); p++) {
        if (seconds > (INT64_MAX - 9) / 10)
            return false;
        seconds = seconds * 10 + (*p - '0');
    }
    if (*p == '.') {
        for (p++; is_digit(*p); p++, digits++)
            if (digits < 9)
                nanoseconds = nanoseconds * 10 + (*p - '0');
        if (digits == 0)
            return false;
        for (; digits < 9; digits++)
            nanoseconds *= 10;
    }
    if (*p != '\0')
        return false;
    *time = (struct timespec){.tv_sec = (time_t)seconds, .tv_nsec = nanoseconds};
    return true;
}

int container_log_parse_time(const char *text, const struct timespec *now, struct timespec *time,
                             struct keel_error *err)
{
    struct timespec clock;
    struct civil_time civil;
    int64_t duration;

    if (now == NULL) {
        clock_gettime(CLOCK_REALTIME, &clock);
        now = &clock;
    }
    /* Docker's order (timetypes.GetTimestamp): a duration first ("0" is
     * unix time 0, not a zero duration), then a date, then unix seconds. */
    if (strcmp(text, "0") != 0 && duration_parse(text, &duration)) {
        int64_t nanoseconds = now->tv_nsec - duration % 1000000000;
        time->tv_sec = now->tv_sec - duration / 1000000000;
        if (nanoseconds < 0) {
            nanoseconds += 1000000000;
            time->tv_sec--;
        } else if (nanoseconds >= 1000000000) {
            nanoseconds -= 1000000000;
            time->tv_sec++;
        }
        time->tv_nsec = nanoseconds;
        return 0;
    }
    if (strpbrk(text, "-:T") != NULL) {
        if (!civil_time_parse(text, text + strlen(text), &civil))
            return keel_error_invalid(err,
                                      "time \"%s\": not an RFC 3339 date "
                                      "(2013-01-02, 2013-01-02T13:23:37Z, ...)",
                                      text);
        long offset = civil.zone_offset;
        if (!civil.has_zone) {
            /* As Docker: a date without a zone is local time, at the zone
             * offset in effect now. */
            struct tm tm;
            time_t seconds = now->tv_sec;
            offset = localtime_r(&seconds, &tm) != NULL ? tm.tm_gmtoff : 0;
        }
        *time = civil_time_to_timespec(&civil, offset);
        return 0;
    }
    if (unix_time_parse(text, time))
        return 0;
    return keel_error_invalid(err,
                              "time \"%s\": expected an RFC 3339 date, unix seconds "
                              "or a duration (10m, 1h30m)",
                              text);
}

/* ---- escaping ---- */

/* The length of the valid UTF-8 sequence at s (its first byte >= 0x80), or
 * 0 when there is none: Go's utf8.DecodeRune rules (no overlong forms, no
 * surrogates, nothing past U+10FFFF, no truncated sequence). */
static size_t utf8_sequence_length(const unsigned char *s, size_t available)
{
    unsigned char low = 0x80, high = 0xbf;
    size_t length;

    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        length = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        length = 3;
        if (s[0] == 0xe0)
            low = 0xa0;
        else if (s[0] == 0xed)
            high = 0x9f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        length = 4;
        if (s[0] == 0xf0)
            low = 0x90;
        else if (s[0] == 0xf4)
            high = 0x8f;
    } else {
        return 0;
    }
    if (available < length || s[1] < low || s[1] > high)
        return 0;
    for (size_t i = 2; i < length; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return length;
}

/* Escape text into out as moby's jsonlog does (ffjsonWriteJSONBytesAsString):
 * \" \\ \n \r; every other control character, and < > & (Go's HTML
 * escaping), as \u00XX — \t too; an invalid UTF-8 byte as \ufffd; U+2028
 * and U+2029 as \u2028, \u2029. Returns the bytes written, at most
 * 6 * length. */
static size_t json_escape(char *out, const unsigned char *text, size_t length)
{
    static const char hex[] = "0123456789abcdef";
    char *start = out;
    size_t i = 0;

    while (i < length) {
        unsigned char c = text[i];
        if (c < 0x80) {
            if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
                *out++ = (char)c;
            } else if (c == '"' || c == '\\') {
                *out++ = '\\';
                *out++ = (char)c;
            } else if (c == '\n') {
                *out++ = '\\';
                *out++ = 'n';
            } else if (c == '\r') {
                *out++ = '\\';
                *out++ = 'r';
            } else {
                memcpy(out, "\\u00", 4);
                out[4] = hex[c >> 4];
                out[5] = hex[c & 0xf];
                out += 6;
            }
            i++;
            continue;
        }
        size_t sequence = utf8_sequence_length(text + i, length - i);
        if (sequence == 0) {
            memcpy(out, "\\ufffd", 6);
            out += 6;
            i++;
        } else if (sequence == 3 && c == 0xe2 && text[i + 1] == 0x80 &&
                   (text[i + 2] == 0xa8 || text[i + 2] == 0xa9)) {
            memcpy(out, text[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
            out += 6;
            i += 3;
        } else {
            memcpy(out, text + i, sequence);
            out += sequence;
            i += sequence;
        }
    }
    return out - start;
}

/* ---- writing ---- */

static int log_file_open(const char *path, int *fd, uint64_t *size, bool *unterminated,
                         struct keel_error *err)
{
    _cleanup_close_ int file = -1;
    struct stat st;

    file = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (file < 0)
        return keel_error_set(err, errno, "open %s", path);
    if (fstat(file, &st) < 0)
        return keel_error_set(err, errno, "stat %s", path);
    *size = S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
    *unterminated = false;
    if (*size > 0) {
        /* A daemon that crashed mid-write left half an entry: end it. */
        int reader = open(path, O_RDONLY | O_CLOEXEC);
        char last;
        if (reader >= 0) {
            if (pread(reader, &last, 1, (off_t)*size - 1) == 1 && last != '\n')
                *unterminated = true;
            close(reader);
        }
    }
    *fd = steal_fd(&file);
    return 0;
}

int container_log_open(const char *path, const struct container_log_options *options,
                       struct container_log **log, struct keel_error *err)
{
    _cleanup_free_ struct container_log *result = NULL;

    if (strlen(path) + LOG_SUFFIX_MAX >= PATH_MAX)
        return keel_error_set(err, ENAMETOOLONG, "open log %s", path);
    result = calloc(1, sizeof *result);
    if (result == NULL)
        return keel_error_set(err, ENOMEM, "open log %s", path);
    result->path = strdup(path);
    if (result->path == NULL)
        return keel_error_set(err, ENOMEM, "open log %s", path);
    if (options != NULL) {
        result->max_size = options->max_size;
        result->max_file = options->max_file;
    }
    if (result->max_file == 0)
        result->max_file = 1;
    if (log_file_open(path, &result->fd, &result->size, &result->unterminated, err) < 0) {
        free(result->path);
        return -1;
    }
    *log = steal_pointer(&result);
    return 0;
}

void container_log_close(struct container_log *log)
{
    if (log == NULL)
        return;
    close(log->fd);
    free(log->pending[0].data);
    free(log->pending[1].data);
    free(log->path);
    free(log);
}

uint64_t container_log_size(const struct container_log *log)
{
    return log->size;
}

/* Keep the first error of a call: the one that explains the rest. */
static void batch_fail(struct log_batch *batch, int errno_value, const char *format,
                       const char *path)
{
    if (!batch->failed)
        keel_error_set(batch->err, errno_value, format, path);
    batch->failed = true;
}

/* write(2) the bytes; a short write (a disk filling up) leaves the file
 * unterminated and counts what did land. */
static int log_write_bytes(struct container_log *log, const char *data, size_t length)
{
    while (length > 0) {
        ssize_t n = write(log->fd, data, length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = ENOSPC;
            return -1;
        }
        log->size += (uint64_t)n;
        log->unterminated = (size_t)n < length || data[length - 1] != '\n';
        data += n;
        length -= (size_t)n;
    }
    return 0;
}

/* Write the batch's entries in one write(2), so that a reader sees whole
 * entries. After a failure in this call the rest is dropped. */
static void batch_flush(struct log_batch *batch)
{
    struct container_log *log = batch->log;

    if (batch->used == 0)
        return;
    if (!batch->failed && log->unterminated && log_write_bytes(log, "\n", 1) < 0)
        batch_fail(batch, errno, "write %s", log->path);
    if (!batch->failed && log_write_bytes(log, batch->buffer, batch->used) < 0)
        batch_fail(batch, errno, "write %s", log->path);
    batch->used = 0;
}

/* Make room for a new current file: PATH.(max_file-2) .. PATH.1 move up one
 * (the rename over PATH.(max_file-1) drops the oldest), PATH becomes PATH.1,
 * and a new PATH is opened. max_file 1 truncates PATH instead. On failure
 * the old fd is kept, so the entries still land somewhere. */
static int log_rotate(struct container_log *log, struct keel_error *err)
{
    char from[PATH_MAX], to[PATH_MAX];
    int fd;
    uint64_t size;
    bool unterminated;

    if (log->max_file <= 1) {
        if (ftruncate(log->fd, 0) < 0)
            return keel_error_set(err, errno, "truncate %s", log->path);
        log->size = 0;
        log->unterminated = false;
        return 0;
    }
    for (unsigned i = log->max_file - 1; i >= 2; i--) {
        snprintf(from, sizeof from, "%s.%u", log->path, i - 1);
        snprintf(to, sizeof to, "%s.%u", log->path, i);
        if (rename(from, to) < 0 && errno != ENOENT)
            return keel_error_set(err, errno, "rotate %s: rename %s to %s", log->path, from, to);
    }
    snprintf(to, sizeof to, "%s.1", log->path);
    if (rename(log->path, to) < 0)
        return keel_error_set(err, errno, "rotate %s: rename to %s", log->path, to);
    if (log_file_open(log->path, &fd, &size, &unterminated, err) < 0)
        return keel_error_prefix(err, "rotate %s", log->path);
    close(log->fd);
    log->fd = fd;
    log->size = size;
    log->unterminated = unterminated;
    return 0;
}

/* Add one entry to the batch, rotating before it when it would take the
 * file past max_size (never for an empty file: an entry larger than
 * max_size is written alone rather than dropped). */
static void batch_add(struct log_batch *batch, enum container_log_stream stream, const char *text,
                      size_t length)
{
    struct container_log *log = batch->log;
    size_t worst = 6 * length + LOG_ENTRY_OVERHEAD;
    size_t start;
    char *out;

    if (batch->buffer == NULL) {
        batch->buffer = malloc(LOG_ENTRY_MAX);
        if (batch->buffer == NULL) {
            batch_fail(batch, ENOMEM, "write %s", log->path);
            return;
        }
    }
    if (batch->used > 0 && batch->used + worst > LOG_BATCH_MAX)
        batch_flush(batch);

    /* {"log":"...","stream":"stdout","time":"..."}\n, as moby writes it
     * (an empty "log" is omitted there, as by omitempty). */
    start = batch->used;
    out = batch->buffer + start;
    if (length > 0) {
        memcpy(out, "{\"log\":\"", 8);
        out += 8;
        out += json_escape(out, (const unsigned char *)text, length);
        memcpy(out, "\",", 2);
        out += 2;
    } else {
        *out++ = '{';
    }
    memcpy(out,
           stream == CONTAINER_LOG_STDERR ? "\"stream\":\"stderr\",\"time\":\""
                                          : "\"stream\":\"stdout\",\"time\":\"",
           26);
    out += 26;
    memcpy(out, batch->time, batch->time_length);
    out += batch->time_length;
    memcpy(out, "\"}\n", 3);
    out += 3;
    batch->used = out - batch->buffer;

    uint64_t before = log->size + start;
    if (log->max_size > 0 && before > 0 && before + (batch->used - start) > log->max_size) {
        size_t entry_length = batch->used - start;
        struct keel_error rotate_err;

        batch->used = start;
        batch_flush(batch);
        /* A failed rotation keeps writing into the current file (better past
         * max_size than lost) and is reported. */
        if (log_rotate(log, &rotate_err) < 0 && !batch->failed) {
            *batch->err = rotate_err;
            batch->failed = true;
        }
        memmove(batch->buffer, batch->buffer + start, entry_length);
        batch->used = entry_length;
    }
}

/* Append length bytes to a pending line (by reallocation: partial lines are
 * rare and short-lived, idle memory matters more). */
static int pending_append(struct pending_line *pending, const char *data, size_t length)
{
    char *bigger = realloc(pending->data, pending->length + length);
    if (bigger == NULL)
        return -1;
    memcpy(bigger + pending->length, data, length);
    pending->data = bigger;
    pending->length += length;
    return 0;
}

static void pending_clear(struct pending_line *pending)
{
    free(pending->data);
    pending->data = NULL;
    pending->length = 0;
}

/* Cut data into entries: each line (with its '\n') in pieces of at most
 * LOG_PIECE_MAX bytes, the last piece ending in '\n'; what is left after
 * the last '\n' waits in the stream's pending line. */
static void batch_take(struct log_batch *batch, enum container_log_stream stream, const char *data,
                       size_t length)
{
    struct pending_line *pending = &batch->log->pending[stream - 1];

    while (length > 0) {
        size_t room = LOG_PIECE_MAX - pending->length;
        size_t chunk = length < room ? length : room;
        const char *newline = memchr(data, '\n', chunk);
        size_t take = newline != NULL ? (size_t)(newline - data) + 1 : chunk;
        bool complete = newline != NULL || pending->length + take == LOG_PIECE_MAX;

        if (pending->length == 0 && complete) {
            batch_add(batch, stream, data, take);
        } else if (pending_append(pending, data, take) < 0) {
            batch_fail(batch, ENOMEM, "write %s", batch->log->path);
            pending_clear(pending);
        } else if (complete) {
            batch_add(batch, stream, pending->data, pending->length);
            pending_clear(pending);
        }
        data += take;
        length -= take;
    }
}

static void batch_begin(struct log_batch *batch, struct container_log *log,
                        const struct timespec *now, struct keel_error *err)
{
    struct timespec clock;

    *batch = (struct log_batch){.log = log, .err = err};
    if (now == NULL) {
        clock_gettime(CLOCK_REALTIME, &clock);
        now = &clock;
    }
    batch->time_length = log_time_format(now, true, batch->time, sizeof batch->time);
}

static int batch_end(struct log_batch *batch)
{
    batch_flush(batch);
    free(batch->buffer);
    return batch->failed ? -1 : 0;
}

int container_log_write(struct container_log *log, enum container_log_stream stream,
                        const void *data, size_t length, const struct timespec *now,
                        struct keel_error *err)
{
    struct log_batch batch;

    if (stream != CONTAINER_LOG_STDOUT && stream != CONTAINER_LOG_STDERR)
        return keel_error_invalid(err, "write %s: bad stream %d", log->path, (int)stream);
    batch_begin(&batch, log, now, err);
    batch_take(&batch, stream, data, length);
    return batch_end(&batch);
}

int container_log_flush(struct container_log *log, const struct timespec *now,
                        struct keel_error *err)
{
    struct log_batch batch;

    batch_begin(&batch, log, now, err);
    for (int stream = CONTAINER_LOG_STDOUT; stream <= CONTAINER_LOG_STDERR; stream++) {
        struct pending_line *pending = &log->pending[stream - 1];
        if (pending->length > 0)
            batch_add(&batch, stream, pending->data, pending->length);
        pending_clear(pending);
    }
    return batch_end(&batch);
}
