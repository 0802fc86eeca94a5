/* log.c — kernel-style console logging to stderr, stamped with CLOCK_BOOTTIME. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LOG_MIRRORS_MAX 4

static bool debug_enabled;
static int mirror_fds[LOG_MIRRORS_MAX];
static size_t mirror_count;

void log_set_debug(bool enabled)
{
    debug_enabled = enabled;
}

bool log_debug_enabled(void)
{
    return debug_enabled;
}

bool log_add_mirror(int fd)
{
    if (mirror_count == LOG_MIRRORS_MAX)
        return false;
    mirror_fds[mirror_count++] = fd;
    return true;
}

/* Failures are ignored: there is nowhere else to report them. */
static void log_write_all(int fd, const char *line, size_t length)
{
    size_t written = 0;
    while (written < length) {
        ssize_t n = write(fd, line + written, length - written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        written += (size_t)n;
    }
}

static void log_write_line(const char *format, va_list args)
{
    char line[1024];
    struct timespec now = {0};
    int used;
    size_t length;

    /* CLOCK_BOOTTIME lines up with the kernel's own printk stamps. */
    clock_gettime(CLOCK_BOOTTIME, &now);
    used = snprintf(line, sizeof line, "[%5ld.%06ld] keel: ", (long)now.tv_sec,
                    (long)(now.tv_nsec / 1000));
    if (used < 0)
        return;
    vsnprintf(line + used, sizeof line - used, format, args);
    length = strlen(line);
    if (length > sizeof line - 2)
        length = sizeof line - 2;
    line[length++] = '\n';

    /* One write per line, so lines from the engine and its children do not
     * interleave mid-line on the console. */
    log_write_all(STDERR_FILENO, line, length);
    for (size_t i = 0; i < mirror_count; i++)
        log_write_all(mirror_fds[i], line, length);
}

void log_info(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    log_write_line(format, args);
    va_end(args);
}

void log_debug(const char *format, ...)
{
    va_list args;
    if (!debug_enabled)
        return;
    va_start(args, format);
    log_write_line(format, args);
    va_end(args);
}
