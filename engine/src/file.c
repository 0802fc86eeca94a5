/* file.c — whole-file reads and writes of small /proc, /sys and /etc files. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"

int file_read_text(const char *path, char **text, size_t *length, struct keel_error *err)
{
    _cleanup_close_ int fd = -1;
    _cleanup_free_ char *buffer = NULL;
    size_t capacity = 4096, used = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return keel_error_set(err, errno, "open %s", path);
    buffer = malloc(capacity);
    if (buffer == NULL)
        return keel_error_set(err, ENOMEM, "read %s", path);

    /* /proc files report size 0, so read until EOF rather than trusting fstat. */
    for (;;) {
        if (capacity - used < 2) {
            char *bigger = realloc(buffer, capacity * 2);
            if (bigger == NULL)
                return keel_error_set(err, ENOMEM, "read %s", path);
            buffer = bigger;
            capacity *= 2;
        }
        ssize_t n = read(fd, buffer + used, capacity - used - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return keel_error_set(err, errno, "read %s", path);
        if (n == 0)
            break;
        used += (size_t)n;
    }
    buffer[used] = '\0';
    *text = steal_pointer(&buffer);
    if (length != NULL)
        *length = used;
    return 0;
}

int file_write_text(const char *path, const char *text, struct keel_error *err)
{
    _cleanup_close_ int fd = -1;
    size_t length = strlen(text);
    ssize_t n;

    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return keel_error_set(err, errno, "open %s", path);
    do {
        n = write(fd, text, length);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return keel_error_set(err, errno, "write \"%s\" to %s", text, path);
    if ((size_t)n != length)
        return keel_error_set(err, EIO, "write \"%s\" to %s: short write", text, path);
    return 0;
}

int file_write_atomic(const char *path, const void *data, size_t length, int mode,
                      struct keel_error *err)
{
    char temporary[4096];
    if ((size_t)snprintf(temporary, sizeof temporary, "%s.tmp", path) >= sizeof temporary)
        return keel_error_set(err, ENAMETOOLONG, "write %s", path);
    unlink(temporary); /* a crash's leftover */
    _cleanup_close_ int fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return keel_error_set(err, errno, "create %s", temporary);
    const char *bytes = data;
    size_t done = 0;
    while (done < length) {
        ssize_t n = write(fd, bytes + done, length - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            unlink(temporary);
            return keel_error_set(err, saved, "write %s", temporary);
        }
        done += (size_t)n;
    }
    if (fsync(fd) < 0 || rename(temporary, path) < 0) {
        int saved = errno;
        unlink(temporary);
        return keel_error_set(err, saved, "replace %s", path);
    }
    /* The rename itself is durable only once the directory is synced. */
    _cleanup_free_ char *directory = strdup(path);
    if (directory == NULL)
        return keel_error_set(err, ENOMEM, "write %s", path);
    char *slash = strrchr(directory, '/');
    if (slash == directory)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    _cleanup_close_ int directory_fd =
        open(slash ? directory : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (directory_fd >= 0)
        fsync(directory_fd);
    return 0;
}
