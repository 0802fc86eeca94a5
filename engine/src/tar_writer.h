/* tar_writer.h — writing the plain POSIX tar archives image_export makes (files and directories
 * Keel names). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* Why not libarchive's writer: in a static binary, Debian's libarchive.a
 * pulls every write format through archive_write_set_format.o, and xar's
 * brings libxml2 and ICU: 35 MB. Keel reads archives with libarchive; the
 * archives it writes hold only directories and regular files with names it
 * chose, which ustar (with a pax header for a name past 100 bytes or a size
 * past 8 GiB) covers. */

struct tar_writer {
    int fd;
    uint64_t offset;
};

void tar_writer_init(struct tar_writer *writer, int fd);
/* A directory entry (mode 0755, uid/gid 0, mtime 0). name without trailing slash. */
int tar_writer_add_directory(struct tar_writer *writer, const char *name, struct keel_error *err);
/* A regular file (mode 0644, uid/gid 0, mtime 0) holding data. */
int tar_writer_add_bytes(struct tar_writer *writer, const char *name, const void *data,
                         size_t length, struct keel_error *err);
/* A regular file of size bytes copied from input_fd, which must yield
 * exactly size bytes (EIO "file changed size" otherwise). */
int tar_writer_add_fd(struct tar_writer *writer, const char *name, int input_fd, uint64_t size,
                      struct keel_error *err);
/* The header of a regular file of size bytes whose content the caller then
 * writes with tar_writer_write_data and closes with tar_writer_end_file
 * (which pads to 512). */
int tar_writer_begin_file(struct tar_writer *writer, const char *name, uint64_t size,
                          struct keel_error *err);
int tar_writer_write_data(struct tar_writer *writer, const void *data, size_t length,
                          struct keel_error *err);
int tar_writer_end_file(struct tar_writer *writer, struct keel_error *err);
/* The two zero blocks that end an archive, padded to a 10240-byte record as tar does. */
int tar_writer_finish(struct tar_writer *writer, struct keel_error *err);
