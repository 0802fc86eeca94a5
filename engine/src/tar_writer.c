/* tar_writer.c — ustar entries, with a pax header for long names and sizes, written to an fd. */
#include "tar_writer.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "file.h"

#define TAR_BLOCK 512
#define TAR_RECORD 10240 /* tar's default blocking factor (20) times the block */
#define TAR_NAME_MAX 100
#define TAR_PREFIX_MAX 155
#define TAR_SIZE_MAX 077777777777ULL /* 11 octal digits: 8 GiB - 1 */
#define TAR_COPY_BUFFER (128 * 1024)

/* The ustar header, as POSIX lays it out in a 512-byte block. */
struct tar_header {
    char name[100];
    char mode[8];
    char uid[8];
    char gid[8];
    char size[12];
    char mtime[12];
    char checksum[8];
    char typeflag;
    char linkname[100];
    char magic[6];
    char version[2];
    char uname[32];
    char gname[32];
    char devmajor[8];
    char devminor[8];
    char prefix[155];
    char padding[12];
};

_Static_assert(sizeof(struct tar_header) == TAR_BLOCK, "a tar header is one block");

static const char tar_zero_block[TAR_BLOCK];

void tar_writer_init(struct tar_writer *writer, int fd)
{
    writer->fd = fd;
    writer->offset = 0;
}

static int tar_writer_write(struct tar_writer *writer, const void *data, size_t length,
                            const char *name, struct keel_error *err)
{
    if (file_write_all(writer->fd, data, length) < 0)
        return keel_error_set(err, errno, "write archive entry \"%s\"", name);
    writer->offset += length;
    return 0;
}

/* Zeros up to the next block boundary, after an entry's content. */
/* The writer's own data errors: EIO, without strerror's "Input/output error". */
static int tar_writer_fail_size(struct keel_error *err, const char *name, const char *what,
                                unsigned long long bytes)
{
    keel_error_invalid(err, "archive entry \"%s\": file changed size (%s %llu bytes)", name, what,
                       bytes);
    err->errno_value = EIO;
    return -1;
}

static int tar_writer_pad(struct tar_writer *writer, const char *name, struct keel_error *err)
{
    size_t used = (size_t)(writer->offset % TAR_BLOCK);
    if (used == 0)
        return 0;
    return tar_writer_write(writer, tar_zero_block, TAR_BLOCK - used, name, err);
}

/* A NUL-terminated octal number filling field (width - 1 digits). */
static void tar_header_octal(char *field, size_t width, uint64_t value)
{
    snprintf(field, width, "%0*llo", (int)(width - 1), (unsigned long long)value);
}

/* The checksum is the sum of the header's bytes, unsigned, with the checksum
 * field itself counted as eight spaces; stored as six octal digits, NUL and
 * space, as tar has always written it. */
static void tar_header_checksum(struct tar_header *header)
{
    const unsigned char *bytes = (const unsigned char *)header;
    unsigned sum = 0;
    memset(header->checksum, ' ', sizeof header->checksum);
    for (size_t i = 0; i < sizeof *header; i++)
        sum += bytes[i];
    snprintf(header->checksum, sizeof header->checksum, "%06o", sum);
    header->checksum[7] = ' ';
}

/* Where to split name into ustar's prefix and name fields: the position of
 * the '/' that separates them, or 0 when name fits neither way. */
static size_t tar_name_split(const char *name, size_t length)
{
    if (length <= TAR_NAME_MAX)
        return 0;
    /* The last '/' leaving at most 155 bytes before it and 1..100 after. */
    for (size_t slash = length - 1; slash > 0; slash--) {
        if (name[slash] != '/')
            continue;
        if (length - slash - 1 > TAR_NAME_MAX)
            break;
        if (slash <= TAR_PREFIX_MAX && slash + 1 < length)
            return slash;
    }
    return 0;
}

static void tar_header_fill(struct tar_header *header, char typeflag, int mode, uint64_t size)
{
    memset(header, 0, sizeof *header);
    tar_header_octal(header->mode, sizeof header->mode, (uint64_t)mode);
    tar_header_octal(header->uid, sizeof header->uid, 0);
    tar_header_octal(header->gid, sizeof header->gid, 0);
    /* Past 11 octal digits the pax "size" record carries the size. */
    tar_header_octal(header->size, sizeof header->size, size <= TAR_SIZE_MAX ? size : 0);
    tar_header_octal(header->mtime, sizeof header->mtime, 0);
    header->typeflag = typeflag;
    memcpy(header->magic, "ustar", 6);
    memcpy(header->version, "00", 2);
    tar_header_octal(header->devmajor, sizeof header->devmajor, 0);
    tar_header_octal(header->devminor, sizeof header->devminor, 0);
}

/* Append the pax record "LEN key=value\n" to *records, LEN counting the
 * whole record including its own digits. */
static int tar_pax_record_append(char **records, size_t *length, const char *key, const char *value,
                                 struct keel_error *err)
{
    size_t body = 1 + strlen(key) + 1 + strlen(value) + 1; /* " key=value\n" */
    size_t total = body + 1;
    for (size_t digits = 1;; digits++) {
        total = body + digits;
        int actual = snprintf(NULL, 0, "%zu", total);
        if ((size_t)actual == digits)
            break;
    }
    char *grown = realloc(*records, *length + total + 1);
    if (grown == NULL)
        return keel_error_set(err, ENOMEM, "pax header for \"%s\"", value);
    snprintf(grown + *length, total + 1, "%zu %s=%s\n", total, key, value);
    *records = grown;
    *length += total;
    return 0;
}

/* The extended header entry before an entry whose name or size ustar
 * cannot hold. Its own name ("PaxHeader/" and the last component, cut to
 * fit) is only informative: pax readers apply its records to the next entry. */
static int tar_writer_add_pax(struct tar_writer *writer, const char *name, bool long_name,
                              uint64_t size, struct keel_error *err)
{
    _cleanup_free_ char *records = NULL;
    size_t length = 0;
    if (long_name && tar_pax_record_append(&records, &length, "path", name, err) < 0)
        return -1;
    if (size > TAR_SIZE_MAX) {
        char text[32];
        snprintf(text, sizeof text, "%llu", (unsigned long long)size);
        if (tar_pax_record_append(&records, &length, "size", text, err) < 0)
            return -1;
    }
    struct tar_header header;
    tar_header_fill(&header, 'x', 0644, length);
    /* The last component; a directory's name ends in '/'. */
    size_t end = strlen(name);
    if (end > 1 && name[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && name[start - 1] != '/')
        start--;
    int base_length = (int)(end - start < TAR_NAME_MAX - 11 ? end - start : TAR_NAME_MAX - 11);
    snprintf(header.name, sizeof header.name, "PaxHeader/%.*s", base_length, name + start);
    tar_header_checksum(&header);
    if (tar_writer_write(writer, &header, sizeof header, name, err) < 0 ||
        tar_writer_write(writer, records, length, name, err) < 0)
        return -1;
    return tar_writer_pad(writer, name, err);
}

static int tar_writer_add_header(struct tar_writer *writer, const char *name, char typeflag,
                                 int mode, uint64_t size, struct keel_error *err)
{
    size_t length = strlen(name);
    if (length == 0)
        return keel_error_invalid(err, "archive entry with an empty name");
    size_t split = tar_name_split(name, length);
    bool long_name = length > TAR_NAME_MAX && split == 0;
    if ((long_name || size > TAR_SIZE_MAX) &&
        tar_writer_add_pax(writer, name, long_name, size, err) < 0)
        return -1;
    struct tar_header header;
    tar_header_fill(&header, typeflag, mode, size);
    if (split > 0) {
        memcpy(header.prefix, name, split);
        memcpy(header.name, name + split + 1, length - split - 1);
    } else {
        /* Cut when the pax path record holds the whole name. */
        memcpy(header.name, name, length < TAR_NAME_MAX ? length : TAR_NAME_MAX);
    }
    tar_header_checksum(&header);
    return tar_writer_write(writer, &header, sizeof header, name, err);
}

int tar_writer_add_directory(struct tar_writer *writer, const char *name, struct keel_error *err)
{
    /* tar marks a directory by a trailing '/' as well as by its type. */
    _cleanup_free_ char *with_slash = NULL;
    if (asprintf(&with_slash, "%s/", name) < 0)
        return keel_error_set(err, ENOMEM, "archive entry \"%s\"", name);
    return tar_writer_add_header(writer, with_slash, '5', 0755, 0, err);
}

int tar_writer_begin_file(struct tar_writer *writer, const char *name, uint64_t size,
                          struct keel_error *err)
{
    return tar_writer_add_header(writer, name, '0', 0644, size, err);
}

int tar_writer_write_data(struct tar_writer *writer, const void *data, size_t length,
                          struct keel_error *err)
{
    return tar_writer_write(writer, data, length, "(file data)", err);
}

int tar_writer_end_file(struct tar_writer *writer, struct keel_error *err)
{
    return tar_writer_pad(writer, "(file data)", err);
}

int tar_writer_add_bytes(struct tar_writer *writer, const char *name, const void *data,
                         size_t length, struct keel_error *err)
{
    if (tar_writer_begin_file(writer, name, length, err) < 0 ||
        tar_writer_write(writer, data, length, name, err) < 0)
        return -1;
    return tar_writer_pad(writer, name, err);
}

int tar_writer_add_fd(struct tar_writer *writer, const char *name, int input_fd, uint64_t size,
                      struct keel_error *err)
{
    _cleanup_free_ char *buffer = malloc(TAR_COPY_BUFFER);
    if (buffer == NULL)
        return keel_error_set(err, ENOMEM, "archive entry \"%s\"", name);
    if (tar_writer_begin_file(writer, name, size, err) < 0)
        return -1;
    uint64_t remaining = size;
    while (remaining > 0) {
        size_t want = remaining < TAR_COPY_BUFFER ? (size_t)remaining : TAR_COPY_BUFFER;
        ssize_t got = read(input_fd, buffer, want);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return keel_error_set(err, errno, "read archive entry \"%s\"", name);
        /* The header already promised size bytes: an archive that goes on
         * would be corrupt, so a file that shrank is an error. */
        if (got == 0)
            return tar_writer_fail_size(err, name, "short by", (unsigned long long)remaining);
        if (tar_writer_write(writer, buffer, (size_t)got, name, err) < 0)
            return -1;
        remaining -= (uint64_t)got;
    }
    /* One more byte would mean the file grew: what was written is then not
     * the file the caller measured. */
    ssize_t extra;
    do
        extra = read(input_fd, buffer, 1);
    while (extra < 0 && errno == EINTR);
    if (extra > 0)
        return tar_writer_fail_size(err, name, "grew past", (unsigned long long)size);
    return tar_writer_pad(writer, name, err);
}

int tar_writer_finish(struct tar_writer *writer, struct keel_error *err)
{
    if (tar_writer_write(writer, tar_zero_block, TAR_BLOCK, "(end)", err) < 0 ||
        tar_writer_write(writer, tar_zero_block, TAR_BLOCK, "(end)", err) < 0)
        return -1;
    while (writer->offset % TAR_RECORD != 0)
        if (tar_writer_write(writer, tar_zero_block, TAR_BLOCK, "(end)", err) < 0)
            return -1;
    return 0;
}
