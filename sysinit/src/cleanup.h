/* cleanup.h: scope-bound release of fds, directory streams and heap memory. */
#ifndef SYSINIT_CLEANUP_H
#define SYSINIT_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_close_fd(int *fd)
{
    /* close() may clobber errno, which the caller is often about to report. */
    int saved = errno;
    if (*fd >= 0)
        close(*fd);
    errno = saved;
}

static inline void cleanup_close_dir(DIR **dir)
{
    int saved = errno;
    if (*dir)
        closedir(*dir);
    errno = saved;
}

static inline void cleanup_free_pointer(void *pointer)
{
    free(*(void **)pointer);
}

#define _cleanup_close_ __attribute__((cleanup(cleanup_close_fd)))
#define _cleanup_closedir_ __attribute__((cleanup(cleanup_close_dir)))
#define _cleanup_free_ __attribute__((cleanup(cleanup_free_pointer)))

#endif
