/* cleanup.h — scope-bound release of memory and fds (_cleanup_free_, _cleanup_close_). */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_free(void *pointer)
{
    free(*(void **)pointer);
}

static inline void cleanup_close(int *fd)
{
    /* close() may clobber errno, which the caller may still be reporting. */
    int saved = errno;
    if (*fd >= 0)
        close(*fd);
    errno = saved;
}

#define _cleanup_free_ __attribute__((cleanup(cleanup_free)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_close)))

/* Hand ownership out of a cleanup-managed variable. */
static inline void *steal_pointer(void *pointer)
{
    void **slot = pointer;
    void *value = *slot;
    *slot = NULL;
    return value;
}

static inline int steal_fd(int *fd)
{
    int value = *fd;
    *fd = -1;
    return value;
}
