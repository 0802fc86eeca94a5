/* console.c: stamped console output, formatted like the kernel's own lines. */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static bool console_verbose;

void console_set_verbose(bool verbose)
{
    console_verbose = verbose;
}

static void console_vprint(const char *format, va_list args)
{
    char line[1024];
    struct timespec now = {0};
    int saved = errno;
    int length;
    int used;

    /* CLOCK_BOOTTIME matches the kernel's own stamps, so the benchmark can
     * subtract ours from theirs. */
    clock_gettime(CLOCK_BOOTTIME, &now);
    used = snprintf(line, sizeof(line), "[%5ld.%06ld] sysinit: ", (long)now.tv_sec,
                    (long)(now.tv_nsec / 1000));
    length = vsnprintf(line + used, sizeof(line) - used - 1, format, args);
    if (length < 0)
        length = 0;
    if ((size_t)length > sizeof(line) - used - 2)
        length = sizeof(line) - used - 2;
    used += length;
    line[used++] = '\n';

    /* One write per line so a forked shell's output never splits ours. */
    for (int written = 0; written < used;) {
        ssize_t n = write(STDERR_FILENO, line + written, used - written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        written += n;
    }
    errno = saved;
}

void console_print(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    console_vprint(format, args);
    va_end(args);
}

void console_debug(const char *format, ...)
{
    va_list args;
    if (!console_verbose)
        return;
    va_start(args, format);
    console_vprint(format, args);
    va_end(args);
}

void console_attach(bool only_missing)
{
    /* Not O_CLOEXEC: fds 0-2 are meant to reach `keel init`. O_NOCTTY: PID 1
     * must not own a controlling tty, or a hangup on it would signal init. */
    int fd = open("/dev/console", O_RDWR | O_NOCTTY);

    if (fd < 0)
        return;
    for (int target = STDIN_FILENO; target <= STDERR_FILENO; target++)
        if (target != fd && (!only_missing || fcntl(target, F_GETFD) < 0))
            dup2(fd, target);
    if (fd > STDERR_FILENO)
        close(fd);
}
