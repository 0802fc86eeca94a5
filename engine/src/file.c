/* file.c — whole-file reads and writes of small /proc, /sys and /etc files. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

int file_read_text_limited(const char *path, size_t maximum, char **text, size_t *length,
                           struct keel_error *err)
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
        if (used > maximum)
            return keel_error_set(err, EFBIG, "read %s: more than %zu bytes", path, maximum);
    }
    buffer[used] = '\0';
    *text = steal_pointer(&buffer);
    if (length != NULL)
        *length = used;
    return 0;
}

int file_read_text(const char *path, char **text, size_t *length, struct keel_error *err)
{
    return file_read_text_limited(path, SIZE_MAX, text, length, err);
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

int file_write_all(int fd, const void *data, size_t length)
{
    const char *bytes = data;
    while (length > 0) {
        ssize_t n = write(fd, bytes, length);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        bytes += n;
        length -= (size_t)n;
    }
    return 0;
}

/* PATH's directory and the hidden temporary ".NAME.tmp" beside PATH. */
static int file_atomic_names(const char *path, char *directory, char *temporary, size_t size,
                             struct keel_error *err)
{
    const char *slash = strrchr(path, '/');
    int written_directory, written_temporary;
    if (slash == NULL) {
        written_directory = snprintf(directory, size, ".");
        written_temporary = snprintf(temporary, size, ".%s.tmp", path);
    } else {
        int length = (int)(slash - path);
        written_directory = snprintf(directory, size, "%.*s", length ? length : 1, path);
        written_temporary = snprintf(temporary, size, "%.*s/.%s.tmp", length, path, slash + 1);
    }
    if ((size_t)written_directory >= size || (size_t)written_temporary >= size)
        return keel_error_set(err, ENAMETOOLONG, "write %s", path);
    return 0;
}

int file_write_atomic(const char *path, const void *data, size_t length, int mode, unsigned flags,
                      struct keel_error *err)
{
    char directory[4096], temporary[4096];
    if (file_atomic_names(path, directory, temporary, sizeof temporary, err) < 0)
        return -1;
    /* A crash between create and rename leaves the temporary behind. */
    if (unlink(temporary) < 0 && errno != ENOENT)
        return keel_error_set(err, errno, "remove stale %s", temporary);
    _cleanup_close_ int fd =
        open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return keel_error_set(err, errno, "create %s", temporary);
    int result = 0;
    /* fchmod: the mode asked for, whatever the umask. */
    if (fchmod(fd, (mode_t)mode) < 0 || file_write_all(fd, data, length) < 0 || fsync(fd) < 0 ||
        close(steal_fd(&fd)) < 0)
        result = keel_error_set(err, errno, "write %s", temporary);
    else if (!(flags & FILE_ATOMIC_NO_REPLACE)
                 ? rename(temporary, path) < 0
                 : renameat2(AT_FDCWD, temporary, AT_FDCWD, path, RENAME_NOREPLACE) < 0)
        result = keel_error_set(err, errno, "%s %s",
                                flags & FILE_ATOMIC_NO_REPLACE ? "create" : "replace", path);
    if (result < 0) {
        unlink(temporary);
        return -1;
    }
    /* The rename itself is durable only once the directory is synced. */
    _cleanup_close_ int directory_fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (directory_fd < 0 || fsync(directory_fd) < 0)
        return keel_error_set(err, errno, "sync %s", directory);
    return 0;
}
