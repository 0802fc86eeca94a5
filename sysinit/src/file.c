/* file.c: reading a whole small file into a heap buffer. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "cleanup.h"

ssize_t file_read_all(const char *path, char **contents, struct sysinit_error *err)
{
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *buffer = NULL;
    size_t capacity = 0;
    size_t length = 0;

    *contents = NULL;
    if (fd < 0)
        return error_make(err, errno, "open", "%s", path);
    /* Sizes come from reading, not fstat: /proc files report a size of 0. */
    for (;;) {
        ssize_t n;
        if (capacity - length < 1024) {
            char *bigger = realloc(buffer, capacity ? capacity * 2 : 4096);
            if (bigger == NULL) {
                free(buffer);
                return error_make(err, ENOMEM, "read", "%s", path);
            }
            buffer = bigger;
            capacity = capacity ? capacity * 2 : 4096;
        }
        n = read(fd, buffer + length, capacity - length - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            free(buffer);
            return error_make(err, saved, "read", "%s", path);
        }
        if (n == 0)
            break;
        length += (size_t)n;
    }
    buffer[length] = '\0';
    *contents = buffer;
    return (ssize_t)length;
}
