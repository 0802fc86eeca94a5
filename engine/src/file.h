/* file.h — whole-file reads and writes of small /proc, /sys and /etc files. */
#pragma once

#include <stddef.h>

#include "error.h"

/* Read all of path into a NUL-terminated heap buffer (*text, caller frees). */
int file_read_text(const char *path, char **text, size_t *length, struct keel_error *err);

/* Write text to an existing file in one write(2), as sysfs/cgroupfs expect. */
int file_write_text(const char *path, const char *text, struct keel_error *err);

/* Replace path with data atomically: write PATH.tmp (mode), fsync, rename
 * over path, fsync the directory. A crash leaves the old file or the new
 * one, never a mix. */
int file_write_atomic(const char *path, const void *data, size_t length, int mode,
                      struct keel_error *err);
