/* file.h: reading a whole small file (/proc/cmdline, the module list) into memory. */
#ifndef SYSINIT_FILE_H
#define SYSINIT_FILE_H

#include <sys/types.h>

#include "error.h"

/* Reads all of path into a NUL-terminated heap buffer the caller frees.
 * Returns the length, or -1 with err->err set (ENOENT for a missing file). */
ssize_t file_read_all(const char *path, char **contents, struct sysinit_error *err);

#endif
