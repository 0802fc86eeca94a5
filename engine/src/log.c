/* log.c — kernel-style console logging to stderr, stamped with CLOCK_BOOTTIME. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool debug_enabled;

void log_set_debug(bool enabled)
{
    debug_enabled = enabled;
}

bool log_debug_enabled(void)
{
    return debug_enabled;
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
     * interleave mid-line on the console. Failures are ignored: there is
     * nowhere else to report them. */
    size_t written = 0;
    while (written < length) {
        ssize_t n = write(STDERR_FILENO, line + written, length - written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        written += (size_t)n;
    }
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
