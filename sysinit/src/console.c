/* console.c: stamped console output, formatted like the kernel's own lines. */
#include "console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "file.h"

#define CONSOLE_MIRRORS_MAX 4

static bool console_verbose;
static int mirror_fds[CONSOLE_MIRRORS_MAX];
static int mirror_count;

void console_set_verbose(bool verbose)
{
    console_verbose = verbose;
}

static bool console_name_is_valid(const char *name, size_t length)
{
    if (length == 0 || length > 32)
        return false;
    for (size_t i = 0; i < length; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
              (name[i] >= '0' && name[i] <= '9')))
            return false;
    return true;
}

void console_mirror_active(void)
{
    struct sysinit_error err;
    _cleanup_free_ char *text = NULL;
    const char *words[CONSOLE_MIRRORS_MAX + 1];
    size_t lengths[CONSOLE_MIRRORS_MAX + 1];
    size_t count = 0;

    if (file_read_all("/sys/class/tty/console/active", &text, &err) < 0)
        return;
    for (char *at = text; *at != '\0' && count <= CONSOLE_MIRRORS_MAX;) {
        at += strspn(at, " \t\n");
        size_t length = strcspn(at, " \t\n");
        if (length == 0)
            break;
        words[count] = at;
        lengths[count++] = length;
        at += length;
    }
    /* The last one is /dev/console, our stderr already. */
    for (size_t i = 0; i + 1 < count && mirror_count < CONSOLE_MIRRORS_MAX; i++) {
        char path[48];
        if (!console_name_is_valid(words[i], lengths[i]))
            continue;
        snprintf(path, sizeof(path), "/dev/%.*s", (int)lengths[i], words[i]);
        int fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0)
            mirror_fds[mirror_count++] = fd;
    }
}

static void console_write_all(int fd, const char *line, int used)
{
    for (int written = 0; written < used;) {
        ssize_t n = write(fd, line + written, used - written);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        written += n;
    }
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
    console_write_all(STDERR_FILENO, line, used);
    for (int i = 0; i < mirror_count; i++)
        console_write_all(mirror_fds[i], line, used);
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
