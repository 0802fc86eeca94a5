/* file.h — whole-file reads and writes of small /proc, /sys and /etc files. */
#pragma once

#include <stddef.h>

#include "error.h"

/* Read all of path into a NUL-terminated heap buffer (*text, caller frees). */
int file_read_text(const char *path, char **text, size_t *length, struct keel_error *err);

/* Write text to an existing file in one write(2), as sysfs/cgroupfs expect. */
int file_write_text(const char *path, const char *text, struct keel_error *err);

/* As file_read_text, failing with EFBIG past maximum bytes (input a user
 * hands us: no reading without bound). */
int file_read_text_limited(const char *path, size_t maximum, char **text, size_t *length,
                           struct keel_error *err);

/* write(2) until all of data is written; -1 with errno. */
int file_write_all(int fd, const void *data, size_t length);

#define FILE_ATOMIC_NO_REPLACE 1u /* fail with EEXIST rather than replace path */

/* Put data at path atomically: write the hidden temporary .NAME.tmp beside
 * it (a crash's leftover is removed first), fchmod mode, fsync, rename over
 * path, fsync the directory. A crash leaves the old file or the new one,
 * never a mix. One writer per path at a time. */
int file_write_atomic(const char *path, const void *data, size_t length, int mode, unsigned flags,
                      struct keel_error *err);
